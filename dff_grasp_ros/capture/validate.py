"""Validation of one synchronised view (image, depth, camera_info, camera pose) before it may enter a dataset.

:func:`validate_view` is pure: it either returns the decoded :class:`ValidView` or raises :class:`ViewRejected`
carrying a :class:`RejectReason`, so the caller can count rejections per reason and keep capturing.
Cheap header checks run before any pixel is decoded.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from dff_grasp_ros.dataset import MAX_CAMERA_DISTANCE_M, PLAUSIBLE_MEDIAN_DEPTH_M, CameraIntrinsics
from dff_grasp_ros.names import frame_name
from dff_grasp_ros.ros_io.camera_info import CameraInfoError, camera_info_to_intrinsics, intrinsics_close
from dff_grasp_ros.ros_io.image import (
    COLOR_ENCODINGS,
    DEPTH_ENCODINGS,
    ImageFormatError,
    UnsupportedEncodingError,
    depth_image_to_m,
    image_to_rgb8,
)
from dff_grasp_ros.ros_io.pose import NonFinitePoseError, NonUnitQuaternionError, PoseError, stamped_to_matrix
from dff_grasp_ros.ros_io.stamp import header_stamp_ns, missing_stamp_problem

NS_PER_S = 1_000_000_000


class RejectReason(str, Enum):
    """Why a synchronised view was not kept (values are stable strings for logs and metadata)."""

    MALFORMED = "malformed"  # missing fields, truncated payload, inconsistent step
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    BAD_CAMERA_INFO = "bad_camera_info"  # uncalibrated or unsupported distortion model
    NON_FINITE_POSE = "non_finite_pose"
    NON_UNIT_QUATERNION = "non_unit_quaternion"
    FAR_POSE = "far_pose"  # the camera more than MAX_CAMERA_DISTANCE_M from the base: not metres
    SIZE_MISMATCH = "size_mismatch"  # image/depth size disagrees with camera_info
    INTRINSICS_CHANGED = "intrinsics_changed"  # differs from the first kept view's camera_info
    STALE_POSE = "stale_pose"  # pose stamp too far from the image stamp
    UNUSABLE_STAMP = "unusable_stamp"  # image stamp 0 or not advancing: its messages cannot be paired by time
    WRONG_FRAME = "wrong_frame"  # pose not in the base frame, or depth/info/pose not of the image's camera
    TOO_CLOSE = "too_close"  # view selection: near-duplicate of a kept view
    BLURRED = "blurred"  # view selection: too little image detail
    WRITE_FAILED = "write_failed"  # the dataset writer could not store the view (disk full, permissions)
    BAD_DEPTH = "bad_depth"  # no return at all, or a median no depth camera sees (wrong units)


class ViewRejected(Exception):
    """A view that must not be kept; ``detail`` is a human-readable explanation."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class ValidView:
    """A decoded view ready for view selection and the dataset writer."""

    rgb: np.ndarray  # (H, W, 3) uint8
    depth_m: np.ndarray | None  # (H, W) float32 metres, NaN = invalid
    intrinsics: CameraIntrinsics
    camera_to_base: np.ndarray  # (4, 4) camera optical frame in the base frame
    stamp_ns: int  # the image's stamp


def _check_frames(image: Any, depth: Any | None, camera_info: Any, pose: Any, base_frame: str) -> None:
    camera_frame = frame_name(image.header.frame_id)
    if frame_name(pose.header.frame_id) != frame_name(base_frame):
        raise ViewRejected(RejectReason.WRONG_FRAME,
                           f"pose is in frame {pose.header.frame_id!r}, expected base frame {base_frame!r}")
    child = frame_name(getattr(pose, "child_frame_id", ""))
    if child and camera_frame and child != camera_frame:
        raise ViewRejected(RejectReason.WRONG_FRAME,
                           f"pose is of frame {child!r} but the image is from {camera_frame!r}")
    for name, msg in (("depth", depth), ("camera_info", camera_info)):
        other = frame_name(msg.header.frame_id) if msg is not None else ""
        if other and camera_frame and other != camera_frame:
            raise ViewRejected(RejectReason.WRONG_FRAME,
                               f"{name} is in frame {other!r} but the image is in {camera_frame!r} "
                               "(depth must be registered to the colour camera)")


def _check_encodings(image: Any, depth: Any | None) -> None:
    if str(image.encoding) not in COLOR_ENCODINGS:
        raise ViewRejected(RejectReason.UNSUPPORTED_ENCODING,
                           f"image encoding {image.encoding!r}; supported: {', '.join(COLOR_ENCODINGS)}")
    if depth is not None and str(depth.encoding) not in DEPTH_ENCODINGS:
        raise ViewRejected(RejectReason.UNSUPPORTED_ENCODING,
                           f"depth encoding {depth.encoding!r}; supported: {', '.join(DEPTH_ENCODINGS)}")


