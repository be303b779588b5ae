"""dataset_features: per-view feature cache next to the dataset, keyed by input content and teacher settings."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dff_grasp_ros.dataset import CameraIntrinsics, DatasetWriter, load_dataset
from dff_grasp_ros.teachers import TeacherError, make_teacher
from dff_grasp_ros.teachers import cache as cache_module
from dff_grasp_ros.teachers.cache import CACHE_DIRNAME, cache_key, dataset_features


@pytest.fixture(scope="module")
def dino():
    return make_teacher("dino", weights="random", device="cpu")


@pytest.fixture
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    intrinsics = CameraIntrinsics(48, 32, 40.0, 40.0, 24.0, 16.0)
    with DatasetWriter(tmp_path, "scan", intrinsics) as writer:
        for _ in range(3):
            writer.add_view(rng.integers(0, 256, (32, 48, 3), dtype=np.uint8), None, np.eye(4))
        root = writer.commit()
    return load_dataset(root)


def counting(teacher, monkeypatch) -> list[int]:
    """Record the batch sizes the teacher is asked to compute."""
    calls: list[int] = []
    original = teacher.input_features

    def wrapped(inputs):
        calls.append(len(inputs))
        return original(inputs)

    monkeypatch.setattr(teacher, "input_features", wrapped)
    return calls


def test_second_call_reads_the_cache_and_returns_the_same_maps(dataset, dino, monkeypatch):
    calls = counting(dino, monkeypatch)
    progress: list[tuple[int, int]] = []
    first = dataset_features(dataset, dino, batch_size=2, progress=lambda done, total: progress.append((done, total)))
    assert calls == [2, 1]
    assert first.shape == (3, 4, 6, 384) and first.dtype == torch.float16
    assert progress[-1] == (3, 3) and [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert len(list((dataset.root / CACHE_DIRNAME / "dino").glob("*.npy"))) == 3

    again = dataset_features(dataset, dino, batch_size=2)
    assert calls == [2, 1]  # nothing recomputed
    torch.testing.assert_close(again, first)
    expected = dino.image_features(np.stack([dataset.load_rgb(f) for f in dataset.frames])).half()
    torch.testing.assert_close(first, expected, atol=2e-3, rtol=0)


def test_changed_settings_or_image_change_the_key(dataset, dino):
    rgb = dataset.load_rgb(dataset.frames[0])
    key = cache_key(dino, rgb)
    assert cache_key(dino, rgb.copy()) == key
    touched = rgb.copy()
    touched[0, 0, 0] ^= 1
    assert cache_key(dino, touched) != key
    rescaled = make_teacher("dino", weights="random", device="cpu", image_scale=0.5)
    assert cache_key(rescaled, rgb) != key
    other_weights = make_teacher("dino", weights="random", random_seed=1, device="cpu")
    assert cache_key(other_weights, rgb) != key
    on_other_device = make_teacher("dino", weights="random", device="cpu", fp16=False)
    assert cache_key(on_other_device, rgb) == key  # runtime settings do not change the features' identity


def test_a_settings_change_misses_the_cache_and_stores_both(dataset, dino, monkeypatch):
    dataset_features(dataset, dino)
    rescaled = make_teacher("dino", weights="random", device="cpu", image_scale=0.5)
    calls = counting(rescaled, monkeypatch)
    maps = dataset_features(dataset, rescaled)
    assert calls == [3] and maps.shape == (3, 2, 3, 384)
    assert len(list((dataset.root / CACHE_DIRNAME / "dino").glob("*.npy"))) == 6


def test_a_corrupt_entry_is_recomputed_and_replaced(dataset, dino, monkeypatch):
    first = dataset_features(dataset, dino)
    entry = sorted((dataset.root / CACHE_DIRNAME / "dino").glob("*.npy"))[0]
    entry.write_bytes(b"torn")
    calls = counting(dino, monkeypatch)
    with pytest.warns(UserWarning, match="unreadable"):
        again = dataset_features(dataset, dino)
    assert calls == [1]
    torch.testing.assert_close(again, first)
    assert np.load(entry).shape == (4, 6, 384)


def test_an_unwritable_dataset_is_used_uncached(dataset, dino, monkeypatch):
    def refuse(path, data):
        raise PermissionError(13, "read-only file system", str(path))

    monkeypatch.setattr(cache_module, "atomic_write_bytes", refuse)
    with pytest.warns(UserWarning, match="not cached"):
        maps = dataset_features(dataset, dino)
    assert maps.shape == (3, 4, 6, 384)
    assert not (dataset.root / CACHE_DIRNAME).exists()


def test_a_missing_image_names_the_view(dataset, dino):
    (dataset.root / dataset.frames[1].image_path).unlink()
    with pytest.raises(TeacherError, match="view 1 .*frame_00001.png"):
        dataset_features(dataset, dino)
    with pytest.raises(TeacherError, match="batch_size"):
        dataset_features(dataset, dino, batch_size=0)
