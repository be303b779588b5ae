"""The ground-truth judge itself: AUROC labels and grasp verdicts (pure, no ROS)."""
import numpy as np
import pytest

from dff_grasp_ros.synthetic import ground_truth
from dff_grasp_ros.synthetic.judge import GroundTruthPoints, auroc, auroc_labels, scene_prompts


def touching_blocks() -> tuple[GroundTruthPoints, np.ndarray]:
    """Two 40 mm blocks side by side with no gap (objects 0 and 1), as in a packed bin; cloud = truth."""
    xs = np.arange(0.0, 0.04, 0.002)
    face = np.column_stack([np.repeat(xs, len(xs)), np.full(len(xs) ** 2, 0.0), np.tile(xs, len(xs)) + 0.005])
    first = face + [0.0, 0.0, 0.0]
    second = face + [0.0401, 0.0, 0.0]
    points = np.vstack([first, second])
    ids = np.r_[np.zeros(len(first), int), np.ones(len(second), int)]
    return GroundTruthPoints(points, ids, np.full(len(points), "body")), points


def test_a_touching_neighbour_counts_against_the_object_not_for_it():
    """Relevancy that is exactly the object's own points scores AUROC 1. Before, every point within 15 mm of
    the object counted as positive, so the touching neighbour's edge lowered a perfect answer (bin_clutter)."""
    truth, points = touching_blocks()
    relevancy = (truth.object_id == 0).astype(float)
    positive, scored = auroc_labels(truth, points, object_id=0, table_z_m=0.0)
    assert scored.all() and positive.sum() == (truth.object_id == 0).sum()
    assert auroc(relevancy[scored], positive[scored]) == pytest.approx(1.0)
    blurred = relevancy.copy()
    blurred[(truth.object_id == 1) & (points[:, 0] < 0.05)] = 1.0  # relevancy spilling onto the neighbour
    assert auroc(blurred[scored], positive[scored]) < 0.95


def test_the_table_at_the_objects_foot_is_left_unscored():
    truth, points = touching_blocks()
    foot = np.array([[0.02, -0.01, 0.0], [0.02, -0.2, 0.0]])  # 10 mm from the block, and far away
    positive, scored = auroc_labels(truth, np.vstack([points, foot]), object_id=0, table_z_m=0.0)
    assert not positive[-2:].any() and scored[-2:].tolist() == [False, True]


def test_scene_prompts_ask_each_object_whole_only_when_told():
    truth = ground_truth("bin_clutter", points_per_part=10)
    parts_only = scene_prompts(truth)
    with_whole = scene_prompts(truth, whole_objects=True)
    screwdriver = next(o["id"] for o in truth["objects"] if o["type"] == "screwdriver")
    assert all(part is not None for _, i, part in parts_only if i is not None)
    assert ("screwdriver", screwdriver, None) in with_whole and ("red screwdriver", screwdriver, None) in with_whole
    assert [p for p in with_whole if p[2] is not None or p[1] is None] == parts_only
