"""capture: calibrated arm-camera views -> a nerfstudio dataset on disk, driven by the ``/capture_views`` action.

Thin ROS layer over :class:`dff_grasp_ros.capture.session.CaptureSession`: subscribes to the colour image, the
registered depth, CameraInfo and the camera pose (from TF when tf2_ros is importable, else a PoseStamped topic),
and while a goal is active feeds every message into the session, which synchronises, validates, selects and
writes atomically. Bad messages are counted and warned about (throttled); they never stop a capture.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from geometry_msgs.msg import PoseStamped
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from dff_grasp.action import CaptureViews
from dff_grasp.msg import ScanStatus
from dff_grasp_ros import names
from dff_grasp_ros.atomic import check_output_root
from dff_grasp_ros.capture.scan_end import ScanEndWatch, ScanState
from dff_grasp_ros.capture.selection import SelectionSettings
from dff_grasp_ros.capture.session import CaptureSession, CaptureSettings
from dff_grasp_ros.errors import InputError, one_line
from dff_grasp_ros.goals import check_capture_request
from dff_grasp_ros.nodes.common import (
    CameraWatch,
    Throttle,
    camera_pose_from_tf,
    camera_stream_qos,
    check_default_views,
    declare_parameters,
    end_goal_quietly,
    how_read,
    latched_qos,
    publisher_qos,
    request_subscription,
    sensor_qos,
    shutting_down,
    silent_streams,
    spin_node,
    tf_buffer,
)
from dff_grasp_ros.nodes.params import CaptureParams
from dff_grasp_ros.ros_io.stamp import header_stamp_ns

FEEDBACK_PERIOD_S = 0.5
STREAM_DEPTH = 20  # a few seconds of frames while a view is written


def capture_settings(p: CaptureParams, pose_source: str) -> CaptureSettings:
    return CaptureSettings(
        base_frame=p.base_frame, slop_s=p.sync_slop_s, max_pose_offset_s=p.max_pose_age_s, pose_source=pose_source,
        selection=SelectionSettings(min_translation_m=p.min_view_distance_m, min_rotation_deg=p.min_view_angle_deg,
                                    min_sharpness=p.min_sharpness))


class CaptureNode(Node):
    """Serves the ``/capture_views`` action from the camera streams."""

    NODE_NAME = "capture"

    def __init__(self) -> None:
        super().__init__(self.NODE_NAME)
        self.p = declare_parameters(self, CaptureParams)
        check_default_views(self.NODE_NAME, self.p.default_views, self.p.min_views)
        self.session: CaptureSession | None = None
        self.session_lock = threading.Lock()
        self.busy = False  # from a goal's acceptance to its end: the session only exists once it executes
        self.scene: dict | None = None  # set when the stream comes from a simulated camera
        self.tf_buffer, self.tf_listener = tf_buffer(self, self.p.pose_source)
        self.pose_source = "tf" if self.tf_buffer is not None else "topic"
        self.tf_warn = Throttle(5.0)
        self.create_subscription(String, names.SIM_SCENE_TOPIC, self.on_scene, latched_qos())
        self.scan_state: ScanState | None = None  # the scan driver's latest ScanStatus
        self.create_subscription(ScanStatus, names.SCAN_STATUS_TOPIC, self.on_scan_status, latched_qos())
        self.arrivals = 0  # camera frames during the current goal, counted apart from the (busy) stream callbacks
        self.last_arrival_s: float | None = None
        self.server = ActionServer(self, CaptureViews, names.CAPTURE_VIEWS_ACTION,
                                   execute_callback=self.execute_checked, goal_callback=self.on_goal,
                                   cancel_callback=lambda _: CancelResponse.ACCEPT,
                                   callback_group=ReentrantCallbackGroup())
        self.get_logger().info(f"ready: poses from {self.pose_source}, datasets in {self.p.datasets_dir}")

    def on_scene(self, msg: String) -> None:
        try:
            self.scene = json.loads(msg.data)
        except ValueError:
            self.get_logger().warning(f"ignoring an unreadable {names.SIM_SCENE_TOPIC} message")

    def on_arrival(self, msg: CameraInfo) -> None:
        self.arrivals += 1
        self.last_arrival_s = time.monotonic()

    def subscribe_streams(self) -> list[Any]:
        """The camera streams, subscribed only while a goal runs (an idle capture costs nothing, and a simulated
        scan starts when someone watches) and once a camera publishes (see :class:`CameraWatch`)."""
        qos = camera_stream_qos(self, [self.p.image_topic, self.p.depth_topic], STREAM_DEPTH)
        streams = MutuallyExclusiveCallbackGroup()  # one stream callback at a time: the session orders them
        subscriptions = [
            request_subscription(self, Image, self.p.image_topic, self.on_image, qos, callback_group=streams),
            request_subscription(self, Image, self.p.depth_topic, lambda m: self.feed("depth", m), qos,
                                 callback_group=streams),
            request_subscription(self, CameraInfo, self.p.camera_info_topic, lambda m: self.feed("camera_info", m),
                                 publisher_qos(self, self.p.camera_info_topic, STREAM_DEPTH), callback_group=streams),
            # Arrivals, seen apart from the stream callbacks: those may be busy writing views.
            request_subscription(self, CameraInfo, self.p.camera_info_topic, self.on_arrival, sensor_qos(depth=1),
                                 callback_group=MutuallyExclusiveCallbackGroup())]
        if self.pose_source == "topic":
            subscriptions.append(request_subscription(self, PoseStamped, self.p.camera_pose_topic,
                                                      lambda m: self.feed("pose", m),
                                                      publisher_qos(self, self.p.camera_pose_topic, STREAM_DEPTH),
                                                      callback_group=streams))
        self.get_logger().info(f"reading the camera {how_read(qos)}")
        return subscriptions

    def on_scan_status(self, msg: ScanStatus) -> None:
        self.scan_state = ScanState(int(msg.views_total), int(msg.views_done), bool(msg.done),
                                    header_stamp_ns(msg))

    def on_goal(self, goal: CaptureViews.Goal) -> GoalResponse:
        """One capture at a time, reserved here: a second goal accepted before the first had made its session
        would replace that session, and the first, ending, would cut the second off from the camera."""
        with self.session_lock:
            if self.busy:
                self.get_logger().warning("a capture is already running; goal rejected")
                return GoalResponse.REJECT
            self.busy = True
        return GoalResponse.ACCEPT

    def execute_checked(self, goal_handle) -> CaptureViews.Result:
        """Refuse an absurd goal, or one whose dataset could not be written (``datasets_dir`` a file or
        read-only: found after the whole scan otherwise), with its reason in the result (a rejected ROS goal
        carries none), else capture."""
        try:
            try:
                views, _ = check_capture_request(int(goal_handle.request.num_views),
                                                 float(goal_handle.request.timeout_s))
                if 0 < views < self.p.min_views:  # it would capture them all, then write nothing
                    raise InputError(f"num_views {views} is fewer than the capture node's min_views "
                                     f"{self.p.min_views}, the fewest a dataset is written with")
                check_output_root(Path(self.p.datasets_dir))
            except (InputError, OSError) as err:
                message = f"goal refused: {one_line(err)}"
                self.get_logger().warning(message)
                goal_handle.abort()
                return CaptureViews.Result(success=False, message=message)
            return self.execute(goal_handle)
        finally:
            with self.session_lock:
                self.busy = False

    def feed(self, stream: str, msg: Any) -> None:
        with self.session_lock:
            session = self.session
        if session is not None:
            session.add(stream, msg)

    def on_image(self, msg: Image) -> None:
        self.feed("image", msg)
        if self.pose_source == "tf":
            pose = self.pose_from_tf(msg)
            if pose is not None:
                self.feed("pose", pose)

    def pose_from_tf(self, image: Image) -> PoseStamped | None:
        """The camera pose at the image's stamp from TF, as a PoseStamped for the session."""
        try:
            return camera_pose_from_tf(self.tf_buffer, self.p.base_frame, image, self.p.camera_frame)
        except Exception as err:
            if self.tf_warn.ready():
                frame = image.header.frame_id or self.p.camera_frame
                self.get_logger().warning(f"no TF {self.p.base_frame} <- {frame} at the image stamp: {err}")
            return None

    def execute(self, goal_handle) -> CaptureViews.Result:
        target = int(goal_handle.request.num_views) or self.p.default_views
        timeout_s = float(goal_handle.request.timeout_s)
        session = CaptureSession(self.p.datasets_dir, capture_settings(self.p, self.pose_source),
                                 warn=self.get_logger().warning, max_views=target)
        with self.session_lock:
            self.session = session
        self.arrivals, self.last_arrival_s = 0, None
        subscriptions: list[Any] = []
        started = time.monotonic()
        scan_end = ScanEndWatch(self.get_clock().now().nanoseconds) if goal_handle.request.until_scan_done else None
        ended = "timed out"
        result = CaptureViews.Result()
        try:
            camera = CameraWatch(self, self.p.image_topic)
            while session.kept < target:
                if shutting_down(self):
                    return self.stopped(goal_handle, session, result)
                if goal_handle.is_cancel_requested:
                    session.abort()
                    goal_handle.canceled()
                    result.message = "capture cancelled; nothing written"
                    return result
                if timeout_s > 0 and time.monotonic() - started > timeout_s:
                    break
                if scan_end is not None:
                    reason = scan_end.should_stop(self.scan_state, int(session.stats()["synchronised"]),
                                                  self.arrivals, self.last_arrival_s, time.monotonic())
                    if reason:
                        ended = reason
                        break
                if not subscriptions and camera.publishing():
                    subscriptions = self.subscribe_streams()
                self.publish_feedback(goal_handle, session, target)
                time.sleep(FEEDBACK_PERIOD_S)
            with self.session_lock:
                self.session = None
            self.publish_feedback(goal_handle, session, target)
            stats = session.stats()
            result.views_kept = session.kept
            result.messages_rejected = sum(stats["rejected_by_reason"].values())
            if session.kept < max(self.p.min_views, 1):
                session.abort()
                result.message = (f"{ended} with {session.kept} views (< min_views {self.p.min_views}); "
                                  f"rejected: {self._reasons(stats)}; nothing written")
                most_rejected = session.most_rejected()
                if most_rejected:  # the counts say how often, this says what to fix
                    result.message += f"; most rejected: {most_rejected}"
                silent = silent_streams(self.p, stats["received"], pose_from_tf=self.pose_source == "tf")
                if silent:  # a wrong topic name: no view could be put together at all
                    result.message += f"; nothing arrived from {silent}"
                goal_handle.abort()
                return result
            path = session.finish({"scene": self.scene} if self.scene else None)
            result.success = True
            result.dataset_path = str(path)
            result.message = f"{session.kept} views written to {path}; rejected: {self._reasons(stats)}"
            if ended != "timed out" or session.kept < target:
                result.message += f" ({ended})"
            self.get_logger().info(result.message)
            goal_handle.succeed()
            return result
        except Exception as err:
            if shutting_down(self):  # the failure is the shutdown's (a feedback publisher gone)
                return self.stopped(goal_handle, session, result)
            session.abort()
            result.message = f"capture failed: {one_line(err)}"
            self.get_logger().error(result.message)
            goal_handle.abort()
            return result
        finally:
            with self.session_lock:
                self.session = None
            for subscription in subscriptions:
                self.destroy_subscription(subscription)

    @staticmethod
    def stopped(goal_handle, session: CaptureSession, result: CaptureViews.Result) -> CaptureViews.Result:
        """The node is shutting down mid-capture: the views taken so far are dropped (a dataset the scan did not
        finish), without a word (nobody is left to tell; a traceback from the executor thread before)."""
        session.abort()
        result.message = "capture stopped: the node is shutting down; nothing written"
        end_goal_quietly(goal_handle)
        return result

    @staticmethod
    def _reasons(stats: dict) -> str:
        counts = {k: v for k, v in stats["rejected_by_reason"].items() if v}
        return ", ".join(f"{k}={v}" for k, v in counts.items()) or "none"

    def publish_feedback(self, goal_handle, session: CaptureSession, target: int) -> None:
        stats = session.stats()
        goal_handle.publish_feedback(CaptureViews.Feedback(
            views_kept=session.kept, views_target=target, sets_received=int(stats["synchronised"]),
            messages_rejected=int(sum(stats["rejected_by_reason"].values()))))


def main(args: list[str] | None = None) -> int:
    return spin_node(CaptureNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
