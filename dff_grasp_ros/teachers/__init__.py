"""2D teachers (CLIP, DINO, synthetic) behind one interface; see :mod:`dff_grasp_ros.teachers.base` for the API.

Importing this package stays cheap (no torch, open_clip or timm) because ``vocabulary`` is used by the simulator.
"""
from __future__ import annotations

from typing import Any

from dff_grasp_ros.teachers.base import (TEACHER_CONFIGS, ClipTeacherConfig, DinoTeacherConfig,
                                         SyntheticDinoTeacherConfig, SyntheticTeacherConfig, Teacher,
                                         TeacherConfig, TeacherError, WeightsNotFoundError, make_teacher)


def __getattr__(name: str) -> Any:
    if name == "dataset_features":  # imports torch: only when asked for
        from dff_grasp_ros.teachers.cache import dataset_features

        return dataset_features
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TEACHER_CONFIGS", "ClipTeacherConfig", "DinoTeacherConfig", "SyntheticDinoTeacherConfig",
           "SyntheticTeacherConfig", "Teacher", "TeacherConfig", "TeacherError", "WeightsNotFoundError",
           "make_teacher", "dataset_features"]
