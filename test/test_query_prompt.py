"""Prompt parsing and validation (pure, no ROS)."""
import pytest

from dff_grasp_ros.query.prompt import MAX_PROMPT_CHARS, PromptError, parse_prompt


@pytest.mark.parametrize("prompt, object_phrase, part_phrase", [
    ("mug handle", "mug", "handle"),
    ("the handle of the mug", "mug", "handle"),
    ("handle of a blue mug", "blue mug", "handle"),
    ("mug;handle", "mug", "handle"),
    ("mug ; the handle", "mug", "handle"),
    ("red mug", "red mug", None),
    ("knife", "knife", None),
    ("blue mug handle", "blue mug", "handle"),
    ("  Blue   MUG  Handle ", "blue mug", "handle"),
    ("mug's handle", "mug", "handle"),
    ("please pick up the bottle cap", "bottle", "cap"),
    ("handle", "handle", None),
    ("teapot;spout thing", "teapot", "spout thing"),
    ("mug;mug handle", "mug", "mug handle"),  # the name again, with a part: still a part
    ("kettle spout", "kettle", "spout"),
])
def test_parse_table(prompt, object_phrase, part_phrase):
    parsed = parse_prompt(prompt)
    assert (parsed.object_phrase, parsed.part_phrase) == (object_phrase, part_phrase)


@pytest.mark.parametrize("prompt", ["- the red mug", "'the red mug'", "-- pick up the red mug", "'' a red mug"])
def test_quotes_and_dashes_before_a_filler_leave_the_plain_prompt(prompt):
    """Before: "- the red mug" was asked as "the red mug" (the filler behind the dash stayed): not the canonical
    text, which a text encoder such as CLIP may answer differently."""
    assert parse_prompt(prompt).object_phrase == "red mug"


def test_a_semicolon_with_nothing_after_it_asks_for_the_whole_object():
    assert (parse_prompt("mug;").object_phrase, parse_prompt("mug; ").part_phrase) == ("mug", None)


def test_part_query_keeps_attributes_with_the_object():
    assert parse_prompt("blue mug handle").part_query == "blue mug handle"
    assert parse_prompt("red mug").part_query is None


def test_part_words_are_configurable():
    assert parse_prompt("mug handle", part_words=("spout",)).part_phrase is None
    parsed = parse_prompt("lamp power button", part_words=("button", "power button"))
    assert (parsed.object_phrase, parsed.part_phrase) == ("lamp", "power button")


@pytest.mark.parametrize("prompt, fragment", [
    ("", "empty"),
    ("   \u00a0 ", "empty"),
    ("x" * (MAX_PROMPT_CHARS + 1), "too long"),
    (b"mug \xff handle", "UTF-8"),
    ("mug \udcff handle", "UTF-8"),
    ("mug\x00handle", "control character"),
    ("mug\nhandle", "control character"),
    ("the", "nothing to grasp"),
    (";handle", "no object"),
    (42, "must be text"),
    # Found by a bad-input hunt: these were read as something else without a word.
    ("mug of the", "no object after 'of'"),  # the encoder was asked to embed '' and its error leaked
    ("handle of the", "no object after 'of'"),
    ("thanks of the red mug", "no part before 'of'"),  # part '' (a fuzz): the whole mug grasped, as "mug;the" was
    ("now of the mug", "no part before 'of'"),
    ("mug;handle;rim", "more than one ';'"),  # read as the part "handle rim"
    ("mug;;handle", "more than one ';'"),
    ("mug;the", "names no part after ';'"),  # the part was dropped and the whole mug grasped
    ("mug;!!!", "names no part after ';'"),
    ("mug;red mug", "names the object again after ';'"),  # answered on the mug as its part "red mug"
    ("red mug;mug", "names the object again after ';'"),
    ("mug;mug", "names the object again after ';'"),
])
def test_bad_prompts_raise_a_clear_error(prompt, fragment):
    with pytest.raises(PromptError, match=fragment):
        parse_prompt(prompt)


def test_utf8_bytes_and_accents_are_accepted():
    assert parse_prompt("tasse à café".encode()).object_phrase == "tasse à café"
