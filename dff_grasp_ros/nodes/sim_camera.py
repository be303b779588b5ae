"""sim_camera: a simulated arm camera scanning a synthetic scene, publishing what a real RGB-D driver would.

Part of the test bed (it renders :mod:`dff_grasp_ros.synthetic` scenes); the product's nodes never need it.
Publishes, all with one stamp per frame: colour Image (rgb8), registered depth Image (16UC1 mm or 32FC1 m),
CameraInfo, the camera optical frame's pose in the base frame as PoseStamped, and the pose of the tool the camera
is mounted on (``camera_mount_*``) as PoseStamped (on /tf, base -> tool -> camera, when tf2_ros is importable).
The scan follows the product's scan-pose generator (plus jitter); its progress is latched on
``/dff/scan_status`` (done at the end of the first pass), as an arm driver following ``/scan_poses`` would. The
scene itself is latched on ``/sim_camera/scene`` (JSON) so that a capture of this stream can record it for the
synthetic teacher. With ``calibration_board`` the table is cleared, a ChArUco board lies on it and the poses turn
the tool about all three axes: a hand-eye calibration session with a known answer (the mount).

The simulated world changes (a pick took an object out) through ``/sim_camera/set_scene`` (JSON, the scene YAML's
schema): the camera then shows the new scene from one overview pose above the workspace (as an arm looks into the
bin after a pick), frame after frame, and latches the new scene on ``/sim_camera/scene``. A frame being rendered
when the change arrives is published before that latch: every frame after it shows the new scene.
"""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from dff_grasp.msg import ScanStatus
from dff_grasp_ros import names
from dff_grasp_ros.calibration.board import CharucoBoardSpec
from dff_grasp_ros.capture.scan_poses import tool_poses
from dff_grasp_ros.errors import one_line
from dff_grasp_ros.nodes.common import ParameterError, declare_parameters, latched_qos, spin_node
from dff_grasp_ros.nodes.params import SimCameraParams
from dff_grasp_ros.ros_io.camera_info import intrinsics_to_camera_info
from dff_grasp_ros.ros_io.image import depth_m_to_image, numpy_to_image
from dff_grasp_ros.ros_io.pose import matrix_to_pose_stamped, matrix_to_transform_stamped
from dff_grasp_ros.ros_io.stamp import make_header
from dff_grasp_ros.synthetic import load_scene, overview_pose, render_view, scan_poses, scene_intrinsics
from dff_grasp_ros.synthetic.board import (
    MOUNT_PARAMS,
    BoardOnTable,
    calibration_camera_poses,
    calibration_scene,
    mount_matrix,
    render_board_view,
)
from dff_grasp_ros.synthetic.export import check_views_in_memory_fit

SUBSCRIBER_GRACE_S = 0.5  # DDS matches the two ends of a topic at slightly different times
TOOL_POSE_RATE_HZ = 30.0
MIN_FRAME_GAP = 0.5  # of a frame period: a timer tick right after an overrunning render publishes nothing


def _tf_broadcasters(node: Node) -> tuple[Any, Any]:
    """(dynamic, static) TF broadcasters on a real ROS install, else (None, None)."""
    try:
        from tf2_ros import StaticTransformBroadcaster, TransformBroadcaster  # only on a real ROS install
    except ImportError:
        return None, None
    return TransformBroadcaster(node), StaticTransformBroadcaster(node)


