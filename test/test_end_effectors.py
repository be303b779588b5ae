"""A second end effector (the suction cup) on the ROS and CLI side: the answer says which tool its pose is for, the
markers draw that tool, and the query node's ``end_effectors`` are checked wherever they are set."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from ros_helpers import PARAMS
from visualization_msgs.msg import Marker

from dff_grasp.srv import QueryObject
from dff_grasp_ros.clients import response_to_json
from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.planner import Grasp
from dff_grasp_ros.grasp.suction_cup import PARALLEL_JAW, SUCTION, SuctionCup
from dff_grasp_ros.nodes.params import NODE_PARAMS, QueryNodeParams
from dff_grasp_ros.query.pipeline import QueryParams, QueryResult
from dff_grasp_ros.ros_io.pose import pose_to_matrix
from dff_grasp_ros.ros_io.query_response import fill_response

DOWN_TCP = np.diag([1.0, -1.0, -1.0])  # x along base x, approach (+z) straight down


def grasp(end_effector: str, x_m: float, score: float) -> Grasp:
    jaws = end_effector == PARALLEL_JAW
    position = np.array([x_m, 0.0, 0.05])
    return Grasp(position_m=position, rotation=DOWN_TCP, width_m=0.04 if jaws else 0.0,
                 opening_m=0.05 if jaws else 0.0, score=score, relevancy=0.9, antipodality=1.0,
                 contacts_m=np.stack([position, position]), pre_grasp_position_m=position + [0.0, 0.0, 0.1],
                 end_effector=end_effector)


def answer(end_effector: str) -> QueryResult:
    best, second = grasp(end_effector, 0.4, 0.8), grasp(end_effector, 0.45, 0.6)
    return QueryResult(True, "found", grasp=best, candidates=[best, second], latency_s=0.01)


SERVED = SimpleNamespace(base_frame="base_link")  # no relevancy in the answers: only the frame is read


@pytest.mark.parametrize("end_effector", [SUCTION, PARALLEL_JAW])
def test_the_answer_json_says_which_tool_its_grasp_is_for(end_effector: str):
    response = fill_response(QueryObject.Response(), answer(end_effector), SERVED, 1000, stamp_ns=5)
    assert response.end_effector == end_effector
    out = response_to_json(response)
    assert out["grasp"]["end_effector"] == end_effector
    if end_effector == SUCTION:
        assert out["grasp"]["width_m"] == 0 and out["grasp"]["opening_m"] == 0
        assert [c["width_m"] for c in out["candidates"]] == [0, 0]


def test_a_refusal_names_no_tool():
    response = fill_response(QueryObject.Response(), QueryResult(False, "not found"), SERVED, 1000, stamp_ns=0)
    assert response.end_effector == "" and response_to_json(response)["grasp"] is None


def test_the_markers_of_a_suction_answer_draw_the_cup_where_the_planner_put_it():
    from dff_grasp_ros.nodes.query import answer_markers

    cup = SuctionCup(cup_radius_m=0.02, rod_length_m=0.2)
    params = QueryParams(end_effectors=(PARALLEL_JAW, SUCTION))
    params = QueryParams(end_effectors=params.end_effectors, suction=type(params.suction)(cup=cup))
    best = answer(SUCTION).grasp
    markers = answer_markers(best, params, "base_link", stamp_ns=7).markers
    assert markers[0].action == Marker.DELETEALL  # stale candidates go first
    cubes = [m for m in markers if m.type == Marker.CUBE]
    boxes = cup.boxes()
    assert len(cubes) == len(boxes) == 3
    for cube, (lower, upper) in zip(cubes, boxes.values()):
        np.testing.assert_allclose([cube.scale.x, cube.scale.y, cube.scale.z], upper - lower, atol=1e-12)
        centre = best.rotation @ ((lower + upper) / 2) + best.position_m
        np.testing.assert_allclose(pose_to_matrix(cube.pose)[:3, 3], centre, atol=1e-9)
    jaws = [m for m in answer_markers(answer(PARALLEL_JAW).grasp, params, "base_link", 0).markers
            if m.type == Marker.CUBE]
    assert len(jaws) == len([k for k in ParallelJawGripper().boxes(0.05) if k != "closing"])


def test_the_viewer_draws_the_cup_of_a_suction_answer():
    from dff_grasp_ros.viewer.app import GraspViewer, describe

    drawn: dict[str, tuple] = {}
    viewer = GraspViewer.__new__(GraspViewer)  # no viser server: a stand-in scene records the boxes
    viewer.viser = SimpleNamespace(scene=SimpleNamespace(
        add_box=lambda name, dimensions, **kwargs: drawn.update({name: dimensions}),
        remove_by_name=lambda name: drawn.pop(name)))
    viewer.server = SimpleNamespace(params=QueryParams())
    viewer._gripper_names = []
    viewer.draw_gripper(answer(SUCTION))
    boxes = SuctionCup().boxes()
    assert drawn == {f"/grasp/{part}": tuple(upper - lower) for part, (lower, upper) in boxes.items()}
    viewer.draw_gripper(answer(PARALLEL_JAW))  # the cup goes, the jaws come
    assert "/grasp/cup" not in drawn and "/grasp/palm" in drawn
    assert "end_effector = suction" in describe(answer(SUCTION))


def test_the_tool_model_of_each_end_effector():
    from dff_grasp_ros.end_effectors import tool_model

    assert isinstance(tool_model(SUCTION), SuctionCup) and isinstance(tool_model(PARALLEL_JAW), ParallelJawGripper)
    with pytest.raises(ValueError, match="unknown end effector 'vacuum'; the end effectors are parallel_jaw, suction"):
        tool_model("vacuum")


# --- the query node's parameters ------------------------------------------------------------------------------
def spec(name: str):
    return next(s for s in NODE_PARAMS["query"] if s.name == name)


@pytest.mark.parametrize("value, says", [
    (["parallel_jaw", "suctoin"], "must name only parallel_jaw, suction, got 'suctoin'"),
    ([], "must name at least one"),
    (["suction", "suction"], "must name each at most once, got ['suction', 'suction']"),
    ("suction", "must be a list of strings, got str 'suction'"),
    ([1], "must be a list of strings, got list [1]"),
])
def test_end_effectors_parameter_refuses_a_bad_value_in_one_line(value, says):
    problem = spec("end_effectors").check(value)
    assert problem is not None and says in problem and "\n" not in problem


def test_end_effectors_parameter_accepts_each_order():
    assert spec("end_effectors").default == ["parallel_jaw"]
    for value in (["parallel_jaw"], ["suction"], ["suction", "parallel_jaw"], ("parallel_jaw", "suction")):
        assert spec("end_effectors").check(value) is None


@pytest.mark.ros
def test_a_node_reads_the_end_effectors_bringup_sets_as_the_query_s_tuple():
    """``-p end_effectors:=[suction,parallel_jaw]`` as bringup writes it (:func:`bringup.node_command`)."""
    import rclpy
    from rclpy.context import Context

    from dff_grasp_ros.bringup import node_command
    from dff_grasp_ros.nodes.common import declare_parameters

    command = node_command("query", PARAMS, {"end_effectors": ["suction", "parallel_jaw"]})
    context = Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("query", context=context, cli_args=command[command.index("--ros-args"):])
        assert declare_parameters(node, QueryNodeParams).end_effectors == ("suction", "parallel_jaw")
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)


def test_the_suction_parameters_reach_the_query_and_their_defaults_are_the_library_s():
    from dff_grasp_ros.nodes.query import query_params

    library = QueryParams()
    assert query_params(QueryNodeParams()).suction == library.suction.__class__(
        cup=library.suction.cup, max_approach_tilt_rad=library.suction.max_approach_tilt_rad,
        standoff_m=0.10, max_grasps=10, table_z_m=0.0)
    p = QueryNodeParams(end_effectors=("suction", "parallel_jaw"), suction_cup_radius_m=0.02,
                        suction_lip_compliance_m=0.005, suction_rod_length_m=0.3, suction_vacuum_kpa=80.0,
                        suction_max_approach_tilt_deg=30.0, pre_grasp_standoff_m=0.05, max_candidates=4,
                        table_z_m=0.1)
    params = query_params(p)
    assert params.end_effectors == ("suction", "parallel_jaw")
    cup = params.suction.cup
    assert (cup.cup_radius_m, cup.lip_compliance_m, cup.rod_length_m, cup.vacuum_kpa) == (0.02, 0.005, 0.3, 80.0)
    assert params.suction.max_approach_tilt_rad == pytest.approx(math.radians(30.0))
    assert (params.suction.standoff_m, params.suction.max_grasps, params.suction.table_z_m) == (0.05, 4, 0.1)


# --- the CLI ------------------------------------------------------------------------------------------------------
def _never_started(*args, **kwargs):
    raise AssertionError("no node may start")


@pytest.mark.parametrize("argv, says", [
    (["bringup", "--end-effectors", "parallel_jaw", "vacuum"],
     "--end-effectors parallel_jaw vacuum: must name only parallel_jaw, suction, got 'vacuum'"),
    (["demo", "--end-effectors", "suction", "suction"],
     "--end-effectors suction suction: must name each at most once"),
    (["demo", "--clear", "--end-effectors", "jaws"], "--end-effectors jaws: must name only parallel_jaw, suction"),
])
def test_the_end_effectors_option_is_refused_in_one_line_before_anything_starts(capsys, monkeypatch, argv, says):
    from dff_grasp_ros import bringup, demo
    from dff_grasp_ros.cli import main

    monkeypatch.setattr(bringup, "start", _never_started)
    monkeypatch.setattr(demo, "start", _never_started)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err


@pytest.mark.parametrize("clear, option, wanted", [
    (False, None, None),  # the parameter file's: the jaws
    (True, None, ["parallel_jaw", "suction"]),
    (True, ["suction"], ["suction"]),
    (False, ["suction", "parallel_jaw"], ["suction", "parallel_jaw"]),
])
def test_the_demo_s_end_effectors(clear, option, wanted):
    from dff_grasp_ros.demo import demo_end_effectors, demo_plan

    chosen = demo_end_effectors(option, clear=clear)
    assert chosen == wanted
    command = demo_plan("tabletop", "cpu", "dff-tiny", cores=2, end_effectors=chosen)["query"]
    overrides = [command[i + 1] for i, arg in enumerate(command) if arg == "-p"]
    setting = [o for o in overrides if o.startswith("end_effectors:=")]
    assert setting == ([] if wanted is None else [f"end_effectors:=[{','.join(wanted)}]"])


def test_bringup_passes_the_end_effectors_to_the_query_node_only():
    from dff_grasp_ros.bringup import default_params_file, launch_plan

    plan = launch_plan(default_params_file(), end_effectors=["suction", "parallel_jaw"])
    assert "end_effectors:=[suction,parallel_jaw]" in plan["query"]
    assert not any("end_effectors" in arg for name, cmd in plan.items() if name != "query" for arg in cmd)
