"""/calibrate_hand_eye over DDS: the simulated camera on a tool views a board on the table; the hand_eye node
collects views from the stream, solves, writes the YAML and then plans tool poses with it (/scan_poses)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from ros_helpers import logs, start_nodes

from dff_grasp_ros.process_group import ProcessGroup

pytestmark = pytest.mark.ros


def calibrate(results: dict, feedback: list) -> None:
    from dff_grasp.action import CalibrateHandEye
    from dff_grasp_ros import names
    from dff_grasp_ros.clients import run_action

    try:
        results["result"] = run_action(CalibrateHandEye, names.CALIBRATE_HAND_EYE_ACTION,
                                       CalibrateHandEye.Goal(num_views=10, timeout_s=60.0), timeout_s=100.0,
                                       on_feedback=feedback.append, server_wait_s=60.0)
    except Exception as err:
        results["error"] = err


def test_calibrate_hand_eye_action_recovers_the_simulated_mount(tmp_path: Path, ros_env: dict[str, str]):
    from dff_grasp.srv import ScanPoses
    from dff_grasp_ros import names
    from dff_grasp_ros.calibration.output import load_hand_eye
    from dff_grasp_ros.calibration.solve import transform_difference
    from dff_grasp_ros.clients import SCAN_POSES_ANSWER_S, call_service
    from dff_grasp_ros.ros_io.pose import pose_to_matrix, transform_to_matrix
    from dff_grasp_ros.synthetic.board import DEFAULT_CAMERA_MOUNT, mount_matrix

    os.environ.update(ros_env)
    log_dir = tmp_path / "logs"
    with ProcessGroup() as group:
        start_nodes(group, {"hand_eye": {"calibration_dir": str(tmp_path / "calibration"), "pose_source": "topic",
                                         "still_time_s": 0.15, "max_pose_age_s": 0.1}}, ros_env, log_dir)
        results: dict = {}
        feedback: list = []
        client = threading.Thread(target=calibrate, args=(results, feedback), daemon=True)
        client.start()
        while not feedback and client.is_alive():
            client.join(0.2)
        start_nodes(group, {"sim_camera": {"scene": "tabletop", "calibration_board": True, "calibration_views": 12,
                                           "hold_frames": 6, "rate_hz": 6.0, "loop": False}}, ros_env, log_dir)
        client.join(220.0)
        assert "error" not in results, f"{results.get('error')}" + logs(log_dir)
        result = results["result"]
        assert result.success, result.message + logs(log_dir)
        # The goal came before the camera: the node waited for it and reads it reliably, as it publishes (best
        # effort lost most frames and stalled the calibration short of its views).
        hand_eye_log = (log_dir / "hand_eye.log").read_text()
        assert "waiting for a camera to publish" in hand_eye_log and " reliably" in hand_eye_log, logs(log_dir)
        truth = mount_matrix(*DEFAULT_CAMERA_MOUNT)
        error_mm, error_deg = transform_difference(transform_to_matrix(result.tool_to_camera.transform), truth)
        assert error_mm < 2.0 and error_deg < 0.2, (error_mm, error_deg, result.message)
        assert result.tool_to_camera.header.frame_id == "tool0"
        assert result.tool_to_camera.child_frame_id == "camera_color_optical_frame"
        assert result.views_used == 10 and result.message.startswith("good:")
        assert result.static_transform_command.startswith("ros2 run tf2_ros static_transform_publisher --x ")
        written, _, _ = load_hand_eye(Path(result.yaml_path))
        assert transform_difference(written, truth)[0] < 2.0
        assert len(list((tmp_path / "calibration").glob("views_*/*.png"))) == 10  # kept to re-run offline
        assert feedback[-1].views_target == 10 and feedback[-1].views_collected >= 9
        # /scan_poses now hands out tool poses with the fresh transform.
        reply = call_service(ScanPoses, names.SCAN_POSES_SERVICE, ScanPoses.Request(count=5), timeout_s=30.0,
                             resend_after_s=SCAN_POSES_ANSWER_S)
        assert reply.success and len(reply.tool_poses.poses) == 5, reply.message
        cameras = np.stack([pose_to_matrix(p) for p in reply.camera_poses.poses])
        tools = np.stack([pose_to_matrix(p) for p in reply.tool_poses.poses])
        assert np.allclose(tools @ written, cameras, atol=1e-5)
        assert group.poll_failed() == {}, logs(log_dir)
