"""Part location on blurred features: scoring against the other part names, ranking, rivals (pure, no ROS).

Features are mixtures of the synthetic teacher's labels, the way a briefly trained field blurs them.
"""
import numpy as np
import pytest

from dff_grasp_ros.query.parts import PartRanking, find_rival, part_logits, rank_parts
from dff_grasp_ros.query.prompt import DEFAULT_PART_WORDS
from dff_grasp_ros.query.relevancy import CANONICAL_NEGATIVES, relevancy_logits
from dff_grasp_ros.synthetic.vocabulary import embed_label, embed_phrase

T = 0.1


def mix(*weighted):
    vector = sum(w * v for w, v in weighted)
    return vector / np.linalg.norm(vector)


def part_phrases(object_phrase: str, asked: str) -> np.ndarray:
    words = [asked] + [w for w in DEFAULT_PART_WORDS if w != asked]
    return np.stack([embed_phrase(f"{object_phrase} {w}") for w in words])


@pytest.fixture
def blurred_mug():
    """(features, labels): a mug whose handle is blurred 80 % into its body, touching a box along one side.

    "mug handle" against "mug" gives the handle logits near -1, as measured on a CPU-trained tabletop field.
    """
    body, handle = embed_label("mug", part="body"), embed_label("mug", part="handle")
    box = embed_label("box", part="body")
    features = ([mix((1.0, body))] * 60 + [mix((0.2, handle), (0.8, body))] * 10
                + [mix((0.3, body), (0.7, box))] * 10)
    return np.stack(features), np.array(["body"] * 60 + ["handle"] * 10 + ["border"] * 10)


def test_a_blurred_handle_is_found_by_rank_although_no_point_matches_it_best(blurred_mug):
    features, labels = blurred_mug
    handle_vs_body = features @ embed_phrase("mug handle") - features @ embed_phrase("mug body")
    assert (handle_vs_body[labels == "handle"] < 0).all()  # "mug body" fits even the handle's points better
    ranking = rank_parts(part_logits(features, part_phrases("mug", "handle"), T))
    assert set(labels[ranking.candidates[:, 0]]) == {"handle"}
    assert ranking.contrast[0] >= 0.2


def test_scoring_against_the_object_phrase_alone_would_pick_the_border_with_the_box(blurred_mug):
    """The bug this scoring fixes: against "mug", "mug handle" gains wherever "mug" fits less (bin_clutter)."""
    features, labels = blurred_mug
    negatives = np.stack([embed_phrase(p) for p in CANONICAL_NEGATIVES + ("mug",)])
    old = relevancy_logits(features, embed_phrase("mug handle"), negatives, T)
    assert labels[np.argmax(old)] == "border"
    new = part_logits(features, part_phrases("mug", "handle"), T)[:, 0]
    assert labels[np.argmax(new)] == "handle"


def test_nothing_stands_out_on_an_object_that_looks_the_same_everywhere():
    features = np.tile(embed_label("bowl", part="body"), (50, 1))
    ranking = rank_parts(part_logits(features, part_phrases("bowl", "handle"), T))
    assert ranking.contrast[0] == pytest.approx(0.0, abs=1e-6) and not ranking.candidates.any()


def test_a_rival_name_that_claims_the_same_region_more_clearly_refuses_the_asked_part():
    """On a CPU-trained field "mug blade" ranked the mug's handle first; "mug handle" claims it more clearly."""
    region = np.r_[np.ones(10, bool), np.zeros(40, bool)]
    candidates = np.zeros((50, 4), dtype=bool)
    candidates[:10, 0] = candidates[:10, 1] = candidates[:12, 2] = True  # asked, rival, synonym: same region
    candidates[20:30, 3] = True  # a clearer name elsewhere on the object
    relative = candidates.astype(float)
    ranking = PartRanking(relative, candidates, np.array([0.5, 1.0, 0.55, 3.0]), np.ones(4))
    assert find_rival(ranking, region) == 1
    assert find_rival(ranking, region, eligible=np.array([False, True, True])) is None  # column 1 may not refuse
    ranking = PartRanking(relative, candidates, np.array([0.5, 0.6, 0.55, 3.0]), np.ones(4))
    assert find_rival(ranking, region) is None  # as clear as a synonym: no rival
    # A demo run's CPU field: "bottle handle" claimed the real cap 1.42 times as clearly as "bottle cap" did, and
    # the cap was refused while the rival ratio was 1.25.
    ranking = PartRanking(relative, candidates, np.array([0.43, 0.43 * 1.42, 0.43, 3.0]), np.ones(4))
    assert find_rival(ranking, region) is None


def test_the_asked_part_and_its_synonym_do_not_refuse_each_other(blurred_mug):
    features, _ = blurred_mug
    handle = rank_parts(part_logits(features, part_phrases("mug", "handle"), T))
    assert embed_phrase("mug grip") @ embed_phrase("mug handle") == pytest.approx(1.0)  # synonyms in this vocabulary
    assert find_rival(handle, handle.candidates[:, 0]) is None


def test_part_scoring_needs_other_part_names_and_a_sane_fraction():
    with pytest.raises(ValueError, match="two part phrases"):
        part_logits(np.ones((3, 4)), np.ones((1, 4)), T)
    with pytest.raises(ValueError, match="fraction"):
        rank_parts(np.zeros((3, 2)), fraction=1.0)
