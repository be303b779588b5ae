"""Synthetic teachers for simulated scenes ONLY: features from ground-truth labels, chosen by name, never a fallback.

Both read a *semantic label image* per view: int16 (H, W, 4) with channels (type, colour, part, instance),
each an index into ``vocabulary.OBJECT_TYPES`` / ``COLOURS`` / ``PART_NAMES`` and the scene's object index,
-1 where there is none (the table and empty space have type -1). :mod:`dff_grasp_ros.teachers.sim_labels`
builds it from a simulated dataset.

- ``synthetic`` (CLIP stand-in, 64-d): each pixel embeds its (type, colour, part) with
  ``vocabulary.embed_label``; the map is average-pooled over ``patch_px`` patches (CLIP ViT-B/16 blurs
  parts the same way), noised and renormalised. ``encode_text`` is ``vocabulary.embed_phrase``.
- ``synthetic_dino`` (DINO stand-in, ``feature_dim``-d, 8 px cells): one random direction per object instance
  plus a shorter one per (instance, part), so two red mugs get different features (DINO grouping can separate
  them) and a handle stays closer to its own mug's body than to anything else.

Noise is seeded by the label image's bytes and ``seed``: the same view always gets the same features.
"""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from dff_grasp_ros.teachers import vocabulary
from dff_grasp_ros.teachers.base import (SyntheticDinoTeacherConfig, SyntheticTeacherConfig, Teacher, TeacherError,
                                         check_phrases, l2_normalise)

if TYPE_CHECKING:
    from dff_grasp_ros.dataset import Dataset, Frame

SEMANTIC_CHANNELS = ("type", "colour", "part", "instance")
NONE = -1
assert max(len(vocabulary.OBJECT_TYPES), len(vocabulary.COLOURS), len(vocabulary.PART_NAMES)) < 15, \
    "pack_labels keeps 4 bits per vocabulary channel"


def semantic_pixel(object_type: str | None, colour: str | None = None, part: str | None = None,
                   instance: int = NONE) -> tuple[int, int, int, int]:
    """One pixel of a semantic label image from names (None = absent); unknown names are an error."""
    def index(names: tuple[str, ...], value: str | None, what: str) -> int:
        if value is None:
            return NONE
        if value not in names:
            raise TeacherError(f"unknown {what} {value!r}; the vocabulary knows {', '.join(names)}")
        return names.index(value)

    return (index(vocabulary.OBJECT_TYPES, object_type, "object type"), index(vocabulary.COLOURS, colour, "colour"),
            index(vocabulary.PART_NAMES, part, "part"), int(instance))


def check_semantic(semantic: np.ndarray) -> np.ndarray:
    """Validate a (B, H, W, 4) (or single (H, W, 4)) semantic label batch; returns it as (B, H, W, 4)."""
    semantic = np.asarray(semantic)
    if semantic.ndim == 3:
        semantic = semantic[None]
    if semantic.ndim != 4 or semantic.shape[-1] != len(SEMANTIC_CHANNELS) or not np.issubdtype(
            semantic.dtype, np.integer) or 0 in semantic.shape:
        raise TeacherError(f"semantic labels must be integer (B, H, W, 4) {SEMANTIC_CHANNELS}, got "
                           f"{semantic.dtype} {semantic.shape}")
    limits = (len(vocabulary.OBJECT_TYPES), len(vocabulary.COLOURS), len(vocabulary.PART_NAMES))
    for channel, limit in enumerate(limits):
        values = semantic[..., channel]
        if values.min() < NONE or values.max() >= limit:
            raise TeacherError(f"semantic channel {SEMANTIC_CHANNELS[channel]} out of range [-1, {limit})")
    if semantic[..., 3].min() < NONE:
        raise TeacherError("semantic channel instance must be >= -1")
    return semantic


def language_vector(label: Sequence[int]) -> np.ndarray:
    """CLIP-like vector of one semantic label (type, colour, part, instance): vocabulary.embed_label."""
    type_index, colour_index, part_index, _ = (int(v) for v in label)

    def name(names: tuple[str, ...], index: int) -> str | None:
        return names[index] if index >= 0 else None

    object_type = name(vocabulary.OBJECT_TYPES, type_index)
    if object_type is None:  # background: colours and parts of the table are not part of the vocabulary
        return vocabulary.embed_label(None)
    return vocabulary.embed_label(object_type, name(vocabulary.COLOURS, colour_index),
                                  name(vocabulary.PART_NAMES, part_index))


def instance_vector(label: Sequence[int], dim: int, part_weight: float, seed: int) -> np.ndarray:
    """DINO-like vector: a random direction per instance plus ``part_weight`` times one per (instance, part)."""
    type_index, _, part_index, instance = (int(v) for v in label)
    if type_index < 0:
        return _hashed_direction(f"background:{seed}", dim)
    vec = _hashed_direction(f"instance:{instance}:{seed}", dim)
    vec = vec + part_weight * _hashed_direction(f"part:{instance}:{part_index}:{seed}", dim)
    return vec / np.linalg.norm(vec)


def _hashed_direction(key: str, dim: int) -> np.ndarray:
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little"))
    vec = rng.standard_normal(dim)
    return vec / np.linalg.norm(vec)


