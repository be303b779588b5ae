"""The push planner (dff_grasp_ros.grasp.push): directions, contacts, strokes and collision checks, on hand-built
point sets and on the bin scene's ideal cloud."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree
from test_grasp_cross_section import box_points, table_points

from dff_grasp_ros.grasp.collision import ObstacleRoles, Obstacles, clears_table, colliding_points
from dff_grasp_ros.grasp.gripper import ParallelJawGripper, points_in_box
from dff_grasp_ros.grasp.push import PushParams, free_travel_m, own_fringe, plan_push, sweep_intervals

GRIPPER = ParallelJawGripper()
PARAMS = PushParams()
TABLE_CLEARANCE_M = 0.003  # as GraspParams.table_clearance_m: the obstacles' floor above the table


def scene(*parts: np.ndarray) -> tuple[np.ndarray, np.ndarray, Obstacles]:
    """Points of the object (first part) and everything else on a table at z = 0: (points, object mask,
    obstacles above the table), as a prepared cloud has them."""
    parts = [p[p[:, 2] >= 0.005] for p in (*parts, table_points(0.3))]  # the table band is no scene point
    points = np.vstack(parts)
    mask = np.zeros(len(points), dtype=bool)
    mask[:len(parts[0])] = True
    return points, mask, Obstacles.above_table(points, 0.0, TABLE_CLEARANCE_M)


BAR = box_points([-0.08, -0.012, 0.0], [0.08, 0.012, 0.015])  # a long bar along x, 24 mm wide, 15 mm tall


def wall_y(y_m: float, thickness_m: float = 0.01, height_m: float = 0.1, half_length_m: float = 0.2) -> np.ndarray:
    """A wall along x whose face towards the origin lies at ``y_m``."""
    far = y_m + np.sign(y_m) * thickness_m
    return box_points([-half_length_m, min(y_m, far), 0.0], [half_length_m, max(y_m, far), height_m])


def collisions_along(plan, obstacles: Obstacles, object_mask: np.ndarray, samples: int = 10) -> tuple[int, int, int]:
    """Obstacle points in the hand (:func:`colliding_points`) at ``samples`` poses along each motion: the descent
    (any of them), the stroke and the way back out along -z from the end (those not on the object
    ``object_mask``, over the scene points): an independent re-run of the planner's checks."""
    def along(first: np.ndarray, last: np.ndarray, points: np.ndarray) -> int:
        return sum(int(colliding_points(GRIPPER, plan.rotation, first + t * (last - first), 0.0, points).sum())
                   for t in np.linspace(0.0, 1.0, samples))

    points_m = obstacles.points_m
    others = points_m[~ObstacleRoles.of(obstacles.scene_index, object_mask).on_object]
    back_out = plan.end_position_m - PARAMS.standoff_m * plan.rotation[:, 2]
    return (along(plan.pre_push_position_m, plan.start_position_m, points_m),
            along(plan.start_position_m, plan.end_position_m, others), along(plan.end_position_m, back_out, others))


def test_sweep_intervals_match_sampled_translations():
    rng = np.random.default_rng(0)
    lower, upper = np.array([-0.01, -0.02, -0.03]), np.array([0.01, 0.02, 0.0])
    points = rng.uniform(-0.08, 0.08, (400, 3))
    step = np.array([0.6, -0.0, 0.8])
    enter, leave = sweep_intervals(points, lower, upper, step)
    for s in np.linspace(-0.15, 0.15, 61):
        inside = points_in_box(points - s * step, (lower, upper))
        np.testing.assert_array_equal(inside, (enter <= s) & (s <= leave))
    never = ~(enter <= leave)
    assert never.any() and np.isinf(enter[never]).all() and np.isinf(leave[never]).all()


def test_free_travel_is_the_distance_to_the_first_point_ahead_less_the_radius():
    moving = np.array([[0.0, 0.0, 0.01], [0.0, 0.02, 0.01]])
    ahead = np.array([[0.03, 0.0, 0.01]])  # 3 cm ahead of the first point, in line with it
    assert free_travel_m(moving, ahead, np.array([1.0, 0.0, 0.0]), 0.005, 0.1) == pytest.approx(0.025)
    # Behind, or beside beyond the radius, nothing is met: the limit.
    behind = np.array([[-0.01, 0.0, 0.01], [0.03, 0.04, 0.01]])
    assert free_travel_m(moving, behind, np.array([1.0, 0.0, 0.0]), 0.005, 0.1) == pytest.approx(0.1)


