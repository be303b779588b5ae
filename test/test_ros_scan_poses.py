"""/scan_poses over DDS: the hand_eye node as a process, its defaults, a custom cap, bad requests, tool poses."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from ros_helpers import logs, start_nodes

from dff_grasp_ros.process_group import ProcessGroup

pytestmark = pytest.mark.ros


def call(**request):
    from geometry_msgs.msg import Point

    from dff_grasp.srv import ScanPoses
    from dff_grasp_ros import names
    from dff_grasp_ros.clients import SCAN_POSES_ANSWER_S, call_service

    centre = request.pop("center", None)
    msg = ScanPoses.Request(**request)
    if centre is not None:
        msg.center = Point(x=centre[0], y=centre[1], z=centre[2])
    # Asked again when the answer is lost, as clients.scan_poses does (seen here: the node's first response,
    # "failed to send response (timeout)", to a client made just before its call on a loaded machine).
    return call_service(ScanPoses, names.SCAN_POSES_SERVICE, msg, timeout_s=30.0, server_wait_s=60.0,
                        resend_after_s=SCAN_POSES_ANSWER_S)


def matrices(pose_array) -> np.ndarray:
    from dff_grasp_ros.ros_io.pose import pose_to_matrix

    return np.stack([pose_to_matrix(p) for p in pose_array.poses]) if pose_array.poses else np.zeros((0, 4, 4))


def test_scan_poses_service(tmp_path: Path, ros_env: dict[str, str], capsys):
    from dff_grasp_ros.calibration.output import write_hand_eye
    from dff_grasp_ros.capture.scan_poses import cap_camera_poses

    hand_eye = tmp_path / "hand_eye.yaml"
    mount = np.eye(4)
    mount[:3, :3] = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    mount[:3, 3] = [0.03, -0.05, 0.06]
    with ProcessGroup() as group:
        start_nodes(group, {"hand_eye": {"hand_eye_file": str(hand_eye), "scan_count": 12, "scan_center_x_m": 0.45,
                                         "scan_radius_m": 0.5}}, ros_env, tmp_path / "logs")
        os.environ.update(ros_env)
        # Defaults from the parameters; no calibration yet: camera poses only, and the message says why.
        first = call()
        assert first.success, first.message + logs(tmp_path / "logs")
        cameras = matrices(first.camera_poses)
        assert first.camera_poses.header.frame_id == "base_link" and len(cameras) == 12
        assert np.allclose(cameras, cap_camera_poses((0.45, 0.0, 0.0), 0.5, 35.0, 70.0, 12), atol=1e-6)
        assert len(first.tool_poses.poses) == 0 and "no hand-eye calibration" in first.message
        # A calibration appears: the tool poses put the camera exactly at the camera poses.
        write_hand_eye(hand_eye, {"parent_frame": "tool0", "child_frame": "camera_color_optical_frame",
                                  "translation_m": mount[:3, 3].tolist(), "quaternion_xyzw": [0, 0, 0.7071068,
                                                                                              0.7071068]})
        custom = call(center=(0.3, 0.2, 0.1), radius_m=0.4, min_elevation_deg=40.0, max_elevation_deg=60.0, count=7)
        assert custom.success, custom.message
        cameras, tools = matrices(custom.camera_poses), matrices(custom.tool_poses)
        assert len(cameras) == len(tools) == 7 and custom.tool_poses.header.frame_id == "base_link"
        assert np.allclose(np.linalg.norm(cameras[:, :3, 3] - [0.3, 0.2, 0.1], axis=1), 0.4, atol=1e-6)
        assert np.allclose(tools @ mount, cameras, atol=1e-5)
        assert str(hand_eye) in custom.message
        # The pip world's command line gives the same poses as JSON, for a MoveIt script.
        from dff_grasp_ros.cli import main

        assert main(["scan-poses", "--center", "0.3", "0.2", "0.1", "--radius-m", "0.4", "--min-elevation-deg", "40",
                     "--max-elevation-deg", "60", "--count", "7", "--json"]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert printed["frame_id"] == "base_link" and len(printed["tool_poses"]) == 7
        assert np.allclose(printed["tool_poses"][3]["position_m"], tools[3, :3, 3], atol=1e-5)
        # A cap that is no scan: answered, not crashed, and the node goes on serving.
        bad = call(min_elevation_deg=80.0, max_elevation_deg=30.0)
        assert not bad.success and "elevations" in bad.message
        # Finite centres far outside any cell: 1e30 once went unanswered (NaN poses raised outside the callback's
        # try) until the executor's error limit stopped the node; 1e17 m was answered with 48 poses.
        for centre in [(1e30, 1e30, 1e30), (0.5, 0.0, 1e17)]:
            far = call(center=centre)
            assert not far.success and "center" in far.message and not far.camera_poses.poses, far.message
        hand_eye.write_text("not: [a calibration")
        broken = call()
        assert not broken.success and str(hand_eye) in broken.message
        # The same node refuses calibration goals it cannot serve, with the reason, and never waits forever.
        from dff_grasp.action import CalibrateHandEye
        from dff_grasp_ros import names
        from dff_grasp_ros.clients import run_action

        huge = run_action(CalibrateHandEye, names.CALIBRATE_HAND_EYE_ACTION,
                          CalibrateHandEye.Goal(num_views=5000), timeout_s=30.0)
        assert not huge.success and "got 5,000" in huge.message, huge.message
        blind = run_action(CalibrateHandEye, names.CALIBRATE_HAND_EYE_ACTION,
                           CalibrateHandEye.Goal(num_views=10, timeout_s=1.0), timeout_s=30.0)
        assert not blind.success and "no image arrived on /camera/color/image_raw" in blind.message
        assert group.poll_failed() == {}, logs(tmp_path / "logs")


def test_an_error_after_validation_is_answered_not_raised(tmp_path: Path, monkeypatch):
    """Whatever fails in /scan_poses answers success=false in one line. The pose conversion once ran outside the
    callback's try: NaN poses ("matrix has non-finite entries") escaped it, the client never got an answer, and
    repeated requests reached the executor's error limit, which stopped hand_eye (and bringup every node). The
    node runs in-process here, its callback called directly, the math replaced by one that yields NaN."""
    import rclpy

    from dff_grasp.srv import ScanPoses
    from dff_grasp_ros.nodes import hand_eye

    monkeypatch.setenv("DFF_GRASP_HOME", str(tmp_path))
    rclpy.init()
    try:
        node = hand_eye.HandEyeNode()
        try:
            with monkeypatch.context() as patched:
                patched.setattr(hand_eye, "cap_camera_poses", lambda *args, **kwargs: np.full((3, 4, 4), np.nan))
                broken = node.on_scan_poses(ScanPoses.Request(), ScanPoses.Response())
            assert not broken.success and "non-finite" in broken.message, broken.message
            assert "\n" not in broken.message and not broken.camera_poses.poses and not broken.tool_poses.poses
            served = node.on_scan_poses(ScanPoses.Request(count=5), ScanPoses.Response())
            assert served.success and len(served.camera_poses.poses) == 5, served.message
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown()


@pytest.mark.parametrize(("frames", "says"), [
    ({"parent_frame": "flange", "child_frame": "camera_color_optical_frame"}, "of tool frame 'flange'"),
    ({"parent_frame": "tool0", "child_frame": "wrist_camera_optical"}, "camera frame 'wrist_camera_optical'")])
def test_a_calibration_of_other_frames_gives_no_tool_poses(tmp_path: Path, monkeypatch, frames: dict, says: str):
    """Before 2026-12-03 (third bad-input hunt) a hand-eye file of another tool or camera than the node's
    tool_frame and camera_frame was used: its tool poses, read as poses of tool0 (README), were those of another
    link, said only inside the message. In-process, the callback called directly (as above)."""
    import rclpy

    from dff_grasp.srv import ScanPoses
    from dff_grasp_ros.calibration.output import write_hand_eye
    from dff_grasp_ros.nodes import hand_eye

    path = tmp_path / "hand_eye.yaml"
    write_hand_eye(path, {**frames, "translation_m": [0.03, -0.05, 0.06], "quaternion_xyzw": [0, 0, 0, 1]})
    monkeypatch.setenv("DFF_GRASP_HOME", str(tmp_path))
    rclpy.init(args=["--ros-args", "-p", f"hand_eye_file:={path}"])
    try:
        node = hand_eye.HandEyeNode()
        try:
            answer = node.on_scan_poses(ScanPoses.Request(count=5), ScanPoses.Response())
            assert not answer.success and not answer.tool_poses.poses, answer.message
            assert str(path) in answer.message and says in answer.message, answer.message
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown()
