"""Grasp planning on a point cloud: antipodal pairs -> poses -> scores -> collision filter -> NMS.

Contact pairs come from two samplers: antipodal pairs from surface normals (any approach around the closing
axis) and top-down pairs from the cloud's cross-sections (:mod:`dff_grasp_ros.grasp.cross_section`), which find thin
parts whose edges carry no usable normals. Both are scored and filtered alike.

Score (higher is better, in [0, 1]) is led by what the user asked for: the mean relevancy of the points between
the fingers (so a "mug handle" grasp that also pinches the body scores lower), then geometry: antipodality,
centering of the contacts on the pads, and approach from above (arms reach tabletop objects best from above).
Pose convention: :mod:`dff_grasp_ros.grasp.frames`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from dff_grasp_ros.grasp.antipodal import ContactPairs, sample_antipodal_pairs
from dff_grasp_ros.grasp.collision import between_fingers, clears_table, colliding_points
from dff_grasp_ros.grasp.cross_section import SlabShape, sample_cross_section_pairs, tilted_approaches
from dff_grasp_ros.grasp.frames import approach_directions, quaternion_xyzw, tcp_rotation
from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.nms import non_maximum_suppression


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the score terms; relevancy leads."""

    relevancy: float = 0.6
    antipodality: float = 0.15
    centering: float = 0.1
    from_above: float = 0.15


@dataclass(frozen=True)
class GraspParams:
    """Grasp search settings; distances in metres, angles in radians."""

    gripper: ParallelJawGripper = field(default_factory=ParallelJawGripper)
    friction_coefficient: float = 0.5
    contact_samples: int = 300
    approaches_per_pair: int = 12
    cross_section_samples: int = 50  # centres of top-down pairs (0: normals only)
    cross_section_directions: int = 12  # closing directions per centre, over a half turn
    # Top-down pairs are also tried tilted about their closing axis, up to this far from straight down: in clutter
    # a tilt swings the wide palm clear of a tall neighbour while the pads still hold the same cross-section.
    cross_section_max_tilt_rad: float = float(np.radians(60.0))
    # Where the contacts sit on the pads, as a fraction of the pad length from its centre towards the tip:
    # off-centre lets the hand hold low objects without its tips touching the table.
    pad_offsets: tuple[float, ...] = (0.0, 0.25, 0.45)
    table_z_m: float | None = 0.0  # None: no table plane (the cloud's own table points still count)
    table_clearance_m: float = 0.003
    max_colliding_points: int = 0  # raise for clouds with floaters
    standoff_m: float = 0.10
    nms_distance_m: float = 0.015
    nms_angle_rad: float = 0.5
    max_grasps: int = 10
    weights: ScoreWeights = field(default_factory=ScoreWeights)
    seed: int = 0

    def __post_init__(self) -> None:
        if (self.contact_samples < 1 or self.approaches_per_pair < 1 or self.max_grasps < 1
                or self.cross_section_samples < 0 or self.cross_section_directions < 1):
            raise ValueError(f"sample counts must be positive: {self}")
        if not self.pad_offsets or any(not 0.0 <= o < 0.5 for o in self.pad_offsets):
            raise ValueError("pad_offsets must be fractions in [0, 0.5)")


@dataclass(frozen=True)
class Grasp:
    """One grasp in the base frame (see :mod:`dff_grasp_ros.grasp.frames` for the axes)."""

    position_m: np.ndarray  # (3,) TCP
    rotation: np.ndarray  # (3, 3) columns x, y (closing), z (approach)
    width_m: float  # distance between the two contacts: what the fingers close on
    opening_m: float  # opening to approach with (width plus clearance on both sides)
    score: float
    relevancy: float  # mean relevancy of the points between the fingers
    antipodality: float
    contacts_m: np.ndarray  # (2, 3)
    pre_grasp_position_m: np.ndarray  # (3,) standoff back along -z

    @property
    def quaternion_xyzw(self) -> np.ndarray:
        return quaternion_xyzw(self.rotation)

    @property
    def pose_matrix(self) -> np.ndarray:
        """4x4 TCP pose in the base frame."""
        matrix = np.eye(4)
        matrix[:3, :3] = self.rotation
        matrix[:3, 3] = self.position_m
        return matrix

    @property
    def approach(self) -> np.ndarray:
        return self.rotation[:, 2]