def _check_sizes(image: Any, depth: Any | None, intrinsics: CameraIntrinsics) -> None:
    expected = (intrinsics.width, intrinsics.height)
    for name, msg in (("image", image), ("depth", depth)):
        if msg is not None and (int(msg.width), int(msg.height)) != expected:
            raise ViewRejected(RejectReason.SIZE_MISMATCH,
                               f"{name} is {msg.width}x{msg.height} but camera_info says {expected[0]}x{expected[1]}")


def _camera_pose(pose: Any, image_stamp_ns: int, max_pose_offset_s: float) -> np.ndarray:
    try:
        camera_to_base, _, pose_stamp_ns = stamped_to_matrix(pose)
    except NonFinitePoseError as err:
        raise ViewRejected(RejectReason.NON_FINITE_POSE, str(err)) from err
    except NonUnitQuaternionError as err:
        raise ViewRejected(RejectReason.NON_UNIT_QUATERNION, str(err)) from err
    except PoseError as err:
        raise ViewRejected(RejectReason.MALFORMED, str(err)) from err
    position_m = camera_to_base[:3, 3]
    if np.abs(position_m).max() > MAX_CAMERA_DISTANCE_M:  # the dataset check would refuse it only at training
        raise ViewRejected(RejectReason.FAR_POSE,
                           f"the camera is at {np.round(position_m, 3).tolist()}, more than "
                           f"{MAX_CAMERA_DISTANCE_M:g} m from the base frame; poses must be in metres")
    offset_s = abs(pose_stamp_ns - image_stamp_ns) / NS_PER_S
    if offset_s > max_pose_offset_s:
        raise ViewRejected(RejectReason.STALE_POSE,
                           f"pose stamp is {offset_s * 1e3:.1f} ms from the image stamp "
                           f"(limit {max_pose_offset_s * 1e3:.1f} ms)")
    return camera_to_base


def _check_depth(depth_m: np.ndarray, encoding: str) -> None:
    """A depth image the dataset can hold: some valid return, and a median a depth camera sees. Checked per view,
    so that a stream in the wrong units (32FC1 in millimetres) is refused while capturing, not by the trainer
    after the whole scan (the dataset check, same bounds)."""
    valid = depth_m[np.isfinite(depth_m)]
    if valid.size == 0:
        raise ViewRejected(RejectReason.BAD_DEPTH, f"the {encoding} depth image has no valid return (all 0/NaN): is "
                                                   f"the depth stream on and registered to the colour image?")
    median_m, (low, high) = float(np.median(valid)), PLAUSIBLE_MEDIAN_DEPTH_M
    if not low <= median_m <= high:
        unit = "millimetres" if encoding == "16UC1" else "metres"
        raise ViewRejected(RejectReason.BAD_DEPTH, f"the {encoding} depth image's median is {median_m:.3g} m, outside "
                                                   f"the {low:g}-{high:g} m a depth camera sees: {encoding} depth "
                                                   f"must hold {unit}")


def validate_view(image: Any, depth: Any | None, camera_info: Any, pose: Any, *, base_frame: str,
                  max_pose_offset_s: float, expected_intrinsics: CameraIntrinsics | None = None) -> ValidView:
    """Decode and check one view; raise :class:`ViewRejected` with a reason code if it must not be kept.

    ``depth`` may be ``None`` for colour-only capture. ``expected_intrinsics`` are those of the capture so far.
    Accepts rclpy and rosbags messages alike (duck-typed on field names).
    """
    try:
        _check_frames(image, depth, camera_info, pose, base_frame)
        _check_encodings(image, depth)
        image_stamp_ns = header_stamp_ns(image)
        no_stamp = missing_stamp_problem(image, "its depth and pose")
        if no_stamp:  # every set then matches by arrival: interleaved views swapped their poses
            raise ViewRejected(RejectReason.UNUSABLE_STAMP, no_stamp)
        camera_to_base = _camera_pose(pose, image_stamp_ns, max_pose_offset_s)
        try:
            intrinsics = camera_info_to_intrinsics(camera_info)
        except CameraInfoError as err:
            raise ViewRejected(RejectReason.BAD_CAMERA_INFO, str(err)) from err
        if expected_intrinsics is not None and not intrinsics_close(intrinsics, expected_intrinsics):
            raise ViewRejected(RejectReason.INTRINSICS_CHANGED,
                               f"camera_info changed mid-capture: {intrinsics} vs {expected_intrinsics}")
        _check_sizes(image, depth, intrinsics)
        rgb = image_to_rgb8(image)
        depth_m = depth_image_to_m(depth) if depth is not None else None
        if depth_m is not None:
            _check_depth(depth_m, str(depth.encoding))
    except ViewRejected:
        raise
    except UnsupportedEncodingError as err:
        raise ViewRejected(RejectReason.UNSUPPORTED_ENCODING, str(err)) from err
    except (ImageFormatError, AttributeError, TypeError, ValueError, IndexError) as err:
        raise ViewRejected(RejectReason.MALFORMED, f"{type(err).__name__}: {err}") from err
    return ValidView(rgb, depth_m, intrinsics, camera_to_base, image_stamp_ns)


__all__ = ["RejectReason", "ViewRejected", "ValidView", "validate_view"]
