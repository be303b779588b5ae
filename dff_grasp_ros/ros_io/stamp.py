"""ROS time stamps and headers <-> integer nanoseconds (exact: no float seconds on the way)."""
from __future__ import annotations

from typing import Any

from builtin_interfaces.msg import Time
from std_msgs.msg import Header

NS_PER_S = 1_000_000_000


def stamp_to_ns(stamp: Any) -> int:
    """``builtin_interfaces/Time`` (``sec``, ``nanosec``; rclpy or rosbags message) to nanoseconds."""
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def ns_to_stamp(stamp_ns: int) -> Time:
    """Nanoseconds to ``builtin_interfaces/Time``; negative times are not representable in ROS."""
    stamp_ns = int(stamp_ns)
    if stamp_ns < 0:
        raise ValueError(f"ROS time cannot be negative, got {stamp_ns} ns")
    sec, nanosec = divmod(stamp_ns, NS_PER_S)
    return Time(sec=sec, nanosec=nanosec)


def make_header(frame_id: str, stamp_ns: int) -> Header:
    return Header(frame_id=str(frame_id), stamp=ns_to_stamp(stamp_ns))


def header_stamp_ns(msg: Any) -> int:
    """Nanoseconds of ``msg.header.stamp``."""
    return stamp_to_ns(msg.header.stamp)


def missing_stamp_problem(msg: Any, paired_with: str) -> str | None:
    """Why an image cannot be paired with ``paired_with`` by time: its stamp is 0, what a driver without a clock
    (or ``use_sim_time`` without a ``/clock``) sends; None when it has a stamp."""
    if header_stamp_ns(msg) != 0:
        return None
    return (f"the image's header stamp is 0: the camera driver sets no time (use_sim_time without a /clock?), so "
            f"it cannot be paired with {paired_with} by time")
