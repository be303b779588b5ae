"""The physics judge (MuJoCo) can fail: a planned grasp lifts, the same grasp moved or turned does not, an approach
through a neighbour or a tote wall collides, and the object asked for comes from the prompt, never from the grasp.

The grasp under test is the one the planner gives for "mug handle" on an ideal cloud of ``tabletop`` (query logic
alone: ground-truth points with the synthetic teacher's features).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dff_grasp_ros.query.pipeline import QueryParams, plan_query
from dff_grasp_ros.synthetic import ground_truth, load_scene, vocabulary
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth
from dff_grasp_ros.synthetic.judge import EVALUATION_POINTS_PER_PART, asked_target
from dff_grasp_ros.synthetic.physics import OUTCOMES, execute_answer, execute_grasp

MUG, BOTTLE, KNIFE, PAN = 0, 3, 2, 1  # object ids in tabletop.yaml


encode = vocabulary.embed_phrases


@pytest.fixture(scope="module")
def planned():
    truth = ground_truth("tabletop", points_per_part=EVALUATION_POINTS_PER_PART)
    cloud = scene_cloud_from_ground_truth(truth)
    grasps = {}
    for prompt, object_id in (("mug handle", MUG), ("knife handle", KNIFE)):
        result = plan_query(cloud, encode, prompt, QueryParams())
        assert result.success, result.message
        assert asked_target(truth, prompt) == (object_id, "handle")
        grasps[prompt] = result.grasp
    return grasps


@pytest.fixture(scope="module")
def mug_handle_grasp(planned):
    return planned["mug handle"]


def test_the_planned_mug_handle_grasp_lifts_the_mug(mug_handle_grasp):
    g = mug_handle_grasp
    execution = execute_grasp("tabletop", MUG, g.rotation, g.position_m, g.opening_m)
    assert execution.outcome == "lifted", execution.message
    assert execution.held_after_closing and execution.rise_m[MUG] >= 0.08
    assert max(r for i, r in enumerate(execution.rise_m) if i != MUG) < 0.01
    assert [s.label for s in execution.snapshots] == ["approach", "closed", "lifted"]


def test_the_same_grasp_6_cm_higher_closes_on_air(mug_handle_grasp):
    g = mug_handle_grasp
    execution = execute_grasp("tabletop", MUG, g.rotation, g.position_m + [0.0, 0.0, 0.06], g.opening_m)
    assert execution.outcome == "missed", execution.message
    assert execution.closed_opening_m < 0.002  # the fingers met each other


def test_the_grasp_turned_90_degrees_about_its_approach_does_not_lift(mug_handle_grasp):
    g = mug_handle_grasp
    turned = g.rotation @ Rotation.from_euler("z", 90, degrees=True).as_matrix()
    execution = execute_grasp("tabletop", MUG, turned, g.position_m, g.opening_m)
    assert execution.outcome != "lifted", execution.message


def test_an_approach_through_a_neighbour_collides(mug_handle_grasp):
    g = mug_handle_grasp
    scene = load_scene("tabletop")
    bottle_middle = np.array([*scene.objects[BOTTLE].position_m, 0.12])
    start_beyond_bottle = g.position_m + 2.0 * (bottle_middle - g.position_m)  # the straight path crosses it
    execution = execute_grasp("tabletop", MUG, g.rotation, g.position_m, g.opening_m,
                              pre_grasp_position_m=start_beyond_bottle)
    assert execution.outcome == "collided", execution.message
    assert scene.object_label(BOTTLE) in execution.touched_before_closing
    assert len(execution.snapshots) == 1  # the run stops at the collision


def test_a_grasp_on_another_object_lifts_the_other_not_the_asked_one(planned):
    g = planned["knife handle"]
    as_asked = execute_grasp("tabletop", KNIFE, g.rotation, g.position_m, g.opening_m, record=False)
    assert as_asked.outcome == "lifted", as_asked.message
    asked_mug = execute_grasp("tabletop", MUG, g.rotation, g.position_m, g.opening_m, record=False)
    assert asked_mug.outcome == "lifted_other", asked_mug.message
    assert "knife" in asked_mug.message


def test_a_heavy_pan_held_at_the_end_of_its_handle_tips_out_of_the_grip():
    pan = load_scene("tabletop").objects[PAN]
    yaw = np.radians(pan.yaw_deg)
    along = np.array([np.cos(yaw), np.sin(yaw), 0.0])  # +x of the pan: towards the handle's end
    handle_end = np.array([*pan.position_m, 0.035]) + 0.19 * along  # 0.2 m from the pan's centre of mass
    top_down = np.column_stack([along, np.cross([0.0, 0.0, -1.0], along), [0.0, 0.0, -1.0]])
    execution = execute_grasp("tabletop", PAN, top_down, handle_end, 0.04, record=False)
    assert execution.outcome == "slipped", execution.message
    assert execution.held_after_closing


def test_tote_walls_stop_the_hand():
    scene = load_scene("bin")
    red_mug = next(i for i, o in enumerate(scene.objects) if o.type == "mug" and o.color == "red")
    mug_x, mug_y = scene.objects[red_mug].position_m
    # Horizontally from outside the +x wall, closing axis horizontal (the palm clears the table).
    towards_minus_x = np.column_stack([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    grasp = np.array([mug_x + 0.045, mug_y, 0.05])
    execution = execute_grasp(scene, red_mug, towards_minus_x, grasp, 0.06, pre_grasp_position_m=grasp + [0.25, 0, 0])
    assert execution.outcome == "collided", execution.message
    assert execution.touched_before_closing == ("tote wall",)


def test_an_answer_is_executed_on_the_object_its_prompt_names(mug_handle_grasp):
    g = mug_handle_grasp
    quaternion = Rotation.from_matrix(g.rotation).as_quat().tolist()
    answer = {"success": True, "prompt": "red mug handle",
              "grasp": {"position_m": g.position_m.tolist(), "quaternion_xyzw": quaternion, "width_m": g.width_m,
                        "opening_m": g.opening_m,
                        "pre_grasp_position_m": (g.position_m - 0.1 * g.rotation[:, 2]).tolist()}}
    execution = execute_answer("tabletop", answer, record=False)
    assert execution.outcome in OUTCOMES and execution.asked_object_id == MUG and execution.lifted
    assert execute_answer("tabletop", answer, prompt="knife handle", record=False).outcome == "lifted_other"
    with pytest.raises(ValueError, match="no prompt"):
        execute_answer("tabletop", {**answer, "prompt": None})
    with pytest.raises(ValueError, match="names no object"):
        execute_answer("tabletop", answer, prompt="banana")
    with pytest.raises(ValueError, match="no grasp"):
        execute_answer("tabletop", {"success": False, "grasp": None, "prompt": "mug handle"})
