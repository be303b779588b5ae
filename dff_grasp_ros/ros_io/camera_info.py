"""``sensor_msgs/CameraInfo`` <-> :class:`dff_grasp_ros.dataset.CameraIntrinsics`.

The dataset stores OpenCV's (k1, k2, p1, p2). ``plumb_bob`` (k1 k2 p1 p2 k3) and ``rational_polynomial``
(k1 k2 p1 p2 k3 k4 k5 k6) share those first four terms; the higher radial terms are dropped, which matters
only near the image border of wide lenses. Any other model (``equidistant`` fisheye, ...) is refused rather
than silently mis-projected.

Pixel centres: ROS (like OpenCV) puts the centre of pixel (row, col) at (col, row); nerfstudio, and so our
datasets, at (col + 0.5, row + 0.5). The principal point therefore moves by half a pixel on the way in and out.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sensor_msgs.msg import CameraInfo

from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.ros_io.stamp import make_header

SUPPORTED_DISTORTION_MODELS = ("plumb_bob", "rational_polynomial")
ROS_TO_DATASET_PX = 0.5  # dataset (nerfstudio) principal point = ROS principal point + 0.5 px


class CameraInfoError(ValueError):
    """A CameraInfo that cannot be turned into pinhole intrinsics."""


def camera_info_to_intrinsics(msg: Any) -> CameraIntrinsics:
    """Pinhole intrinsics from ``K`` and the first four distortion terms of ``D``."""
    width, height = int(msg.width), int(msg.height)
    if width <= 0 or height <= 0:
        raise CameraInfoError(f"CameraInfo has no image size ({width}x{height}): camera not calibrated?")
    k = np.asarray(msg.k, dtype=np.float64).reshape(-1)
    if k.size != 9 or not np.all(np.isfinite(k)):
        raise CameraInfoError(f"CameraInfo K must be 9 finite numbers, got {k.tolist()}")
    fx, fy, cx, cy = k[0], k[4], k[2], k[5]
    if fx <= 0 or fy <= 0:
        raise CameraInfoError(f"CameraInfo focal lengths must be positive, got fx={fx}, fy={fy}")
    d = np.asarray(msg.d, dtype=np.float64).reshape(-1)
    model = str(msg.distortion_model)
    # Simulated and rectified cameras often send no model with an empty or all-zero D: that is no distortion.
    if model not in SUPPORTED_DISTORTION_MODELS and not (model == "" and not np.any(d)):
        raise CameraInfoError(f"unsupported distortion model {model!r}; supported: "
                              f"{', '.join(SUPPORTED_DISTORTION_MODELS)} (or rectified images)")
    if not np.all(np.isfinite(d)):
        raise CameraInfoError(f"CameraInfo D has non-finite values: {d.tolist()}")
    k1, k2, p1, p2 = (np.concatenate([d, np.zeros(4)])[:4]).tolist()
    intrinsics = CameraIntrinsics(width=width, height=height, fx=float(fx), fy=float(fy),
                                  cx=float(cx) + ROS_TO_DATASET_PX, cy=float(cy) + ROS_TO_DATASET_PX,
                                  distortion=(k1, k2, p1, p2))
    problem = intrinsics.problem()
    if problem:
        raise CameraInfoError(f"CameraInfo {problem}")
    return intrinsics


def intrinsics_to_camera_info(intrinsics: CameraIntrinsics, *, frame_id: str = "",
                              stamp_ns: int = 0) -> CameraInfo:
    """A ``plumb_bob`` CameraInfo (k3 = 0) with identity rectification."""
    fx, fy = intrinsics.fx, intrinsics.fy
    cx, cy = intrinsics.cx - ROS_TO_DATASET_PX, intrinsics.cy - ROS_TO_DATASET_PX
    return CameraInfo(
        header=make_header(frame_id, stamp_ns), width=int(intrinsics.width), height=int(intrinsics.height),
        distortion_model="plumb_bob", d=[float(v) for v in intrinsics.distortion] + [0.0],
        k=[fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0], r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p=[fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0],
    )


def intrinsics_close(a: CameraIntrinsics, b: CameraIntrinsics, *, tol_px: float = 1e-3) -> bool:
    """Same image size and (within ``tol_px``) the same focal lengths, principal point and distortion."""
    if (a.width, a.height) != (b.width, b.height):
        return False
    va = np.array([a.fx, a.fy, a.cx, a.cy], dtype=np.float64)
    vb = np.array([b.fx, b.fy, b.cx, b.cy], dtype=np.float64)
    return bool(np.allclose(va, vb, rtol=0, atol=tol_px)
                and np.allclose(a.distortion, b.distortion, rtol=0, atol=1e-6))


__all__ = ["CameraInfoError", "SUPPORTED_DISTORTION_MODELS", "camera_info_to_intrinsics",
           "intrinsics_to_camera_info", "intrinsics_close"]
