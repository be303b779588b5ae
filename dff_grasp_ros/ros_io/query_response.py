"""A query answer (:class:`~dff_grasp_ros.query.pipeline.QueryResult`) as a ``QueryObject`` response.

Shared by the query node and the offline answers (``dff-grasp ask``, the viewer), so the two cannot drift apart.
"""
from __future__ import annotations

from typing import Any

from geometry_msgs.msg import PoseArray

from dff_grasp_ros.geometry import pose_matrix
from dff_grasp_ros.query.downsample import strided_indices
from dff_grasp_ros.ros_io.pointcloud import make_pointcloud2
from dff_grasp_ros.ros_io.pose import matrix_to_pose, matrix_to_pose_stamped
from dff_grasp_ros.ros_io.stamp import make_header


def fill_response(response: Any, result: Any, served: Any, max_points: int, stamp_ns: int) -> Any:
    """Copy a QueryResult (and the served cloud, thinned to ``max_points``) into a QueryObject response."""
    response.success = bool(result.success)
    response.message = result.message
    response.latency_s = float(result.latency_s)
    if served is None:
        return response
    frame = served.base_frame
    relevancy = result.display_relevancy
    if relevancy is not None:
        keep = strided_indices(len(served.cloud), max_points)
        response.relevancy_cloud = make_pointcloud2(served.cloud.points_m[keep], frame_id=frame, stamp_ns=stamp_ns,
                                                    rgb=served.cloud.rgb[keep], relevancy=relevancy[keep])
    if result.grasp is not None:
        response.end_effector = result.grasp.end_effector  # candidates are grasps of the same tool
        best = result.grasp.pose_matrix
        response.grasp_pose = matrix_to_pose_stamped(best, frame, stamp_ns)
        pre = best.copy()
        pre[:3, 3] = result.grasp.pre_grasp_position_m
        response.pre_grasp_pose = matrix_to_pose_stamped(pre, frame, stamp_ns)
        response.grasp_width_m = float(result.grasp.width_m)
        response.grasp_opening_m = float(result.grasp.opening_m)
        response.score = float(result.grasp.score)
    response.candidates = PoseArray(header=make_header(frame, stamp_ns),
                                    poses=[matrix_to_pose(g.pose_matrix) for g in result.candidates])
    response.candidate_scores = [float(g.score) for g in result.candidates]
    response.candidate_widths_m = [float(g.width_m) for g in result.candidates]
    push = getattr(result, "push", None)
    if push is not None:
        response.push_suggested = True
        for name, position in (("pre_push_pose", push.pre_push_position_m), ("push_start_pose", push.start_position_m),
                               ("push_end_pose", push.end_position_m)):
            setattr(response, name, matrix_to_pose_stamped(pose_matrix(push.rotation, position), frame, stamp_ns))
        response.push_distance_m = float(push.distance_m)
    return response
