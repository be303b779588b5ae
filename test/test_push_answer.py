"""A refusal that offers a push, on the ROS and CLI side: the QueryObject response's push fields, the JSON's
"push", the PushPlan the clearing loop reads back, and the markers RViz draws for it."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from visualization_msgs.msg import Marker

from dff_grasp.srv import QueryObject
from dff_grasp_ros.clients import push_plan, response_to_json
from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.push import PushPlan
from dff_grasp_ros.query.pipeline import QueryParams, QueryResult
from dff_grasp_ros.ros_io.pose import pose_to_matrix
from dff_grasp_ros.ros_io.query_response import fill_response

SERVED = SimpleNamespace(base_frame="base_link")
TILT = np.radians(25.0)
# Closing axis along -x, the approach leaning 25 degrees towards -y (a wall there), as the planner pushes by a wall.
ROTATION = np.column_stack([[0.0, -np.cos(TILT), np.sin(TILT)], [-1.0, 0.0, 0.0],
                            [0.0, -np.sin(TILT), -np.cos(TILT)]])
PLAN = PushPlan(ROTATION, np.array([-0.02, -0.10, 0.11]), np.array([-0.02, -0.145, 0.018]),
                np.array([-0.02, -0.078, 0.018]), 0.067, "the seen surface 2.9 cm to -y")


def refusal(push: PushPlan | None) -> QueryResult:
    return QueryResult(False, "found the orange screwdriver but no collision-free grasp", push=push)


def test_a_refusal_that_offers_a_push_carries_its_three_poses_and_the_loop_reads_them_back():
    response = fill_response(QueryObject.Response(), refusal(PLAN), SERVED, 1000, stamp_ns=5)
    assert not response.success and response.push_suggested
    for pose, where in ((response.pre_push_pose, PLAN.pre_push_position_m),
                        (response.push_start_pose, PLAN.start_position_m),
                        (response.push_end_pose, PLAN.end_position_m)):
        matrix = pose_to_matrix(pose.pose)
        np.testing.assert_allclose(matrix[:3, 3], where, atol=1e-6)
        np.testing.assert_allclose(matrix[:3, :3], ROTATION, atol=1e-6)
        assert pose.header.frame_id == "base_link"
    out = response_to_json(response)
    assert out["grasp"] is None and out["push"]["distance_m"] == 0.067
    np.testing.assert_allclose(out["push"]["start_position_m"], PLAN.start_position_m, atol=1e-6)
    back = push_plan(response)
    np.testing.assert_allclose(back.rotation, ROTATION, atol=1e-6)
    np.testing.assert_allclose(back.end_position_m, PLAN.end_position_m, atol=1e-6)
    assert abs(back.distance_m - 0.067) < 1e-6


def test_a_refusal_without_a_push_offers_none():
    response = fill_response(QueryObject.Response(), refusal(None), SERVED, 1000, stamp_ns=5)
    assert not response.push_suggested and "push" not in response_to_json(response) and push_plan(response) is None


def test_the_markers_of_a_push_draw_the_closed_hand_at_its_start_and_an_arrow_along_the_stroke():
    from dff_grasp_ros.nodes.query import answer_markers

    markers = answer_markers(None, QueryParams(), "base_link", 3, push=PLAN).markers
    assert markers[0].action == Marker.DELETEALL
    cubes = [m for m in markers if m.type == Marker.CUBE]
    assert len(cubes) == len([k for k in ParallelJawGripper().boxes(0.0) if k != "closing"])
    (arrow,) = [m for m in markers if m.type == Marker.ARROW and m.action == Marker.ADD]
    np.testing.assert_allclose([[p.x, p.y, p.z] for p in arrow.points], [PLAN.start_position_m, PLAN.end_position_m])
    assert len({(m.ns, m.id) for m in markers[1:]}) == len(markers) - 1  # no marker replaces another
    assert answer_markers(None, QueryParams(), "base_link", 3).markers == markers[:1]


def test_the_viewer_draws_the_closed_hand_and_the_stroke_of_a_push_offer():
    from dff_grasp_ros.viewer.app import GraspViewer, describe

    drawn: dict[str, object] = {}
    viewer = GraspViewer.__new__(GraspViewer)  # no viser server: a stand-in scene records what is drawn
    viewer.viser = SimpleNamespace(scene=SimpleNamespace(
        add_box=lambda name, dimensions, **kwargs: drawn.update({name: dimensions}),
        add_spline_catmull_rom=lambda name, positions, **kwargs: drawn.update({name: np.asarray(positions)}),
        remove_by_name=lambda name: drawn.pop(name)))
    viewer.server = SimpleNamespace(params=QueryParams())
    viewer._gripper_names = []
    viewer.draw_gripper(refusal(PLAN))
    boxes = {k: v for k, v in ParallelJawGripper().boxes(0.0).items() if k != "closing"}
    assert {name for name in drawn if name != "/push/stroke"} == {f"/push/{part}" for part in boxes}
    np.testing.assert_allclose(drawn["/push/stroke"], [PLAN.start_position_m, PLAN.end_position_m])
    assert "**push**" in describe(refusal(PLAN)) and "6.7 cm" in describe(refusal(PLAN))
    viewer.draw_gripper(refusal(None))  # the next answer offers none: the push goes
    assert drawn == {} and "push" not in describe(refusal(None))
