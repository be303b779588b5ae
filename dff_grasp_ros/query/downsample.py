"""Thinning clouds: one representative point per occupied voxel (and the way back), or an even stride."""
from __future__ import annotations

import numpy as np

from dff_grasp_ros.geometry import voxel_keys


def voxel_representatives(points_m: np.ndarray, voxel_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(representatives, inverse): indices of one point per voxel, and each point's row in ``representatives``.

    ``mask_on_representatives[inverse]`` spreads a per-representative result back to all points. ``voxel_m <= 0``
    keeps every point.
    """
    n = len(points_m)
    if voxel_m <= 0 or n == 0:
        return np.arange(n), np.arange(n)
    _, first, inverse = np.unique(voxel_keys(points_m, voxel_m), return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def strided_indices(count: int, max_points: int) -> np.ndarray:
    """An evenly strided subset of at most ``max_points`` of ``count`` rows (all when ``max_points <= 0``).

    Fused scene clouds are voxel-ordered, so a stride thins them evenly in space too.
    """
    if count <= max_points or max_points <= 0:
        return np.arange(count)
    return np.linspace(0, count - 1, max_points).round().astype(np.int64)
