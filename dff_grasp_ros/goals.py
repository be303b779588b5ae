"""Limits of what a user may ask for: checked by the clients before a goal is sent, and by the servers (and the
offline tools) before any work starts, so an absurd request is one line, never a job that runs for days.

The ROS goal fields are unsigned 32-bit: a negative number cannot even be sent (rclpy raises deep inside), and
4,294,967,295 steps would train for months. Both ends use these functions, so they agree on the limits; the
node parameters' ranges (``nodes/params.py``) are the same numbers (a test keeps them equal).
"""
from __future__ import annotations

import math
from typing import Any

from dff_grasp_ros.errors import InputError

MAX_TRAIN_STEPS = 1_000_000  # ~10x the quality preset's default; beyond it a typo, not a wish
MAX_CAPTURE_VIEWS = 10_000
MAX_CALIBRATION_VIEWS = 1000  # 15-30 views are plenty for a hand-eye calibration
MAX_CAPTURE_TIMEOUT_S = 7 * 24 * 3600.0
MAX_UPDATE_TIMEOUT_S = 600.0  # the query node's update_timeout_s range: a wait for one camera view, not a vigil


def _integer(value: Any, what: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} must be a whole number, got {value!r}")
    if not 0 <= value <= maximum:
        raise InputError(f"{what} must be between 0 and {maximum:,} (0 = the default), got {value:,}")
    return value


def check_train_request(max_steps: Any) -> int:
    """``max_steps`` of a training request (0 = the configured default), or InputError saying why not."""
    return _integer(max_steps, "training steps", MAX_TRAIN_STEPS)


def _timeout(timeout_s: Any, what: str) -> float:
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not math.isfinite(timeout_s):
        raise InputError(f"{what} must be a finite number of seconds, got {timeout_s!r}")
    if not 0 <= timeout_s <= MAX_CAPTURE_TIMEOUT_S:
        raise InputError(f"{what} must be between 0 (no limit) and {MAX_CAPTURE_TIMEOUT_S:.0f} s, got {timeout_s:g}")
    return float(timeout_s)


def check_capture_request(num_views: Any, timeout_s: Any) -> tuple[int, float]:
    """``num_views`` (0 = the node default) and ``timeout_s`` (0 = no limit) of a capture, or InputError."""
    return _integer(num_views, "views", MAX_CAPTURE_VIEWS), _timeout(timeout_s, "capture timeout")


def check_calibration_request(num_views: Any, timeout_s: Any) -> tuple[int, float]:
    """``num_views`` (0 = the node default) and ``timeout_s`` (0 = no limit) of a hand-eye calibration goal."""
    return (_integer(num_views, "calibration views", MAX_CALIBRATION_VIEWS),
            _timeout(timeout_s, "calibration timeout"))


def check_update_request(timeout_s: Any) -> float:
    """``timeout_s`` of a scene update (0 = the query node's ``update_timeout_s``), or InputError: the service
    holds its update lock while it waits, so a raw request's 1e9 s would block every later update."""
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not (
            0 <= timeout_s <= MAX_UPDATE_TIMEOUT_S):
        raise InputError(f"update timeout must be between 0 (the node's update_timeout_s) and "
                         f"{MAX_UPDATE_TIMEOUT_S:.0f} s, got {timeout_s!r}")
    return float(timeout_s)


def check_scan_request(center_m: Any, radius_m: Any, min_elevation_deg: Any, max_elevation_deg: Any,
                       count: Any) -> None:
    """A ``/scan_poses`` request, or InputError. Zero fields take the node's parameters (a zero centre, a zero
    radius or count, both elevations zero), so only the others are checked, by the same rule as the node's."""
    from dff_grasp_ros.capture.scan_poses import MAX_SCAN_POSES, check_cap

    count = _integer(count, "scan pose count", MAX_SCAN_POSES)
    numbers = {"center": center_m if center_m is not None else (0.0, 0.0, 0.0), "radius_m": radius_m,
               "min_elevation_deg": min_elevation_deg, "max_elevation_deg": max_elevation_deg}
    for name, value in numbers.items():
        values = value if name == "center" else (value,)
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values) or len(values) != (
                3 if name == "center" else 1):
            raise InputError(f"scan request: {name} must be {'3 numbers' if name == 'center' else 'a number'}, "
                             f"got {value!r}")
    # A zero radius or count stands for the node's parameter: a placeholder the rule accepts takes its place.
    problem = check_cap(numbers["center"], float(radius_m) or 1.0, float(min_elevation_deg),
                        float(max_elevation_deg), count or 1)
    if problem:
        raise InputError(f"scan request: {problem}")
