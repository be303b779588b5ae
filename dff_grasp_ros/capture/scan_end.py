"""When a capture that waits for the scan's end may stop (``CaptureViews.Goal.until_scan_done``).

The scan driver (an arm following ``/scan_poses``, or the simulated camera) latches a ``ScanStatus``: poses in the
scan, poses visited, and ``done`` once no new view will come. "Done" alone is not enough to stop on: a capture
that began after the scan started, from a camera that loops over its poses, would miss the first ones, and a
real camera keeps streaming the last pose. So, once the scan is done, the capture stops as soon as either

- it has received at least as many synchronised sets as the scan has poses (a looping source has offered every
  pose again; a streaming camera has shown the final pose), or
- no set has arrived for ``quiet_s`` (the source has stopped: nothing more can come).

Either way it never waits for views that cannot come.
"""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_QUIET_S = 3.0


@dataclass(frozen=True)
class ScanState:
    views_total: int
    views_done: int
    done: bool
    stamp_ns: int


class ScanEndWatch:
    """Fed the latest scan status and the capture's set count; says when (and why) to stop."""

    def __init__(self, goal_started_ns: int, quiet_s: float = DEFAULT_QUIET_S) -> None:
        self.goal_started_ns = goal_started_ns
        self.quiet_s = quiet_s
        self.sets_seen = 0
        self.last_change_s: float | None = None  # monotonic time the set count (or the done flag) last changed
        self.done_seen = False

    def should_stop(self, state: ScanState | None, sets_received: int, now_s: float) -> str | None:
        """Why the capture may stop now (None: keep going). ``now_s`` is a monotonic clock."""
        if sets_received != self.sets_seen or self.last_change_s is None:
            self.sets_seen, self.last_change_s = sets_received, now_s
        if state is None or not state.done:
            return None
        if not self.done_seen:
            self.done_seen, self.last_change_s = True, now_s
        before = " (it ended before this capture began)" if state.stamp_ns and \
            state.stamp_ns < self.goal_started_ns else ""
        scan = f"the scan is done ({state.views_done} of {state.views_total} poses visited{before})"
        if sets_received >= state.views_total:
            return f"{scan}; {sets_received} synchronised sets received"
        if now_s - self.last_change_s >= self.quiet_s:
            return f"{scan}; no new set for {self.quiet_s:g} s"
        return None
