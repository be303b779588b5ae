"""LERF relevancy of a text query over per-point language features.

LERF scores a point feature ``f`` against the query embedding ``q`` and each canonical negative ``n_i`` with a
pairwise softmax at temperature ``T`` and keeps the worst case::

    relevancy = min_i  exp(f.q / T) / (exp(f.q / T) + exp(f.n_i / T))

Since a two-way softmax is a sigmoid of the difference, this equals ``sigmoid((f.q - max_i f.n_i) / T)``. The
argument, the *relevancy logit*, orders points exactly like the relevancy but does not saturate at 1.0, so seed
selection and AUROC use it, and the relevancy itself is computed from it without overflow.
"""
from __future__ import annotations

import numpy as np

from dff_grasp_ros.geometry import unit_rows

CANONICAL_NEGATIVES: tuple[str, ...] = ("object", "things", "stuff", "texture")
TEMPERATURE = 0.1

# 0.5 means "as similar to the query as to the closest canonical phrase": chance level. LERF shows relevancy
# from 0.5 up. Requiring a clear margin above chance (logit 0.1/T -> cosine margin 0.01 at T = 0.1) rejects
# absent objects, whose relevancy sits at or below 0.5, while CLIP's small cosine margins for present objects
# (typically 0.02-0.05) still pass.
DEFAULT_RELEVANCY_THRESHOLD = 0.6


def relevancy_logits(features: np.ndarray, query: np.ndarray, negatives: np.ndarray,
                     temperature: float = TEMPERATURE) -> np.ndarray:
    """``(f.q - max_i f.n_i) / T`` per row of ``features`` (N, D); ``query`` (D,), ``negatives`` (K, D).

    All embeddings are normalised here (cosine similarities), so callers may pass raw encoder or field output.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    features = unit_rows(features)
    query = unit_rows(np.atleast_2d(query))
    negatives = unit_rows(np.atleast_2d(negatives))
    if features.ndim != 2 or query.shape[1] != features.shape[1] or negatives.shape[1] != features.shape[1]:
        raise ValueError(f"embedding sizes differ: features {features.shape}, query {query.shape}, "
                         f"negatives {negatives.shape}")
    if len(negatives) == 0:
        raise ValueError("at least one negative phrase is needed")
    query_similarity = features @ query[0]
    negative_similarity = (features @ negatives.T).max(axis=1)
    return (query_similarity - negative_similarity) / np.float32(temperature)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function (float64)."""
    logits = np.asarray(logits, dtype=np.float64)
    # exp(-|x|) never overflows; one branch-free formula per sign.
    decay = np.exp(-np.abs(logits))
    return np.where(logits >= 0, 1.0 / (1.0 + decay), decay / (1.0 + decay))


def relevancy(features: np.ndarray, query: np.ndarray, negatives: np.ndarray,
              temperature: float = TEMPERATURE) -> np.ndarray:
    """LERF relevancy in [0, 1] per row of ``features`` (see the module docstring)."""
    return sigmoid(relevancy_logits(features, query, negatives, temperature)).astype(np.float32)
