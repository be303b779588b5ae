"""Prompts phrased the way users phrase them (bench/bench_random_scenes.py --family phrasing).

A phrasing that means the canonical prompt ("Pick up the Red Mug, please.") must reach the text encoder as the
canonical prompt's text, so any teacher (CLIP too) answers it alike. A prompt whose grammar the query cannot
resolve (negation, several things, a number of things, a place) is refused before any text is encoded, so no
teacher can turn it into a grasp on the object its nouns name. Ideal clouds, no training.
"""
import pytest

from dff_grasp_ros.query.pipeline import plan_query, prepare_query_cloud
from dff_grasp_ros.query.prompt import PromptError, parse_prompt
from dff_grasp_ros.synthetic import ground_truth, vocabulary
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth
from dff_grasp_ros.synthetic.judge import EVALUATION_POINTS_PER_PART, GroundTruthPoints

RED_MUG, BLUE_MUG, SPATULA = 0, 1, 2  # the objects of the built-in scene two_mugs


encode = vocabulary.embed_phrases


def never_encode(phrases):
    raise AssertionError(f"the text encoder was asked {phrases}: the prompt should have been refused before")


@pytest.fixture(scope="module")
def two_mugs():
    truth = ground_truth("two_mugs", points_per_part=EVALUATION_POINTS_PER_PART)
    return prepare_query_cloud(scene_cloud_from_ground_truth(truth)), GroundTruthPoints.from_json(truth)


def touched(truth: GroundTruthPoints, result) -> set[int]:
    return {int(i) for i in truth.label(result.grasp.contacts_m)[0] if i >= 0}


@pytest.mark.parametrize("prompt, negated", [
    ("not the red mug", RED_MUG), ("anything but the blue mug", BLUE_MUG), ("no red mug", RED_MUG),
    ("everything except the spatula", SPATULA), ("the red mug handle, not the blue one", None),
    ("blue mug without the handle", BLUE_MUG), ("don't take the green spatula", SPATULA),
])
def test_a_negated_prompt_is_refused_never_grasped_on_what_it_names(two_mugs, prompt, negated):
    """Before: "not the red mug" grasped the red mug (every encoder here, like CLIP, embeds "not the red mug" close to
    "red mug"), on 54 of 124 negated prompts of bench_random_scenes --seed 0 --scenes 8 --family phrasing."""
    prepared, _ = two_mugs
    result = plan_query(prepared, encode, prompt)
    assert not result.success and result.grasp is None, result.message
    assert result.message.startswith("bad prompt: ") and "not to grasp" in result.message, result.message
    assert plan_query(prepared, never_encode, prompt).message == result.message  # whatever the teacher


@pytest.mark.parametrize("prompt, says", [
    ("red mug and blue mug", "more than one thing ('and')"), ("red or blue mug", "more than one thing ('or')"),
    ("mug, spatula", "more than one thing (',')"), ("mug & spatula", "more than one thing ('&')"),
    ("two mugs", "a number of things ('two')"), ("2 red mugs", "a number of things ('2')"),
    ("both mugs", "a number of things ('both')"), ("the 2nd mug", "a number of things ('2nd')"),
    ("left mug", "place or comparison ('left')"), ("mug next to the spatula", "place or comparison ('next to')"),
    ("handle of the red mug next to the spatula", "place or comparison ('next to')"),
    ("the spatula near the red mug", "place or comparison ('near')"),
    ("the biggest mug", "place or comparison ('biggest')"), ("mug on the right", "place or comparison ('on')"),
    ("the mug at the back", "place or comparison ('at')"), ("the mug by the spatula", "place or comparison ('by')"),
    ("the mug together with the spatula", "more than one"),
    ("the mug apart from the red one", "not to grasp"),
])
def test_several_things_a_number_or_a_place_are_refused_before_encoding(two_mugs, prompt, says):
    """Before: "2 red mugs", "handle of the red mug next to the spatula" and "red or blue mug" were grasped (the
    number, the relation and the alternative ignored); "the spatula near the red mug" could grasp either."""
    result = plan_query(two_mugs[0], never_encode, prompt)
    assert not result.success and result.grasp is None, result.message
    assert result.message.startswith("bad prompt: ") and says in result.message, result.message


