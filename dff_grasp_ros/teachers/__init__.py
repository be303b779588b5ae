"""2D teachers (CLIP, DINO, and any registered by entry point) behind one interface.

See :mod:`dff_grasp_ros.teachers.base` for the API. Importing this package stays cheap (no torch, open_clip or
timm): the heavy modules load when a teacher is built or features are computed.
"""
from __future__ import annotations

from typing import Any

from dff_grasp_ros.teachers.base import (
    TEACHER_ENTRY_POINTS,
    ClipTeacherConfig,
    DinoTeacherConfig,
    Teacher,
    TeacherConfig,
    TeacherError,
    WeightsNotFoundError,
    make_teacher,
    teacher_config,
    teacher_configs,
    teacher_pair,
)


def __getattr__(name: str) -> Any:
    if name == "dataset_features":  # imports torch: only when asked for
        from dff_grasp_ros.teachers.cache import dataset_features

        return dataset_features
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TEACHER_ENTRY_POINTS", "ClipTeacherConfig", "DinoTeacherConfig", "Teacher", "TeacherConfig",
           "TeacherError", "WeightsNotFoundError", "dataset_features", "make_teacher", "teacher_config",
           "teacher_configs", "teacher_pair"]
