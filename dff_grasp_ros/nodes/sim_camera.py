"""sim_camera: a simulated arm camera scanning a synthetic scene, publishing what a real RGB-D driver would.

Part of the test bed (it renders :mod:`dff_grasp_ros.synthetic` scenes); the product's nodes never need it.
Publishes, all with one stamp per frame: colour Image (rgb8), registered depth Image (16UC1 mm or 32FC1 m),
CameraInfo, and the camera optical frame's pose in the base frame as PoseStamped (and on /tf when tf2_ros is
importable). The scene itself is latched on ``/sim_camera/scene`` (JSON) so that a capture of this stream can
record it for the synthetic teacher.
"""
from __future__ import annotations

import json
import threading
from typing import Any

from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from dff_grasp_ros import names
from dff_grasp_ros.nodes.common import declare_parameters, latched_qos, spin_node
from dff_grasp_ros.nodes.params import SimCameraParams
from dff_grasp_ros.ros_io.camera_info import intrinsics_to_camera_info
from dff_grasp_ros.ros_io.image import depth_m_to_image, numpy_to_image
from dff_grasp_ros.ros_io.pose import matrix_to_pose_stamped, matrix_to_transform_stamped
from dff_grasp_ros.synthetic import load_scene, render_view, scan_poses, scene_intrinsics


def _tf_broadcaster(node: Node) -> Any:
    try:
        from tf2_ros import TransformBroadcaster  # only on a real ROS install
    except ImportError:
        return None
    return TransformBroadcaster(node)


class SimCameraNode(Node):
    """Publishes the scan of a synthetic scene as an RGB-D camera on an arm would."""

    NODE_NAME = "sim_camera"

    def __init__(self) -> None:
        super().__init__(self.NODE_NAME)
        self.p = declare_parameters(self, SimCameraParams)
        self.scene = load_scene(self.p.scene)
        self.intrinsics = scene_intrinsics(self.scene)
        self.poses = scan_poses(self.scene)
        self.index = 0
        self._views: dict[int, Any] = {}  # rendering is the slow part; a loop re-uses it
        self._lock = threading.Lock()
        self.pub_image = self.create_publisher(Image, self.p.image_topic, 5)
        self.pub_depth = self.create_publisher(Image, self.p.depth_topic, 5)
        self.pub_info = self.create_publisher(CameraInfo, self.p.camera_info_topic, 5)
        self.pub_pose = self.create_publisher(PoseStamped, self.p.camera_pose_topic, 5)
        self.pub_scene = self.create_publisher(String, names.SIM_SCENE_TOPIC, latched_qos())
        self.pub_scene.publish(String(data=json.dumps(self.scene.to_dict())))
        self.tf = _tf_broadcaster(self) if self.p.publish_tf else None
        self.timer = self.create_timer(1.0 / self.p.rate_hz, self.publish_next)
        self.get_logger().info(f"scene {self.scene.name!r}: {len(self.poses)} views at {self.p.rate_hz} Hz "
                               f"({'TF and ' if self.tf else ''}pose topic {self.p.camera_pose_topic})")

    def publish_next(self) -> None:
        with self._lock:
            if self.index >= len(self.poses):
                if not self.p.loop:
                    return
                self.index = 0
            index = self.index
            self.index += 1
        view = self._views.get(index)
        if view is None:
            view = self._views[index] = render_view(self.scene, self.intrinsics, self.poses[index])
        stamp_ns = self.get_clock().now().nanoseconds
        frame = self.p.camera_frame
        self.pub_image.publish(numpy_to_image(view.rgb, "rgb8", frame_id=frame, stamp_ns=stamp_ns))
        self.pub_depth.publish(depth_m_to_image(view.depth_m, self.p.depth_encoding, frame_id=frame,
                                                stamp_ns=stamp_ns))
        self.pub_info.publish(intrinsics_to_camera_info(self.intrinsics, frame_id=frame, stamp_ns=stamp_ns))
        self.pub_pose.publish(matrix_to_pose_stamped(self.poses[index], self.p.base_frame, stamp_ns))
        if self.tf is not None:
            self.tf.sendTransform(matrix_to_transform_stamped(self.poses[index], self.p.base_frame, frame, stamp_ns))


def main(args: list[str] | None = None) -> int:
    return spin_node(SimCameraNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
