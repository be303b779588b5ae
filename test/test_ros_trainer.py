"""The trainer node over DDS: feedback, a result with the checkpoint, field_ready to a separate subscriber,
and a trainer killed mid-run leaves the previous field served."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from conftest import orphan_shm_files, remove_orphan_shm_files, shm_files_in_use
from ros_helpers import logs, start_nodes

from dff_grasp_ros import names
from dff_grasp_ros.process_group import ProcessGroup

pytestmark = pytest.mark.ros


class FieldReadyListener:
    """Subscribes to /dff/field_ready (transient_local) in a background thread."""

    def __init__(self) -> None:
        self.received: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from rclpy.executors import SingleThreadedExecutor

        from dff_grasp.msg import FieldReady
        from dff_grasp_ros.clients import ros_node
        from dff_grasp_ros.nodes.common import latched_qos

        with ros_node("field_ready_listener") as node:
            node.create_subscription(FieldReady, names.FIELD_READY_TOPIC, self.received.append, latched_qos())
            executor = SingleThreadedExecutor(context=node.context)
            executor.add_node(node)
            while not self._stop.is_set():
                executor.spin_once(timeout_sec=0.1)
            executor.remove_node(node)

    def wait_for(self, count: int, timeout_s: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(self.received) >= count

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_train_field_goal_feedback_result_and_field_ready(tmp_path: Path, ros_env: dict[str, str]):
    from dff_grasp.action import TrainField
    from dff_grasp_ros.clients import run_action
    from dff_grasp_ros.scene_cloud import is_complete_field, newest_field
    from dff_grasp_ros.synthetic import load_scene, render_dataset

    shm_before = set(os.listdir("/dev/shm"))
    datasets, fields = tmp_path / "datasets", tmp_path / "fields"
    dataset = render_dataset(load_scene("tiny"), datasets)
    os.environ.update(ros_env)
    # cpu_threads overrides torch's default (OMP_NUM_THREADS=2 here)
    trainer = {"datasets_dir": str(datasets), "fields_dir": str(fields), "teacher": "synthetic",
               "method": "dff-tiny", "device": "cpu", "steps": 20, "cpu_threads": 1}
    listener = FieldReadyListener()
    try:
        with ProcessGroup() as group:
            start_nodes(group, {"trainer": trainer}, {**ros_env, "OMP_NUM_THREADS": "2"}, tmp_path / "logs")
            feedback = []
            result = run_action(TrainField, names.TRAIN_FIELD_ACTION, TrainField.Goal(), timeout_s=600,
                                on_feedback=feedback.append)
            assert result.success, result.message + logs(tmp_path / "logs")
            assert "device cpu (1 CPU threads)" in (tmp_path / "logs" / "trainer.log").read_text()
            assert is_complete_field(Path(result.checkpoint_path))
            assert any(fb.phase == "training" and fb.step > 0 and fb.total_steps == 20 for fb in feedback)
            views = len(json.loads((dataset / "transforms.json").read_text())["frames"])
            assert any(fb.phase == "teacher_features" and 0 < fb.step <= views and fb.total_steps == views
                       for fb in feedback), "no feedback while the teachers ran"
            assert listener.wait_for(1), "field_ready never reached the separate subscriber"
            ready = listener.received[0]
            assert ready.field_path == result.checkpoint_path and ready.dataset_path == str(dataset)
            assert ready.language_teacher == "synthetic" and ready.num_points > 100

            # A long second run killed at its first training step: the first field stays the newest complete one.
            def kill_when_training(fb) -> None:
                if fb.phase == "training" and fb.step > 0:
                    os.killpg(group.procs["trainer"].pid, signal.SIGKILL)
                    raise TrainerKilled

            with pytest.raises(TrainerKilled):
                run_action(TrainField, names.TRAIN_FIELD_ACTION, TrainField.Goal(max_steps=100_000), timeout_s=120,
                           on_feedback=kill_when_training)
        assert newest_field(fields) == Path(result.checkpoint_path)
        assert [p.name for p in fields.iterdir() if is_complete_field(p)] == [Path(result.checkpoint_path).name]
    finally:
        listener.stop()
    remove_orphan_shm_files(shm_before)  # what conftest does at the end of every run
    leftover = orphan_shm_files(set(os.listdir("/dev/shm")), shm_before, shm_files_in_use())
    assert not leftover, f"orphaned DDS files in /dev/shm: {leftover}"


class TrainerKilled(Exception):
    """Raised from the feedback callback to stop waiting for a result that cannot come."""
