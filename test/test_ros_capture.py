"""sim_camera and capture in separate processes over DDS: a calibrated dataset, robust to bad messages."""
from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from ros_helpers import logs, small_scene_file, start_nodes

from dff_grasp_ros.process_group import ProcessGroup

pytestmark = pytest.mark.ros


def publish_bad_messages(stop: threading.Event, max_s: float = 120.0) -> int:
    """Inject bad sets on the camera topics until ``stop`` is set; returns sets sent.

    Every injected message is unusable on its own (colour and depth in unsupported encodings, a NaN pose, 4x4
    intrinsics no real image matches): the capture pairs messages by stamp, so an injected message also lands in
    sets with the simulated camera's, and each such set must be rejected too. (An earlier version injected a valid
    pose with its bad image: paired with a real image it was kept, 0.58 m off. It ran for a fixed 4 s from the
    test's start, which once ended before the capture's goal began: nothing was rejected.)
    """
    from geometry_msgs.msg import PoseStamped
    from sensor_msgs.msg import CameraInfo, Image

    from dff_grasp_ros.clients import ros_node
    from dff_grasp_ros.dataset import CameraIntrinsics
    from dff_grasp_ros.ros_io.camera_info import intrinsics_to_camera_info

    sent = 0
    with ros_node("bad_publisher") as node:
        pubs = {"image": node.create_publisher(Image, "/camera/color/image_raw", 5),
                "depth": node.create_publisher(Image, "/camera/aligned_depth_to_color/image_raw", 5),
                "info": node.create_publisher(CameraInfo, "/camera/color/camera_info", 5),
                "pose": node.create_publisher(PoseStamped, "/camera/pose", 5)}
        deadline = time.monotonic() + max_s
        while not stop.is_set() and time.monotonic() < deadline:
            stamp_ns = node.get_clock().now().nanoseconds
            frame = "camera_color_optical_frame"
            image = Image(height=4, width=4, encoding="yuv422", step=8, data=bytes(32))
            depth = Image(height=4, width=4, encoding="8UC3", step=12, data=bytes(48))
            info = intrinsics_to_camera_info(CameraIntrinsics(4, 4, 4.0, 4.0, 2.0, 2.0), frame_id=frame,
                                             stamp_ns=stamp_ns)
            pose = PoseStamped()
            pose.header.frame_id = "base_link"
            pose.pose.orientation.w = math.nan
            for msg in (image, depth, pose):
                msg.header.stamp = info.header.stamp
            image.header.frame_id = depth.header.frame_id = frame
            for key, msg in (("image", image), ("depth", depth), ("info", info), ("pose", pose)):
                pubs[key].publish(msg)
            sent += 1
            time.sleep(0.05)
    return sent


def test_sim_camera_to_capture_over_dds(tmp_path: Path, ros_env: dict[str, str]):
    from dff_grasp_ros import clients
    from dff_grasp_ros.dataset import load_dataset
    from dff_grasp_ros.synthetic import load_scene
    from dff_grasp_ros.synthetic.verify import ray_errors_m

    scene_file = small_scene_file(tmp_path, views=48)
    datasets = tmp_path / "datasets"
    with ProcessGroup() as group:
        start_nodes(group, {"sim_camera": {"scene": str(scene_file), "rate_hz": 15.0},
                            "capture": {"datasets_dir": str(datasets)}}, ros_env, tmp_path / "logs")
        import os
        os.environ.update(ros_env)
        stop_injecting = threading.Event()
        injector = threading.Thread(target=publish_bad_messages, args=(stop_injecting,), daemon=True)
        injector.start()
        try:
            result = clients.capture_views(44, timeout_s=120.0, quiet=True)
        except clients.RosCallError as err:
            raise AssertionError(f"{err}\n{logs(tmp_path / 'logs')}") from err
        finally:
            stop_injecting.set()
        injector.join()
        assert group.poll_failed() == {}, logs(tmp_path / "logs")
    assert result.success, result.message + logs(tmp_path / "logs")
    assert result.views_kept >= 40
    assert result.messages_rejected > 0, "the injected bad messages must be counted"
    dataset = load_dataset(Path(result.dataset_path))
    assert len(dataset.frames) >= 40
    assert dataset.pose_source == "topic" and dataset.base_frame == "base_link"
    assert dataset.metadata["scene"]["name"] == load_scene(scene_file).name, "sim scene recorded for the teacher"
    errors = ray_errors_m(dataset.root, load_scene(scene_file), n_pixels=20)
    assert np.median(errors) < 0.001 and np.max(errors) < 0.002, f"ray errors (m): max {np.max(errors):.4f}"
