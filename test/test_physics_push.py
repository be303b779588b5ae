"""A push in physics (MuJoCo) can fail: the closed fingers, tilted so the palm stays off the wall, push the bin's
screwdriver 6 cm away from the tote wall, and the scene after it holds the screwdriver where physics left it; a
stroke into the wall or a descent onto it collides, the same push above the handle misses, and bad inputs are
refused. The pose comes from the scene's ground truth and the hand's dimensions (the bin as the clearing loop leaves
it once the knife, the spatula and the white box are out)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.synthetic import ground_truth
from dff_grasp_ros.synthetic.clearing import World
from dff_grasp_ros.synthetic.objects import build_object
from dff_grasp_ros.synthetic.physics import PUSH_OUTCOMES, execute_push, pushed_scene
from dff_grasp_ros.synthetic.physics.push import ROLL_AXIS_Z_M, TILT_LIMIT_DEG, lying_pose, push_outcome

SCREWDRIVER, WHITE_BOX, KNIFE, SPATULA = 7, 4, 6, 8  # ids in bin.yaml
TILT_DEG = 25.0  # about the screwdriver's axis: the palm leans over the object, off the wall
TIP_HEIGHT_M = 0.007  # the fingertips' lowest corner above the tote floor
STROKE_M = 0.06
WALL_CLEARANCE_M = 0.003  # between the tote wall and the tilted fingers' nearest corner
STANDOFF_M = 0.04  # pre-push behind the start: backing out as far along -z keeps the palm off the bottle


@pytest.fixture(scope="module")
def world():
    world = World("bin")
    world.remove([KNIFE, SPATULA, WHITE_BOX])  # the palm (20 cm along x) reaches over the white box
    return world


@pytest.fixture(scope="module")
def scene(world):
    return world.scene()


@pytest.fixture(scope="module")
def sd(world):
    return world.present.index(SCREWDRIVER)


def handle_points(scene, sd) -> np.ndarray:
    obj = ground_truth(scene, points_per_part=400)["objects"][sd]
    return np.asarray(obj["parts"]["handle"]["points"])


def tilted_rotation(tilt_deg: float) -> np.ndarray:
    """TCP frame: closing axis (y) along the base x, approach (z) down and tilted towards -y (the wall)."""
    c, s = np.cos(np.radians(tilt_deg)), np.sin(np.radians(tilt_deg))
    return np.column_stack([(0.0, c, -s), (1.0, 0.0, 0.0), (0.0, -s, -c)])


def closed_finger_corners_m(rotation: np.ndarray) -> np.ndarray:
    """(16, 3) corners of both closed fingers, in the base frame relative to the TCP."""
    boxes = ParallelJawGripper().boxes(0.0)
    return np.array([[x, y, z] for lower, upper in (boxes["finger_left"], boxes["finger_right"])
                     for x in (lower[0], upper[0]) for y in (lower[1], upper[1]) for z in (lower[2], upper[2])]
                    ) @ rotation.T


@pytest.fixture(scope="module")
def push(scene, sd):
    """(rotation, pre, start, end): the TCP in the gap between the handle and the wall, the fingers
    WALL_CLEARANCE_M off the wall, at the handle's middle along x, the fingertips TIP_HEIGHT_M above the floor,
    a stroke towards +y."""
    handle = handle_points(scene, sd)
    wall_y = scene.tote.center_m[1] - scene.tote.inner_size_m[1] / 2
    rotation = tilted_rotation(TILT_DEG)
    corners = closed_finger_corners_m(rotation)
    start = np.array([handle[:, 0].mean(), wall_y + WALL_CLEARANCE_M - corners[:, 1].min(),
                      TIP_HEIGHT_M - corners[:, 2].min()])
    assert start[1] < handle[:, 1].min()  # in the gap, not over the handle
    return rotation, start - STANDOFF_M * rotation[:, 2], start, start + [0.0, STROKE_M, 0.0]


@pytest.fixture(scope="module")
def pushed(scene, sd, push):
    return execute_push(scene, sd, *push)


def test_the_push_moves_the_screwdriver_4_cm_off_the_wall_and_nothing_else(scene, sd, pushed):
    assert pushed.outcome == "pushed", pushed.message
    rest_y = scene.objects[sd].position_m[1]
    assert pushed.final_pose[sd][1] - rest_y >= 0.04
    assert pushed.moved_m[sd] >= 0.04
    assert max(m for i, m in enumerate(pushed.moved_m) if i != sd) < 0.01
    assert pushed.asked_tilt_deg < TILT_LIMIT_DEG
    assert [s.label for s in pushed.snapshots] == ["approach", "pushed", "settled"]
    assert json.loads(json.dumps(pushed.to_json()))["outcome"] == "pushed"


def test_the_scene_after_the_push_holds_the_screwdriver_where_physics_left_it(scene, sd, pushed):
    after = pushed_scene(scene, pushed)
    settled = pushed.snapshots[-1].object_to_base[sd]
    # Physics' pose, its roll about the axis taken out: the axis (16 mm up) over the scene pose.
    axis_xy = (settled @ [0.0, 0.0, ROLL_AXIS_Z_M["screwdriver"], 1.0])[:2]
    assert np.allclose(after.objects[sd].position_m, axis_xy, atol=1e-4)
    assert after.objects[sd].yaw_deg == pytest.approx(np.degrees(np.arctan2(settled[1, 0], settled[0, 0])))
    assert after.objects[sd].position_m != scene.objects[sd].position_m
    unmoved = [i for i, m in enumerate(pushed.moved_m) if m == 0.0]
    assert unmoved and all(after.objects[i] == scene.objects[i] for i in unmoved)
    # The clearing loop re-renders the world from the scene: its ground truth has the handle off the wall.
    moved_by_m = handle_points(after, sd)[:, 1].min() - handle_points(scene, sd)[:, 1].min()
    assert moved_by_m == pytest.approx(after.objects[sd].position_m[1] - scene.objects[sd].position_m[1], abs=2e-3)


@pytest.mark.parametrize("stroke, where", [((0.0, -0.03, 0.0), "into the stroke"),
                                           ((0.0, 0.06, -0.01), "into the stroke")])
def test_a_stroke_into_the_wall_or_the_floor_collides(scene, sd, push, stroke, where):
    rotation, pre, start, _ = push
    execution = execute_push(scene, sd, rotation, pre, start, start + stroke, record=False)
    assert execution.outcome == "collided", execution.message
    assert where in execution.message
    assert set(execution.touched) & {"tote wall", "table"}


def test_a_descent_onto_the_wall_collides_before_pushing(scene, sd, push):
    rotation, pre, start, end = push
    into_wall = np.array([0.0, -0.01, 0.0])
    execution = execute_push(scene, sd, rotation, pre + into_wall, start + into_wall, end + into_wall, record=False)
    assert execution.outcome == "collided", execution.message
    assert "tote wall" in execution.touched and "before pushing" in execution.message


def test_backing_out_from_a_10_cm_standoff_drags_the_palm_into_the_bottle(scene, sd, push):
    # Backing out along -z of the tilted approach moves the hand over the pushed object, towards +y.
    rotation, _, start, end = push
    execution = execute_push(scene, sd, rotation, start - 0.10 * rotation[:, 2], start, end, record=False)
    assert execution.outcome == "collided", execution.message
    assert "into backing out" in execution.message and "#3 green bottle" in execution.touched


def test_the_same_push_above_the_handle_misses(scene, sd, push):
    rotation, pre, start, end = push
    up = np.array([0.0, 0.0, 0.04])  # the tips 4.7 cm up, the handle's top at 3.2 cm
    execution = execute_push(scene, sd, rotation, pre + up, start + up, end + up, record=False)
    assert execution.outcome == "missed", execution.message
    assert execution.moved_m[sd] < 0.005
    with pytest.raises(ValueError, match="only a pushed execution"):
        pushed_scene(scene, execution)


def test_outcomes_are_the_documented_ones(pushed):
    assert pushed.outcome in PUSH_OUTCOMES
    assert PUSH_OUTCOMES == ("pushed", "missed", "toppled", "collided", "disturbed")


@pytest.mark.parametrize("change, match", [
    (lambda a: {**a, "start_position_m": a["start_position_m"] + [np.nan, 0.0, 0.0]}, "finite"),
    (lambda a: {**a, "end_position_m": a["end_position_m"] + [0.0, np.inf, 0.0]}, "end_position_m must be finite"),
    (lambda a: {**a, "rotation": a["rotation"] * 1.1}, "not a rotation"),
    (lambda a: {**a, "rotation": a["rotation"] @ np.diag([1.0, 1.0, -1.0])}, "not a rotation"),
    (lambda a: {**a, "rotation": np.eye(2)}, r"\(3, 3\)"),
    (lambda a: {**a, "rotation": a["rotation"] * np.nan}, "rotation must be finite"),
    (lambda a: {**a, "object_id": 99}, "object id 99"),
    (lambda a: {**a, "end_position_m": a["start_position_m"]}, "needs a stroke"),
    (lambda a: {**a, "speed_m_s": 0.0}, "speed_m_s must be a positive number, got 0.0"),
    (lambda a: {**a, "speed_m_s": float("nan")}, "speed_m_s must be a positive number, got nan"),
    (lambda a: {**a, "pre_push_position_m": a["start_position_m"] + 0.05 * a["rotation"][:, 2]}, "ahead"),
])
def test_bad_inputs_are_refused_in_one_line(scene, sd, push, change, match):
    rotation, pre, start, end = push
    args = change({"speed_m_s": 0.05, "object_id": sd, "rotation": rotation, "pre_push_position_m": pre,
                   "start_position_m": start, "end_position_m": end})
    with pytest.raises(ValueError, match=match) as err:
        execute_push(scene, record=False, **args)
    assert "\n" not in str(err.value)


def test_the_screwdriver_is_the_same_shape_rolled_about_its_axis():
    # ROLL_AXIS_Z_M's claim, from the catalogue: every part is a cylinder about the axis (vertices on the rim or on
    # the axis).
    height = ROLL_AXIS_Z_M["screwdriver"]
    for part in build_object("screwdriver"):
        radius = np.hypot(part.mesh.vertices[:, 1], part.mesh.vertices[:, 2] - height)
        rim = radius.max()
        assert np.all((np.abs(radius - rim) < 1e-9) | (radius < 1e-9)), part.name


def roll_about_x(angle_deg: float, axis_z_m: float) -> np.ndarray:
    """An object frame turned by angle_deg about the line through (0, 0, axis_z_m) along x."""
    a = np.radians(angle_deg)
    pose = np.eye(4)
    pose[1:3, 1:3] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    pose[:3, 3] = np.array([0.0, 0.0, axis_z_m]) - pose[:3, :3] @ [0.0, 0.0, axis_z_m]
    return pose


def test_a_rolled_screwdriver_lies_as_before_and_a_rolled_box_is_toppled():
    (x, y, yaw), tilt = lying_pose("screwdriver", roll_about_x(90.0, ROLL_AXIS_Z_M["screwdriver"]))
    assert tilt == pytest.approx(0.0, abs=1e-6) and np.allclose((x, y, yaw), 0.0, atol=1e-9)
    _, tilt = lying_pose("box", roll_about_x(90.0, 0.035))
    assert tilt == pytest.approx(90.0)


@pytest.mark.parametrize("moved_m, tilt_deg, outcome", [
    ((0.0, 0.05, 0.0), 0.0, "pushed"),
    ((0.0, 0.02, 0.0), 0.0, "missed"),
    ((0.0, 0.05, 0.0), TILT_LIMIT_DEG + 1, "toppled"),
    ((0.0, 0.05, 0.011), 0.0, "disturbed"),
    ((0.009, 0.05, 0.0), 0.0, "pushed"),
])
def test_the_outcome_of_a_finished_stroke(moved_m, tilt_deg, outcome):
    got, message = push_outcome(np.array(moved_m), 1, tilt_deg, 0.06, ["#0 a", "#1 b", "#2 c"])
    assert got == outcome, message
    if outcome == "disturbed":
        assert message == "moved #2 c 1.1 cm"
