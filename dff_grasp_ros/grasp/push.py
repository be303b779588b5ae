"""Push an object away from what blocks every grasp on it (a tote wall, a neighbour): the closed fingers as a
pusher, a straight horizontal stroke. Pure geometry on the seen cloud; no ROS.

:func:`plan_push` picks, in this order: the direction (across a long object's long axis; for a compact one
straight away from the nearest seen point of anything else, then a few spread horizontal directions; away from
the nearest crowding seen surface first, and never towards one), the contact station along the object (its
points' centroid first, so it slides rather than spins; then stations farther out), the hand's tilt about the
horizontal axis across the push (0 first; tilted, the palm leans over the object, off what crowds it) and the
finger order (closing axis along the object first: the palm's narrow side then faces the crowding surface). The
first pose that passes every check is the plan:

* the hand at the start pose, and everywhere on the straight descent from the pre-push pose, keeps a clearance
  to every seen point, the object's own included, and its finger tips stay ``tip_height_m`` above the table;
* the fingers, not the palm, meet the object first when the hand moves along the push;
* along the stroke the hand touches no seen point but the object's (the object moves ahead of it), nor backing
  out along -z from the end;
* the object's footprint swept along its travel passes no other seen point (it is never pushed into a neighbour).

The object is its seen points plus its own fringe (:func:`own_fringe`): a few points beside it that its instance
left out move with it, and never block its push.

The stroke pushes the object until its centroid lies half the palm span plus a margin from the surface that
crowded it (so the jaws' palm then clears that surface), within [``min_travel_m``, ``max_travel_m``], and only
where the seen free room ahead allows all of it: a shorter push frees nothing (in the bin, a screwdriver pushed
2.6 cm towards a spatula still had no grasp, and a second push was never offered). Only what was seen is an
obstacle: unseen surfaces (a neighbour's back side, anything hidden under the object) are free space to these
checks, as they are to the grasp planner.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from dff_grasp_ros.grasp.collision import SOLID_PARTS, ObstacleRoles, Obstacles
from dff_grasp_ros.grasp.frames import tcp_rotation
from dff_grasp_ros.grasp.gripper import ParallelJawGripper, points_in_box
from dff_grasp_ros.grasp.planner import GraspParams
from dff_grasp_ros.query.grouping import connected_regions

_DOWN = np.array([0.0, 0.0, -1.0])
_UP = np.array([0.0, 0.0, 1.0])
# The start stands this much farther back than where the grown fingers first touch the object, so that the
# object's nearest point lies outside them, not on their boundary, when the start pose is checked.
_BACK_OFF_M = 1e-6


@dataclass(frozen=True)
class PushPlan:
    """One push, all in the base frame (metres): the TCP (fingers closed) descends straight along its +z from
    ``pre_push_position_m`` to ``start_position_m`` beside the object, moves straight to ``end_position_m``,
    and backs out along -z."""

    rotation: np.ndarray  # (3, 3) TCP orientation, columns x, y (closing axis), z (approach)
    pre_push_position_m: np.ndarray  # (3,)
    start_position_m: np.ndarray  # (3,)
    end_position_m: np.ndarray  # (3,)
    distance_m: float  # |end - start|: the stroke
    away_from: str  # what the object is pushed away from, for the message ("the seen surface 2.9 cm to -y")
    object_travel_m: float = 0.0  # how far the object moves: the stroke less the gap the hand starts from it
    tilt_deg: float = 0.0  # the approach's lean from straight down, about the horizontal axis across the push
    # Where the fingers meet the object along its length: from its points' centroid, along up x push (+: to the
    # left of the push seen from above; 0: at the centroid).
    contact_offset_m: float = 0.0


@dataclass(frozen=True)
class PushResult:
    """A plan, or None with a one-line reason (for "no free push either: <reason>")."""

    plan: PushPlan | None
    reason: str = ""


@dataclass(frozen=True)
class PushParams:
    """How a push is searched for and checked (lengths in metres, angles in degrees)."""

    # The pre-push pose stands as far back along -z as a grasp's pre-grasp pose does.
    standoff_m: float = GraspParams.standoff_m
    # Kept to every seen point (the object's too) at the start and on the descent: a fused cloud samples surfaces
    # millimetres apart, so a hand that grazes the points may touch the surface between them.
    approach_clearance_m: float = 0.002
    stroke_clearance_m: float = 0.002  # kept to seen points other than the object along the stroke
    # The pushed object passes no other seen point closer than this: it may turn a little as it slides.
    footprint_clearance_m: float = 0.005
    # The finger tips' height above the table: low on the object, so it slides or rolls rather than tips, and
    # above the table's clearance layer (GraspParams.table_clearance_m, 3 mm) where the seen table points end.
    tip_height_m: float = 0.005
    max_tilt_deg: float = 60.0  # past this the fingers lie so flat that they ride up onto the object
    tilt_step_deg: float = 5.0
    # A long object (long extent at least this times its width, seen from above) is pushed only across its long
    # axis: pushed along it, or off-centre across it, it spins.
    elongation: float = 1.5
    directions: int = 8  # horizontal directions tried for a compact object
    crowd_range_m: float = 0.06  # a seen surface this close behind the object's side crowds it
    # The object is pushed until its centroid is half the palm span plus this from what crowded it.
    palm_margin_m: float = 0.01
    min_travel_m: float = 0.02  # a shorter push frees nothing a grasp could use
    max_travel_m: float = 0.10  # the palm's half span (0.1 m) plus margin is what a wall-side grasp needs
    # Contact stations along the object: every ``station_step_m`` from the centroid, at most ``max_station_share``
    # of the object's length from it (farther out the push turns the object more than it slides it).
    station_step_m: float = 0.01
    max_station_share: float = 0.25
    # The object's own fringe: a piece of other seen points touching it (within ``footprint_clearance_m``), of at
    # most ``fringe_max_points`` points all within ``fringe_reach_m`` of it, linked at ``fringe_link_m``, moves with
    # it. On the `bin` field the screwdriver's instance left its shaft tip out (6 points): as "something else" they
    # lay ahead of it in every direction, and no push was ever offered. The link spans two of the query's 3 mm
    # voxels: the test bed's ideal clouds sample surfaces at random, a tote wall's points up to 5 mm apart (linked
    # at 4.5 mm, pieces of the wall beside the `bin` knife were taken for its own).
    fringe_max_points: int = 30
    fringe_reach_m: float = 0.015
    fringe_link_m: float = 0.006

    def __post_init__(self) -> None:
        for name in ("approach_clearance_m", "stroke_clearance_m", "footprint_clearance_m", "tip_height_m",
                     "palm_margin_m", "standoff_m"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be finite and >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.max_tilt_deg < 90.0:
            raise ValueError(f"max_tilt_deg must be in [0, 90), got {self.max_tilt_deg}")
        if not self.tilt_step_deg > 0:
            raise ValueError(f"tilt_step_deg must be > 0, got {self.tilt_step_deg}")
        if not self.elongation >= 1.0:
            raise ValueError(f"elongation must be >= 1, got {self.elongation}")
        if self.directions < 1:
            raise ValueError(f"directions must be at least 1, got {self.directions}")
        if not self.crowd_range_m > 0:
            raise ValueError(f"crowd_range_m must be > 0, got {self.crowd_range_m}")
        if not 0.0 < self.min_travel_m <= self.max_travel_m:
            raise ValueError(f"need 0 < min_travel_m <= max_travel_m, got {self.min_travel_m}, {self.max_travel_m}")
        if not self.station_step_m > 0:
            raise ValueError(f"station_step_m must be > 0, got {self.station_step_m}")
        if not 0.0 <= self.max_station_share <= 0.5:
            raise ValueError(f"max_station_share must be in [0, 0.5], got {self.max_station_share}")
        if self.fringe_max_points < 0 or not (self.fringe_reach_m >= 0 and self.fringe_link_m >= 0):
            raise ValueError(f"fringe_max_points, fringe_reach_m and fringe_link_m must be >= 0, got "
                             f"{self.fringe_max_points}, {self.fringe_reach_m}, {self.fringe_link_m}")


def plan_push(points_m: np.ndarray, object_mask: np.ndarray, obstacles: Obstacles, table_z_m: float | None,
              gripper: ParallelJawGripper, params: PushParams | None = None) -> PushResult:
    """A push that moves the object ``object_mask`` (over the scene points ``points_m``) away from the seen
    surface that crowds it, checked against ``obstacles`` (their ``scene_index`` rows into ``points_m``) and the
    table plane ``table_z_m`` (None: no plane; the tips then stay above the object's lowest seen point). See the
    module docstring; only what was seen is an obstacle."""
    params = params or PushParams()
    points_m = np.asarray(points_m, dtype=np.float64).reshape(-1, 3)
    object_mask = np.asarray(object_mask, dtype=bool)
    object_mask = object_mask | own_fringe(points_m, object_mask, params)
    seen = points_m[object_mask]
    if len(seen) < 3:
        return PushResult(None, f"the object has {len(seen)} seen points")
    roles = ObstacleRoles.of(obstacles.scene_index, object_mask)
    others = obstacles.points_m[roles.elsewhere]
    floor_z = float(seen[:, 2].min()) if table_z_m is None else float(table_z_m)
    centroid = seen.mean(axis=0)
    # What lies behind each direction: the gap to the seen surface straight behind the object (probed along
    # lines as thick as the footprint's clearance: thinner ones pass between the points of a sparse cloud).
    directions = _directions(seen, others, params)
    probe_m = params.footprint_clearance_m
    behind = [free_travel_m(seen, others, -d, probe_m, params.crowd_range_m) + probe_m for d in directions]
    crowded = [gap < params.crowd_range_m for gap in behind]
    # Away from what crowds it, the nearest first; pushed towards it, an object gains nothing. Nothing near:
    # every direction, in order.
    order = (sorted((k for k in range(len(directions)) if crowded[k]), key=lambda k: behind[k]) if any(crowded)
             else list(range(len(directions))))
    reasons = []
    for k in order:
        direction, gap_m = directions[k], behind[k]
        side = _direction_words(-direction)
        away = (f"the seen surface {'within ' if gap_m <= probe_m else ''}{100 * gap_m:.1f} cm to {side}"
                if crowded[k]
                else f"nothing seen within {100 * params.crowd_range_m:.0f} cm to {side}")
        # From the centroid to what crowds it, along the push: where its surface is plus the object's own depth.
        crowd_from_centroid_m = gap_m + float(centroid @ direction - (seen @ direction).min())
        wanted_m = gripper.palm_span_m / 2.0 + params.palm_margin_m - crowd_from_centroid_m if crowded[k] else 0.0
        wanted_m = float(np.clip(wanted_m, params.min_travel_m, params.max_travel_m))
        ahead_m = free_travel_m(seen, others, direction, params.footprint_clearance_m, params.max_travel_m)
        if ahead_m < wanted_m:
            reasons.append(f"to {_direction_words(direction)} it would meet a seen surface after "
                           f"{100 * ahead_m:.1f} cm (the push that frees it needs {100 * wanted_m:.1f} cm)")
            continue
        plan, why = _first_free_pose(seen, obstacles, roles, direction, floor_z, gripper, params, wanted_m, away)
        if plan is not None:
            return PushResult(plan, "")
        reasons.append(f"to {_direction_words(direction)} {why}")
    return PushResult(None, "; ".join(reasons))


def own_fringe(points_m: np.ndarray, object_mask: np.ndarray, params: PushParams) -> np.ndarray:
    """Mask of the seen points (not the object's) that are its own fringe by :class:`PushParams`: small pieces
    touching it and lying close to it. A neighbour is larger, or reaches farther, and is never one."""
    fringe = np.zeros(len(points_m), dtype=bool)
    if not object_mask.any() or object_mask.all() or params.fringe_max_points == 0:
        return fringe
    # Every other point within reach and one link: a piece that goes on past the reach shows it there.
    others = np.flatnonzero(~object_mask)
    distance, _ = cKDTree(points_m[object_mask]).query(points_m[others],
                                                        distance_upper_bound=params.fringe_reach_m
                                                        + params.fringe_link_m)
    near, distance = others[np.isfinite(distance)], distance[np.isfinite(distance)]
    if not len(near):
        return fringe
    piece = connected_regions(points_m[near], params.fringe_link_m, spacing_factor=0.0)  # a fixed link
    size = np.bincount(piece)
    reaches_far = np.bincount(piece, weights=distance > params.fringe_reach_m) > 0
    touches = np.bincount(piece, weights=distance <= params.footprint_clearance_m) > 0
    small = (size <= params.fringe_max_points) & ~reaches_far & touches
    fringe[near[small[piece]]] = True
    return fringe


def _directions(seen: np.ndarray, others: np.ndarray, params: PushParams) -> list[np.ndarray]:
    """Horizontal unit push directions to try: across the long axis of a long object; for a compact one, away
    from the nearest seen point of anything else within ``crowd_range_m`` (when there is one), then
    ``directions`` evenly spread from its long axis."""
    flat = seen[:, :2] - seen[:, :2].mean(axis=0)
    axes = np.linalg.svd(flat, full_matrices=False)[2]
    long_axis = axes[0]
    extents = np.ptp(flat @ axes.T, axis=0)
    across = np.array([-long_axis[1], long_axis[0]])
    if extents[0] >= params.elongation * max(extents[1], 1e-9):
        flat_directions = [across, -across]
    else:
        angles = np.arange(params.directions) * 2.0 * np.pi / params.directions
        flat_directions = [np.cos(a) * long_axis + np.sin(a) * across for a in angles]
        low, high = seen.min(axis=0) - params.crowd_range_m, seen.max(axis=0) + params.crowd_range_m
        close = others[np.all((others >= low) & (others <= high), axis=1)]
        if len(close):
            distance, nearest = cKDTree(close).query(seen)
            away = (seen[np.argmin(distance)] - close[nearest[np.argmin(distance)]])[:2]
            if np.linalg.norm(away) > 1e-9:
                flat_directions.insert(0, away / np.linalg.norm(away))
    return [np.r_[d, 0.0] for d in flat_directions]


@dataclass(frozen=True)
class _Candidate:
    """A hand pose that meets the object with its fingers and clears every seen point on the way down."""

    offset_m: float
    tilt_deg: float
    order: int  # 0: closing axis along the object (preferred), 1: across it
    rotation: np.ndarray
    start_m: np.ndarray


def _first_free_pose(seen: np.ndarray, obstacles: Obstacles, roles: ObstacleRoles, direction: np.ndarray,
                     floor_z: float, gripper: ParallelJawGripper, params: PushParams, travel_m: float,
                     away: str) -> tuple[PushPlan | None, str]:
    """The most preferred pose (station nearest the centroid, then the least tilt, then the closing axis along
    the object) from which the hand pushes the object ``travel_m`` along ``direction`` with room for all of it;
    else (None, why)."""
    side_axis = np.cross(_UP, direction)  # horizontal, across the push: along a long object
    centroid = seen.mean(axis=0)
    station_reach_m = params.max_station_share * float(np.ptp((seen - centroid) @ side_axis))
    count = int(np.floor(station_reach_m / params.station_step_m + 1e-9))
    offsets = np.arange(-count, count + 1) * params.station_step_m
    # A start's grown hand touches an object point, so the start lies within the hand's reach (and clearance) of
    # the object, and the hand on its way down within the hand's reach of a point standoff_m back from there.
    reach_m = _hand_reach_m(gripper)
    near = obstacles.points_m[obstacles.tree.query_ball_point(
        centroid, r=float(np.linalg.norm(seen - centroid, axis=1).max()) + 2.0 * reach_m + params.standoff_m
        + 2.0 * params.approach_clearance_m)]
    causes = {"the fingers pass beside it": 0, "the palm meets it first": 0,
              "the hand meets a seen point at the start or on the way down": 0}
    candidates: list[_Candidate] = []
    for tilt_deg in np.arange(0.0, params.max_tilt_deg + 1e-9, params.tilt_step_deg):
        tilt = np.radians(tilt_deg)
        approach = np.cos(tilt) * _DOWN - np.sin(tilt) * direction  # the palm leans over the object
        for order, closing in enumerate((side_axis, np.cross(approach, side_axis))):
            rotation = tcp_rotation(approach, closing)
            # The TCP height that puts the hand's lowest corner tip_height_m above the floor.
            height = floor_z + params.tip_height_m - gripper.lowest_point_z_m(rotation, np.zeros(3), 0.0)
            stations = centroid + offsets[:, None] * side_axis
            stations[:, 2] = height
            first, palm_first = _first_contacts(seen, rotation, stations, direction, side_axis, gripper,
                                                params.approach_clearance_m)
            miss = ~np.isfinite(first)
            causes["the fingers pass beside it"] += int(miss.sum())
            causes["the palm meets it first"] += int(palm_first.sum())
            ok = ~miss & ~palm_first
            starts = stations[ok] + (first[ok] - _BACK_OFF_M)[:, None] * direction
            free = _descent_free(near, rotation, starts, gripper, params)
            causes["the hand meets a seen point at the start or on the way down"] += int((~free).sum())
            candidates += [_Candidate(float(o), float(tilt_deg), order, rotation, s)
                           for o, s in zip(offsets[ok][free], starts[free])]
    candidates.sort(key=lambda c: (round(abs(c.offset_m), 9), -c.offset_m, c.tilt_deg, c.order))
    short_m, blocked_out = None, 0
    for candidate in candidates:
        gap_m = _touch_gap_m(seen, candidate.rotation, candidate.start_m, direction, gripper)
        free_m = _stroke_room_m(obstacles, roles.elsewhere, candidate.rotation, candidate.start_m, direction,
                                gripper, params.stroke_clearance_m, gap_m + travel_m)
        object_travel_m = min(travel_m, free_m - gap_m)
        if object_travel_m < travel_m - 1e-9:
            short_m = max(short_m or 0.0, free_m - gap_m)
            continue
        start, stroke_m = candidate.start_m, gap_m + object_travel_m
        end = start + stroke_m * direction
        # Backing out along -z from the end: the descent's region moved along by the stroke, where the stroke
        # check never looked (a tall neighbour under the palm's way up).
        out = _points_near(obstacles, roles.elsewhere, end - 0.5 * params.standoff_m * candidate.rotation[:, 2],
                           _hand_reach_m(gripper) + 0.5 * params.standoff_m + params.approach_clearance_m)
        if not _descent_free(out, candidate.rotation, end[None], gripper, params)[0]:
            blocked_out += 1
            continue
        return PushPlan(candidate.rotation, start - params.standoff_m * candidate.rotation[:, 2], start, end,
                        stroke_m, away, object_travel_m, candidate.tilt_deg, candidate.offset_m), ""
    if blocked_out:
        return None, (f"the hand would meet a seen point backing out after the push from all {blocked_out} poses "
                      f"with room for the stroke")
    if short_m is not None:
        return None, (f"the hand, free at the start, has at most {100 * max(short_m, 0.0):.1f} cm of stroke "
                      f"before it meets a seen point")
    common = max(causes, key=causes.get)
    return None, (f"no pose of the closed fingers is free at tilts 0-{params.max_tilt_deg:.0f} deg "
                  f"(most often: {common})")


def _first_contacts(seen: np.ndarray, rotation: np.ndarray, stations_m: np.ndarray, direction: np.ndarray,
                    side_axis: np.ndarray, gripper: ParallelJawGripper, clearance_m: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per station (K,; the stations differ only along ``side_axis``, square to ``direction`` and a TCP axis of
    ``rotation``): how far along ``direction`` the hand at the station must move (from far behind) for its
    fingers, grown by ``clearance_m``, to first reach the object's points ``seen`` (inf: never), and whether the
    (grown) palm reaches them first."""
    step = rotation.T @ direction
    local = (seen - stations_m[0]) @ rotation
    # The push does not move the hand along the side axis: only that axis' slab depends on the station.
    across = int(np.argmax(np.abs(rotation.T @ side_axis)))
    shift = (stations_m - stations_m[0]) @ rotation[:, across]
    first = {}
    for name in SOLID_PARTS:
        lower, upper = gripper.boxes(0.0)[name]
        unbounded_low, unbounded_high = lower.copy(), upper.copy()
        unbounded_low[across], unbounded_high[across] = -np.inf, np.inf
        enter, _ = sweep_intervals(local, unbounded_low, unbounded_high, step, clearance_m)
        relative = local[None, :, across] - shift[:, None]
        beside = (relative >= lower[across] - clearance_m) & (relative <= upper[across] + clearance_m)
        first[name] = np.where(beside, enter[None, :], np.inf).min(axis=1)
    fingers = np.minimum(first["finger_left"], first["finger_right"])
    return fingers, np.isfinite(fingers) & (first["palm"] <= fingers)


def _touch_gap_m(seen: np.ndarray, rotation: np.ndarray, start_m: np.ndarray, direction: np.ndarray,
                 gripper: ParallelJawGripper) -> float:
    """How far the bare fingers at ``start_m`` move along ``direction`` before they touch the object."""
    local = (seen - start_m) @ rotation
    step = rotation.T @ direction
    return float(min(sweep_intervals(local, *gripper.boxes(0.0)[name], step)[0].min()
                     for name in ("finger_left", "finger_right")))


def _descent_free(near: np.ndarray, rotation: np.ndarray, starts_m: np.ndarray, gripper: ParallelJawGripper,
                  params: PushParams) -> np.ndarray:
    """Per start (K,): whether the hand of ``rotation``, its boxes grown by ``approach_clearance_m`` and swept
    back along -z by ``standoff_m`` (the straight descent from the pre-push pose), holds no point of ``near``."""
    free = np.ones(len(starts_m), dtype=bool)
    if not len(starts_m) or not len(near):
        return free
    grow, back = params.approach_clearance_m, np.array([0.0, 0.0, params.standoff_m])
    # Each box swept along its own -z is the box lengthened backwards.
    boxes = [(lower - grow - back, upper + grow) for lower, upper in (gripper.boxes(0.0)[n] for n in SOLID_PARTS)]
    shifts = starts_m @ rotation
    # Only points inside some box at some start can be inside one: cut them once, by the TCP-frame box around all.
    low = np.min([lower for lower, _ in boxes], axis=0) + shifts.min(axis=0)
    high = np.max([upper for _, upper in boxes], axis=0) + shifts.max(axis=0)
    local = near @ rotation
    local = local[points_in_box(local, (low, high))]
    for lower, upper in boxes:
        possible = local[points_in_box(local, (lower + shifts.min(axis=0), upper + shifts.max(axis=0)))]
        if len(possible):
            free &= ~points_in_box(possible[None, :, :] - shifts[:, None, :], (lower, upper)).any(axis=1)
    return free


def _stroke_room_m(obstacles: Obstacles, elsewhere: np.ndarray, rotation: np.ndarray, start_m: np.ndarray,
                   direction: np.ndarray, gripper: ParallelJawGripper, clearance_m: float, limit_m: float) -> float:
    """How far the hand of ``rotation`` can move from ``start_m`` along ``direction`` before a box of it, grown
    by ``clearance_m``, reaches an obstacle point that is ``elsewhere`` (not the object's; at most ``limit_m``,
    0 when one is already inside)."""
    # Within limit_m, the hand stays within its reach of the stroke's middle plus half the stroke.
    others = _points_near(obstacles, elsewhere, start_m + 0.5 * limit_m * direction,
                          _hand_reach_m(gripper) + clearance_m + 0.5 * limit_m)
    if not len(others):
        return limit_m
    local = (others - start_m) @ rotation
    step = rotation.T @ direction
    room = limit_m
    for name in SOLID_PARTS:
        enter, leave = sweep_intervals(local, *gripper.boxes(0.0)[name], step, clearance_m)
        ahead = leave >= 0.0
        if ahead.any():
            room = min(room, float(np.maximum(enter[ahead], 0.0).min()))
    return room


def _points_near(obstacles: Obstacles, keep: np.ndarray, centre_m: np.ndarray, radius_m: float) -> np.ndarray:
    """The obstacle points within ``radius_m`` of ``centre_m`` that ``keep`` (a mask over obstacles) selects."""
    rows = np.asarray(obstacles.tree.query_ball_point(centre_m, r=radius_m), dtype=np.int64).reshape(-1)
    return obstacles.points_m[rows[keep[rows]]]


def sweep_intervals(points_tcp: np.ndarray, lower: np.ndarray, upper: np.ndarray, step_tcp: np.ndarray,
                    grow_m: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per point (TCP frame, (..., 3)), the interval [enter, leave] of translations s for which the box
    [lower, upper] grown by ``grow_m``, moved by s * ``step_tcp``, contains it; (inf, -inf) when it never does.
    Exact: a point is inside the moved box where it is inside every axis' slab."""
    lower, upper = np.asarray(lower) - grow_m, np.asarray(upper) + grow_m
    enter = np.full(points_tcp.shape[:-1], -np.inf)
    leave = np.full(points_tcp.shape[:-1], np.inf)
    for axis in range(3):
        coordinate, rate = points_tcp[..., axis], step_tcp[axis]
        if abs(rate) < 1e-12:  # the slab does not move along this axis: inside it always or never
            outside = (coordinate < lower[axis]) | (coordinate > upper[axis])
            enter[outside], leave[outside] = np.inf, -np.inf
            continue
        a, b = (coordinate - upper[axis]) / rate, (coordinate - lower[axis]) / rate
        enter = np.maximum(enter, np.minimum(a, b))
        leave = np.minimum(leave, np.maximum(a, b))
    never = enter > leave
    enter[never], leave[never] = np.inf, -np.inf
    return enter, leave


def free_travel_m(moving_m: np.ndarray, others_m: np.ndarray, direction: np.ndarray, radius_m: float,
                  limit_m: float) -> float:
    """How far the points ``moving_m`` can translate along the horizontal unit ``direction`` before one comes
    within ``radius_m`` of a point of ``others_m`` ahead of it (at most ``limit_m``; 0 when one ahead already is)."""
    side = np.cross(_UP, direction)
    frame = np.stack([direction, side, _UP], axis=1)
    moving, others = moving_m @ frame, others_m @ frame
    low, high = moving.min(axis=0) - radius_m, moving.max(axis=0) + radius_m
    high[0] += limit_m
    corridor = others[np.all((others >= low) & (others <= high), axis=1)]
    if not len(corridor):
        return float(limit_m)
    # Pairs close across the push (in the plane square to it) meet when the moving one has come along far enough.
    pairs = cKDTree(moving[:, 1:]).sparse_distance_matrix(cKDTree(corridor[:, 1:]), radius_m,
                                                          output_type="ndarray")
    if not len(pairs):
        return float(limit_m)
    reach = np.sqrt(np.maximum(radius_m ** 2 - pairs["v"] ** 2, 0.0))
    ahead = corridor[pairs["j"], 0] - moving[pairs["i"], 0]
    meets = ahead >= 0.0  # the moving point draws nearer only to points ahead of it (a wall behind: never)
    if not meets.any():
        return float(limit_m)
    return float(np.clip((ahead - reach)[meets].min(), 0.0, limit_m))


def _hand_reach_m(gripper: ParallelJawGripper) -> float:
    """The farthest any corner of the closed hand lies from the TCP."""
    corners = np.array([[x, y, z] for lower, upper in (gripper.boxes(0.0)[name] for name in SOLID_PARTS)
                        for x in (lower[0], upper[0]) for y in (lower[1], upper[1]) for z in (lower[2], upper[2])])
    return float(np.linalg.norm(corners, axis=1).max())


def _direction_words(direction: np.ndarray) -> str:
    """'+y', '-x' for a horizontal direction within 10 degrees of an axis, else its rounded (x, y)."""
    for axis, name in ((0, "x"), (1, "y")):
        if abs(direction[axis]) >= np.cos(np.radians(10.0)):
            return f"{'+' if direction[axis] > 0 else '-'}{name}"
    return f"({direction[0]:+.2f}, {direction[1]:+.2f})"
