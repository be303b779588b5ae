"""Where on an object the asked part is: every part name ranked over the object's points.

**Scoring against the other part names.** The asked part phrase ("mug handle") is compared with the same object's
other part phrases ("mug body", "mug lid", ... from ``part_words``): per point, ``(f . asked - mean_w f .
other_w) / T``. Every phrase names the same object, so the object word weighs alike on both sides. Scored against
the object phrase alone ("mug"), the part phrase gains wherever the object word fits less, such as at a border
blurred into a touching neighbour. On a CPU-trained bin that border outranked the handle itself. The others are
averaged, not maxed, so a synonym among them ("grip" for "handle") does not cancel the part.

**Ranking within the object.** On sharp features (the synthetic teacher's labels, a well-trained field) the
part's points score far above the rest. A briefly trained field blurs a small part into the large one beside it:
on a CPU-trained tabletop field no point of the mug's handle matched "mug handle" better than "mug", yet the
handle was clearly ranked above the body. So the part is found by rank. The relative score ``(logit - object
mean) / (object top - object mean)`` is clipped to [0, 1]; the part is where it reaches ``fraction``. The
difference ``top - mean`` is the part's *contrast*: below ``min_contrast`` nothing on the object stands out
as that part.

**Rival names.** Ranking always finds *some* region. A part the object lacks would be answered with its most
similar-looking part: a blurred mug asked for its "blade" ranks its handle first. Every other part name is
therefore ranked too. A *rival* is another name whose own part region covers most of the asked region and which
stands out more clearly there (contrast at least ``rival_ratio`` times higher), as "mug handle" does over
"mug blade" on the handle. The asked part is then refused. Synonyms stand out alike and do not refuse each
other.

**Names nothing on it.** A phrase that names nothing ("mug;zzzz") is, to the teacher, the object's name diluted
by noise: it ranks the object's points by what the *other* names lack, and on a blurred field such a ranking can
stand out by chance. Its logits, though, stay below zero everywhere on the object: at no point does it fit
better than the other part names do on average. The asked part's *top* (the same percentile the contrast is
measured at) must therefore be above ``min_top``, and above its median over the *background* (the surface the
objects stand on): a part phrase that fits the table better than any point of the object ("mug drop table")
names the table. Measured on three CPU-trained tabletop fields and the regression crops (bench/RESULTS.md):
every part answered on the right region had a top of 0.86 or more; "zzzz", "rim" and "tip" on a knife or
screwdriver -0.13 to -0.43; "mug drop table" and "knife drop table" topped at 2.5-3.6 on the object and
5.5 on the table.

**A part word the object lacks.** A real part word of other objects ("bottle handle", "mug blade", "box cap")
is no noise to the teacher: on a blurred field it ranks the object's points too, and stands out by chance where
a neighbour or the tote blurs in (contrast 0.4-0.8, no rival: the object's own parts are as blurred). Its top
stays low, though: with ``min_top`` at 0 the query answered such words on `bin` fields with grasps on the
bottle's body or the mug's handle. The top must reach ``QueryParams.min_part_top`` (1.0,
:mod:`~dff_grasp_ros.query.part_margins`): a cosine margin of 0.1 over the other part names at the part's best
points.

The margins were measured on fields distilled from the synthetic teacher; with CLIP weights measure them again
on fields of your own cell (a refusal's message gives the value it saw) and set the query node's
``min_part_contrast`` and ``min_part_top``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dff_grasp_ros.geometry import unit_rows
from dff_grasp_ros.query.part_margins import DEFAULT_MIN_PART_CONTRAST

DEFAULT_PART_FRACTION = 0.5  # halfway between the object's mean and its most part-like points
# Measured on six CPU-trained tabletop fields: a rival claimed a real part's region at most 1.42 times as clearly
# ("bottle handle" on the bottle's cap). "mug blade" and "pan blade" were claimed by their handles 1.65-3.93 times
# as clearly. Below this ratio a part the object lacks is answered with the region ("pan blade" at 1.65 and 1.98
# in two fields, "bottle handle" at 1.41-1.49 by the cap): the price of never refusing a real part.
DEFAULT_RIVAL_RATIO = 2.0
# "Body" names an object's main mass, which for a knife or a screwdriver is its handle: it may claim any large part
# more clearly, so it never refuses one (it still counts among the names a part is scored against).
NEVER_RIVALS = ("body",)
RIVAL_OVERLAP = 0.5  # a rival's region must cover at least this share of the asked region
TOP_PERCENTILE = 99.0  # the object's "top" ignores the highest 1 %: single noisy points must not set the scale


@dataclass(frozen=True)
class PartRanking:
    """Every part name ranked over the object's points; column 0 is the asked part."""

    relative: np.ndarray  # (N, K) in [0, 1]: 1 at the object's most part-like points, 0 at or below its mean
    candidates: np.ndarray  # (N, K) bool: relative >= fraction (none where the contrast is too low)
    contrast: np.ndarray  # (K,) top minus mean of each name's logits over the object, in logit units
    top: np.ndarray  # (K,) each name's logit at the object's most part-like points (the TOP_PERCENTILE)


def part_logits(features: np.ndarray, part_embs: np.ndarray, temperature: float) -> np.ndarray:
    """(N, K) logits: per point and part phrase, its similarity minus the mean similarity of the K-1 others."""
    part_embs = unit_rows(np.atleast_2d(part_embs))
    if len(part_embs) < 2:
        raise ValueError("at least two part phrases are needed: a part is scored against the others")
    similarity = unit_rows(features) @ part_embs.T
    others = (similarity.sum(axis=1, keepdims=True) - similarity) / (len(part_embs) - 1)
    return (similarity - others) / np.float32(temperature)


def rank_parts(logits: np.ndarray, fraction: float = DEFAULT_PART_FRACTION,
               min_contrast: float = DEFAULT_MIN_PART_CONTRAST) -> PartRanking:
    """Relative scores, candidates and contrast of each column of ``logits`` (M, K) over the M object points."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    logits = np.asarray(logits, dtype=np.float64)
    if len(logits) == 0:
        empty = np.zeros(logits.shape)
        return PartRanking(empty, empty.astype(bool), np.zeros(logits.shape[1]), np.full(logits.shape[1], -np.inf))
    mean = logits.mean(axis=0)
    top = np.percentile(logits, TOP_PERCENTILE, axis=0)
    contrast = top - mean
    relative = np.clip((logits - mean) / np.maximum(contrast, 1e-12), 0.0, 1.0)
    candidates = (relative >= fraction) & (contrast >= min_contrast)
    return PartRanking(relative, candidates, contrast, top)


def find_rival(ranking: PartRanking, region: np.ndarray, eligible: np.ndarray | None = None,
               ratio: float = DEFAULT_RIVAL_RATIO, overlap: float = RIVAL_OVERLAP) -> int | None:
    """Column (>= 1) of the rival name of the asked part's ``region`` (M,), or None (see the module docstring).

    ``eligible`` (K - 1,) masks which other names may be rivals (default: all).
    """
    if not region.any() or ranking.contrast.shape[0] < 2:
        return None
    covered = ranking.candidates[region][:, 1:].mean(axis=0)
    clearer = ranking.contrast[1:] >= ratio * ranking.contrast[0]
    if eligible is None:
        eligible = np.ones(len(clearer), dtype=bool)
    rivals = np.flatnonzero((covered >= overlap) & clearer & eligible)
    return None if len(rivals) == 0 else int(rivals[np.argmax(ranking.contrast[1:][rivals])]) + 1