def test_a_bar_against_a_wall_is_pushed_away_from_it_from_beside_it_on_the_wall_side():
    points, mask, obstacles = scene(BAR, wall_y(-0.052))  # 40 mm between the bar's side and the wall
    result = plan_push(points, mask, obstacles, 0.0, GRIPPER)
    plan = result.plan
    assert plan is not None, result.reason
    push = (plan.end_position_m - plan.start_position_m) / plan.distance_m
    np.testing.assert_allclose(push, [0.0, 1.0, 0.0], atol=1e-6)  # across the long axis, away from the wall
    assert -0.052 < plan.start_position_m[1] < -0.012  # between the wall and the bar
    assert abs(plan.start_position_m[0]) <= PARAMS.max_station_share * 0.16 + 1e-9
    assert "-y" in plan.away_from and "cm" in plan.away_from
    # The bar's centroid ends half the palm span plus the margin from the wall (the travel is within the caps).
    wanted = GRIPPER.palm_span_m / 2 + PARAMS.palm_margin_m - 0.052
    assert plan.object_travel_m == pytest.approx(min(max(wanted, PARAMS.min_travel_m), PARAMS.max_travel_m), abs=1e-4)
    assert clears_table(GRIPPER, plan.rotation[None], plan.start_position_m[None], np.zeros(1), 0.0,
                        PARAMS.tip_height_m - 1e-9)[0]
    assert collisions_along(plan, obstacles, mask) == (0, 0, 0)


def test_a_few_points_of_the_object_its_instance_left_out_move_with_it_but_a_touching_neighbour_never_does():
    # The `bin` field (2026-12-04): the screwdriver's instance left its shaft tip out (6 points). As "something
    # else" they lay ahead of it in every direction (pushed across, the tip is beside the shaft), so every push
    # "would meet a seen surface after 0.0 cm", and the screwdriver by the wall was never cleared.
    points, mask, obstacles = scene(BAR, wall_y(-0.052))
    tip = mask & (points[:, 0] > 0.078) & (points[:, 2] > 0.0095)  # the top of its end face: 18 points
    assert 0 < tip.sum() <= PARAMS.fringe_max_points
    result = plan_push(points, mask & ~tip, obstacles, 0.0, GRIPPER)
    assert result.plan is not None, result.reason
    push = (result.plan.end_position_m - result.plan.start_position_m) / result.plan.distance_m
    np.testing.assert_allclose(push, [0.0, 1.0, 0.0], atol=1e-6)
    assert collisions_along(result.plan, obstacles, mask) == (0, 0, 0)
    assert np.array_equal(own_fringe(points, mask & ~tip, PARAMS), tip)
    # As few points, but running on 5 cm from the bar's end (a thin neighbour touching it), is no fringe; nor is
    # the wall.
    rod = np.column_stack([np.arange(0.083, 0.13, 0.004), np.zeros(12), np.full(12, 0.007)])
    points, mask, _ = scene(BAR, wall_y(-0.052), rod)
    assert len(rod) <= PARAMS.fringe_max_points and not own_fringe(points, mask, PARAMS).any()


def test_a_bar_in_open_space_gets_a_short_push_and_a_boxed_in_bar_none_with_a_reason():
    points, mask, obstacles = scene(BAR)
    plan = plan_push(points, mask, obstacles, 0.0, GRIPPER).plan
    assert plan is not None and plan.object_travel_m == pytest.approx(PARAMS.min_travel_m)
    assert plan.away_from.startswith("nothing seen within")
    pen = np.vstack([wall_y(-0.02), wall_y(0.02), box_points([-0.1, -0.03, 0.0], [-0.09, 0.03, 0.1]),
                     box_points([0.09, -0.03, 0.0], [0.1, 0.03, 0.1])])
    points, mask, obstacles = scene(BAR, pen)
    result = plan_push(points, mask, obstacles, 0.0, GRIPPER)
    assert result.plan is None
    assert "+y" in result.reason and "-y" in result.reason and "\n" not in result.reason


