"""Suction grasps on a seen cloud: where a vacuum cup seals on the asked object, and reaches it without touching
anything else.

A cup seals where the surface under its whole lip is the asked object's and flat enough: along the lip, the
surface's height (along the approach) varies by at most the lip's compliance. It approaches along the surface's
normal, within a cone around straight down, from a pre-grasp pose ``standoff_m`` back; the cup, rod and tool body
(:class:`~dff_grasp_ros.grasp.suction_cup.SuctionCup`) swept along that approach touch no seen point but the
sealed patch, and stay above the table. Only what was seen is an obstacle, as for the jaws
(:mod:`dff_grasp_ros.grasp.collision`).

Candidates are ranked by the asked part's relevancy under the lip first, then how close to the object's seen
middle the lip holds (the weight's moment peels a lip), how well it seals, how far it lies from anything else (a
trained field blurs features across touching objects), how near to straight down it approaches and the clearance
of the tool. The object's mass is unknown here: a light long object whose only flat patch lies far from its
centre of mass may still peel.
"""
from __future__ import annotations

from dataclasses import astuple, dataclass, field

import numpy as np

from dff_grasp_ros.grasp.collision import ObstacleRoles, Obstacles
from dff_grasp_ros.grasp.gripper import lowest_box_z_m
from dff_grasp_ros.grasp.nms import suppress_near
from dff_grasp_ros.grasp.planner import Grasp, GraspList
from dff_grasp_ros.grasp.suction_cup import SUCTION, SuctionCup


@dataclass(frozen=True)
class SuctionScoreWeights:
    """Weights of the score terms; relevancy leads."""

    relevancy: float = 0.55
    seal: float = 0.15
    # The weight's moment about the lip peels it (the lip holds its pressing force times a fraction of its radius):
    # a knife held at the end of its blade peels, held near its middle it lifts.
    short_lever: float = 0.3
    from_above: float = 0.1
    clearance: float = 0.05
    # As for the jaws' contacts: a trained field blurs features across touching objects (about 1 cm), so a lip at
    # the object's seen border may lie on the neighbour.
    contact_margin: float = 0.2


@dataclass(frozen=True)
class SuctionParams:
    """Suction grasp search settings; distances in metres, angles in radians."""

    cup: SuctionCup = field(default_factory=SuctionCup)
    # Approaches further than this from straight down are never tried (a cup on a box's side face: 90 degrees).
    max_approach_tilt_rad: float = float(np.radians(90.0))
    candidate_samples: int = 200  # lip centres tried on the asked region
    lip_points: int = 32  # the lip is checked at this many points around its circle: each must lie on the object
    # The surface must reach at least to the lip's circle: seen surface within this distance of each lip point
    # must lie at or beyond it (seen from the centre). Two point spacings of the query's 3 mm voxels: a flat
    # surface always has such a point, also where a thin plate's voxels hold its underside; an edge 0.5 mm inside
    # the lip has none within 5.6 degrees (the lip points' spacing) of the edge's normal.
    lip_support_m: float = 0.006
    # Share of the lip's compliance kept to spare: the surface under the lip, as the seen points measure it, may
    # vary by at most (1 - seal_margin) x lip_compliance_m. A fused cloud flattens curved surface: a trained field
    # read the 32 mm screwdriver handle's 3.5 mm drop under the 20 mm lip as 2.6 mm (seal 0.12), and the cup
    # missed on it in physics (4.3 mm) in every `bin` clearing; of ~300 cup answers in the random-scene benches,
    # none sealed with less than 0.77 to spare.
    seal_margin: float = 0.25
    standoff_m: float = 0.10
    min_clearance_m: float = 0.001  # the tool passes no seen point closer than this (but the sealed patch)
    clearance_cap_m: float = 0.01  # clearance beyond this scores fully
    contact_margin_cap_m: float = 0.015  # a lip this far from every seen point of anything else scores fully
    lever_cap_m: float = 0.1  # a lip this far (horizontally) from the object's centroid scores no short lever
    table_z_m: float | None = 0.0
    table_clearance_m: float = 0.003
    nms_distance_m: float = 0.015
    nms_angle_rad: float = 0.5
    max_grasps: int = 10
    weights: SuctionScoreWeights = field(default_factory=SuctionScoreWeights)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.candidate_samples < 1 or self.lip_points < 3 or self.max_grasps < 1:
            raise ValueError(f"sample counts must be positive (at least 3 lip points): {self}")
        if not (np.isfinite(self.lip_support_m) and self.lip_support_m > 0.0):
            raise ValueError(f"lip_support_m must be a positive distance, got {self.lip_support_m}")
        if not 0.0 <= self.seal_margin < 1.0:
            raise ValueError(f"seal_margin must be in [0, 1), got {self.seal_margin}")
        if not 0.0 <= self.max_approach_tilt_rad <= np.pi:
            raise ValueError(f"max_approach_tilt_rad must be in [0, pi], got {self.max_approach_tilt_rad}")


