"""Voxel thinning of the query cloud (pure)."""
import numpy as np

from dff_grasp_ros.query.downsample import voxel_representatives


def test_one_representative_per_occupied_voxel_and_a_way_back_to_every_point():
    points = np.random.default_rng(0).uniform(-0.3, 0.5, (5000, 3))
    reps, inverse = voxel_representatives(points, 0.05)
    cells = np.floor(points / 0.05).astype(int)
    assert len(reps) == len(np.unique(cells, axis=0))
    np.testing.assert_array_equal(cells[reps][inverse], cells)  # every point maps to its own voxel's representative
    _, reference_first = np.unique(cells, axis=0, return_index=True)
    np.testing.assert_array_equal(reps, reference_first)  # the first point of each voxel, in voxel order


def test_voxel_zero_keeps_every_point():
    points = np.zeros((4, 3))
    reps, inverse = voxel_representatives(points, 0.0)
    assert reps.tolist() == [0, 1, 2, 3] and inverse.tolist() == [0, 1, 2, 3]
