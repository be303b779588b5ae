"""The one label format of simulated views: what each pixel shows, and what each label means.

Label images (``labels/frame_*.png`` in a rendered dataset, uint16) encode ``0`` for the table (and the no-hit
background, which the auto-sized table never leaves), else ``object_index * PARTS_PER_OBJECT + part_index + 1``,
where ``object_index`` is the object's position in the scene's ``objects`` list and ``part_index`` the part's
position in :data:`dff_grasp_ros.synthetic.objects.OBJECT_PARTS` of its type. :func:`label_names` says what each
label of a scene means (type, colour, part); the synthetic teachers, the renderer and ground truth all use
this encoding. In :class:`RenderedView` the table has ``object_id == part_id == -1``.

A simulated dataset stores its scene in transforms.json (``"dff_grasp".scene``) and, per view, a label image
(``extra["labels_path"]``); :func:`dataset_label_image` re-renders a view's labels at its pose when none was
stored (a scan captured over ROS from the sim camera), so labels always match the poses.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Mapping, NamedTuple

import numpy as np

from dff_grasp_ros.synthetic.objects import OBJECT_PARTS
from dff_grasp_ros.synthetic.spec import Scene

if TYPE_CHECKING:
    from dff_grasp_ros.dataset import CameraIntrinsics, Dataset, Frame

PARTS_PER_OBJECT = 16
TABLE_LABEL = 0
LABELS_KEY = "labels_path"  # a dataset frame's extra entry naming its label image
MAX_OBJECTS = (np.iinfo(np.uint16).max - 1) // PARTS_PER_OBJECT
assert max(len(parts) for parts in OBJECT_PARTS.values()) <= PARTS_PER_OBJECT


class LabelError(ValueError):
    """A label image or a dataset's labels cannot be read or interpreted; the message says which and why."""


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


def dataset_scene(dataset: Dataset) -> Scene:
    """The simulated scene recorded in a dataset's transforms.json, or a clear error for real scans."""
    from dff_grasp_ros.synthetic.catalog import load_scene

    source = dataset.metadata.get("scene")
    if source is None:
        raise LabelError(f"{dataset.root} is not a simulated dataset (transforms.json has no 'dff_grasp'.scene): "
                         "the synthetic teachers only work on simulated scans; use the clip and dino teachers "
                         "for real ones")
    try:
        return load_scene(source)
    except ValueError as err:
        raise LabelError(f"{dataset.root}: the recorded scene is invalid: {err}") from err


def dataset_label_image(dataset: Dataset, frame: Frame, scene: Scene | None = None) -> np.ndarray:
    """The uint16 label image of one view of a simulated dataset: the stored one, else re-rendered at its pose
    (pass ``scene`` when labelling many frames: loading and checking the recorded scene takes a while)."""
    labels = _stored_labels(dataset, frame)
    if labels is None:
        labels = _rendered_labels(scene or dataset_scene(dataset), dataset.intrinsics,
                                  tuple(np.asarray(frame.camera_to_base, dtype=np.float64).ravel()))
    expected = (dataset.intrinsics.height, dataset.intrinsics.width)
    if labels.shape != expected:
        raise LabelError(f"label image of view {frame.index} is {labels.shape}, the camera is {expected}")
    return labels


@lru_cache(maxsize=64)
def _rendered_labels(scene: Scene, intrinsics: CameraIntrinsics, camera_to_base: tuple[float, ...]) -> np.ndarray:
    """Label images rendered at a pose, kept for a while: both synthetic teachers label the same views."""
    from dff_grasp_ros.synthetic.render import render_labels

    labels = render_labels(scene, intrinsics, np.asarray(camera_to_base).reshape(4, 4))
    labels.setflags(write=False)
    return labels


def check_label_image(labels: np.ndarray, names: Mapping[int, LabelName]) -> tuple[np.ndarray, np.ndarray]:
    """``labels`` as int64 (B, H, W) (a single (H, W) image gets B = 1), and the distinct labels in it (sorted).

    Every label must be in ``names``. The distinct labels come from a histogram, not a sort: label images are
    uint16, and sorting millions of pixels per batch was most of a scan's teacher-feature time.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = labels[None]
    if labels.ndim != 3 or not np.issubdtype(labels.dtype, np.integer) or 0 in labels.shape:
        raise LabelError(f"label images must be integer (B, H, W) or (H, W), got {labels.dtype} {labels.shape}")
    if labels.min() < 0 or labels.max() > np.iinfo(np.uint16).max:
        raise LabelError(f"label values must be within uint16, got {labels.min()}..{labels.max()}")
    present = np.flatnonzero(np.bincount(labels.ravel().astype(np.int64)))
    unknown = sorted(set(present.tolist()) - set(names))
    if unknown:
        raise LabelError(f"label image holds labels {unknown[:5]} that the scene does not define")
    return labels.astype(np.int64), present


def _stored_labels(dataset: Dataset, frame: Frame) -> np.ndarray | None:
    relpath = frame.extra.get(LABELS_KEY)
    if not relpath:
        return None
    from PIL import Image

    path = dataset.root / relpath
    try:
        labels = np.asarray(Image.open(path))
    except OSError as err:
        raise LabelError(f"cannot read label image {path}: {err}") from err
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise LabelError(f"label image {path} must be a single-channel integer image, got {labels.dtype} "
                         f"{labels.shape}")
    return labels
