"""A node signalled (Ctrl-C, SIGTERM) at any moment ends with status 0 and at most one line, never a traceback:
while it imports (torch, rclpy), while it is being built (its field loading), and while capture sends a goal's
feedback. Each case wrote a traceback, or exited 2 with a "cannot start" line, before (bad-input hunt)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bad_inputs import partials
from ros_helpers import PARAMS, logs, small_scene_file, start_nodes, wait_until

from dff_grasp_ros.nodes.start import node_module_in
from dff_grasp_ros.process_group import ProcessGroup


def _loaded(pid: int, library: str) -> bool:
    """Whether process ``pid`` has mapped ``library`` (its import has reached it)."""
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _ended_quietly(out: str, code: int, most_lines: int = 1) -> None:
    lines = out.strip().splitlines()
    assert code == 0 and "Traceback" not in out and len(lines) <= most_lines, f"status {code}:\n{out}"


@pytest.mark.ros
@pytest.mark.parametrize(("start", "library", "sig"), [
    ("-m trainer", "libtorch_cpu", signal.SIGINT),  # trainer imports torch at module level: ~3-12 s
    ("-m trainer", "libtorch_cpu", signal.SIGTERM),
    ("console script trainer", "libtorch_cpu", signal.SIGINT),
    ("-m query", "librcl.so", signal.SIGINT),  # rclpy loaded, the query node's own imports still running
], ids=["trainer-SIGINT", "trainer-SIGTERM", "trainer-console-script-SIGINT", "query-SIGINT"])
def test_a_signal_while_a_node_imports_ends_it_quietly(tmp_path: Path, ros_env: dict[str, str], start: str,
                                                       library: str, sig: int):
    """Before: a KeyboardInterrupt traceback (status -2) from inside torch's or scipy's import, or death by
    SIGTERM (status -15); the signal came before rclpy (and spin_node) could handle it."""
    node = start.split()[-1]
    ros_args = ["--ros-args", "--params-file", str(PARAMS)]
    if start.startswith("-m"):
        cmd = [sys.executable, "-m", f"dff_grasp_ros.nodes.{node}", *ros_args]
    else:  # what the console script (setup.cfg) runs
        cmd = [sys.executable, "-c", f"import sys; from dff_grasp_ros.nodes.start import {node}; sys.exit({node}())",
               *ros_args]
    proc = subprocess.Popen(cmd, env={**os.environ, **ros_env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        assert wait_until(lambda: _loaded(proc.pid, library) or proc.poll() is not None, 60.0, period_s=0.01)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    _ended_quietly(out, proc.returncode)


BUILD_SCRIPT = """
import os, signal, sys, time
from dff_grasp_ros.nodes.start import quiet_while_starting
quiet_while_starting()  # as `python -m dff_grasp_ros.nodes.query` has it from the package's __init__
import dff_grasp_ros.nodes.query as query


def stop_here():
    os.kill(os.getpid(), signal.SIGTERM)  # as `kill` while the node is being built
    time.sleep(0.5)  # rclpy's handler shuts the context down meanwhile


if sys.argv[2] == "loading its field":
    class Server(query.FieldServer):
        def __init__(self, *args, **kwargs):
            stop_here()
            super().__init__(*args, **kwargs)

    query.FieldServer = Server
elif sys.argv[2] == "as rclpy makes it":
    import warnings

    class Node(query.QueryNode):
        def __init__(self):
            stop_here()
            # What rclpy warns when the signal lands inside its C constructor of the node (1 in ~12 signals at the
            # right delay in a loop; not reproducible on purpose): the node is left half made.
            warnings.warn("Failed to fini rosout publisher: rcl node implementation is invalid", RuntimeWarning)
            super().__init__()

    query.QueryNode = Node
elif sys.argv[2] == "before it says ready":
    class Node(query.QueryNode):
        def reload_async(self, field_path):
            stop_here()
            super().reload_async(field_path)

    query.QueryNode = Node
else:
    class Node(query.QueryNode):
        def __init__(self):
            super().__init__()
            stop_here()

    query.QueryNode = Node
