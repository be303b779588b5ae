"""hand_eye: eye-in-hand calibration (``/calibrate_hand_eye`` action) and scan poses for MoveIt (``/scan_poses``).

Thin ROS layer over :mod:`dff_grasp_ros.calibration` and :mod:`dff_grasp_ros.capture.scan_poses`:

- ``/calibrate_hand_eye``: while a goal runs, every colour image is offered with the tool pose at its stamp
  (TF ``base_frame <- tool_frame`` when tf2_ros is importable, else a PoseStamped on ``tool_pose_topic``) to a
  :class:`~dff_grasp_ros.calibration.views.ViewCollector`; when enough views are kept the transform is solved,
  written (YAML + the views used, so it can be re-run offline) and returned with a verdict. The camera topics are
  subscribed only while a goal runs.
- ``/scan_poses``: camera poses on a cap around the workspace centre and, from the newest hand-eye YAML, the
  tool poses that put the camera there.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from geometry_msgs.msg import PoseArray, PoseStamped
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Image

from dff_grasp.action import CalibrateHandEye
from dff_grasp.srv import ScanPoses
from dff_grasp_ros import names
from dff_grasp_ros.atomic import check_output_file
from dff_grasp_ros.calibration.board import CharucoBoardSpec
from dff_grasp_ros.calibration.camera import PinholeCamera
from dff_grasp_ros.calibration.command import HAND_EYE_FILE
from dff_grasp_ros.calibration.output import (
    load_hand_eye,
    rejection_summary,
    result_to_dict,
    write_hand_eye,
)
from dff_grasp_ros.calibration.solve import CalibrationError, HandEyeSettings
from dff_grasp_ros.calibration.tool_poses import PoseHistory
from dff_grasp_ros.calibration.views import CollectorSettings, ViewCollector, calibrate_collected, write_views_folder
from dff_grasp_ros.capture.scan_poses import cap_camera_poses, check_cap, path_length_m, tool_poses
from dff_grasp_ros.errors import InputError, one_line
from dff_grasp_ros.goals import check_calibration_request
from dff_grasp_ros.nodes.common import (
    CameraWatch,
    ParameterError,
    Throttle,
    camera_stream_qos,
    check_default_views,
    create_answering_service,
    declare_parameters,
    end_goal_quietly,
    how_read,
    publisher_qos,
    request_subscription,
    shutting_down,
    spin_node,
    tf_buffer,
)
from dff_grasp_ros.nodes.params import HandEyeParams, expand_data_dir
from dff_grasp_ros.ros_io.pose import (
    PoseError,
    matrix_to_pose,
    matrix_to_transform_stamped,
    stamped_to_matrix,
    transform_to_matrix,
)
from dff_grasp_ros.ros_io.stamp import header_stamp_ns

LOOP_PERIOD_S = 0.05
NS = 1_000_000_000


class HandEyeNode(Node):
    """Serves ``/calibrate_hand_eye`` and ``/scan_poses``."""

    NODE_NAME = "hand_eye"

    def __init__(self) -> None:
        super().__init__(self.NODE_NAME)
        self.p = declare_parameters(self, HandEyeParams)
        check_default_views(self.NODE_NAME, self.p.default_views, self.p.min_views)
        try:
            self.board = CharucoBoardSpec.from_params(self.p)
        except ValueError as err:
            raise ParameterError(f"parameters {self.NODE_NAME}.board_*: {err}") from err
        cap_problem = check_cap(self.default_centre(), self.p.scan_radius_m, self.p.scan_min_elevation_deg,
                                self.p.scan_max_elevation_deg, self.p.scan_count, self.default_azimuth())
        if cap_problem:
            raise ParameterError(f"parameters {self.NODE_NAME}.scan_*: {cap_problem}")
        self.calibration_dir = Path(self.p.calibration_dir)
        self.tf_buffer, self.tf_listener = tf_buffer(self, self.p.pose_source)
        self.pose_source = "tf" if self.tf_buffer is not None else "topic"
        self.lock = threading.Lock()
        self.busy = False
        self.last_written: Path | None = None
        self.images_seen = 0  # during the current goal
        self.latest_image: Image | None = None
        self.camera: PinholeCamera | None = None
        self.camera_problem: str | None = None  # why the last CameraInfo was refused, for the goal's result
        self.tool_history = PoseHistory(max_samples=10_000)
        self.warn = Throttle(5.0)
        self.streams = MutuallyExclusiveCallbackGroup()
        create_answering_service(self, ScanPoses, names.SCAN_POSES_SERVICE, self.on_scan_poses,
                                 MutuallyExclusiveCallbackGroup())
        self.server = ActionServer(self, CalibrateHandEye, names.CALIBRATE_HAND_EYE_ACTION,
                                   execute_callback=self.execute, goal_callback=self.on_goal,
                                   cancel_callback=lambda _: CancelResponse.ACCEPT,
                                   callback_group=ReentrantCallbackGroup())
        self.get_logger().info(f"ready: tool poses from {self.pose_source}, board {self.board.squares_x}x"
                               f"{self.board.squares_y} {self.board.square_length_m * 1000:g} mm, results in "
                               f"{self.calibration_dir}")

    # --- /scan_poses -------------------------------------------------------------------------------------------

    def default_centre(self) -> tuple[float, float, float]:
        return self.p.scan_center_x_m, self.p.scan_center_y_m, self.p.scan_center_z_m

    def default_azimuth(self) -> tuple[float, float]:
        return self.p.scan_min_azimuth_deg, self.p.scan_max_azimuth_deg

    def hand_eye_path(self) -> Path:
        """hand_eye_file, else the result this node wrote last, else calibration_dir/hand_eye.yaml."""
        if self.p.hand_eye_file:
            return expand_data_dir(self.p.hand_eye_file)
        return self.last_written or self.calibration_dir / HAND_EYE_FILE

    def on_scan_poses(self, request: ScanPoses.Request, response: ScanPoses.Response) -> ScanPoses.Response:
        """Zero fields take the parameters; a bad request is answered, never raised."""
        try:
            return self.scan_poses(request, response)
        except Exception as err:  # a failure no check foresaw: answered, or the client waits and the node dies
            # An error escaping a service callback leaves the client without an answer, and repeated ones reach
            # the executor's error limit, which stops the node (and bringup with it): NaN poses did that once.
            failed = ScanPoses.Response()
            failed.success, failed.message = False, f"scan poses failed: {one_line(err)}"
            self.get_logger().error(failed.message)
            return failed

    def scan_poses(self, request: ScanPoses.Request, response: ScanPoses.Response) -> ScanPoses.Response:
        """The work of ``/scan_poses``: expected refusals are answered here, anything else raises."""
        c = request.center
        centre = (c.x, c.y, c.z) if (c.x, c.y, c.z) != (0.0, 0.0, 0.0) else self.default_centre()
        radius = float(request.radius_m) or self.p.scan_radius_m
        low, high = float(request.min_elevation_deg), float(request.max_elevation_deg)
        if low == 0.0 and high == 0.0:
            low, high = self.p.scan_min_elevation_deg, self.p.scan_max_elevation_deg
        count = int(request.count) or self.p.scan_count
        try:
            cameras = cap_camera_poses(centre, radius, low, high, count, self.default_azimuth())
        except ValueError as err:
            response.success, response.message = False, str(err)
            return response
        stamp_ns = self.get_clock().now().nanoseconds
        response.camera_poses = self.pose_array(cameras, stamp_ns)
        response.tool_poses.header = response.camera_poses.header
        response.success = True
        response.message = (f"{count} camera poses on a {radius:.3f} m cap ({low:g}-{high:g} deg elevation) "
                            f"around ({centre[0]:.3f}, {centre[1]:.3f}, {centre[2]:.3f}) in {self.p.base_frame}, "
                            f"camera path {path_length_m(cameras):.2f} m")
        path = self.hand_eye_path()
        try:
            camera_to_tool, tool_frame, camera_frame = load_hand_eye(path, (self.p.tool_frame, self.p.camera_frame))
        except FileNotFoundError:
            response.message += f"; no tool poses: no hand-eye calibration at {path} (run /calibrate_hand_eye)"
            return response
        except ValueError as err:
            response.success, response.message = False, f"cannot give tool poses: {err}"
            return response
        response.tool_poses = self.pose_array(tool_poses(cameras, camera_to_tool), stamp_ns)
        response.message += f"; tool poses of {tool_frame} (camera {camera_frame}) from {path}"
        return response

    def pose_array(self, poses: np.ndarray, stamp_ns: int) -> PoseArray:
        out = PoseArray()
        out.header.frame_id = self.p.base_frame
        out.header.stamp.sec, out.header.stamp.nanosec = divmod(int(stamp_ns), NS)
        out.poses = [matrix_to_pose(pose) for pose in poses]
        return out

    # --- /calibrate_hand_eye -----------------------------------------------------------------------------------

    def on_goal(self, goal: CalibrateHandEye.Goal) -> GoalResponse:
        with self.lock:
            if self.busy:
                self.get_logger().warning("a calibration is already running; goal rejected")
                return GoalResponse.REJECT
            self.busy = True
        return GoalResponse.ACCEPT

    def on_image(self, msg: Image) -> None:
        with self.lock:
            self.latest_image = msg

    def on_camera_info(self, msg: CameraInfo) -> None:
        try:
            camera = PinholeCamera.from_camera_info(msg)
        except ValueError as err:
            with self.lock:
                self.camera_problem = one_line(err)
            if self.warn.ready():
                self.get_logger().warning(f"ignoring CameraInfo on {self.p.camera_info_topic}: {err}")
            return
        with self.lock:
            self.camera = camera

    def on_tool_pose(self, msg: PoseStamped) -> None:
        try:
            matrix, frame, stamp_ns = stamped_to_matrix(msg)
        except PoseError as err:
            if self.warn.ready():
                self.get_logger().warning(f"ignoring a bad tool pose on {self.p.tool_pose_topic}: {err}")
            return
        if names.frame_name(frame) != self.p.base_frame:
            if self.warn.ready():
                self.get_logger().warning(f"ignoring tool poses in {frame!r}; expected {self.p.base_frame!r}")
            return
        with self.lock:
            self.tool_history.add(stamp_ns, matrix)

    def tool_pose_at(self, stamp_ns: int) -> np.ndarray | None:
        if self.pose_source == "topic":
            with self.lock:
                return self.tool_history.at(stamp_ns, int(self.p.max_pose_age_s * NS))
        try:
            tf = self.tf_buffer.lookup_transform(self.p.base_frame, self.p.tool_frame, Time(nanoseconds=stamp_ns))
            return transform_to_matrix(tf.transform)
        except Exception:
            return None

    def subscribe(self) -> list[Any]:
        """The camera and tool pose streams (made once a camera publishes: see :class:`CameraWatch`)."""
        qos = camera_stream_qos(self, [self.p.image_topic], depth=5)  # best effort for most camera drivers
        subscriptions = [
            request_subscription(self, Image, self.p.image_topic, self.on_image, qos, callback_group=self.streams),
            request_subscription(self, CameraInfo, self.p.camera_info_topic, self.on_camera_info,
                                 publisher_qos(self, self.p.camera_info_topic, 5), callback_group=self.streams)]
        if self.pose_source == "topic":
            subscriptions.append(request_subscription(self, PoseStamped, self.p.tool_pose_topic, self.on_tool_pose,
                                                      publisher_qos(self, self.p.tool_pose_topic, 50),
                                                      callback_group=self.streams))
        self.get_logger().info(f"reading {self.p.image_topic} {how_read(qos)}")
        return subscriptions

    def execute(self, goal_handle) -> CalibrateHandEye.Result:
        request = goal_handle.request
        result = CalibrateHandEye.Result()
        try:
            problem = self.goal_problem(request)
            if problem:
                result.message = problem
                self.get_logger().error(problem)
                goal_handle.abort()
                return result
            return self.collect_and_solve(goal_handle, request, result)
        except Exception as err:  # a message no check foresaw: the goal is answered, the node serves on
            result.success, result.message = False, f"calibration failed: {one_line(err)}"
            if not shutting_down(self):  # else the failure is the shutdown's (a feedback publisher gone)
                self.get_logger().error(result.message)
            end_goal_quietly(goal_handle)  # already ended (cancelled) before the error, or shutting down
            return result
        finally:
            with self.lock:
                self.busy = False

    def goal_problem(self, request: CalibrateHandEye.Goal) -> str | None:
        """Why a goal cannot start (checked before anything is subscribed or written)."""
        try:
            check_calibration_request(int(request.num_views), float(request.timeout_s))
            # A result the node cannot write would be lost after the whole session: its own folder is checked too.
            check_output_file(self.result_path(request))
        except (InputError, OSError) as err:
            return one_line(err)
        if 0 < int(request.num_views) < self.p.min_views:
            return f"num_views {request.num_views} is fewer than min_views {self.p.min_views}"
        return None

    def result_path(self, request: CalibrateHandEye.Goal) -> Path:
        """Where the goal's hand-eye YAML goes: its output_path, else calibration_dir/hand_eye.yaml. A relative
        output_path is taken under calibration_dir: the node's working directory is not the caller's, and the
        result was written where nobody looked."""
        if not request.output_path:
            return self.calibration_dir / HAND_EYE_FILE
        return self.calibration_dir / expand_data_dir(request.output_path)  # an absolute path stays as it is

    def collect_and_solve(self, goal_handle, request: CalibrateHandEye.Goal,
                          result: CalibrateHandEye.Result) -> CalibrateHandEye.Result:
        target = int(request.num_views) or self.p.default_views
        timeout_s = float(request.timeout_s)
        yaml_path = self.result_path(request)
        collector = ViewCollector(self.board, CollectorSettings(
            min_corners=self.p.min_board_corners, min_rotation_between_views_deg=self.p.min_view_rotation_deg),
            keep_images=True)
        self.images_seen = 0
        with self.lock:
            self.latest_image, self.camera, self.camera_problem = None, None, None
            self.tool_history = PoseHistory(max_samples=10_000)
        camera = CameraWatch(self, self.p.image_topic)
        subscriptions: list[Any] = []
        started = time.monotonic()
        try:
            while len(collector.views) < target:
                if goal_handle.is_cancel_requested:
                    goal_handle.canceled()
                    result.message = "calibration cancelled; nothing written"
                    return result
                if timeout_s > 0 and time.monotonic() - started > timeout_s:
                    break
                if subscriptions:
                    self.offer_latest(collector)
                elif camera.publishing():
                    subscriptions = self.subscribe()
                goal_handle.publish_feedback(CalibrateHandEye.Feedback(
                    views_collected=len(collector.views), views_target=target,
                    views_rejected=collector.rejected_count,
                    last_rejection=collector.rejected[-1].reason if collector.rejected else ""))
                time.sleep(LOOP_PERIOD_S)
        finally:
            for subscription in subscriptions:
                self.destroy_subscription(subscription)
        return self.finish(goal_handle, collector, yaml_path, result)

    def offer_latest(self, collector: ViewCollector) -> None:
        """Offer the newest unseen image (older ones are skipped: detection is slower than a camera's rate)."""
        with self.lock:
            image, camera, camera_problem, self.latest_image = self.latest_image, self.camera, self.camera_problem, None
        if image is None:
            return
        self.images_seen += 1
        stamp_ns = header_stamp_ns(image)
        name = f"t{stamp_ns / NS:.3f}"
        pose = self.tool_pose_at(stamp_ns)
        if camera is None:
            collector.reject(name, f"no usable CameraInfo on {self.p.camera_info_topic} yet"
                                   + (f": the last was refused: {camera_problem}" if camera_problem else ""))
            return
        if pose is None:
            collector.reject(name, f"no tool pose {self.p.base_frame} <- {self.p.tool_frame} within "
                                   f"{self.p.max_pose_age_s} s of the image stamp ({self.pose_source})")
            return
        earlier = self.tool_pose_at(stamp_ns - int(self.p.still_time_s * NS)) if self.p.still_time_s > 0 else None
        reason = collector.offer_message(name, image, camera, pose, earlier, self.p.still_time_s)
        if reason is None:
            self.get_logger().info(f"view {len(collector.views)} kept ({name})")
        elif reason and self.warn.ready():
            self.get_logger().info(f"view {name} rejected: {reason}")

    def finish(self, goal_handle, collector: ViewCollector, yaml_path: Path,
               result: CalibrateHandEye.Result) -> CalibrateHandEye.Result:
        result.views_rejected = collector.rejected_count
        settings = HandEyeSettings(min_views=self.p.min_views,
                                   min_rotation_between_views_deg=self.p.min_view_rotation_deg)
        if self.images_seen == 0:
            result.message = (f"no image arrived on {self.p.image_topic}: is the camera driver running, and are "
                              f"image_topic / camera_info_topic right?")
            self.get_logger().error(result.message)
            goal_handle.abort()
            return result
        try:
            solved = calibrate_collected(collector, settings)
        except CalibrationError as err:
            result.message = f"{err}; {rejection_summary(collector.rejected, collector.rejected_count)}"
            with self.lock:
                camera_problem = self.camera_problem
            if collector.camera is None and camera_problem:  # the summary keeps only each reason's first words
                result.message += f"; CameraInfo on {self.p.camera_info_topic} refused: {camera_problem}"
            self.get_logger().error(result.message)
            goal_handle.abort()
            return result
        except Exception as err:  # a solver failure must answer the goal, not kill the node
            result.message = f"calibration failed: {type(err).__name__}: {err}"
            self.get_logger().error(result.message)
            goal_handle.abort()
            return result
        views_dir = self.calibration_dir / time.strftime("views_%Y%m%d_%H%M%S")
        try:
            write_views_folder(views_dir, collector.camera, [
                (f"view_{k:03d}_{v.name}.png", collector.images[v.name], v.tool_to_base)
                for k, v in enumerate(collector.views)], self.p.base_frame, self.p.tool_frame)
        except OSError as err:
            self.get_logger().warning(f"could not keep the views in {views_dir}: {err}")
        summary = result_to_dict(solved, self.p.tool_frame, self.p.camera_frame,
                                 {"base_frame": self.p.base_frame, "board": self.board.to_dict(),
                                  "views_dir": str(views_dir)})
        result.tool_to_camera = matrix_to_transform_stamped(solved.camera_to_tool, self.p.tool_frame,
                                                            self.p.camera_frame, self.get_clock().now().nanoseconds)
        result.rotation_residual_deg = solved.rotation_residual_deg
        result.translation_residual_mm = solved.translation_residual_mm
        result.views_used = len(solved.views)
        # The collector's rejections plus those the solver added (too little rotation, outliers).
        result.views_rejected = collector.rejected_count + len(solved.rejected) - len(collector.rejected)
        result.static_transform_command = summary["static_transform_command"]
        result.message = solved.verdict
        if not solved.usable:
            self.get_logger().error(result.message)
            goal_handle.abort()
            return result
        try:
            write_hand_eye(yaml_path, summary)
        except OSError as err:
            result.message = f"{solved.verdict}; but {yaml_path} could not be written: {err}"
            goal_handle.abort()
            return result
        result.success = True
        result.yaml_path = str(yaml_path)
        self.last_written = yaml_path
        self.get_logger().info(f"{result.message}\n{result.static_transform_command}")
        goal_handle.succeed()
        return result


def main(args: list[str] | None = None) -> int:
    return spin_node(HandEyeNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
