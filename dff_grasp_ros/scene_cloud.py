"""A trained field as the query side sees it: a feature-carrying point cloud in the base frame.

The trainer writes a *field directory* atomically (see :mod:`dff_grasp_ros.atomic`)::

    field.json         metadata: base_frame, teacher settings (language + dino), normalisation, dataset, stats
    field.pt           the trained model's state (reloadable for rendering new views)
    scene_cloud.npz    SceneCloud below: surface points fused from rendered depth, with per-point features

The query node only needs ``field.json`` + ``scene_cloud.npz``; it never has to run the network per query.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dff_grasp_ros.atomic import atomic_write_bytes, is_partial

FIELD_META = "field.json"
FIELD_WEIGHTS = "field.pt"
SCENE_CLOUD = "scene_cloud.npz"


@dataclass
class SceneCloud:
    """Surface points of the scene in the base frame with distilled features (one row per point)."""

    points_m: np.ndarray  # (N, 3) float32, base frame, metres
    normals: np.ndarray  # (N, 3) float32, unit, pointing out of the surface (towards the cameras)
    rgb: np.ndarray  # (N, 3) uint8
    language: np.ndarray  # (N, Dl) float16/32, unit-normalised language (CLIP-space) features
    dino: np.ndarray  # (N, Dd) float16/32, unit-normalised DINO features

    def __post_init__(self) -> None:
        n = len(self.points_m)
        for name in ("normals", "rgb", "language", "dino"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"SceneCloud.{name} has {len(getattr(self, name))} rows, points have {n}")

    def __len__(self) -> int:
        return len(self.points_m)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, points_m=self.points_m.astype(np.float32), normals=self.normals.astype(np.float32),
                 rgb=self.rgb.astype(np.uint8), language=self.language.astype(np.float16),
                 dino=self.dino.astype(np.float16))
        return buffer.getvalue()

    def save(self, path: Path) -> None:
        atomic_write_bytes(Path(path), self.to_bytes())

    @staticmethod
    def load(path: Path) -> SceneCloud:
        with np.load(Path(path), allow_pickle=False) as data:
            return SceneCloud(points_m=data["points_m"], normals=data["normals"], rgb=data["rgb"],
                              language=data["language"].astype(np.float32), dino=data["dino"].astype(np.float32))


def read_field_meta(field_dir: Path) -> dict[str, Any]:
    return json.loads((Path(field_dir) / FIELD_META).read_text())


def is_complete_field(path: Path) -> bool:
    path = Path(path)
    return (path.is_dir() and not is_partial(path) and (path / FIELD_META).is_file()
            and (path / SCENE_CLOUD).is_file())


def newest_field(root: Path) -> Path | None:
    """The most recently published complete field directory under ``root``."""
    root = Path(root)
    if not root.is_dir():
        return None
    found = [p for p in root.iterdir() if is_complete_field(p)]
    if not found:
        return None
    return max(found, key=lambda p: ((p / FIELD_META).stat().st_mtime, p.name))
