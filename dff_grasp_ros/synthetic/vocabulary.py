"""The embedding space of the *synthetic* teacher (simulated scenes only; never a stand-in for CLIP).

Every word the simulator knows (object types, part names, colours, canonical negatives, the table) owns one
axis of an orthonormal basis; any other word is hashed to a unit vector in the axes no known word uses, so it is
orthogonal to every scene feature ("banana" matches nothing). A phrase embeds as the normalised sum of its words:
a bag of words, like CLIP's text tower often behaves. A surface point labelled (type, colour, part) embeds with
the same words and weights, plus a small generic "object"/"stuff" component, so LERF relevancy against the
canonical negatives behaves as it does with CLIP: high for the asked thing, near 0.5 for absent things.
"""
from __future__ import annotations

import hashlib
import re

import numpy as np

from dff_grasp_ros.geometry import unit_rows
from dff_grasp_ros.query.relevancy import CANONICAL_NEGATIVES

SYNTHETIC_DIM = 64

OBJECT_TYPES = ("mug", "pan", "knife", "screwdriver", "spatula", "bottle", "bowl", "box")
PART_NAMES = ("body", "handle", "blade", "shaft", "head", "cap")
COLOURS = ("red", "blue", "green", "yellow", "black", "white", "orange", "purple", "grey", "brown")
BACKGROUND_WORDS = ("table",)
KNOWN_WORDS = OBJECT_TYPES + PART_NAMES + COLOURS + CANONICAL_NEGATIVES + BACKGROUND_WORDS
STOPWORDS = frozenset({"the", "a", "an", "of", "on", "its", "with", "by", "at", "to", "please", "pick", "grasp",
                       "grab", "up", "and", "from"})
SYNONYMS = {"gray": "grey", "cup": "mug", "lid": "cap", "grip": "handle", "pot": "pan", "tray": "box"}

# Weights of a labelled surface point: the type dominates, the part is strong, the colour is an attribute.
TYPE_WEIGHT, PART_WEIGHT, COLOUR_WEIGHT, GENERIC_WEIGHT = 1.0, 0.8, 0.5, 0.3

_AXIS = {word: i for i, word in enumerate(KNOWN_WORDS)}
assert len(_AXIS) < SYNTHETIC_DIM


def tokenize(phrase: str) -> list[str]:
    words = [w for w in re.split(r"[^a-z]+", phrase.lower()) if w and w not in STOPWORDS]
    out = []
    for word in words:
        word = SYNONYMS.get(word, word)
        if word not in _AXIS and word.endswith("s") and word[:-1] in _AXIS:
            word = word[:-1]
        out.append(word)
    return out


def word_vector(word: str) -> np.ndarray:
    vec = np.zeros(SYNTHETIC_DIM, dtype=np.float64)
    if word in _AXIS:
        vec[_AXIS[word]] = 1.0
        return vec
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
    free = np.random.default_rng(seed).standard_normal(SYNTHETIC_DIM - len(KNOWN_WORDS))
    vec[len(KNOWN_WORDS):] = free / np.linalg.norm(free)
    return vec


def embed_phrase(phrase: str) -> np.ndarray:
    """Unit vector for a text phrase (bag of words). An empty phrase embeds as the zero vector."""
    words = tokenize(phrase)
    if not words:
        return np.zeros(SYNTHETIC_DIM)
    return unit_rows(sum(_word_weight(w) * word_vector(w) for w in words), np.float64)


def embed_phrases(phrases: list[str]) -> np.ndarray:
    """(N, SYNTHETIC_DIM) rows of :func:`embed_phrase`: the test bed's text encoder (a query's ``TextEncoder``)."""
    return np.stack([embed_phrase(p) for p in phrases]) if len(phrases) else np.zeros((0, SYNTHETIC_DIM))


def _word_weight(word: str) -> float:
    if word in OBJECT_TYPES:
        return TYPE_WEIGHT
    if word in PART_NAMES:
        return PART_WEIGHT
    if word in COLOURS:
        return COLOUR_WEIGHT
    return 1.0


def embed_label(object_type: str | None, colour: str | None = None, part: str | None = None) -> np.ndarray:
    """Unit vector of a surface point with ground-truth labels; ``object_type=None`` is the table/background."""
    if object_type is None:
        return unit_rows(word_vector("table") + GENERIC_WEIGHT * word_vector("stuff"), np.float64)
    vec = TYPE_WEIGHT * word_vector(object_type) + GENERIC_WEIGHT * word_vector("object")
    if colour:
        vec = vec + COLOUR_WEIGHT * word_vector(colour)
    if part:
        vec = vec + PART_WEIGHT * word_vector(part)
    return unit_rows(vec, np.float64)
