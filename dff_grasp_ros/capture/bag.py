"""Import a rosbag2 recording (sqlite3 or MCAP) into a dataset, through the same CaptureSession as live capture.

Messages are read with the pure-Python ``rosbags`` package and deserialised into its own message classes;
:class:`~dff_grasp_ros.capture.session.CaptureSession` is duck-typed, so nothing is converted to rclpy first.
Messages are fed in recorded (log-time) order, exactly as a live node would have received them.

A bag that cannot be read (empty, truncated, not a bag) is one :class:`BagImportError` naming it, and nothing is
written. A message that cannot be decoded is counted per topic, warned about, and reported in the dataset's
``dff_grasp.bag_undecodable`` and in :func:`import_summary`; the import goes on with the others. A view that
cannot be written (a full disk) stops the import: a dataset silently missing views would be worse.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable, Mapping

from dff_grasp_ros.atomic import check_output_root
from dff_grasp_ros.capture.session import CAMERA_INFO, DEPTH, IMAGE, POSE, CaptureSession, CaptureSettings
from dff_grasp_ros.capture.validate import RejectReason
from dff_grasp_ros.errors import one_line

# Message types accepted per stream (rosbags spells ROS 2 types "pkg/msg/Type").
ACCEPTED_TYPES: dict[str, tuple[str, ...]] = {
    IMAGE: ("sensor_msgs/msg/Image",),
    DEPTH: ("sensor_msgs/msg/Image",),
    CAMERA_INFO: ("sensor_msgs/msg/CameraInfo",),
    POSE: ("geometry_msgs/msg/PoseStamped", "geometry_msgs/msg/TransformStamped"),
}
DEFAULT_TYPESTORE = "ros2_kilted"  # fallback definitions for bags that do not embed their message definitions


class BagImportError(ValueError):
    """The bag cannot be imported as asked (unreadable, missing topic, wrong type, nothing usable in it)."""


def _is_bag_read_error(err: BaseException) -> bool:
    """Errors of rosbags' readers and their storage (sqlite3, MCAP parsing), as opposed to our own bugs."""
    import sqlite3
    import struct

    module = type(err).__module__.split(".")[0]
    return module == "rosbags" or isinstance(err, (sqlite3.Error, struct.error, EOFError, OSError, KeyError,
                                                   IndexError, ValueError, UnicodeDecodeError, RecursionError))


def bag_read_failure(bag_path: Path, err: BaseException, where: str = "") -> BagImportError | None:
    """The one line for an error of rosbags' readers (None for our own errors, which pass through as they are);
    every reader of bags (capture's import, calibration's views) words it the same."""
    if isinstance(err, BagImportError) or not isinstance(err, Exception) or not _is_bag_read_error(err):
        return None
    return BagImportError(f"bag {bag_path} cannot be read{where} (empty, truncated or not a rosbag2): "
                          f"{one_line(err)}")


def _typestore(name: str) -> Any:
    from rosbags.typesys import Stores, get_typestore

    try:
        return get_typestore(Stores(name))
    except ValueError as err:
        raise BagImportError(f"unknown rosbags typestore {name!r}; e.g. ros2_kilted, ros2_jazzy") from err


def _check_topics(topics: Mapping[str, str], settings: CaptureSettings) -> dict[str, str]:
    """``{topic: stream}``, refusing unknown stream names or missing required streams."""
    required = {IMAGE, CAMERA_INFO, POSE} | ({DEPTH} if settings.use_depth else set())
    unknown = set(topics) - set(ACCEPTED_TYPES)
    missing = required - set(topics)
    if unknown or missing:
        raise BagImportError(f"topics must map {sorted(required)} to bag topics; unknown keys {sorted(unknown)}, "
                             f"missing {sorted(missing)}")
    by_topic: dict[str, str] = {}
    for stream, topic in topics.items():
        if stream not in required:
            continue
        if topic in by_topic:
            raise BagImportError(f"topic {topic!r} given for both {by_topic[topic]!r} and {stream!r}")
        by_topic[topic] = stream
    return by_topic


