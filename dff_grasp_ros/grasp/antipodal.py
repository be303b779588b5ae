"""Antipodal contact pairs: two surface points a parallel-jaw hand can squeeze without slipping.

With outward normals ``n1``, ``n2`` and the line ``u`` from contact 1 to contact 2, the pair holds under Coulomb
friction ``mu`` when ``u`` lies inside both friction cones: ``u . -n1 >= cos(atan(mu))`` and
``-u . -n2 >= cos(atan(mu))``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ContactPairs:
    """Contact pairs as indices into the searched cloud, with their line of action and quality."""

    first: np.ndarray  # (P,) int
    second: np.ndarray  # (P,) int
    closing_axis: np.ndarray  # (P, 3) unit, from first to second
    width_m: np.ndarray  # (P,) distance between the contacts
    antipodality: np.ndarray  # (P,) in [0, 1]: 1 = line along both normals, 0 = on the friction cone's edge

    def __len__(self) -> int:
        return len(self.first)

    @staticmethod
    def empty() -> ContactPairs:
        return ContactPairs(*(np.zeros(0, dtype=np.int64),) * 2, np.zeros((0, 3)), np.zeros(0), np.zeros(0))

    def subset(self, keep: np.ndarray) -> ContactPairs:
        """The pairs where ``keep`` (mask or indices) selects."""
        return ContactPairs(self.first[keep], self.second[keep], self.closing_axis[keep], self.width_m[keep],
                            self.antipodality[keep])

    def concatenate(self, other: ContactPairs) -> ContactPairs:
        """These pairs followed by ``other``'s (indices into the same cloud)."""
        return ContactPairs(*(np.concatenate([a, b]) for a, b in zip(
            (self.first, self.second, self.closing_axis, self.width_m, self.antipodality),
            (other.first, other.second, other.closing_axis, other.width_m, other.antipodality))))


def friction_cone_cosine(friction_coefficient: float) -> float:
    """Cosine of the friction cone's half angle."""
    if friction_coefficient <= 0:
        raise ValueError(f"friction coefficient must be positive, got {friction_coefficient}")
    return float(np.cos(np.arctan(friction_coefficient)))


def pairs_within(points_m: np.ndarray, sources: np.ndarray, targets: np.ndarray, radius_m: float,
                 normals: np.ndarray | None = None, max_normal_cosine: float = 1.0,
                 chunk: int = 1_000_000) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) for every ``targets[j]`` within ``radius_m`` of ``sources[i]`` (indices into ``points_m``), by i.

    With ``normals``, only pairs whose normals' cosine is at most ``max_normal_cosine``. Dense distances in
    chunks: for the few hundred sources and thousands of targets of one object this is several times faster
    than a KD-tree's lists of Python ints.
    """
    source_points, target_points = points_m[sources], points_m[targets]
    target_norms = (target_points ** 2).sum(axis=1)
    found_sources, found_targets = [], []
    step = max(1, chunk // max(len(targets), 1))
    for start in range(0, len(sources), step):
        block = source_points[start:start + step]
        squared = (block ** 2).sum(axis=1)[:, None] + target_norms[None] - 2.0 * block @ target_points.T
        close = squared <= radius_m ** 2
        if normals is not None:
            close &= normals[sources[start:start + step]] @ normals[targets].T <= max_normal_cosine
        rows, columns = np.nonzero(close)
        found_sources.append(start + rows)
        found_targets.append(columns)
    if not found_sources:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(found_sources), np.concatenate(found_targets)


def sample_antipodal_pairs(points_m: np.ndarray, normals: np.ndarray, first_candidates: np.ndarray,
                           second_candidates: np.ndarray, max_width_m: float, friction_coefficient: float,
                           samples: int, rng: np.random.Generator, min_width_m: float = 0.002) -> ContactPairs:
    """For up to ``samples`` first contacts drawn from ``first_candidates`` (indices), the best second contact.

    Second contacts come from ``second_candidates`` (indices; usually the whole object) within ``max_width_m``.
    """
    cone_cos = friction_cone_cosine(friction_coefficient)
    first_candidates = np.asarray(first_candidates, dtype=np.int64)
    second_candidates = np.asarray(second_candidates, dtype=np.int64)
    empty = ContactPairs.empty()
    if len(first_candidates) == 0 or len(second_candidates) < 2:
        return empty
    firsts = rng.choice(first_candidates, size=min(samples, len(first_candidates)), replace=False)
    # The line between the contacts lies in both friction cones only if the normals are at least twice the cone's
    # half angle from parallel: n1 . n2 <= cos(pi - 2 alpha) = 1 - 2 cos^2(alpha). Most pairs fail that cheaply.
    first_row, second_row = pairs_within(points_m, firsts, second_candidates, max_width_m, normals,
                                         1.0 - 2.0 * cone_cos ** 2 + 1e-9)
    if len(first_row) == 0:
        return empty
    source, target = firsts[first_row], second_candidates[second_row]
    line = points_m[target] - points_m[source]
    width = np.linalg.norm(line, axis=1)
    keep = width >= min_width_m
    source, target, line, width = source[keep], target[keep], line[keep], width[keep]
    axis = line / width[:, None]
    quality = np.minimum(-np.einsum("ij,ij->i", axis, normals[source]), np.einsum("ij,ij->i", axis, normals[target]))
    keep = quality >= cone_cos
    source, target, axis, width, quality = source[keep], target[keep], axis[keep], width[keep], quality[keep]
    # One partner per first contact: the most antipodal one (ties broken towards the narrower grasp).
    order = np.lexsort((width, -quality, source))
    first_of_each = np.r_[True, source[order][1:] != source[order][:-1]] if len(order) else np.zeros(0, bool)
    best = order[first_of_each]
    return ContactPairs(first=source[best], second=target[best], closing_axis=axis[best], width_m=width[best],
                        antipodality=(quality[best] - cone_cos) / (1.0 - cone_cos))
