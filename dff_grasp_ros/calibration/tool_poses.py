"""The tool's pose at an image's stamp: from a PoseStamped stream, or from a TF tree (``/tf`` + ``/tf_static``).

Used where tf2_ros is absent (a rosbag read with ``rosbags``, a pip-only install): a short time-sorted history per
frame pair, looked up at the sample nearest in time, refused beyond ``max_age_ns``.
"""
from __future__ import annotations

import bisect

import numpy as np

from dff_grasp_ros.names import frame_name


class PoseHistory:
    """Poses of one frame in another, by stamp (ns); nearest-in-time lookup within a maximum age."""

    def __init__(self, max_samples: int = 100_000) -> None:
        self.stamps: list[int] = []
        self.poses: list[np.ndarray] = []
        self.max_samples = max_samples
        self.static = False  # one static transform (``/tf_static``): valid at every time

    def add(self, stamp_ns: int, pose: np.ndarray, static: bool = False) -> None:
        """A sample at ``stamp_ns``; with ``static``, the one pose at every time. A flag, not a stamp value: a
        message stamped -1 ns once equalled such a marker and its pose answered for every later image."""
        if static or self.static:
            if static:
                self.static, self.stamps, self.poses = True, [0], [pose]
            return
        index = bisect.bisect_right(self.stamps, stamp_ns)
        self.stamps.insert(index, stamp_ns)
        self.poses.insert(index, pose)
        if len(self.stamps) > self.max_samples:
            del self.stamps[0], self.poses[0]

    def at(self, stamp_ns: int, max_age_ns: int) -> np.ndarray | None:
        """The sample nearest ``stamp_ns`` if it is at most ``max_age_ns`` away (any stamp for a static one)."""
        if not self.stamps:
            return None
        if self.static:
            return self.poses[0]
        index = bisect.bisect_left(self.stamps, stamp_ns)
        best = min((i for i in (index - 1, index) if 0 <= i < len(self.stamps)),
                   key=lambda i: abs(self.stamps[i] - stamp_ns))
        return self.poses[best] if abs(self.stamps[best] - stamp_ns) <= max_age_ns else None


class TfTree:
    """Parent <- child transforms (TF convention: the child frame's pose in the parent) and chain look-ups."""

    def __init__(self) -> None:
        self.parent_of: dict[str, str] = {}
        self.history: dict[str, PoseHistory] = {}

    def add(self, parent: str, child: str, stamp_ns: int, child_to_parent: np.ndarray, static: bool = False) -> None:
        parent, child = frame_name(parent), frame_name(child)
        self.parent_of[child] = parent
        self.history.setdefault(child, PoseHistory()).add(stamp_ns, child_to_parent, static)

    def lookup(self, target: str, source: str, stamp_ns: int, max_age_ns: int) -> np.ndarray | None:
        """source_to_target (the ``source`` frame's pose in ``target``), ``target`` being an ancestor of
        ``source``; None when a link is missing or has no sample close enough in time."""
        target, source = frame_name(target), frame_name(source)
        pose = np.eye(4)
        frame, hops = source, 0
        while frame != target:
            if frame not in self.parent_of or hops > 100:
                return None
            link = self.history[frame].at(stamp_ns, max_age_ns)
            if link is None:
                return None
            pose = link @ pose
            frame, hops = self.parent_of[frame], hops + 1
        return pose

    def chain(self, source: str) -> list[str]:
        """Frames from ``source`` up to its root (for messages that say what the tree holds)."""
        frames = [frame_name(source)]
        while frames[-1] in self.parent_of and len(frames) < 100:
            frames.append(self.parent_of[frames[-1]])
        return frames
