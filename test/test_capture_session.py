"""CaptureSession end to end: clean scans become datasets, bad messages are counted while capture goes on,
and nothing half-written is ever visible (not even after SIGKILL)."""
import dataclasses
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dff_grasp_ros.capture.selection import SelectionSettings
from dff_grasp_ros.capture.session import CaptureSession, CaptureSettings
from dff_grasp_ros.capture.validate import RejectReason
from dff_grasp_ros.dataset import iter_datasets, load_dataset, newest_dataset
from dff_grasp_ros.ros_io.camera_info import intrinsics_to_camera_info
from dff_grasp_ros.ros_io.image import numpy_to_image
from dff_grasp_ros.ros_io.stamp import header_stamp_ns
from dff_grasp_ros.synthetic.capture_streams import (
    SMALL_CAMERA,
    TEST_SCENE,
    render,
    scan_messages,
    scan_poses_of_test_scene,
)

REPO = Path(__file__).resolve().parents[1]


def feed(session, messages):
    for stream, msg in messages:
        session.add(stream, msg)


def views_of(messages):
    """Group a scan_messages list into per-view dicts (4 messages per view)."""
    return [dict(messages[i:i + 4]) for i in range(0, len(messages), 4)]


@pytest.mark.parametrize("depth_encoding", ["32FC1", "16UC1"])
def test_clean_scan_becomes_a_dataset(tmp_path, depth_encoding):
    poses = scan_poses_of_test_scene(5)
    messages = scan_messages(poses, depth_encoding=depth_encoding)
    session = CaptureSession(tmp_path, metadata={"scene": {"name": TEST_SCENE}})
    feed(session, messages)
    assert session.kept == 5 and not any(session.rejected_by_reason.values())
    path = session.finish()
    assert newest_dataset(tmp_path) == path
    dataset = load_dataset(path)
    assert dataset.intrinsics == SMALL_CAMERA and dataset.base_frame == "base_link"
    np.testing.assert_allclose(dataset.poses(), poses, atol=1e-12)
    for frame, pose, view in zip(dataset.frames, poses, views_of(messages)):
        rgb, depth_m = render(pose)
        np.testing.assert_array_equal(dataset.load_rgb(frame), rgb)
        np.testing.assert_allclose(dataset.load_depth_m(frame), depth_m, atol=5.01e-4, equal_nan=True)
        assert frame.stamp_ns == header_stamp_ns(view["image"])
    assert dataset.metadata["scene"] == {"name": TEST_SCENE}
    assert dataset.metadata["capture"]["kept"] == 5
    assert dataset.metadata["capture"]["received"] == {"image": 5, "depth": 5, "camera_info": 5, "pose": 5}


def test_a_session_keeps_no_more_views_than_asked(tmp_path):
    """The bad-input hunt asked the capture node for 8 views and got 10: it looks at the count every 0.5 s while
    views keep arriving."""
    session = CaptureSession(tmp_path, max_views=3)
    feed(session, scan_messages(scan_poses_of_test_scene(5)))
    assert session.kept == 3
    assert len(load_dataset(session.finish()).frames) == 3


def _with_stamp(messages, stamp_ns: int):
    """Every message stamped ``stamp_ns``, as a driver without a clock (0) or with a frozen one publishes them."""
    for _, msg in messages:
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    return messages


def test_views_that_cannot_be_paired_by_time_are_rejected(tmp_path):
    """Before 2026-12-03 (third bad-input hunt) all-zero stamps (use_sim_time without a /clock, a driver that sets
    none) were kept: the sync pairs by stamp, so with two views' messages arriving interleaved (shuffled here in
    pairs of views, seeded) view 5's image was written with view 4's pose and the other way round."""
    messages = _with_stamp(scan_messages(scan_poses_of_test_scene(8)), 0)
    rng, order = random.Random(0), []
    for start in range(0, len(messages), 8):
        pair = messages[start:start + 8]
        rng.shuffle(pair)
        order += pair
    session = CaptureSession(tmp_path)
    feed(session, order)
    assert session.kept == 0 and session.rejected[RejectReason.UNUSABLE_STAMP] == 8
    assert "stamp is 0" in session.most_rejected()


