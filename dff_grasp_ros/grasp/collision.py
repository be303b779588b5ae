"""Collision tests of the hand against the scene cloud and the table plane.

Only what was seen is an obstacle: the points of the fused scene cloud (neighbours, bin walls, the object itself)
and, when one is given, the table plane ``table_z_m``. Unseen back sides are free space to these tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from dff_grasp_ros.grasp.gripper import ParallelJawGripper, points_in_box, to_tcp_frame

SOLID_PARTS = ("finger_left", "finger_right", "palm")
# ``Obstacles.scene_index`` of a point that is none of the planner's points: just above the table (never held,
# never foreign) or seen without features (after a scene update: never held, foreign between the fingers).
LOW_LAYER = -1
FEATURELESS = -2


@dataclass(frozen=True, eq=False)
class Obstacles:
    """The seen points the hand must not touch, with a KD-tree; immutable, shared by concurrent queries.

    Points below ``floor_z_m`` are left out: a hand that clears the table plane (:func:`clears_table`, with the
    same clearance) cannot reach them, so the plane test covers them exactly. ``scene_index`` maps each obstacle
    to its row in the planner's points; an obstacle that is not one of them is LOW_LAYER (just above the table,
    belonging to no object) or FEATURELESS (surface a scene update saw: anything between the fingers but the
    object is foreign, and so is this).
    """

    points_m: np.ndarray  # (M, 3)
    scene_index: np.ndarray  # (M,) int
    tree: cKDTree

    @staticmethod
    def from_points(points_m: np.ndarray, floor_z_m: float | None = None,
                    scene_index: np.ndarray | None = None) -> Obstacles:
        points_m = np.asarray(points_m, dtype=np.float64).reshape(-1, 3)
        if scene_index is None:
            scene_index = np.arange(len(points_m))
        keep = np.ones(len(points_m), dtype=bool) if floor_z_m is None else points_m[:, 2] >= floor_z_m
        return Obstacles(points_m[keep], np.asarray(scene_index, dtype=np.int64)[keep], cKDTree(points_m[keep]))

    @staticmethod
    def above_table(points_m: np.ndarray, table_z_m: float | None, clearance_m: float) -> Obstacles:
        """The points themselves as obstacles, but those a hand that clears the table plane by ``clearance_m``
        cannot reach (no table plane: all of them)."""
        return Obstacles.from_points(points_m, None if table_z_m is None else table_z_m + clearance_m)

    def __len__(self) -> int:
        return len(self.points_m)


@dataclass(frozen=True)
class ObstacleRoles:
    """What each obstacle point is to a grasp on one object (per obstacle, from ``Obstacles.scene_index``)."""

    in_scene: np.ndarray  # (M,) bool: one of the planner's points
    scene_row: np.ndarray  # (M,) int: its row among them (0 where it is none)
    on_object: np.ndarray  # (M,) bool: a point of the object
    # Anything else seen: other scene points and featureless surface, not the layer just above the table.
    elsewhere: np.ndarray  # (M,) bool

    @staticmethod
    def of(scene_index: np.ndarray, object_mask: np.ndarray) -> ObstacleRoles:
        """The roles of obstacles with ``scene_index``, for the object ``object_mask`` (over the planner's points)."""
        in_scene = scene_index >= 0
        scene_row = np.where(in_scene, scene_index, 0)
        on_object = in_scene & object_mask[scene_row]
        return ObstacleRoles(in_scene, scene_row, on_object, (in_scene & ~on_object) | (scene_index == FEATURELESS))


def colliding_points(gripper: ParallelJawGripper, rotation: np.ndarray, position_m: np.ndarray, opening_m: float,
                     scene_points_m: np.ndarray) -> np.ndarray:
    """Mask of scene points inside the fingers or palm. Points between the fingers are what is held: never counted."""
    local = to_tcp_frame(scene_points_m, rotation, position_m)
    boxes = gripper.boxes(opening_m)
    hit = np.zeros(len(local), dtype=bool)
    for name in SOLID_PARTS:
        hit |= points_in_box(local, boxes[name])
    return hit & ~points_in_box(local, boxes["closing"])


def between_fingers(gripper: ParallelJawGripper, rotation: np.ndarray, position_m: np.ndarray, opening_m: float,
                    scene_points_m: np.ndarray) -> np.ndarray:
    """Mask of scene points in the closing region (between the finger pads' inner faces).

    Also batched: ``rotation`` (R, 3, 3) and ``position_m`` (R, 3) give an (R, N) mask.
    """
    local = to_tcp_frame(scene_points_m, rotation, np.asarray(position_m)[..., None, :])
    return points_in_box(local, gripper.boxes(opening_m)["closing"])


def solid_corners_tcp(gripper: ParallelJawGripper, openings_m: np.ndarray) -> np.ndarray:
    """Corners (M, 24, 3) of fingers and palm in the TCP frame for each opening."""
    boxes = gripper.boxes(0.0)
    corners, y_side = [], []
    for name, side in zip(SOLID_PARTS, (1.0, -1.0, 0.0)):
        lower, upper = boxes[name]
        corners += [[x, y, z] for x in (lower[0], upper[0]) for y in (lower[1], upper[1]) for z in (lower[2], upper[2])]
        y_side += [side] * 8
    # Only the fingers move with the opening, each by half of it along its own side of y.
    shift = np.zeros((len(np.atleast_1d(openings_m)), len(corners), 3))
    shift[:, :, 1] = np.atleast_1d(openings_m)[:, None] / 2.0 * np.asarray(y_side)
    return np.asarray(corners)[None] + shift


def clears_table(gripper: ParallelJawGripper, rotations: np.ndarray, positions_m: np.ndarray, openings_m: np.ndarray,
                 table_z_m: float, clearance_m: float) -> np.ndarray:
    """Mask (M,) of poses whose fingers and palm stay ``clearance_m`` above the table plane z = ``table_z_m``.

    Boxes are convex, so checking their corners is exact.
    """
    corners = solid_corners_tcp(gripper, openings_m)  # (M, 24, 3)
    world_z = np.einsum("mj,mkj->mk", rotations[:, 2, :], corners) + positions_m[:, 2:3]
    return world_z.min(axis=1) >= table_z_m + clearance_m
