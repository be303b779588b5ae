"""query: the ``/query_object`` and ``/dff/update_scene`` services and the RViz topics.

Thin ROS layer over :class:`dff_grasp_ros.serving.FieldServer`: loads the newest field at start, hot-reloads
when ``/dff/field_ready`` announces a new one (in the background; requests keep being served from the last good
field), and turns each answer into messages: the relevancy cloud (PointCloud2, latched), the grasp pose and
the gripper drawn as markers. Every failure is an answer with ``success=false``, never a dead node.

``/dff/update_scene`` (after a pick): subscribes to the camera streams for the request only (like a capture:
image, registered depth, CameraInfo, the camera pose from TF or ``camera_pose_topic``), takes the first
synchronised, valid view stamped after the request (:class:`~dff_grasp_ros.capture.next_view.NextView`), and
carves the served cloud with it (:meth:`FieldServer.update_scene`); the next query answers, and publishes its
relevancy cloud, from the updated scene.
"""
from __future__ import annotations

import math
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from geometry_msgs.msg import PoseStamped
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from visualization_msgs.msg import MarkerArray

from dff_grasp.msg import FieldReady
from dff_grasp.srv import QueryObject, UpdateScene
from dff_grasp_ros import names
from dff_grasp_ros.capture.next_view import NextView
from dff_grasp_ros.carving import CarvingParams
from dff_grasp_ros.end_effectors import tool_model
from dff_grasp_ros.errors import one_line
from dff_grasp_ros.geometry import pose_matrix
from dff_grasp_ros.goals import check_update_request
from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.planner import Grasp
from dff_grasp_ros.grasp.push import PushPlan
from dff_grasp_ros.nodes.common import (
    ParameterError,
    camera_pose_from_tf,
    camera_stream_qos,
    create_answering_service,
    declare_parameters,
    latched_qos,
    publisher_qos,
    request_subscription,
    shutting_down,
    silent_streams,
    spin_node,
    tf_buffer,
)
from dff_grasp_ros.nodes.params import QueryNodeParams
from dff_grasp_ros.query.pipeline import QueryParams, QueryResult
from dff_grasp_ros.resources import limit_cpu_threads
from dff_grasp_ros.ros_io.markers import delete_all_markers, gripper_markers, push_markers
from dff_grasp_ros.ros_io.query_response import fill_response
from dff_grasp_ros.scene_cloud import FIELD_META, SCENE_CLOUD
from dff_grasp_ros.serving import FieldServer, ServedField, frame_problem
from dff_grasp_ros.teachers.base import preload_teacher_code, resolve_device
from dff_grasp_ros.view_alignment import AlignmentParams


def query_params(p: QueryNodeParams) -> QueryParams:
    """The query library's settings from the node's parameters (end effectors, gripper and suction cup models,
    standoff, number of candidates).

    The hand's dimensions that are no parameters follow those that are: pads no longer than the fingers, and a
    palm that spans both fingers at full opening (the fixed 0.2 m palm refused any opening above 0.18 m, which the
    parameter's range allows, naming palm_span_m, which no one can set). ParameterError for clearances that
    contradict each other."""
    if p.gripper_min_clearance_m > p.gripper_clearance_m:
        raise ParameterError(f"parameters query.gripper_min_clearance_m {p.gripper_min_clearance_m:g} must be <= "
                             f"query.gripper_clearance_m {p.gripper_clearance_m:g}")
    defaults = QueryParams()
    hand = defaults.grasp.gripper
    gripper = ParallelJawGripper(max_opening_m=p.gripper_max_opening_m, finger_length_m=p.gripper_finger_depth_m,
                                 finger_thickness_m=p.gripper_finger_thickness_m,
                                 finger_width_m=p.gripper_finger_width_m, clearance_m=p.gripper_clearance_m,
                                 min_clearance_m=p.gripper_min_clearance_m,
                                 pad_length_m=min(hand.pad_length_m, p.gripper_finger_depth_m),
                                 palm_span_m=max(hand.palm_span_m,
                                                 p.gripper_max_opening_m + 2 * p.gripper_finger_thickness_m))
    grasp = replace(defaults.grasp, gripper=gripper, standoff_m=p.pre_grasp_standoff_m,
                    max_grasps=p.max_candidates, table_z_m=p.table_z_m)
    cup = replace(defaults.suction.cup, cup_radius_m=p.suction_cup_radius_m,
                  lip_compliance_m=p.suction_lip_compliance_m, rod_length_m=p.suction_rod_length_m,
                  vacuum_kpa=p.suction_vacuum_kpa)
    # The standoff, the number of candidates and the table are the cell's, whichever tool answers.
    suction = replace(defaults.suction, cup=cup, max_approach_tilt_rad=math.radians(p.suction_max_approach_tilt_deg),
                      standoff_m=p.pre_grasp_standoff_m, max_grasps=p.max_candidates, table_z_m=p.table_z_m)
    # The push descends from as far back as a grasp's approach starts.
    push = replace(defaults.push, standoff_m=p.pre_grasp_standoff_m) if p.push_offer else None
    return replace(defaults, grasp=grasp, suction=suction, end_effectors=tuple(p.end_effectors),
                   min_part_contrast=p.min_part_contrast, min_part_top=p.min_part_top, push=push
                   ).with_threshold(p.relevancy_threshold)


