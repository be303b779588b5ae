"""Non-maximum suppression of grasp poses: keep the best of each cluster of near-identical grasps."""
from __future__ import annotations

import numpy as np


def suppress_near(positions_m: np.ndarray, rotations: np.ndarray, order: np.ndarray, distance_m: float,
                  angle_rad: float, limit: int | None = None) -> list[int]:
    """Indices of poses in ``order`` (best first), skipping any near an already kept one: closer than
    ``distance_m`` and turned less than ``angle_rad`` (the hand's half turn about its approach axis counts as no
    turn, :func:`dff_grasp_ros.grasp.frames.grasp_rotation_distance_rad`). At most ``limit`` are kept.
    """
    # cos of the angle between two orientations is (trace(Ra^T Rb) - 1) / 2, and trace(Ra^T Rb) is the dot
    # product of the flattened matrices; the hand's half turn about z negates the x and y columns.
    flat = np.asarray(rotations, dtype=np.float64).reshape(-1, 9)
    turned = flat * np.array([-1.0, -1.0, 1.0] * 3)
    trace_limit = 2.0 * np.cos(angle_rad) + 1.0
    kept: list[int] = []
    for index in np.asarray(order, dtype=np.int64):
        if kept:
            near = ((positions_m[kept] - positions_m[index]) ** 2).sum(axis=1) < distance_m ** 2
            if near.any():
                others = np.asarray(kept)[near]
                if np.any(np.maximum(flat[others] @ flat[index], turned[others] @ flat[index]) > trace_limit):
                    continue
        kept.append(int(index))
        if limit is not None and len(kept) >= limit:
            break
    return kept
