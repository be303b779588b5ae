"""The one judge of answers against a scene's ground truth (``ground_truth.json`` of ``sim render``).

The demo, the benchmarks and the tests all judge a grasp with :func:`judge_grasp` (a suction grasp with
:func:`judge_suction`: what the lip lies on, what the tool passes through), from the pose alone (what a
robot would execute): the fingers close from the answer's opening along the closing axis, and the first
ground-truth points each finger meets are the contacts. The verdict says whether both contacts lie on the asked
part of the asked object, on another part or on another object, whether the hand closes on nothing, and how many
ground-truth points the fingers and palm pass through (or whether they dip below the table). A tote's walls are
obstacle points (object id OBSTACLE_ID): never held, and a collision even between the fingers. Whether the grasp
would hold the object is for the physics judge (:mod:`dff_grasp_ros.synthetic.physics`).

:func:`check_scene` asks every object-with-part prompt a scene supports plus prompts for absent objects, judges
each grasp that way, and scores the object phrase's relevancy (AUROC of the object's points against the rest).
It takes any SceneCloud, so the same check runs on a trained field's cloud and on an ideal cloud
(:mod:`dff_grasp_ros.synthetic.ideal_cloud`, for testing the query alone).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from dff_grasp_ros.errors import finite_array, finite_number, shown
from dff_grasp_ros.grasp.collision import colliding_points
from dff_grasp_ros.grasp.gripper import ParallelJawGripper, lowest_box_z_m, points_in_box, to_tcp_frame
from dff_grasp_ros.grasp.suction_cup import END_EFFECTORS, PARALLEL_JAW, SUCTION, SuctionCup, check_end_effector
from dff_grasp_ros.names import frame_name
from dff_grasp_ros.query.pipeline import QueryParams, QueryResult, TextEncoder, plan_query, prepare_query_cloud
from dff_grasp_ros.query.prepared import PreparedCloud
from dff_grasp_ros.scene_cloud import SceneCloud
from dff_grasp_ros.synthetic.spec import BASE_FRAME
from dff_grasp_ros.synthetic.vocabulary import COLOURS, OBJECT_TYPES, PART_NAMES, tokenize

MIN_AUROC = 0.95
LABEL_TOLERANCE_M = 0.015  # a cloud point belongs to the nearest ground-truth point's object within this distance
AUROC_NEGATIVE_FROM_M = 0.03  # table points nearer the object than this are not scored (see auroc_labels)
# Ground-truth density for judging grasps: a few hundred points per part leave gaps a finger fits through on
# large flat parts, so a colliding grasp could pass; this many spaces points ~2 mm apart on a spatula head and
# ~6 mm on the largest part (the pan's body), less than a finger's 10 x 20 mm section.
EVALUATION_POINTS_PER_PART = 3000
TABLE_BAND_M = 0.003
DEFAULT_ABSENT = ("banana",)


OBSTACLE_ID = -1  # object id of fixed obstacles' points (a tote's walls): background, never held


@dataclass(frozen=True)
class GroundTruthPoints:
    """All ground-truth surface points with their object id and part name (obstacles: OBSTACLE_ID, their name)."""

    points_m: np.ndarray  # (M, 3)
    object_id: np.ndarray  # (M,) int
    part: np.ndarray  # (M,) str

    @staticmethod
    def from_json(ground_truth: dict[str, Any]) -> GroundTruthPoints:
        points, ids, parts = [], [], []
        for obj in ground_truth["objects"]:
            for name, part in obj["parts"].items():
                part_points = np.asarray(part["points"], dtype=np.float64).reshape(-1, 3)
                points.append(part_points)
                ids += [int(obj["id"])] * len(part_points)
                parts += [name] * len(part_points)
        for obstacle in ground_truth.get("obstacles", []):
            obstacle_points = np.asarray(obstacle["points"], dtype=np.float64).reshape(-1, 3)
            points.append(obstacle_points)
            ids += [OBSTACLE_ID] * len(obstacle_points)
            parts += [obstacle["name"]] * len(obstacle_points)
        return GroundTruthPoints(np.vstack(points), np.asarray(ids), np.asarray(parts))

    def distance_to_object(self, query_m: np.ndarray, object_id: int) -> np.ndarray:
        """Distance (M,) from each query point to the nearest ground-truth point of object ``object_id``."""
        return cKDTree(self.points_m[self.object_id == object_id]).query(np.atleast_2d(query_m))[0]

    def label(self, query_m: np.ndarray, tolerance_m: float = LABEL_TOLERANCE_M) -> tuple[np.ndarray, np.ndarray]:
        """(object id, part) of the nearest ground-truth point to each query point; id -1 / "" beyond tolerance."""
        distance, index = cKDTree(self.points_m).query(np.atleast_2d(query_m))
        far = distance > tolerance_m
        return np.where(far, -1, self.object_id[index]), np.where(far, "", self.part[index])


@dataclass(frozen=True)
class GraspVerdict:
    """Where a grasp pose closes, judged on dense ground truth (see the module docstring)."""

    asked_object_id: int
    asked_part: str | None  # None: any part of the object will do
    contact_object_ids: tuple[int, int]  # object of each finger's first contact, -1 where it meets nothing
    contact_parts: tuple[str, str]
    colliding_points: int  # ground-truth points inside fingers or palm, plus one if the hand dips below the table

    @property
    def missed(self) -> bool:
        return -1 in self.contact_object_ids

    @property
    def on_asked_object(self) -> bool:
        return all(i == self.asked_object_id for i in self.contact_object_ids)

    @property
    def on_part(self) -> bool:
        """Both contacts on the asked part (any part when none was asked) of the asked object."""
        return self.on_asked_object and (self.asked_part is None or all(p == self.asked_part
                                                                         for p in self.contact_parts))

    @property
    def label(self) -> str:
        """One word: correct, collides, missed, wrong_object or wrong_part."""
        if self.colliding_points:
            return "collides"
        if self.on_part:
            return "correct"
        if self.missed:
            return "missed"
        return "wrong_part" if self.on_asked_object else "wrong_object"


def judge_grasp(truth: GroundTruthPoints, rotation: np.ndarray, position_m: np.ndarray, opening_m: float,
                gripper: ParallelJawGripper, object_id: int, part: str | None,
                table_z_m: float = -np.inf) -> GraspVerdict:
    """Judge one grasp pose (TCP frame, base frame metres) closing from ``opening_m`` on the asked target."""
    rotation, position_m = np.asarray(rotation, dtype=np.float64), np.asarray(position_m, dtype=np.float64)
    local = to_tcp_frame(truth.points_m, rotation, position_m)
    between = points_in_box(local, gripper.boxes(opening_m)["closing"])
    obstacle = truth.object_id == OBSTACLE_ID
    held = np.flatnonzero(between & ~obstacle)
    ids, parts = [-1, -1], ["", ""]
    if len(held):
        # Each finger closes along y until it meets the first point on its side: the extremes of what is held.
        for side, index in enumerate((held[np.argmax(local[held, 1])], held[np.argmin(local[held, 1])])):
            ids[side], parts[side] = int(truth.object_id[index]), str(truth.part[index])
    collisions = int(colliding_points(gripper, rotation, position_m, opening_m, truth.points_m).sum())
    collisions += int((between & obstacle).sum())  # a wall between the fingers is no grasp: they close on it
    if gripper.lowest_point_z_m(rotation, position_m, opening_m) < table_z_m:
        collisions += 1  # the table counts as one more obstacle
    return GraspVerdict(object_id, part, (ids[0], ids[1]), (parts[0], parts[1]), collisions)


# A suction grasp's lip, judged on the points: each of LIP_POINTS points of the lip circle meets the first
# ground-truth point (least far along the approach) within LIP_TOLERANCE_M of it across the approach, about the
# spacing of EVALUATION_POINTS_PER_PART points on the largest flat part (a box's body: ~4 mm).
LIP_POINTS = 36
LIP_TOLERANCE_M = 0.004


def judge_suction(truth: GroundTruthPoints, rotation: np.ndarray, position_m: np.ndarray, cup: SuctionCup,
                  object_id: int, part: str | None, table_z_m: float = -np.inf) -> GraspVerdict:
    """Judge one suction grasp pose (TCP frame: the lip's centre, +z into the surface) on the asked target.

    The verdict's two contacts are what the lip lies on: (the object and part under most of the lip, another one
    where the lip also lies on one, else the same); -1 where a lip point meets no surface within the lip's reach
    (it overhangs, or the surface under it varies more than ``lip_compliance_m``): missed. Colliding: points
    inside the cup's box deeper than the lip's give, or inside the rod's or body's box (the asked object's too),
    and one more when the tool dips below the table.
    """
    rotation, position_m = np.asarray(rotation, dtype=np.float64), np.asarray(position_m, dtype=np.float64)
    local = to_tcp_frame(truth.points_m, rotation, position_m)
    angles = np.linspace(0.0, 2 * np.pi, LIP_POINTS, endpoint=False)
    lip = cup.cup_radius_m * np.column_stack([np.cos(angles), np.sin(angles)])
    # Surface behind the lip plane touches the lip only under its rim and within its give (compliance); deeper
    # in the cup it is the boxes' business, and beside the rim it is not touched at all: a pan's rim 1-3 mm
    # above a handle and 3 mm outside the cup's rim was taken for what the lip lay on (the 4 mm tolerance below
    # is for the ground truth's sampling of the surface ahead).
    behind_ok = (local[:, 2] >= -cup.lip_compliance_m) & (np.hypot(local[:, 0], local[:, 1]) <= cup.cup_radius_m)
    ahead = np.flatnonzero((local[:, 2] >= 0.0) | behind_ok)
    first = []  # per lip point: index of the first surface point under it, -1 where none
    for near in cKDTree(local[ahead, :2]).query_ball_point(lip, LIP_TOLERANCE_M):
        first.append(int(ahead[near][np.argmin(local[ahead[near], 2])]) if near else -1)
    first_arr = np.asarray(first)
    met = first_arr >= 0
    depth = np.where(met, local[np.maximum(first_arr, 0), 2], np.inf)
    # The lip reaches a point no further than lip_compliance_m beyond the nearest one, nor beyond the lip plane.
    nearest = depth.min() if met.any() else np.inf
    met &= (depth <= nearest + cup.lip_compliance_m) & (depth <= cup.lip_compliance_m)
    labels = [(int(truth.object_id[i]), str(truth.part[i])) if ok else (-1, "") for i, ok in zip(first_arr, met)]
    ranked = sorted(set(labels), key=lambda label: -labels.count(label))
    contacts = (ranked[0], ranked[1] if len(ranked) > 1 else ranked[0])
    boxes = cup.boxes()
    # What lies at the lip, in the cup's mouth, is what the lip lies on (the contacts); deeper in it is in the way,
    # the asked object too (the cup would be inside it).
    collisions = int((points_in_box(local, boxes["cup"]) & (local[:, 2] < -cup.lip_compliance_m)).sum())
    collisions += int(sum(points_in_box(local, boxes[name]).sum() for name in ("rod", "body")))
    if lowest_box_z_m(boxes.values(), rotation, position_m) < table_z_m:
        collisions += 1
    return GraspVerdict(object_id, part, (contacts[0][0], contacts[1][0]), (contacts[0][1], contacts[1][1]),
                        collisions)


MAX_ANSWER_DISTANCE_M = 10.0
MAX_ANSWER_OPENING_M = 1.0
# A pre-grasp this little ahead of the grasp is the answers' rounding (0.1 mm), not a motion out of the object.
PRE_GRASP_AHEAD_TOLERANCE_M = 0.001


def pre_grasp_problem(rotation: np.ndarray, position_m: np.ndarray, pre_grasp_position_m: np.ndarray) -> str | None:
    """Why a pre-grasp position starts no approach to the grasp (None when it does): the tool moves from it to the
    grasp along +z of the grasp's TCP frame, so it lies behind the grasp (or at it). One ahead of it (inside the
    object) put the tool inside the object and backed it out to the grasp, which physics judged "lifted"."""
    ahead_m = float((np.asarray(pre_grasp_position_m) - np.asarray(position_m)) @ np.asarray(rotation)[:, 2])
    if ahead_m <= PRE_GRASP_AHEAD_TOLERANCE_M:
        return None
    return (f"pre_grasp_position_m {np.round(pre_grasp_position_m, 4).tolist()} lies {ahead_m * 1000:.0f} mm ahead "
            f"of the grasp along its approach (+z): the tool would back into the grasp (an approach starts behind it)")


def answer_pose(answer: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, float]:
    """(rotation, position_m, opening_m) of the grasp in an answer's JSON (``dff-grasp ask/query --json``); a
    suction grasp's opening is 0 (it may give none)."""
    from dff_grasp_ros.ros_io.pose import PoseError, checked_quaternion_xyzw

    grasp = answer.get("grasp") if isinstance(answer, dict) else None
    if not isinstance(grasp, dict):
        raise ValueError("the answer holds no grasp (success is false or 'grasp' is missing)")
    # A hand-written answer may leave 'success' out; one that says false was no grasp the planner stood by.
    success = answer.get("success", True)
    if not isinstance(success, bool):
        raise ValueError(f"the answer's 'success' must be true or false, got {shown(success)}")
    if not success:
        raise ValueError("the answer says success false: it is no grasp to execute")
    suction = answer_end_effector(answer) == SUCTION
    try:
        position = finite_array(grasp["position_m"], (3,), "the answer's grasp position_m")
        quaternion = finite_array(grasp["quaternion_xyzw"], (4,), "the answer's grasp quaternion_xyzw")
        key = "opening_m" if "opening_m" in grasp else "width_m"
        opening = finite_number(grasp.get(key, 0.0) if suction else grasp[key], f"the answer's grasp {key}")
    except KeyError as err:
        raise ValueError(f"the answer's grasp is malformed: {err} is missing") from None
    try:  # the package's one quaternion check: a zero or clearly non-unit one is a bug upstream, not rounding
        rotation = Rotation.from_quat(checked_quaternion_xyzw(quaternion)).as_matrix()
    except PoseError as err:
        raise ValueError(f"the answer's grasp quaternion_xyzw: {err}") from None
    if suction and opening != 0:  # a cup does not open: an opening says the answer mixes up its end effector
        raise ValueError(f"the answer's suction grasp has {key} {shown(grasp[key])}: a suction cup's is 0")
    if opening <= 0 and not suction:
        raise ValueError(f"the answer's grasp {key} must be positive, got {shown(grasp[key])}")
    frame = grasp.get("frame_id", BASE_FRAME)  # a hand-written answer without one means the world's frame
    if not isinstance(frame, str) or frame_name(frame) != BASE_FRAME:  # executing it in base_link misplaces it
        raise ValueError(f"the answer's grasp is in frame {frame!r}, the simulated world's is {BASE_FRAME!r}")
    # Beyond these it is no grasp of a table-top scene (MuJoCo went unstable at 1e300 m and still answered).
    if np.abs(position).max() > MAX_ANSWER_DISTANCE_M or opening > MAX_ANSWER_OPENING_M:
        raise ValueError(f"the answer's grasp is out of reach: position_m {position.tolist()} (at most "
                         f"{MAX_ANSWER_DISTANCE_M:g} m from the base), opening {opening:g} m (at most "
                         f"{MAX_ANSWER_OPENING_M:g} m)")
    pre = answer_pre_grasp(answer)  # a malformed pre-grasp position makes the whole answer unusable
    problem = None if pre is None else pre_grasp_problem(rotation, position, pre)
    if problem:
        raise ValueError(f"the answer's {problem}")
    return rotation, position, opening


