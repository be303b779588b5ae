"""The next complete, valid RGB-D view from the camera streams after a moment (a scene update after a pick).

The query node's ``/dff/update_scene`` feeds the camera messages into a :class:`NextView` made when the request
arrived: they are synchronised (:class:`~dff_grasp_ros.capture.sync.ApproximateTimeSync`) and checked
(:func:`~dff_grasp_ros.capture.validate.validate_view`) exactly as a capture does, and the first set whose image
is stamped at or after the request is the answer. A set stamped earlier is skipped (it may show the scene before
the pick); a rejected set is remembered for the message if no valid one comes. Pure Python, no executor.
"""
from __future__ import annotations

import threading
from typing import Any

from dff_grasp_ros.capture.session import CAMERA_INFO, DEPTH, IMAGE, POSE, STREAMS
from dff_grasp_ros.capture.sync import ApproximateTimeSync
from dff_grasp_ros.capture.validate import RejectReason, ValidView, ViewRejected, validate_view
from dff_grasp_ros.errors import one_line
from dff_grasp_ros.ros_io.stamp import header_stamp_ns, missing_stamp_problem


class NextView:
    """Collects the first valid synchronised view stamped at or after ``after_ns``; thread-safe."""

    def __init__(self, after_ns: int, *, base_frame: str, slop_s: float, max_pose_offset_s: float) -> None:
        self.after_ns = int(after_ns)
        self.base_frame, self.max_pose_offset_s = base_frame, max_pose_offset_s
        self._sync = ApproximateTimeSync(STREAMS, slop_s=slop_s)
        self._lock = threading.Lock()
        self.done = threading.Event()
        self.view: ValidView | None = None
        self.sets_before = 0  # complete sets stamped before the request: skipped
        self.last_rejection: str | None = None
        self.received = dict.fromkeys(STREAMS, 0)

    def add(self, stream: str, msg: Any) -> None:
        """Feed one message (``image``, ``depth``, ``camera_info`` or ``pose``); never raises on bad input."""
        with self._lock:
            if self.view is not None:
                return
            self.received[stream] += 1
            try:
                stamp_ns = header_stamp_ns(msg)
            except (AttributeError, TypeError, ValueError) as err:
                self.last_rejection = f"a {stream} message without a usable header: {one_line(err)}"
                return
            matched = self._sync.add(stream, stamp_ns, msg)
            if matched is None:
                return
            no_stamp = missing_stamp_problem(matched[IMAGE].msg, "its depth and pose")
            if no_stamp:  # not "stamped before the request": its driver sets no time
                self.last_rejection = f"{RejectReason.UNUSABLE_STAMP.value}: {no_stamp}"
                return
            if matched[IMAGE].stamp_ns < self.after_ns:
                self.sets_before += 1
                return
            try:
                self.view = validate_view(matched[IMAGE].msg, matched[DEPTH].msg, matched[CAMERA_INFO].msg,
                                          matched[POSE].msg, base_frame=self.base_frame,
                                          max_pose_offset_s=self.max_pose_offset_s)
            except ViewRejected as rejection:
                self.last_rejection = str(rejection)
                return
            except Exception as err:  # a message no check foresaw: counted as malformed, never raised
                self.last_rejection = f"malformed: {one_line(err)}"
                return
            self.done.set()

    def note(self, rejection: str) -> None:
        """Remember why a message could not be used (e.g. no camera pose for an image)."""
        with self._lock:
            self.last_rejection = rejection

    def wait(self, timeout_s: float) -> ValidView | None:
        """The view, or None when none came within ``timeout_s``."""
        self.done.wait(timeout_s)
        with self._lock:
            return self.view

    def why_none(self) -> str:
        """Why no view was found: what arrived, and the last rejection."""
        with self._lock:
            arrived = ", ".join(f"{name} {count}" for name, count in self.received.items())
            text = f"messages received: {arrived}"
            if self.sets_before:
                text += f"; {self.sets_before} complete view(s) stamped before the request (skipped)"
            if self.last_rejection:
                text += f"; last view rejected: {self.last_rejection}"
            return text


__all__ = ["NextView"]
