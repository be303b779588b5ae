"""Per-pixel label encoding of simulated views, and what each label means.

Label images (``labels/frame_*.png``, uint16) encode ``0`` for the table (and the no-hit background, which
the auto-sized table never leaves), else ``object_index * PARTS_PER_OBJECT + part_index + 1``, where
``object_index`` is the object's position in the scene's ``objects`` list and ``part_index`` the part's
position in :data:`dff_grasp_ros.sim.objects.OBJECT_PARTS` of its type. In :class:`RenderedView` the table
has ``object_id == part_id == -1``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dff_grasp_ros.sim.objects import OBJECT_PARTS
from dff_grasp_ros.sim.spec import Scene

PARTS_PER_OBJECT = 16
TABLE_LABEL = 0
MAX_OBJECTS = (np.iinfo(np.uint16).max - 1) // PARTS_PER_OBJECT
assert max(len(parts) for parts in OBJECT_PARTS.values()) <= PARTS_PER_OBJECT


class LabelName(NamedTuple):
    """What a label means; all None for the table, so ``embed_label(*name)`` works for every label."""

    type: str | None
    colour: str | None
    part: str | None


def encode_labels(object_id: np.ndarray, part_id: np.ndarray) -> np.ndarray:
    """uint16 label image from object and part id images (-1 = table)."""
    object_id, part_id = np.asarray(object_id), np.asarray(part_id)
    if np.any(object_id >= MAX_OBJECTS) or np.any(part_id >= PARTS_PER_OBJECT):
        raise ValueError(f"labels hold at most {MAX_OBJECTS} objects of {PARTS_PER_OBJECT} parts")
    labels = object_id.astype(np.int64) * PARTS_PER_OBJECT + part_id + 1
    return np.where(object_id < 0, TABLE_LABEL, labels).astype(np.uint16)


def decode_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(object_id, part_id) int32 images from a label image; -1 where the label is the table."""
    labels = np.asarray(labels).astype(np.int64)
    table = labels == TABLE_LABEL
    object_id = np.where(table, -1, (labels - 1) // PARTS_PER_OBJECT).astype(np.int32)
    part_id = np.where(table, -1, (labels - 1) % PARTS_PER_OBJECT).astype(np.int32)
    return object_id, part_id


def label_names(scene: Scene) -> dict[int, LabelName]:
    """Every label that can occur in the scene's label images, mapped to (type, colour, part)."""
    names = {TABLE_LABEL: LabelName(None, None, None)}
    for index, obj in enumerate(scene.objects):
        for part_index, part in enumerate(OBJECT_PARTS[obj.type]):
            label = int(encode_labels(np.array(index), np.array(part_index)))
            names[label] = LabelName(obj.type, obj.color, part)
    return names
