"""The training's CPU threads: every core while they are free, one fewer once another process takes one."""
import pytest

from dff_grasp_ros.field.cpu_threads import PROBE_STEPS, ThreadSchedule


def train(schedule: ThreadSchedule, step_s, steps: int = 300) -> list[int]:
    """The threads of each step when a step on ``t`` threads at step ``i`` takes ``step_s(i, t)`` seconds."""
    used = []
    for step in range(steps):
        threads = schedule.threads_for(step)
        used.append(threads)
        schedule.record(step, threads, step_s(step, threads))
    return used


def test_free_cores_train_on_all_of_them_after_the_probe():
    schedule = ThreadSchedule(most=2)
    used = train(schedule, lambda step, threads: 0.110 if threads == 1 else 0.075)
    assert used[:PROBE_STEPS] == [1] * PROBE_STEPS and set(used[PROBE_STEPS:]) == {2}
    assert schedule.summary() == {"probe_step_ms": {"1": 110.0, "2": 75.0},
                                  "steps_at_threads": {"1": PROBE_STEPS, "2": 300 - PROBE_STEPS},
                                  "fell_back_at_step": None}


def test_busy_cores_at_the_start_train_on_fewer():
    """Measured with another job on the two cores: the first steps on two threads took 0.9-1.3 s, on one 0.11 s."""
    schedule = ThreadSchedule(most=2)
    used = train(schedule, lambda step, threads: 0.110 if threads == 1 else 1.2)
    assert used.count(2) == 1 and used[PROBE_STEPS] == 2 and schedule.fell_back_at_step == PROBE_STEPS


def test_no_faster_on_all_cores_keeps_fewer():
    """Two threads no faster than one (a busy machine between its stalls): the other core is left to others."""
    schedule = ThreadSchedule(most=2)
    used = train(schedule, lambda step, threads: 0.075 if threads == 1 else 0.070)
    assert used.count(2) == PROBE_STEPS and set(used[2 * PROBE_STEPS:]) == {1}


def test_a_core_taken_mid_training_costs_one_slow_step():
    """At step 50 another process started: two threads took 0.5-3.8 s a step from then on (measured)."""
    schedule = ThreadSchedule(most=2)
    used = train(schedule, lambda step, threads: 0.110 if threads == 1 else (0.075 if step < 50 else 2.4))
    assert used[50] == 2 and set(used[51:]) == {1} and schedule.fell_back_at_step == 50


def test_one_slow_step_in_the_probe_does_not_decide():
    times = {PROBE_STEPS: 0.2}  # twice a one-thread step: slow, not stalled
    schedule = ThreadSchedule(most=2)
    used = train(schedule, lambda step, threads: times.get(step, 0.110 if threads == 1 else 0.075))
    assert set(used[2 * PROBE_STEPS:]) == {2} and schedule.fell_back_at_step is None


@pytest.mark.parametrize("schedule", [ThreadSchedule.fixed(3), ThreadSchedule(most=1)])
def test_fixed_or_single_thread_never_changes(schedule):
    threads = schedule.most
    assert set(train(schedule, lambda step, t: 5.0 if step > 10 else 0.1)) == {threads}
    assert schedule.fell_back_at_step is None and schedule.summary()["steps_at_threads"] == {str(threads): 300}


def test_no_threads_is_refused():
    with pytest.raises(ValueError, match="threads must be 1 or more"):
        ThreadSchedule(most=0)
