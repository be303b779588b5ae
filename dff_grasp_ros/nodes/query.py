"""query: the ``/query_object`` service and its RViz topics.

Thin ROS layer over :class:`dff_grasp_ros.serving.FieldServer`: loads the newest field at start, hot-reloads
when ``/dff/field_ready`` announces a new one (in the background; requests keep being served from the last good
field), and turns each answer into messages: the relevancy cloud (PointCloud2, latched), the grasp pose and
the gripper drawn as markers. Every failure is an answer with ``success=false``, never a dead node.
"""
from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np

from dff_grasp_ros.nodes.common import declare_parameters, latched_qos, spin_node


def query_params(p: SimpleNamespace):
    """QueryParams from the node's parameters (gripper model, standoff, number of candidates)."""
    from dataclasses import replace

    from dff_grasp_ros.grasp.gripper import ParallelJawGripper
    from dff_grasp_ros.query.pipeline import QueryParams

    defaults = QueryParams()
    gripper = ParallelJawGripper(max_opening_m=p.gripper_max_opening_m, finger_length_m=p.gripper_finger_depth_m,
                                 finger_thickness_m=p.gripper_finger_thickness_m,
                                 finger_width_m=p.gripper_finger_width_m, clearance_m=p.gripper_clearance_m,
                                 min_clearance_m=p.gripper_min_clearance_m)
    grasp = replace(defaults.grasp, gripper=gripper, standoff_m=p.pre_grasp_standoff_m,
                    max_grasps=int(p.max_candidates), table_z_m=float(p.table_z_m))
    params = replace(defaults, grasp=grasp)
    return params.with_threshold(p.relevancy_threshold)


def display_relevancy(result) -> np.ndarray | None:
    """What the cloud shows: the part's relevancy when a part was asked (0 off the object), else the object's."""
    if result.part_relevancy is not None and result.prompt is not None and result.prompt.part_phrase:
        return result.part_relevancy
    return result.relevancy


def thin_indices(count: int, max_points: int) -> np.ndarray:
    """Evenly strided subset so RViz gets at most ``max_points`` (the cloud is voxel-ordered, so this is even)."""
    if count <= max_points or max_points <= 0:
        return np.arange(count)
    return np.linspace(0, count - 1, max_points).round().astype(np.int64)


def grasp_matrix(grasp) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = grasp.rotation
    matrix[:3, 3] = grasp.position_m
    return matrix


def fill_response(response, result, served, max_points: int, stamp_ns: int):
    """Copy a QueryResult (and the served cloud) into a QueryObject response."""
    from geometry_msgs.msg import PoseArray

    from dff_grasp_ros.ros_io.pointcloud import make_pointcloud2
    from dff_grasp_ros.ros_io.pose import matrix_to_pose, matrix_to_pose_stamped
    from dff_grasp_ros.ros_io.stamp import make_header

    response.success = bool(result.success)
    response.message = result.message
    response.latency_s = float(result.latency_s)
    if served is None:
        return response
    frame = served.base_frame
    relevancy = display_relevancy(result)
    if relevancy is not None:
        keep = thin_indices(len(served.cloud), max_points)
        response.relevancy_cloud = make_pointcloud2(served.cloud.points_m[keep], frame_id=frame, stamp_ns=stamp_ns,
                                                    rgb=served.cloud.rgb[keep], relevancy=relevancy[keep])
    if result.grasp is not None:
        best = grasp_matrix(result.grasp)
        response.grasp_pose = matrix_to_pose_stamped(best, frame, stamp_ns)
        pre = best.copy()
        pre[:3, 3] = result.grasp.pre_grasp_position_m
        response.pre_grasp_pose = matrix_to_pose_stamped(pre, frame, stamp_ns)
        response.grasp_width_m = float(result.grasp.width_m)
        response.grasp_opening_m = float(result.grasp.opening_m)
        response.score = float(result.grasp.score)
    response.candidates = PoseArray(header=make_header(frame, stamp_ns),
                                    poses=[matrix_to_pose(grasp_matrix(g)) for g in result.candidates])
    response.candidate_scores = [float(g.score) for g in result.candidates]
    response.candidate_widths_m = [float(g.width_m) for g in result.candidates]
    return response