@pytest.mark.parametrize("prompt, canonical", [
    ("Red Mug", "red mug"), ("  red \u00a0  mug ", "red mug"), ("red mug.", "red mug"), ('"red mug"?!', "red mug"),
    ("Pick up the red mug, please.", "red mug"), ("Could you grab the red mug, please?", "red mug"),
    ("lift the red mug now", "red mug"), ("I want the red mug", "red mug"), ("red mug, thanks", "red mug"),
    ("\uff52\uff45\uff44 \uff4d\uff55\uff47", "red mug"),  # full-width letters
    ("the red mug's handle", "red mug handle"), ("the red mug\u2019s handle", "red mug handle"),
    ("handle of the red mug", "red mug handle"), ("the handle on the red mug", "red mug handle"),
    ("RED MUG HANDLE.", "red mug handle"), ("pick up the red mug by its handle", "red mug handle"),
    ("grab the red mug at the handle, please", "red mug handle"),
])
def test_a_phrasing_of_the_same_meaning_reaches_the_encoder_as_the_canonical_prompt(prompt, canonical):
    """Before: "the red mug’s handle" (a phone's apostrophe) was asked as "red mug s", "lift the red mug now" as the
    object "lift the red mug" with the part "now" (refused), "the handle on the red mug" as one object phrase."""
    parsed, expected = parse_prompt(prompt), parse_prompt(canonical)
    assert (parsed.object_phrase, parsed.part_phrase) == (expected.object_phrase, expected.part_phrase)


@pytest.mark.parametrize("prompt, object_id", [
    ("lift the red mug now", RED_MUG), ("the handle on the blue mug", BLUE_MUG), ("Blue Mug\u2019s handle.", BLUE_MUG),
    ("pick up the blue mug by its handle", BLUE_MUG),
    ("could you pick up the red mug, please", RED_MUG),
])
def test_phrasings_of_the_same_meaning_grasp_the_asked_object(two_mugs, prompt, object_id):
    prepared, truth = two_mugs
    result = plan_query(prepared, encode, prompt)
    assert result.success, result.message
    assert touched(truth, result) == {object_id}


@pytest.mark.parametrize("prompt", ["the", "please pick up", "?!", "\U0001F642", "\u2615", "thanks"])
def test_a_prompt_with_nothing_left_to_ask_is_refused(prompt):
    with pytest.raises(PromptError, match="names nothing to grasp"):
        parse_prompt(prompt)


@pytest.mark.parametrize("prompt", ["m8 bolt", "bottom of the mug", "top of the box", "mug;handle", "mugs",
                                    "teapot;spout thing", "the handle of the navy mug", "tasse à café",
                                    "first aid kit", "center punch", "a pair of pliers"])
def test_words_that_only_look_like_grammar_are_kept(prompt):
    """A digit inside a name, a part word that is also a place ("top", "bottom"), a plural and names that start
    with a word like an ordinal or a place are no reason to refuse: "mugs" is answered with one mug (many singular
    objects end in "s": glass, pliers)."""
    assert parse_prompt(prompt).object_phrase


@pytest.mark.parametrize("prompt, answer", [
    ("green_mug", None), ("purple_mug_handle", None), ("red_mug", RED_MUG), ("blue_mug_handle", BLUE_MUG),
])
def test_an_underscore_joins_no_words(two_mugs, prompt, answer):
    """Before: "green_mug" grasped the blue mug and "purple_mug_handle" the red mug's handle: one word to a split on
    spaces, the colour escaped the comparison with the other colours (a name written as an identifier)."""
    prepared, truth = two_mugs
    result = plan_query(prepared, encode, prompt)
    if answer is None:
        assert not result.success and result.message.startswith("not found: no "), result.message
    else:
        assert result.success and touched(truth, result) == {answer}, result.message


