"""Many hand poses checked at once against the seen points: collisions, what is held, clearance, enclosure.

For each pose (TCP frame, :mod:`dff_grasp_ros.grasp.frames`) and opening, every obstacle point near the hand is
put in the TCP frame and sorted into the gripper's volumes (:mod:`dff_grasp_ros.grasp.gripper`):

* inside a finger or the palm, and not between the fingers: a collision;
* between the fingers (the closing region): held. Held points must all belong to the object (anything else would
  be squeezed along with it), and the first point each finger meets, the extremes along the closing axis, must be
  one the hand may touch: the same rule the ground-truth judge applies to a grasp, here on the seen cloud;
* inside the volume the palm sweeps on the straight approach from the pre-grasp pose (``approach_m`` back along
  -z; the fingers sweep inside it, open): a collision on the way in (a grasp whose pre-grasp pose stands in a
  tote wall is no grasp);
* anywhere else: its distance to the fingers and the swept palm is the pose's *clearance* (capped; only what was
  seen counts, unseen back sides are free space);
* the *enclosure* is the share of the pads' face (a grid across the finger width and along the pad length) that
  has held object points behind it: a part held across the whole pad, not pinched at a corner or the tip;
* the *contact margin* is the smallest ``HeldObject.margin_m`` of the points each finger first meets: how far the
  contacts sit from seen points of anything else (a contact on a blurred border may be on the neighbour);
* the *face cosine* is the smallest cosine between the closing axis and the normal of the held surface where a
  pad first meets it, measured on the points themselves (no normals, which blur over edges): per pad, the held
  point nearest it in each bin across the finger width and along the pad length traces the surface it closes
  on (:func:`contact_face_cosines`). A pad that presses a face slanted past the friction cone (the top of a box
  too wide for the hand, pinched over its edge) pushes it down or aside rather than holding it. A thin part held
  by its edges (a blade lying flat) must also lie in the closing plane square to the approach: seen across the
  pads (closing axis x approach), its held points form a strip, and a strip tilted more than
  ``MAX_STRIP_TILT_RAD`` to the closing axis (a grasp rolled 8-11 degrees against a flat blade) squirts out of
  the pads (:func:`thin_strip_tilts`).

Cost is kept low by cells: obstacle points are bucketed in cubes, and only the points of cubes whose own bounds
come within the clearance cap (or a check's ``near_m``) of the pose's finger box (its own opening) or swept palm
box are tested exactly; cubes wholly inside the swept palm are counted whole. Points are put in the TCP frame
per coordinate (:func:`to_frames`), bit for bit the per-point products' sums.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from dff_grasp_ros.geometry import clip_index, gather_ranges, group_reduce, voxel_keys
from dff_grasp_ros.grasp.cross_section import slope_cosines
from dff_grasp_ros.grasp.gripper import ParallelJawGripper

ENCLOSURE_BINS = 4  # per side of the pad-face grid (across the finger width x along the pad length)
FACE_BINS = 4  # bins across the finger width and along the pad length that trace the face under a pad
# Held points whose spread across their strip is at most this share of its length are a thin part's edge-on strip.
THIN_STRIP_RATIO = 0.3
# A blade lying flat held 8.5 and 11 degrees rolled against it slipped out in physics; level, it lifted.
MAX_STRIP_TILT_RAD = float(np.radians(5.0))
EXTREME_TOLERANCE_M = 0.001  # held points this close to a finger's first contact count as touched too
# Cells are skipped or counted whole by bounds: these margins keep the rounding of the bounds (~1e-15 m) and of the
# expanded squared distances on the side of checking a cell point by point, so no result changes.
BOUND_SLACK_M = 1e-9
COARSE_SLACK_M = 1e-6


@dataclass(frozen=True)
class HeldObject:
    """Per obstacle point (M,): whether it is foreign between the fingers unless on the object (a scene point, or
    featureless surface), whether it is one of the planner's scene points on the object, which of those the
    hand may touch, their relevancy, and their distance to the nearest seen point of anything else. Points just
    above the table (``scene_index`` LOW_LAYER) are neither held nor foreign."""

    scene: np.ndarray  # (M,) bool
    on_object: np.ndarray  # (M,) bool
    touchable: np.ndarray  # (M,) bool
    relevancy: np.ndarray  # (M,) float
    margin_m: np.ndarray | None = None  # (M,) float; None: nothing else anywhere near

    def rows(self, index: np.ndarray) -> HeldObject:
        """The same facts for the points ``index`` selects (an index array or a mask)."""
        return HeldObject(*(None if values is None else np.asarray(values)[index] for values in vars(self).values()))


@dataclass(frozen=True)
class HandChecks:
    """Per pose (C,)."""

    colliding: np.ndarray  # int: points inside fingers or palm (not between the fingers)
    palm_colliding: np.ndarray  # int: of those, inside the palm (checked only where the fingers are free)
    tight_may_free: np.ndarray  # bool: the fingers hit only points a tighter opening would leave outside them
    foreign_held: np.ndarray  # bool: a point of something else between the fingers
    held: np.ndarray  # int: object points between the fingers
    touch_ok: np.ndarray  # bool: both fingers first meet points the hand may touch
    width_m: np.ndarray  # extent of the held object points along the closing axis
    clearance_m: np.ndarray  # distance from fingers and palm to the nearest point not held (capped)
    enclosure: np.ndarray  # [0, 1]
    held_relevancy: np.ndarray  # mean relevancy of the held object points
    contact_margin_m: np.ndarray  # smallest margin (HeldObject.margin_m) of the points the fingers first meet
    faces_square: np.ndarray  # bool: faces under the pads within the friction cone, a thin edge in the closing plane

    def free(self, max_colliding_points: int, min_clearance_m: float = 0.0) -> np.ndarray:
        """Poses that touch nothing they should not, pass no seen point closer than ``min_clearance_m`` (unless
        colliding points are tolerated at all), and hold the object at both fingers on faces they can squeeze."""
        clear = (self.clearance_m >= min_clearance_m - 1e-9) | (max_colliding_points > 0)
        return ((self.colliding <= max_colliding_points) & clear & ~self.foreign_held & (self.held >= 2)
                & self.touch_ok & (self.width_m > 0) & self.faces_square)


class HandChecker:
    """Checks hand poses against a fixed set of obstacle points (see the module docstring)."""

    def __init__(self, gripper: ParallelJawGripper, points_m: np.ndarray, held: HeldObject,
                 clearance_cap_m: float, cell_m: float = 0.015, approach_m: float = 0.0,
                 min_face_cosine: float = 0.0) -> None:
        self.gripper, self.clearance_cap_m = gripper, clearance_cap_m
        self.min_face_cosine = float(min_face_cosine)  # the friction cone's cosine: squarer faces hold
        self.approach_m = float(approach_m)  # the straight approach from the pre-grasp pose, checked too
        points_m = np.asarray(points_m, dtype=np.float64).reshape(-1, 3)
        if len(points_m):
            keys = voxel_keys(points_m, cell_m)
            order = np.argsort(keys, kind="stable")
            keys = keys[order]
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        else:
            order, starts = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        self.points_m = points_m[order]
        self.points_t = np.ascontiguousarray(self.points_m.T)  # (3, M): one contiguous row per coordinate
        if held.margin_m is None:
            held = replace(held, margin_m=np.full(len(points_m), np.inf))
        self.held = held.rows(order)
        self.order = order
        self.cell_start = starts
        self.cell_count = np.diff(np.r_[starts, len(points_m)])
        # Each cell's exact bounds (the box around its own points), so that a rotated cell's reach along a TCP axis
        # is the box's shadow there rather than the grid cube's half-diagonal.
        low = np.minimum.reduceat(self.points_m, starts, axis=0) if len(starts) else np.zeros((0, 3))
        high = np.maximum.reduceat(self.points_m, starts, axis=0) if len(starts) else np.zeros((0, 3))
        self.cell_centre = (low + high) / 2.0
        self.cell_half_m = (high - low) / 2.0 + BOUND_SLACK_M  # the slack covers the rounding of centre and half
        self.cell_centre_t = np.ascontiguousarray(self.cell_centre.T)
        self.cell_half_t = np.ascontiguousarray(self.cell_half_m.T)
        self.cell_radius_m = float(np.linalg.norm(self.cell_half_m, axis=1).max()) if len(starts) else 0.0
        # For the coarse test, one product per (pose, cell): [c, |c|^2, 1] . [-2p, 1, |p|^2 - r^2] = |c - p|^2 - r^2,
        # about a nearby origin so that the squares stay small and precise.
        self.origin_m = self.cell_centre.mean(axis=0) if len(starts) else np.zeros(3)
        centre = self.cell_centre - self.origin_m
        self.cell_lifted = np.ascontiguousarray(
            np.c_[centre, np.einsum("ij,ij->i", centre, centre), np.ones(len(centre))].T)

    def _near(self, rotations: np.ndarray, positions_m: np.ndarray, lower: np.ndarray, upper: np.ndarray,
              whole_inside: bool = False, margin_m: float | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pose, row, TCP-frame point) for every point of the cells that may lie within ``margin_m`` (the
        clearance cap unless given) of the TCP-frame box [lower, upper] ((3,) or one per pose (C, 3)), per pose;
        rows grouped by pose, ascending, as every point-order-dependent result needs them. Points of cells farther
        than the margin cannot change any result within it. The TCP-frame points are (3, n): x, y and z rows.

        ``whole_inside``: cells that lie entirely inside the box are left out of the rows and returned instead as
        (pose, number of points) per such cell: every point of theirs is inside, at distance 0.
        """
        margin_m = self.clearance_cap_m if margin_m is None else float(margin_m)
        count = len(positions_m)
        lower = np.broadcast_to(np.asarray(lower, dtype=np.float64), (count, 3))
        upper = np.broadcast_to(np.asarray(upper, dtype=np.float64), (count, 3))
        box_centre, box_half = (lower + upper) / 2.0, (upper - lower) / 2.0
        # Coarse and cheap, one matrix product for all (pose, cell): do the spheres around box and cell meet?
        centre = positions_m + np.einsum("cij,cj->ci", rotations, box_centre) - self.origin_m
        reach = np.linalg.norm(box_half, axis=1) + self.cell_radius_m + margin_m + COARSE_SLACK_M
        lifted = np.c_[-2.0 * centre, np.ones(count), np.einsum("ci,ci->c", centre, centre) - reach ** 2]
        # Only cells inside the box around all the poses' centres grown by the farthest reach can pass: the product
        # over those alone (the fingers of poses around one part reach a few of the cells near its object).
        nearby = cells_in_box(self.cell_lifted[:3], centre, float(np.max(reach, initial=0.0)))
        pose, cell = np.nonzero(lifted @ self.cell_lifted[:, nearby] <= 0.0)
        cell = nearby[cell]
        # Exact for the survivors: the distance from the cell's bounds, in the TCP frame, to the box.
        per_pose = np.bincount(pose, minlength=count)
        local = np.abs(to_frames(self.cell_centre_t[:, cell], positions_m, rotations, per_pose)
                       - repeat_rows(box_centre, per_pose))
        spread = to_frames(self.cell_half_t[:, cell], None, np.abs(rotations), per_pose)
        outside = np.maximum(local - spread - repeat_rows(box_half, per_pose), 0.0)
        near = squared_norms(outside) <= (margin_m + BOUND_SLACK_M) ** 2
        inside_pose, inside_count = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if whole_inside:
            inside = near & np.all(local + spread <= repeat_rows(box_half, per_pose), axis=0)
            inside_pose, inside_count = pose[inside], self.cell_count[cell[inside]]
            near &= ~inside
        pose, cell = pose[near], cell[near]
        rows = gather_ranges(self.cell_start[cell], self.cell_count[cell])
        pose = np.repeat(pose, self.cell_count[cell])
        tcp = to_frames(self.points_t[:, rows], positions_m, rotations, np.bincount(pose, minlength=count))
        return pose, rows, tcp, inside_pose, inside_count

    def check(self, rotations: np.ndarray, positions_m: np.ndarray, openings_m: np.ndarray,
              tight_openings_m: np.ndarray | None = None, near_m: float | None = None) -> HandChecks:
        """Check poses ``rotations`` (C, 3, 3), ``positions_m`` (C, 3) opened to ``openings_m`` (C,).

        Fingers first, with what they hold; the palm only for the poses whose fingers are free.
        ``tight_openings_m`` (C,): whether each tighter opening could free the fingers is reported too.
        ``near_m`` (within [0, the clearance cap]): only points within this of the hand are looked at, so the
        clearance is exact below it and reported as ``near_m`` beyond it; every other result is the same. With the
        minimum clearance, this tells free poses from the others for less (in clutter most poses are not free);
        a full check of the free ones then measures their clearance.
        """
        g = self.gripper
        # Never below zero: a negative margin would cull cells that reach into the hand itself.
        near_m = self.clearance_cap_m if near_m is None else min(max(float(near_m), 0.0), self.clearance_cap_m)
        count = len(positions_m)
        openings_m = np.broadcast_to(np.asarray(openings_m, dtype=np.float64), (count,))
        # Each pose's own fingers bound what it can touch: nothing beyond them is held, hit or near.
        half_span = openings_m / 2.0 + g.finger_thickness_m
        upper = np.stack([np.full(count, g.finger_width_m / 2), half_span, np.full(count, g.tip_z_m)], axis=1)
        lower = np.stack([-upper[:, 0], -half_span, np.full(count, g.palm_face_z_m)], axis=1)
        pose, rows, tcp, _, _ = self._near(rotations, positions_m, lower, upper, margin_m=near_m)
        x, y, z = np.abs(tcp[0]), tcp[1], tcp[2]
        abs_y = np.abs(y)
        half = openings_m[pose] / 2.0
        in_fingers = (x <= g.finger_width_m / 2) & (z >= g.palm_face_z_m) & (z <= g.tip_z_m)
        closing = in_fingers & (abs_y <= half)
        finger = in_fingers & ~closing & (abs_y <= half + g.finger_thickness_m)
        colliding = np.bincount(pose, weights=finger, minlength=count).astype(np.int64)
        tight_may_free = np.zeros(count, dtype=bool)
        if tight_openings_m is not None:
            # Closing tighter moves each finger inward: it then leaves out only the points beyond its new outer face.
            stays_hit = finger & (abs_y <= np.asarray(tight_openings_m)[pose] / 2.0 + g.finger_thickness_m)
            tight_may_free = (colliding > 0) & (np.bincount(pose, weights=stays_hit, minlength=count) == 0)
        # Distance of every point not held to the fingers (boxes: exact distances), for the clearance; squared, as
        # the square root of the nearest is the nearest square root.
        beyond_y = abs_y - half
        finger_gap_sq = _squared_excess(x - g.finger_width_m / 2, np.maximum(-beyond_y,
                                                                             beyond_y - g.finger_thickness_m),
                                        np.maximum(g.palm_face_z_m - z, z - g.tip_z_m))
        finger_gap_sq[closing] = np.inf
        clearance = np.sqrt(group_reduce(np.minimum, finger_gap_sq, pose, count, np.inf))

        # What is held: object points between the fingers; anything else seen there is foreign. Only the points
        # between the fingers count below, so the rest is dropped here (order kept: the sums and the face trace
        # see the points in the same order).
        between = np.flatnonzero(closing)
        pose, rows, tcp, y, z = pose[between], rows[between], tcp[:, between], y[between], z[between]
        on_object = self.held.on_object[rows]
        foreign_held = np.bincount(pose, weights=self.held.scene[rows] & ~on_object, minlength=count) > 0
        pose, rows, tcp, y, z = pose[on_object], rows[on_object], tcp[:, on_object], y[on_object], z[on_object]
        held_count = np.bincount(pose, minlength=count).astype(np.int64)
        relevancy_sum = np.bincount(pose, weights=self.held.relevancy[rows], minlength=count)
        y_high = group_reduce(np.maximum, y, pose, count, -np.inf)
        y_low = group_reduce(np.minimum, y, pose, count, np.inf)
        first = (y >= y_high[pose] - EXTREME_TOLERANCE_M) | (y <= y_low[pose] + EXTREME_TOLERANCE_M)
        touch_ok = np.bincount(pose, weights=first & ~self.held.touchable[rows], minlength=count) == 0
        contact_margin = group_reduce(np.minimum, np.where(first, self.held.margin_m[rows], np.inf), pose, count,
                                      np.inf)
        width = np.where(held_count >= 2, y_high - y_low, 0.0)

        # Enclosure: occupied cells of the pad-face grid (x across the finger, z along the pad).
        on_pad = z >= g.tip_z_m - g.pad_length_m
        pose, tcp, y, z = pose[on_pad], tcp[:, on_pad], y[on_pad], z[on_pad]
        bins = ENCLOSURE_BINS
        bin_x = clip_index(((tcp[0] / g.finger_width_m + 0.5) * bins).astype(np.int64), bins)
        bin_z = clip_index(((z - (g.tip_z_m - g.pad_length_m)) / g.pad_length_m * bins).astype(np.int64), bins)
        occupied = np.unique((pose * bins + bin_x) * bins + bin_z)
        enclosure = np.bincount(occupied // (bins * bins), minlength=count) / float(bins * bins)
        faces_square = self._face_cosines(pose, tcp, count) >= self.min_face_cosine - 1e-9
        faces_square &= thin_strip_tilts(pose, y, z, count) <= MAX_STRIP_TILT_RAD
        held_relevancy = np.where(held_count > 0, relevancy_sum / np.maximum(held_count, 1), 0.0)

        # The palm, swept from the pre-grasp pose (the open fingers sweep inside it), for the poses still running.
        palm_colliding = np.zeros(count, dtype=np.int64)
        tight_may_free &= ~foreign_held & (held_count >= 2) & touch_ok
        candidates = np.flatnonzero((colliding == 0) & ~foreign_held & (held_count >= 2) & touch_ok)
        if len(candidates):
            palm_back_z = g.palm_face_z_m - g.palm_depth_m - self.approach_m
            # Cells wholly inside the swept palm are counted whole: each of their points is inside (gap 0), and none
            # lies between the fingers, which start at the palm's face.
            pose, rows, tcp, inside_pose, inside_count = self._near(
                rotations[candidates], positions_m[candidates],
                np.array([-g.palm_width_m / 2, -g.palm_span_m / 2, palm_back_z]),
                np.array([g.palm_width_m / 2, g.palm_span_m / 2, g.palm_face_z_m]), whole_inside=True, margin_m=near_m)
            x, abs_y, z = np.abs(tcp[0]), np.abs(tcp[1]), tcp[2]
            gap_sq = _squared_excess(x - g.palm_width_m / 2, abs_y - g.palm_span_m / 2,
                                     np.maximum(palm_back_z - z, z - g.palm_face_z_m))
            # A point between the fingers that touches the palm's face is held, not hit (as in the fingers).
            held_here = ((x <= g.finger_width_m / 2) & (abs_y <= openings_m[candidates][pose] / 2.0)
                         & (z >= g.palm_face_z_m) & (z <= g.tip_z_m))
            inside = (gap_sq == 0.0) & ~held_here
            palm_colliding[candidates] = (np.bincount(pose, weights=inside, minlength=len(candidates))
                                          + np.bincount(inside_pose, weights=inside_count, minlength=len(candidates)))
            gap_sq[held_here] = np.inf
            palm_gap = np.sqrt(group_reduce(np.minimum, gap_sq, pose, len(candidates), np.inf))
            palm_gap[inside_pose] = 0.0
            clearance[candidates] = np.minimum(clearance[candidates], palm_gap)
        colliding += palm_colliding
        clearance = np.minimum(clearance, near_m)
        return HandChecks(colliding, palm_colliding, tight_may_free, foreign_held, held_count, touch_ok, width,
                          clearance, enclosure, held_relevancy, contact_margin, faces_square)

    def _face_cosines(self, pose: np.ndarray, tcp: np.ndarray, count: int) -> np.ndarray:
        """Per pose (``count``), the face cosine (module docstring) of the held points under the pads: ``pose``
        and ``tcp`` (TCP-frame coordinates, (3, n)) per point; 1 where no face can be traced."""
        g = self.gripper
        along_pad = tcp[2] - (g.tip_z_m - g.pad_length_m / 2.0)
        # Both pads, each traced across the finger and along the pad: four traces per pose, in one call (each
        # pose's four are groups pose, count + pose, ...), the smallest cosine of the four.
        toward_pad = np.concatenate([tcp[1], tcp[1], -tcp[1], -tcp[1]])
        across = np.concatenate([tcp[0], along_pad, tcp[0], along_pad])
        group = np.concatenate([pose + trace * count for trace in range(4)])
        half = np.repeat(np.tile([g.finger_width_m / 2.0, g.pad_length_m / 2.0], 2), count)
        cosines = contact_face_cosines(toward_pad, across, group, 4 * count, FACE_BINS, half)
        return np.minimum.reduce(cosines.reshape(4, count), axis=0)

    def contacts(self, rotation: np.ndarray, position_m: np.ndarray, opening_m: float) -> np.ndarray:
        """(2, 3) the first held object point each finger meets (+y side first) for one pose."""
        tcp = (self.points_m - position_m) @ rotation
        g = self.gripper
        closing = ((np.abs(tcp[:, 0]) <= g.finger_width_m / 2) & (tcp[:, 2] >= g.palm_face_z_m)
                   & (tcp[:, 2] <= g.tip_z_m) & (np.abs(tcp[:, 1]) <= opening_m / 2.0) & self.held.on_object)
        index = np.flatnonzero(closing)
        return self.points_m[[index[np.argmax(tcp[index, 1])], index[np.argmin(tcp[index, 1])]]]


def to_frames(points_t: np.ndarray, positions_m: np.ndarray | None, rotations: np.ndarray,
              per_pose: np.ndarray) -> np.ndarray:
    """Points (3, n), grouped by pose (``per_pose`` (C,) of each, in pose order), in their pose's frame:
    ``(p - position) @ rotation`` ((3, n); no offset for ``positions_m`` None).

    Bit for bit what ``np.einsum("ni,nij->nj", p - position, rotation)`` gives on per-point rows, summed in the same
    order, but per coordinate over contiguous rows, with each pose's values repeated (sequential copies) instead of
    a (n, 3, 3) copy of the rotations: several times faster over the ~10^6 points a batch of hand poses meets.
    """
    count = int(np.sum(per_pose))
    if positions_m is None:
        offset = points_t
    else:
        offset = [points_t[i] - np.repeat(positions_m[:, i], per_pose) for i in range(3)]
    out = np.empty((3, count))
    for j in range(3):
        np.multiply(offset[0], np.repeat(rotations[:, 0, j], per_pose), out=out[j])
        out[j] += offset[1] * np.repeat(rotations[:, 1, j], per_pose)
        out[j] += offset[2] * np.repeat(rotations[:, 2, j], per_pose)
    return out


def cells_in_box(centre_t: np.ndarray, around_m: np.ndarray, grow_m: float) -> np.ndarray:
    """Indices (ascending) of the cells whose centres (``centre_t`` (3, K)) lie inside the box around ``around_m``
    (C, 3) grown by ``grow_m``: every cell within ``grow_m`` of one of them, and none farther along an axis."""
    if len(around_m) == 0:
        return np.zeros(0, dtype=np.int64)
    low, high = around_m.min(axis=0) - grow_m - COARSE_SLACK_M, around_m.max(axis=0) + grow_m + COARSE_SLACK_M
    inside = (centre_t[0] >= low[0]) & (centre_t[0] <= high[0])
    for axis in (1, 2):
        inside &= (centre_t[axis] >= low[axis]) & (centre_t[axis] <= high[axis])
    return np.flatnonzero(inside)


def repeat_rows(values: np.ndarray, per_pose: np.ndarray) -> np.ndarray:
    """(3, n): each pose's row of ``values`` (C, 3) repeated ``per_pose`` times, as columns."""
    return np.repeat(np.asarray(values).T, per_pose, axis=1)


def squared_norms(vectors_t: np.ndarray) -> np.ndarray:
    """(n,) squared lengths of the columns of ``vectors_t`` (3, n)."""
    return vectors_t[0] * vectors_t[0] + vectors_t[1] * vectors_t[1] + vectors_t[2] * vectors_t[2]


def _squared_excess(*excess_m: np.ndarray) -> np.ndarray:
    """Sum of the squares of the positive parts of ``excess_m`` (distances beyond a box's faces, per axis), in
    order: the squared distance to the box. In place on fresh arrays (these run over every point near a hand)."""
    total = None
    for excess in excess_m:
        part = np.maximum(excess, 0.0, out=excess)
        part *= part
        total = part if total is None else np.add(total, part, out=total)
    return total


def contact_face_cosines(toward_pad_m: np.ndarray, across_m: np.ndarray, group: np.ndarray, groups: int, bins: int,
                         half_width_m: float | np.ndarray) -> np.ndarray:
    """Per group (a pose's pad), the cosine between the pad's closing direction and the normal of the surface it
    first meets, traced in one direction across the pad.

    Points (``toward_pad_m``: how far towards the pad; ``across_m``: where across it, within ``half_width_m``) are
    binned across the pad; the nearest point to the pad in each bin traces the surface. Where the nearest of all
    lies in a bin with occupied bins on both sides, the surface is tangent to the pad there (a cylinder at its
    equator, a flat face square to the pad): 1. Where it lies at an end of the traced surface and the surface
    recedes steadily over the next two bins, that is a face turned against the pad (a box's top pinched over its
    edge), and its slant at the contact is the step to the next bin. One step only is no face: a pad's end meeting
    a part's side just below its top edge traces the side, then the top, as a cliff (a rolled grasp on a knife's
    handle that lifts). 1 where fewer bins hold points (a blade's 3 mm edge: no slant can be measured).
    ``half_width_m``: one for all groups, or one per group (several traces at once).
    """
    half_width_m = np.asarray(half_width_m, dtype=np.float64)
    spacing = 2.0 * half_width_m / bins
    point_half, point_spacing = (half_width_m, spacing) if half_width_m.ndim == 0 else (half_width_m[group],
                                                                                       spacing[group])
    which = clip_index(np.floor((across_m + point_half) / point_spacing).astype(np.int64), bins)
    cell = group * bins + which
    nearest = np.full(groups * bins, -np.inf)
    np.maximum.at(nearest, cell, toward_pad_m)
    where = np.zeros(groups * bins)  # across the pad, where each bin's nearest point lies
    at_nearest = toward_pad_m == nearest[cell]
    where[cell[at_nearest]] = across_m[at_nearest]
    nearest, where = nearest.reshape(groups, bins), where.reshape(groups, bins)
    occupied = np.isfinite(nearest)
    rows = np.arange(groups)
    first = np.argmax(np.where(occupied, nearest, -np.inf), axis=1)

    def bin_at(offset: int) -> tuple[np.ndarray, np.ndarray]:
        """(bin index clipped to the pad, whether it lies on the pad and holds points) ``offset`` from first."""
        index = first + offset
        inside = (index >= 0) & (index < bins)
        index = clip_index(index, bins)
        return index, inside & occupied[rows, index]

    below, below_ok = bin_at(-1)
    above, above_ok = bin_at(1)
    far_below, far_below_ok = bin_at(-2)
    far_above, far_above_ok = bin_at(2)
    goes_below = below_ok & ~above_ok  # the traced surface goes on from the first contact to one side only
    near = np.where(goes_below, below, above)
    far = np.where(goes_below, far_below, far_above)
    safe = np.where(occupied, nearest, 0.0)
    receding = ((below_ok ^ above_ok) & np.where(goes_below, far_below_ok, far_above_ok)
                & (safe[rows, near] >= safe[rows, far]))
    drop = np.where(receding, safe[rows, first] - safe[rows, near], 0.0)
    run = np.maximum(np.abs(where[rows, first] - where[rows, near]), spacing / 4.0)
    return slope_cosines(drop / run, np.ones(groups, dtype=bool))


def thin_strip_tilts(group: np.ndarray, across_m: np.ndarray, along_m: np.ndarray, groups: int) -> np.ndarray:
    """Per group (a pose's held points under the pads), the angle (rad) between the ``across_m`` axis (the closing
    axis) and the strip the points form in the (across, along) plane when they are a thin strip held by its edges
    (spread across the strip at most ``THIN_STRIP_RATIO`` of its length, and within 45 degrees of the closing
    axis), else 0: a thick part has faces (:func:`contact_face_cosines`)."""
    count = np.bincount(group, minlength=groups).astype(np.float64)
    n = np.maximum(count, 1.0)

    def mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=values, minlength=groups) / n

    mean_a, mean_b = mean(across_m), mean(along_m)
    caa = mean(across_m * across_m) - mean_a ** 2
    cbb = mean(along_m * along_m) - mean_b ** 2
    cab = mean(across_m * along_m) - mean_a * mean_b
    half_gap = np.sqrt(((caa - cbb) / 2.0) ** 2 + cab ** 2)
    major, minor = (caa + cbb) / 2.0 + half_gap, np.maximum((caa + cbb) / 2.0 - half_gap, 0.0)
    thin = (count >= 3) & (minor <= THIN_STRIP_RATIO ** 2 * major)
    tilt = np.abs(0.5 * np.arctan2(2.0 * cab, caa - cbb))  # the major axis's angle from the across axis
    # A strip closer to square to the closing axis is a plate held across its faces (a bowl's wall, a standing
    # blade): the pads press its faces, which the face trace judges.
    return np.where(thin & (tilt < np.pi / 4.0), tilt, 0.0)