def plan_grasps(points_m: np.ndarray, normals: np.ndarray, point_relevancy: np.ndarray, target: np.ndarray,
                contact_mask: np.ndarray, object_mask: np.ndarray, params: GraspParams) -> list[Grasp]:
    """Ranked, collision-free, mutually distinct grasps centred on ``target`` (mask).

    Both contacts lie on ``contact_mask`` (the target and what may be touched with it): the hand touches only
    what was asked for. ``point_relevancy`` (N,) scores what is between the fingers (zero off the object);
    ``object_mask`` is what the hand may hold besides (a top-down pair's held cross-section); every point of
    the cloud counts for collisions. Each grasp opens with the gripper's clearance, or with its
    ``min_clearance_m`` where only that is collision-free. Empty list when none is found.
    """
    gripper, rng = params.gripper, np.random.default_rng(params.seed)
    touchable = contact_mask | target
    on_target = np.flatnonzero(target)
    antipodal = sample_antipodal_pairs(points_m, normals, on_target, np.flatnonzero(touchable), gripper.max_width_m,
                                       params.friction_coefficient, params.contact_samples, rng)
    slab = SlabShape(gripper.finger_width_m, gripper.pad_length_m, gripper.finger_thickness_m)
    top_down = sample_cross_section_pairs(points_m, on_target, np.flatnonzero(object_mask), slab,
                                          gripper.max_width_m, params.friction_coefficient,
                                          params.cross_section_samples, params.cross_section_directions, rng)
    top_down = top_down.subset(touchable[top_down.first] & touchable[top_down.second])
    pairs = antipodal.concatenate(top_down)
    if len(pairs) == 0:
        return []
    tree = cKDTree(points_m)
    approaches = [approach_directions(axis, params.approaches_per_pair) for axis in antipodal.closing_axis]
    approaches += [tilted_approaches(axis, params.approaches_per_pair, params.cross_section_max_tilt_rad)
                   for axis in top_down.closing_axis]
    candidates = _scored_candidates(pairs, approaches, points_m, point_relevancy, tree, params)
    hand_reach = float(np.linalg.norm([gripper.palm_width_m / 2, gripper.palm_span_m / 2,
                                       gripper.finger_length_m + gripper.palm_depth_m]))
    finger_reach = float(np.linalg.norm([gripper.finger_width_m / 2, gripper.max_opening_m / 2
                                         + gripper.finger_thickness_m, gripper.finger_length_m]))
    local_points: dict[int, np.ndarray] = {}
    opening = candidates.opening_m.copy()  # narrowed per candidate where only the tight opening is free

    def hits(i: int, opening_m: float, points: np.ndarray) -> int:
        return int(colliding_points(gripper, candidates.rotation[i], candidates.position_m[i], opening_m,
                                    points).sum())

    def free_at(i: int, opening_m: float, near_fingers: np.ndarray) -> bool:
        # Most rejected candidates fail at the fingers: test those few nearby points before the palm's many.
        if hits(i, opening_m, near_fingers) > params.max_colliding_points:
            return False
        pair = int(candidates.pair[i])
        if pair not in local_points:  # candidates of one pair share the hand's neighbourhood
            local_points[pair] = points_m[tree.query_ball_point(candidates.centre_m[i], r=hand_reach + 0.05)]
        return hits(i, opening_m, local_points[pair]) <= params.max_colliding_points

    def collision_free(i: int) -> bool:
        near_fingers = points_m[tree.query_ball_point(candidates.position_m[i], r=finger_reach)]
        if free_at(i, opening[i], near_fingers):
            return True
        tight = float(gripper.tight_opening_for(pairs.width_m[candidates.pair[i]]))
        if tight >= opening[i] or not _clears_table(params, candidates.rotation[i], candidates.position_m[i], tight):
            return False
        if free_at(i, tight, near_fingers):
            opening[i] = tight
            return True
        return False

    order = np.argsort(-candidates.score, kind="stable")
    kept = non_maximum_suppression(order, lambda i: (candidates.position_m[i], candidates.rotation[i]),
                                   params.nms_distance_m, params.nms_angle_rad, params.max_grasps, collision_free)
    return [candidates.grasp(i, pairs, points_m, params.standoff_m, float(opening[i])) for i in kept]