@pytest.mark.parametrize("prompt, object_id", [("handle blue mug", BLUE_MUG), ("blue handle mug", BLUE_MUG),
                                               ("handle red mug", RED_MUG), ("head green spatula", SPATULA)])
def test_a_part_word_before_the_name_is_the_part(two_mugs, prompt, object_id):
    """Before: "handle blue mug" was one name, "handle mug" with the colour blue: here it grasped the blue mug's body,
    and on a blurred field (bench_random_scenes --seed 5 --only 4 --blur-m 0.01 --touch-share 0.9) the handle of a
    blue screwdriver, which fits "handle mug" too and where "blue" won by more than on the mug."""
    prepared, truth = two_mugs
    result = plan_query(prepared, encode, prompt)
    assert result.success, result.message
    ids, parts = truth.label(result.grasp.contacts_m)
    part = prompt.split()[0] if prompt.split()[0] in ("handle", "head") else "handle"
    assert ids.tolist() == [object_id, object_id] and parts.tolist() == [part, part], (ids, parts)


@pytest.mark.parametrize("prompt", [
    "isnt the red mug", "the mug that isn't red", "the blue mug, which doesn\u2019t have a handle", "non-red mug",
    "non red mug", "nonred mug", "mug -red", "-red mug", "!red mug", "avoid the red mug", "leave the blue mug",
    "ignore the red mug", "skip the spatula", "excepting the red mug", "unlike the red mug", "minus the red mug",
    "sans blue mug", "red mug nope", "red mug? nah", "w/o the red mug", "something else than the red mug",
    "mug unless red", "the blue mug unless it is chipped",
])
def test_more_ways_of_saying_not_are_refused(two_mugs, prompt):
    """A negation the word list lacked. Before, with a listed colour no other word is checked against the scene:
    "avoid the red mug", "isnt ...", "non-red ...", "-red mug", "minus ...", "sans ...", "something else than the
    red mug" grasped the named object (each phrasing on 26 of the 31 objects of two_mugs, tabletop, bin_clutter and
    four random scenes of seed 0: all that had a grasp). The rest were refused only because the synthetic teacher
    does not know the extra word ("mug unless red": no 'unless' part on the red mug), or as two things ("w/o")."""
    result = plan_query(two_mugs[0], never_encode, prompt)
    assert not result.success and result.grasp is None, result.message
    assert result.message.startswith("bad prompt: ") and "not to grasp" in result.message, result.message


@pytest.mark.parametrize("prompt, symbol", [
    ("\U0001F534 mug", "\U0001F534"), ("mug \U0001F535", "\U0001F535"), ("\u274c red mug", "\u274c"),
    ("\U0001F6AB red mug", "\U0001F6AB"), ("\u00acred mug", "\u00ac"), ("~red mug", "~"), ("mug \u2260 red", "\u2260"),
    ("red \u2764\ufe0f mug", "\u2764"), ("red mug \U0001F642", "\U0001F642"),
])
def test_a_symbol_is_refused_not_dropped(two_mugs, prompt, symbol):
    """Before: the symbol was dropped as punctuation: "🔴 mug" grasped the blue mug, "❌ red mug" / "¬red mug" the
    red mug (the hunt: 22-26 of 31 objects answered so, on another object or the negated one)."""
    result = plan_query(two_mugs[0], never_encode, prompt)
    assert not result.success and result.grasp is None, result.message
    assert result.message.startswith("bad prompt: ") and f"symbol '{symbol}'" in result.message, result.message