def judge_answer(truth: GroundTruthPoints, answer: dict[str, Any], gripper: ParallelJawGripper, cup: SuctionCup,
                 object_id: int, part: str | None, table_z_m: float = -np.inf) -> GraspVerdict:
    """Judge the grasp of an answer's JSON with the end effector it names (:func:`judge_grasp`,
    :func:`judge_suction`); ValueError as :func:`answer_pose`."""
    rotation, position_m, opening_m = answer_pose(answer)
    return judge_with_tool(truth, answer_end_effector(answer), rotation, position_m, opening_m, gripper, cup,
                           object_id, part, table_z_m)


def judge_with_tool(truth: GroundTruthPoints, end_effector: str, rotation: np.ndarray, position_m: np.ndarray,
                    opening_m: float, gripper: ParallelJawGripper, cup: SuctionCup, object_id: int, part: str | None,
                    table_z_m: float = -np.inf) -> GraspVerdict:
    """:func:`judge_suction` for a suction grasp, else :func:`judge_grasp`; ValueError naming an unknown
    ``end_effector``."""
    if check_end_effector(end_effector) == SUCTION:
        return judge_suction(truth, rotation, position_m, cup, object_id, part, table_z_m)
    return judge_grasp(truth, rotation, position_m, opening_m, gripper, object_id, part, table_z_m)


