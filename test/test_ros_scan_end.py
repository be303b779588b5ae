"""Capture ends when the scan ends (sim_camera's ScanStatus, capture's until_scan_done), over DDS.

The goal asks for far more views than the scan has: a capture that waited for views that cannot come would run
into the client's deadline and fail this test.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from ros_helpers import logs, small_scene_file, start_nodes

from dff_grasp_ros.process_group import ProcessGroup

pytestmark = pytest.mark.ros
SCAN_VIEWS = 12


def capture_until_scan_done(results: dict, feedback: threading.Event) -> None:
    from dff_grasp.action import CaptureViews
    from dff_grasp_ros import names
    from dff_grasp_ros.clients import run_action

    goal = CaptureViews.Goal(num_views=1000, timeout_s=0.0, until_scan_done=True)
    try:
        results["result"] = run_action(CaptureViews, names.CAPTURE_VIEWS_ACTION, goal, timeout_s=120.0,
                                       on_feedback=lambda _: feedback.set(), server_wait_s=60.0)
    except Exception as err:  # reported by the test thread
        results["error"] = err
    results["finished"] = time.monotonic()


def test_capture_stops_when_the_scan_is_done(tmp_path: Path, ros_env: dict[str, str]):
    from dff_grasp_ros.dataset import load_dataset

    os.environ.update(ros_env)
    scene = small_scene_file(tmp_path, base="tiny", width=128, views=SCAN_VIEWS)
    log_dir = tmp_path / "logs"
    with ProcessGroup() as group:
        start_nodes(group, {"capture": {"datasets_dir": str(tmp_path / "datasets"), "min_views": 4}}, ros_env,
                    log_dir)
        results: dict = {}
        feedback = threading.Event()
        client = threading.Thread(target=capture_until_scan_done, args=(results, feedback), daemon=True)
        client.start()
        assert feedback.wait(60.0), "the capture goal never started" + logs(log_dir)
        # The scan starts once the capture listens, as an arm driver's would after the capture goal.
        start_nodes(group, {"sim_camera": {"scene": str(scene), "rate_hz": 10.0, "loop": False}}, ros_env, log_dir)
        client.join(150.0)
        assert "error" not in results, f"{results.get('error')}" + logs(log_dir)
        result = results["result"]
        assert result.success, result.message + logs(log_dir)
        assert "the scan is done (12 of 12 poses visited)" in result.message
        assert result.views_kept >= SCAN_VIEWS - 2  # every pose once (a near-duplicate may be skipped)
        assert len(load_dataset(Path(result.dataset_path)).frames) == result.views_kept
        # The goal came before the camera: the capture waited for it and reads it as it publishes (reliably).
        capture_log = (log_dir / "capture.log").read_text()
        assert "waiting for a camera to publish" in capture_log, logs(log_dir)
        assert "reading the camera reliably" in capture_log, logs(log_dir)

        # A second capture after the scan has ended: nothing more can come, so it ends within the quiet time and
        # says why, instead of waiting.
        started = time.monotonic()
        results.clear()
        late = threading.Thread(target=capture_until_scan_done, args=(results, threading.Event()), daemon=True)
        late.start()
        late.join(60.0)
        assert "error" not in results, f"{results.get('error')}" + logs(log_dir)
        assert results["finished"] - started < 20.0
        assert not results["result"].success
        assert "it ended before this capture began" in results["result"].message
        assert "nothing written" in results["result"].message
        assert group.poll_failed() == {}, logs(log_dir)
