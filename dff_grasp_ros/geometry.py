"""Small pure-numpy helpers shared by the field export, the query and the test bed (one of each)."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def unit_rows(vectors: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Rows (last axis) scaled to unit length; zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=dtype)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def pose_matrix(rotation: np.ndarray, position_m: np.ndarray) -> np.ndarray:
    """4x4 homogeneous pose from a (3, 3) rotation and a (3,) position."""
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, position_m
    return matrix


def voxel_keys(points_m: np.ndarray, voxel_m: float) -> np.ndarray:
    """One int64 per point naming its cell of a ``voxel_m`` grid: equal keys, same cell.

    One integer per cell rather than a row of three, because a 1-D ``np.unique`` is several times faster than a
    unique over rows (this runs on every query and every export).
    """
    if voxel_m <= 0:
        raise ValueError(f"voxel size must be positive, got {voxel_m}")
    cells = np.floor(np.asarray(points_m, dtype=np.float64) / voxel_m).astype(np.int64)
    if len(cells) == 0:
        return np.zeros(0, dtype=np.int64)
    cells -= cells.min(axis=0)
    extent = cells.max(axis=0) + 1
    if np.prod(extent.astype(np.float64)) < 2.0 ** 62:
        return (cells[:, 0] * extent[1] + cells[:, 1]) * extent[2] + cells[:, 2]
    return np.unique(cells, axis=0, return_inverse=True)[1].reshape(-1)  # a grid too large to number densely


def rotation_angle_deg(rotations: np.ndarray) -> np.ndarray:
    """Angle (degrees) of rotation matrices (..., 3, 3): arccos((trace - 1) / 2), clipped against rounding."""
    trace = np.trace(np.asarray(rotations, dtype=np.float64), axis1=-2, axis2=-1)
    return np.degrees(np.arccos(np.clip((trace - 1.0) / 2.0, -1.0, 1.0)))


def near_box(points_m: np.ndarray, reference_m: np.ndarray, margin_m: float) -> np.ndarray:
    """Mask of ``points_m`` inside the axis-aligned box around ``reference_m`` grown by ``margin_m``: a superset of
    the points within ``margin_m`` of some reference point, found in one pass, so that a KD-tree for a nearness
    test needs to hold only these (building one over a whole field cloud cost more than the test)."""
    points_m = np.asarray(points_m)
    if len(reference_m) == 0:
        return np.zeros(len(points_m), dtype=bool)
    inside = np.ones(len(points_m), dtype=bool)
    # Axis by axis, against plain floats: (N, 3) temporaries, and float32 points compared with float64 bounds
    # (numpy then converts the points), took twice as long. A micrometre more keeps the float32 rounding of the
    # bounds on the safe side.
    low = np.min(reference_m, axis=0) - margin_m - 1e-6
    high = np.max(reference_m, axis=0) + margin_m + 1e-6
    for axis in range(3):
        column = points_m[:, axis]
        inside &= (column >= float(low[axis])) & (column <= float(high[axis]))
    return inside


# Threads per KD-tree query of a scene update. One: scipy starts its threads anew for every query, and a scene
# update makes ~20 small ones. On a `bin` field the median update took 362-399 ms with a thread per core and
# 320-327 ms with one while another process kept one of the two cores busy (the simulator, another node), and
# 351-368 against 321-323 ms idle (2026-12-03, bench/RESULTS.md "Scene updates under load").
KD_QUERY_WORKERS = 1


def nearness_tree(points_m: np.ndarray) -> cKDTree:
    """A KD-tree for nearest-neighbour tests that is built once and queried once (a scene update's): split at the
    sliding midpoint rather than the median and left uncompacted. Over 95,000 served points of a `bin` field
    (2026-12-03) it built in 15 instead of 31 ms and answered 77,000 nearness queries in 22 instead of 38 ms;
    nearest distances are exact either way."""
    return cKDTree(points_m, balanced_tree=False, compact_nodes=False)


def within_m(points_m: np.ndarray, reference_m: np.ndarray, radius_m: float) -> np.ndarray:
    """Mask of ``points_m`` with a point of ``reference_m`` within ``radius_m`` (a KD-tree query). Only the points
    and reference points in each other's box grown by ``radius_m`` (:func:`near_box`) take part: building a tree
    over a whole field cloud cost more than the query."""
    points_m, reference_m = np.asarray(points_m), np.asarray(reference_m)
    out = np.zeros(len(points_m), dtype=bool)
    if len(points_m) == 0 or len(reference_m) == 0:
        return out
    candidates = np.flatnonzero(near_box(points_m, reference_m, radius_m))
    reference_m = reference_m[near_box(reference_m, points_m[candidates], radius_m)]
    if len(candidates) and len(reference_m):
        distance, _ = nearness_tree(reference_m).query(points_m[candidates], distance_upper_bound=radius_m,
                                                        workers=KD_QUERY_WORKERS)
        out[candidates] = np.isfinite(distance)
    return out


def gather_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for each (start, count), without a Python loop (CSR row gathers)."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(np.asarray(starts, dtype=np.int64) - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(total, dtype=np.int64)


def clip_index(index: np.ndarray, count: int) -> np.ndarray:
    """Integer ``index`` clipped to [0, count - 1]: ``np.clip``'s answer, without its checks of the bounds' types,
    which cost more than the clipping on the small arrays of a batch of poses."""
    return np.minimum(np.maximum(index, 0), count - 1)


def group_reduce(ufunc: np.ufunc, values: np.ndarray, group: np.ndarray, count: int, empty: float) -> np.ndarray:
    """``ufunc`` (np.minimum, np.maximum, np.add) over ``values`` per group, for ``group`` sorted ascending;
    ``empty`` for groups without rows. Much faster than ``ufunc.at``."""
    out = np.full(count, empty, dtype=np.float64)
    if len(values) == 0:
        return out
    starts = np.searchsorted(group, np.arange(count))
    nonempty = starts < np.r_[starts[1:], len(group)]
    out[nonempty] = ufunc.reduceat(np.asarray(values, dtype=np.float64), starts[nonempty])
    return out