def answer_end_effector(answer: dict[str, Any]) -> str:
    """What executes the grasp of an answer's JSON: its grasp's ``end_effector`` (absent: the parallel-jaw hand);
    ValueError naming it when it is none of END_EFFECTORS."""
    name = answer["grasp"].get("end_effector", PARALLEL_JAW)
    if name not in END_EFFECTORS:
        raise ValueError(f"the answer's grasp end_effector {shown(name)} is none of {', '.join(END_EFFECTORS)}")
    return name


def answer_pre_grasp(answer: dict[str, Any]) -> np.ndarray | None:
    """The pre-grasp position (3,) of an answer's grasp, None when it gives none (execution then backs off along
    the approach); ValueError when it is malformed or out of reach. Call :func:`answer_pose` first."""
    pre = answer["grasp"].get("pre_grasp_position_m")
    if pre is None:
        return None
    pre_m = finite_array(pre, (3,), "the answer's pre_grasp_position_m")
    if np.abs(pre_m).max() > MAX_ANSWER_DISTANCE_M:
        raise ValueError(f"the answer's pre_grasp_position_m {pre_m.tolist()} is not a reachable position")
    return pre_m


class AmbiguousTarget(ValueError):
    """A prompt names several objects of the scene: ``twins`` when they share type and colour (no word can tell
    them apart, and either is right)."""

    def __init__(self, prompt: str, object_ids: list[int], twins: bool) -> None:
        super().__init__(f"{prompt!r} matches {len(object_ids)} objects of the scene"
                         + ("" if twins else "; name a colour"))
        self.object_ids, self.twins = object_ids, twins


