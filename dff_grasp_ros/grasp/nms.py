"""Non-maximum suppression of grasp poses: keep the best of each cluster of near-identical grasps."""
from __future__ import annotations

from typing import Callable, Iterable, TypeVar

import numpy as np

from dff_grasp_ros.grasp.frames import grasp_rotation_distance_rad

T = TypeVar("T")


def is_near(position_a_m: np.ndarray, rotation_a: np.ndarray, position_b_m: np.ndarray, rotation_b: np.ndarray,
            distance_m: float, angle_rad: float) -> bool:
    """Whether two grasps are duplicates: both closer than ``distance_m`` and turned less than ``angle_rad``."""
    return (float(np.linalg.norm(np.asarray(position_a_m) - position_b_m)) < distance_m
            and grasp_rotation_distance_rad(rotation_a, rotation_b) < angle_rad)


def non_maximum_suppression(items: Iterable[T], pose_of: Callable[[T], tuple[np.ndarray, np.ndarray]],
                            distance_m: float, angle_rad: float, limit: int | None = None,
                            accept: Callable[[T], bool] | None = None) -> list[T]:
    """Items in the given (best-first) order, skipping any near an already kept one.

    ``accept`` is an optional, possibly expensive, test (e.g. collision) run only on items that survive
    suppression, so that it is paid for at most ``limit`` kept items plus the rejected ones in between.
    """
    kept: list[T] = []
    for item in items:
        position, rotation = pose_of(item)
        if any(is_near(position, rotation, *pose_of(other), distance_m, angle_rad) for other in kept):
            continue
        if accept is not None and not accept(item):
            continue
        kept.append(item)
        if limit is not None and len(kept) >= limit:
            break
    return kept


def suppress_near(positions_m: np.ndarray, rotations: np.ndarray, order: np.ndarray, distance_m: float,
                  angle_rad: float, limit: int | None = None) -> list[int]:
    """:func:`non_maximum_suppression` of poses given as arrays, vectorised over the kept ones.

    Returns the indices of the kept poses, in ``order`` (best first).
    """
    # cos of the angle between two orientations is (trace(Ra^T Rb) - 1) / 2, and trace(Ra^T Rb) is the dot
    # product of the flattened matrices; the hand's half turn about z negates the x and y columns.
    flat = np.asarray(rotations, dtype=np.float64).reshape(-1, 9)
    turned = flat * np.array([-1.0, -1.0, 1.0] * 3)
    cos_limit = 2.0 * np.cos(angle_rad) + 1.0  # on the trace
    kept: list[int] = []
    for index in np.asarray(order, dtype=np.int64):
        if kept:
            near = ((positions_m[kept] - positions_m[index]) ** 2).sum(axis=1) < distance_m ** 2
            if near.any():
                others = np.asarray(kept)[near]
                if np.any(np.maximum(flat[others] @ flat[index], turned[others] @ flat[index]) > cos_limit):
                    continue
        kept.append(int(index))
        if limit is not None and len(kept) >= limit:
            break
    return kept
