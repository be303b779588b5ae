"""RViz ``MarkerArray`` of a parallel-jaw gripper at a grasp pose.

TCP convention (README "The grasp frame", :mod:`dff_grasp_ros.grasp.frames`): +z is the approach direction, +y the
finger closing axis, the origin lies between the finger pads. The gripper's geometry is not restated here: any object
with ``boxes(opening_m) -> {name: (lower_xyz, upper_xyz)}`` in the TCP frame (the grasp planner's
:class:`~dff_grasp_ros.grasp.gripper.ParallelJawGripper`) is drawn as CUBE markers, so what RViz shows is
exactly what the collision check used. An approach line (LINE_LIST) comes in along +z and ends at the back of
the hand.
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point, Vector3
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from dff_grasp_ros.ros_io.pose import checked_rigid_transform, matrix_to_pose
from dff_grasp_ros.ros_io.stamp import make_header

NOT_DRAWN = ("closing",)  # the free space between the fingers is a region, not a part of the hand


class GripperGeometry(Protocol):
    def boxes(self, opening_m: float) -> Mapping[str, tuple[np.ndarray, np.ndarray]]: ...


def _box_marker(marker_id: int, namespace: str, header: Header, tcp_to_base: np.ndarray, lower: Any, upper: Any,
                color: ColorRGBA) -> Marker:
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    centre_in_tcp = np.eye(4)
    centre_in_tcp[:3, 3] = (lower + upper) / 2.0
    size = upper - lower
    if np.any(size <= 0):
        raise ValueError(f"box {lower.tolist()}..{upper.tolist()} has no volume")
    return Marker(header=header, ns=namespace, id=marker_id, type=Marker.CUBE, action=Marker.ADD,
                  pose=matrix_to_pose(tcp_to_base @ centre_in_tcp),
                  scale=Vector3(x=size[0], y=size[1], z=size[2]), color=color, lifetime=Duration())


def gripper_markers(tcp_to_base: np.ndarray, width_m: float, frame_id: str, *, gripper: GripperGeometry,
                    stamp_ns: int = 0, namespace: str = "grasp", first_id: int = 0, approach_length_m: float = 0.1,
                    color_rgba: Sequence[float] = (0.1, 0.8, 0.2, 0.8)) -> MarkerArray:
    """CUBEs for the fingers and palm of ``gripper`` opened to ``width_m``, plus the approach line.

    Markers get ids ``first_id``, ``first_id + 1``, ... so several candidates can share one namespace.
    """
    tcp = checked_rigid_transform(tcp_to_base)
    if not (np.isfinite(width_m) and width_m >= 0):
        raise ValueError(f"gripper width must be a finite non-negative number of metres, got {width_m}")
    if not (np.isfinite(approach_length_m) and approach_length_m >= 0):
        raise ValueError(f"approach_length_m must be >= 0, got {approach_length_m}")
    header = make_header(frame_id, stamp_ns)
    color = ColorRGBA(r=float(color_rgba[0]), g=float(color_rgba[1]), b=float(color_rgba[2]),
                      a=float(color_rgba[3]))
    solid = {name: box for name, box in gripper.boxes(float(width_m)).items() if name not in NOT_DRAWN}
    markers = [_box_marker(first_id + i, namespace, header, tcp, lower, upper, color)
               for i, (lower, upper) in enumerate(solid.values())]
    back_z = min(float(lower[2]) for lower, _ in solid.values())
    line_start, line_end = (tcp @ np.array([0.0, 0.0, z, 1.0]) for z in (back_z - approach_length_m, back_z))
    thinnest = min(float(np.min(np.asarray(upper) - np.asarray(lower))) for lower, upper in solid.values())
    markers.append(Marker(
        header=header, ns=namespace, id=first_id + len(markers), type=Marker.LINE_LIST, action=Marker.ADD,
        pose=matrix_to_pose(np.eye(4)), scale=Vector3(x=thinnest / 2.0, y=0.0, z=0.0), color=color,
        points=[Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in (line_start, line_end)],
        lifetime=Duration()))
    return MarkerArray(markers=markers)


def push_markers(tcp_to_base: np.ndarray, end_position_m: np.ndarray, frame_id: str, *, gripper: GripperGeometry,
                 stamp_ns: int = 0, namespace: str = "push", color_rgba: Sequence[float] = (1.0, 0.55, 0.0, 0.8)
                 ) -> MarkerArray:
    """The hand with its fingers closed at a push's start (``tcp_to_base``), and an ARROW along the stroke from
    there to ``end_position_m``: where the fingers go down, and which way the object will slide."""
    markers = gripper_markers(tcp_to_base, 0.0, frame_id, gripper=gripper, stamp_ns=stamp_ns, namespace=namespace,
                              color_rgba=color_rgba).markers
    start, end = np.asarray(tcp_to_base, dtype=np.float64)[:3, 3], np.asarray(end_position_m, dtype=np.float64)
    if not np.isfinite(end).all():
        raise ValueError(f"push end position must be finite, got {end.tolist()}")
    color = markers[0].color
    # ARROW from two points: scale.x is the shaft's diameter, y the head's diameter, z the head's length.
    markers.append(Marker(
        header=make_header(frame_id, stamp_ns), ns=namespace, id=len(markers), type=Marker.ARROW,
        action=Marker.ADD, pose=matrix_to_pose(np.eye(4)), scale=Vector3(x=0.006, y=0.012, z=0.015), color=color,
        points=[Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in (start, end)], lifetime=Duration()))
    return MarkerArray(markers=markers)


def delete_all_markers(frame_id: str = "", namespace: str = "") -> MarkerArray:
    """A DELETEALL marker: publish it before a new grasp so stale candidates disappear from RViz."""
    return MarkerArray(markers=[Marker(header=make_header(frame_id, 0), ns=namespace, action=Marker.DELETEALL)])


__all__ = ["GripperGeometry", "gripper_markers", "delete_all_markers"]
