"""Top-down pairs from cross-sections, tight openings in clutter, and contacts kept on the asked part (pure)."""
import numpy as np
import pytest

from dff_grasp_ros.grasp.antipodal import sample_antipodal_pairs
from dff_grasp_ros.grasp.collision import clears_table, colliding_points
from dff_grasp_ros.grasp.cross_section import (
    SlabShape,
    edge_drift_cosines,
    held_runs,
    sample_cross_section_pairs,
    tilted_approaches,
)
from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.planner import GraspParams, plan_grasps

SPACING_M = 0.003


def box_points(lower, upper, spacing_m=SPACING_M):
    """Surface points of an axis-aligned box (all six faces), about ``spacing_m`` apart."""
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    axes = [np.linspace(lower[a], upper[a], max(2, int(round((upper[a] - lower[a]) / spacing_m)) + 1))
            for a in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    on_surface = np.zeros(len(grid), dtype=bool)
    for a in range(3):
        on_surface |= np.isclose(grid[:, a], lower[a]) | np.isclose(grid[:, a], upper[a])
    return grid[on_surface]


def table_points(half_extent_m=0.15, spacing_m=0.005):
    xs = np.arange(-half_extent_m, half_extent_m + 1e-9, spacing_m)
    return np.column_stack([np.repeat(xs, len(xs)), np.tile(xs, len(xs)), np.zeros(len(xs) ** 2)])


def test_held_runs_split_at_gaps_a_finger_fits_into():
    along = np.array([[-0.03], [-0.025], [0.0], [0.004], [0.02]])
    held = held_runs(along, np.ones_like(along, dtype=bool), min_gap_m=0.01)
    assert held[:, 0].tolist() == [False, False, True, True, False]
    outside = np.array([[True], [True], [True], [False], [True]])  # a point outside the slab is never held
    assert held_runs(along, outside, 0.01)[:, 0].tolist() == [False, False, True, False, False]


def test_edge_drift_is_zero_for_a_straight_edge_and_follows_a_slanted_one():
    across = np.linspace(-0.0099, 0.0099, 40)
    straight = np.full_like(across, 0.013)
    slanted = 0.013 + across  # the edge turns 45 degrees away from the closing axis's normal
    along = np.column_stack([straight, slanted])
    held = np.ones_like(along, dtype=bool)
    cosines = edge_drift_cosines(along, np.column_stack([across, across]), held, 4, 0.01)
    assert cosines[0] == pytest.approx(1.0)
    assert cosines[1] == pytest.approx(np.cos(np.pi / 4), abs=0.01)
    one_bin = edge_drift_cosines(along[:5], np.full((5, 2), 0.009), held[:5], 4, 0.01)
    assert one_bin.tolist() == [0.0, 0.0]  # a point contact: no edge direction, never accepted


def test_tilted_approaches_turn_about_the_closing_axis_from_straight_down():
    approaches = tilted_approaches(np.array([0.0, 1.0, 0.0]), 12, np.radians(60))
    np.testing.assert_allclose(approaches[0], [0, 0, -1])
    np.testing.assert_allclose(approaches @ [0, 1.0, 0], 0, atol=1e-12)
    tilt = np.degrees(np.arccos(-approaches[:, 2]))
    assert sorted(np.round(tilt).tolist()) == [0, 30, 30, 60, 60]


def test_a_thin_plate_with_upward_normals_is_grasped_across_from_above():
    """A knife blade lying flat, as a fused cloud shows it: every normal points up, the 3 mm edges included.

    Normals alone find no antipodal pair, so before top-down pairs existed there was no grasp at all.
    """
    blade = box_points([-0.07, -0.013, 0.0085], [0.07, 0.013, 0.0115])
    table = table_points()
    points = np.vstack([blade, table])
    normals = np.tile([0.0, 0.0, 1.0], (len(points), 1))
    on_blade = np.r_[np.ones(len(blade), bool), np.zeros(len(table), bool)]
    index = np.flatnonzero(on_blade)
    assert len(sample_antipodal_pairs(points, normals, index, index, 0.076, 0.5, 300,
                                      np.random.default_rng(0))) == 0

    gripper = ParallelJawGripper()
    grasps = plan_grasps(points, normals, on_blade.astype(float), on_blade, on_blade, on_blade, GraspParams())
    assert grasps, "a 26 mm blade 8.5 mm above the table fits a Franka hand from above"
    for grasp in grasps[:3]:
        assert grasp.width_m == pytest.approx(0.026, abs=0.004)
        assert abs(grasp.rotation[:, 1] @ [0.0, 1.0, 0.0]) > np.cos(np.radians(27))  # closes across the blade
        assert grasp.approach @ [0.0, 0.0, -1.0] >= np.cos(np.radians(60)) - 1e-9
        assert not colliding_points(gripper, grasp.rotation, grasp.position_m, grasp.opening_m, points).any()
        assert clears_table(gripper, grasp.rotation[None], grasp.position_m[None], np.array([grasp.opening_m]),
                            0.0, 0.003)[0]
        assert np.all(np.abs(grasp.contacts_m[:, 1]) > 0.010)  # the contacts are the edges, not the top face


@pytest.mark.parametrize("yaw_deg", [5.0, 37.0, 98.0])
def test_cross_section_pairs_close_square_to_a_flat_handle_between_the_sampled_directions(yaw_deg):
    """Closing directions are sampled 15 degrees apart; a flat 28 x 14 mm handle held 5 degrees off square turned
    in the pads (the demo's pan: 7.5 cm up of a 10 cm lift, squared 9.5). Each pair's axis is squared to the held
    edges."""
    yaw = np.radians(yaw_deg)
    turn = np.array([[np.cos(yaw), -np.sin(yaw), 0.0], [np.sin(yaw), np.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
    handle = box_points([-0.06, -0.014, 0.02], [0.06, 0.014, 0.034]) @ turn.T
    everything = np.arange(len(handle))
    pairs, _ = sample_cross_section_pairs(handle, everything, everything, SlabShape(0.02, 0.02, 0.01), 0.076, 0.5,
                                          40, 12, np.random.default_rng(0))
    along_handle = turn[:, 0]
    # Within a slab's width of the handle's ends one held edge is the end face: those keep their sampled direction.
    middle = np.abs(0.5 * (handle[pairs.first] + handle[pairs.second]) @ along_handle) < 0.04
    assert middle.sum() > 10
    off_square_deg = np.degrees(np.arcsin(np.abs(pairs.closing_axis[middle] @ along_handle)))
    assert off_square_deg.max() < 1.0
    np.testing.assert_allclose(pairs.closing_axis[:, 2], 0.0, atol=1e-9)  # straight down: level


@pytest.mark.parametrize("gap_m, expect_grasp", [(0.013, True), (0.011, False)])
def test_a_neighbour_closer_than_the_comfortable_clearance_leaves_the_tight_opening(gap_m, expect_grasp):
    """A 20 mm bar beside a wall: a 10 mm finger with 5 mm clearance needs 15 mm, with the 2 mm minimum 12 mm."""
    bar = box_points([-0.05, -0.01, 0.0], [0.05, 0.01, 0.03])
    wall = box_points([-0.08, 0.01 + gap_m, 0.0], [0.08, 0.01 + gap_m + 0.02, 0.03])
    table = table_points()
    points = np.vstack([bar, wall, table])
    on_bar = np.r_[np.ones(len(bar), bool), np.zeros(len(wall) + len(table), bool)]
    normals = np.tile([0.0, 0.0, 1.0], (len(points), 1))
    gripper = ParallelJawGripper()
    grasps = plan_grasps(points, normals, on_bar.astype(float), on_bar, on_bar, on_bar, GraspParams())
    assert bool(grasps) == expect_grasp
    for grasp in grasps:
        assert grasp.width_m == pytest.approx(0.02, abs=0.002)
        assert grasp.opening_m == pytest.approx(grasp.width_m + 2 * gripper.min_clearance_m)
        assert not colliding_points(gripper, grasp.rotation, grasp.position_m, grasp.opening_m, points).any()


def test_no_grasp_that_touches_the_object_off_the_asked_part():
    """A block only graspable across x, with the asked part its -x half: every grasp would also squeeze the +x
    half, so none is returned (before, the second contact could lie anywhere on the object)."""
    block = box_points([-0.015, -0.045, 0.0], [0.015, 0.045, 0.04])
    table = table_points()
    points = np.vstack([block, table])
    normals = np.zeros_like(points)
    normals[:, 2] = 1.0
    for axis in range(2):
        for sign, bound in ((1, block[:, axis].max()), (-1, block[:, axis].min())):
            normals[:len(block)][np.isclose(block[:, axis], bound)] = np.eye(3)[axis] * sign
    on_block = np.r_[np.ones(len(block), bool), np.zeros(len(table), bool)]
    part = on_block & (points[:, 0] < 0)
    assert plan_grasps(points, normals, part.astype(float), on_block, on_block, on_block, GraspParams())  # whole
    assert plan_grasps(points, normals, part.astype(float), part, part, on_block, GraspParams()) == []
