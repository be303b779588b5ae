"""Synthetic teachers for simulated scenes ONLY: features from ground-truth labels, chosen by name, never a fallback.

They register in the core's teacher registry through the ``dff_grasp.teachers`` entry-point group (setup.cfg);
the product never imports them. Both read the view's label image (:mod:`dff_grasp_ros.synthetic.labels`, the one
label format) and what each label means in the dataset's scene:

- ``synthetic`` (CLIP stand-in, 64-d): each label embeds its (type, colour, part) with
  ``vocabulary.embed_label``; the map is average-pooled over ``patch_px`` patches (CLIP ViT-B/16 blurs
  parts the same way), noised and renormalised. ``encode_text`` is ``vocabulary.embed_phrase``.
- ``synthetic_dino`` (DINO stand-in, ``feature_dim``-d, 8 px cells): one random direction per object instance
  plus a shorter one per (instance, part), so two red mugs get different features (DINO grouping can separate
  them) and a handle stays closer to its own mug's body than to anything else.

Noise is seeded by the label image's bytes and ``seed``: the same view always gets the same features.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from dff_grasp_ros.synthetic import vocabulary
from dff_grasp_ros.synthetic.labels import (
    PARTS_PER_OBJECT,
    TABLE_LABEL,
    LabelError,
    LabelName,
    check_label_image,
    dataset_label_image,
    dataset_scene,
    label_names,
)
from dff_grasp_ros.synthetic.spec import Scene
from dff_grasp_ros.teachers.base import Teacher, TeacherConfig, TeacherError, check_phrases, l2_normalise

if TYPE_CHECKING:
    from dff_grasp_ros.dataset import Dataset, Frame

LabelVectors = Mapping[int, np.ndarray]  # label value -> feature vector (not normalised)


@dataclass
class SyntheticTeacherConfig(TeacherConfig):
    """Simulated scenes only: CLIP-like features from ground-truth labels in the vocabulary's space."""

    name: ClassVar[str] = "synthetic"
    _implementation: ClassVar[str] = "dff_grasp_ros.synthetic.teachers:SyntheticTeacher"
    dino_partner: ClassVar[str] = "synthetic_dino"

    patch_px: int = 16
    """Labels are average-pooled over patches of this size (CLIP ViT-B/16's) at the teacher's input scale."""
    noise_std: float = 0.05
    """Per-dimension Gaussian noise added before renormalising; seeded by the label image and ``seed``."""
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.patch_px < 1 or self.noise_std < 0:
            raise TeacherError(f"{self.name}: need patch_px >= 1 and noise_std >= 0")

    def dataset_problem(self, dataset: Dataset) -> str | None:
        """The labels come from the scene recorded in the dataset: a real scan, or a scene that does not load."""
        try:
            dataset_scene(dataset)
        except LabelError as err:
            return str(err)
        return None


@dataclass
class SyntheticDinoTeacherConfig(SyntheticTeacherConfig):
    """Simulated scenes only: DINO-like features, one random direction per object instance (+ part)."""

    name: ClassVar[str] = "synthetic_dino"
    _implementation: ClassVar[str] = "dff_grasp_ros.synthetic.teachers:SyntheticDinoTeacher"
    dino_partner: ClassVar[str] = ""

    patch_px: int = 8
    feature_dim: int = 64
    part_weight: float = 0.5
    """Length of the part direction relative to the instance direction: parts of one object stay close."""


def instance_vector(label: int, dim: int, part_weight: float, seed: int) -> np.ndarray:
    """DINO-like vector of a label: a random direction per object plus ``part_weight`` times one per part."""
    if label == TABLE_LABEL:
        return _hashed_direction(f"background:{seed}", dim)
    instance, part = divmod(int(label) - 1, PARTS_PER_OBJECT)
    vec = _hashed_direction(f"instance:{instance}:{seed}", dim)
    vec = vec + part_weight * _hashed_direction(f"part:{instance}:{part}:{seed}", dim)
    return vec / np.linalg.norm(vec)


def _hashed_direction(key: str, dim: int) -> np.ndarray:
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little"))
    vec = rng.standard_normal(dim)
    return vec / np.linalg.norm(vec)