class SimCameraNode(Node):
    """Publishes the scan of a synthetic scene as an RGB-D camera on an arm would."""

    NODE_NAME = "sim_camera"

    def __init__(self) -> None:
        super().__init__(self.NODE_NAME)
        self.p = declare_parameters(self, SimCameraParams)
        self.scene = load_scene(self.p.scene)
        self.intrinsics = scene_intrinsics(self.scene)
        self.camera_to_tool = mount_matrix(*(getattr(self.p, name) for name in MOUNT_PARAMS))
        self.board: BoardOnTable | None = None
        if self.p.calibration_board:
            try:
                spec = CharucoBoardSpec.from_params(self.p)
            except ValueError as err:
                raise ParameterError(f"parameters {self.NODE_NAME}.board_*: {err}") from err
            self.scene = calibration_scene(self.scene)
            self.board = BoardOnTable(spec, self.scene.scan.center_m[:2], yaw_deg=20.0)
            self.poses = calibration_camera_poses(self.board, self.p.calibration_views, seed=self.scene.seed)
        else:
            self.poses = scan_poses(self.scene)
        try:  # every view is rendered ahead and kept: refuse a scan that would not fit, not swap until killed
            check_views_in_memory_fit(self.scene, len(self.poses))
        except ValueError as err:
            raise ParameterError(f"parameter {self.NODE_NAME}.{'calibration_views' if self.board else 'scene'}: "
                                 f"{err}") from None
        self.tool_poses = tool_poses(self.poses, self.camera_to_tool)
        self.frame = 0  # frames published; each pose is held for hold_frames frames
        self.listener_since: float | None = None
        # Rendering is the slow part: every pose of the scan is rendered ahead, in order, on one background
        # thread from the moment the node starts (while the other nodes are still starting), and a loop re-uses
        # the views. A frame whose view is not ready yet waits for it.
        self._renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-render")
        self._views: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._scene_lock = threading.Lock()  # a frame is rendered and published from one scene, never a mix
        self.held_still = False  # after a scene change: the arm holds the overview pose, frames keep coming
        self.pub_image = self.create_publisher(Image, self.p.image_topic, 5)
        self.pub_depth = self.create_publisher(Image, self.p.depth_topic, 5)
        self.pub_info = self.create_publisher(CameraInfo, self.p.camera_info_topic, 5)
        self.pub_pose = self.create_publisher(PoseStamped, self.p.camera_pose_topic, 5)
        self.pub_tool = self.create_publisher(PoseStamped, self.p.tool_pose_topic, 5)
        self.pub_scene = self.create_publisher(String, names.SIM_SCENE_TOPIC, latched_qos())
        self.pub_scene.publish(String(data=json.dumps(self.scene.to_dict())))
        self.create_subscription(String, names.SIM_SET_SCENE_TOPIC, self.on_set_scene, latched_qos(),
                                 callback_group=MutuallyExclusiveCallbackGroup())
        self.pub_status = self.create_publisher(ScanStatus, names.SCAN_STATUS_TOPIC, latched_qos())
        self.publish_status(0)
        self.tf, static_tf = _tf_broadcasters(self) if self.p.publish_tf else (None, None)
        if static_tf is not None:
            static_tf.sendTransform(matrix_to_transform_stamped(self.camera_to_tool, self.p.tool_frame,
                                                                self.p.camera_frame, self.now_ns()))
        self.arm_at: int | None = None  # the scan pose the simulated arm stands at (None before the scan)
        self.last_frame_s = -float("inf")
        self.timer = self.create_timer(1.0 / self.p.rate_hz, self.publish_next)
        # The arm's state at its own rate, like a robot_state_publisher, in its own group so that a slow render
        # of the next view never stalls it (hand_eye checks the tool stood still before an image).
        self.tool_timer = self.create_timer(1.0 / TOOL_POSE_RATE_HZ, self.publish_tool,
                                            callback_group=MutuallyExclusiveCallbackGroup())
        self.render_ahead()
        self.get_logger().info(f"scene {self.scene.name!r}{' with a calibration board' if self.board else ''}: "
                               f"{len(self.poses)} views at {self.p.rate_hz} Hz ({'TF and ' if self.tf else ''}"
                               f"pose topics {self.p.camera_pose_topic}, {self.p.tool_pose_topic})")

    def now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def publish_status(self, views_done: int) -> None:
        count = len(self.poses)
        self.pub_status.publish(ScanStatus(header=make_header(self.p.base_frame, self.now_ns()), views_total=count,
                                           views_done=min(views_done, count), done=views_done >= count))

    def listened_to(self) -> bool:
        """True once the image topic has had a subscriber for SUBSCRIBER_GRACE_S (both ends matched)."""
        if self.listener_since is None:
            if self.pub_image.get_subscription_count() == 0:
                return False
            self.listener_since = time.monotonic()
        return time.monotonic() - self.listener_since >= SUBSCRIBER_GRACE_S

    def on_set_scene(self, msg: String) -> None:
        """The world changed: show the new scene from the overview pose (see the module docstring)."""
        try:
            scene = load_scene(json.loads(msg.data))
        except Exception as err:  # bad JSON or a scene that does not load: the world stays as it was
            self.get_logger().warning(f"ignoring a {names.SIM_SET_SCENE_TOPIC} message: {one_line(err)}")
            return
        if self.board is not None:
            self.get_logger().warning(f"calibration session: {names.SIM_SET_SCENE_TOPIC} ignored")
            return
        if scene_intrinsics(scene) != self.intrinsics:  # the world changed, not the camera on the arm
            self.get_logger().warning(
                f"ignoring a {names.SIM_SET_SCENE_TOPIC} message: its camera ({scene.camera.width}x"
                f"{scene.camera.height}) is another than this node's ({self.intrinsics.width}x"
                f"{self.intrinsics.height}); a camera changes only with a restart")
            return
        with self._scene_lock, self._lock:
            # Framing the world before the change too: where the picked object stood must be in the view.
            self.poses = overview_pose(scene, also=(self.scene,))[None]
            self.scene = scene
            self.tool_poses = tool_poses(self.poses, self.camera_to_tool)
            self.render_ahead()
            self.frame, self.arm_at, self.held_still = 0, 0, True
        self.pub_scene.publish(String(data=json.dumps(scene.to_dict())))
        self.get_logger().info(f"scene changed: {len(scene.objects)} objects; showing it from the overview pose")

    def publish_next(self) -> None:
        with self._scene_lock:
            self._publish_next()

    def _publish_next(self) -> None:
        hold, count = self.p.hold_frames, len(self.poses)
        if self.frame == 0 and not self.held_still and not self.listened_to():
            return  # an arm starts its scan once someone watches the camera; frames before that would be lost
        if self.pub_image.get_subscription_count() == 0:
            return  # nobody watches (a capture ended): frames would only take CPU from training
        if time.monotonic() - self.last_frame_s < MIN_FRAME_GAP / self.p.rate_hz:
            return  # frames of a held pose keep the camera's rate even after a slow render
        with self._lock:
            if self.frame >= hold * count and not (self.p.loop or self.held_still):
                return
            frame = self.frame
            self.frame += 1
        index = (frame // hold) % count
        self.arm_at = index  # the arm moves there first; the render below is the camera settling
        view = self._views[index].result()
        self.last_frame_s = time.monotonic()
        stamp_ns = self.now_ns()
        camera_frame = self.p.camera_frame
        self.pub_image.publish(numpy_to_image(view.rgb, "rgb8", frame_id=camera_frame, stamp_ns=stamp_ns))
        self.pub_depth.publish(depth_m_to_image(view.depth_m, self.p.depth_encoding, frame_id=camera_frame,
                                                stamp_ns=stamp_ns))
        self.pub_info.publish(intrinsics_to_camera_info(self.intrinsics, frame_id=camera_frame, stamp_ns=stamp_ns))
        self.pub_pose.publish(matrix_to_pose_stamped(self.poses[index], self.p.base_frame, stamp_ns))
        self.publish_tool(stamp_ns)
        if not self.held_still and frame < hold * count and (frame + 1) % hold == 0:  # the scan's first pass
            self.publish_status((frame + 1) // hold)

    def publish_tool(self, stamp_ns: int | None = None) -> None:
        """The tool's pose where the arm stands (PoseStamped, and base -> tool on /tf when tf2_ros exists)."""
        index, poses = self.arm_at, self.tool_poses  # a scene change swaps both: read each once
        if index is None or index >= len(poses):
            return
        stamp_ns = self.now_ns() if stamp_ns is None else stamp_ns
        self.pub_tool.publish(matrix_to_pose_stamped(poses[index], self.p.base_frame, stamp_ns))
        if self.tf is not None:
            self.tf.sendTransform(matrix_to_transform_stamped(poses[index], self.p.base_frame,
                                                              self.p.tool_frame, stamp_ns))

    def render_ahead(self) -> None:
        """Queue a render of every pose of the current scene (views of a replaced scene are dropped)."""
        for pending in self._views.values():
            pending.cancel()
        scene, poses, board = self.scene, self.poses, self.board
        self._views = {index: self._renderer.submit(self.render, scene, pose, board)
                       for index, pose in enumerate(poses)}

    def render(self, scene: Any, camera_to_base: np.ndarray, board: BoardOnTable | None) -> Any:
        if board is not None:
            return render_board_view(scene, self.intrinsics, camera_to_base, board)
        return render_view(scene, self.intrinsics, camera_to_base)

    def close(self) -> None:
        self._renderer.shutdown(wait=False, cancel_futures=True)


def main(args: list[str] | None = None) -> int:
    return spin_node(SimCameraNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
