"""Planner findings of the physics judge: the straight approach from the pre-grasp pose is checked too, and a grasp
prefers a short lever to the object's centroid (a pan held at the end of its handle tips out of the pads)."""
from __future__ import annotations

import re

import numpy as np

from dff_grasp_ros.grasp.collision import colliding_points
from dff_grasp_ros.grasp.planner import ALL_COLLIDE, NO_PAIR, NO_POSE, GraspParams, plan_grasps
from dff_grasp_ros.query.pipeline import QueryParams, plan_query, prepare_query_cloud
from dff_grasp_ros.synthetic import ground_truth, vocabulary
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth
from dff_grasp_ros.synthetic.judge import asked_target
from dff_grasp_ros.synthetic.physics import execute_grasp

encoder = vocabulary.embed_phrases


def cylinder(radius_m: float, height_m: float, spacing_m: float = 0.003) -> tuple[np.ndarray, np.ndarray]:
    """Points and outward normals of an upright cylinder standing on z = 0 at the origin (side and top)."""
    angles = np.arange(0, 2 * np.pi, spacing_m / radius_m)
    heights = np.arange(spacing_m, height_m, spacing_m)
    a, h = np.meshgrid(angles, heights)
    side = np.column_stack([radius_m * np.cos(a.ravel()), radius_m * np.sin(a.ravel()), h.ravel()])
    side_normals = np.column_stack([np.cos(a.ravel()), np.sin(a.ravel()), np.zeros(a.size)])
    xs = np.arange(-radius_m, radius_m, spacing_m)
    top = np.array([[x, y, height_m] for x in xs for y in xs if x * x + y * y < radius_m ** 2])
    return np.vstack([side, top]), np.vstack([side_normals, np.tile([0.0, 0.0, 1.0], (len(top), 1))])


def test_the_approach_from_the_pre_grasp_pose_is_checked_against_what_was_seen():
    # A shelf 17 cm above the table, over a 6 cm tall cylinder: the hand at a top-down grasp clears it (the palm
    # ends 14.5 cm up), but on the way down from the pre-grasp pose 10 cm above, the palm passes through it.
    body, normals = cylinder(0.015, 0.06)
    xs = np.arange(-0.2, 0.2, 0.004)
    shelf = np.array([[x, y, 0.17] for x in xs for y in xs])
    points = np.vstack([body, shelf])
    all_normals = np.vstack([normals, np.tile([0.0, 0.0, -1.0], (len(shelf), 1))])
    on_object = np.r_[np.ones(len(body), bool), np.zeros(len(shelf), bool)]
    params = GraspParams()
    grasps = plan_grasps(points, all_normals, on_object.astype(float), on_object, on_object, on_object, params)
    assert grasps, grasps.reason
    for grasp in grasps[:3]:
        for t in np.linspace(0.0, 1.0, 21):  # the hand's poses along the straight approach
            at = grasp.position_m - t * params.standoff_m * grasp.approach
            hits = colliding_points(params.gripper, grasp.rotation, at, grasp.opening_m, shelf).sum()
            assert hits == 0, f"{hits} shelf points in the hand {t * params.standoff_m:.3f} m before the grasp"


def test_a_pan_is_lifted_by_its_handle_near_the_pan_not_at_the_handle_end():
    # The planner grasped the 18 cm handle at its end, 0.2 m from the 1 kg pan's centre: it tipped out (slipped).
    truth = ground_truth("tabletop", points_per_part=3000)
    prepared = prepare_query_cloud(scene_cloud_from_ground_truth(truth))
    assert_pan_handle_grasped_near_the_pan_and_lifted(truth, plan_query(prepared, encoder, "pan handle"))


def assert_pan_handle_grasped_near_the_pan_and_lifted(truth: dict, answer) -> None:
    """The answer to "pan handle" on `tabletop` lies within 0.15 m of the pan's body and lifts it in physics."""
    assert answer.success, answer.message
    object_id, _ = asked_target(truth, "pan handle")
    body = np.asarray(truth["objects"][object_id]["parts"]["body"]["points"]).reshape(-1, 3)
    lever = np.linalg.norm(answer.grasp.position_m[:2] - body.mean(axis=0)[:2])
    assert lever < 0.15, f"grasped {lever:.3f} m from the pan's centre"
    g = answer.grasp
    execution = execute_grasp("tabletop", object_id, g.rotation, g.position_m, g.opening_m, g.pre_grasp_position_m,
                              QueryParams().grasp.gripper, record=False)
    assert execution.outcome == "lifted", execution.message


def test_an_object_wider_than_the_opening_is_refused_and_the_refusal_says_why():
    body, normals = cylinder(0.06, 0.05)  # 12 cm across: the hand closes on at most 7.6 cm
    everything = np.ones(len(body), bool)
    grasps = plan_grasps(body, normals, everything.astype(float), everything, everything, everything, GraspParams())
    # Chords near its rim fit between the fingers; every pose around one pushes a finger into the rest of it,
    # and the refusal says it is too wide, then counts the poses by what they hit.
    assert grasps == [] and grasps.reason.startswith(
        f"it is 0.120 m across at its narrowest, more than the 0.076 m the fingers close on; {ALL_COLLIDE}"), \
        grasps.reason
    tally = re.search(r"\((\d+) poses checked: a finger in seen points (\d+)", grasps.reason)
    assert tally and int(tally.group(2)) > 0.5 * int(tally.group(1)), grasps.reason
    none = plan_grasps(body, normals, everything.astype(float), everything & False, everything, everything,
                       GraspParams())
    assert none == [] and none.reason not in (NO_PAIR, NO_POSE, ALL_COLLIDE, "")
