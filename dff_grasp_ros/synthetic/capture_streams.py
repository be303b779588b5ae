"""Synthetic capture streams for tests and smoke checks: the messages a camera on an arm would publish.

Views of a built-in sim scene (rendered by :func:`dff_grasp_ros.synthetic.render.render_view`) along the scene's scan
trajectory, at thumbnail resolution by default, packed into real rclpy messages with :mod:`dff_grasp_ros.ros_io`.
No ROS graph is involved.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.ros_io.camera_info import intrinsics_to_camera_info
from dff_grasp_ros.ros_io.image import depth_m_to_image, numpy_to_image
from dff_grasp_ros.ros_io.pose import matrix_to_pose_stamped
from dff_grasp_ros.synthetic.cameras import scan_poses
from dff_grasp_ros.synthetic.catalog import load_scene
from dff_grasp_ros.synthetic.render import render_view
from dff_grasp_ros.synthetic.spec import BASE_FRAME

TEST_SCENE = "tiny"
SMALL_CAMERA = CameraIntrinsics(width=64, height=48, fx=60.0, fy=60.0, cx=32.0, cy=24.0)
CAMERA_FRAME = "camera_color_optical_frame"
START_NS = 1_700_000_000 * 1_000_000_000


def scan_poses_of_test_scene(count: int | None = None) -> np.ndarray:
    """(N, 4, 4) camera_to_base poses of the test scene's scan (the first ``count`` if given)."""
    poses = scan_poses(load_scene(TEST_SCENE))
    return poses if count is None else poses[:count]


def render(camera_to_base: np.ndarray, intrinsics: CameraIntrinsics = SMALL_CAMERA) -> tuple[np.ndarray, np.ndarray]:
    """(rgb uint8, depth_m float32 with NaN = no hit) of the test scene."""
    view = render_view(load_scene(TEST_SCENE), intrinsics, camera_to_base)
    return view.rgb, view.depth_m


def scan_messages(poses: np.ndarray, intrinsics: CameraIntrinsics = SMALL_CAMERA, *,
                  depth_encoding: str = "32FC1", period_s: float = 0.2, start_ns: int = START_NS,
                  camera_frame: str = CAMERA_FRAME, base_frame: str = BASE_FRAME) -> list[tuple[str, Any]]:
    """``(stream, message)`` in arrival order for one view per pose, as a driver and TF would publish them.

    Stamps jitter like real drivers: depth 1 ms and pose 2 ms after the image; camera_info shares the image
    stamp and arrives first, the pose last.
    """
    messages: list[tuple[str, Any]] = []
    for index, pose in enumerate(np.asarray(poses)):
        stamp_ns = start_ns + int(round(index * period_s * 1e9))
        rgb, depth_m = render(pose, intrinsics)
        messages += [
            ("camera_info", intrinsics_to_camera_info(intrinsics, frame_id=camera_frame, stamp_ns=stamp_ns)),
            ("image", numpy_to_image(rgb, "rgb8", frame_id=camera_frame, stamp_ns=stamp_ns)),
            ("depth", depth_m_to_image(depth_m, depth_encoding, frame_id=camera_frame, stamp_ns=stamp_ns + 1_000_000)),
            ("pose", matrix_to_pose_stamped(pose, base_frame, stamp_ns + 2_000_000)),
        ]
    return messages


__all__ = ["TEST_SCENE", "SMALL_CAMERA", "CAMERA_FRAME", "BASE_FRAME", "scan_poses_of_test_scene", "render",
           "scan_messages"]
