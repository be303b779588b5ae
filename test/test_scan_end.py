"""When a capture that waits for the end of the scan stops: never on views that cannot come."""
from __future__ import annotations

from dff_grasp_ros.capture.scan_end import ScanEndWatch, ScanState

GOAL_NS = 1_000_000_000_000


def test_a_scan_in_progress_never_stops_the_capture():
    watch = ScanEndWatch(GOAL_NS, quiet_s=3.0)
    assert watch.should_stop(None, 0, 0.0) is None
    assert watch.should_stop(ScanState(48, 10, False, GOAL_NS + 1), 10, 100.0) is None


def test_done_and_every_pose_offered_stops_at_once():
    watch = ScanEndWatch(GOAL_NS)
    reason = watch.should_stop(ScanState(12, 12, True, GOAL_NS + 5), 12, 1.0)
    assert reason and "scan is done (12 of 12 poses visited)" in reason and "12 synchronised sets" in reason


def test_done_with_missed_poses_waits_for_a_looping_source_to_offer_them_again():
    watch = ScanEndWatch(GOAL_NS, quiet_s=3.0)
    done = ScanState(12, 12, True, GOAL_NS + 5)
    assert watch.should_stop(done, 9, 0.0) is None  # three poses passed before the capture began
    assert watch.should_stop(done, 10, 2.5) is None  # the loop brings them again: sets keep coming
    assert watch.should_stop(done, 11, 5.0) is None
    assert watch.should_stop(done, 12, 6.0) is not None


def test_done_and_a_quiet_stream_stops_after_the_quiet_time():
    watch = ScanEndWatch(GOAL_NS, quiet_s=3.0)
    done = ScanState(12, 12, True, GOAL_NS + 5)
    assert watch.should_stop(done, 5, 10.0) is None
    assert watch.should_stop(done, 5, 12.9) is None
    reason = watch.should_stop(done, 5, 13.1)
    assert reason and "no new set for 3 s" in reason


def test_a_scan_that_ended_before_the_goal_says_so():
    watch = ScanEndWatch(GOAL_NS, quiet_s=1.0)
    stale = ScanState(12, 12, True, GOAL_NS - 10)
    watch.should_stop(stale, 0, 0.0)
    reason = watch.should_stop(stale, 0, 1.5)
    assert reason and "ended before this capture began" in reason
