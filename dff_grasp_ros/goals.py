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
MAX_CAPTURE_TIMEOUT_S = 7 * 24 * 3600.0


def _integer(value: Any, what: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} must be a whole number, got {value!r}")
    if not 0 <= value <= maximum:
        raise InputError(f"{what} must be between 0 and {maximum:,} (0 = the default), got {value:,}")
    return value


def check_train_request(max_steps: Any) -> int:
    """``max_steps`` of a training request (0 = the configured default), or InputError saying why not."""
    return _integer(max_steps, "training steps", MAX_TRAIN_STEPS)


def check_capture_request(num_views: Any, timeout_s: Any) -> tuple[int, float]:
    """``num_views`` (0 = the node default) and ``timeout_s`` (0 = no limit) of a capture, or InputError."""
    views = _integer(num_views, "views", MAX_CAPTURE_VIEWS)
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not math.isfinite(timeout_s):
        raise InputError(f"capture timeout must be a finite number of seconds, got {timeout_s!r}")
    if not 0 <= timeout_s <= MAX_CAPTURE_TIMEOUT_S:
        raise InputError(f"capture timeout must be between 0 (no limit) and {MAX_CAPTURE_TIMEOUT_S:.0f} s, "
                         f"got {timeout_s:g}")
    return views, float(timeout_s)