@pytest.mark.parametrize("prompt, says", [
    ("mug with the blue mug", "place or comparison ('with')"),
    ("the red mug with the spatula", "place or comparison ('with')"),
    ("the mug with the red handle", "place or comparison ('with')"),
    ("mug containing the spatula", "place or comparison ('containing')"),
    ("the mug west of the spatula", "place or comparison ('west')"),
    ("the fourth mug", "place or comparison ('fourth')"), ("the next mug", "place or comparison ('next')"),
    ("the final mug", "place or comparison ('final')"), ("the previous mug", "place or comparison ('previous')"),
    ("the heaviest mug", "place or comparison ('heaviest')"), ("topmost mug", "place or comparison ('topmost')"),
    ("the mug after the spatula", "place or comparison ('after')"),
    ("a different red mug", "place or comparison ('different')"),
    ("the remaining blue mug", "place or comparison ('remaining')"),
    ("red mug vs blue mug", "more than one thing ('vs')"), ("mug versus spatula", "more than one thing ('versus')"),
    ("red mug n spatula", "more than one thing ('n')"),
    ("2x red mug", "a number of things ('2x')"), ("red mug x2", "a number of things ('x2')"),
])
def test_relations_orders_and_comparisons_the_lists_lacked_are_refused(two_mugs, prompt, says):
    """Before: "mug with the blue mug" (the mug beside the blue one) grasped the blue mug, as "bottle with the brown
    bottle" did the brown bottle of a random scene (seed 0 scene 3), and "a different red mug" / "the remaining blue
    mug" / "2x red mug" the one mug of that colour. The rest were refused only because the synthetic teacher does
    not know the word ("not found: no fourth mug"), or read "mug west of the spatula" as the part "mug west" of the
    spatula. A relation is refused even where one object has the name (README, "How to phrase a prompt")."""
    result = plan_query(two_mugs[0], never_encode, prompt)
    assert not result.success and result.grasp is None, result.message
    assert result.message.startswith("bad prompt: ") and says in result.message, result.message


@pytest.mark.parametrize("prompt, canonical", [
    ("the red mug with its handle", "red mug handle"), ("grab the blue mug with the handle", "blue mug handle"),
])
def test_with_before_a_part_word_names_the_part(prompt, canonical):
    """Before: "the red mug with its handle" was asked as the object "red mug with its" and the part "handle"."""
    parsed, expected = parse_prompt(prompt), parse_prompt(canonical)
    assert (parsed.object_phrase, parsed.part_phrase) == (expected.object_phrase, expected.part_phrase)


@pytest.mark.parametrize("prompt, object_id", [("mug handle red", RED_MUG), ("mug handle (blue)", BLUE_MUG),
                                               ("spatula head green", SPATULA)])
def test_a_colour_after_the_part_word_leaves_the_part_a_part(two_mugs, prompt, object_id):
    """Before: "mug handle red" was one name, "mug handle" with the colour red, grasped anywhere on the red mug."""
    prepared, truth = two_mugs
    result = plan_query(prepared, encode, prompt)
    assert result.success and result.prompt.part_phrase == prompt.split()[1], result.message
    ids, parts = truth.label(result.grasp.contacts_m)
    assert ids.tolist() == [object_id] * 2 and parts.tolist() == [prompt.split()[1]] * 2, (ids, parts)


@pytest.mark.parametrize("prompt", ["bottle body red", "bottle body blue", "knife handle red"])
def test_an_absent_object_named_with_its_part_before_a_colour_is_not_found(two_mugs, prompt):
    """Before: "bottle body red" on two_mugs (no bottle) grasped the red mug: read as the name "bottle body", which
    the mugs' body fits through "body" (an instance not of the name, tried after another had no grasp; in a random
    scene, seed 0 scene 3, "box body red" so grasped a red bottle beside a red box too wide for the hand)."""
    result = plan_query(two_mugs[0], encode, prompt)
    assert not result.success and result.grasp is None and "not found" in result.message, result.message


@pytest.mark.parametrize("prompt, canonical", [
    ("get me the red mug", "red mug"), ("can I have the red mug?", "red mug"), ("may I have the red mug", "red mug"),
    ("go grab the red mug", "red mug"), ("go get the red mug", "red mug"), ("pick the red mug up", "red mug"),
    ("lift the red mug up, please", "red mug"), ("hey, grab the red mug", "red mug"), ("red mug pls", "red mug"),
    ("red mug plz", "red mug"), ("pick the red mug up by its handle", "red mug handle"),
    ("pick the make up brush", "make up brush"),  # an "up" inside the name stays there
])
def test_more_requests_and_politeness_reach_the_encoder_as_the_canonical_prompt(prompt, canonical):
    """Before (bench_random_scenes.py --family hunt3): "get me the red mug" was asked as "me the red mug", "pick the
    red mug up" as "red mug up", "can I have the red mug?" whole, "hey, grab the red mug" refused as two things and
    "red mug pls" refused (read as the mug and the part "pls")."""
    parsed, expected = parse_prompt(prompt), parse_prompt(canonical)
    assert (parsed.object_phrase, parsed.part_phrase) == (expected.object_phrase, expected.part_phrase)