def import_bag(bag_path: Path, out_root: Path, topics: Mapping[str, str], *,
               settings: CaptureSettings | None = None, metadata: dict[str, Any] | None = None,
               name: str | None = None, typestore: str = DEFAULT_TYPESTORE,
               warn: Callable[[str], None] | None = None,
               progress: Callable[[int, int], None] | None = None) -> Path:
    """Read ``topics`` (``{"image": "/camera/color/image_raw", "depth": ..., "camera_info": ..., "pose": ...}``)
    from the bag at ``bag_path`` and publish a dataset under ``out_root``; returns the dataset path.

    ``progress(messages_done, messages_total)`` is called as messages are fed. Raises :class:`BagImportError`
    for a missing topic or wrong message type, and when no view survived validation and selection.
    """
    from rosbags.highlevel import AnyReader

    bag_path = Path(bag_path)
    if not bag_path.exists():
        raise BagImportError(f"no bag at {bag_path}")
    if settings is None:
        settings = CaptureSettings(pose_source=f"bag:{topics.get(POSE, '')}")
    stream_of_topic = _check_topics(topics, settings)
    check_output_root(Path(out_root))
    store = _typestore(typestore)
    meta = {"source": "bag", "bag_path": str(bag_path.resolve()), "bag_topics": dict(topics), **(metadata or {})}
    undecodable: Counter[str] = Counter()
    session: CaptureSession | None = None
    done = total = 0
    try:
        with AnyReader([bag_path], default_typestore=store) as reader:
            available = {c.topic: c.msgtype for c in reader.connections}
            for topic, stream in stream_of_topic.items():
                if topic not in available:
                    raise BagImportError(f"topic {topic!r} ({stream}) not in bag {bag_path}; it has "
                                         f"{sorted(available)}")
                if available[topic] not in ACCEPTED_TYPES[stream]:
                    raise BagImportError(f"topic {topic!r} has type {available[topic]}; {stream} needs one of "
                                         f"{ACCEPTED_TYPES[stream]}")
            connections = [c for c in reader.connections if c.topic in stream_of_topic]
            total = sum(c.msgcount for c in connections)
            if total == 0:
                raise BagImportError(f"bag {bag_path} holds no messages on {sorted(stream_of_topic)}")
            session = CaptureSession(out_root, settings, metadata=meta, name=name, warn=warn)
            for connection, _, raw in reader.messages(connections=connections):
                done += 1
                try:
                    msg = reader.deserialize(raw, connection.msgtype)
                except Exception as err:  # one bad record must not end the import: counted and reported
                    undecodable[connection.topic] += 1
                    if warn is not None and undecodable[connection.topic] == 1:
                        warn(f"cannot decode a {connection.msgtype} message on {connection.topic}: {one_line(err)}")
                    continue
                outcome = session.add(stream_of_topic[connection.topic], msg)
                if outcome is not None and outcome.reason is RejectReason.WRITE_FAILED:
                    raise BagImportError(f"writing the dataset under {out_root} failed, import stopped, nothing "
                                         f"published: {outcome.detail}")
                if progress is not None:
                    progress(done, total)
    except BaseException as err:
        if session is not None:
            session.abort()
        failure = bag_read_failure(bag_path, err, f" after {done} of {total} messages" if done else "")
        if failure is not None:
            raise failure from err
        raise
    if session.kept == 0:  # why, in words: the counts of the reasons that occurred and the most frequent's detail
        rejected = ", ".join(f"{reason}={count}" for reason, count in session.rejected_by_reason.items() if count)
        why = (f"views rejected: {rejected}; most often {session.most_rejected()}" if rejected else
               f"no synchronised view among {sum(session.received.values())} messages")
        lost = f"; {sum(undecodable.values())} messages could not be decoded" if undecodable else ""
        session.abort()
        raise BagImportError(f"{bag_path}: no views kept, nothing written ({why}){lost}")
    return session.finish({"bag_undecodable": dict(undecodable)})


def import_summary(dataset_path: Path) -> str:
    """One line on what an import kept and dropped, from the dataset's own record of it."""
    from dff_grasp_ros.dataset import load_dataset

    ours = load_dataset(Path(dataset_path)).metadata
    stats = ours.get("capture", {})
    received = sum(stats.get("received", {}).values())
    rejected = {k: v for k, v in stats.get("rejected_by_reason", {}).items() if v}
    undecodable = ours.get("bag_undecodable", {})
    parts = [f"imported {stats.get('kept', ours.get('num_views', 0))} views from {ours.get('bag_path', 'the bag')}",
             f"{received} messages decoded"]
    if rejected:
        parts.append("views rejected: " + ", ".join(f"{k}={v}" for k, v in rejected.items()))
    if undecodable:
        parts.append(f"{sum(undecodable.values())} messages could not be decoded ("
                     + ", ".join(f"{topic}: {count}" for topic, count in undecodable.items()) + ")")
    return "; ".join(parts)


__all__ = ["import_bag", "import_summary", "BagImportError", "ACCEPTED_TYPES"]
