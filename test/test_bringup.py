"""`dff-grasp bringup` starts the same nodes as the launch file and SIGTERM stops every one of them."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from ros_helpers import PARAMS

from dff_grasp_ros.bringup import launch_plan

pytestmark = pytest.mark.ros


def test_launch_plan_mirrors_the_launch_arguments():
    plan = launch_plan(PARAMS, sim_scene="tiny", device="cpu", teacher="synthetic")
    assert list(plan) == ["sim_camera", "capture", "trainer", "query", "hand_eye"]
    assert all(cmd[1:3] == ["-m", f"dff_grasp_ros.nodes.{name}"] for name, cmd in plan.items())
    assert all(["--params-file", str(PARAMS)] == cmd[4:6] for cmd in plan.values())
    assert "scene:=tiny" in plan["sim_camera"] and "teacher:=synthetic" in plan["trainer"]
    assert "device:=cpu" in plan["trainer"] and "device:=cpu" in plan["query"]
    assert "sim_camera" not in launch_plan(PARAMS)


def test_a_plan_can_start_some_of_the_nodes_and_names_an_unknown_one():
    assert list(launch_plan(PARAMS, sim_scene="tiny", nodes=("capture", "query"))) == ["sim_camera", "capture",
                                                                                       "query"]
    with pytest.raises(ValueError, match="unknown node.*'camera'"):
        launch_plan(PARAMS, nodes=("capture", "camera"))


def test_sigterm_stops_every_node_and_leaves_no_orphans(tmp_path: Path, ros_env: dict[str, str]):
    from dff_grasp_ros.clients import query_object

    env = {**os.environ, **ros_env}
    bringup = subprocess.Popen([sys.executable, "-m", "dff_grasp_ros.cli", "bringup", "--sim", "tiny",
                                "--teacher", "synthetic", "--device", "cpu"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        os.environ.update(ros_env)
        reply = query_object("mug handle", timeout_s=60)  # the query node answers: the graph is up
        assert not reply.success and "no trained field" in reply.message
        nodes = psutil.Process(bringup.pid).children(recursive=True)
        names = {" ".join(p.cmdline()) for p in nodes}
        for node in ("sim_camera", "capture", "trainer", "query", "hand_eye"):
            assert any(f"dff_grasp_ros.nodes.{node}" in cmd for cmd in names), names
        bringup.send_signal(signal.SIGTERM)
        assert bringup.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(nodes, timeout=10)
        assert alive == [], f"orphans after SIGTERM: {[p.cmdline() for p in alive]}"
    finally:
        if bringup.poll() is None:
            os.killpg(bringup.pid, signal.SIGKILL)
            bringup.wait()
        time.sleep(0.1)
