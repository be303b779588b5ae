"""Top-down contact pairs found from the cloud's shape alone, without surface normals.

Antipodal sampling (:mod:`dff_grasp_ros.grasp.antipodal`) needs a normal on each contact. Thin parts defeat it:
a knife blade lying flat shows a fused cloud its 3 mm edges as a single row of points, whose estimated normals
point up like the faces beside them, so no pair of edge points looks antipodal. A parallel-jaw hand coming
straight down does not need those normals: its fingers close on whatever lies between them, so the contacts are
the extreme points of the object's cross-section in the slab the pads sweep.

For a centre ``c`` on the target and a horizontal closing direction ``d``, the pads sweep the slab ``|t| <=
finger_width / 2`` (``t`` across ``d``) at the heights ``|z - c_z| <= pad_length / 2``. Object points there are
ordered along ``d``; the run that contains ``c`` (gaps narrower than a finger cannot be entered, so they do not
split it) is what the hand holds, and its first and last points are the contacts. The pads' line of action is
``d``; the held edges are straight across the slab when the run's extreme along ``d`` does not drift with ``t``.
Their drift angle plays the role of the normal's angle in the friction-cone test.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from dff_grasp_ros.grasp.antipodal import ContactPairs, friction_cone_cosine

UP = np.array([0.0, 0.0, 1.0])
TOP_DOWN = -UP  # the approach the cross-sections are taken for: straight down onto the table
_SAME_QUALITY = 0.01  # directions of one centre within this edge cosine of the best are all kept
_OUTSIDE = 1e9  # coordinate given to points outside a slab, so they sort after every point inside


@dataclass(frozen=True)
class SlabShape:
    """The hand's footprint that decides what a top-down grasp holds (metres)."""

    finger_width_m: float  # slab width across the closing direction
    pad_length_m: float  # height band of the slab around the centre
    min_gap_m: float  # gaps narrower than this (a finger's thickness) do not split what is held
    edge_bins: int = 4  # bins across the slab used to measure each held edge's drift


def tilted_approaches(closing_axis: np.ndarray, count: int, max_tilt_rad: float) -> np.ndarray:
    """Straight down, then approaches turned about the (horizontal) closing axis in steps of a ``count``-th of a
    turn, up to ``max_tilt_rad`` either way. Turning about the closing axis keeps the pads on the same edges."""
    step = 2.0 * np.pi / count
    tilts = np.arange(1, int(max_tilt_rad / step + 1e-9) + 1) * step
    angles = np.r_[0.0, np.ravel(np.column_stack([tilts, -tilts]))]
    side = np.cross(closing_axis, TOP_DOWN)
    side /= np.linalg.norm(side)
    return np.cos(angles)[:, None] * TOP_DOWN + np.sin(angles)[:, None] * side


def horizontal_directions(count: int) -> np.ndarray:
    """``count`` horizontal unit vectors evenly spread over a half turn (the hand is symmetric)."""
    angles = np.arange(count) * (np.pi / count)
    return np.column_stack([np.cos(angles), np.sin(angles), np.zeros(count)])


def edge_drift_cosines(along_m: np.ndarray, across_m: np.ndarray, held: np.ndarray, bins: int,
                       half_width_m: float) -> np.ndarray:
    """Per direction (column), the cosine between ``d`` and the normal of the held points' far edge along ``d``.

    ``along_m``, ``across_m`` and ``held`` are (N, D): point coordinates per closing direction and the mask of
    held points. Per bin across the slab the farthest held point is taken; a line fitted through those extremes
    traces the edge. 0 (outside any friction cone) where fewer than two bins hold points: a point contact, whose
    edge direction is unknown.
    """
    edges = np.linspace(-half_width_m, half_width_m, bins + 1)
    which = np.clip(np.searchsorted(edges, across_m, side="right") - 1, 0, bins - 1)  # (N, D)
    in_bin = held[None] & (which[None] == np.arange(bins)[:, None, None])  # (B, N, D)
    occupied = in_bin.any(axis=1)  # (B, D)
    extreme = np.where(in_bin, along_m[None], -np.inf).max(axis=1)  # (B, D)
    centres = 0.5 * (edges[:-1] + edges[1:])[:, None]  # (B, 1)
    count = occupied.sum(axis=0)
    weight = occupied.astype(np.float64)
    mean_t = (weight * centres).sum(axis=0) / np.maximum(count, 1)
    mean_s = np.where(occupied, extreme, 0.0).sum(axis=0) / np.maximum(count, 1)
    dt = np.where(occupied, centres - mean_t, 0.0)
    ds = np.where(occupied, extreme - mean_s, 0.0)
    slope = (dt * ds).sum(axis=0) / np.maximum((dt * dt).sum(axis=0), 1e-12)
    return np.where(count >= 2, 1.0 / np.sqrt(1.0 + slope * slope), 0.0)


