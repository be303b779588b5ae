"""Grasp planning on a point cloud: contact pairs -> poses in a cone of approaches -> hand checks -> ranking -> NMS.

Contact pairs come from two samplers: antipodal pairs from surface normals, and pairs from the cloud's
cross-sections (:mod:`dff_grasp_ros.grasp.cross_section`), which find thin parts whose edges carry no usable
normals, taken for straight down and for approaches tilted in a cone around it. Each pair is tried with the
approaches around its closing axis that lie within ``max_approach_tilt_rad`` of straight down (down to the side
when that is 90 degrees: where there is room, a side grasp), and with the contacts at a few depths on the pads.

Each pose is checked against the seen points (:mod:`dff_grasp_ros.grasp.hand_check`): fingers and palm touch
nothing (neighbours, bin walls, the object itself), neither at the grasp nor on the straight approach from the
pre-grasp pose (``standoff_m`` back), the table plane is cleared, nothing but the object lies between the
fingers, each finger first meets a point the hand may touch, and each pad a face within the friction cone.
Only what was seen is an obstacle.

Score (higher is better, in [0, 1]) is led by what the user asked for: the mean relevancy of the points between
the fingers (so a "mug handle" grasp that also pinches the body scores lower), then how well the pads enclose
what they hold, antipodality, clearance to everything seen (so a grasp with room to spare beats one that scrapes
a neighbour), approach from above (arms reach tabletop and bin objects best from above), and a short lever: the
horizontal distance from the grasp to the object's centroid (the seen points' mean, a stand-in for the centre
of mass), since the weight's torque about the grasp is held by the pads' torsional friction alone (a pan held at
the end of its handle tips out of the pads), and a contact margin: how far the points the fingers first meet lie
from seen points of anything else (a trained field blurs features across touching objects, so the object's
border is uncertain by about that blur, and a contact on it may be on the neighbour).

Poses are checked best first by the terms known before a check (relevancy at the contacts, antipodality,
approach, lever) in batches, until enough distinct free grasps are found. Where most poses of a batch were not
free (in clutter; and a refusal checks every pose), the next batches are checked, several at once, against the
seen points within the minimum clearance of the hand only, which tells the free poses from the others, and the
free ones again in full for their clearance. Pose convention: :mod:`dff_grasp_ros.grasp.frames`.
"""
from __future__ import annotations

from dataclasses import astuple, dataclass, field, replace

import numpy as np
from scipy.spatial import cKDTree

from dff_grasp_ros.geometry import pose_matrix
from dff_grasp_ros.grasp.antipodal import ContactPairs, friction_cone_cosine, sample_antipodal_pairs
from dff_grasp_ros.grasp.collision import FEATURELESS, ObstacleRoles, Obstacles, clears_table
from dff_grasp_ros.grasp.cross_section import (
    SlabShape,
    cone_approaches,
    sample_cross_section_pairs,
    tilted_approaches,
)
from dff_grasp_ros.grasp.frames import approach_directions, quaternion_xyzw, tcp_rotation
from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.hand_check import HandChecker, HandChecks, HeldObject
from dff_grasp_ros.grasp.nms import suppress_near
from dff_grasp_ros.grasp.suction_cup import PARALLEL_JAW