@pytest.mark.parametrize("prompt, object_phrase", [
    ("handles of the red mug", "red mug"), ("the red mug's handles", "red mug"), ("red mug handles", "red mug"),
    ("mug;handles", "mug"), ("the mugs' handle", "mugs"),
])
def test_a_plural_part_word_is_the_part(prompt, object_phrase):
    """Before: "handles of the blue mug" asked for the part "handles", no part word, so the query refused it on
    two_mugs with "'handles' names another object in the scene" (the blue mug's handle fits it too); "red mug
    handles" was one name and "the mugs' handle" kept its apostrophe. A plural is answered with one of the things,
    as "mugs" is."""
    parsed = parse_prompt(prompt)
    assert (parsed.object_phrase, parsed.part_phrase) == (object_phrase, "handle")


def test_a_plural_part_word_grasps_the_asked_objects_part(two_mugs):
    prepared, truth = two_mugs
    result = plan_query(prepared, encode, "handles of the blue mug")
    assert result.success, result.message
    assert touched(truth, result) == {BLUE_MUG}


@pytest.mark.parametrize("prompt, canonical", [
    ("blue handle of the mug", "blue mug handle"), ("the blue handle on the mug", "blue mug handle"),
    ("mug;blue handle", "blue mug handle"), ("mug;blue-handle", "blue mug handle"),
    ("red handle of the blue mug", "red blue mug handle"),
])
def test_a_colour_before_the_part_word_is_the_objects(prompt, canonical):
    """A colour in the part phrase selects the object, as one before or after it does ("blue handle mug", "mug
    handle blue"): the query compares colours on instances of the object, never on its parts."""
    parsed, expected = parse_prompt(prompt), parse_prompt(canonical)
    assert (parsed.object_phrase, parsed.part_phrase) == (expected.object_phrase, expected.part_phrase)


@pytest.fixture(scope="module")
def tiny():
    truth = ground_truth("tiny", points_per_part=EVALUATION_POINTS_PER_PART)
    return prepare_query_cloud(scene_cloud_from_ground_truth(truth)), GroundTruthPoints.from_json(truth)


@pytest.mark.parametrize("prompt", ["blue handle of the mug", "the green handle on the mug", "mug;blue handle",
                                    "mug;yellow handle"])
def test_a_colour_no_mug_has_before_the_part_word_is_not_found(tiny, prompt):
    """Before (bench_random_scenes.py --family hunt3): "blue handle of the mug" on `tiny` (a red mug, a blue box)
    grasped the red mug's handle: the colour stayed in the part phrase, where no colour is compared, and "blue
    handle" fitted the red mug's handle better than the blue box, which has none. "red blade of the knife" so grasped
    `tabletop`'s yellow knife."""
    result = plan_query(tiny[0], encode, prompt)
    assert not result.success and result.grasp is None, result.message
    assert result.message.startswith("not found: no "), result.message


@pytest.mark.parametrize("prompt, object_id", [("blue handle of the mug", BLUE_MUG), ("mug;red handle", RED_MUG),
                                               ("the red handle on the mug", RED_MUG)])
def test_a_colour_before_the_part_word_grasps_that_colours_part(two_mugs, prompt, object_id):
    prepared, truth = two_mugs
    result = plan_query(prepared, encode, prompt)
    assert result.success, result.message
    ids, parts = truth.label(result.grasp.contacts_m)
    assert ids.tolist() == [object_id] * 2 and parts.tolist() == ["handle"] * 2, (ids, parts)
