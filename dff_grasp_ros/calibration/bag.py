"""Calibration views from a rosbag2 recording (sqlite3 or MCAP), read with ``rosbags`` as capture's bag import is.

Record the camera image, its CameraInfo and the tool pose while moving the arm from pose to pose and stopping
at each (``ros2 bag record /camera/color/image_raw /camera/color/camera_info /tf /tf_static``). The tool pose at
each image comes from a PoseStamped (or TransformStamped) topic of the tool in the base frame, or from the TF
tree ``base_frame <- tool_frame``. Images taken while the arm moved are rejected (the tool pose the still time
before must match); the arm standing still at a pose gives one view, not one per frame.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from dff_grasp_ros.calibration.board import CharucoBoardSpec
from dff_grasp_ros.calibration.camera import PinholeCamera
from dff_grasp_ros.calibration.tool_poses import PoseHistory, TfTree
from dff_grasp_ros.calibration.views import CollectorSettings, ViewCollector
from dff_grasp_ros.capture.bag import BagImportError, _typestore, bag_read_failure
from dff_grasp_ros.errors import one_line
from dff_grasp_ros.names import frame_name

POSE_TYPES = ("geometry_msgs/msg/PoseStamped", "geometry_msgs/msg/TransformStamped")
TF_TYPE = "tf2_msgs/msg/TFMessage"
TF_TOPICS = ("/tf", "/tf_static")
NS = 1_000_000_000


def _stamp(msg: Any) -> int:
    return int(msg.header.stamp.sec) * NS + int(msg.header.stamp.nanosec)


def views_from_bag(bag_path: Path, board: CharucoBoardSpec, *, image_topic: str, camera_info_topic: str,
                   pose_topic: str = "", base_frame: str = "base_link", tool_frame: str = "tool0",
                   settings: CollectorSettings | None = None, still_time_s: float = 0.5,
                   max_pose_age_s: float = 0.05, typestore: str = "ros2_kilted", keep_images: bool = False,
                   progress: Callable[[int, int], None] | None = None) -> ViewCollector:
    """Offer every image of the bag (with the tool pose at its stamp) to a :class:`ViewCollector`.

    ``pose_topic`` '' means: use the TF tree on /tf and /tf_static. Raises :class:`BagImportError` naming the
    missing topic or frame.
    """
    from rosbags.highlevel import AnyReader

    from dff_grasp_ros.ros_io.pose import PoseError, stamped_to_matrix, transform_to_matrix

    bag_path = Path(bag_path)
    if not bag_path.exists():
        raise BagImportError(f"no bag at {bag_path}")
    max_age_ns, still_ns = int(max_pose_age_s * NS), int(still_time_s * NS)
    try:
        with AnyReader([bag_path], default_typestore=_typestore(typestore)) as reader:
            available = {c.topic: c.msgtype for c in reader.connections}
            wanted = {image_topic: ("sensor_msgs/msg/Image",), camera_info_topic: ("sensor_msgs/msg/CameraInfo",)}
            if pose_topic:
                wanted[pose_topic] = POSE_TYPES
            elif "/tf" not in available:
                raise BagImportError(f"no pose topic given and no /tf in {bag_path}; it has {sorted(available)}")
            for topic, types in wanted.items():
                if topic not in available:
                    raise BagImportError(f"topic {topic!r} not in {bag_path}; it has {sorted(available)}")
                if available[topic] not in types:
                    raise BagImportError(f"topic {topic!r} has type {available[topic]}; expected one of {types}")
            pose_topics = [pose_topic] if pose_topic else [t for t in TF_TOPICS if t in available]
            history, tree = PoseHistory(), TfTree()
            for connection, _, raw in reader.messages(connections=[c for c in reader.connections
                                                                   if c.topic in pose_topics]):
                try:  # a record that cannot be decoded is a pose sample that is not there, as a bad pose is
                    msg = reader.deserialize(raw, connection.msgtype)
                except Exception:
                    continue
                try:
                    if pose_topic:
                        matrix, _, stamp = stamped_to_matrix(msg)
                        history.add(stamp, matrix)
                    else:
                        for tf in msg.transforms:
                            tree.add(tf.header.frame_id, tf.child_frame_id, _stamp(tf),
                                     transform_to_matrix(tf.transform), static=connection.topic == "/tf_static")
                except PoseError:
                    continue  # a bad pose sample is simply not there: views at its time find no pose

            def tool_pose(stamp_ns: int) -> Any:
                if pose_topic:
                    return history.at(stamp_ns, max_age_ns)
                return tree.lookup(base_frame, tool_frame, stamp_ns, max_age_ns)

            if not pose_topic and frame_name(tool_frame) not in tree.parent_of:
                raise BagImportError(f"frame {tool_frame!r} is not in the bag's TF tree (frames: "
                                     f"{sorted(set(tree.parent_of) | set(tree.parent_of.values()))})")
            if not pose_topic and frame_name(base_frame) not in tree.chain(tool_frame):
                raise BagImportError(f"{base_frame!r} is not above {tool_frame!r} in the bag's TF tree "
                                     f"(chain: {' <- '.join(reversed(tree.chain(tool_frame)))})")
            collector = ViewCollector(board, settings, keep_images=keep_images)
            camera = None
            image_connections = [c for c in reader.connections if c.topic in (image_topic, camera_info_topic)]
            total = sum(c.msgcount for c in image_connections if c.topic == image_topic)
            done = 0
            for connection, bag_ns, raw in reader.messages(connections=image_connections):
                try:
                    msg = reader.deserialize(raw, connection.msgtype)
                except Exception as err:  # one bad record must not end the calibration (as in capture's import)
                    if connection.topic == image_topic:
                        done += 1
                        collector.reject(f"t{bag_ns / NS:.3f}", f"cannot decode the image: {one_line(err)}")
                    continue
                if connection.topic == camera_info_topic:
                    try:
                        camera = PinholeCamera.from_camera_info(msg)
                    except ValueError:
                        camera = None
                    continue
                done += 1
                if progress is not None:
                    progress(done, total)
                stamp = _stamp(msg)
                name = f"t{stamp / NS:.3f}"
                reason = None
                pose = tool_pose(stamp)
                if camera is None:
                    reason = f"no usable {camera_info_topic} before this image"
                elif pose is None:
                    reason = f"no tool pose within {max_pose_age_s} s of the image stamp"
                if reason:
                    collector.reject(name, reason)
                    continue
                earlier = tool_pose(stamp - still_ns) if still_ns > 0 else None
                collector.offer_message(name, msg, camera, pose, earlier, still_time_s)
    except Exception as err:
        failure = bag_read_failure(bag_path, err)
        if failure is not None:
            raise failure from err
        raise
    return collector