def pooled_label_features(labels: np.ndarray, grid_hw: tuple[int, int], vectors: LabelVectors) -> torch.Tensor:
    """Per-image average over each grid cell of the pixels' label vectors -> float32 (B, h, w, D), not normalised.

    ``vectors`` must hold every label that occurs in ``labels`` (B, H, W).

    Pooling is linear, so the pooled area fractions of each distinct label times its vector equal the pooled
    per-pixel vectors, without ever holding an (H, W, D) image. When the grid divides the image (the usual 480 x 640
    at 8 or 16 px), adaptive pooling's windows are equal disjoint blocks and one ``bincount`` per image counts the
    labels of every block (the language teacher on 48 views of 640 x 480: 1.3 s, against 5.3 s with the general
    path's one-hot image per view).
    """
    keys = np.array(sorted(vectors), dtype=np.int64)
    lookup = np.zeros(int(keys.max()) + 1, dtype=np.int64)
    lookup[keys] = np.arange(len(keys))  # label -> row of the table: a gather, not a sort of every pixel
    table = torch.from_numpy(np.stack([vectors[int(k)] for k in keys])).float()
    height, width = labels.shape[1:3]
    grid_h, grid_w = grid_hw
    if height % grid_h == 0 and width % grid_w == 0:
        block_h, block_w = height // grid_h, width // grid_w
        cell = (np.arange(height)[:, None] // block_h) * grid_w + np.arange(width)[None, :] // block_w
        cell_label = cell * len(keys)
        counts = [np.bincount((cell_label + lookup[image_labels]).ravel(), minlength=grid_h * grid_w * len(keys))
                  for image_labels in labels]
        fractions = torch.from_numpy(np.stack(counts)).float().reshape(len(labels), grid_h, grid_w, len(keys))
        return (fractions / (block_h * block_w)) @ table
    label_index = torch.from_numpy(lookup[labels])
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
        self._names: dict[int, LabelName] | None = None  # the bound dataset's label meanings
        self._scene: Scene | None = None  # the bound dataset's scene

    @property
    def is_language(self) -> bool:
        return True

    def label_vector(self, label: int, name: LabelName) -> np.ndarray:
        return vocabulary.embed_label(*name)

    def label_features(self, labels: np.ndarray, names: Mapping[int, LabelName]) -> torch.Tensor:
        """Label images (B, H, W) or (H, W) with the meaning of each label -> unit features (B, h, w, D)."""
        try:
            labels, present = check_label_image(labels, names)
        except LabelError as err:
            raise TeacherError(str(err)) from None
        vectors = {label: self.label_vector(label, names[label]) for label in present.tolist()}
        pooled = pooled_label_features(labels, self.grid_shape(labels.shape[1:3]), vectors)
        return add_seeded_noise(pooled, self.config.noise_std, [content_seed(x, self.config.seed) for x in labels])

    def image_features(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        raise TeacherError(f"teacher {self.name!r} computes from ground-truth labels of simulated scenes, not RGB: "
                           "use dataset_features() on a simulated dataset or label_features(label images)")

    def bind_dataset(self, dataset: Dataset) -> dict[str, Any]:
        """Remember what the labels of ``dataset``'s scene mean; they are part of every view's features."""
        try:
            self._scene = dataset_scene(dataset)
            self._names = label_names(self._scene)
        except LabelError as err:
            raise TeacherError(str(err)) from None
        return {"labels": {str(label): list(name) for label, name in sorted(self._names.items())}}

    def frame_input(self, dataset: Dataset, frame: Frame) -> np.ndarray:
        try:
            return dataset_label_image(dataset, frame, self._scene)
        except LabelError as err:
            raise TeacherError(str(err)) from None

    def input_features(self, inputs: np.ndarray) -> torch.Tensor:
        if self._names is None:
            raise TeacherError(f"teacher {self.name!r}: bind_dataset() first, so the labels have a meaning")
        return self.label_features(inputs, self._names)

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

    def label_vector(self, label: int, name: LabelName) -> np.ndarray:
        return instance_vector(label, self.feature_dim, self.config.part_weight, self.config.seed)

    def encode_text(self, phrases: Sequence[str]) -> torch.Tensor:
        return Teacher.encode_text(self, phrases)
