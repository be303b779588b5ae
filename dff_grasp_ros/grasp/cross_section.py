"""Contact pairs found from the cloud's shape alone, without surface normals, for a given approach direction.

Antipodal sampling (:mod:`dff_grasp_ros.grasp.antipodal`) needs a normal on each contact. Thin parts defeat it:
a knife blade lying flat shows a fused cloud its 3 mm edges as a single row of points, whose estimated normals
point up like the faces beside them, so no pair of edge points looks antipodal. A parallel-jaw hand coming
along its approach ``a`` does not need those normals: its fingers close on whatever lies between them, so the
contacts are the extreme points of the object's cross-section in the slab the pads sweep.

For a centre ``c`` on the target and a closing direction ``d`` across ``a``, the pads sweep the slab ``|t| <=
finger_width / 2`` (``t`` along ``d x a``) at the depths ``|(p - c) . a| <= pad_length / 2``. Object points
there are ordered along ``d``; the run that contains ``c`` (gaps narrower than a finger cannot be entered, so
they do not split it) is what the hand holds, and its first and last points are the contacts. The pads' line of
action is ``d``; the held edges are straight across the slab when the run's extreme along ``d`` does not drift
with ``t``. Their drift angle plays the role of the normal's angle in the friction-cone test.

Straight down (``a = -z``) suits anything lying on a table; approaches tilted in a cone around it reach parts
that lean, or whose neighbours leave room only at an angle.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dff_grasp_ros.geometry import clip_index
from dff_grasp_ros.grasp.antipodal import ContactPairs, friction_cone_cosine

UP = np.array([0.0, 0.0, 1.0])
TOP_DOWN = -UP  # the approach the cross-sections are taken for: straight down onto the table
_SAME_QUALITY = 0.01  # directions of one centre within this edge cosine of the best are all kept
_PARALLEL_EDGES = 0.1  # slopes of a strip's two held edges that differ by less (about 6 degrees) are one strip's


@dataclass(frozen=True)
class SlabShape:
    """The hand's footprint that decides what a top-down grasp holds (metres)."""

    finger_width_m: float  # slab width across the closing direction
    pad_length_m: float  # height band of the slab around the centre
    min_gap_m: float  # gaps narrower than this (a finger's thickness) do not split what is held
    edge_bins: int = 4  # bins across the slab used to measure each held edge's drift


def tilted_approaches(closing_axis: np.ndarray, count: int, max_tilt_rad: float,
                      base: np.ndarray = TOP_DOWN) -> np.ndarray:
    """``base`` (straight down by default), then approaches turned about the closing axis in steps of a
    ``count``-th of a turn, up to ``max_tilt_rad`` either way. Turning about the closing axis keeps the pads on
    the same edges. Batched too: ``closing_axis`` and ``base`` (P, 3) give (P, K, 3)."""
    step = 2.0 * np.pi / count
    tilts = np.arange(1, int(max_tilt_rad / step + 1e-9) + 1) * step
    angles = np.r_[0.0, np.ravel(np.column_stack([tilts, -tilts]))]
    base = np.asarray(base, dtype=np.float64)
    side = np.cross(closing_axis, base)
    side /= np.linalg.norm(side, axis=-1, keepdims=True)
    return np.cos(angles)[:, None] * base[..., None, :] + np.sin(angles)[:, None] * side[..., None, :]


def cone_approaches(tilts_rad: tuple[float, ...], azimuths: int) -> np.ndarray:
    """Straight down, then ``azimuths`` approaches evenly around it at each tilt from the vertical."""
    rings = [TOP_DOWN[None]]
    for tilt in tilts_rad:
        azimuth = np.arange(azimuths) * (2.0 * np.pi / azimuths)
        rings.append(np.column_stack([np.sin(tilt) * np.cos(azimuth), np.sin(tilt) * np.sin(azimuth),
                                      np.full(azimuths, -np.cos(tilt))]))
    return np.vstack(rings)


def closing_directions(approach: np.ndarray, count: int) -> np.ndarray:
    """``count`` unit vectors across ``approach``, evenly spread over a half turn (the hand is symmetric).

    For the straight-down approach they are horizontal, starting along +x.
    """
    approach = np.asarray(approach, dtype=np.float64) / np.linalg.norm(approach)
    helper = np.array([0.0, 1.0, 0.0]) if abs(approach[0]) > 0.9 else np.array([1.0, 0.0, 0.0])
    first = helper - (helper @ approach) * approach
    first /= np.linalg.norm(first)
    second = np.cross(first, approach)
    angles = np.arange(count) * (np.pi / count)
    return np.cos(angles)[:, None] * first + np.sin(angles)[:, None] * second