DOWN = np.array([0.0, 0.0, -1.0])


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the score terms; relevancy leads."""

    relevancy: float = 0.55
    enclosure: float = 0.1
    antipodality: float = 0.15
    clearance: float = 0.1
    from_above: float = 0.1
    # 0.1 let a handle's end that scored a little higher win over its root: a 1 kg pan held 0.23 m from its body
    # tipped out of the pads. Candidates all lie on the asked part, so this only chooses where along it.
    short_lever: float = 0.3
    # A "mug handle" grasp whose contact lay on a touching bowl's blurred fringe (in the mug's instance, 11 mm from
    # the rest of the bowl) outscored clean ones by 0.006; contacts on the object were 12 mm or more from others.
    contact_margin: float = 0.2


@dataclass(frozen=True)
class GraspParams:
    """Grasp search settings; distances in metres, angles in radians."""

    gripper: ParallelJawGripper = field(default_factory=ParallelJawGripper)
    friction_coefficient: float = 0.5
    contact_samples: int = 300
    approaches_per_pair: int = 12
    # Approaches further than this from straight down are never tried (90 degrees: down to a side approach).
    max_approach_tilt_rad: float = float(np.radians(90.0))
    cross_section_samples: int = 50  # centres of cross-section pairs per approach (0: normals only)
    cross_section_directions: int = 12  # closing directions per centre, over a half turn
    # Cross-sections are taken straight down and for approaches tilted this far in a ring around it (a part that
    # leans, or a neighbour that leaves room only at an angle), with this many approaches per ring.
    cross_section_cone_tilts_rad: tuple[float, ...] = (float(np.radians(35.0)),)
    cross_section_cone_azimuths: int = 6
    cross_section_cone_samples: int = 8  # centres tried with every tilted approach
    # Cross-section pairs are also tried tilted about their closing axis, up to this far from their approach: in
    # clutter a tilt swings the wide palm clear of a tall neighbour while the pads still hold the same section.
    cross_section_max_tilt_rad: float = float(np.radians(60.0))
    # Where the contacts sit on the pads, as a fraction of the pad length from its centre towards the tip:
    # off-centre lets the hand hold low objects without its tips touching the table.
    pad_offsets: tuple[float, ...] = (0.0, 0.25, 0.45)
    table_z_m: float | None = 0.0  # None: no table plane (the cloud's own table points still count)
    table_clearance_m: float = 0.003
    max_colliding_points: int = 0  # raise for clouds with floaters
    clearance_cap_m: float = 0.01  # clearance beyond this to everything seen scores fully
    lever_cap_m: float = 0.3  # a grasp this far (horizontally) from the object's centroid scores no short lever
    # Contacts this far from every seen point of anything else score the full contact margin: past a trained
    # field's feature blur (about 1 cm) across an object's border.
    contact_margin_cap_m: float = 0.015
    # Fingers and palm pass no seen point closer than this: a fused cloud samples surfaces millimetres apart and
    # rounds their edges off, so a hand that scrapes past the seen points may touch the surface between them.
    min_clearance_m: float = 0.001
    standoff_m: float = 0.10
    nms_distance_m: float = 0.015
    nms_angle_rad: float = 0.5
    max_grasps: int = 10
    check_batch: int = 128  # poses checked at once
    # Poses checked at least before stopping at max_grasps distinct free ones, or at this many free ones (in a
    # narrow place the free poses are near-duplicates: checking on would only find more of them).
    min_checked: int = 128
    enough_free: int = 24
    weights: ScoreWeights = field(default_factory=ScoreWeights)
    seed: int = 0

    def __post_init__(self) -> None:
        if (self.contact_samples < 1 or self.approaches_per_pair < 1 or self.max_grasps < 1
                or self.cross_section_samples < 0 or self.cross_section_directions < 1 or self.check_batch < 1
                or self.cross_section_cone_azimuths < 1 or self.cross_section_cone_samples < 0):
            raise ValueError(f"sample counts must be positive: {self}")
        if not self.pad_offsets or any(not 0.0 <= o < 0.5 for o in self.pad_offsets):
            raise ValueError("pad_offsets must be fractions in [0, 0.5)")
        if not 0.0 <= self.max_approach_tilt_rad <= np.pi:
            raise ValueError(f"max_approach_tilt_rad must be in [0, pi], got {self.max_approach_tilt_rad}")


class GraspList(list):
    """The grasps found, best first; when empty, ``reason`` says why (for the user's message)."""

    reason: str = ""

    @staticmethod
    def none(reason: str) -> GraspList:
        found = GraspList()
        found.reason = reason
        return found


# Share of free poses in a batch below which the next batch is first checked near the hand only (:func:`_best_free`):
# that check gathers about half the points of a full one (on a `bin` field), and the free poses are then checked in
# full too.
TRIAGE_BELOW_FREE_SHARE = 0.5
# While that lasts, up to this many batches are checked in one call: a call costs ~1.7 ms on a `bin` field even for
# a few poses, a sixth of a batch of 128 (the tight retries are a few poses each).
MAX_BATCHES_AT_ONCE = 8

NO_PAIR = "no two points of it fit between the fingers"
TOO_WIDE = "across at its narrowest, more than"  # in the reason of a refusal that no view or retry can change
NO_POSE = "no hand pose around it clears the table"
ALL_COLLIDE = "every hand pose tried touches something seen, at the grasp or on the approach"

# Why a checked pose was not free, first matching cause first (what the user can act on: a neighbour or wall near
# the palm calls for another view or a push; another object between the fingers for a pick of that one first; a
# tote wall there, for none: the hand cannot reach between the object and the wall).
_REJECTIONS = (
    ("something else between the fingers (another object or a wall)", lambda c: c.foreign_held),
    ("a finger's first contact off the object", lambda c: ~c.touch_ok),
    ("a finger in seen points", lambda c: c.colliding > c.palm_colliding),
    ("the palm in seen points", lambda c: c.palm_colliding > 0),
    ("a pad on a face it cannot squeeze (slanted past the friction cone, or a thin edge held out of its plane)",
     lambda c: ~c.faces_square),
    ("too little of the object between the fingers", lambda c: (c.held < 2) | (c.width_m <= 0)),
    ("closer to seen points than the minimum clearance", lambda c: np.ones(len(c.held), dtype=bool)),
)


class RejectionTally:
    """How many checked hand poses failed for each cause of :data:`_REJECTIONS` (for the refusal message)."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys([name for name, _ in _REJECTIONS], 0)
        self.checked = 0

    def add(self, checks: HandChecks, free: np.ndarray) -> None:
        left = ~np.asarray(free, dtype=bool)
        self.checked += len(left)
        for name, applies in _REJECTIONS:
            hit = left & np.asarray(applies(checks), dtype=bool)
            self.counts[name] += int(hit.sum())
            left &= ~hit

    def summary(self) -> str:
        causes = ", ".join(f"{name} {count}" for name, count in sorted(self.counts.items(), key=lambda kv: -kv[1])
                           if count)
        return f"{self.checked} poses checked" + (f": {causes}" if causes else "")


@dataclass(frozen=True)
class Grasp:
    """One grasp in the base frame (see :mod:`dff_grasp_ros.grasp.frames` for the axes)."""

    position_m: np.ndarray  # (3,) TCP
    rotation: np.ndarray  # (3, 3) columns x, y (closing), z (approach)
    width_m: float  # distance between the two contacts along the closing axis: what the fingers close on
    opening_m: float  # opening to approach with (width plus clearance on both sides)
    score: float
    relevancy: float  # mean relevancy of the points between the fingers
    antipodality: float
    contacts_m: np.ndarray  # (2, 3) the first point each finger meets
    pre_grasp_position_m: np.ndarray  # (3,) standoff back along -z
    clearance_m: float = 0.0  # distance from fingers and palm to the nearest seen point not held (capped)
    enclosure: float = 0.0  # share of the pad face with held points behind it
    contact_margin_m: float = 0.0  # distance from the first contacts to seen points of anything else (capped)
    # What executes it (grasp.suction_cup.END_EFFECTORS). A suction grasp has no width or opening (0), its
    # contacts are the lip's centre (twice), and its antipodality is how well the lip seals (1: a flat patch).
    end_effector: str = PARALLEL_JAW

    @property
    def quaternion_xyzw(self) -> np.ndarray:
        return quaternion_xyzw(self.rotation)

    @property
    def pose_matrix(self) -> np.ndarray:
        """4x4 TCP pose in the base frame."""
        return pose_matrix(self.rotation, self.position_m)

    @property
    def approach(self) -> np.ndarray:
        return self.rotation[:, 2]


def plan_grasps(points_m: np.ndarray, normals: np.ndarray, point_relevancy: np.ndarray, target: np.ndarray,
                contact_mask: np.ndarray, object_mask: np.ndarray, params: GraspParams,
                obstacles: Obstacles | None = None) -> list[Grasp]:
    """Ranked, collision-free, mutually distinct grasps centred on ``target`` (mask over ``points_m``).

    The first point each finger meets lies on ``contact_mask`` or ``target`` (what may be touched): the hand
    touches only what was asked for. ``object_mask`` is the object: the only thing that may lie between the
    fingers. ``point_relevancy`` (N,) scores what is between the fingers (zero off the object). ``obstacles`` are
    the seen points the hand must not touch (:class:`Obstacles`, whose ``scene_index`` maps them to rows of
    ``points_m``); by default ``points_m`` themselves. Each grasp opens with the gripper's clearance, or with its
    ``min_clearance_m`` where only that is free. An empty :class:`GraspList` (with its ``reason``) when none is
    found.
    """
    gripper, rng = params.gripper, np.random.default_rng(params.seed)
    points_m = np.asarray(points_m, dtype=np.float64)
    target, object_mask = np.asarray(target, dtype=bool), np.asarray(object_mask, dtype=bool)
    touchable = np.asarray(contact_mask, dtype=bool) | target
    if not target.any():
        return GraspList.none("nothing to grasp")
    pairs, approaches = _contact_pairs(points_m, normals, target, touchable, object_mask, params, rng)
    if len(pairs) == 0:
        return GraspList.none(_too_wide(points_m[target], gripper) + NO_PAIR)
    centroid = points_m[object_mask].mean(axis=0) if object_mask.any() else points_m[target].mean(axis=0)
    candidates = _candidates(pairs, approaches, points_m, point_relevancy, centroid, params)
    if len(candidates.pair) == 0:
        return GraspList.none(_too_wide(points_m[target], gripper) + NO_POSE)
    local_points, held = obstacles_near_object(points_m, point_relevancy, touchable, object_mask, params,
                                               obstacles)
    face_cosine = friction_cone_cosine(params.friction_coefficient)
    checker = HandChecker(gripper, local_points, held, params.clearance_cap_m, approach_m=params.standoff_m,
                          min_face_cosine=face_cosine)
    tally = RejectionTally()
    grasps = _best_free(candidates, pairs, checker, params, tally)
    if grasps:
        return GraspList(grasps)
    reason = f"{ALL_COLLIDE} ({tally.summary()})"
    too_wide = _too_wide(points_m[target], gripper)
    alone = held.on_object  # the object's own points: would a pose be free were its neighbours gone?
    if too_wide and not _best_free(
            candidates, pairs, HandChecker(gripper, local_points[alone], held.rows(alone),
                                           params.clearance_cap_m, approach_m=params.standoff_m,
                                           min_face_cosine=face_cosine),
            params, RejectionTally()):
        reason = too_wide + reason
    return GraspList.none(reason)


def obstacles_near_object(points_m: np.ndarray, point_relevancy: np.ndarray, touchable: np.ndarray,
                          object_mask: np.ndarray, params: GraspParams,
                          obstacles: Obstacles | None = None) -> tuple[np.ndarray, HeldObject]:
    """The obstacle points any hand pose on the object could reach, and what each is to the hand
    (:class:`HeldObject`): what :func:`plan_grasps` checks its poses against. ``touchable`` and ``object_mask``
    are masks over ``points_m``; ``obstacles`` by default ``points_m`` themselves above the table."""
    gripper = params.gripper
    if obstacles is None:
        obstacles = Obstacles.above_table(points_m, params.table_z_m, params.table_clearance_m)
    # Only obstacles the hand can reach from any candidate matter: those near the object.
    held_points = points_m[object_mask | touchable]
    centre = 0.5 * (held_points.min(axis=0) + held_points.max(axis=0))
    # Every candidate's TCP lies within the pads' offset of a contact midpoint on the object.
    reach = (np.linalg.norm(held_points - centre, axis=1).max() + max(params.pad_offsets) * gripper.pad_length_m
             + _hand_extent_m(gripper) + params.standoff_m + params.clearance_cap_m)
    local = np.asarray(obstacles.tree.query_ball_point(centre, r=reach), dtype=np.int64)
    scene = obstacles.scene_index[local]
    roles = ObstacleRoles.of(scene, object_mask)
    in_scene, on = roles.in_scene, roles.scene_row
    local_points = obstacles.points_m[local]
    held = HeldObject(in_scene | (scene == FEATURELESS), roles.on_object, in_scene & touchable[on],
                      np.where(in_scene, np.asarray(point_relevancy, dtype=np.float64)[on], 0.0),
                      margins_m(local_points, roles.on_object, roles.elsewhere, params.contact_margin_cap_m))
    return local_points, held


def margins_m(points_m: np.ndarray, on_object: np.ndarray, elsewhere: np.ndarray, cap_m: float) -> np.ndarray:
    """Per point (N,): distance from each ``on_object`` point to the nearest ``elsewhere`` point, at most
    ``cap_m`` (also where nothing else is that near); 0 off the object."""
    margin = np.zeros(len(points_m))
    margin[on_object] = cap_m
    if not on_object.any():
        return margin
    # Only what lies within the cap of the object's bounding box can be nearer (a tree over all would cost more).
    low, high = points_m[on_object].min(axis=0) - cap_m, points_m[on_object].max(axis=0) + cap_m
    near = elsewhere & np.all((points_m >= low) & (points_m <= high), axis=1)
    if near.any():
        distance, _ = cKDTree(points_m[near]).query(points_m[on_object], distance_upper_bound=cap_m)
        margin[on_object] = np.minimum(distance, cap_m)
    return margin


def narrowest_width_m(points_m: np.ndarray, directions: int = 180, trim: float = 0.01) -> float:
    """The smallest extent of ``points_m`` across any horizontal direction (the footprint's narrowest width), with
    the ``trim`` share of points at each side ignored (a fused cloud's stray points). A hand closing
    horizontally needs at least this opening."""
    if len(points_m) == 0:
        return 0.0
    angles = np.linspace(0.0, np.pi, directions, endpoint=False)
    across = np.asarray(points_m, dtype=np.float64)[:, :2] @ np.stack([np.cos(angles), np.sin(angles)])
    low, high = np.quantile(across, [trim, 1.0 - trim], axis=0)
    return float((high - low).min())


def _too_wide(points_m: np.ndarray, gripper: ParallelJawGripper) -> str:
    """The start of a refusal's reason when what was asked for is wider, in every horizontal direction, than the
    fingers close on: no view or retry helps; another hand (or a suction cup) does. A hollow object wider than
    that (a bowl) is grasped at its rim: where poses were checked, the planner says so only when none would be
    free even with the object's neighbours gone."""
    width_m = narrowest_width_m(points_m)
    if width_m <= gripper.max_width_m:
        return ""
    return f"it is {width_m:.3f} m {TOO_WIDE} the {gripper.max_width_m:.3f} m the fingers close on; "


def _hand_extent_m(gripper: ParallelJawGripper) -> float:
    """Farthest point of the fingers and palm from the TCP (at full opening)."""
    palm = np.linalg.norm([gripper.palm_width_m / 2, gripper.palm_span_m / 2,
                           gripper.finger_length_m - gripper.tip_z_m + gripper.palm_depth_m])
    finger = np.linalg.norm([gripper.finger_width_m / 2, gripper.max_opening_m / 2 + gripper.finger_thickness_m,
                             max(gripper.tip_z_m, gripper.finger_length_m - gripper.tip_z_m)])
    return float(max(palm, finger))


def _contact_pairs(points_m: np.ndarray, normals: np.ndarray, target: np.ndarray, touchable: np.ndarray,
                   object_mask: np.ndarray, params: GraspParams, rng: np.random.Generator
                   ) -> tuple[ContactPairs, list[np.ndarray]]:
    """Antipodal and cross-section pairs, and the approaches each may be grasped along: blocks (P_i, A_i, 3)
    whose rows follow the pairs in order."""
    gripper = params.gripper
    on_target = np.flatnonzero(target)
    pairs = sample_antipodal_pairs(points_m, normals, on_target, np.flatnonzero(touchable), gripper.max_width_m,
                                   params.friction_coefficient, params.contact_samples, rng)
    approaches = [approach_directions(pairs.closing_axis, params.approaches_per_pair)]
    slab = SlabShape(gripper.finger_width_m, gripper.pad_length_m, gripper.finger_thickness_m)
    on_object = np.flatnonzero(object_mask)
    # Straight down first (the same random draws as before tilted slabs existed), then the tilted ring at once.
    cone = cone_approaches(params.cross_section_cone_tilts_rad, params.cross_section_cone_azimuths)
    for slab_approaches, samples in ((cone[:1], params.cross_section_samples),
                                     (cone[1:], params.cross_section_cone_samples)):
        if samples == 0 or params.cross_section_samples == 0 or len(slab_approaches) == 0:
            continue
        section, section_approach = sample_cross_section_pairs(
            points_m, on_target, on_object, slab, gripper.max_width_m, params.friction_coefficient, samples,
            params.cross_section_directions, rng, approaches=slab_approaches)
        usable = touchable[section.first] & touchable[section.second]
        pairs = pairs.concatenate(section.subset(usable))
        approaches.append(tilted_approaches(section.closing_axis[usable], params.approaches_per_pair,
                                            params.cross_section_max_tilt_rad, base=section_approach[usable]))
    return pairs, approaches


@dataclass(frozen=True)
class _Candidates:
    """Candidate poses as parallel arrays (C rows), so checks and scores are vectorised."""

    pair: np.ndarray  # (C,) index into the contact pairs
    rotation: np.ndarray  # (C, 3, 3)
    position_m: np.ndarray  # (C, 3)
    opening_m: np.ndarray  # (C,) comfortable opening
    tight_opening_m: np.ndarray  # (C,) the narrowest that passes around the contacts
    from_above: np.ndarray  # (C,) 1 straight down, 0.5 from the side
    short_lever: np.ndarray  # (C,) 1 at the object's centroid, 0 from lever_cap_m (horizontally) away
    prior: np.ndarray  # (C,) the score terms known before a check, to check the likely best first


def _candidates(pairs: ContactPairs, approaches: list[np.ndarray], points_m: np.ndarray,
                point_relevancy: np.ndarray, centroid_m: np.ndarray, params: GraspParams) -> _Candidates:
    """Every approach within the cone and pad offset of every pair whose fingers and palm clear the table."""
    gripper, weights = params.gripper, params.weights
    pair_blocks, approach_blocks, first = [], [], 0
    for block in approaches:
        within_cone = block @ DOWN >= np.cos(params.max_approach_tilt_rad) - 1e-9  # (P_i, A_i)
        rows, columns = np.nonzero(within_cone)
        pair_blocks.append(first + rows)
        approach_blocks.append(block[rows, columns])
        first += len(block)
    fractions = np.asarray(params.pad_offsets)
    pair = np.repeat(np.concatenate(pair_blocks), len(fractions))
    approach = np.repeat(np.concatenate(approach_blocks).reshape(-1, 3), len(fractions), axis=0)
    fraction = np.tile(fractions, len(approach) // len(fractions))
    rotation = tcp_rotation(approach, pairs.closing_axis[pair]) if len(pair) else np.zeros((0, 3, 3))
    centre = 0.5 * (points_m[pairs.first] + points_m[pairs.second])
    # Contacts towards the tip means the TCP sits behind the contacts, back along -z.
    position = centre[pair] - rotation[:, :, 2] * (fraction * gripper.pad_length_m)[:, None]
    opening = np.asarray(gripper.opening_for(pairs.width_m))[pair]
    tight = np.asarray(gripper.tight_opening_for(pairs.width_m))[pair]
    keep = np.ones(len(pair), dtype=bool)
    if params.table_z_m is not None and len(pair):
        keep = clears_table(gripper, rotation, position, opening, params.table_z_m, params.table_clearance_m)
    from_above = 0.5 * (1.0 - rotation[:, 2, 2])  # approach +z pointing down (-z in the base frame) -> 1
    relevancy = np.asarray(point_relevancy, dtype=np.float64)
    at_contacts = 0.5 * (relevancy[pairs.first] + relevancy[pairs.second])[pair]
    lever = np.linalg.norm((centre - centroid_m)[:, :2], axis=1)[pair]
    short_lever = 1.0 - np.minimum(lever / params.lever_cap_m, 1.0)
    prior = (weights.relevancy * at_contacts + weights.antipodality * pairs.antipodality[pair]
             + weights.from_above * from_above + weights.enclosure * (1.0 - fraction / 0.5)
             + weights.short_lever * short_lever)
    return _Candidates(pair[keep], rotation[keep], position[keep], opening[keep], tight[keep], from_above[keep],
                       short_lever[keep], prior[keep])


def _best_free(candidates: _Candidates, pairs: ContactPairs, checker: HandChecker,
               params: GraspParams, tally: RejectionTally) -> list[Grasp]:
    """Check candidates best prior first, in batches, until enough distinct free ones; the best of them (and in
    ``tally``, why the others were not free)."""
    order = np.argsort(-candidates.prior, kind="stable")
    found_rows: list[np.ndarray] = []
    found_openings: list[np.ndarray] = []
    found_checks: list[HandChecks] = []
    checked, near_m, batches, done = 0, None, 1, False
    while checked < len(order) and not done:
        # ``batches`` batches are checked at once (fewer, larger calls), then taken one by one as if each had been
        # checked alone: every pose's check is its own, so only the work on batches after a stop is lost.
        span = order[checked:checked + batches * params.check_batch]
        span_checks, span_free, span_opening = _check_poses(candidates, span, checker, params, near_m)
        for start in range(0, len(span), params.check_batch):
            part = slice(start, start + params.check_batch)
            rows, checks, free = span[part], _subset(span_checks, part), span_free[part]
            checked += len(rows)
            tally.add(checks, free)
            found_rows.append(rows[free])
            found_openings.append(span_opening[part][free])
            found_checks.append(_subset(checks, free))
            if checked >= params.min_checked and (
                    sum(len(r) for r in found_rows) >= params.enough_free
                    or len(_distinct(candidates, found_rows, found_checks, pairs, params)) >= params.max_grasps):
                done = True
                break
        # Which poses are free needs only the points within the minimum clearance of the hand; the free ones'
        # clearance, a score term, is then measured in full. That pays where most poses are not free (in clutter,
        # and a refusal checks every pose), so the next batches are checked so where most of the last one was not,
        # more of them at once while that lasts.
        mostly_taken = free.mean() < TRIAGE_BELOW_FREE_SHARE
        near_m = params.min_clearance_m if mostly_taken else None
        batches = min(2 * batches, MAX_BATCHES_AT_ONCE) if mostly_taken else 1
    rows, checks = np.concatenate(found_rows), _concat(found_checks)
    openings = np.concatenate(found_openings)
    scores = _scores(candidates, rows, checks, pairs, params)
    kept = _distinct(candidates, [rows], [checks], pairs, params, scores)
    grasps = []
    for k in kept:
        i = int(rows[k])
        rotation, position = candidates.rotation[i], candidates.position_m[i]
        grasps.append(Grasp(position_m=position, rotation=rotation, width_m=float(checks.width_m[k]),
                            opening_m=float(openings[k]), score=float(scores[k]),
                            relevancy=float(checks.held_relevancy[k]),
                            antipodality=float(pairs.antipodality[candidates.pair[i]]),
                            contacts_m=checker.contacts(rotation, position, float(openings[k])),
                            pre_grasp_position_m=position - params.standoff_m * rotation[:, 2],
                            clearance_m=float(checks.clearance_m[k]), enclosure=float(checks.enclosure[k]),
                            contact_margin_m=float(checks.contact_margin_m[k])))
    return grasps


def _check_poses(candidates: _Candidates, rows: np.ndarray, checker: HandChecker, params: GraspParams,
                 near_m: float | None) -> tuple[HandChecks, np.ndarray, np.ndarray]:
    """The checks of candidate ``rows``, which are free, and the opening each is checked (and grasped) with: the
    comfortable one, or the tightest where only that is free. With ``near_m``, the hand is checked near it only
    (:meth:`HandChecker.check`) and the free poses again in full, for their clearance."""
    opening = candidates.opening_m[rows].copy()
    tight = candidates.tight_opening_m[rows]
    checks = checker.check(candidates.rotation[rows], candidates.position_m[rows], opening, tight, near_m)
    free = checks.free(params.max_colliding_points, params.min_clearance_m)
    # Where a neighbour leaves less room than the comfortable clearance, try the tightest opening.
    scrapes = ((checks.colliding == 0) & (checks.clearance_m < params.min_clearance_m) & ~checks.foreign_held
               & checks.touch_ok & (checks.held >= 2))
    retry = np.flatnonzero(~free & (checks.tight_may_free | scrapes) & checks.faces_square & (tight < opening))
    if len(retry) and params.table_z_m is not None:
        retry = retry[clears_table(params.gripper, candidates.rotation[rows[retry]],
                                   candidates.position_m[rows[retry]], tight[retry], params.table_z_m,
                                   params.table_clearance_m)]
    if len(retry):
        tight_checks = checker.check(candidates.rotation[rows[retry]], candidates.position_m[rows[retry]],
                                     tight[retry], near_m=near_m)
        now_free = tight_checks.free(params.max_colliding_points, params.min_clearance_m)
        retry, kept_checks = retry[now_free], _subset(tight_checks, now_free)
        checks = _merge(checks, retry, kept_checks)
        opening[retry] = tight[retry]
        free[retry] = True
    if near_m is not None and free.any():
        checks = _with_full_clearance(checks, free, checker.check(
            candidates.rotation[rows[free]], candidates.position_m[rows[free]], opening[free]))
    return checks, free, opening


def _scores(candidates: _Candidates, rows: np.ndarray, checks: HandChecks, pairs: ContactPairs,
            params: GraspParams) -> np.ndarray:
    weights = params.weights
    total = (weights.relevancy * checks.held_relevancy + weights.enclosure * checks.enclosure
             + weights.antipodality * pairs.antipodality[candidates.pair[rows]]
             + weights.clearance * checks.clearance_m / params.clearance_cap_m
             + weights.from_above * candidates.from_above[rows] + weights.short_lever * candidates.short_lever[rows]
             + weights.contact_margin * np.minimum(checks.contact_margin_m / params.contact_margin_cap_m, 1.0))
    return total / sum(astuple(weights))


def _distinct(candidates: _Candidates, rows_list: list[np.ndarray], checks_list: list[HandChecks],
              pairs: ContactPairs, params: GraspParams, scores: np.ndarray | None = None) -> list[int]:
    """Indices (into the concatenated rows) of the best-scoring free poses, none near a better one (NMS)."""
    rows = np.concatenate(rows_list)
    if scores is None:
        scores = _scores(candidates, rows, _concat(checks_list), pairs, params)
    return suppress_near(candidates.position_m[rows], candidates.rotation[rows], np.argsort(-scores, kind="stable"),
                         params.nms_distance_m, params.nms_angle_rad, params.max_grasps)


def _with_full_clearance(checks: HandChecks, rows: np.ndarray, full: HandChecks) -> HandChecks:
    """``checks`` with the clearance of ``rows`` (a mask or indices) from ``full``, their full check: a check
    that looked only at points near the hand (``near_m``) finds every other result the same."""
    clearance = np.array(checks.clearance_m)
    clearance[rows] = full.clearance_m
    return replace(checks, clearance_m=clearance)


def _subset(checks: HandChecks, keep: np.ndarray) -> HandChecks:
    return HandChecks(*(np.asarray(v)[keep] for v in vars(checks).values()))


def _concat(parts: list[HandChecks]) -> HandChecks:
    return HandChecks(*(np.concatenate(values) for values in zip(*(vars(p).values() for p in parts))))


def _merge(checks: HandChecks, rows: np.ndarray, replacement: HandChecks) -> HandChecks:
    merged = {name: np.array(value) for name, value in vars(checks).items()}
    for name, value in vars(replacement).items():
        merged[name][rows] = value
    return HandChecks(**merged)
