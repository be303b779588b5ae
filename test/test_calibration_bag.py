"""Calibration views from a rosbag2: the arm stops at each pose; frames while it moves are rejected, the tool pose
comes from a PoseStamped topic or from the TF tree, and both give the simulator's mount back."""
from __future__ import annotations

import json

import numpy as np
import pytest
from calibration_fixtures import simulated_session
from rclpy.serialization import serialize_message
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore
from scipy.spatial.transform import Rotation, Slerp

from dff_grasp_ros.calibration import calibrate_collected
from dff_grasp_ros.calibration.bag import views_from_bag
from dff_grasp_ros.calibration.solve import transform_difference
from dff_grasp_ros.capture.bag import BagImportError
from dff_grasp_ros.ros_io.camera_info import intrinsics_to_camera_info
from dff_grasp_ros.ros_io.image import numpy_to_image
from dff_grasp_ros.ros_io.pose import matrix_to_pose_stamped

NS = 1_000_000_000
IMAGE, INFO, POSE = "/camera/color/image_raw", "/camera/color/camera_info", "/tool/pose"
LINK0 = np.eye(4)
LINK0[:3, 3] = [0.1, 0.0, 0.3]  # base_link -> link0, static


def tool_pose_at(poses: np.ndarray, t: float) -> np.ndarray:
    """Pose k held for 1 s from t = 2k, then moved to pose k + 1 over 1 s."""
    k = min(int(t // 2), len(poses) - 1)
    fraction = min(max(t - 2 * k - 1.0, 0.0), 1.0) if k + 1 < len(poses) else 0.0
    if fraction == 0.0:
        return poses[k]
    out = np.eye(4)
    out[:3, :3] = Slerp([0, 1], Rotation.from_matrix(poses[k:k + 2, :3, :3]))(fraction).as_matrix()
    out[:3, 3] = (1 - fraction) * poses[k, :3, 3] + fraction * poses[k + 1, :3, 3]
    return out


def tf_message(typestore, parent: str, child: str, stamp_ns: int, child_to_parent: np.ndarray) -> bytes:
    """A tf2_msgs/TFMessage as CDR bytes (rosbags' own classes: tf2_msgs has no wheel here)."""
    t = typestore.types
    q = Rotation.from_matrix(child_to_parent[:3, :3]).as_quat()
    x, y, z = child_to_parent[:3, 3]
    header = t["std_msgs/msg/Header"](stamp=t["builtin_interfaces/msg/Time"](sec=stamp_ns // NS,
                                                                              nanosec=stamp_ns % NS), frame_id=parent)
    transform = t["geometry_msgs/msg/Transform"](translation=t["geometry_msgs/msg/Vector3"](x=x, y=y, z=z),
                                                 rotation=t["geometry_msgs/msg/Quaternion"](x=q[0], y=q[1], z=q[2],
                                                                                           w=q[3]))
    stamped = t["geometry_msgs/msg/TransformStamped"](header=header, child_frame_id=child, transform=transform)
    return bytes(typestore.serialize_cdr(t["tf2_msgs/msg/TFMessage"](transforms=[stamped]), "tf2_msgs/msg/TFMessage"))


def write_session_bag(path, use_tf: bool, views: int | None = None) -> None:
    sim = simulated_session()
    poses = sim.tool_to_base()[:views]
    typestore = get_typestore(Stores.ROS2_KILTED)
    messages = []  # (time_ns, topic, msg)
    start = 100 * NS
    for step in range(int(2 * len(poses) / 0.05)):
        t = step * 0.05
        stamp = start + int(round(t * NS))
        pose = tool_pose_at(poses, t)
        if use_tf:
            messages.append((stamp, "/tf", tf_message(typestore, "link0", "tool0", stamp,
                                                      np.linalg.inv(LINK0) @ pose)))
        else:
            messages.append((stamp, POSE, matrix_to_pose_stamped(pose, "base_link", stamp)))
    if use_tf:
        messages.append((start, "/tf_static", tf_message(typestore, "base_link", "link0", start, LINK0)))
    intrinsics = sim_intrinsics(sim)
    for k, image in enumerate(sim.images[:views]):
        # 0.2 s after arriving (moved 0.5 s ago: rejected), 0.7 s (still: kept), 0.9 s (same pose: skipped),
        # 1.5 s (on the way to the next pose: rejected).
        for offset in (0.2, 0.7, 0.9, 1.5):
            stamp = start + int(round((2 * k + offset) * NS))
            messages.append((stamp, INFO, intrinsics_to_camera_info(intrinsics, frame_id="camera", stamp_ns=stamp)))
            messages.append((stamp, IMAGE, numpy_to_image(image, "rgb8", frame_id="camera", stamp_ns=stamp)))
    types = {IMAGE: "sensor_msgs/msg/Image", INFO: "sensor_msgs/msg/CameraInfo", POSE: "geometry_msgs/msg/PoseStamped",
             "/tf": "tf2_msgs/msg/TFMessage", "/tf_static": "tf2_msgs/msg/TFMessage"}
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connections = {}
        for time_ns, topic, msg in sorted(messages, key=lambda m: m[0]):
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, types[topic], typestore=typestore)
            writer.write(connections[topic], time_ns, msg if isinstance(msg, bytes) else serialize_message(msg))


def sim_intrinsics(sim):
    from dff_grasp_ros.dataset import CameraIntrinsics

    k = sim.camera.K
    return CameraIntrinsics(sim.camera.width, sim.camera.height, k[0, 0], k[1, 1], k[0, 2] + 0.5, k[1, 2] + 0.5)


@pytest.mark.parametrize("use_tf", [False, True], ids=["pose_topic", "tf_tree"])
def test_bag_gives_one_view_per_stop_and_the_true_mount(tmp_path, use_tf):
    sim = simulated_session()
    write_session_bag(tmp_path / "bag", use_tf)
    collector = views_from_bag(tmp_path / "bag", sim.placement.board, image_topic=IMAGE, camera_info_topic=INFO,
                               pose_topic="" if use_tf else POSE, tool_frame="tool0")
    assert len(collector.views) == len(sim.names)
    # The 0.9 s frames, and the last pose's 1.5 s frame (no next pose to move to).
    assert collector.same_pose_skipped == len(sim.names) + 1
    reasons = [r.reason for r in collector.rejected]
    assert sum("arm was moving" in r for r in reasons) == 2 * len(sim.names) - 2
    assert sum("cannot tell the arm was still" in r for r in reasons) == 1  # the first frame of the bag
    result = calibrate_collected(collector)
    error_mm, error_deg = transform_difference(result.camera_to_tool, sim.camera_to_tool)
    assert error_mm < 2.0 and error_deg < 0.2


def test_cli_from_bag_writes_the_result_and_the_views(tmp_path, capsys):
    from dff_grasp_ros.cli import main

    write_session_bag(tmp_path / "bag", use_tf=False)
    out, views = tmp_path / "hand_eye.yaml", tmp_path / "views"
    code = main(["calibrate", "--from-bag", str(tmp_path / "bag"), "--tool-pose-topic", POSE, "--out", str(out),
                 "--keep-views", str(views), "--json"])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and answer["success"] and out.is_file(), answer["message"]
    assert len(list(views.glob("*.png"))) == len(simulated_session().names)
    # The kept views re-run offline to the same answer.
    assert main(["calibrate", "--views", str(views), "--out", str(tmp_path / "again.yaml"), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert np.allclose(again["translation_m"], answer["translation_m"], atol=1e-4)


def test_bag_problems_name_the_topic_or_frame(tmp_path):
    sim = simulated_session()
    write_session_bag(tmp_path / "bag", use_tf=True, views=1)
    with pytest.raises(BagImportError, match="/nope"):
        views_from_bag(tmp_path / "bag", sim.placement.board, image_topic="/nope", camera_info_topic=INFO)
    with pytest.raises(BagImportError, match="frame 'flange' is not in the bag's TF tree"):
        views_from_bag(tmp_path / "bag", sim.placement.board, image_topic=IMAGE, camera_info_topic=INFO,
                       tool_frame="flange")
    with pytest.raises(BagImportError, match="'world' is not above 'tool0'"):
        views_from_bag(tmp_path / "bag", sim.placement.board, image_topic=IMAGE, camera_info_topic=INFO,
                       base_frame="world")