def edge_drift_cosines(along_m: np.ndarray, across_m: np.ndarray, held: np.ndarray, bins: int,
                       half_width_m: float, unknown: float = 0.0) -> np.ndarray:
    """Per direction (column), the cosine between ``d`` and the normal of the held points' far edge along ``d``.

    ``along_m``, ``across_m`` and ``held`` are (N, D): point coordinates per closing direction and the mask of
    held points (:func:`grouped_edge_drift_cosines` with one group per column).
    """
    columns = np.broadcast_to(np.arange(along_m.shape[1]), along_m.shape)
    return grouped_edge_drift_cosines(along_m.ravel(), across_m.ravel(), held.ravel(), columns.ravel(),
                                      along_m.shape[1], bins, half_width_m, unknown)


def grouped_edge_drift_cosines(along_m: np.ndarray, across_m: np.ndarray, held: np.ndarray, group: np.ndarray,
                               groups: int, bins: int, half_width_m: float,
                               unknown: float | np.ndarray = 0.0) -> np.ndarray:
    """Per group (slab of one centre and direction), the cosine between ``d`` and the held far edge's normal.

    ``unknown`` (0 by default: outside any friction cone) where fewer than two bins hold points: a point contact,
    whose edge direction is unknown. See :func:`grouped_edge_slopes`.
    """
    return slope_cosines(*grouped_edge_slopes(along_m, across_m, held, group, groups, bins, half_width_m), unknown)


def slope_cosines(slope: np.ndarray, measured: np.ndarray, unknown: float | np.ndarray = 0.0) -> np.ndarray:
    """Cosine between ``d`` and the normal of an edge of this slope; ``unknown`` where it was not measured."""
    return np.where(measured, 1.0 / np.sqrt(1.0 + slope * slope), unknown)