def make_node():
    from dff_grasp.msg import FieldReady
    from dff_grasp.srv import QueryObject
    from geometry_msgs.msg import PoseStamped
    from rclpy.callback_groups import ReentrantCallbackGroup
    from rclpy.node import Node
    from sensor_msgs.msg import PointCloud2
    from visualization_msgs.msg import MarkerArray

    from dff_grasp_ros.ros_io.markers import delete_all_markers, gripper_markers
    from dff_grasp_ros.serving import FieldServer

    class Query(Node):
        def __init__(self) -> None:
            super().__init__("query")
            self.p = declare_parameters(self, "query")
            self.server = FieldServer(self.p.fields_dir, query_params(self.p), device=self.p.device)
            self.pub_cloud = self.create_publisher(PointCloud2, "/dff/relevancy_cloud", latched_qos())
            self.pub_pose = self.create_publisher(PoseStamped, "/dff/grasp_pose", latched_qos())
            self.pub_markers = self.create_publisher(MarkerArray, "/dff/grasp_markers", latched_qos())
            self.create_subscription(FieldReady, "/dff/field_ready", self.on_field_ready, latched_qos(5))
            self.create_service(QueryObject, "/query_object", self.on_query, callback_group=ReentrantCallbackGroup())
            self._reload_thread: threading.Thread | None = None
            self.reload_async(None)
            self.get_logger().info(f"ready: /query_object, fields from {self.p.fields_dir}")

        def on_field_ready(self, msg: FieldReady) -> None:
            self.reload_async(msg.field_path)

        def reload_async(self, field_path: str | None) -> None:
            """Load a field off the executor so queries keep being answered from the current one."""
            def work() -> None:
                try:
                    served = self.server.load(field_path) if field_path else self.server.load_newest()
                    if served is not None:
                        self.get_logger().info(f"serving field {served.path} ({len(served.cloud)} points)")
                except Exception as err:  # noqa: BLE001 - keep the last good field
                    self.get_logger().error(f"could not load field {field_path or '(newest)'}: "
                                            f"{type(err).__name__}: {err}; still serving the previous one")

            thread = threading.Thread(target=work, name="field-reload", daemon=True)
            thread.start()
            self._reload_thread = thread

        def on_query(self, request: QueryObject.Request, response: QueryObject.Response) -> QueryObject.Response:
            try:
                result, served = self.server.ask(request.prompt, float(request.relevancy_threshold))
                stamp_ns = self.get_clock().now().nanoseconds
                fill_response(response, result, served, int(self.p.max_cloud_points), stamp_ns)
                self.publish_visuals(response, result, served, stamp_ns)
            except Exception as err:  # noqa: BLE001 - answer, never die
                response.success = False
                response.message = f"query failed: {type(err).__name__}: {err}"
            # rclpy refuses one call site logging at two severities, hence two calls.
            if response.success:
                self.get_logger().info(f"{request.prompt[:80]!r}: {response.message}")
            else:
                self.get_logger().warning(f"{request.prompt[:80]!r}: {response.message}")
            return response

        def publish_visuals(self, response, result, served, stamp_ns: int) -> None:
            if served is None:
                return
            if response.relevancy_cloud.width:
                self.pub_cloud.publish(response.relevancy_cloud)
            markers = delete_all_markers(served.base_frame)
            if result.grasp is not None:
                self.pub_pose.publish(response.grasp_pose)
                markers.markers.extend(gripper_markers(grasp_matrix(result.grasp), result.grasp.opening_m,
                                                       served.base_frame, gripper=self.server.params.grasp.gripper,
                                                       stamp_ns=stamp_ns).markers)
            self.pub_markers.publish(markers)

        def close(self) -> None:
            if self._reload_thread is not None:
                self._reload_thread.join(timeout=5.0)

    return Query()


def main(args: list[str] | None = None) -> int:
    return spin_node(make_node, args)


if __name__ == "__main__":
    raise SystemExit(main())
