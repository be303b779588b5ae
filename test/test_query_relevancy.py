"""LERF relevancy maths and DINO flood-fill grouping on hand-made data."""
import numpy as np
import pytest

from dff_grasp_ros.query.grouping import GroupingIndex, GroupingParams, best_region, largest_first
from dff_grasp_ros.query.relevancy import DEFAULT_RELEVANCY_THRESHOLD, TEMPERATURE, relevancy, relevancy_logits, sigmoid


def _explicit_lerf(features, query, negatives, temperature):
    """LERF's definition written out: pairwise softmax against each negative, minimum over negatives."""
    def unit(v):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)
    f, q, n = unit(features), unit(query), unit(negatives)
    out = []
    for row in f:
        pairwise = [np.exp(row @ q / temperature) / (np.exp(row @ q / temperature) + np.exp(row @ neg / temperature))
                    for neg in n]
        out.append(min(pairwise))
    return np.array(out)


def test_relevancy_matches_the_pairwise_softmax_formula():
    rng = np.random.default_rng(3)
    features, query, negatives = rng.standard_normal((50, 16)), rng.standard_normal(16), rng.standard_normal((4, 16))
    np.testing.assert_allclose(relevancy(features, query, negatives), _explicit_lerf(features, query, negatives, 0.1),
                               rtol=1e-5, atol=1e-6)


def test_relevancy_takes_the_worst_negative():
    query, negatives = np.array([1.0, 0, 0]), np.array([[0, 1.0, 0], [0, 0, 1.0]])
    feature = np.array([[0.8, 0.0, 0.6]])  # beats negative 0 by 0.8, negative 1 only by 0.2
    expected = 1.0 / (1.0 + np.exp(-(0.8 - 0.6) / TEMPERATURE))
    assert relevancy(feature, query, negatives)[0] == pytest.approx(expected, rel=1e-5)
    assert relevancy(feature, query, negatives[:1])[0] > relevancy(feature, query, negatives)[0]


def test_relevancy_is_half_when_query_and_negative_tie_and_logits_do_not_saturate():
    query, negatives = np.array([1.0, 0.0]), np.array([[0.0, 1.0]])
    assert relevancy(np.array([[1.0, 1.0]]), query, negatives)[0] == pytest.approx(0.5)
    logits = relevancy_logits(np.array([[1.0, 0.0], [0.9, 0.1]]), query, negatives)
    assert logits[0] > logits[1]  # ordered even where relevancy itself rounds to ~1
    assert sigmoid(np.array([-1000.0, 1000.0])).tolist() == [0.0, 1.0]
    assert 0.5 < DEFAULT_RELEVANCY_THRESHOLD < 1.0


def test_relevancy_rejects_mismatched_embeddings():
    with pytest.raises(ValueError, match="sizes differ"):
        relevancy(np.ones((3, 8)), np.ones(4), np.ones((2, 8)))


def _touching_boxes(rng):
    """Two 6 cm boxes of points side by side (gap 4 mm) with different DINO features, on a table."""
    a = rng.uniform([0, 0, 0.0], [0.06, 0.06, 0.06], (1500, 3))
    b = rng.uniform([0.064, 0, 0.0], [0.124, 0.06, 0.06], (1500, 3))
    table = np.column_stack([rng.uniform(-0.1, 0.25, 3000), rng.uniform(-0.1, 0.16, 3000), np.zeros(3000)])
    points = np.vstack([a, b, table])
    labels = np.repeat([0, 1, 2], [1500, 1500, 3000])
    dino_basis = np.eye(8)[:3] + 0.05 * rng.standard_normal((3, 8))
    dino = dino_basis[labels] + 0.02 * rng.standard_normal((len(points), 8))
    return points, labels, dino


def test_grouping_separates_two_touching_objects():
    rng = np.random.default_rng(0)
    points, labels, dino = _touching_boxes(rng)
    scores = np.where(labels == 1, 2.0, 0.0) + 0.1 * rng.standard_normal(len(points))
    index = GroupingIndex.build(points, dino, GroupingParams())
    seed, seed_points = index.find_seed(scores)
    assert labels[seed] == 1
    mask = index.grow(seed_points)
    assert mask[labels == 1].mean() > 0.98
    assert not mask[labels != 1].any()