def grouped_edge_slopes(along_m: np.ndarray, across_m: np.ndarray, held: np.ndarray, group: np.ndarray,
                        groups: int, bins: int, half_width_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the held far edge's slope (change along ``d`` per metre across the slab) and whether it could be
    measured (at least two bins hold points).

    Per bin across the slab (``across_m`` within ``half_width_m``) the farthest held point along ``d`` is taken; a
    line fitted through those extremes traces the edge.
    """
    across_m, group = across_m[held], group[held]  # only held points trace an edge
    which = clip_index(np.floor((across_m + half_width_m) / (2.0 * half_width_m) * bins).astype(np.int64), bins)
    extreme = np.full(groups * bins, -np.inf)
    np.maximum.at(extreme, group * bins + which, along_m[held])
    extreme = extreme.reshape(groups, bins)
    occupied = np.isfinite(extreme)
    centres = -half_width_m + (np.arange(bins) + 0.5) * (2.0 * half_width_m / bins)  # (B,)
    count = occupied.sum(axis=1)
    mean_t = np.where(occupied, centres, 0.0).sum(axis=1) / np.maximum(count, 1)
    mean_s = np.where(occupied, extreme, 0.0).sum(axis=1) / np.maximum(count, 1)
    dt = np.where(occupied, centres - mean_t[:, None], 0.0)
    ds = np.where(occupied, extreme - mean_s[:, None], 0.0)
    slope = (dt * ds).sum(axis=1) / np.maximum((dt * dt).sum(axis=1), 1e-12)
    return slope, count >= 2


def held_runs(along_m: np.ndarray, in_slab: np.ndarray, min_gap_m: float) -> np.ndarray:
    """Mask (N, D) of the slab points whose run along ``d`` contains the centre (the point at 0), per column
    (:func:`grouped_held_runs` with one group per column)."""
    point, column = np.nonzero(in_slab)
    held = np.zeros(in_slab.shape, dtype=bool)
    held[point, column] = grouped_held_runs(along_m[point, column], column, in_slab.shape[1], min_gap_m)
    return held


def grouped_held_runs(along_m: np.ndarray, group: np.ndarray, groups: int, min_gap_m: float) -> np.ndarray:
    """Mask of the slab points whose run along ``d`` contains their group's centre (the point at 0).

    Runs are split at gaps of at least ``min_gap_m`` between consecutive points, measured on a grid of a
    twentieth of ``min_gap_m`` (so to within that): a sort per slab would cost more than the rest of the search.
    Every group must hold its centre (along 0).
    """
    if len(along_m) == 0:
        return np.zeros(0, dtype=bool)
    step = min_gap_m / 20.0
    gap_cells = int(round(min_gap_m / step)) - 1  # empty cells between two points at least min_gap apart
    half = int(np.ceil(np.abs(along_m).max() / step)) + 1
    cell = np.floor(along_m / step).astype(np.int64) + half
    occupied = np.zeros((groups, 2 * half + 1), dtype=bool)
    occupied[group, cell] = True
    # empty[:, k] = empty cells before k (counts of a few hundred cells: 32 bits are plenty and twice as fast)
    empty = np.cumsum(np.pad(~occupied, ((0, 0), (1, 0))), axis=1, dtype=np.int32)
    window = empty[:, gap_cells:] - empty[:, :-gap_cells]  # window[:, k]: empty cells in [k, k + gap_cells)
    gap_starts = window == gap_cells  # (G, cells - gap_cells + 1)
    starts = np.arange(gap_starts.shape[1])
    # The run ends before the first gap above the centre and starts after the last gap below it.
    above = np.where(gap_starts & (starts > half), starts, occupied.shape[1]).min(axis=1)
    below = np.where(gap_starts & (starts + gap_cells <= half), starts + gap_cells, 0).max(axis=1)
    return (cell >= below[group]) & (cell < above[group])


def sample_cross_section_pairs(points_m: np.ndarray, first_candidates: np.ndarray, object_candidates: np.ndarray,
                               shape: SlabShape, max_width_m: float, friction_coefficient: float, samples: int,
                               directions: int, rng: np.random.Generator, min_width_m: float = 0.002,
                               approaches: np.ndarray = TOP_DOWN[None]) -> tuple[ContactPairs, np.ndarray]:
    """Pairs (see the module docstring) for up to ``samples`` centres from ``first_candidates``, each taken for
    every one of ``approaches`` (A, 3); returns the pairs and the approach (P, 3) each was found for.

    ``first`` and ``second`` are the held run's extreme points along the closing axis; they need not lie on the
    target, the centre does. At most one pair per centre, approach and direction, and per centre and approach
    only the directions whose held edges are (nearly) the straightest; pairs whose edges drift outside the
    friction cone are dropped.
    """
    cone_cos = friction_cone_cosine(friction_coefficient)
    first_candidates = np.asarray(first_candidates, dtype=np.int64)
    object_candidates = np.asarray(object_candidates, dtype=np.int64)
    if len(first_candidates) == 0 or len(object_candidates) < 2 or samples == 0:
        return ContactPairs.empty(), np.zeros((0, 3))
    centres = rng.choice(first_candidates, size=min(samples, len(first_candidates)), replace=False)
    approaches = np.atleast_2d(np.asarray(approaches, dtype=np.float64))
    approaches = approaches / np.linalg.norm(approaches, axis=1, keepdims=True)
    back = -approaches  # (A, 3) object -> hand
    # Per approach, the closing directions are cos(k) e1 + sin(k) e2 over a half turn (closing_directions); the
    # slab's lateral axis is then cos(k) e2 - sin(k) e1. Coordinates (u, v) on (e1, e2) give both for all k.
    basis = np.stack([closing_directions(a, 2) for a in approaches])  # (A, 2, 3): e1, e2
    angles = np.arange(directions) * (np.pi / directions)
    cos, sin = np.cos(angles), np.sin(angles)
    closing = cos[None, :, None] * basis[:, :1] + sin[None, :, None] * basis[:, 1:]  # (A, D, 3)
    object_points, centre_points = points_m[object_candidates], points_m[centres]
    reach = max_width_m + shape.finger_width_m
    # Dense per (approach, centre, point): within the hand's reach and the pads' depth band.
    close = ((centre_points ** 2).sum(axis=1)[:, None] + (object_points ** 2).sum(axis=1)[None]
             - 2.0 * centre_points @ object_points.T) <= reach ** 2  # (C, N)
    depth_all = (object_points @ back.T).T[:, None, :] - (centre_points @ back.T).T[:, :, None]  # (A, C, N)
    slab, centre_of, nearby = np.nonzero(close[None] & (np.abs(depth_all) <= shape.pad_length_m / 2.0))
    u = (object_points @ basis[:, 0].T)[nearby, slab] - (centre_points @ basis[:, 0].T)[centre_of, slab]
    v = (object_points @ basis[:, 1].T)[nearby, slab] - (centre_points @ basis[:, 1].T)[centre_of, slab]
    half_width = shape.finger_width_m / 2.0
    # Slabs ("groups"): one per approach, centre and closing direction; a point enters those it lies within.
    row, direction = np.nonzero(np.abs(v[:, None] * cos - u[:, None] * sin) <= half_width)
    count, groups = len(centres), len(approaches) * len(centres) * directions
    group = (slab[row] * count + centre_of[row]) * directions + direction
    along = u[row] * cos[direction] + v[row] * sin[direction]
    across = v[row] * cos[direction] - u[row] * sin[direction]
    depth = depth_all[slab[row], centre_of[row], nearby[row]]
    held = grouped_held_runs(along, group, groups, shape.min_gap_m)
    high = np.full(groups, -np.inf)
    low = np.full(groups, np.inf)
    np.maximum.at(high, group[held], along[held])
    np.minimum.at(low, group[held], along[held])
    width = high - low
    # The held faces must be square to the closing axis across the slab (drift along t) and along the pads
    # (drift with depth): a tilted slab through a box's top corner has straight edges along t, yet its pads
    # would press a corner and slip. Too thin to measure in depth (a blade's edge) is accepted straight down
    # only, where the faces of anything lying on a table stand upright.
    straight_down = back @ UP > 1.0 - 1e-9
    depth_unknown = np.repeat(np.where(straight_down, 1.0, 0.0), count * directions)
    pad_half = shape.pad_length_m / 2.0
    high_slope, high_measured = grouped_edge_slopes(along, across, held, group, groups, shape.edge_bins, half_width)
    low_slope, low_measured = grouped_edge_slopes(-along, across, held, group, groups, shape.edge_bins, half_width)
    cosine = np.minimum.reduce([
        slope_cosines(high_slope, high_measured),
        slope_cosines(low_slope, low_measured),
        grouped_edge_drift_cosines(along, depth, held, group, groups, shape.edge_bins, pad_half, depth_unknown),
        grouped_edge_drift_cosines(-along, depth, held, group, groups, shape.edge_bins, pad_half, depth_unknown)])
    ok = np.isfinite(width) & (width >= min_width_m) & (width <= max_width_m) & (cosine >= cone_cos)
    # Neighbouring directions of one centre give near-identical grasps: keep the straightest edges only.
    per_slab = np.where(ok, cosine, -1.0).reshape(-1, directions)
    ok &= (per_slab >= per_slab.max(axis=1, keepdims=True) - _SAME_QUALITY).ravel()
    chosen = np.flatnonzero(ok)
    if len(chosen) == 0:
        return ContactPairs.empty(), np.zeros((0, 3))
    # The extreme points themselves: the first held point of each group at its high (low) value.
    index = np.arange(len(along))
    first_high = np.full(groups, len(along))
    first_low = np.full(groups, len(along))
    at_high = held & (along == high[group])
    at_low = held & (along == low[group])
    np.minimum.at(first_high, group[at_high], index[at_high])
    np.minimum.at(first_low, group[at_low], index[at_low])
    point = nearby[row]
    chosen_approach, chosen_direction = chosen // (count * directions), chosen % directions
    # Square the closing axis to the held edges: the directions are a grid 180 / ``directions`` degrees apart, and
    # a flat pan handle held 5 degrees off square turned in the pads (7.5-7.7 cm up of a 10 cm lift; squared,
    # 9.5-9.7). Both edges of a strip lean by the same slope, the far one measured on -along: (high - low) / 2;
    # only where they agree (near a part's end or corner one edge is the end face, and leans anyhow).
    parallel = high_measured & low_measured & (np.abs(high_slope + low_slope) <= _PARALLEL_EDGES)
    slope = np.where(parallel, (high_slope - low_slope) / 2.0, 0.0)[chosen]
    lateral = (cos[chosen_direction, None] * basis[chosen_approach, 1]
               - sin[chosen_direction, None] * basis[chosen_approach, 0])
    squared = closing[chosen_approach, chosen_direction] - slope[:, None] * lateral
    pairs = ContactPairs(first=object_candidates[point[first_low[chosen]]],
                         second=object_candidates[point[first_high[chosen]]],
                         closing_axis=squared / np.linalg.norm(squared, axis=1, keepdims=True), width_m=width[chosen],
                         antipodality=(cosine[chosen] - cone_cos) / (1.0 - cone_cos))
    return pairs, approaches[chosen_approach]
