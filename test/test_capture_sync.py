"""Approximate-time synchronisation: sets complete on the last member, within slop, with bounded queues."""
import pytest

from dff_grasp_ros.capture.sync import ApproximateTimeSync

MS = 1_000_000
STREAMS = ("image", "depth", "camera_info", "pose")


def feed(sync, items):
    """items: (stream, stamp_ms); returns the list of completed sets as {stream: stamp_ms}."""
    out = []
    for stream, stamp_ms in items:
        matched = sync.add(stream, int(stamp_ms * MS), f"{stream}@{stamp_ms}")
        if matched is not None:
            assert all(s.msg == f"{name}@{s.stamp_ns / MS:g}" for name, s in matched.items())
            out.append({name: s.stamp_ns / MS for name, s in matched.items()})
    return out


def test_set_completes_when_its_last_member_arrives():
    sync = ApproximateTimeSync(STREAMS, slop_s=0.01)
    assert feed(sync, [("image", 100), ("depth", 101), ("camera_info", 100)]) == []
    assert feed(sync, [("pose", 103)]) == [{"pose": 103, "image": 100, "depth": 101, "camera_info": 100}]
    assert sync.pending() == {name: 0 for name in STREAMS} and sync.matched_sets == 1


def test_stamps_further_apart_than_slop_never_match():
    sync = ApproximateTimeSync(STREAMS, slop_s=0.01)
    assert feed(sync, [("image", 100), ("depth", 100), ("camera_info", 100), ("pose", 150)]) == []
    # The next image set matches the pose at 150; the stale set before it is discarded and counted.
    sets = feed(sync, [("image", 152), ("depth", 152), ("camera_info", 152)])
    assert sets == [{"camera_info": 152, "image": 152, "depth": 152, "pose": 150}]
    assert sync.dropped == 3


def test_fast_pose_stream_contributes_the_closest_pose():
    sync = ApproximateTimeSync(STREAMS, slop_s=0.02)
    items = [("pose", t) for t in range(0, 60, 10)]  # 100 Hz poses
    items += [("image", 33), ("depth", 33), ("camera_info", 33)]
    assert feed(sync, items) == [{"camera_info": 33, "image": 33, "depth": 33, "pose": 30}]
    assert sync.pending()["pose"] == 2  # 40 and 50 may still serve a later image
    assert sync.dropped == 3  # poses 0, 10, 20 are older than the match


def test_out_of_order_arrivals_within_a_stream():
    sync = ApproximateTimeSync(("a", "b"), slop_s=0.005)
    assert feed(sync, [("a", 200), ("a", 100), ("b", 101)]) == [{"b": 101, "a": 100}]
    assert feed(sync, [("b", 199)]) == [{"b": 199, "a": 200}]


def test_queues_are_bounded_when_a_stream_goes_silent():
    sync = ApproximateTimeSync(STREAMS, slop_s=0.01, queue_size=5)
    feed(sync, [("image", t) for t in range(100)])
    assert sync.pending()["image"] == 5 and sync.dropped == 95
    # The newest survivors still match once the other streams come back.
    assert feed(sync, [("depth", 99), ("camera_info", 99), ("pose", 99)]) == [
        {"pose": 99, "image": 99, "depth": 99, "camera_info": 99}]


@pytest.mark.parametrize("kwargs", [dict(streams=("a",), slop_s=0.1), dict(streams=("a", "a"), slop_s=0.1),
                                    dict(streams=("a", "b"), slop_s=-1.0),
                                    dict(streams=("a", "b"), slop_s=0.1, queue_size=0)])
def test_bad_configuration_is_refused(kwargs):
    with pytest.raises(ValueError):
        ApproximateTimeSync(**kwargs)


def test_unknown_stream_is_a_key_error():
    with pytest.raises(KeyError):
        ApproximateTimeSync(("a", "b"), slop_s=0.1).add("c", 0, None)