def test_the_push_needs_room_for_its_whole_stroke_and_never_sweeps_the_object_into_a_neighbour():
    # The bar 2.6 cm from the wall must move 5.8 cm for the palm to clear the wall. A neighbour 3.8 cm beyond its
    # far side leaves too little room: no push (before: a 2.6 cm push that freed nothing, the bin's screwdriver
    # pushed towards the spatula beside it). With the neighbour 8 cm beyond, the push is offered whole.
    near = box_points([-0.03, 0.05, 0.0], [0.03, 0.08, 0.04])
    result = plan_push(*scene(BAR, wall_y(-0.052), near), 0.0, GRIPPER)
    assert result.plan is None
    assert "to +y it would meet a seen surface after 3.3 cm (the push that frees it needs 5.8 cm)" in result.reason
    neighbour = box_points([-0.03, 0.092, 0.0], [0.03, 0.12, 0.04])
    points, mask, obstacles = scene(BAR, wall_y(-0.052), neighbour)
    plan = plan_push(points, mask, obstacles, 0.0, GRIPPER).plan
    assert plan is not None and abs(plan.object_travel_m - 0.058) < 0.002
    push = (plan.end_position_m - plan.start_position_m) / plan.distance_m
    seen = points[mask]  # the bar as seen (its underside is not): only that is checked
    swept = np.vstack([seen + t * plan.object_travel_m * push for t in np.linspace(0.0, 1.0, 20)])
    assert cKDTree(neighbour).query(swept)[0].min() >= PARAMS.footprint_clearance_m - 1e-6
    # A neighbour 2 mm from the bar's far side (taller than the bar, 6 cm long) crowds it more than the wall: a
    # push away from it is tried first, but the fingers find no room beside it; towards it the bar would be
    # pushed into it at once. No push.
    touching = box_points([-0.03, 0.014, 0.0], [0.03, 0.05, 0.04])
    points, mask, obstacles = scene(BAR, wall_y(-0.052), touching)
    result = plan_push(points, mask, obstacles, 0.0, GRIPPER)
    assert result.plan is None
    assert result.reason.startswith("to -y it would meet a seen surface after 3.5 cm")
    assert result.reason.endswith("to +y it would meet a seen surface after 0.0 cm (the push that frees it needs "
                                  "5.8 cm)")


def test_a_compact_block_is_pushed_straight_away_from_the_wall_that_crowds_it():
    # 40 x 34 mm from above (compact), turned 20 degrees: none of the directions spread from its long axis is +y.
    turn = np.radians(20.0)
    rotation = np.array([[np.cos(turn), -np.sin(turn), 0.0], [np.sin(turn), np.cos(turn), 0.0], [0.0, 0.0, 1.0]])
    block = box_points([-0.02, -0.017, 0.0], [0.02, 0.017, 0.02]) @ rotation.T
    points, mask, obstacles = scene(block, wall_y(-0.055))  # its nearest corner 3.2 cm from the wall
    plan = plan_push(points, mask, obstacles, 0.0, GRIPPER).plan
    assert plan is not None
    push = (plan.end_position_m - plan.start_position_m) / plan.distance_m
    np.testing.assert_allclose(push, [0.0, 1.0, 0.0], atol=0.02)
    assert "-y" in plan.away_from and -0.055 < plan.start_position_m[1] < -0.02
    assert collisions_along(plan, obstacles, mask) == (0, 0, 0)


def test_the_hand_backs_out_of_the_push_clear_of_a_tall_wall_ahead():
    # With a tall wall 7.3 cm beyond the bar, every push towards it that leans the palm over the bar lifts the
    # palm into that wall backing out (measured without this check: 8976 points in the hand): no push. With the
    # wall 9.3 cm beyond, the plan found backs out clear.
    result = plan_push(*scene(BAR, wall_y(-0.052), wall_y(0.085, height_m=0.25)), 0.0, GRIPPER)
    assert result.plan is None and "backing out" in result.reason, result.reason
    points, mask, obstacles = scene(BAR, wall_y(-0.052), wall_y(0.105, height_m=0.25))
    result = plan_push(points, mask, obstacles, 0.0, GRIPPER)
    assert result.plan is not None, result.reason
    assert collisions_along(result.plan, obstacles, mask) == (0, 0, 0)


