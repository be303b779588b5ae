"""One query end to end: prompt -> relevancy -> object mask -> part region -> ranked grasps.

:func:`plan_query` is a pure function of its arguments (no shared state), so a node may serve concurrent
requests from several threads. It never raises: every failure is answered as ``success=False`` with a message
for the user, and an absent object is reported as "not found" rather than grasped at random.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
from scipy.spatial import cKDTree

from dff_grasp_ros.grasp.planner import Grasp, GraspParams, plan_grasps
from dff_grasp_ros.query.downsample import voxel_representatives
from dff_grasp_ros.query.grouping import GroupingParams, best_region, find_seed, grow_object
from dff_grasp_ros.query.parts import (
    DEFAULT_MIN_PART_CONTRAST,
    DEFAULT_PART_FRACTION,
    DEFAULT_RIVAL_RATIO,
    NEVER_RIVALS,
    find_rival,
    part_logits,
    rank_parts,
)
from dff_grasp_ros.query.prompt import DEFAULT_PART_WORDS, MAX_PROMPT_CHARS, ParsedPrompt, PromptError, parse_prompt
from dff_grasp_ros.query.relevancy import (
    CANONICAL_NEGATIVES,
    DEFAULT_RELEVANCY_THRESHOLD,
    TEMPERATURE,
    relevancy_logits,
    sigmoid,
)
from dff_grasp_ros.scene_cloud import SceneCloud

TextEncoder = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class QueryParams:
    """Everything a query depends on besides the cloud and the prompt."""

    relevancy_threshold: float = DEFAULT_RELEVANCY_THRESHOLD
    part_fraction: float = DEFAULT_PART_FRACTION  # see dff_grasp_ros.query.parts
    min_part_contrast: float = DEFAULT_MIN_PART_CONTRAST
    rival_ratio: float = DEFAULT_RIVAL_RATIO
    temperature: float = TEMPERATURE
    negatives: tuple[str, ...] = CANONICAL_NEGATIVES
    part_words: tuple[str, ...] = DEFAULT_PART_WORDS
    max_prompt_chars: int = MAX_PROMPT_CHARS
    table_band_m: float = 0.005  # points this close above the table (GraspParams.table_z_m) are never an object
    # Grouping and grasping run on one point per voxel of this size: a hand with 10 mm fingers gains nothing
    # from denser points, and a dense fused cloud would cost seconds per query. 0 keeps every point.
    voxel_m: float = 0.003
    grouping: GroupingParams = field(default_factory=GroupingParams)
    grasp: GraspParams = field(default_factory=GraspParams)

    def __post_init__(self) -> None:
        for name in ("relevancy_threshold", "part_fraction"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if not self.negatives:
            raise ValueError("at least one negative phrase is needed")
        if len(self.part_words) < 2:
            raise ValueError("at least two part words are needed: a part is found against the others")

    def with_threshold(self, relevancy_threshold: float) -> QueryParams:
        """These parameters with another threshold; 0 (the service's "unset") keeps the default."""
        return self if relevancy_threshold == 0 else replace(self, relevancy_threshold=float(relevancy_threshold))


@dataclass
class QueryResult:
    """Answer to one query; arrays are per point of the queried cloud."""

    success: bool
    message: str
    prompt: ParsedPrompt | None = None
    relevancy: np.ndarray | None = None  # (N,) object-phrase relevancy in [0, 1]
    object_mask: np.ndarray | None = None  # (N,) bool
    part_relevancy: np.ndarray | None = None  # (N,) part score relative to the object (query.parts), 0 off it
    part_mask: np.ndarray | None = None  # (N,) bool, the chosen part region
    grasp: Grasp | None = None
    candidates: list[Grasp] = field(default_factory=list)  # best first; candidates[0] is grasp
    latency_s: float = 0.0

    @property
    def display_relevancy(self) -> np.ndarray | None:
        """What a cloud shows: the part's relevancy when a part was asked (0 off the object), else the object's."""
        if self.part_relevancy is not None and self.prompt is not None and self.prompt.part_phrase:
            return self.part_relevancy
        return self.relevancy


def plan_query(cloud: SceneCloud, text_encoder: TextEncoder, prompt: str | bytes,
               params: QueryParams | None = None) -> QueryResult:
    """Answer "where and how do I grasp ``prompt``" on ``cloud`` (see the module docstring)."""
    started = time.perf_counter()
    params = params or QueryParams()
    try:
        result = _plan(cloud, text_encoder, prompt, params)
    except PromptError as err:
        result = QueryResult(False, f"bad prompt: {err}")
    except _QueryFailure as failure:
        result = failure.result
    except Exception as err:
        result = QueryResult(False, f"query failed: {type(err).__name__}: {err}")
    result.latency_s = time.perf_counter() - started
    return result


class _QueryFailure(Exception):
    def __init__(self, result: QueryResult) -> None:
        super().__init__(result.message)
        self.result = result


def _plan(cloud: SceneCloud, text_encoder: TextEncoder, prompt: str | bytes, params: QueryParams) -> QueryResult:
    parsed = parse_prompt(prompt, params.part_words, params.max_prompt_chars)
    valid = _valid_rows(cloud)
    if valid.sum() < params.grouping.seed_neighbours:
        raise _QueryFailure(QueryResult(False, f"scene cloud has only {int(valid.sum())} usable points", parsed))
    rows = slice(None) if valid.all() else valid  # a slice, not a mask: no copy of a large clean cloud's features
    points, normals = cloud.points_m[rows].astype(np.float64), cloud.normals[rows].astype(np.float64)
    language, dino = cloud.language[rows], cloud.dino[rows]

    # The object's other part names ("mug body", "mug lid", ...): the asked part is scored against them, and a
    # region one of them claims more clearly is refused (query.parts).
    competitors = [w for w in params.part_words if parsed.part_phrase and w != parsed.part_phrase]
    phrases = ([parsed.object_phrase] + ([parsed.part_query] if parsed.part_phrase else [])
               + [f"{parsed.object_phrase} {w}" for w in competitors] + list(params.negatives))
    embeddings = _encode(text_encoder, phrases, language.shape[1])
    object_emb, negatives = embeddings[0], embeddings[-len(params.negatives):]
    logits = relevancy_logits(language, object_emb, negatives, params.temperature)
    object_relevancy = sigmoid(logits)
    result = QueryResult(False, "", parsed, relevancy=_scatter(object_relevancy, valid))

    # Relevancy above is per point; the geometry below works on voxel representatives and is spread back.
    reps, inverse = voxel_representatives(points, params.voxel_m)
    tree = cKDTree(points[reps])
    _, seed_points = find_seed(tree, logits[reps], params.grouping.seed_neighbours)
    best = float(object_relevancy[reps][seed_points].mean())
    if best < params.relevancy_threshold:
        result.message = (f"'{parsed.object_phrase}' not found in the scene (best relevancy {best:.2f} is below "
                          f"the threshold {params.relevancy_threshold:.2f})")
        return result
    seed_points = seed_points[object_relevancy[reps][seed_points] >= params.relevancy_threshold]
    object_mask = grow_object(tree, dino[reps], seed_points, params.grouping)
    if params.grasp.table_z_m is not None:
        # Patch-sized teacher features smear an object's look onto the table around it; the table is not the object.
        object_mask &= points[reps][:, 2] > params.grasp.table_z_m + params.table_band_m
    result.object_mask = _scatter(object_mask[inverse], valid)

    if parsed.part_phrase:
        part_embs = embeddings[1:2 + len(competitors)]  # the asked part, then its competitors
        eligible = np.array([w not in NEVER_RIVALS for w in competitors])
        located = _locate_part(points[reps], language, part_embs, eligible, object_mask, reps, inverse, params)
        relative, target, contrast, rival = located
        result.part_relevancy = _scatter(relative, valid)
        result.part_mask = _scatter(target[inverse], valid)
        if not target.any():
            result.message = (f"found the {parsed.object_phrase}, but no '{parsed.part_phrase}' on it (no part of it "
                              f"stands out: contrast {contrast:.2f} < {params.min_part_contrast:.2f})")
            return result
        if rival is not None:
            result.message = (f"found the {parsed.object_phrase}, but no '{parsed.part_phrase}' on it: its most "
                              f"'{parsed.part_phrase}'-like region is more clearly its '{competitors[rival - 1]}'")
            return result
        # The hand may touch the part region, whatever on the object is more part-like than the object's average,
        # and the object within a finger's width of the region: blur can leave a part's lower sides below average
        # (a screwdriver handle scored as a handle only on top), yet a grasp must reach them. Never the rest of
        # the object: a "knife handle" grasp must not pinch the blade.
        near_region = _within(tree, target, params.grasp.gripper.finger_width_m)
        contacts = target | (object_mask & ((relative[reps] > 0.0) | near_region))
        what, held_relevancy = f"the {parsed.object_phrase}'s {parsed.part_phrase}", relative[reps]
    else:
        target, contacts, what = object_mask, object_mask, f"the {parsed.object_phrase}"
        held_relevancy = np.where(object_mask, object_relevancy[reps], 0.0)

    grasps = plan_grasps(points[reps], normals[reps], held_relevancy, target, contacts, object_mask, params.grasp)
    if not grasps:
        result.message = (f"found {what} ({int(target.sum())} points) but no collision-free grasp within the "
                          f"gripper's {params.grasp.gripper.max_opening_m:.3f} m opening")
        return result
    result.success, result.grasp, result.candidates = True, grasps[0], grasps
    result.message = f"grasp on {what}: score {grasps[0].score:.2f}, width {grasps[0].width_m:.3f} m"
    return result


def _locate_part(rep_points: np.ndarray, language: np.ndarray, part_embs: np.ndarray, eligible: np.ndarray,
                 object_mask: np.ndarray, reps: np.ndarray, inverse: np.ndarray, params: QueryParams
                 ) -> tuple[np.ndarray, np.ndarray, float, int | None]:
    """The asked part (row 0 of ``part_embs``, the object's other part names after it) on the object (query.parts).

    ``eligible`` masks which of the other names may refuse the part as its rival.

    Returns the relative part score per valid point, the part region on the representatives, the part's
    contrast, and the column of a rival part name (None when there is none).
    """
    on_object = object_mask[inverse]
    ranking = rank_parts(part_logits(language[on_object], part_embs, params.temperature), params.part_fraction,
                         params.min_part_contrast)
    relative, candidates = np.zeros(len(language)), np.zeros(len(language), dtype=bool)
    relative[on_object], candidates[on_object] = ranking.relative[:, 0], ranking.candidates[:, 0]
    target = best_region(rep_points, relative[reps], candidates[reps], params.grouping.neighbour_radius_m,
                         baseline=params.part_fraction)
    rival = find_rival(ranking, target[inverse][on_object], eligible, params.rival_ratio)
    return relative, target, float(ranking.contrast[0]), rival


def _within(tree: cKDTree, region: np.ndarray, distance_m: float) -> np.ndarray:
    """Mask of the tree's points within ``distance_m`` of any point of ``region``."""
    near = np.zeros(tree.n, dtype=bool)
    if region.any():
        near[np.unique(np.concatenate([np.asarray(x, dtype=np.int64) for x in
                                       tree.query_ball_point(tree.data[region], r=distance_m)]))] = True
    return near


def _valid_rows(cloud: SceneCloud) -> np.ndarray:
    """Rows with finite points, normals and features; NaNs from a bad fusion must not poison the whole query."""
    valid = np.isfinite(cloud.points_m).all(axis=1) & np.isfinite(cloud.normals).all(axis=1)
    valid &= np.isfinite(cloud.language).all(axis=1) & np.isfinite(cloud.dino).all(axis=1)
    return valid


def _encode(text_encoder: TextEncoder, phrases: list[str], dim: int) -> np.ndarray:
    try:
        embeddings = np.asarray(text_encoder(phrases), dtype=np.float32)
    except Exception as err:
        raise _QueryFailure(QueryResult(False, f"text encoder failed: {type(err).__name__}: {err}")) from err
    if embeddings.shape != (len(phrases), dim) or not np.isfinite(embeddings).all():
        raise _QueryFailure(QueryResult(False, f"text encoder returned shape {embeddings.shape} for {len(phrases)} "
                                               f"phrases; the scene's language features have {dim} dimensions"))
    return embeddings


def _scatter(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Values of the valid rows placed back into an array over all rows (0 / False elsewhere)."""
    out = np.zeros(len(valid), dtype=np.float32 if values.dtype != bool else bool)
    out[valid] = values
    return out