def _clears_table(params: GraspParams, rotation: np.ndarray, position_m: np.ndarray, opening_m: float) -> bool:
    if params.table_z_m is None:
        return True
    return bool(clears_table(params.gripper, rotation[None], position_m[None], np.array([opening_m]),
                             params.table_z_m, params.table_clearance_m)[0])


@dataclass(frozen=True)
class _Candidates:
    """Candidate poses as parallel arrays (C rows), so scoring is vectorised."""

    pair: np.ndarray  # (C,) index into the contact pairs
    rotation: np.ndarray  # (C, 3, 3)
    position_m: np.ndarray  # (C, 3)
    centre_m: np.ndarray  # (C, 3) midpoint of the contacts
    opening_m: np.ndarray  # (C,)
    relevancy: np.ndarray  # (C,)
    score: np.ndarray  # (C,)

    def grasp(self, i: int, pairs: ContactPairs, points_m: np.ndarray, standoff_m: float, opening_m: float) -> Grasp:
        p = int(self.pair[i])
        return Grasp(position_m=self.position_m[i], rotation=self.rotation[i], width_m=float(pairs.width_m[p]),
                     opening_m=opening_m, score=float(self.score[i]),
                     relevancy=float(self.relevancy[i]), antipodality=float(pairs.antipodality[p]),
                     contacts_m=points_m[[pairs.first[p], pairs.second[p]]],
                     pre_grasp_position_m=self.position_m[i] - standoff_m * self.rotation[i][:, 2])


def _scored_candidates(pairs: ContactPairs, approaches: list[np.ndarray], points_m: np.ndarray,
                       point_relevancy: np.ndarray, tree: cKDTree, params: GraspParams) -> _Candidates:
    """Every approach (``approaches[p]``, (A, 3) per pair) and pad offset that clears the table, with its score."""
    gripper, weights = params.gripper, params.weights
    fractions = np.asarray(params.pad_offsets)
    per_pair = np.array([len(a) for a in approaches], dtype=np.int64) * len(fractions)
    first_row = np.r_[0, np.cumsum(per_pair)]
    pair = np.repeat(np.arange(len(pairs)), per_pair)
    centre = 0.5 * (points_m[pairs.first] + points_m[pairs.second])
    approach = np.repeat(np.concatenate(approaches), len(fractions), axis=0)
    rotation = tcp_rotation(approach, pairs.closing_axis[pair])
    fraction = np.tile(fractions, len(approach) // len(fractions))
    # Contacts towards the tip means the TCP sits behind the contacts, back along -z.
    position = centre[pair] - rotation[:, :, 2] * (fraction * gripper.pad_length_m)[:, None]
    pair_opening = gripper.opening_for(pairs.width_m)
    opening = pair_opening[pair]
    keep = np.ones(len(pair), dtype=bool)
    if params.table_z_m is not None:
        keep = clears_table(gripper, rotation, position, opening, params.table_z_m, params.table_clearance_m)
    relevancy = np.zeros(len(pair))
    # Farthest a point between the fingers can be from the contacts' midpoint, per pair.
    reach = np.sqrt((gripper.finger_width_m / 2) ** 2 + (pair_opening / 2) ** 2
                    + (gripper.finger_length_m + fractions.max() * gripper.pad_length_m) ** 2)
    for p, nearby in enumerate(tree.query_ball_point(centre, r=reach)):
        rows = np.flatnonzero(keep[first_row[p]:first_row[p + 1]]) + first_row[p]
        if len(rows):
            held = between_fingers(gripper, rotation[rows], position[rows], opening[rows[0]], points_m[nearby])
            counts = held.sum(axis=1)
            relevancy[rows] = np.where(counts > 0, held @ point_relevancy[nearby] / np.maximum(counts, 1), 0.0)
    from_above = 0.5 * (1.0 - rotation[:, 2, 2])  # approach +z pointing down (-z in the base frame) -> 1
    centering = 1.0 - fraction / 0.5
    score = (weights.relevancy * relevancy + weights.antipodality * pairs.antipodality[pair]
             + weights.centering * centering + weights.from_above * from_above) / _weight_sum(weights)
    return _Candidates(pair[keep], rotation[keep], position[keep], centre[pair][keep], opening[keep],
                       relevancy[keep], score[keep])


def _weight_sum(weights: ScoreWeights) -> float:
    return weights.relevancy + weights.antipodality + weights.centering + weights.from_above