@pytest.mark.parametrize("name, value", [
    ("approach_clearance_m", -0.001), ("tip_height_m", float("nan")), ("max_tilt_deg", 90.0),
    ("tilt_step_deg", 0.0), ("elongation", 0.5), ("directions", 0), ("crowd_range_m", 0.0),
    ("min_travel_m", 0.0), ("max_travel_m", 0.01), ("station_step_m", -1.0), ("max_station_share", 0.6),
    ("fringe_max_points", -1), ("fringe_reach_m", -0.01), ("fringe_link_m", float("nan"))])
def test_invalid_params_raise_one_line_value_errors(name, value):
    with pytest.raises(ValueError) as err:
        PushParams(**{name: value})
    assert "\n" not in str(err.value) and name.split("_m")[0].split("_deg")[0] in str(err.value)


# The bin scene's ideal cloud: the screwdriver (7) and the knife (6) lie along the tote's -y wall.
SCREWDRIVER, KNIFE = 7, 6


def bin_cloud(present: list[int] | None = None) -> tuple[object, np.ndarray]:
    """The bin's ideal cloud with the objects ``present`` (all by default) and each scene point's object id."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from bench_push_plan import cloud_with_object_ids

    return cloud_with_object_ids("bin", present)


@pytest.fixture(scope="module")
def screwdriver_alone():
    return bin_cloud([SCREWDRIVER])


def test_the_bin_screwdriver_alone_is_pushed_off_the_wall_without_touching_anything_seen(screwdriver_alone):
    prepared, ids = screwdriver_alone
    mask = ids == SCREWDRIVER
    started = time.perf_counter()
    result = plan_push(prepared.points_m, mask, prepared.obstacles, 0.0, GRIPPER)
    assert time.perf_counter() - started < 0.5  # cheap (about 25 ms measured; loose for a loaded machine)
    plan = result.plan
    assert plan is not None, result.reason
    push = (plan.end_position_m - plan.start_position_m) / plan.distance_m
    np.testing.assert_allclose(push, [0.0, 1.0, 0.0], atol=0.01)
    assert plan.distance_m >= 0.04 and "-y" in plan.away_from
    seen = prepared.points_m[mask]
    assert -0.16 < plan.start_position_m[1] < seen[:, 1].min()  # beside it, on the wall side
    assert seen[:, 0].min() < plan.start_position_m[0] < seen[:, 0].max()
    # It ends where the jaws' palm (half its span from the axis) clears the wall at y = -0.16, with the margin.
    ends_y = seen[:, 1].mean() + plan.object_travel_m
    assert ends_y - (-0.16) >= GRIPPER.palm_span_m / 2 + PARAMS.palm_margin_m - 0.002
    assert clears_table(GRIPPER, plan.rotation[None], plan.start_position_m[None], np.zeros(1), 0.0,
                        PARAMS.tip_height_m - 1e-9)[0]
    assert collisions_along(plan, prepared.obstacles, mask) == (0, 0, 0)


def test_the_knife_against_the_wall_leaves_the_fingers_no_room():
    prepared, ids = bin_cloud([KNIFE])
    result = plan_push(prepared.points_m, ids == KNIFE, prepared.obstacles, 0.0, GRIPPER)
    assert result.plan is None
    assert "to +y no pose of the closed fingers is free" in result.reason  # 4-6 mm to the wall: a finger is 20
    assert ";" not in result.reason  # towards the wall, the side that crowds it, it is never pushed


def test_in_the_full_bin_the_screwdriver_is_not_pushed_into_the_spatula_beside_it():
    prepared, ids = bin_cloud()
    result = plan_push(prepared.points_m, ids == SCREWDRIVER, prepared.obstacles, 0.0, GRIPPER)
    assert result.plan is None
    assert "to +y it would meet a seen surface after 0.0 cm" in result.reason
