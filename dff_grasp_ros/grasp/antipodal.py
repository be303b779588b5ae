"""Antipodal contact pairs: two surface points a parallel-jaw hand can squeeze without slipping.

With outward normals ``n1``, ``n2`` and the line ``u`` from contact 1 to contact 2, the pair holds under Coulomb
friction ``mu`` when ``u`` lies inside both friction cones: ``u . -n1 >= cos(atan(mu))`` and
``-u . -n2 >= cos(atan(mu))``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree


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
    lists = cKDTree(points_m[second_candidates]).query_ball_point(points_m[firsts], r=max_width_m)
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    if counts.sum() == 0:
        return empty
    source = np.repeat(firsts, counts)
    target = second_candidates[np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])]
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
