"""Malformed parameter files and overrides: `dff-grasp bringup` refuses them before starting any node (one line
naming the file, node and parameter); a node started on one exits 2 with one line; a node that cannot start
under bringup is named with its reason."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from bad_inputs import refused, run_cli
from ros_helpers import PARAMS

import dff_grasp_ros.bringup as bringup
from dff_grasp_ros.nodes.param_file import check_params_file
from dff_grasp_ros.nodes.params import NODE_PARAM_TYPES, NODE_PARAMS
from dff_grasp_ros.process_group import ProcessGroup

BAD_FILES = {
    "not yaml": ("trainer:\n  ros__parameters:\n    steps: [1, 2\n", "not valid YAML (line 4"),
    "tab indented": ("trainer:\n\tros__parameters: {}\n", "not valid YAML"),
    "a list": ("- trainer\n- query\n", "expected a mapping of node names, got list"),
    "node holds a scalar": ("trainer: 5\n", "trainer holds int 5"),
    "parameters are a list": ("trainer:\n  ros__parameters: [steps]\n", "ros__parameters must be a mapping"),
    "wrong type": ("trainer:\n  ros__parameters:\n    steps: abc\n", "trainer.steps must be int, got str 'abc'"),
    "out of range": ("trainer:\n  ros__parameters:\n    steps: -5\n", "trainer.steps must be >= 0, got -5"),
    "bad choice": ("trainer:\n  ros__parameters:\n    method: huge\n", "trainer.method must be one of dff, dff-tiny"),
    "unknown name": ("trainer:\n  ros__parameters:\n    stepz: 5\n",
                     "trainer has no parameter 'stepz'; did you mean 'steps'?"),
    # before 2026-12-03 (bad-input hunt) bringup started every node and none read these blocks
    "unknown node block": ("query_nodee:\n  ros__parameters:\n    max_candidates: 3\n",
                           "block 'query_nodee' is for no node bringup starts (its nodes are capture, trainer, "
                           "query, hand_eye, sim_camera); did you mean 'query'?"),
    "namespaced node block": ("robot:\n  query:\n    ros__parameters:\n      max_candidates: 3\n",
                              "block 'robot/query' is for no node bringup starts"),
    "nan": ("query:\n  ros__parameters:\n    table_z_m: .nan\n", "query.table_z_m must be finite"),
    "bool as int": ("capture:\n  ros__parameters:\n    min_views: true\n", "capture.min_views must be int, got bool"),
    "wildcard wrong type": ("/**:\n  ros__parameters:\n    base_frame: 5\n", "base_frame must be str, got int 5"),
    "duplicate name": ("trainer:\n  ros__parameters:\n    steps: 5\n    steps: 500000\n",
                       "not valid YAML (line 4, column 5): the key 'steps' is given twice"),
    "nested too deep": ("[" * 5000 + "]" * 5000, "nested too deeply"),
    # before 2026-12-02 these passed: the capture goal then failed subscribing (InvalidTopicNameException), an
    # empty base frame named every pose, an empty folder wrote fields into the node's working directory
    "topic with a space": ("capture:\n  ros__parameters:\n    image_topic: camera image\n",
                           "capture.image_topic must be a ROS topic name"),
    "topic ending in a slash": ("/**:\n  ros__parameters:\n    depth_topic: /camera/depth/\n",
                                "depth_topic must be a ROS topic name"),
    "empty frame": ("capture:\n  ros__parameters:\n    base_frame: ''\n", "capture.base_frame must be a frame id"),
    "empty folder": ("trainer:\n  ros__parameters:\n    fields_dir: ''\n", "trainer.fields_dir must name a folder"),
    "nested name": ("query:\n  ros__parameters:\n    gripper:\n      width: 1\n", "no parameter 'gripper.width'"),
    # before 2026-12-03 (third bad-input hunt) an alias passed, every node started and each died in rclpy.init
    # ("Will not support aliasing"); one that holds itself ended bringup in an unexpected RecursionError
    "an alias": ("capture:\n  ros__parameters:\n    min_views: &m 5\nhand_eye:\n  ros__parameters:\n"
                 "    min_views: *m\n", "line 6, column 16): an alias (*m); rcl, which reads parameter files, "
                                        "does not support them"),
    "an alias that holds itself": ("query:\n  ros__parameters: &p\n    a: *p\n", "line 3, column 8"),
    # YAML 1.1 (PyYAML) reads these as numbers, rcl as strings: they passed, every node started and the node then
    # died "must be int, got str '1_000'" (before 2026-12-03, third bad-input hunt)
    "an integer with underscores": ("query:\n  ros__parameters:\n    max_candidates: 1_000\n",
                                    "query.max_candidates must be int, got str '1_000'"),
    "a sexagesimal integer": ("trainer:\n  ros__parameters:\n    steps: 1:30\n", "must be int, got str '1:30'"),
    "a binary integer": ("trainer:\n  ros__parameters:\n    steps: 0b101\n", "must be int, got str '0b101'"),
    "a float with underscores": ("query:\n  ros__parameters:\n    table_z_m: 0_0.5\n", "got str '0_0.5'"),
    # before 2026-12-03 (third bad-input hunt) the literal '$DFF_UNSET_FOLDER_VAR/fields' under the node's working
    # directory took the fields, and '~no_such_user_dff/...' likewise
    "a folder naming an unset variable": ("trainer:\n  ros__parameters:\n    fields_dir: $DFF_UNSET_FOLDER_VAR/f\n",
                                          "trainer.fields_dir names $DFF_UNSET_FOLDER_VAR, which is not set"),
    "a folder in the home of no such user": ("/**:\n  ros__parameters:\n    datasets_dir: ~no_such_user_dff/d\n",
                                             "datasets_dir names ~no_such_user_dff, a user who does not exist"),
    "a node block that holds itself": ("capture: &c\n  ros__parameters: {min_views: 5}\n  x: *c\n",
                                       "line 3, column 6"),
    "an unknown end effector": ("query:\n  ros__parameters:\n    end_effectors: [parallel_jaw, suctoin]\n",
                                "query.end_effectors must name only parallel_jaw, suction, got 'suctoin'"),
    "one end effector not in a list": ("query:\n  ros__parameters:\n    end_effectors: suction\n",
                                       "query.end_effectors must be a list of strings, got str 'suction'"),
    "an end effector twice": ("query:\n  ros__parameters:\n    end_effectors: [suction, suction]\n",
                              "query.end_effectors must name each at most once"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bringup_refuses_a_bad_parameter_file_before_starting_anything(capsys, tmp_path: Path, monkeypatch,
                                                                       case: str):
    text, says = BAD_FILES[case]
    params = tmp_path / "params.yaml"
    params.write_text(text)
    monkeypatch.setattr(bringup, "start", _never_started)
    refused(capsys, "bringup", "--params", params, names=(str(params), says))


def _never_started(*args, **kwargs):
    raise AssertionError("a node was started")


def test_bringup_refuses_a_missing_parameter_file(capsys, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(bringup, "start", _never_started)
    missing = tmp_path / "nope.yaml"
    refused(capsys, "bringup", "--params", missing, names=(str(missing), "does not exist"))


@pytest.mark.parametrize(("scene", "says"), [("kitchen", "no scene file or built-in scene called 'kitchen'"),
                                             ("scene.yaml", "unknown key(s) ['lights']")])
def test_bringup_refuses_a_sim_scene_it_cannot_load_before_starting_anything(capsys, tmp_path: Path, monkeypatch,
                                                                             scene: str, says: str):
    """Before 2026-12-02 every node started and the sim camera then died on the scene."""
    monkeypatch.setattr(bringup, "start", _never_started)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scene.yaml").write_text("name: mine\nlights: 3\n")
    refused(capsys, "bringup", "--sim", scene, names=(says,))


def test_bringup_refuses_a_bad_device_choice(capsys, monkeypatch):
    monkeypatch.setattr(bringup, "start", _never_started)
    refused(capsys, "bringup", "--device", "tpu", names=("invalid choice: 'tpu'", "dff-grasp bringup --help"))


def test_bringup_refuses_cuda_without_a_gpu_before_starting_anything(capsys, monkeypatch):
    """Before 2026-12-03 (third bad-input hunt) every node started, then the query node stopped ("device 'cuda'
    requested but CUDA is not available") and bringup stopped the others: five lines, exit 1."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(bringup, "start", _never_started)
    refused(capsys, "bringup", "--device", "cuda", names=("--device cuda", "CUDA is not available"))


@pytest.mark.parametrize("block", ["query", "trainer", "/**"])
def test_bringup_refuses_a_parameter_file_asking_for_cuda_without_a_gpu(capsys, tmp_path: Path, monkeypatch,
                                                                        block: str):
    """The same from a parameter file's `device: cuda` (before 2026-12-03 every node started first)."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(bringup, "start", _never_started)
    params = tmp_path / "params.yaml"
    params.write_text(f"{block}:\n  ros__parameters:\n    device: cuda\n")
    refused(capsys, "bringup", "--params", params, names=(str(params), "device", "CUDA is not available"))


def test_the_shipped_file_and_what_ros_accepts_pass(tmp_path: Path):
    check_params_file(PARAMS, NODE_PARAM_TYPES)
    lenient = tmp_path / "rcl_spellings.yaml"  # spellings rcl reads as numbers/bools where YAML 1.1 sees strings
    lenient.write_text("sim_camera:\n  ros__parameters:\n    rate_hz: 1e1\n    loop: yes\n    publish_tf: Y\n"
                       "    camera_mount_x_m: -.5e-1\n"
                       "capture:\n  ros__parameters:\n    sync_slop_s: .5e-1\n"
                       "trainer:\n  ros__parameters:\n    steps: 0x10\n"
                       "/**:\n  ros__parameters:\n    use_sim_time: false\n    other_nodes_param: 3\n")
    check_params_file(lenient, NODE_PARAM_TYPES)


# What rclpy (Kilted wheels) gave a node for these plain scalars of a parameter file (measured 2026-12-03).
RCL_READS = [("0x10", 16), ("017", 15), ("08", 8.0), ("+5", 5), ("0o17", "0o17"), ("1_000", "1_000"),
             ("1:30", "1:30"), ("0b101", "0b101"), ("1_0.5", "1_0.5"), ("Y", True), ("n", False), ("yEs", "yEs"),
             ("oN", "oN"), ("~", "~"), ("null", "null"), ("1e3", 1000.0), ("1.", 1.0), ("-.5", -0.5), ("5e", "5e"),
             ("Infinity", float("inf")), ("-.Inf", float("-inf")), ("0x1p3", 8.0), ("1e400", "1e400"),
             ("1e-310", "1e-310"), ("-1e-400", "-1e-400"), ("0e5", 0.0),
             ("2.2250738585072014e-308", 2.2250738585072014e-308),
             ("9223372036854775808", 9.223372036854776e18)]


@pytest.mark.parametrize(("text", "rcl"), RCL_READS, ids=[t for t, _ in RCL_READS])
def test_plain_scalars_are_read_as_rcl_reads_them(text: str, rcl):
    from dff_grasp_ros.nodes.param_file import rcl_scalar

    value = rcl_scalar(text)
    assert type(value) is type(rcl) and value == rcl, (text, value)


def test_ros_own_parameters_pass_and_a_misspelt_name_is_named_with_the_closest_one():
    from dff_grasp_ros.nodes.param_file import ParameterFileError, check_overrides, param_overrides_in
    from dff_grasp_ros.nodes.params import QueryNodeParams

    argv = ["query", "--ros-args", "-p", "use_sim_time:=true", "--param", "qos_overrides./dff/relevancy_cloud."
            "publisher.depth:=5", "-p", "start_type_description_service:=false", "-p", "query:max_candidates:=3",
            "-p", "trainer:stepz:=5", "--", "-p", "not_a_ros_arg"]
    names = param_overrides_in(argv, "query")
    assert names == ["use_sim_time", "qos_overrides./dff/relevancy_cloud.publisher.depth",
                     "start_type_description_service", "max_candidates"]  # trainer's is rcl's to ignore here
    check_overrides("query", names, QueryNodeParams)
    with pytest.raises(ParameterFileError) as refused_:
        check_overrides("query", param_overrides_in(["query", "--ros-args", "-p", "max_candidate:=3"], "query"),
                        QueryNodeParams)
    assert str(refused_.value) == "-p max_candidate: query has no parameter 'max_candidate'; did you mean " \
                                  "'max_candidates'?"
    with pytest.raises(ParameterFileError, match=r"query has no parameter 'zzz'; it has base_frame, fields_dir, "):
        check_overrides("query", ["zzz"], QueryNodeParams)  # nothing close: every name


@pytest.mark.ros
def test_the_standard_parameters_are_those_rclpy_declares_on_every_node(ros_env: dict[str, str], monkeypatch):
    """What the unknown-name check lets through besides a node's own parameters: exactly rclpy's."""
    from dff_grasp_ros.clients import ros_node
    from dff_grasp_ros.nodes.param_file import STANDARD_PARAMS

    for key, value in ros_env.items():
        monkeypatch.setenv(key, value)
    with ros_node("bare_node") as node:
        assert sorted(node.list_parameters([], 10).names) == sorted(STANDARD_PARAMS)


@pytest.mark.ros
def test_a_node_refuses_a_misspelt_override_before_it_starts():
    """Before: `-p max_candidate:=3` was ignored by rclpy without a word and the node served with 10."""
    done = _node("query", PARAMS, "max_candidate:=3")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("[query]")]
    assert lines == ["[query] cannot start: -p max_candidate: query has no parameter 'max_candidate'; did you mean "
                     "'max_candidates'?"], done.stderr


def test_the_node_ranges_are_the_goal_limits():
    from dff_grasp_ros.goals import MAX_CAPTURE_VIEWS, MAX_TRAIN_STEPS

    specs = {(node, s.name): s for node, table in NODE_PARAMS.items() for s in table}
    assert specs[("trainer", "steps")].maximum == MAX_TRAIN_STEPS
    assert specs[("capture", "default_views")].maximum == MAX_CAPTURE_VIEWS


def _node(name: str, params: Path, *overrides: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", f"dff_grasp_ros.nodes.{name}", "--ros-args", "--params-file", str(params)]
    for override in overrides:
        cmd += ["-p", override]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=os.environ.copy())


@pytest.mark.ros
def test_a_node_on_a_bad_file_exits_2_with_one_line(tmp_path: Path):
    params = tmp_path / "params.yaml"
    params.write_text("query:\n  ros__parameters:\n    max_candidates: many\n")
    done = _node("query", params)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("[query]")]
    assert lines == [f"[query] cannot start: parameter file {params}: query.max_candidates must be int, got str "
                     "'many'"]


@pytest.mark.ros
def test_a_node_refuses_an_unknown_end_effector_in_one_line():
    done = _node("query", PARAMS, "end_effectors:=[parallel_jaw,vacuum]")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("[query]")]
    assert len(lines) == 1 and lines[0].startswith(
        "[query] cannot start: parameter query.end_effectors must name only parallel_jaw, suction, got 'vacuum' "
        f"(parameter files: {PARAMS}, or a -p override)"), done.stderr


@pytest.mark.ros
def test_a_node_with_a_wrong_type_override_names_the_parameter(tmp_path: Path):
    done = _node("query", PARAMS, "max_candidates:=many")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    line = [line for line in done.stderr.splitlines() if line.startswith("[query]")][-1]
    assert "query.max_candidates" in line and "must be int" in line and str(PARAMS) in line


@pytest.mark.ros
def test_bringup_names_the_node_that_cannot_start_and_why(tmp_path: Path, ros_env: dict[str, str]):
    """The trainer refuses an unknown teacher at start (here from a parameter file: `--teacher` is checked before
    any node starts); bringup says which node and why, stops the others."""
    env = {**os.environ, **ros_env}
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"trainer": {"ros__parameters": {"teacher": "gpt"}}}))
    with ProcessGroup() as group:
        proc = group.start("bringup", [sys.executable, "-m", "dff_grasp_ros.cli", "bringup", "--params", str(params),
                                       "--device", "cpu"], env=env, stdout=subprocess.PIPE)
        out, _ = proc.communicate(timeout=180)
    text = out.decode(errors="replace")
    assert proc.returncode == 1, text
    named = [line for line in text.splitlines() if line.startswith("dff-grasp bringup: node trainer")]
    assert named == ["dff-grasp bringup: node trainer exited with status 2: [trainer] cannot start: unknown teacher "
                     "'gpt'; choose one of ['clip', 'dino', 'synthetic', 'synthetic_dino']"], text
    assert "Traceback" not in text


def test_bringup_refuses_an_unknown_teacher_before_any_node_starts(capsys, monkeypatch):
    """`bringup --teacher nope` started every node, then the trainer died and the others were stopped: several
    lines and exit 1 (bad-input hunt)."""
    monkeypatch.setattr(bringup, "start", _never_started)
    run = run_cli(capsys, "bringup", "--teacher", "nope")
    assert run.code == 2 and run.line == ("dff-grasp bringup: --teacher: unknown teacher 'nope'; choose one of "
                                          "['clip', 'dino', 'synthetic', 'synthetic_dino']"), run.line


def test_an_in_process_bringup_failure_keeps_stdout_clean(capsys, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(bringup, "start", _never_started)
    params = tmp_path / "p.yaml"
    # 2 views: the capture would write a dataset that training refuses ("needs at least 3"): the scan lost
    params.write_text(yaml.safe_dump({"capture": {"ros__parameters": {"min_views": 2}}}))
    run = run_cli(capsys, "bringup", "--params", params)
    assert run.code == 2 and run.out == "" and "capture.min_views must be >= 3" in run.line


def test_pose_source_tf_without_tf2_ros_is_refused_with_the_parameter_named():
    """The pip world has no tf2_ros: "tf" cannot be served and says which parameter to change; "auto" and "topic"
    fall back to the pose topic (no buffer)."""
    from types import SimpleNamespace

    from dff_grasp_ros.nodes.common import tf_buffer

    if importlib.util.find_spec("tf2_ros") is not None:
        pytest.skip("tf2_ros is installed here: the fallback cannot be exercised")
    node = SimpleNamespace(NODE_NAME="capture")
    assert tf_buffer(node, "auto") == (None, None) and tf_buffer(node, "topic") == (None, None)
    with pytest.raises(RuntimeError, match=r"parameter capture\.pose_source is 'tf' but tf2_ros is not importable"):
        tf_buffer(node, "tf")


@pytest.mark.parametrize(("argv", "says"), [
    (["--dpi", "100000"], "--dpi must be a printer resolution between 72 and 2400, got 100000"),
    (["--dpi", "0"], "got 0"),
    (["--dpi", "1200", "--square-length-m", "0.5"], "megapixels"),
])
def test_write_board_refuses_an_absurd_resolution(capsys, tmp_path: Path, argv: list[str], says: str):
    """Before 2026-12-02 --dpi 100000 asked OpenCV for 868 GB ("unexpected" cv2.error), and --json printed
    nothing on a failure."""
    board = tmp_path / "board.png"
    run = refused(capsys, "calibrate", "--write-board", board, *argv, "--json", names=(says,))
    assert run.json() == {"success": False, "message": run.line.split(": ", 1)[1]}
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("argv", "says"), [
    (["--port", "70000"], "--port must be between 0 (any free port) and 65535, got 70000"),
    (["--port", "-1"], "got -1"),
    (["--host", "192.0.2.1"], "--host '192.0.2.1': cannot listen there"),  # TEST-NET-1: on no machine
])
def test_viewer_refuses_an_address_it_cannot_listen_on(capsys, tmp_path: Path, monkeypatch, argv, says):
    """Before 2026-12-02 viser's server thread died on these (OverflowError, EADDRNOTAVAIL) and the viewer waited
    for it forever, deaf to SIGTERM. Now refused before the field is even read."""
    import viser

    monkeypatch.setattr(viser, "ViserServer", _never_started)
    refused(capsys, "viewer", "--field", tmp_path / "no_field", *argv, names=(says,))
