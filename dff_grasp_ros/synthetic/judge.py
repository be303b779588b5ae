"""Checks of query answers against a scene's ground truth (``ground_truth.json`` of ``sim render``).

:func:`check_scene` asks every object-with-part prompt a scene supports plus prompts for absent objects, and
checks each answer: the grasp's contacts lie on the asked part of the asked object, the hand's fingers and palm
touch no ground-truth point and stay above the table, and the object phrase's relevancy separates the object's
points from the rest (AUROC). It takes any SceneCloud, so the same check runs on a trained field's cloud and on
:func:`scene_cloud_from_ground_truth` (ideal features, for testing the query alone).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import rankdata

from dff_grasp_ros.grasp.collision import colliding_points
from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.query.pipeline import QueryParams, QueryResult, TextEncoder, plan_query
from dff_grasp_ros.scene_cloud import SceneCloud
from dff_grasp_ros.teachers.vocabulary import OBJECT_TYPES, embed_label

MIN_AUROC = 0.95
LABEL_TOLERANCE_M = 0.015  # a cloud point belongs to the nearest ground-truth point's object within this distance
AUROC_NEGATIVE_FROM_M = 0.03  # table points nearer the object than this are not scored (see auroc_labels)
# Ground-truth density for judging grasps: a few hundred points per part leave gaps a finger fits through on
# large flat parts, so a colliding grasp could pass; this many spaces points ~2 mm apart on a spatula head and
# ~6 mm on the largest part (the pan's body), less than a finger's 10 x 20 mm section.
EVALUATION_POINTS_PER_PART = 3000
TABLE_BAND_M = 0.003
DEFAULT_ABSENT = ("banana",)


@dataclass(frozen=True)
class GroundTruthPoints:
    """All ground-truth surface points with their object id and part name."""

    points_m: np.ndarray  # (M, 3)
    object_id: np.ndarray  # (M,) int
    part: np.ndarray  # (M,) str

    @staticmethod
    def from_json(ground_truth: dict[str, Any]) -> "GroundTruthPoints":
        points, ids, parts = [], [], []
        for obj in ground_truth["objects"]:
            for name, part in obj["parts"].items():
                part_points = np.asarray(part["points"], dtype=np.float64).reshape(-1, 3)
                points.append(part_points)
                ids += [int(obj["id"])] * len(part_points)
                parts += [name] * len(part_points)
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
class QueryCheck:
    """Outcome of one prompt on one scene."""

    prompt: str
    object_id: int | None  # None: the prompt names an absent object
    part: str | None
    result: QueryResult
    on_part: bool
    colliding_points: int
    auroc: float | None
    passed: bool

    def describe(self) -> str:
        auroc = "n/a" if self.auroc is None else f"{self.auroc:.3f}"
        return (f"{self.prompt!r}: passed={self.passed} success={self.result.success} on_part={self.on_part} "
                f"collisions={self.colliding_points} auroc={auroc} ({self.result.message})")


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the boolean labels ``positive`` (Mann-Whitney, ties halved)."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUROC needs both positive and negative points")
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
    labels, _ = truth.label(points_m)
    above_table = points_m[:, 2] > table_z_m + TABLE_BAND_M
    positive = (labels == object_id) & above_table
    other_object = (labels >= 0) & (labels != object_id) & above_table
    foot = ~positive & ~other_object & (truth.distance_to_object(points_m, object_id) <= AUROC_NEGATIVE_FROM_M)
    return positive, ~foot


def scene_prompts(ground_truth: dict[str, Any], absent: tuple[str, ...] = DEFAULT_ABSENT
                  ) -> list[tuple[str, int | None, str | None]]:
    """(prompt, object id, part) for every non-body part of every object, plus absent objects (id None).

    A type that occurs more than once is named with its colour ("blue mug handle"); a unique type is asked both
    ways. Objects that share type and colour are ambiguous and skipped. Absent: ``absent`` plus the catalogue's
    types that are not in the scene.
    """
    objects = ground_truth["objects"]
    type_counts: dict[str, int] = {}
    for obj in objects:
        type_counts[obj["type"]] = type_counts.get(obj["type"], 0) + 1
    named = [(obj.get("color"), obj["type"]) for obj in objects]
    prompts: list[tuple[str, int | None, str | None]] = []
    for obj in objects:
        colour, kind = obj.get("color"), obj["type"]
        for part in obj["parts"]:
            if part == "body":
                continue
            if type_counts[kind] == 1:
                prompts.append((f"{kind} {part}", int(obj["id"]), part))
            if colour and named.count((colour, kind)) == 1:
                prompts.append((f"{colour} {kind} {part}", int(obj["id"]), part))
    present = set(type_counts)
    prompts += [(name, None, None) for name in tuple(absent) + tuple(t for t in OBJECT_TYPES if t not in present)]
    return prompts


def check_answer(cloud: SceneCloud, truth: GroundTruthPoints, prompt: str, object_id: int | None, part: str | None,
                 result: QueryResult, gripper: ParallelJawGripper, table_z_m: float = 0.0) -> QueryCheck:
    """Judge one answer (see the module docstring); an absent object passes only with a "not found" answer."""
    if object_id is None:
        passed = (not result.success) and "not found" in result.message
        return QueryCheck(prompt, None, None, result, False, 0, None, passed)
    on_part, collisions, score = False, -1, None
    if result.relevancy is not None:
        positive, scored = auroc_labels(truth, cloud.points_m, object_id, table_z_m)
        score = auroc(result.relevancy[scored], positive[scored])
    if result.grasp is not None:
        grasp = result.grasp
        contact_ids, contact_parts = truth.label(grasp.contacts_m)
        on_part = bool(np.all(contact_ids == object_id) and (part is None or np.all(contact_parts == part)))
        collisions = int(colliding_points(gripper, grasp.rotation, grasp.position_m, grasp.opening_m,
                                          truth.points_m).sum())
        if gripper.lowest_point_z_m(grasp.rotation, grasp.position_m, grasp.opening_m) < table_z_m:
            collisions += 1  # the table counts as one more obstacle
    passed = bool(result.success and on_part and collisions == 0 and score is not None and score >= MIN_AUROC)
    return QueryCheck(prompt, object_id, part, result, on_part, collisions, score, passed)


def check_scene(cloud: SceneCloud, ground_truth: dict[str, Any], text_encoder: TextEncoder,
                params: QueryParams | None = None, absent: tuple[str, ...] = DEFAULT_ABSENT) -> list[QueryCheck]:
    """Ask every prompt of :func:`scene_prompts` on ``cloud`` and judge the answers against ``ground_truth``."""
    params = params or QueryParams()
    truth = GroundTruthPoints.from_json(ground_truth)
    table_z = params.grasp.table_z_m if params.grasp.table_z_m is not None else -np.inf
    return [check_answer(cloud, truth, prompt, object_id, part, plan_query(cloud, text_encoder, prompt, params),
                         params.grasp.gripper, table_z)
            for prompt, object_id, part in scene_prompts(ground_truth, absent)]


def scene_cloud_from_ground_truth(ground_truth: dict[str, Any], seed: int = 0, dino_dim: int = 32,
                                  part_offset: float = 0.3, table_spacing_m: float = 0.005,
                                  table_margin_m: float = 0.08) -> SceneCloud:
    """An ideal SceneCloud of a ground truth: its surface points plus a table grid at z = 0.

    Language features are the synthetic teacher's labels (:func:`embed_label`); DINO-like features are a random
    unit vector per object instance plus a smaller random offset per part name (parts of one object stay
    similar, different objects are unrelated, as DINO behaves). Normals are estimated by open3d and turned away
    from their part's centroid.
    """
    import open3d as o3d  # heavy; only this builder needs it

    rng = np.random.default_rng(seed)
    part_offsets: dict[str, np.ndarray] = {}
    points, normals, language, dino, rgb = [], [], [], [], []
    for obj in ground_truth["objects"]:
        instance = _unit(rng.standard_normal(dino_dim))
        for name, part in obj["parts"].items():
            part_points = np.asarray(part["points"], dtype=np.float64).reshape(-1, 3)
            if name not in part_offsets:
                part_offsets[name] = _unit(rng.standard_normal(dino_dim))
            pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(part_points))
            pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(12))
            part_normals = np.asarray(pcd.normals)
            outward = np.sign(np.einsum("ij,ij->i", part_normals, part_points - part_points.mean(axis=0)))
            points.append(part_points)
            normals.append(part_normals * np.where(outward == 0, 1.0, outward)[:, None])
            language.append(np.tile(embed_label(obj["type"], obj.get("color"), name), (len(part_points), 1)))
            dino.append(np.tile(_unit(instance + part_offset * part_offsets[name]), (len(part_points), 1)))
            rgb.append(np.tile(rng.integers(0, 256, 3), (len(part_points), 1)))
    object_points = np.vstack(points)
    table = _table_grid(object_points, table_spacing_m, table_margin_m)
    points.append(table)
    normals.append(np.tile([0.0, 0.0, 1.0], (len(table), 1)))
    language.append(np.tile(embed_label(None), (len(table), 1)))
    dino.append(np.tile(_unit(rng.standard_normal(dino_dim)), (len(table), 1)))
    rgb.append(np.full((len(table), 3), 200))
    return SceneCloud(points_m=np.vstack(points).astype(np.float32), normals=np.vstack(normals).astype(np.float32),
                      rgb=np.vstack(rgb).astype(np.uint8), language=np.vstack(language).astype(np.float32),
                      dino=np.vstack(dino).astype(np.float32))


def _table_grid(object_points: np.ndarray, spacing_m: float, margin_m: float) -> np.ndarray:
    """Table points at z = 0 around the objects, leaving out what the objects stand on (unseen by cameras)."""
    low, high = object_points[:, :2].min(axis=0) - margin_m, object_points[:, :2].max(axis=0) + margin_m
    xs, ys = np.arange(low[0], high[0], spacing_m), np.arange(low[1], high[1], spacing_m)
    grid = np.column_stack([np.repeat(xs, len(ys)), np.tile(ys, len(xs)), np.zeros(len(xs) * len(ys))])
    distance, _ = cKDTree(object_points).query(grid)
    return grid[distance > 2 * spacing_m]


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)
