"""Semantic label images of simulated datasets, for the synthetic teachers.

A simulated dataset (``dff-grasp sim render``) stores its scene in transforms.json ("dff_grasp".scene) and,
per view, a uint16 label image (``extra["labels_path"]``, encoding in :mod:`dff_grasp_ros.sim.labels`). Views
without a label image are re-rendered at their pose from the scene, so labels always match the poses.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from dff_grasp_ros.dataset import Dataset, Frame
from dff_grasp_ros.teachers.base import TeacherError
from dff_grasp_ros.teachers.synthetic import NONE, semantic_pixel

LABELS_KEY = "labels_path"


def semantic_from_labels(labels: np.ndarray, names: Mapping[int, tuple], instances: np.ndarray) -> np.ndarray:
    """int16 (H, W, 4) semantic image from a label image, the scene's label names and per-pixel object index.

    ``names`` maps a label value to (type, colour, part), all None for the table; ``instances`` is the object
    index per pixel (-1 on the table). A label the scene does not know is an error, never silently the table.
    """
    labels = np.asarray(labels)
    values, inverse = np.unique(labels, return_inverse=True)
    unknown = [int(v) for v in values if int(v) not in names]
    if unknown:
        raise TeacherError(f"label image holds labels {unknown[:5]} that the scene does not define")
    rows = np.array([semantic_pixel(*names[int(v)])[:3] for v in values], dtype=np.int16).reshape(-1, 3)
    semantic = np.empty((*labels.shape, 4), dtype=np.int16)
    semantic[..., :3] = rows[inverse.reshape(labels.shape)]
    semantic[..., 3] = np.where(semantic[..., 0] == NONE, NONE, instances)
    return semantic


def semantic_labels(dataset: Dataset, frame: Frame) -> np.ndarray:
    """The semantic label image of one view of a simulated dataset (stored labels, else re-rendered)."""
    from dff_grasp_ros.sim.labels import decode_labels, label_names

    scene = dataset_scene(dataset)
    labels = _stored_labels(dataset, frame)
    if labels is None:
        from dff_grasp_ros.sim.render import render_view

        labels = render_view(scene, dataset.intrinsics, frame.camera_to_base).labels()
    expected = (dataset.intrinsics.height, dataset.intrinsics.width)
    if labels.shape != expected:
        raise TeacherError(f"label image of view {frame.index} is {labels.shape}, the camera is {expected}")
    instances, _ = decode_labels(labels)
    return semantic_from_labels(labels, label_names(scene), instances)


def dataset_scene(dataset: Dataset):
    """The dataset's simulated scene, or a clear error for real scans."""
    from dff_grasp_ros.sim.catalog import load_scene

    source = dataset.metadata.get("scene")
    if source is None:
        raise TeacherError(f"{dataset.root} is not a simulated dataset (transforms.json has no "
                           "'dff_grasp'.scene): the synthetic teachers only work on simulated scans; use the "
                           "clip and dino teachers for real ones")
    try:
        return load_scene(source)
    except ValueError as err:
        raise TeacherError(f"{dataset.root}: the recorded scene is invalid: {err}") from err


def _stored_labels(dataset: Dataset, frame: Frame) -> np.ndarray | None:
    relpath = frame.extra.get(LABELS_KEY)
    if not relpath:
        return None
    from PIL import Image

    path = dataset.root / relpath
    try:
        labels = np.asarray(Image.open(path))
    except OSError as err:
        raise TeacherError(f"cannot read label image {path}: {err}") from err
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise TeacherError(f"label image {path} must be a single-channel integer image, got {labels.dtype} "
                           f"{labels.shape}")
    return labels