def test_grouping_without_dino_contrast_leaks_into_the_neighbour():
    """The same fill with identical DINO features takes both boxes: the features, not geometry, separate them."""
    rng = np.random.default_rng(0)
    points, labels, _ = _touching_boxes(rng)
    dino = np.where((labels == 2)[:, None], np.eye(8)[2], np.eye(8)[0])
    mask = GroupingIndex.build(points, dino, GroupingParams()).grow(np.flatnonzero(labels == 1)[:8])
    assert mask[labels == 0].mean() > 0.9 and not mask[labels == 2].any()


def test_seed_ignores_a_single_outlier():
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 0.1, (500, 3))
    scores = np.where(points[:, 0] > 0.08, 1.0, 0.0)
    scores[0] = 5.0  # one floater
    seed, _ = GroupingIndex.build(points, np.ones((len(points), 4)), GroupingParams()).find_seed(scores)
    assert points[seed, 0] > 0.08


def test_best_region_prefers_the_larger_matching_cluster():
    rng = np.random.default_rng(2)
    big = rng.uniform([0, 0, 0], [0.05, 0.02, 0.02], (400, 3))
    small = rng.uniform([0.2, 0, 0], [0.205, 0.005, 0.005], (10, 3))
    points = np.vstack([big, small])
    scores = np.r_[np.full(400, 0.8), np.full(10, 0.99)]
    region = best_region(points, scores, scores > 0.5, 0.012)
    assert region[:400].all() and not region[400:].any()


@pytest.mark.parametrize("kind", ["distinct", "ties", "nan", "few"])
def test_the_largest_scores_come_in_a_full_sorts_order(kind):
    """largest_first partitions instead of sorting every score; the seed search needs the same indices in the same
    order as the full sort gives, ties (whose order is the sort's own) and NaN included."""
    rng = np.random.default_rng(3)
    scores = rng.normal(size=5000)
    if kind == "ties":
        scores = np.round(scores, 1)
    if kind == "nan":
        scores[rng.choice(5000, 3, replace=False)] = np.nan
    if kind == "few":
        scores = scores[:40]
    for count in (1, 39, 64, 65):
        assert np.array_equal(largest_first(scores, count), np.argsort(scores)[::-1][:count]), count


def test_within_marks_the_points_near_a_region_and_growing_follows_the_edges_in_order():
    """GroupingIndex.within against brute-force distances (the boundary included), and grow against a plain
    breadth-first search with np.unique over the same graph."""
    rng = np.random.default_rng(4)
    points = rng.uniform(0.0, 0.1, (3000, 3))
    dino = np.repeat(rng.normal(size=(1, 8)), 3000, axis=0) + 0.3 * rng.normal(size=(3000, 8))
    index = GroupingIndex.build(points, dino, GroupingParams(max_object_extent_m=0.05))
    region = rng.random(3000) < 0.01
    distance = np.linalg.norm(points[:, None] - points[region][None], axis=2).min(axis=1)
    assert np.array_equal(index.within(region, 0.01), distance <= 0.01)
    seed = np.flatnonzero(region)[:4]
    expected = np.zeros(3000, dtype=bool)
    expected[seed] = True
    reference = index.dino[seed].mean(axis=0)
    reference /= np.linalg.norm(reference)
    centre, frontier = points[seed].mean(axis=0), seed
    while len(frontier):
        targets = np.unique(np.concatenate([index.indices[index.indptr[i]:index.indptr[i + 1]] for i in frontier]))
        targets = targets[~expected[targets]]
        frontier = targets[(index.dino[targets] @ reference >= 0.5)
                           & (np.linalg.norm(points[targets] - centre, axis=1) <= 0.05)]
        expected[frontier] = True
    assert np.array_equal(index.grow(seed), expected)
    assert 10 < expected.sum() < 3000
