"""When a capture that waits for the scan's end may stop (``CaptureViews.Goal.until_scan_done``).

The scan driver (an arm following ``/scan_poses``, or the simulated camera) latches a ``ScanStatus``: poses in the
scan, poses visited, and ``done`` once no new view will come. "Done" alone is not enough to stop on: a capture
that began after the scan started, from a camera that loops over its poses, would miss the first ones, and a
real camera keeps streaming the last pose. So, once the scan is done, the capture stops as soon as either

- it has processed at least as many synchronised sets as the scan has poses, or
- the camera has sent as many frames since the scan ended as the scan has poses (a looping source has offered every
  pose once more; a streaming camera has shown the final pose long enough), or
- the camera has sent nothing for ``quiet_s`` and the capture has worked through what it had received (no new set
  for ``settle_s``): nothing more can come.

Arrival and processing are told apart because a busy capture (writing views on a loaded machine) works through a
backlog of queued frames well after they arrived. Either way it never waits for views that cannot come.
"""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_QUIET_S = 3.0
DEFAULT_SETTLE_S = 1.0


@dataclass(frozen=True)
class ScanState:
    views_total: int
    views_done: int
    done: bool
    stamp_ns: int


class ScanEndWatch:
    """Fed the latest scan status, the capture's processed-set count and the camera's last arrival; says when (and
    why) to stop."""

    def __init__(self, goal_started_ns: int, quiet_s: float = DEFAULT_QUIET_S,
                 settle_s: float = DEFAULT_SETTLE_S) -> None:
        self.goal_started_ns = goal_started_ns
        self.quiet_s = quiet_s
        self.settle_s = settle_s
        self.sets_seen = 0
        self.last_set_s: float | None = None  # monotonic time the processed-set count last changed
        self.done_seen_s: float | None = None
        self.arrivals_at_done = 0

    def should_stop(self, state: ScanState | None, sets_received: int, arrivals: int, last_arrival_s: float | None,
                    now_s: float) -> str | None:
        """Why the capture may stop now (None: keep going). ``arrivals`` counts the camera's frames since the goal
        began, ``last_arrival_s`` is when the last came (None: none yet); times are one monotonic clock."""
        if sets_received != self.sets_seen or self.last_set_s is None:
            self.sets_seen, self.last_set_s = sets_received, now_s
        if state is None or not state.done:
            return None
        if self.done_seen_s is None:
            self.done_seen_s, self.arrivals_at_done = now_s, arrivals
        before = " (it ended before this capture began)" if state.stamp_ns and \
            state.stamp_ns < self.goal_started_ns else ""
        scan = f"the scan is done ({state.views_done} of {state.views_total} poses visited{before})"
        if sets_received >= state.views_total:
            return f"{scan}; {sets_received} synchronised sets received"
        if arrivals - self.arrivals_at_done >= state.views_total:
            return f"{scan}; the camera has offered {arrivals - self.arrivals_at_done} more frames since"
        silent_since = max(self.done_seen_s, last_arrival_s if last_arrival_s is not None else -float("inf"))
        if now_s - silent_since >= self.quiet_s and now_s - self.last_set_s >= self.settle_s:
            return f"{scan}; the camera has sent nothing for {self.quiet_s:g} s"
        return None