# The lip's zone reaches this far out (as a fraction of its radius): the lip's own width and a margin.
LIP_OUTER = 1.15
MIN_PATCH_POINTS = 6  # a plane is fitted to the object's points under the cup: fewer fit nothing
# A seen point whose normal is within 45 degrees of facing the cup is surface the lip can rest on.
FACING_COSINE = float(np.cos(np.radians(45.0)))
# A fused cloud's edge row (see _seal_at) leans up to this far from facing the cup; a side face, 90 degrees.
EDGE_ROW_COSINE = float(np.cos(np.radians(70.0)))
EDGE_ROW_PAST_M = 0.001
FIT_OUTLIER_M = 0.001  # see _heights_along_lip
# A point at least this far behind the surface the lip rests on lies under it (see under_surface); a neighbour at
# the same height as the seat, within the fit's scatter, is never taken for that.
UNDER_SURFACE_M = 0.001
# A surface facing sideways is drawn as a lip centre this often relative to one facing straight up (1 + this).
CENTRE_WEIGHT_FLOOR = 0.2


@dataclass(frozen=True)
class _Seal:
    """A lip centre where the cup seals: its pose and the terms of its score."""

    rotation: np.ndarray  # (3, 3) TCP axes as columns, z the approach
    position_m: np.ndarray  # (3,) the lip's centre
    centre_m: np.ndarray  # (3,) the seen point it was sampled at
    relevancy: float
    seal: float  # 1 - the surface's height spread along the lip over the lip's compliance
    tilt_rad: float  # of the approach from straight down
    contact_margin_m: float  # from the lip to the nearest seen point of anything else (capped)


class _SealTally:
    """Why lip centres did not seal, for the refusal message."""

    CAUSES = ("approach past the tilt limit", "too few points under the cup", "another object under the lip",
              "the lip over an edge or a gap", "the surface under the lip not flat enough",
              "the lip partly off the asked part")

    def __init__(self) -> None:
        self.counts = dict.fromkeys(self.CAUSES, 0)

    def summary(self, tried: int) -> str:
        causes = ", ".join(f"{name} {count}" for name, count in sorted(self.counts.items(), key=lambda kv: -kv[1])
                           if count)
        return f"{tried} lip centres tried: {causes}" if causes else f"{tried} lip centres tried"


def level_rotation(approach: np.ndarray) -> np.ndarray:
    """TCP axes (3, 3) with z along ``approach`` and y as level as it allows (the cup's turn about z is free)."""
    z = approach / np.linalg.norm(approach)
    side = np.array([z[1], -z[0], 0.0])  # z x up: level, across the approach (np.cross costs 60 us a call)
    if side @ side < 1e-12:  # straight down or up: any level y
        side = np.array([0.0, 1.0, 0.0])
    y = side / np.linalg.norm(side)
    x = np.array([y[1] * z[2] - y[2] * z[1], y[2] * z[0] - y[0] * z[2], y[0] * z[1] - y[1] * z[0]])
    return np.column_stack([x, y, z])


@dataclass(frozen=True)
class _Around:
    """The seen points around one lip centre (obstacle rows), with what each is."""

    points_m: np.ndarray
    normals: np.ndarray  # zero where unknown (surface a scene update added)
    on_object: np.ndarray
    touchable: np.ndarray  # where the lip may rest: the asked part
    elsewhere: np.ndarray  # another object, or featureless surface
    relevancy: np.ndarray


