"""When a capture that waits for the end of the scan stops: never on views that cannot come."""
from __future__ import annotations

from dff_grasp_ros.capture.scan_end import ScanEndWatch, ScanState

GOAL_NS = 1_000_000_000_000
DONE = ScanState(12, 12, True, GOAL_NS + 5)


def test_a_scan_in_progress_never_stops_the_capture():
    watch = ScanEndWatch(GOAL_NS, quiet_s=3.0)
    assert watch.should_stop(None, 0, 0, None, 0.0) is None
    assert watch.should_stop(ScanState(48, 10, False, GOAL_NS + 1), 10, 10, None, 100.0) is None


def test_done_and_every_pose_offered_stops_at_once():
    reason = ScanEndWatch(GOAL_NS).should_stop(DONE, 12, 12, 1.0, 1.0)
    assert reason and "scan is done (12 of 12 poses visited)" in reason and "12 synchronised sets" in reason


def test_done_with_missed_poses_waits_for_a_looping_source_to_offer_them_again():
    watch = ScanEndWatch(GOAL_NS, quiet_s=3.0)
    assert watch.should_stop(DONE, 9, 9, 0.0, 0.0) is None  # three poses passed before the capture began
    assert watch.should_stop(DONE, 10, 14, 5.0, 5.0) is None  # the loop brings them again: the camera keeps sending
    assert watch.should_stop(DONE, 11, 20, 9.9, 10.0) is None
    assert watch.should_stop(DONE, 12, 21, 11.0, 11.0) is not None


def test_a_looping_source_that_drops_frames_ends_after_one_more_pass_of_frames():
    watch = ScanEndWatch(GOAL_NS, quiet_s=3.0)
    assert watch.should_stop(DONE, 6, 15, 0.0, 0.0) is None  # half the frames were lost on the way
    assert watch.should_stop(DONE, 9, 26, 3.0, 3.0) is None
    reason = watch.should_stop(DONE, 10, 27, 3.2, 3.2)  # 12 more frames offered since the end: every pose again
    assert reason and "offered 12 more frames since" in reason


def test_a_busy_capture_works_through_its_backlog_before_the_quiet_rule_applies():
    watch = ScanEndWatch(GOAL_NS, quiet_s=3.0, settle_s=1.0)
    assert watch.should_stop(DONE, 5, 8, 0.0, 0.0) is None
    # The camera has been silent for 4 s, but queued frames are still being processed (a set every 0.5 s).
    assert watch.should_stop(DONE, 6, 8, 0.0, 3.5) is None
    assert watch.should_stop(DONE, 7, 8, 0.0, 4.0) is None
    assert watch.should_stop(DONE, 7, 8, 0.0, 4.5) is None
    reason = watch.should_stop(DONE, 7, 8, 0.0, 5.1)
    assert reason and "the camera has sent nothing for 3 s" in reason


def test_done_and_a_silent_camera_stops_after_the_quiet_time():
    watch = ScanEndWatch(GOAL_NS, quiet_s=3.0)
    assert watch.should_stop(DONE, 5, 5, 9.0, 10.0) is None
    assert watch.should_stop(DONE, 5, 5, 9.0, 12.9) is None
    assert watch.should_stop(DONE, 5, 5, 9.0, 13.1) is not None


def test_a_scan_that_ended_before_the_goal_says_so():
    watch = ScanEndWatch(GOAL_NS, quiet_s=1.0)
    stale = ScanState(12, 12, True, GOAL_NS - 10)
    watch.should_stop(stale, 0, 0, None, 0.0)
    reason = watch.should_stop(stale, 0, 0, None, 1.5)
    assert reason and "ended before this capture began" in reason