def held_runs(along_m: np.ndarray, in_slab: np.ndarray, min_gap_m: float) -> np.ndarray:
    """Mask (N, D) of the slab points whose run along ``d`` contains the centre (the point at 0).

    Runs are split at gaps of at least ``min_gap_m`` between consecutive slab points. The centre must be in
    every slab (it is at the origin).
    """
    ordered_along = np.where(in_slab, along_m, _OUTSIDE)
    order = np.argsort(ordered_along, axis=0)
    ordered = np.take_along_axis(ordered_along, order, axis=0)
    gaps = np.diff(ordered, axis=0) >= min_gap_m
    run_id = np.vstack([np.zeros((1, along_m.shape[1]), dtype=np.int64), np.cumsum(gaps, axis=0)])
    centre_rank = (ordered < 0.0).sum(axis=0)  # the first point at or beyond 0 is the centre
    centre_run = np.take_along_axis(run_id, centre_rank[None], axis=0)
    held_sorted = (run_id == centre_run) & (ordered < _OUTSIDE)
    held = np.zeros_like(held_sorted)
    np.put_along_axis(held, order, held_sorted, axis=0)
    return held


def sample_cross_section_pairs(points_m: np.ndarray, first_candidates: np.ndarray, object_candidates: np.ndarray,
                        shape: SlabShape, max_width_m: float, friction_coefficient: float, samples: int,
                        directions: int, rng: np.random.Generator, min_width_m: float = 0.002) -> ContactPairs:
    """Top-down pairs (see the module docstring) for up to ``samples`` centres drawn from ``first_candidates``.

    Every pair's approach is :data:`TOP_DOWN`. ``first`` and ``second`` are the held run's extreme points along
    the closing axis; they need not lie on the target, the centre does. At most one pair per centre and
    direction, and per centre only the directions whose held edges are (nearly) the straightest; pairs whose
    edges drift outside the friction cone are dropped.
    """
    cone_cos = friction_cone_cosine(friction_coefficient)
    first_candidates = np.asarray(first_candidates, dtype=np.int64)
    object_candidates = np.asarray(object_candidates, dtype=np.int64)
    if len(first_candidates) == 0 or len(object_candidates) < 2 or samples == 0:
        return ContactPairs.empty()
    centres = rng.choice(first_candidates, size=min(samples, len(first_candidates)), replace=False)
    closing = horizontal_directions(directions)  # (D, 3)
    lateral = np.cross(UP, closing)
    object_points = points_m[object_candidates]
    half_width = shape.finger_width_m / 2.0
    found: list[ContactPairs] = []
    reach = max_width_m + shape.finger_width_m
    for centre, nearby in zip(centres, cKDTree(object_points).query_ball_point(points_m[centres], r=reach)):
        nearby = np.asarray(nearby, dtype=np.int64)
        offset = object_points[nearby] - points_m[centre]
        in_band = np.abs(offset[:, 2]) <= shape.pad_length_m / 2.0
        nearby, offset = nearby[in_band], offset[in_band]
        along, across = offset @ closing.T, offset @ lateral.T  # (N, D)
        in_slab = np.abs(across) <= half_width
        held = held_runs(along, in_slab, shape.min_gap_m)
        low = np.where(held, along, np.inf).argmin(axis=0)
        high = np.where(held, along, -np.inf).argmax(axis=0)
        columns = np.arange(directions)
        width = along[high, columns] - along[low, columns]
        cosine = np.minimum(edge_drift_cosines(along, across, held, shape.edge_bins, half_width),
                            edge_drift_cosines(-along, across, held, shape.edge_bins, half_width))
        ok = (width >= min_width_m) & (width <= max_width_m) & (cosine >= cone_cos)
        # Neighbouring directions of one centre give near-identical grasps: keep the straightest edges only.
        ok &= cosine >= np.max(np.where(ok, cosine, -1.0)) - _SAME_QUALITY
        if ok.any():
            found.append(ContactPairs(first=object_candidates[nearby[low[ok]]],
                                      second=object_candidates[nearby[high[ok]]], closing_axis=closing[ok],
                                      width_m=width[ok], antipodality=(cosine[ok] - cone_cos) / (1.0 - cone_cos)))
    pairs = ContactPairs.empty()
    for more in found:
        pairs = pairs.concatenate(more)
    return pairs