def _seal_at(centre_m: np.ndarray, centre_normal: np.ndarray, around: _Around, params: SuctionParams,
             tally: _SealTally) -> _Seal | None:
    """The cup's pose at ``centre_m`` if its lip seals there, from the seen points around it. None (and the cause
    tallied) otherwise."""
    near_m, near_normals, on_object = around.points_m, around.normals, around.on_object
    touchable, elsewhere, relevancy = around.touchable, around.elsewhere, around.relevancy
    cup = params.cup
    local = near_m - centre_m
    lip_outer_m = LIP_OUTER * cup.cup_radius_m
    distance = np.sqrt(np.einsum("ij,ij->i", local, local))
    margin = min(float(distance[elsewhere].min(initial=np.inf)) - lip_outer_m, params.contact_margin_cap_m)
    patch = on_object & (distance <= cup.cup_radius_m)
    if patch.sum() < MIN_PATCH_POINTS:
        tally.counts["too few points under the cup"] += 1
        return None
    # The plane through the patch; its normal turned outwards, as the cloud's normals point (towards the cameras).
    patch_points = local[patch]
    _, _, vt = np.linalg.svd(patch_points - patch_points.mean(axis=0), full_matrices=False)
    # Turned by the centre's own normal: a thin wall's patch holds both its faces, whose normals cancel.
    outward = vt[2] if vt[2] @ centre_normal >= 0 else -vt[2]
    approach = -outward
    tilt = float(np.arccos(np.clip(approach[2] * -1.0, -1.0, 1.0)))
    if tilt > params.max_approach_tilt_rad:
        tally.counts["approach past the tilt limit"] += 1
        return None
    rotation = level_rotation(approach)
    tcp = local @ rotation
    radius = np.hypot(tcp[:, 0], tcp[:, 1])
    lip_zone = radius <= lip_outer_m
    # The lip rests on the object's surface that faces the cup; a side face running away from it (past an edge)
    # holds points within the lip's circle too, but no seal.
    facing = on_object & (near_normals @ -approach >= FACING_COSINE)
    # Anything else within the lip's reach that the lip would meet: it would seal (or press) on that instead. Not
    # what lies under the surface the lip rests on (a thin plate's underside, whatever the plate lies on).
    meets = lip_zone & (tcp[:, 2] <= cup.lip_compliance_m + params.min_clearance_m) & ~on_object
    if meets.any() and np.any(meets & ~under_surface(tcp, meets, facing, params.lip_support_m)):
        tally.counts["another object under the lip"] += 1
        return None
    seat = lip_zone & facing
    # The surface reaches past an edge row too: the object's points level with the lip's centre whose normals lean
    # less than a side face's. A fused cloud's last voxel row at a thin plate's edge straddles its top and side and
    # takes a normal between them (a trained 3 mm knife blade's edge row leaned 60 degrees), its mean about 1 mm
    # inside the edge. An exact cloud's edge points lie on the edge itself: such a row must reach
    # ``EDGE_ROW_PAST_M`` past the lip, or the lip may end on the edge (a knife handle's lip 1 of 36 points off).
    edge_row = (on_object & ~facing & (np.abs(tcp[:, 2]) <= FIT_OUTLIER_M)
                & (near_normals @ -approach >= EDGE_ROW_COSINE))
    support = (facing | edge_row) & (radius <= cup.cup_radius_m + params.lip_support_m)
    if not _surface_reaches_lip(tcp[support], cup.cup_radius_m, params.lip_points, params.lip_support_m,
                                np.where(edge_row[support], EDGE_ROW_PAST_M, 0.0)):
        tally.counts["the lip over an edge or a gap"] += 1
        return None
    if seat.sum() < MIN_PATCH_POINTS:  # a quadratic surface needs six
        tally.counts["too few points under the cup"] += 1
        return None
    lip_heights = _heights_along_lip(tcp[seat], cup.cup_radius_m)
    spread = float(lip_heights.max() - lip_heights.min())
    if spread > (1.0 - params.seal_margin) * cup.lip_compliance_m:
        tally.counts["the surface under the lip not flat enough"] += 1
        return None
    if not np.all(touchable[seat]):
        tally.counts["the lip partly off the asked part"] += 1
        return None
    # The lip meets the surface midway between its nearest and farthest point: the bellows take up the rest.
    position = centre_m + rotation[:, 2] * 0.5 * (lip_heights.max() + lip_heights.min())
    return _Seal(rotation, position, centre_m, float(np.mean(relevancy[patch])), 1.0 - spread / cup.lip_compliance_m,
                 tilt, max(margin, 0.0))