sys.exit(query.main(["query", "--ros-args", "--params-file", sys.argv[1]]))
"""


@pytest.mark.ros
@pytest.mark.parametrize("where", ["as rclpy makes it", "loading its field", "before it says ready",
                                   "as it is built"])
def test_sigterm_while_the_query_node_is_built_ends_it_quietly(tmp_path: Path, ros_env: dict[str, str],
                                                               where: str):
    """Before: "[query] cannot start: RCLError: Failed to create publisher: rcl node's context is invalid" and
    status 2 (while loading), or a traceback from the executor made on the shut-down context and a second one
    from its __del__, status 1 (once built); rclpy's RuntimeWarning "Failed to fini rosout publisher" (two lines)
    for a node it could not make, and the node's "ready" line followed by rcl's "Failed to publish log message to
    rosout"."""
    done = subprocess.run([sys.executable, "-c", BUILD_SCRIPT, str(PARAMS), where], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **ros_env})
    said_ready = where == "as it is built"  # its "ready" line came before the signal
    _ended_quietly(done.stdout + done.stderr, done.returncode, most_lines=1 if said_ready else 0)


def _interrupt_mid_goal(nodes: dict[str, dict], node: str, client_args: list[str], working: str,
                        ros_env: dict[str, str], log_dir: Path) -> tuple[int, str, int]:
    """Start ``nodes`` (name: parameters) and a client whose goal keeps ``node`` busy; once its log says
    ``working`` and a second has passed (a few feedback messages sent), Ctrl-C it. (Its exit status, its whole log,
    the log's length at the signal.)"""
    with ProcessGroup() as group:
        start_nodes(group, nodes, ros_env, log_dir)
        node_log = log_dir / f"{node}.log"
        # A suite run once failed below: the node, ready, never said ``working`` within 60 s (cause not found; the
        # client's output was not kept then). The client starts once the node is up, so that a slow start and a
        # lost goal are told apart, and its output is kept beside the nodes' logs.
        assert wait_until(lambda: "ready:" in node_log.read_text(), 120.0), logs(log_dir)
        # The client's output beside the nodes' logs: a failure shows what it said too.
        group.start("client", [sys.executable, "-m", "dff_grasp_ros.cli", *client_args], env=ros_env,
                    stdout=(log_dir / "client.log").open("w"))
        assert wait_until(lambda: working in node_log.read_text(), 60.0), logs(log_dir)
        time.sleep(1.0)
        logged = len(node_log.read_text())
        group.procs[node].send_signal(signal.SIGINT)
        code = group.procs[node].wait(timeout=60)
    return code, node_log.read_text(), logged


@pytest.mark.ros
def test_ctrl_c_to_capture_mid_goal_ends_it_quietly(tmp_path: Path, ros_env: dict[str, str]):
    """Before: capture's feedback publisher failed on the shut-down context, the goal's abort failed too, and rclpy
    printed both tracebacks from the executor thread, then "Failed to send result response" and rcl's "Failed to
    publish log message to rosout" lines. Now the views taken are dropped and nothing more is logged."""
    scene = small_scene_file(tmp_path, "tiny", width=160, views=48)
    log_dir = tmp_path / "logs"
    datasets = Path(ros_env["DFF_GRASP_HOME"]) / "datasets"
    code, text, logged = _interrupt_mid_goal(
        {"sim_camera": {"scene": str(scene), "rate_hz": 10.0}, "capture": {"min_views": 3}}, "capture",
        ["capture", "--views", "40"], "reading the camera", ros_env, log_dir)
    assert code == 0 and "Traceback" not in text and text[logged:].strip() == "", logs(log_dir)
    assert partials(datasets) == [] and not any(datasets.glob("*/transforms.json"))


@pytest.mark.ros
def test_ctrl_c_to_hand_eye_mid_calibration_ends_it_quietly(tmp_path: Path, ros_env: dict[str, str]):
    """The goal waits for a camera, sending feedback; before: "calibration failed: RCLError: Failed to publish
    feedback with an action server" (an error, logged as if the goal had failed) and rcl's "Failed to publish log
    message to rosout"."""
    log_dir = tmp_path / "logs"
    code, text, logged = _interrupt_mid_goal(
        {"hand_eye": {"calibration_dir": str(tmp_path / "calibration")}}, "hand_eye", ["calibrate", "--live"],
        "waiting for a camera", ros_env, log_dir)
    assert code == 0 and "Traceback" not in text and text[logged:].strip() == "", logs(log_dir)


def test_only_a_node_module_started_with_m_is_quiet_from_its_first_line():
    python = sys.executable
    assert node_module_in([python, "-m", "dff_grasp_ros.nodes.query", "--ros-args"]) == "query"
    assert node_module_in([python, "-X", "importtime", "-m", "dff_grasp_ros.nodes.hand_eye"]) == "hand_eye"
    assert node_module_in([python, "-m", "dff_grasp_ros.nodes.params"]) is None
    assert node_module_in([python, "-m", "dff_grasp_ros.cli", "bringup"]) is None
    assert node_module_in([python, "-m", "pytest", "test/test_node_shutdown.py"]) is None
    assert node_module_in([python, "-m"]) is None
