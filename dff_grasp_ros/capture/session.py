"""A capture session: messages in, a dataset directory out (sync -> validate -> select -> DatasetWriter).

The capture node and the bag importer both feed a :class:`CaptureSession`; messages are duck-typed, so rclpy
messages and rosbags messages go through the same code. A bad message never raises out of ``add_*``: it is
counted under a :class:`RejectReason` and reported through a rate-limited warning callback (the node passes
its logger's ``warning``), and capture goes on. Nothing is visible to readers until :meth:`finish` publishes
the dataset atomically under a new name; earlier datasets are never overwritten.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dff_grasp_ros.capture.selection import SelectionSettings, ViewSelector
from dff_grasp_ros.capture.sync import ApproximateTimeSync, Stamped
from dff_grasp_ros.capture.validate import RejectReason, ValidView, ViewRejected, validate_view
from dff_grasp_ros.dataset import CameraIntrinsics, DatasetWriter, timestamped_name
from dff_grasp_ros.ros_io.stamp import header_stamp_ns

IMAGE, DEPTH, CAMERA_INFO, POSE = "image", "depth", "camera_info", "pose"
STREAMS = (IMAGE, DEPTH, CAMERA_INFO, POSE)


@dataclass(frozen=True)
class CaptureSettings:
    """Tunables of a capture (the node maps its ROS parameters onto these)."""

    base_frame: str = "base_link"
    use_depth: bool = True
    slop_s: float = 0.05  # max spread of stamps within one synchronised set
    queue_size: int = 30  # per stream; bounds memory if one stream stops
    max_pose_offset_s: float = 0.02  # pose stamp vs image stamp; beyond it the pose is stale
    selection: SelectionSettings = field(default_factory=SelectionSettings)
    name_prefix: str = "scan"
    pose_source: str = "topic"  # recorded in the dataset: "tf", "topic", "bag:/topic", ...
    warn_interval_s: float = 5.0  # at most one warning per reject reason per interval

    def __post_init__(self) -> None:
        if not (self.slop_s >= 0 and self.max_pose_offset_s >= 0 and self.warn_interval_s >= 0):
            raise ValueError("slop_s, max_pose_offset_s and warn_interval_s must be >= 0")
        if not self.base_frame:
            raise ValueError("base_frame must not be empty")


@dataclass(frozen=True)
class ViewOutcome:
    """What happened to one synchronised set."""

    kept: bool
    reason: RejectReason | None = None
    detail: str = ""
    stamp_ns: int = 0


class CaptureSession:
    """Feeds messages through sync, validation and view selection into an atomically published dataset."""

    def __init__(self, out_root: Path, settings: CaptureSettings = CaptureSettings(), *,
                 metadata: dict[str, Any] | None = None, name: str | None = None,
                 warn: Callable[[str], None] | None = None, clock: Callable[[], float] = time.monotonic,
                 max_views: int | None = None) -> None:
        """``max_views``: the views asked for; sets completed after that many were kept are ignored (the node
        looks at the count twice a second, and views kept meanwhile made a capture of 8 write 10)."""
        self.out_root = Path(out_root)
        self.max_views = max_views
        self.settings = settings
        self.metadata = dict(metadata or {})
        self.name = name or timestamped_name(settings.name_prefix)
        self._warn = warn
        self._clock = clock
        self.streams = STREAMS if settings.use_depth else (IMAGE, CAMERA_INFO, POSE)
        self._sync = ApproximateTimeSync(self.streams, slop_s=settings.slop_s, queue_size=settings.queue_size)
        self._selector = ViewSelector(settings.selection)
        self._writer: DatasetWriter | None = None
        self._intrinsics: CameraIntrinsics | None = None
        self._lock = threading.Lock()  # the node may call add_* from several executor threads
        self._closed = False
        self._last_warn_s: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.rejected: Counter[RejectReason] = Counter()
        self.kept = 0
        self._kept_stamps: dict[int, int] = {}  # image stamp -> index of the kept view
        self.last_detail: dict[RejectReason, str] = {}  # per reason, the latest rejected view's detail

    # --- feeding -------------------------------------------------------------------------------------------
    def add_image(self, msg: Any) -> ViewOutcome | None:
        return self.add(IMAGE, msg)

    def add_depth(self, msg: Any) -> ViewOutcome | None:
        return self.add(DEPTH, msg)

    def add_camera_info(self, msg: Any) -> ViewOutcome | None:
        return self.add(CAMERA_INFO, msg)

    def add_pose(self, msg: Any) -> ViewOutcome | None:
        """A PoseStamped or TransformStamped of the camera optical frame in the base frame."""
        return self.add(POSE, msg)

    def add(self, stream: str, msg: Any) -> ViewOutcome | None:
        """Feed one message; returns the outcome if it completed a synchronised set. Never raises on bad input."""
        with self._lock:
            if self._closed or (self.max_views is not None and self.kept >= self.max_views):
                return None
            if stream not in self.streams:
                self._report("unknown_stream", f"ignoring message on unknown stream {stream!r}")
                return None
            self.received[stream] += 1
            try:
                stamp_ns = header_stamp_ns(msg)
            except (AttributeError, TypeError, ValueError) as err:
                return self._reject(RejectReason.MALFORMED, f"{stream} message without a usable header: {err}", 0)
            matched = self._sync.add(stream, stamp_ns, msg)
            if matched is None:
                return None
            return self._process(matched)

    # --- results -------------------------------------------------------------------------------------------
    @property
    def rejected_by_reason(self) -> dict[str, int]:
        """Rejections per reason, every reason listed (zeros included) so logs show what was checked."""
        return {reason.value: self.rejected[reason] for reason in RejectReason}

    def most_rejected(self) -> str:
        """``"reason: detail"`` of the most frequent rejection (its latest view), '' if none: what to fix."""
        if not self.last_detail:
            return ""
        reason = max(self.last_detail, key=lambda r: self.rejected[r])
        return f"{reason.value}: {self.last_detail[reason]}"

    def stats(self) -> dict[str, Any]:
        return {
            "received": {s: self.received[s] for s in self.streams},
            "synchronised": self._sync.matched_sets,
            "unmatched_messages": self._sync.dropped,
            "kept": self.kept,
            "rejected_by_reason": self.rejected_by_reason,
        }

    @property
    def dataset_name(self) -> str:
        return self.name

    def finish(self, extra_metadata: dict[str, Any] | None = None) -> Path:
        """Publish the dataset atomically and return its path; ValueError if no view was kept.

        ``extra_metadata`` joins the dataset's ``dff_grasp`` block: facts learnt during the capture (the
        simulated scene arrives on a latched topic, possibly after the first views).
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("capture session already finished or aborted")
            self._closed = True
            if self._writer is None:
                raise ValueError(f"no views kept, nothing to write; capture stats: {self.stats()}")
            self._writer.metadata.update(extra_metadata or {})
            self._writer.metadata["capture"] = self.stats()
            try:
                return self._writer.commit()
            except BaseException:
                self._writer.abort()
                raise

    def abort(self) -> None:
        """Drop everything captured so far (the staging directory is removed)."""
        with self._lock:
            self._closed = True
            if self._writer is not None:
                self._writer.abort()

    # --- internals -----------------------------------------------------------------------------------------
    def _process(self, matched: dict[str, Stamped]) -> ViewOutcome:
        stamp_ns = matched[IMAGE].stamp_ns
        if stamp_ns in self._kept_stamps:  # a frozen clock: as with no stamp, sets match by arrival, not by time
            return self._reject(RejectReason.UNUSABLE_STAMP, f"the image has the same stamp as kept view "
                                f"{self._kept_stamps[stamp_ns]} ({stamp_ns / 1e9:.3f} s): the camera driver's "
                                f"clock does not advance, so image, depth and pose cannot be paired by time",
                                stamp_ns)
        try:
            view = validate_view(
                matched[IMAGE].msg, matched[DEPTH].msg if DEPTH in matched else None, matched[CAMERA_INFO].msg,
                matched[POSE].msg, base_frame=self.settings.base_frame,
                max_pose_offset_s=self.settings.max_pose_offset_s, expected_intrinsics=self._intrinsics)
        except ViewRejected as rejection:
            return self._reject(rejection.reason, rejection.detail, stamp_ns)
        except Exception as err:
            return self._reject(RejectReason.MALFORMED, f"{type(err).__name__}: {err}", stamp_ns)
        skip = self._selector.check(view.rgb, view.camera_to_base)
        if skip is not None:
            return self._reject(skip[0], skip[1], stamp_ns)
        try:
            self._store(view)
        except Exception as err:
            return self._reject(RejectReason.WRITE_FAILED, f"{type(err).__name__}: {err}", stamp_ns)
        self._selector.remember(view.camera_to_base)
        self._kept_stamps[stamp_ns] = self.kept
        self.kept += 1
        return ViewOutcome(True, stamp_ns=stamp_ns)

    def _store(self, view: ValidView) -> None:
        if self._writer is None:
            self._writer = DatasetWriter(self.out_root, self.name, view.intrinsics,
                                         base_frame=self.settings.base_frame,
                                         pose_source=self.settings.pose_source, metadata=self.metadata)
            self._intrinsics = view.intrinsics
        self._writer.add_view(view.rgb, view.depth_m, view.camera_to_base, stamp_ns=view.stamp_ns)

    def _reject(self, reason: RejectReason, detail: str, stamp_ns: int) -> ViewOutcome:
        self.rejected[reason] += 1
        self.last_detail[reason] = detail
        self._report(reason.value, f"rejected view at t={stamp_ns / 1e9:.3f} s: {reason.value}: {detail}")
        return ViewOutcome(False, reason, detail, stamp_ns)

    def _report(self, key: str, message: str) -> None:
        if self._warn is None:
            return
        now = self._clock()
        last = self._last_warn_s.get(key)
        if last is not None and now - last < self.settings.warn_interval_s:
            self._suppressed[key] += 1
            return
        suppressed = self._suppressed.pop(key, 0)
        self._last_warn_s[key] = now
        with contextlib.suppress(Exception):
            self._warn(message + (f" ({suppressed} similar suppressed)" if suppressed else ""))


__all__ = ["CaptureSession", "CaptureSettings", "ViewOutcome", "STREAMS", "IMAGE", "DEPTH", "CAMERA_INFO", "POSE"]
