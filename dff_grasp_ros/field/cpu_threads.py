"""How many CPU threads torch trains with: every core when they are free, one fewer when another process is busy.

torch's OpenMP threads wait for each other actively at every operation. When another busy process shares their
cores, one thread is descheduled and the others spin until it runs again. On the 2-core build machine with other
jobs running (2026-12-03, the demo's dataset, dff-tiny steps, OMP_NUM_THREADS as given):

- one thread: median 75-117 ms per step over 60 steps, in every run;
- two threads: 70 ms in one run, 594 ms in another; single steps took 0.5-3.8 s (CPU time equal to wall time:
  both threads spinning);
- two threads with passive waits (OMP_WAIT_POLICY=PASSIVE): 129-144 ms, slower than one.

On an idle machine two threads are faster than one. So training starts with a short probe: a few steps on one
thread fewer than the most, then a few on the most, and keeps the faster (the most only when clearly faster).
A step on the most that takes far longer than the probe's steps on fewer means another process took a core:
training goes on with fewer, for good. So on an idle machine and on a busy one every run trains with the same
threads and gives the same field (the threads change the float rounding, the field's low bits); only a load that
comes or goes during the probe or the training changes it.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

PROBE_STEPS = 4  # steps timed on each thread count; the median ignores one step slowed by anything else
WORTH_FACTOR = 0.85  # the most threads are kept when their median step takes under this share of fewer's
STALL_FACTOR = 2.5  # a step on the most slower than this many fewer-thread steps: a core was taken (stalls: 5-40x)


@dataclass
class ThreadSchedule:
    """Threads for each training step (:meth:`threads_for`), from the steps' measured durations (:meth:`record`).

    ``most``: the threads when every core is free; ``fewer``: those left when another process is busy (one fewer,
    at least one). Pure: the caller sets torch's threads and times the steps.
    """

    most: int
    adaptive: bool = True  # False: every step on ``most``
    probe_steps: int = PROBE_STEPS
    worth_factor: float = WORTH_FACTOR
    stall_factor: float = STALL_FACTOR
    step_s: dict[int, list[float]] = field(default_factory=dict)  # probe steps' durations per thread count
    chosen: int | None = None  # after the probe
    fell_back_at_step: int | None = None  # the step on the most that stalled, if one did
    steps_at: dict[int, int] = field(default_factory=dict)  # steps trained per thread count

    def __post_init__(self) -> None:
        if self.most < 1:
            raise ValueError(f"threads must be 1 or more, got {self.most}")
        if self.most == 1:  # nothing to choose from
            self.adaptive = False
        if not self.adaptive:
            self.chosen = self.most

    @classmethod
    def fixed(cls, threads: int) -> ThreadSchedule:
        """Every step on ``threads`` threads (a count the user chose)."""
        return cls(most=threads, adaptive=False)

    @property
    def fewer(self) -> int:
        return max(1, self.most - 1)

    def threads_for(self, step: int) -> int:
        """Threads for training step ``step`` (0-based, steps asked in order)."""
        if self.chosen is not None:
            return self.chosen
        return self.fewer if step < self.probe_steps else self.most

    def record(self, step: int, threads: int, seconds: float) -> None:
        """The duration of ``step``, trained on ``threads`` threads."""
        self.steps_at[threads] = self.steps_at.get(threads, 0) + 1
        if not self.adaptive:
            return
        if self.chosen is None:
            self.step_s.setdefault(threads, []).append(seconds)
            probed = self.step_s.get(self.most, [])
            if threads == self.most and seconds > self.stall_factor * self._median(self.fewer):
                self._fall_back(step)
            elif len(probed) >= self.probe_steps:
                faster = statistics.median(probed) < self.worth_factor * self._median(self.fewer)
                self.chosen = self.most if faster else self.fewer
        elif self.chosen == self.most and threads == self.most and \
                seconds > self.stall_factor * self._median(self.fewer):
            self._fall_back(step)

    def _median(self, threads: int) -> float:
        return statistics.median(self.step_s[threads])

    def _fall_back(self, step: int) -> None:
        self.chosen, self.fell_back_at_step = self.fewer, step

    def summary(self) -> dict[str, object]:
        """What field.json records: the probe's median step per thread count, the steps on each, any fallback."""
        return {"probe_step_ms": {str(t): round(1000 * statistics.median(s), 1) for t, s in self.step_s.items()},
                "steps_at_threads": {str(t): n for t, n in sorted(self.steps_at.items())},
                "fell_back_at_step": self.fell_back_at_step}