def pack_labels(semantic: np.ndarray) -> np.ndarray:
    """One int64 per pixel from (..., 4) labels: sorting one integer is far faster than rows (np.unique axis=0)."""
    def channel(index: int) -> np.ndarray:
        return semantic[..., index].astype(np.int64) + 1  # -1 (none) -> 0

    return (channel(3) << 12) | (channel(0) << 8) | (channel(1) << 4) | channel(2)


def unpack_labels(keys: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack_labels`: (K,) keys -> (K, 4) labels."""
    keys = np.asarray(keys, dtype=np.int64)
    return np.stack([(keys >> 8) & 15, (keys >> 4) & 15, keys & 15, keys >> 12], axis=-1) - 1


def pooled_label_features(semantic: np.ndarray, grid_hw: tuple[int, int],
                          label_vector: Callable[[np.ndarray], np.ndarray]) -> torch.Tensor:
    """Per-image average over each grid cell of the pixels' label vectors -> float32 (B, h, w, D), not normalised.

    Pooling is linear, so the pooled area fractions of each distinct label times its vector equal the pooled
    per-pixel vectors, without ever holding an (H, W, D) image.
    """
    semantic = check_semantic(semantic)
    keys, label_index = torch.unique(torch.from_numpy(pack_labels(semantic)), return_inverse=True)
    table = torch.from_numpy(np.stack([label_vector(label) for label in unpack_labels(keys.numpy())])).float()
    out = []
    for image_labels in label_index:  # one image at a time bounds memory to (K, H, W)
        one_hot = F.one_hot(image_labels, len(keys)).permute(2, 0, 1).float()[None]
        fractions = F.adaptive_avg_pool2d(one_hot, grid_hw)[0]  # (K, h, w)
        out.append(torch.einsum("khw,kd->hwd", fractions, table))
    return torch.stack(out)


def add_seeded_noise(features: torch.Tensor, noise_std: float, seeds: Sequence[int]) -> torch.Tensor:
    """Add N(0, noise_std^2) per element, one reproducible generator per image, then renormalise."""
    if noise_std > 0:
        noise = np.stack([np.random.default_rng(seed).standard_normal(tuple(features.shape[1:]))
                          for seed in seeds])
        features = features + noise_std * torch.from_numpy(noise).to(features)
    return l2_normalise(features)


def content_seed(array: np.ndarray, seed: int) -> int:
    """A 64-bit seed from an array's bytes and shape: same labels, same noise."""
    digest = hashlib.sha256(np.ascontiguousarray(array).tobytes() + repr((array.shape, seed)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


class SyntheticTeacher(Teacher):
    """Language teacher of simulated scenes (see module docstring)."""

    config: SyntheticTeacherConfig

    def __init__(self, config: SyntheticTeacherConfig) -> None:
        super().__init__(config)
        self.device = torch.device("cpu")
        self.patch_px = int(config.patch_px)
        self.feature_dim = vocabulary.SYNTHETIC_DIM
        self.weights_id = "ground-truth-labels"

    @property
    def is_language(self) -> bool:
        return True

    def label_vector(self, label: np.ndarray) -> np.ndarray:
        return language_vector(label)

    def label_features(self, semantic: np.ndarray) -> torch.Tensor:
        """Semantic label images (B, H, W, 4) -> unit features (B, h, w, D)."""
        semantic = check_semantic(semantic)
        pooled = pooled_label_features(semantic, self.grid_shape(semantic.shape[1:3]), self.label_vector)
        return add_seeded_noise(pooled, self.config.noise_std, [content_seed(s, self.config.seed) for s in semantic])

    def image_features(self, images: "np.ndarray | torch.Tensor") -> torch.Tensor:
        raise TeacherError(f"teacher {self.name!r} computes from ground-truth labels of simulated scenes, not RGB: "
                           "use dataset_features() on a simulated dataset or label_features(semantic labels)")

    def frame_input(self, dataset: "Dataset", frame: "Frame") -> np.ndarray:
        from dff_grasp_ros.teachers.sim_labels import semantic_labels

        return semantic_labels(dataset, frame)

    def input_features(self, inputs: np.ndarray) -> torch.Tensor:
        return self.label_features(inputs)

    def encode_text(self, phrases: Sequence[str]) -> torch.Tensor:
        phrases = check_phrases(phrases)
        vectors = []
        for phrase in phrases:
            vec = vocabulary.embed_phrase(phrase)
            if not np.any(vec):
                raise TeacherError(f"phrase {phrase!r} has no words to embed")
            vectors.append(vec)
        return torch.from_numpy(np.stack(vectors) if vectors else np.zeros((0, self.feature_dim))).float()


class SyntheticDinoTeacher(SyntheticTeacher):
    """DINO-like teacher of simulated scenes: instance-distinct features, no text encoder."""

    config: SyntheticDinoTeacherConfig

    def __init__(self, config: SyntheticDinoTeacherConfig) -> None:
        super().__init__(config)
        if config.feature_dim < 2:
            raise TeacherError(f"synthetic_dino: feature_dim must be >= 2, got {config.feature_dim}")
        self.feature_dim = int(config.feature_dim)

    @property
    def is_language(self) -> bool:
        return False

    def label_vector(self, label: np.ndarray) -> np.ndarray:
        return instance_vector(label, self.feature_dim, self.config.part_weight, self.config.seed)

    def encode_text(self, phrases: Sequence[str]) -> torch.Tensor:
        return Teacher.encode_text(self, phrases)
