"""Teacher features of a whole dataset, cached next to it.

Layout: ``DATASET/.teacher_cache/<teacher name>/<key>.npy``, one float16 (h, w, D) map per view, where ``key``
hashes the exact array the teacher reads for that view (:meth:`Teacher.frame_input`: the decoded RGB, or a label
image) together with :meth:`Teacher.cache_identity` (settings + weights) and :meth:`Teacher.bind_dataset`.
Changing a setting or an image therefore misses; moving or copying the dataset keeps its cache. Files are
written atomically, so concurrent trainers and killed processes never leave a torn entry; an unreadable entry is
recomputed.
"""
from __future__ import annotations

import contextvars
import hashlib
import io
import json
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from dff_grasp_ros.atomic import atomic_write_bytes
from dff_grasp_ros.dataset import Dataset
from dff_grasp_ros.teachers.base import Teacher, TeacherError

CACHE_DIRNAME = ".teacher_cache"
Progress = Callable[[int, int], None]  # (views done, views total)
FeaturesProgress = Callable[[str, int, int], None]  # (teacher name, views done, views total)


@dataclass(frozen=True)
class FeatureWatch:
    """A caller's view into :func:`dataset_features` when it cannot pass arguments: nerfstudio's pipeline setup
    builds the datamanager that computes the features from its config alone. ``should_stop()`` is asked before
    each view, ``progress`` told after each."""

    should_stop: Callable[[], bool] | None = None
    progress: FeaturesProgress | None = None


_WATCH: contextvars.ContextVar[FeatureWatch | None] = contextvars.ContextVar("teacher_features_watch",
                                                                            default=None)


class FeaturesStopped(RuntimeError):
    """``should_stop`` of the :func:`watching_features` block asked to stop while teacher features were computed."""


@contextmanager
def watching_features(watch: FeatureWatch) -> Iterator[None]:
    """Within the block (this thread), :func:`dataset_features` reports to ``watch`` and raises FeaturesStopped
    once its ``should_stop()``."""
    token = _WATCH.set(watch)
    try:
        yield
    finally:
        _WATCH.reset(token)


def cache_key(teacher: Teacher, frame_input: np.ndarray, dataset_context: dict | None = None) -> str:
    """Hex key of one view's features: input bytes, dtype and shape, the teacher's identity and what else on the
    dataset the features depend on (:meth:`Teacher.bind_dataset`)."""
    array = np.ascontiguousarray(frame_input)
    digest = hashlib.sha256()
    digest.update(json.dumps(teacher.cache_identity(), sort_keys=True).encode())
    if dataset_context:
        digest.update(json.dumps(dataset_context, sort_keys=True).encode())
    digest.update(repr((array.dtype.str, array.shape)).encode())
    digest.update(array.tobytes())
    return digest.hexdigest()[:40]


def cache_dir(dataset_root: Path, teacher: Teacher) -> Path:
    return Path(dataset_root) / CACHE_DIRNAME / teacher.name


def dataset_features(dataset: Dataset, teacher: Teacher, batch_size: int = 8, device: str | torch.device = "cpu",
                     progress: Progress | None = None) -> torch.Tensor:
    """Feature maps of every frame, in frame order: float16 (N, h, w, D) on ``device``.

    Views found in the cache are read; the others are computed in batches of ``batch_size`` on the teacher's
    own device and written to the cache. A dataset directory that cannot be written to is used uncached.
    """
    if batch_size < 1:
        raise TeacherError(f"batch_size must be >= 1, got {batch_size}")
    if not dataset.frames:
        raise TeacherError(f"dataset {dataset.root} has no frames")
    total = len(dataset.frames)
    maps: list[np.ndarray | None] = [None] * total
    pending: list[tuple[int, str, np.ndarray]] = []
    writable = [True]
    done = 0
    context = teacher.bind_dataset(dataset)
    watch = _WATCH.get() or FeatureWatch()

    def report(views_done: int) -> None:
        if progress is not None:
            progress(views_done, total)
        if watch.progress is not None:
            watch.progress(teacher.name, views_done, total)

    for index, frame in enumerate(dataset.frames):
        if watch.should_stop is not None and watch.should_stop():
            raise FeaturesStopped(f"cancelled while computing teacher features: {done} of {total} views done")
        try:
            frame_input = teacher.frame_input(dataset, frame)
        except OSError as err:
            raise TeacherError(f"{teacher.name}: cannot read view {index} ({frame.image_path}) of "
                               f"{dataset.root}: {err}") from err
        key = cache_key(teacher, frame_input, context)
        maps[index] = _read_entry(cache_dir(dataset.root, teacher) / f"{key}.npy",
                                  (*teacher.grid_shape(frame_input.shape[:2]), teacher.feature_dim))
        if maps[index] is None:
            pending.append((index, key, frame_input))
        else:
            done += 1
            report(done)
        if len(pending) == batch_size or (index == total - 1 and pending):
            _compute_batch(dataset.root, teacher, pending, maps, writable)
            done += len(pending)
            pending = []
            report(done)
    shapes = {m.shape for m in maps if m is not None}
    if len(shapes) != 1:
        raise TeacherError(f"{teacher.name}: views of {dataset.root} give feature maps of different sizes {shapes}")
    return torch.from_numpy(np.stack(maps)).to(device)


def _compute_batch(root: Path, teacher: Teacher, pending: list[tuple[int, str, np.ndarray]],
                   maps: list[np.ndarray | None], writable: list[bool]) -> None:
    inputs = [item[2] for item in pending]
    if len({x.shape for x in inputs}) != 1:  # mixed sizes cannot be stacked: one view at a time
        features = [teacher.input_features(x[None])[0] for x in inputs]
    else:
        features = list(teacher.input_features(np.stack(inputs)))
    for (index, key, _), feature in zip(pending, features):
        maps[index] = feature.to("cpu", torch.float16).numpy()
        if writable[0]:
            writable[0] = _write_entry(cache_dir(root, teacher) / f"{key}.npy", maps[index])


def _read_entry(path: Path, expected_shape: tuple[int, ...]) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, MemoryError) as err:  # MemoryError: a header declaring a huge array
        warnings.warn(f"ignoring unreadable teacher cache entry {path}: {err}", stacklevel=2)
        return None
    if array.shape != expected_shape or array.dtype != np.float16:
        warnings.warn(f"ignoring teacher cache entry {path}: {array.dtype} {array.shape}, expected {expected_shape}",
                      stacklevel=2)
        return None
    if not np.isfinite(array).all():  # teachers give finite features: NaN here trained to "loss is not finite"
        warnings.warn(f"ignoring teacher cache entry {path}: it holds NaN or infinite values", stacklevel=2)
        return None
    return array


def _write_entry(path: Path, array: np.ndarray) -> bool:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as err:
        warnings.warn(f"teacher features not cached ({path.parent} is not writable: {err}); continuing uncached",
                      stacklevel=2)
        return False
    return True