def answer_markers(grasp: Grasp | None, params: QueryParams, frame_id: str, stamp_ns: int,
                   push: PushPlan | None = None) -> MarkerArray:
    """/dff/grasp_markers for an answer: a DELETEALL (the last answer's markers go), then the tool the grasp is
    for (``grasp.end_effector``: the gripper or the suction cup of ``params``) at its pose; none without a grasp.
    A refusal that offers a push shows the closed hand at the push's start and an arrow along its stroke."""
    markers = delete_all_markers(frame_id)
    if grasp is not None:
        markers.markers.extend(gripper_markers(grasp.pose_matrix, grasp.opening_m, frame_id,
                                               gripper=tool_model(grasp.end_effector, params),
                                               stamp_ns=stamp_ns).markers)
    if push is not None:
        markers.markers.extend(push_markers(pose_matrix(push.rotation, push.start_position_m), push.end_position_m,
                                            frame_id, gripper=params.grasp.gripper, stamp_ns=stamp_ns).markers)
    return markers


class QueryNode(Node):
    """Serves ``/query_object`` from the newest trained field."""

    NODE_NAME = "query"

    def __init__(self) -> None:
        super().__init__(self.NODE_NAME)
        self.p = declare_parameters(self, QueryNodeParams)
        threads = limit_cpu_threads(self.p.cpu_threads)
        if self.p.device == "cuda":  # found now, not as "could not load field" on every field (torch: only here)
            try:
                resolve_device(self.p.device)
            except Exception as err:
                raise ParameterError(f"parameter {self.NODE_NAME}.device is 'cuda': {one_line(err)}; use auto or "
                                     f"cpu") from None
        self.server = FieldServer(self.p.fields_dir, query_params(self.p), device=self.p.device)
        self.pub_cloud = self.create_publisher(PointCloud2, names.RELEVANCY_CLOUD_TOPIC, latched_qos())
        self.pub_pose = self.create_publisher(PoseStamped, names.GRASP_POSE_TOPIC, latched_qos())
        self.pub_markers = self.create_publisher(MarkerArray, names.GRASP_MARKERS_TOPIC, latched_qos())
        self.create_subscription(FieldReady, names.FIELD_READY_TOPIC, self.on_field_ready, latched_qos(5))
        create_answering_service(self, QueryObject, names.QUERY_OBJECT_SERVICE, self.on_query,
                                 ReentrantCallbackGroup())
        self.tf_buffer, self.tf_listener = tf_buffer(self, self.p.pose_source)
        self._update_lock = threading.Lock()  # one scene update at a time, each with its own next view
        correction_m = self.p.update_max_pose_correction_m
        alignment = (AlignmentParams(max_correction_m=correction_m,
                                     max_depth_scale_error=self.p.update_max_depth_scale_error,
                                     max_image_scale_error=self.p.update_max_image_scale_error)
                     if correction_m > 0 else AlignmentParams(enabled=False))
        self.carving = CarvingParams(see_through_margin_m=self.p.update_see_through_margin_m, alignment=alignment)
        create_answering_service(self, UpdateScene, names.UPDATE_SCENE_SERVICE, self.on_update_scene,
                                 ReentrantCallbackGroup())
        self._reload_state = threading.Lock()  # guards the two below
        self._reload_thread: threading.Thread | None = None
        self._pending_reload: str | None = None  # the next field to load ('' = the newest), None = nothing
        self._served_files: tuple | None = None  # files_signature() of the field loaded last
        self.refused_field: str | None = None  # why the field announced last could not be served, until one is
        self.reload_async(None)
        # The teachers' code (torch: ~4 s to import) loads now, in the background, instead of when the first
        # field arrives: a field trained while the node waits then answers that much sooner.
        threading.Thread(target=preload_teacher_code, name="teacher-import", daemon=True).start()
        self.get_logger().info(f"ready: {names.QUERY_OBJECT_SERVICE}, {names.UPDATE_SCENE_SERVICE}, fields from "
                               f"{self.p.fields_dir} (computing on {threads} CPU thread{'s' if threads > 1 else ''})")

    def on_field_ready(self, msg: FieldReady) -> None:
        self.reload_async(msg.field_path)

    def reload_async(self, field_path: str | None) -> None:
        """Load a field off the executor so queries keep being answered from the current one.

        One loader thread: announcements that arrive while it loads are coalesced, only the latest is loaded
        next (a script re-announcing a field at 10 Hz started a load thread per message, loading one after the
        other for minutes)."""
        with self._reload_state:
            self._pending_reload = field_path or ""
            if self._reload_thread is None:
                self._reload_thread = threading.Thread(target=self._reload_worker, name="field-reload", daemon=True)
                self._reload_thread.start()

    def _reload_worker(self) -> None:
        while True:
            with self._reload_state:
                field_path, self._pending_reload = self._pending_reload, None
                if field_path is None:
                    self._reload_thread = None
                    return
            self._load(field_path)

    def _load(self, field_path: str) -> None:
        """Load ``field_path`` ('' = the newest), unless it is the served field, unchanged on disk: reloading
        that would only throw away the scene updates (``/dff/update_scene``) made since, and a picked object
        would be back in the served scene."""
        try:
            current = self.server.current
            if field_path and current is not None and Path(field_path).resolve() == current.path.resolve() and \
                    files_signature(current.path) == self._served_files:
                self.get_logger().info(f"field {field_path} is served already and unchanged on disk: kept")
                self.refused_field = None
                return
            served = self.server.load(Path(field_path)) if field_path else self.server.load_newest()
            if served is not None and served is not current:
                self._served_files = files_signature(served.path)
                if not shutting_down(self):  # a load that a signal outlived tells nobody (rcl's rosout complained)
                    self.get_logger().info(f"serving field {served.path} ({len(served.cloud)} points)")
            self.refused_field = None
        except Exception as err:
            self.refused_field = f"field {field_path or '(newest)'} could not be loaded: {one_line(err)}"
            if not shutting_down(self):
                self.get_logger().error(f"{self.refused_field}; still serving the previous one")

    def on_query(self, request: QueryObject.Request, response: QueryObject.Response) -> QueryObject.Response:
        try:
            result, served = self.server.ask(request.prompt, float(request.relevancy_threshold))
            stamp_ns = self.get_clock().now().nanoseconds
            fill_response(response, result, served, self.p.max_cloud_points, stamp_ns)
            self.publish_visuals(response, result, served, stamp_ns)
        except Exception as err:
            response.success = False
            response.message = f"query failed: {one_line(err)}"
        refused = self.refused_field
        if refused:  # the log is not where a caller looks: an answer from an older field, or none, says why
            served_now = self.server.current
            response.message += f" ({refused}; {f'answered from {served_now.path}' if served_now else 'none served'})"
        # rclpy refuses one call site logging at two severities, hence two calls.
        if response.success:
            self.get_logger().info(f"{request.prompt[:80]!r}: {response.message}")
        else:
            self.get_logger().warning(f"{request.prompt[:80]!r}: {response.message}")
        return response

    def on_update_scene(self, request: UpdateScene.Request, response: UpdateScene.Response) -> UpdateScene.Response:
        """Carve the served scene with the next camera view (see the module docstring); every failure is an
        answer, and the served scene is then unchanged."""
        try:
            timeout_s = check_update_request(float(request.timeout_s))
            served = self.server.current
            if served is None:
                raise ValueError("no trained field yet: nothing to update (capture views and train one)")
            # Said before the wait for a view; the field served when the view came is checked again as it is carved.
            problem = frame_problem(served, self.p.base_frame)
            if problem:
                raise ValueError(problem)
            # A second request is answered at once: queued, it waited out the first's wait too (up to 600 s), its
            # client gave up, and the update was made anyway, unreported.
            if not self._update_lock.acquire(blocking=False):
                raise ValueError("another scene update is waiting for its camera view; ask again when it has "
                                 "been answered")
            try:
                view = self.next_view(timeout_s or self.p.update_timeout_s)
                update = self.server.update_scene(view.depth_m, view.rgb, view.intrinsics, view.camera_to_base,
                                                  self.carving, pose_frame=self.p.base_frame)
            finally:
                self._update_lock.release()
            response.success, response.message = True, update.message
            response.points_removed, response.points_added = update.points_removed, update.points_added
            response.points_total = len(update.served.cloud)
            response.latency_s = float(update.latency_s)
            self.get_logger().info(update.message)
        except Exception as err:
            response.success = False
            response.message = f"scene not updated: {one_line(err)}"
            self.get_logger().warning(response.message)
        return response

    def next_view(self, timeout_s: float) -> Any:
        """The first valid synchronised camera view stamped after now (ValueError after ``timeout_s``)."""
        waiter = NextView(self.get_clock().now().nanoseconds, base_frame=self.p.base_frame,
                          slop_s=self.p.sync_slop_s, max_pose_offset_s=self.p.max_pose_age_s)
        qos = camera_stream_qos(self, [self.p.image_topic, self.p.depth_topic], depth=5)
        group = MutuallyExclusiveCallbackGroup()  # one stream callback at a time: the waiter orders them

        def on_image(msg: Image) -> None:
            waiter.add("image", msg)
            if self.tf_buffer is not None:
                try:
                    waiter.add("pose", camera_pose_from_tf(self.tf_buffer, self.p.base_frame, msg,
                                                           self.p.camera_frame))
                except Exception as err:
                    waiter.note(f"no TF {self.p.base_frame} <- camera at the image stamp: {one_line(err)}")

        subscriptions = [
            request_subscription(self, Image, self.p.image_topic, on_image, qos, callback_group=group),
            request_subscription(self, Image, self.p.depth_topic, lambda m: waiter.add("depth", m), qos,
                                 callback_group=group),
            request_subscription(self, CameraInfo, self.p.camera_info_topic, lambda m: waiter.add("camera_info", m),
                                 publisher_qos(self, self.p.camera_info_topic, 5), callback_group=group)]
        if self.tf_buffer is None:
            subscriptions.append(request_subscription(self, PoseStamped, self.p.camera_pose_topic,
                                                      lambda m: waiter.add("pose", m),
                                                      publisher_qos(self, self.p.camera_pose_topic, 5),
                                                      callback_group=group))
        try:
            view = waiter.wait(timeout_s)
        finally:
            for subscription in subscriptions:
                self.destroy_subscription(subscription)
        if view is None:
            silent = silent_streams(self.p, dict(waiter.received), pose_from_tf=self.tf_buffer is not None)
            raise ValueError(f"no valid camera view on {self.p.image_topic} within {timeout_s:g} s "
                             f"({waiter.why_none()}{f'; nothing arrived from {silent}' if silent else ''})")
        return view

    def publish_visuals(self, response: QueryObject.Response, result: QueryResult, served: ServedField | None,
                        stamp_ns: int) -> None:
        if served is None:
            return
        if response.relevancy_cloud.width:
            self.pub_cloud.publish(response.relevancy_cloud)
        if result.grasp is not None:
            self.pub_pose.publish(response.grasp_pose)
        self.pub_markers.publish(answer_markers(result.grasp, self.server.params, served.base_frame, stamp_ns,
                                                result.push))

    def close(self) -> None:
        with self._reload_state:
            thread = self._reload_thread
        if thread is not None:
            thread.join(timeout=5.0)


def files_signature(field_dir: Path) -> tuple | None:
    """Identity of a field's files on disk (inode, size, mtime of field.json and scene_cloud.npz): changes when
    the field is rewritten or replaced under the same name; None when they cannot be read."""
    try:
        return tuple((name, st.st_ino, st.st_size, st.st_mtime_ns)
                     for name in (FIELD_META, SCENE_CLOUD) for st in [(Path(field_dir) / name).stat()])
    except OSError:
        return None


def main(args: list[str] | None = None) -> int:
    return spin_node(QueryNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