def test_views_of_a_frozen_clock_after_the_first_are_rejected(tmp_path):
    session = CaptureSession(tmp_path)
    feed(session, _with_stamp(scan_messages(scan_poses_of_test_scene(4)), 1_700_000_000 * 10**9))
    assert session.kept == 1 and session.rejected[RejectReason.UNUSABLE_STAMP] == 3
    assert "the same stamp as kept view 0" in session.most_rejected()


def _spoil(view, defect):
    """Damage one view's messages the way a real system might."""
    image, pose = view["image"], view["pose"]
    if defect == RejectReason.NON_FINITE_POSE:
        pose.pose.orientation.w = float("nan")
    elif defect == RejectReason.NON_UNIT_QUATERNION:
        q = pose.pose.orientation
        q.x, q.y, q.z, q.w = 3 * q.x, 3 * q.y, 3 * q.z, 3 * q.w
    elif defect == RejectReason.FAR_POSE:
        pose.pose.position.x = 1e30  # a unit mix-up: finite, but no arm's camera is there
    elif defect == RejectReason.STALE_POSE:
        pose.header.stamp.nanosec += 30_000_000  # > max_pose_offset_s (20 ms), < slop (50 ms): syncs, then stale
    elif defect == RejectReason.WRONG_FRAME:
        pose.header.frame_id = "odom"
    elif defect == RejectReason.UNSUPPORTED_ENCODING:
        image.encoding = "yuv422"
    elif defect == RejectReason.SIZE_MISMATCH:
        view["image"] = numpy_to_image(np.zeros((24, 32, 3), np.uint8), "rgb8", frame_id=image.header.frame_id,
                                       stamp_ns=header_stamp_ns(image))
    elif defect == RejectReason.INTRINSICS_CHANGED:
        zoomed = dataclasses.replace(SMALL_CAMERA, fx=70.0, fy=70.0)
        view["camera_info"] = intrinsics_to_camera_info(zoomed, frame_id=image.header.frame_id,
                                                        stamp_ns=header_stamp_ns(image))
    elif defect == RejectReason.BLURRED:
        image.data = np.full(len(image.data), 128, np.uint8).tobytes()  # a flat grey frame: no detail at all
    elif defect == RejectReason.MALFORMED:
        image.data = bytes(image.data)[:10]
    elif defect == RejectReason.BAD_CAMERA_INFO:
        view["camera_info"].distortion_model = "equidistant"
    else:
        raise AssertionError(defect)


DEFECTS = [RejectReason.NON_FINITE_POSE, RejectReason.NON_UNIT_QUATERNION, RejectReason.FAR_POSE,
           RejectReason.STALE_POSE, RejectReason.WRONG_FRAME, RejectReason.UNSUPPORTED_ENCODING,
           RejectReason.SIZE_MISMATCH, RejectReason.INTRINSICS_CHANGED, RejectReason.BLURRED, RejectReason.MALFORMED,
           RejectReason.BAD_CAMERA_INFO]


def test_every_bad_message_kind_is_rejected_and_counted_while_capture_goes_on(tmp_path):
    # Good view first (fixes the intrinsics), then alternate bad and good views, then a near-duplicate.
    poses = scan_poses_of_test_scene(2 * len(DEFECTS) + 1)
    views = views_of(scan_messages(poses))
    for view, defect in zip(views[1::2], DEFECTS):
        _spoil(view, defect)
    duplicate = views_of(scan_messages(poses[:1], start_ns=1_800_000_000 * 10**9))[0]
    warnings: list[str] = []
    session = CaptureSession(tmp_path, CaptureSettings(warn_interval_s=0.0), warn=warnings.append)
    outcomes = []
    for view in views + [duplicate]:
        for stream in ("camera_info", "image", "depth", "pose"):
            outcomes.append(session.add(stream, view[stream]))
    session.add("pose", object())  # not a message at all
    session.add("imu", views[0]["image"])  # a stream the session does not know

    expected = {reason.value: 0 for reason in RejectReason}
    for defect in DEFECTS:
        expected[defect.value] = 1
    expected[RejectReason.TOO_CLOSE.value] = 1
    expected[RejectReason.MALFORMED.value] += 1  # the headerless object
    assert session.rejected_by_reason == expected
    assert session.kept == len(DEFECTS) + 1
    rejected = [o for o in outcomes if o is not None and not o.kept]
    assert [o.reason for o in rejected[:len(DEFECTS)]] == DEFECTS
    assert all(o.detail for o in rejected)
    assert len(warnings) == sum(expected.values()) + 1  # + the unknown stream
    assert any("stale_pose" in w for w in warnings) and any("imu" in w for w in warnings)
    dataset = load_dataset(session.finish())
    np.testing.assert_allclose(dataset.poses(), poses[0::2], atol=1e-12)
    assert dataset.metadata["capture"]["rejected_by_reason"] == expected


