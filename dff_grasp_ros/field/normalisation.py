"""The map between the robot's base frame (metres) and the field's normalised training box.

nerfstudio's dataparser moves camera poses into a box: ``p_box = scale * (R @ p_base + t)`` with its
``dataparser_transform`` ``[R | t]`` (3x4) and ``dataparser_scale``. Stored with every field so its outputs can be
mapped back to ``base_link`` metres.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dff_grasp_ros.dataset import OPTICAL_TO_OPENGL


@dataclass(frozen=True)
class Normalisation:
    """``p_box = scale * (rotation @ p_base + translation)``; lengths in the box are ``scale`` times metres."""

    transform: np.ndarray  # (3, 4) [R | t]
    scale: float

    def __post_init__(self) -> None:
        transform = np.asarray(self.transform, dtype=np.float64)
        if transform.shape != (3, 4) or not np.all(np.isfinite(transform)):
            raise ValueError(f"normalisation transform must be a finite 3x4 matrix, got {transform.shape}")
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"normalisation scale must be positive, got {self.scale}")
        object.__setattr__(self, "transform", transform)
        object.__setattr__(self, "scale", float(self.scale))

    @property
    def rotation(self) -> np.ndarray:
        return self.transform[:, :3]

    @property
    def translation(self) -> np.ndarray:
        return self.transform[:, 3]

    def points_to_box(self, points_base_m: np.ndarray) -> np.ndarray:
        return self.scale * (np.asarray(points_base_m) @ self.rotation.T + self.translation)

    def points_to_base(self, points_box: np.ndarray) -> np.ndarray:
        return (np.asarray(points_box) / self.scale - self.translation) @ self.rotation

    def camera_to_box(self, camera_to_base: np.ndarray) -> np.ndarray:
        """Optical-convention ``camera_to_base`` (4x4) to nerfstudio's OpenGL camera-to-world (3x4) in the box."""
        c2w = np.asarray(camera_to_base, dtype=np.float64) @ OPTICAL_TO_OPENGL
        out = np.empty((3, 4))
        out[:, :3] = self.rotation @ c2w[:3, :3]
        out[:, 3] = self.points_to_box(c2w[:3, 3])
        return out

    def to_json(self) -> dict[str, Any]:
        return {"transform": self.transform.tolist(), "scale": self.scale}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Normalisation:
        return Normalisation(np.array(data["transform"], dtype=np.float64), float(data["scale"]))
