"""One query end to end: prompt -> relevancy -> object instances -> attribute -> part region -> ranked grasps.

:func:`plan_query` is a pure function of its arguments (no shared state), so a node may serve concurrent
requests from several threads. It never raises: every failure is answered as ``success=False`` with a message
for the user, and an absent object is reported as "not found" rather than grasped at random.

**What is asked, against what else it could be.** Nothing is decided by checking a list of what a scene holds;
every decision compares the asked phrase with alternatives on the points of the scene:

* the object's *name* against the canonical negatives (LERF relevancy): below the threshold, "not found";
* a name of several words whose shorter start the scene matches better ("mug drop table": "mug" beats the whole
  phrase) is that shorter name, and the rest is read as a part phrase;
* each *instance* of the name (seeded at the most relevant point, grown over DINO-similar neighbours, then seeded
  again outside the instances found so far; cut to where the name is relevant when most of it is not, as when
  DINO features blur across two touching objects) compared by its asked *attribute* with the other listed attribute
  words ("green mug" against "red mug", "blue mug", ... on each of the instance's points): the instance where the
  asked one wins most points (or, on two touching objects grown into one, its region where it wins at least a
  quarter of them), or "not found: no green mug (saw: red mug, blue mug)"; a leading word the list lacks that the
  scene does not confirm ("cyan mug": "mug" alone fits better) is compared in the same place;
* the *part* against the object's other part names, ranked within the instance (:mod:`dff_grasp_ros.query.parts`):
  a part phrase that names nothing on it is refused, and so is one that is no part word but fits another object
  of the scene best as its name ("screwdriver;knife" next to a knife).

The attribute words and part words are query parameters (the alternatives to compare with), so the same
decisions hold with an open-vocabulary teacher such as CLIP.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

import numpy as np

from dff_grasp_ros.geometry import unit_rows
from dff_grasp_ros.grasp.planner import TOO_WIDE, Grasp, GraspList, GraspParams, plan_grasps
from dff_grasp_ros.grasp.push import PushParams, PushPlan, plan_push
from dff_grasp_ros.grasp.suction import SuctionParams, plan_suction
from dff_grasp_ros.grasp.suction_cup import END_EFFECTORS, PARALLEL_JAW, SUCTION
from dff_grasp_ros.query.grouping import GroupingParams, best_region
from dff_grasp_ros.query.part_margins import DEFAULT_MIN_PART_CONTRAST, DEFAULT_MIN_PART_TOP
from dff_grasp_ros.query.parts import (
    DEFAULT_PART_FRACTION,
    DEFAULT_RIVAL_RATIO,
    NEVER_RIVALS,
    PartRanking,
    find_rival,
    part_logits,
    rank_parts,
)
from dff_grasp_ros.query.prepared import PreparationSettings, PreparedCloud, prepare_cloud
from dff_grasp_ros.query.prompt import (
    DEFAULT_ATTRIBUTE_WORDS,
    DEFAULT_PART_WORDS,
    MAX_PROMPT_CHARS,
    NamedObject,
    ParsedPrompt,
    PromptError,
    name_endings,
    name_object,
    name_prefixes,
    parse_prompt,
)
from dff_grasp_ros.query.relevancy import (
    CANONICAL_NEGATIVES,
    DEFAULT_RELEVANCY_THRESHOLD,
    TEMPERATURE,
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
    min_part_top: float = DEFAULT_MIN_PART_TOP
    rival_ratio: float = DEFAULT_RIVAL_RATIO
    temperature: float = TEMPERATURE
    negatives: tuple[str, ...] = CANONICAL_NEGATIVES
    part_words: tuple[str, ...] = DEFAULT_PART_WORDS
    max_prompt_chars: int = MAX_PROMPT_CHARS
    table_band_m: float = 0.005  # points this close above the table (GraspParams.table_z_m) are never an object
    # Grouping and grasping run on one point per voxel of this size: a hand with 10 mm fingers gains nothing
    # from denser points, and a dense fused cloud would cost seconds per query. 0 keeps every point.
    voxel_m: float = 0.003
    # Attribute words compared with each other on every instance of the asked name (see the module docstring).
    attribute_words: tuple[str, ...] = DEFAULT_ATTRIBUTE_WORDS
    # Alternatives whose text embedding is at least this close to the asked phrase's are the same words to the
    # teacher ("grey" and "gray" to the synthetic one) and cannot refuse it.
    same_phrase_cosine: float = 0.99
    # An instance of which less than this share of points is relevant to the asked name (at the threshold), or
    # matches the asked attribute best, is two touching objects grown into one: only its connected region where
    # the name is relevant, then where the attribute wins, is kept. Where the attribute wins on less than one
    # minus this share of its points, the instance is not of the asked attribute at all.
    mixed_instance_share: float = 0.75
    max_instances: int = 8  # instances of the asked name looked at (seed and grow, then seed again outside)
    grouping: GroupingParams = field(default_factory=GroupingParams)
    grasp: GraspParams = field(default_factory=GraspParams)
    # The cell's tools, in the order they are tried: the first that has a grasp on the asked object answers.
    end_effectors: tuple[str, ...] = (PARALLEL_JAW,)
    suction: SuctionParams = field(default_factory=SuctionParams)
    # No tool has a grasp on the object: offer a push with the jaws' closed fingers that would free it (away from a
    # tote wall or a neighbour); None never offers one.
    push: PushParams | None = field(default_factory=PushParams)

    def __post_init__(self) -> None:
        if (not self.end_effectors or len(set(self.end_effectors)) != len(self.end_effectors)
                or any(e not in END_EFFECTORS for e in self.end_effectors)):
            raise ValueError(f"end_effectors must name each of {', '.join(END_EFFECTORS)} at most once, and at "
                             f"least one, got {list(self.end_effectors)}")
        for name in ("relevancy_threshold", "part_fraction"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if not self.negatives:
            raise ValueError("at least one negative phrase is needed")
        if len(self.part_words) < 2:
            raise ValueError("at least two part words are needed: a part is found against the others")
        if self.max_instances < 1:
            raise ValueError(f"max_instances must be at least 1, got {self.max_instances}")
        if not 0.5 <= self.mixed_instance_share <= 1.0:  # below one half "most of it" means nothing
            raise ValueError(f"mixed_instance_share must be in [0.5, 1], got {self.mixed_instance_share}")

    @property
    def preparation(self) -> PreparationSettings:
        """The settings a prepared cloud for these parameters is built with."""
        return PreparationSettings(self.voxel_m, self.grouping, self.grasp.table_z_m, self.table_band_m,
                                   self.grasp.table_clearance_m)

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
    # How clearly the asked part stands out on the object (query.parts, in logits against the other part names):
    # at its most part-like points (``min_part_top``), and there over the object's mean (``min_part_contrast``).
    part_top: float | None = None
    part_contrast: float | None = None
    grasp: Grasp | None = None
    candidates: list[Grasp] = field(default_factory=list)  # best first; candidates[0] is grasp
    latency_s: float = 0.0
    # No grasp was free, but pushing the object away from what blocks it would free it (success stays false).
    push: PushPlan | None = None

    @property
    def display_relevancy(self) -> np.ndarray | None:
        """What a cloud shows: the part's relevancy when a part was asked (0 off the object), else the object's."""
        if self.part_relevancy is not None and self.prompt is not None and self.prompt.part_phrase:
            return self.part_relevancy
        return self.relevancy


def prepare_query_cloud(cloud: SceneCloud | PreparedCloud, params: QueryParams | None = None) -> PreparedCloud:
    """``cloud`` prepared for queries with ``params`` (returned as is when it already is)."""
    params = params or QueryParams()
    if isinstance(cloud, PreparedCloud):
        if cloud.settings == params.preparation:
            return cloud
        cloud = cloud.cloud
    return prepare_cloud(cloud, params.preparation)


def plan_query(cloud: SceneCloud | PreparedCloud, text_encoder: TextEncoder, prompt: str | bytes,
               params: QueryParams | None = None) -> QueryResult:
    """Answer "where and how do I grasp ``prompt``" on ``cloud`` (see the module docstring).

    Pass a :class:`PreparedCloud` (:func:`prepare_query_cloud`, once per field) to answer fast; a plain
    SceneCloud is prepared first, each call.
    """
    started = time.perf_counter()
    params = params or QueryParams()
    try:
        result = _plan(prepare_query_cloud(cloud, params), text_encoder, prompt, params)
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


def _plan(prepared: PreparedCloud, text_encoder: TextEncoder, prompt: str | bytes,
          params: QueryParams) -> QueryResult:
    parsed = parse_prompt(prompt, params.part_words, params.max_prompt_chars, params.attribute_words)
    if prepared.valid_count < params.grouping.seed_neighbours:
        raise _QueryFailure(QueryResult(False, f"scene cloud has only {prepared.valid_count} usable points", parsed))
    dim = prepared.language.shape[1]
    negatives = _encode(text_encoder, list(params.negatives), dim)
    parsed = _split_name(prepared, text_encoder, parsed, negatives, params)
    named = _read_modifier(prepared, text_encoder, name_object(parsed.object_phrase, params.attribute_words),
                           negatives, params)
    object_emb, name_emb = _encode(text_encoder, [parsed.object_phrase, named.name], dim)
    if named.attributes:
        logits = _relevancy_logits(prepared.language, np.stack([object_emb, name_emb]), negatives,
                                   params.temperature)
    else:  # the name is the object phrase: one row serves both
        logits = np.repeat(_relevancy_logits(prepared.language, object_emb[None], negatives, params.temperature),
                           2, axis=0)
    object_relevancy = sigmoid(logits[0])
    result = QueryResult(False, "", parsed, relevancy=prepared.scatter(object_relevancy))
    if len(prepared.points_m) == 0:
        result.message = f"'{parsed.object_phrase}' not found in the scene (no point stands above the table)"
        return result

    finder = _InstanceFinder(prepared, logits[1][prepared.scene_rows], _background_level(prepared, logits[1]),
                             params)
    if named.attributes:
        instances, seen = _instances_with_attribute(prepared, finder, named, object_emb, text_encoder, params)
        if finder.found == 0:
            result.message = _not_found(named.phrase, finder, params)
            return result
        if not instances:
            result.message = f"not found: no {named.phrase} (saw: {', '.join(dict.fromkeys(seen))})"
            return result
    else:
        instances = ((mask, mask) for mask in finder)

    part_embs, competitors = None, []
    if parsed.part_phrase:
        # The object's other part names ("mug body", "mug lid", ...): the asked part is scored against them, and a
        # region one of them claims more clearly is refused (query.parts).
        competitors = [w for w in params.part_words if w != parsed.part_phrase]
        part_embs = _encode(text_encoder, [parsed.part_query] + [f"{parsed.object_phrase} {w}" for w in competitors],
                            dim)
    named_elsewhere = None
    if parsed.part_phrase and parsed.part_phrase not in params.part_words:
        named_elsewhere = _where_a_name_fits(prepared, text_encoder, parsed.part_phrase, negatives, params)
    held_object_relevancy = object_relevancy[prepared.scene_rows]
    first_failure: QueryResult | None = None
    for object_mask, whole_instance in instances:
        answer = _answer_instance(prepared, result, object_mask, held_object_relevancy, part_embs, competitors,
                                  params, None if whole_instance is object_mask else whole_instance, named_elsewhere)
        if answer.success:
            return answer
        if not _may_try_another(answer):
            # A later instance refused for another reason (a fringe "without the part") must not hide why the
            # first, most relevant one was: its part was found, but could not be grasped.
            return first_failure or answer
        first_failure = first_failure or answer
    if first_failure is not None:
        return first_failure
    result.message = _not_found(parsed.object_phrase, finder, params)
    return result


def _where_a_name_fits(prepared: PreparedCloud, text_encoder: TextEncoder, phrase: str, negatives: np.ndarray,
                       params: QueryParams) -> np.ndarray | None:
    """The seed points (scene indices) where ``phrase``, read as an object's name, fits best, when it names an
    object there (relevancy at the threshold, better than the background); else None."""
    logits = _relevancy_logits(prepared.language, _encode(text_encoder, [phrase], prepared.language.shape[1]),
                               negatives, params.temperature)[0]
    seed, _ = _InstanceFinder(prepared, logits[prepared.scene_rows], _background_level(prepared, logits),
                              params).seed()
    return seed if len(seed) else None


def _not_found(phrase: str, finder: _InstanceFinder, params: QueryParams) -> str:
    if finder.best_relevancy >= params.relevancy_threshold:
        return (f"'{phrase}' not found in the scene (it fits the surface the objects stand on as well as "
                f"anything on it)")
    return (f"'{phrase}' not found in the scene (best relevancy {finder.best_relevancy:.2f} is below the "
            f"threshold {params.relevancy_threshold:.2f})")


def _background_level(prepared: PreparedCloud, logits: np.ndarray) -> float:
    """Median of per-valid-row ``logits`` over the background (the surface the objects stand on); -inf without
    one. A phrase that fits no object better than this names the background, not an object."""
    if len(prepared.background_rows) == 0:
        return -np.inf
    return float(np.median(logits[prepared.background_rows]))


_NO_GRASP = "no collision-free grasp"
SUCTION_TRIED = "mm suction cup"  # in a refusal for which the cup was tried too
_SEEN_ONLY = "obstacles: the points seen and the table plane"


def _may_try_another(answer: QueryResult) -> bool:
    """Whether another instance of the asked object may be tried: only when this one has no free grasp."""
    return _NO_GRASP in answer.message


class _InstanceFinder:
    """Instances of the asked name, most relevant first: seed, grow, then seed again outside what was grown.

    The first instance is the one the most relevant seed grows into. Later ones must be instances of the name
    as a whole (mean relevancy over their points at the threshold or above, at least ``seed_neighbours``
    points), not a blurred fringe left beside an earlier one. Every seed must fit the name better than the
    background does (``background_logit``).
    """

    def __init__(self, prepared: PreparedCloud, name_logits: np.ndarray, background_logit: float,
                 params: QueryParams) -> None:
        self.prepared, self.params, self.background_logit = prepared, params, background_logit
        self.logits, self.relevancy = name_logits, sigmoid(name_logits)
        self.excluded = np.zeros(len(name_logits), dtype=bool)
        self.found, self.best_relevancy = 0, 0.0

    def seed(self, excluded: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """The most relevant seed's points outside ``excluded`` and their mean relevancy; no points (empty) when
        the seed does not name an object: below the threshold, or fitting the name no better than the background."""
        _, seed_points = self.prepared.grouping.find_seed(self.logits, excluded)
        best = float(self.relevancy[seed_points].mean())
        if best < self.params.relevancy_threshold or self.logits[seed_points].mean() <= self.background_logit:
            return seed_points[:0], best
        return seed_points, best

    def __iter__(self) -> Iterator[np.ndarray]:
        grouping, threshold = self.prepared.grouping, self.params.relevancy_threshold
        for attempt in range(self.params.max_instances):
            if self.excluded.all():
                return
            seed_points, best = self.seed(self.excluded if attempt else None)
            if attempt == 0:
                self.best_relevancy = best
            if len(seed_points) == 0:
                return
            seed_relevancy = self.relevancy[seed_points]
            mask = grouping.grow(seed_points[seed_relevancy >= threshold], allowed=~self.excluded)
            self.excluded |= mask
            self.excluded[seed_points] = True
            if attempt and (mask.sum() < self.params.grouping.seed_neighbours
                            or self.relevancy[mask].mean() < threshold):
                continue
            self.found += 1
            yield self._where_name_is_relevant(mask)

    def _where_name_is_relevant(self, mask: np.ndarray) -> np.ndarray:
        """``mask``, or its connected region where the name is relevant when most of it is not.

        DINO features blur across touching objects on a trained field, so a screwdriver can grow over the knife
        it lies against; the knife's points are then not relevant to "screwdriver" and must not be held (they
        become obstacles) nor decide its colour. An object whose parts are less relevant than its whole (a
        mug's handle to "mug") stays whole: most of its points still are.
        """
        threshold = self.params.relevancy_threshold
        relevant = mask & (self.relevancy >= threshold)
        if relevant.sum() >= self.params.mixed_instance_share * mask.sum():
            return mask
        return best_region(self.prepared.points_m, self.relevancy, relevant,
                           self.params.grouping.neighbour_radius_m, baseline=threshold)


def _instances_with_attribute(prepared: PreparedCloud, finder: _InstanceFinder, named: NamedObject,
                              object_emb: np.ndarray, text_encoder: TextEncoder, params: QueryParams
                              ) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[str]]:
    """The instances on which the asked attribute beats every alternative, clearest first, each as (the mask to
    grasp, the instance it was cut from), and what each instance was seen as (its winning phrases).

    An instance matches when the asked phrase wins most of its points (``mixed_instance_share``) and their mean;
    when it wins between a quarter and that share, the instance is two touching objects grown into one and its
    connected region where the asked phrase wins is judged alone; on fewer points it does not match.
    """
    alternatives = named.alternatives(params.attribute_words)
    asked = unit_rows(object_emb[None])
    others = unit_rows(_encode(text_encoder, alternatives, prepared.language.shape[1])) if alternatives else asked[:0]
    distinct = others @ asked[0] < params.same_phrase_cosine
    phrases = [named.phrase] + [a for a, keep in zip(alternatives, distinct) if keep]
    embeddings = np.vstack([asked, others[distinct]])
    matching: list[tuple[float, np.ndarray, np.ndarray]] = []
    seen: list[str] = []
    least_share = 1.0 - params.mixed_instance_share
    # Several asked attributes ("blue yellow knife") describe one object showing them all, never a region of an
    # instance: where such a phrase wins only part of one, that part is the border of two objects or a part no
    # asked colour is on (a knife's grey blade won 166 of the yellow knife's 737 points, and was grasped).
    may_cut = len([a for a in named.attributes if a in params.attribute_words]) < 2
    for mask in finder:
        if len(phrases) == 1:  # no alternative to compare with
            matching.append((np.inf, mask, mask))
            continue
        instance = mask
        similarity = prepared.language[np.flatnonzero(prepared.on_valid(mask))] @ embeddings.T
        point_wins = np.bincount(similarity.argmax(axis=1), minlength=len(phrases)) / len(similarity)
        mean = similarity.mean(axis=0)
        # What the instance is seen as when it does not match: each other phrase that wins a good share of its
        # points (two touching objects grown into one: a green and a yellow screwdriver), else the one that fits
        # its points best on average.
        rivals = [int(i) for i in np.argsort(-point_wins) if i and point_wins[i] >= least_share]
        seen_as = [phrases[i] for i in rivals or [1 + int(np.argmax(mean[1:]))]]
        if point_wins[0] < least_share:
            # Too few points for an object of the asked kind here, even where the asked phrase wins the mean:
            # "green yellow screwdriver" on those two screwdrivers wins only along their border.
            seen.extend(seen_as)
            continue
        if point_wins[0] < params.mixed_instance_share:
            if not may_cut:
                seen.extend(seen_as)
                continue
            mask = _where_attribute_wins(prepared, mask, embeddings, params)
            if not mask.any():
                # No region of it is the asked phrase's (a remnant of a picked red mug by a tote wall, asked for a
                # blue one): the empty cut's mean was NaN, passed as a match: "found the blue mug (0 points)".
                seen.extend(seen_as)
                continue
            similarity = prepared.language[np.flatnonzero(prepared.on_valid(mask))] @ embeddings.T
            mean = similarity.mean(axis=0)
        # The asked attribute must win outright: a tie (a colour no listed word names) is no evidence for it.
        margin = float(mean[0] - mean[1:].max())
        if margin <= 0:
            seen.extend(seen_as)
            continue
        seen.append(phrases[0])
        matching.append((margin, mask, instance))
    matching.sort(key=lambda item: -item[0])
    return [(mask, instance) for _, mask, instance in matching], seen


def _where_attribute_wins(prepared: PreparedCloud, mask: np.ndarray, embeddings: np.ndarray,
                          params: QueryParams) -> np.ndarray:
    """The largest connected region of ``mask`` whose points match the asked phrase (row 0) best."""
    index = np.flatnonzero(mask)
    wins = (prepared.language[prepared.scene_rows[index]] @ embeddings.T).argmax(axis=1) == 0
    candidate = np.zeros(len(mask), dtype=bool)
    candidate[index[wins]] = True
    return best_region(prepared.points_m, candidate.astype(np.float64), candidate,
                       params.grouping.neighbour_radius_m, baseline=0.0)


def _answer_instance(prepared: PreparedCloud, template: QueryResult, object_mask: np.ndarray,
                     object_relevancy: np.ndarray, part_embs: np.ndarray | None, competitors: list[str],
                     params: QueryParams, cut_from: np.ndarray | None = None,
                     named_elsewhere: np.ndarray | None = None) -> QueryResult:
    """The answer on one instance (``object_mask`` over scene points): its part, then grasps.

    ``cut_from``: the instance ``object_mask`` was cut from where the asked attribute wins (two touching objects
    grown into one); the part found on the cut must be part-like on that whole instance too.
    ``named_elsewhere``: where a part phrase that is no part word fits best as an object's name; outside this
    instance, the phrase names another object, and no region of this one is that part.
    """
    parsed = template.prompt
    result = replace(template, object_mask=prepared.scatter(prepared.on_valid(object_mask)))
    if named_elsewhere is not None and object_mask[named_elsewhere].mean() < 0.5:
        # On a trained field "screwdriver;knife" found its part where the knife's features blur into the
        # screwdriver's side, and grasped the screwdriver there, against the knife.
        result.message = (f"found the {parsed.object_phrase}, but no '{parsed.part_phrase}' on it: "
                          f"'{parsed.part_phrase}' names another object in the scene")
        return result
    if part_embs is not None:
        eligible = np.array([w not in NEVER_RIVALS for w in competitors])
        relative, target, ranking, rival, background = _locate_part(prepared, part_embs, eligible, object_mask,
                                                                    params)
        result.part_relevancy = prepared.scatter(relative)
        result.part_mask = prepared.scatter(prepared.on_valid(target))
        contrast, top = float(ranking.contrast[0]), float(ranking.top[0])
        result.part_top, result.part_contrast = top, contrast
        no_part = f"found the {parsed.object_phrase}, but no '{parsed.part_phrase}' on it"
        if not target.any():
            result.message = (f"{no_part} (no part of it stands out: contrast {contrast:.2f} < "
                              f"{params.min_part_contrast:.2f})")
            return result
        if top <= params.min_part_top:
            result.message = (f"{no_part}: '{parsed.part_query}' fits no point of it better than its other part "
                              f"names do ({top:.2f} <= {params.min_part_top:.2f})")
            return result
        if top <= background:
            result.message = (f"{no_part}: '{parsed.part_query}' fits the surface it stands on better than any "
                              f"point of it ({top:.2f} <= {background:.2f})")
            return result
        if rival is not None:
            result.message = (f"found the {parsed.object_phrase}, but no '{parsed.part_phrase}' on it: its most "
                              f"'{parsed.part_phrase}'-like region is more clearly its '{competitors[rival - 1]}'")
            return result
        if cut_from is not None and (_above_average_part(prepared, part_embs, cut_from, params)[target].mean()
                                     < 0.5):
            # Where the asked colour wins may be one part of a single object whose field shows another part in
            # another colour: a "handle" found on the orange blade of a knife whose handle reads blue. On the
            # whole instance most of a real part is more part-like than the instance's average.
            result.message = (f"{no_part}: its most '{parsed.part_phrase}'-like region where it looks like the "
                              f"{parsed.object_phrase} is no '{parsed.part_phrase}' of the object it belongs to")
            return result
        # The hand may touch the part region, whatever on the object is more part-like than the object's average,
        # and the object within a finger's width of the region: blur can leave a part's lower sides below average
        # (a screwdriver handle scored as a handle only on top), yet a grasp must reach them. Never the rest of
        # the object: a "knife handle" grasp must not pinch the blade.
        held_relevancy = relative[prepared.scene_rows]
        near_region = prepared.grouping.within(target, params.grasp.gripper.finger_width_m)
        contacts = target | (object_mask & ((held_relevancy > 0.0) | near_region))
        what = f"the {parsed.object_phrase}'s {parsed.part_phrase}"
    else:
        target, contacts, what = object_mask, object_mask, f"the {parsed.object_phrase}"
        held_relevancy = np.where(object_mask, object_relevancy, 0.0)

    reasons = []
    for end_effector in params.end_effectors:
        if end_effector == SUCTION:
            grasps = plan_suction(prepared.points_m, prepared.normals, held_relevancy, target, contacts, object_mask,
                                  params.suction, obstacles=prepared.obstacles)
        else:
            grasps = plan_grasps(prepared.points_m, prepared.normals, held_relevancy, target, contacts, object_mask,
                                 params.grasp, obstacles=prepared.obstacles)
        if grasps:
            break
        reasons.append(_why_no_grasp(end_effector, grasps, params))
    else:
        result.message = (f"found {what} ({int(target.sum())} points) but {_NO_GRASP} {'; '.join(reasons)} "
                          f"({_SEEN_ONLY}){_offer_push(prepared, object_mask, reasons, result, params)}")
        return result
    result.success, result.grasp, result.candidates = True, grasps[0], grasps
    held = (f"suction cup, seal {grasps[0].antipodality:.2f}" if grasps[0].end_effector == SUCTION
            else f"width {grasps[0].width_m:.3f} m")
    result.message = f"grasp on {what}: score {grasps[0].score:.2f}, {held} ({_SEEN_ONLY})"
    return result


def _offer_push(prepared: PreparedCloud, object_mask: np.ndarray, reasons: list[str], result: QueryResult,
                params: QueryParams) -> str:
    """Set ``result.push`` to a push that would free the object when one is free; what the message adds. Only the
    jaws push (their closed fingers), and a push never makes an object narrower than the hand's opening."""
    if params.push is None or PARALLEL_JAW not in params.end_effectors or all(TOO_WIDE in r for r in reasons):
        return ""
    offer = plan_push(prepared.points_m, object_mask, prepared.obstacles, params.grasp.table_z_m,
                      params.grasp.gripper, params.push)
    if offer.plan is None:
        return f"; no free push either: {offer.reason}"
    result.push = offer.plan
    return (f"; a push would free it: {100 * offer.plan.distance_m:.1f} cm with the fingers closed, away from "
            f"{offer.plan.away_from} (push_start_pose)")


def _why_no_grasp(end_effector: str, grasps: GraspList, params: QueryParams) -> str:
    """Why one tool found no grasp, for the refusal message."""
    why = f": {grasps.reason}" if grasps.reason else ""
    if end_effector == SUCTION:
        return f"for the {2000 * params.suction.cup.cup_radius_m:.0f} {SUCTION_TRIED}{why}"
    return f"within the gripper's {params.grasp.gripper.max_opening_m:.3f} m opening{why}"


def _above_average_part(prepared: PreparedCloud, part_embs: np.ndarray, object_mask: np.ndarray,
                        params: QueryParams) -> np.ndarray:
    """Mask over scene points where the asked part (row 0 of ``part_embs``) scores above its mean over
    ``object_mask`` (:func:`rank_parts`' relative score above zero)."""
    on_object, ranking = _rank_parts_on(prepared, part_embs, object_mask, params)
    above = np.zeros(prepared.valid_count, dtype=bool)
    above[on_object] = ranking.relative[:, 0] > 0.0
    return above[prepared.scene_rows]


def _split_name(prepared: PreparedCloud, text_encoder: TextEncoder, parsed: ParsedPrompt, negatives: np.ndarray,
                params: QueryParams) -> ParsedPrompt:
    """``parsed`` with a name of several words cut to its start where the scene matches that start better
    ("mug drop table" -> object "mug", part "drop table"; see the module docstring). Only when no part was
    parsed: the rest must then stand out on the object like any part, or the query is refused."""
    if parsed.part_phrase is not None or len(prepared.points_m) == 0:
        return parsed
    named = name_object(parsed.object_phrase, params.attribute_words)
    prefixes = name_prefixes(named.name)
    if not prefixes:
        return parsed
    names = [named.name] + prefixes
    winner = int(np.argmax(_fit_over_background(prepared, text_encoder, names, negatives, params)))
    if winner == 0:  # the whole name wins ties
        return parsed
    rest = named.name.split()[len(names[winner].split()):]
    words = named.phrase.split()
    cut = len(words)
    for _ in rest:  # drop the rest's words from the end of the phrase, keeping any attribute word
        cut -= 1
        while words[cut] in named.attributes:
            cut -= 1
    kept = words[:cut] + [w for w in words[cut:] if w in named.attributes]
    return ParsedPrompt(parsed.text, " ".join(kept), " ".join(rest))


def _read_modifier(prepared: PreparedCloud, text_encoder: TextEncoder, named: NamedObject, negatives: np.ndarray,
                   params: QueryParams) -> NamedObject:
    """``named`` with the words before a shorter ending of its name read as an attribute, when the scene matches
    that ending better ("cyan mug": "mug" fits better, so "cyan" is an attribute the list lacks). Such a word is
    then compared with the listed attributes in its place, as a listed colour is: without this, "cyan mug" or
    "zzzz mug" grasped whichever mug was most mug-like. Only for a name without a listed attribute: one that has
    one is compared with the other colours already."""
    if named.attributes or len(prepared.points_m) == 0:
        return named
    endings = name_endings(named.name)
    if not endings:
        return named
    winner = int(np.argmax(_fit_over_background(prepared, text_encoder, [named.name] + endings, negatives, params)))
    if winner == 0:  # the whole name wins ties: the scene confirms its words
        return named
    head = endings[winner - 1]
    words = named.name.split()
    return NamedObject(named.phrase, head, tuple(dict.fromkeys(words[:len(words) - len(head.split())])))


def _fit_over_background(prepared: PreparedCloud, text_encoder: TextEncoder, names: list[str],
                         negatives: np.ndarray, params: QueryParams) -> list[float]:
    """How much better each name fits its best object than the background does (mean relevancy logit at its
    seed minus the background's median): a name ending in "table" fits the table, a word no object shows fits
    no object, and either fits worse than the name without it."""
    embeddings = _encode(text_encoder, names, prepared.language.shape[1])
    scene = len(prepared.scene_rows)
    rows = np.r_[prepared.scene_rows, prepared.background_rows]
    logits = _relevancy_logits(prepared.language[rows], embeddings, negatives, params.temperature)
    background = [float(np.median(row[scene:])) if len(rows) > scene else 0.0 for row in logits]
    return [float(row[prepared.grouping.find_seed(row[:scene])[1]].mean()) - level
            for row, level in zip(logits, background)]


def _relevancy_logits(language: np.ndarray, embeddings: np.ndarray, negatives: np.ndarray,
                      temperature: float) -> np.ndarray:
    """(E, V) relevancy logits (query.relevancy) of each of ``embeddings`` (E, D) over unit ``language`` rows.

    One pass over the features for all phrases, then maxima of contiguous rows: on a 250k-point cloud the
    features are 65 MB, so reading them once is most of the cost.
    """
    phrases = unit_rows(np.vstack([embeddings, negatives]))
    similarity = np.ascontiguousarray((language @ phrases.T).T)  # (E + K, V)
    worst_negative = np.maximum.reduce(similarity[len(embeddings):], axis=0)
    return (similarity[:len(embeddings)] - worst_negative) / np.float32(temperature)


def _rank_parts_on(prepared: PreparedCloud, part_embs: np.ndarray, object_mask: np.ndarray,
                   params: QueryParams) -> tuple[np.ndarray, PartRanking]:
    """The valid rows of ``object_mask`` (scene points) and the part names' ranking over them (query.parts)."""
    on_object = prepared.on_valid(object_mask)
    return on_object, rank_parts(part_logits(prepared.language[on_object], part_embs, params.temperature),
                                 params.part_fraction, params.min_part_contrast)


def _locate_part(prepared: PreparedCloud, part_embs: np.ndarray, eligible: np.ndarray, object_mask: np.ndarray,
                 params: QueryParams) -> tuple[np.ndarray, np.ndarray, PartRanking, int | None, float]:
    """The asked part (row 0 of ``part_embs``, the object's other part names after it) on the object (query.parts).

    ``eligible`` masks which of the other names may refuse the part as its rival.

    Returns the relative part score per valid row, the part region on the scene points, the ranking, the column
    of a rival part name (None when there is none), and the asked part's median logit over the background.
    """
    on_object, ranking = _rank_parts_on(prepared, part_embs, object_mask, params)
    relative = np.zeros(prepared.valid_count)
    candidates = np.zeros(prepared.valid_count, dtype=bool)
    relative[on_object], candidates[on_object] = ranking.relative[:, 0], ranking.candidates[:, 0]
    rows = prepared.scene_rows
    target = best_region(prepared.points_m, relative[rows], candidates[rows], params.grouping.neighbour_radius_m,
                         baseline=params.part_fraction)
    rival = find_rival(ranking, prepared.on_valid(target)[on_object], eligible, params.rival_ratio)
    background = -np.inf
    if len(prepared.background_rows):
        background = float(np.median(part_logits(prepared.language[prepared.background_rows], part_embs,
                                                 params.temperature)[:, 0]))
    return relative, target, ranking, rival, background


def _encode(text_encoder: TextEncoder, phrases: list[str], dim: int) -> np.ndarray:
    try:
        embeddings = np.asarray(text_encoder(phrases), dtype=np.float32)
    except Exception as err:
        raise _QueryFailure(QueryResult(False, f"text encoder failed: {type(err).__name__}: {err}")) from err
    if embeddings.shape != (len(phrases), dim) or not np.isfinite(embeddings).all():
        raise _QueryFailure(QueryResult(False, f"text encoder returned shape {embeddings.shape} for {len(phrases)} "
                                               f"phrases; the scene's language features have {dim} dimensions"))
    return embeddings