def under_surface(tcp: np.ndarray, rows: np.ndarray, surface: np.ndarray, across_m: float) -> np.ndarray:
    """Mask of ``rows`` (a mask over TCP-frame points, z along the approach) lying behind ``surface`` (a mask): a
    surface point within ``across_m`` of it across the approach and more than ``UNDER_SURFACE_M`` nearer the cup.
    ``across_m``: two point spacings (``lip_support_m``); the voxel means of a turned plate's two faces lay 3-5 mm
    apart across (3 mm voxels)."""
    under = np.zeros(len(tcp), dtype=bool)
    candidates = np.flatnonzero(rows & (tcp[:, 2] > UNDER_SURFACE_M))
    if not len(candidates) or not surface.any():
        return under
    cover = tcp[surface]
    across = np.hypot(tcp[candidates, None, 0] - cover[None, :, 0], tcp[candidates, None, 1] - cover[None, :, 1])
    nearer = cover[None, :, 2] < tcp[candidates, None, 2] - UNDER_SURFACE_M
    under[candidates[np.any((across <= across_m) & nearer, axis=1)]] = True
    return under


def _lip_circle(radius_m: float, count: int) -> np.ndarray:
    """``count`` unit directions (count, 2) evenly around the lip, times ``radius_m``."""
    angles = np.arange(count) * (2 * np.pi / count)
    return radius_m * np.column_stack([np.cos(angles), np.sin(angles)])


def _surface_reaches_lip(surface_tcp: np.ndarray, radius_m: float, count: int, support_m: float,
                         past_m: np.ndarray | float = 0.0) -> bool:
    """Whether the surface (points in the TCP frame) lies under every one of ``count`` points of the lip's circle:
    each has a surface point within ``support_m`` (across the approach) at or beyond it, seen from the centre, by
    that point's ``past_m`` (per point, or one for all)."""
    lip = _lip_circle(radius_m, count)
    offset = surface_tcp[None, :, :2] - lip[:, None, :]  # (count, M, 2)
    near = np.einsum("kmi,kmi->km", offset, offset) <= support_m ** 2
    beyond = np.einsum("kmi,ki->km", offset, lip) >= np.asarray(past_m) * radius_m
    return bool(np.all(np.any(near & beyond, axis=1)))


def _heights_along_lip(patch_tcp: np.ndarray, radius_m: float, samples: int = 16) -> np.ndarray:
    """Surface height (TCP z) at ``samples`` points of the lip's circle, from a quadratic surface fitted to the
    patch's points (TCP frame): a curved surface (a handle) is read where the lip meets it, not averaged inwards.
    Points more than ``FIT_OUTLIER_M`` off a first fit are left out of the second: a thin plate's underside (the
    test bed's ideal clouds hold every face; a fused cloud may hold two layers at an edge) is no surface the lip
    rests on."""
    def design(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones_like(x), x, y, x * x, x * y, y * y])

    x, y, z = patch_tcp.T
    keep = np.ones(len(z), dtype=bool)
    for _ in range(2):
        coefficients, *_ = np.linalg.lstsq(design(x[keep], y[keep]), z[keep], rcond=None)
        inliers = np.abs(design(x, y) @ coefficients - z) <= FIT_OUTLIER_M
        if inliers.sum() < MIN_PATCH_POINTS or inliers.all():
            break
        keep = inliers
    lx, ly = _lip_circle(radius_m, samples).T
    return design(lx, ly) @ coefficients


