"""Approximate-time synchronisation of several message streams by header stamp (pure Python, no executor).

Feed ``(stream, stamp_ns, message)`` in arrival order; :meth:`ApproximateTimeSync.add` returns a complete set
(one message per stream, all stamps within ``slop_s`` of each other) as soon as the last member arrives.
Whichever message completes a set is the pivot: every other stream contributes its message closest in time to
it. After a match, older messages are useless (time only moves forward), so they are discarded and counted in
:attr:`ApproximateTimeSync.dropped`, as are messages pushed out of a full queue.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Sequence

NS_PER_S = 1_000_000_000


@dataclass(frozen=True, order=True)
class Stamped:
    """A message with its header stamp; ordered by stamp, then arrival."""

    stamp_ns: int
    arrival: int
    msg: Any = field(compare=False)


class ApproximateTimeSync:
    """Match one message per stream whose stamps span at most ``slop_s``; queues hold ``queue_size`` each."""

    def __init__(self, streams: Sequence[str], *, slop_s: float, queue_size: int = 30) -> None:
        if len(streams) < 2 or len(set(streams)) != len(streams):
            raise ValueError(f"need at least two distinct stream names, got {list(streams)}")
        if not slop_s >= 0:
            raise ValueError(f"slop_s must be >= 0, got {slop_s}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        self.streams = tuple(streams)
        self.slop_ns = int(round(slop_s * NS_PER_S))
        self.queue_size = int(queue_size)
        self._queues: dict[str, list[Stamped]] = {name: [] for name in self.streams}
        self._arrivals = 0
        self.dropped = 0  # messages discarded without ever being part of a set
        self.matched_sets = 0

    def add(self, stream: str, stamp_ns: int, msg: Any) -> dict[str, Stamped] | None:
        """Queue a message; return ``{stream: Stamped}`` if it completes a set, else ``None``."""
        if stream not in self._queues:
            raise KeyError(f"unknown stream {stream!r}; streams are {self.streams}")
        queue = self._queues[stream]
        item = Stamped(int(stamp_ns), self._arrivals, msg)
        self._arrivals += 1
        bisect.insort(queue, item)  # out-of-order arrivals within a stream stay sorted by stamp
        if len(queue) > self.queue_size:
            queue.pop(0)
            self.dropped += 1
            if item not in queue:
                return None
        return self._match(stream, item)

    def _match(self, pivot_stream: str, pivot: Stamped) -> dict[str, Stamped] | None:
        chosen = {pivot_stream: pivot}
        for name, queue in self._queues.items():
            if name == pivot_stream:
                continue
            if not queue:
                return None
            chosen[name] = min(queue, key=lambda s: abs(s.stamp_ns - pivot.stamp_ns))
        stamps = [s.stamp_ns for s in chosen.values()]
        if max(stamps) - min(stamps) > self.slop_ns:
            return None
        for name, picked in chosen.items():
            queue = self._queues[name]
            cut = queue.index(picked)
            self.dropped += cut  # strictly older than the picked one: can never match a later set
            del queue[: cut + 1]
        self.matched_sets += 1
        return chosen

    def pending(self) -> dict[str, int]:
        """Queued (unmatched) messages per stream."""
        return {name: len(queue) for name, queue in self._queues.items()}


__all__ = ["ApproximateTimeSync", "Stamped"]