def asked_target(ground_truth: dict[str, Any], prompt: str) -> tuple[int | None, str | None]:
    """(object id, part) a prompt asks for in a scene's ground truth: the object whose type (and colour, when the
    prompt names one) it names, and the part word it names. ``(None, None)`` when no object matches (an absent
    object or colour); AmbiguousTarget when several objects match (the prompt is ambiguous in this scene)."""
    words = tokenize(prompt)
    kinds = [w for w in words if w in OBJECT_TYPES]
    colours = [w for w in words if w in COLOURS]
    named_parts = [w for w in words if w in PART_NAMES]
    matches = [obj for obj in ground_truth["objects"]
               if obj["type"] in kinds and (not colours or obj.get("color") in colours)]
    if not matches:
        return None, None
    if len(matches) > 1:
        raise AmbiguousTarget(prompt, [int(obj["id"]) for obj in matches],
                              len({(obj["type"], obj.get("color")) for obj in matches}) == 1)
    part = next((p for p in named_parts if p in matches[0]["parts"] and p != matches[0]["type"]), None)
    return int(matches[0]["id"]), part


@dataclass(frozen=True)
class QueryCheck:
    """Outcome of one prompt on one scene."""

    prompt: str
    object_id: int | None  # None: the prompt names an absent object
    part: str | None
    result: QueryResult
    verdict: GraspVerdict | None  # None when no grasp was returned
    auroc: float | None
    passed: bool

    @property
    def on_part(self) -> bool:
        return self.verdict is not None and self.verdict.on_part

    @property
    def colliding_points(self) -> int:
        return -1 if self.verdict is None else self.verdict.colliding_points

    def describe(self) -> str:
        auroc = "n/a" if self.auroc is None else f"{self.auroc:.3f}"
        verdict = "no grasp" if self.verdict is None else self.verdict.label
        return (f"{self.prompt!r}: passed={self.passed} success={self.result.success} verdict={verdict} "
                f"collisions={self.colliding_points} auroc={auroc} ({self.result.message})")


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the boolean labels ``positive`` (Mann-Whitney, ties halved)."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUROC needs both positive and negative points")
    from scipy.stats import rankdata  # here: scipy.stats takes 1.7 s to import, and only the AUROC needs it

    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auroc_labels(truth: GroundTruthPoints, points_m: np.ndarray, object_id: int,
                 table_z_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(positive, scored) masks over ``points_m`` for the AUROC of object ``object_id``'s relevancy.

    A point is positive when its nearest ground-truth point (within LABEL_TOLERANCE_M) is the object's and it is
    above the table. Points of other objects are negatives even where they touch it: relevancy must stop at the
    object's border. Only the table at the object's foot (within AUROC_NEGATIVE_FROM_M), where patch-sized
    features blur by design, is left unscored.
    """
    return AurocLabels(truth, points_m, table_z_m).of(object_id)


class AurocLabels:
    """:func:`auroc_labels` of one cloud for many prompts: the cloud is labelled once, each object's foot once
    (a scene's prompts share both; labelling 100k points per prompt was most of a scene check's time)."""

    def __init__(self, truth: GroundTruthPoints, points_m: np.ndarray, table_z_m: float) -> None:
        self.truth, self.points_m = truth, points_m
        self.labels = truth.label(points_m)[0]
        self.above_table = points_m[:, 2] > table_z_m + TABLE_BAND_M
        self._of: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def of(self, object_id: int) -> tuple[np.ndarray, np.ndarray]:
        if object_id not in self._of:
            positive = (self.labels == object_id) & self.above_table
            other_object = (self.labels >= 0) & (self.labels != object_id) & self.above_table
            near = self.truth.distance_to_object(self.points_m, object_id) <= AUROC_NEGATIVE_FROM_M
            self._of[object_id] = positive, ~(~positive & ~other_object & near)
        return self._of[object_id]


def scene_prompts(ground_truth: dict[str, Any], absent: tuple[str, ...] = DEFAULT_ABSENT,
                  whole_objects: bool = False) -> list[tuple[str, int | None, str | None]]:
    """(prompt, object id, part) for every non-body part of every object, plus absent objects (id None).

    A type that occurs more than once is named with its colour ("blue mug handle"); a unique type is asked both
    ways. Objects that share type and colour are ambiguous and skipped. Absent: ``absent`` plus the catalogue's
    types that are not in the scene. ``whole_objects``: each object is also asked whole ("screwdriver", "red
    screwdriver"; part None: any part will do), named the same way.
    """
    objects = ground_truth["objects"]
    type_counts: dict[str, int] = {}
    for obj in objects:
        type_counts[obj["type"]] = type_counts.get(obj["type"], 0) + 1
    named = [(obj.get("color"), obj["type"]) for obj in objects]
    prompts: list[tuple[str, int | None, str | None]] = []
    for obj in objects:
        colour, kind = obj.get("color"), obj["type"]
        parts = [None] if whole_objects else []
        for part in parts + [p for p in obj["parts"] if p != "body"]:
            suffix = f" {part}" if part else ""
            if type_counts[kind] == 1:
                prompts.append((f"{kind}{suffix}", int(obj["id"]), part))
            if colour and named.count((colour, kind)) == 1:
                prompts.append((f"{colour} {kind}{suffix}", int(obj["id"]), part))
    present = set(type_counts)
    prompts += [(name, None, None) for name in tuple(absent) + tuple(t for t in OBJECT_TYPES if t not in present)]
    return prompts


def check_answer(cloud: SceneCloud | PreparedCloud, truth: GroundTruthPoints, prompt: str, object_id: int | None,
                 part: str | None, result: QueryResult, gripper: ParallelJawGripper, table_z_m: float = 0.0,
                 labels: AurocLabels | None = None, cup: SuctionCup | None = None) -> QueryCheck:
    """Judge one answer (see the module docstring); an absent object passes only with a "not found" answer.
    ``labels``: the cloud's :class:`AurocLabels` when many answers on one cloud are judged; ``cup``: the suction
    cup a suction grasp is judged with (default: the query node's)."""
    if object_id is None:
        passed = (not result.success) and "not found" in result.message
        return QueryCheck(prompt, None, None, result, None, None, passed)
    verdict, score = None, None
    if result.relevancy is not None:
        rows_m = cloud.cloud.points_m if isinstance(cloud, PreparedCloud) else cloud.points_m  # relevancy's rows
        labels = labels or AurocLabels(truth, rows_m, table_z_m)
        positive, scored = labels.of(object_id)
        score = auroc(result.relevancy[scored], positive[scored])
    if result.grasp is not None:
        grasp = result.grasp
        verdict = judge_with_tool(truth, grasp.end_effector, grasp.rotation, grasp.position_m, grasp.opening_m,
                                  gripper, cup or SuctionCup(), object_id, part, table_z_m)
    passed = bool(result.success and verdict is not None and verdict.label == "correct"
                  and score is not None and score >= MIN_AUROC)
    return QueryCheck(prompt, object_id, part, result, verdict, score, passed)


def check_scene(cloud: SceneCloud | PreparedCloud, ground_truth: dict[str, Any], text_encoder: TextEncoder,
                params: QueryParams | None = None, absent: tuple[str, ...] = DEFAULT_ABSENT) -> list[QueryCheck]:
    """Ask every prompt of :func:`scene_prompts` on ``cloud`` and judge the answers against ``ground_truth``.
    The cloud is prepared and labelled once for all prompts, as the query node prepares a field once."""
    params = params or QueryParams()
    truth = GroundTruthPoints.from_json(ground_truth)
    table_z = params.grasp.table_z_m if params.grasp.table_z_m is not None else -np.inf
    prepared = prepare_query_cloud(cloud, params)
    labels = AurocLabels(truth, prepared.cloud.points_m, table_z)  # relevancy is over the cloud's rows
    return [check_answer(prepared, truth, prompt, object_id, part, plan_query(prepared, text_encoder, prompt, params),
                         params.grasp.gripper, table_z, labels, params.suction.cup)
            for prompt, object_id, part in scene_prompts(ground_truth, absent)]