def swept_boxes(cup: SuctionCup, standoff_m: float, grow_m: float = 0.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """The tool's boxes in the TCP frame swept back along -z over the approach from the pre-grasp pose, grown by
    ``grow_m`` on every side."""
    swept = []
    for lower, upper in cup.boxes().values():
        swept.append((lower - grow_m - np.array([0.0, 0.0, standoff_m]), upper + grow_m))
    return swept


def _clears_table(rotation: np.ndarray, position_m: np.ndarray, params: SuctionParams) -> bool:
    if params.table_z_m is None:
        return True
    lowest = lowest_box_z_m(swept_boxes(params.cup, params.standoff_m), rotation, position_m)
    return lowest >= params.table_z_m + params.table_clearance_m


def _points_near_tool(obstacles: Obstacles, rotation: np.ndarray, position_m: np.ndarray,
                      params: SuctionParams) -> np.ndarray:
    """Indices of obstacles that may lie within ``clearance_cap_m`` of the swept tool: balls along its axis that
    cover every box (a tree query each, instead of moving every seen point into the tool's frame)."""
    centres, radii = [], []
    for lower, upper in swept_boxes(params.cup, params.standoff_m, params.clearance_cap_m):
        half_width = float(np.hypot(upper[0], upper[1]))
        length = float(upper[2] - lower[2])
        count = max(1, int(np.ceil(length / max(half_width, 1e-3))))
        step = length / count
        z = lower[2] + step * (np.arange(count) + 0.5)
        centres.append(position_m + np.outer(z, rotation[:, 2]))
        radii.append(np.full(count, np.hypot(half_width, step / 2)))
    found = obstacles.tree.query_ball_point(np.vstack(centres), np.concatenate(radii))
    return np.unique(np.concatenate([np.asarray(f, dtype=np.int64) for f in found]))


def _tool_clearance_m(seal: _Seal, obstacles: Obstacles, sealed_on: np.ndarray, params: SuctionParams) -> float:
    """Distance from the swept tool to the nearest seen point it must not touch (capped at ``clearance_cap_m``);
    negative when a point lies inside it. ``sealed_on`` (per obstacle) marks what the lip may press on."""
    near = _points_near_tool(obstacles, seal.rotation, seal.position_m, params)
    if len(near) == 0:
        return params.clearance_cap_m
    tcp = (obstacles.points_m[near] - seal.position_m) @ seal.rotation
    # The sealed patch: the object's surface at the lip and ahead of it (within the bellows' travel).
    exempt = sealed_on[near] & (tcp[:, 2] >= -params.cup.lip_compliance_m - params.min_clearance_m)
    tcp = tcp[~exempt]
    if len(tcp) == 0:
        return params.clearance_cap_m
    nearest = params.clearance_cap_m
    for lower, upper in swept_boxes(params.cup, params.standoff_m):
        outside = np.maximum(np.maximum(lower - tcp, tcp - upper), 0.0)
        distance = np.linalg.norm(outside, axis=1)
        inside = distance == 0.0
        if inside.any():
            return -1.0
        nearest = min(nearest, float(distance.min()))
    return nearest


def seen_middle_m(points_m: np.ndarray, normals: np.ndarray, object_mask: np.ndarray) -> np.ndarray:
    """(3,) where the object's weight pulls, as far as the seen surface tells: the mean of its surface facing up
    (within 45 degrees), or of all of it when too little faces up.

    Faces against a tote wall or a neighbour are never seen, and the mean of what is seen leans away from them
    (1.4 cm per hidden side face of a 12 x 8 x 7 cm box); a top seen from above spans the object's footprint
    whatever stands beside it."""
    rows = np.flatnonzero(object_mask)
    up = rows[normals[rows, 2] >= FACING_COSINE]
    return points_m[up if len(up) >= MIN_PATCH_POINTS else rows].mean(axis=0)


def plan_suction(points_m: np.ndarray, normals: np.ndarray, point_relevancy: np.ndarray, target: np.ndarray,
                 contact_mask: np.ndarray, object_mask: np.ndarray, params: SuctionParams,
                 obstacles: Obstacles | None = None) -> GraspList:
    """Ranked, collision-free, mutually distinct suction grasps with the lip on ``target`` (mask over
    ``points_m``), as :func:`~dff_grasp_ros.grasp.planner.plan_grasps` takes its masks: the lip lies only on
    ``contact_mask | target``, and on nothing outside ``object_mask``. An empty :class:`GraspList` with its
    ``reason`` when none is found."""
    points_m = np.asarray(points_m, dtype=np.float64)
    normals = np.asarray(normals, dtype=np.float64)
    target, object_mask = np.asarray(target, dtype=bool), np.asarray(object_mask, dtype=bool)
    touchable = (np.asarray(contact_mask, dtype=bool) | target) & object_mask
    relevancy = np.asarray(point_relevancy, dtype=np.float64)
    if not (target & object_mask).any():
        return GraspList.none("nothing to grasp")
    if obstacles is None:
        obstacles = Obstacles.above_table(points_m, params.table_z_m, params.table_clearance_m)
    rng = np.random.default_rng(params.seed)
    rows = np.flatnonzero(target & object_mask)
    # Lip centres are drawn where the cup could come from: surface facing within the cone, upward-facing first
    # (the arm reaches from above best, and a bin shows mostly tops).
    facing_up = normals[rows, 2]
    weight = np.where(np.arccos(np.clip(facing_up, -1.0, 1.0)) <= params.max_approach_tilt_rad,
                      CENTRE_WEIGHT_FLOOR + np.maximum(facing_up, 0.0), 0.0)
    if len(rows) > params.candidate_samples and weight.sum() > 0:
        centres = rng.choice(rows, min(params.candidate_samples, int(np.count_nonzero(weight))), replace=False,
                             p=weight / weight.sum())
    else:
        centres = rows[:params.candidate_samples]
    roles = ObstacleRoles.of(obstacles.scene_index, object_mask)
    in_scene, on = roles.in_scene, roles.scene_row
    sealed_on = in_scene & touchable[on]  # per obstacle: what the lip may press on
    tally, seals = _SealTally(), []
    reach = (max(LIP_OUTER * params.cup.cup_radius_m, params.cup.cup_radius_m + params.lip_support_m)
             + max(params.min_clearance_m, params.contact_margin_cap_m))
    for row, near in zip(centres, obstacles.tree.query_ball_point(points_m[centres], reach)):
        near = np.asarray(near, dtype=np.int64)
        around = _Around(obstacles.points_m[near], np.where(in_scene[near, None], normals[on[near]], 0.0),
                         roles.on_object[near], sealed_on[near], roles.elsewhere[near],
                         np.where(in_scene[near], relevancy[on[near]], 0.0))
        seal = _seal_at(points_m[row], normals[row], around, params, tally)
        if seal is not None:
            seals.append(seal)
    cup_mm = 2000 * params.cup.cup_radius_m
    if not seals:
        return GraspList.none(f"no patch of it seals under the {cup_mm:.0f} mm cup ({tally.summary(len(centres))})")
    weights = params.weights
    centroid = seen_middle_m(points_m, normals, object_mask)
    lever = np.array([np.linalg.norm((s.position_m - centroid)[:2]) for s in seals])
    known = (weights.relevancy * np.array([s.relevancy for s in seals])
             + weights.seal * np.array([s.seal for s in seals])
             + weights.short_lever * (1.0 - np.minimum(lever / params.lever_cap_m, 1.0))
             + weights.from_above * np.cos([s.tilt_rad for s in seals]).clip(0.0, 1.0)
             + weights.contact_margin * np.array([s.contact_margin_m for s in seals]) / params.contact_margin_cap_m)
    order = np.argsort(-known, kind="stable")
    free: list[Grasp] = []
    hits = 0
    for index in order:
        seal = seals[index]
        if not _clears_table(seal.rotation, seal.position_m, params):
            hits += 1
            continue
        clearance = _tool_clearance_m(seal, obstacles, sealed_on, params)
        if clearance < params.min_clearance_m:
            hits += 1
            continue
        score = float(known[index] + weights.clearance * clearance / params.clearance_cap_m) / sum(astuple(weights))
        free.append(Grasp(seal.position_m, seal.rotation, 0.0, 0.0, score, seal.relevancy, seal.seal,
                          np.stack([seal.position_m, seal.position_m]),
                          seal.position_m - params.standoff_m * seal.rotation[:, 2], clearance_m=clearance,
                          contact_margin_m=seal.contact_margin_m, end_effector=SUCTION))
        if len(free) >= 3 * params.max_grasps:
            break
    if not free:
        return GraspList.none(f"every suction pose tried touches something seen, at the lip or on the approach "
                              f"({len(seals)} sealing lip centres checked, {hits} touch)")
    free.sort(key=lambda g: -g.score)
    kept = suppress_near(np.array([g.position_m for g in free]), np.array([g.rotation for g in free]),
                         np.arange(len(free)), params.nms_distance_m, params.nms_angle_rad, params.max_grasps)
    return GraspList([free[k] for k in kept])
