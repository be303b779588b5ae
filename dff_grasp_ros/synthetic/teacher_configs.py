"""The synthetic teachers' configs: what the ``dff_grasp.teachers`` entry points register (setup.cfg).

Apart from their implementation (:mod:`dff_grasp_ros.synthetic.teachers`, torch): checking a teacher's name (the
launch plan, a node's start) loads every registered config, and the implementation's imports took ~3.4 s of CPU
before the demo's nodes could start.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from dff_grasp_ros.synthetic.labels import LabelError, dataset_scene
from dff_grasp_ros.teachers.base import TeacherConfig, TeacherError

if TYPE_CHECKING:
    from dff_grasp_ros.dataset import Dataset


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