def test_warnings_are_rate_limited_per_reason(tmp_path):
    now = [0.0]
    warnings: list[str] = []
    session = CaptureSession(tmp_path, CaptureSettings(warn_interval_s=5.0), warn=warnings.append,
                             clock=lambda: now[0])
    views = views_of(scan_messages(scan_poses_of_test_scene(6)))
    for index, view in enumerate(views):
        view["pose"].header.frame_id = "map"
        if index == 5:
            now[0] = 10.0
        feed(session, view.items())
    assert session.rejected_by_reason["wrong_frame"] == 6
    assert len(warnings) == 2 and "4 similar suppressed" in warnings[1]


def test_a_broken_logger_does_not_break_capture(tmp_path):
    def explode(_message):
        raise RuntimeError("logger down")

    session = CaptureSession(tmp_path, warn=explode)
    views = views_of(scan_messages(scan_poses_of_test_scene(2)))
    views[0]["pose"].header.frame_id = "map"
    for view in views:
        feed(session, view.items())
    assert session.kept == 1 and session.rejected_by_reason["wrong_frame"] == 1


def test_finish_without_views_writes_nothing_and_abort_cleans_up(tmp_path):
    empty = CaptureSession(tmp_path)
    with pytest.raises(ValueError, match="no views"):
        empty.finish()
    session = CaptureSession(tmp_path)
    feed(session, scan_messages(scan_poses_of_test_scene(2)))
    assert any(tmp_path.iterdir())  # the staging directory holds the views so far
    session.abort()
    assert list(tmp_path.iterdir()) == [] and newest_dataset(tmp_path) is None
    assert session.add("image", None) is None  # late messages after abort are ignored
    with pytest.raises(RuntimeError):
        session.finish()


def test_earlier_datasets_are_never_overwritten(tmp_path):
    settings = CaptureSettings(selection=SelectionSettings(min_sharpness=0.0))
    paths = []
    for count in (2, 3):
        session = CaptureSession(tmp_path, settings, name="scan")
        feed(session, scan_messages(scan_poses_of_test_scene(count)))
        paths.append(session.finish())
    assert paths[0] != paths[1] and [p.name for p in iter_datasets(tmp_path)] == ["scan", "scan_2"]
    assert len(load_dataset(paths[0]).frames) == 2 and len(load_dataset(paths[1]).frames) == 3


CHILD = textwrap.dedent("""
    import sys, time
    from dff_grasp_ros.capture.session import CaptureSession
    from dff_grasp_ros.synthetic.capture_streams import scan_messages, scan_poses_of_test_scene
    session = CaptureSession(sys.argv[1], name="killed")
    for stream, msg in scan_messages(scan_poses_of_test_scene(3)):
        session.add(stream, msg)
    assert session.kept == 3, session.stats()
    print("fed", flush=True)
    time.sleep(120)
""")


def test_sigkill_mid_capture_leaves_no_visible_dataset(tmp_path):
    earlier = CaptureSession(tmp_path, name="earlier")
    feed(earlier, scan_messages(scan_poses_of_test_scene(2)))
    earlier_path = earlier.finish()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        line = child.stdout.readline()  # blocks until the child has fed its views (or died)
        assert line.strip() == "fed", child.stderr.read()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    partial = [p for p in tmp_path.iterdir() if p.name.startswith(".partial-killed")]
    assert len(partial) == 1 and len(list((partial[0] / "images").iterdir())) == 3  # the views were on disk...
    assert newest_dataset(tmp_path) == earlier_path  # ...but no reader will ever pick them up
    assert [p.name for p in iter_datasets(tmp_path)] == ["earlier"]
