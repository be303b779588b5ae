"""query: the ``/query_object`` service and its RViz topics.

Thin ROS layer over :class:`dff_grasp_ros.serving.FieldServer`: loads the newest field at start, hot-reloads
when ``/dff/field_ready`` announces a new one (in the background; requests keep being served from the last good
field), and turns each answer into messages: the relevancy cloud (PointCloud2, latched), the grasp pose and
the gripper drawn as markers. Every failure is an answer with ``success=false``, never a dead node.
"""
from __future__ import annotations

import threading
from dataclasses import replace

from geometry_msgs.msg import PoseStamped
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2
from visualization_msgs.msg import MarkerArray

from dff_grasp.msg import FieldReady
from dff_grasp.srv import QueryObject
from dff_grasp_ros import names
from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.nodes.common import declare_parameters, latched_qos, spin_node
from dff_grasp_ros.nodes.params import QueryNodeParams
from dff_grasp_ros.query.pipeline import QueryParams, QueryResult
from dff_grasp_ros.ros_io.markers import delete_all_markers, gripper_markers
from dff_grasp_ros.ros_io.query_response import fill_response
from dff_grasp_ros.serving import FieldServer, ServedField


def query_params(p: QueryNodeParams) -> QueryParams:
    """The query library's settings from the node's parameters (gripper model, standoff, number of candidates)."""
    defaults = QueryParams()
    gripper = ParallelJawGripper(max_opening_m=p.gripper_max_opening_m, finger_length_m=p.gripper_finger_depth_m,
                                 finger_thickness_m=p.gripper_finger_thickness_m,
                                 finger_width_m=p.gripper_finger_width_m, clearance_m=p.gripper_clearance_m,
                                 min_clearance_m=p.gripper_min_clearance_m)
    grasp = replace(defaults.grasp, gripper=gripper, standoff_m=p.pre_grasp_standoff_m,
                    max_grasps=p.max_candidates, table_z_m=p.table_z_m)
    return replace(defaults, grasp=grasp).with_threshold(p.relevancy_threshold)


class QueryNode(Node):
    """Serves ``/query_object`` from the newest trained field."""

    NODE_NAME = "query"

    def __init__(self) -> None:
        super().__init__(self.NODE_NAME)
        self.p = declare_parameters(self, QueryNodeParams)
        self.server = FieldServer(self.p.fields_dir, query_params(self.p), device=self.p.device)
        self.pub_cloud = self.create_publisher(PointCloud2, names.RELEVANCY_CLOUD_TOPIC, latched_qos())
        self.pub_pose = self.create_publisher(PoseStamped, names.GRASP_POSE_TOPIC, latched_qos())
        self.pub_markers = self.create_publisher(MarkerArray, names.GRASP_MARKERS_TOPIC, latched_qos())
        self.create_subscription(FieldReady, names.FIELD_READY_TOPIC, self.on_field_ready, latched_qos(5))
        self.create_service(QueryObject, names.QUERY_OBJECT_SERVICE, self.on_query,
                            callback_group=ReentrantCallbackGroup())
        self._reload_thread: threading.Thread | None = None
        self.reload_async(None)
        self.get_logger().info(f"ready: {names.QUERY_OBJECT_SERVICE}, fields from {self.p.fields_dir}")

    def on_field_ready(self, msg: FieldReady) -> None:
        self.reload_async(msg.field_path)

    def reload_async(self, field_path: str | None) -> None:
        """Load a field off the executor so queries keep being answered from the current one."""
        def work() -> None:
            try:
                served = self.server.load(field_path) if field_path else self.server.load_newest()
                if served is not None:
                    self.get_logger().info(f"serving field {served.path} ({len(served.cloud)} points)")
            except Exception as err:
                self.get_logger().error(f"could not load field {field_path or '(newest)'}: "
                                        f"{type(err).__name__}: {err}; still serving the previous one")

        thread = threading.Thread(target=work, name="field-reload", daemon=True)
        thread.start()
        self._reload_thread = thread

    def on_query(self, request: QueryObject.Request, response: QueryObject.Response) -> QueryObject.Response:
        try:
            result, served = self.server.ask(request.prompt, float(request.relevancy_threshold))
            stamp_ns = self.get_clock().now().nanoseconds
            fill_response(response, result, served, self.p.max_cloud_points, stamp_ns)
            self.publish_visuals(response, result, served, stamp_ns)
        except Exception as err:
            response.success = False
            response.message = f"query failed: {type(err).__name__}: {err}"
        # rclpy refuses one call site logging at two severities, hence two calls.
        if response.success:
            self.get_logger().info(f"{request.prompt[:80]!r}: {response.message}")
        else:
            self.get_logger().warning(f"{request.prompt[:80]!r}: {response.message}")
        return response

    def publish_visuals(self, response: QueryObject.Response, result: QueryResult, served: ServedField | None,
                        stamp_ns: int) -> None:
        if served is None:
            return
        if response.relevancy_cloud.width:
            self.pub_cloud.publish(response.relevancy_cloud)
        markers = delete_all_markers(served.base_frame)
        if result.grasp is not None:
            self.pub_pose.publish(response.grasp_pose)
            markers.markers.extend(gripper_markers(result.grasp.pose_matrix, result.grasp.opening_m,
                                                   served.base_frame, gripper=self.server.params.grasp.gripper,
                                                   stamp_ns=stamp_ns).markers)
        self.pub_markers.publish(markers)

    def close(self) -> None:
        if self._reload_thread is not None:
            self._reload_thread.join(timeout=5.0)


def main(args: list[str] | None = None) -> int:
    return spin_node(QueryNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
