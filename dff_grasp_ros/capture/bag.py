"""Import a rosbag2 recording (sqlite3 or MCAP) into a dataset, through the same CaptureSession as live capture.

Messages are read with the pure-Python ``rosbags`` package and deserialised into its own message classes;
:class:`~dff_grasp_ros.capture.session.CaptureSession` is duck-typed, so nothing is converted to rclpy first.
Messages are fed in recorded (log-time) order, exactly as a live node would have received them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from dff_grasp_ros.capture.session import CAMERA_INFO, DEPTH, IMAGE, POSE, CaptureSession, CaptureSettings

# Message types accepted per stream (rosbags spells ROS 2 types "pkg/msg/Type").
ACCEPTED_TYPES: dict[str, tuple[str, ...]] = {
    IMAGE: ("sensor_msgs/msg/Image",),
    DEPTH: ("sensor_msgs/msg/Image",),
    CAMERA_INFO: ("sensor_msgs/msg/CameraInfo",),
    POSE: ("geometry_msgs/msg/PoseStamped", "geometry_msgs/msg/TransformStamped"),
}
DEFAULT_TYPESTORE = "ros2_kilted"  # fallback definitions for bags that do not embed their message definitions


class BagImportError(ValueError):
    """The bag cannot be imported as asked (missing topic, wrong type, nothing usable in it)."""


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
    meta = {"source": "bag", "bag_path": str(bag_path.resolve()), "bag_topics": dict(topics), **(metadata or {})}
    with AnyReader([bag_path], default_typestore=_typestore(typestore)) as reader:
        available = {c.topic: c.msgtype for c in reader.connections}
        for topic, stream in stream_of_topic.items():
            if topic not in available:
                raise BagImportError(f"topic {topic!r} ({stream}) not in bag; it has {sorted(available)}")
            if available[topic] not in ACCEPTED_TYPES[stream]:
                raise BagImportError(f"topic {topic!r} has type {available[topic]}; {stream} needs one of "
                                     f"{ACCEPTED_TYPES[stream]}")
        connections = [c for c in reader.connections if c.topic in stream_of_topic]
        total = sum(c.msgcount for c in connections)
        session = CaptureSession(out_root, settings, metadata=meta, name=name, warn=warn)
        try:
            for done, (connection, _, raw) in enumerate(reader.messages(connections=connections), start=1):
                session.add(stream_of_topic[connection.topic], reader.deserialize(raw, connection.msgtype))
                if progress is not None:
                    progress(done, total)
        except BaseException:
            session.abort()
            raise
    try:
        return session.finish()
    except ValueError as err:
        raise BagImportError(f"{bag_path}: {err}") from err


__all__ = ["import_bag", "BagImportError", "ACCEPTED_TYPES"]
