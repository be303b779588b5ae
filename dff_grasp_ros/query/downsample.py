"""Voxel-grid thinning: one representative point per occupied voxel, and the way back to every point."""
from __future__ import annotations

import numpy as np


def voxel_representatives(points_m: np.ndarray, voxel_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(representatives, inverse): indices of one point per voxel, and each point's row in ``representatives``.

    ``mask_on_representatives[inverse]`` spreads a per-representative result back to all points. ``voxel_m <= 0``
    keeps every point.
    """
    n = len(points_m)
    if voxel_m <= 0 or n == 0:
        return np.arange(n), np.arange(n)
    cells = np.floor(np.asarray(points_m, dtype=np.float64) / voxel_m).astype(np.int64)
    cells -= cells.min(axis=0)
    extent = cells.max(axis=0) + 1
    if np.prod(extent.astype(np.float64)) < 2.0 ** 62:
        # One integer per cell: a 1-D unique is several times faster than a unique over rows.
        keys = (cells[:, 0] * extent[1] + cells[:, 1]) * extent[2] + cells[:, 2]
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(cells, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)
