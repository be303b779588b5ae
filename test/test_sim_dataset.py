"""render_dataset writes what dataset.py and nerfstudio read, with poses and depth in the agreed conventions."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dff_grasp_ros.dataset import load_dataset, png_units_to_depth_m
from dff_grasp_ros.synthetic import load_scene, render_dataset, render_view, scan_poses, scene_intrinsics
from dff_grasp_ros.synthetic.verify import ray_errors_m


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    calls: list[tuple[int, int]] = []
    path = render_dataset("tiny", tmp_path_factory.mktemp("sim"), name="tiny_scan",
                          progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i + 1, 24) for i in range(24)]
    return path


def test_layout_reads_back_with_dataset_py(tiny_dataset: Path) -> None:
    scene = load_scene("tiny")
    dataset = load_dataset(tiny_dataset)
    assert tiny_dataset.name == "tiny_scan" and dataset.pose_source == "sim" and dataset.base_frame == "base_link"
    assert dataset.intrinsics == scene_intrinsics(scene)
    assert np.allclose(dataset.poses(), scan_poses(scene), atol=1e-12)
    assert load_scene(dataset.metadata["scene"]) == scene
    frame = dataset.frames[7]
    view = render_view(scene, dataset.intrinsics, frame.camera_to_base)
    assert np.array_equal(dataset.load_rgb(frame), view.rgb)
    assert np.allclose(dataset.load_depth_m(frame), view.depth_m, atol=5e-4)
    labels = np.asarray(Image.open(tiny_dataset / frame.extra["labels_path"]))
    assert labels.dtype == np.uint16 and np.array_equal(labels, view.labels())
    assert len(list((tiny_dataset / "labels").glob("*.png"))) == 24


def test_ground_truth_json_has_the_design_format(tiny_dataset: Path) -> None:
    truth = json.loads((tiny_dataset / "ground_truth.json").read_text())
    assert truth["frame_id"] == "base_link"
    assert [(o["id"], o["type"], o["color"]) for o in truth["objects"]] == [(0, "mug", "red"), (1, "box", "blue")]
    assert set(truth["objects"][0]["parts"]) == {"body", "handle"}
    points = np.asarray(truth["objects"][0]["parts"]["handle"]["points"])
    assert points.shape[1] == 3 and len(points) >= 200


def test_nerfstudio_rays_marched_to_stored_depth_hit_the_true_surfaces(tiny_dataset: Path) -> None:
    errors = ray_errors_m(tiny_dataset, n_pixels=32)
    assert len(errors) == 24 * 32
    assert np.max(errors) < 2e-3 and np.median(errors) < 5e-4


def test_the_nerfstudio_check_catches_a_wrong_pose(tiny_dataset: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dataset, broken)
    transforms = json.loads((broken / "transforms.json").read_text())
    transforms["frames"][3]["transform_matrix"][2][3] += 0.01  # one camera 1 cm too high
    (broken / "transforms.json").write_text(json.dumps(transforms))
    errors = ray_errors_m(broken, n_pixels=32).reshape(24, 32)
    assert np.median(errors[3]) > 5e-3 and np.max(np.delete(errors, 3, axis=0)) < 2e-3


def test_depth_pngs_hold_z_depth_in_millimetres(tiny_dataset: Path) -> None:
    dataset = load_dataset(tiny_dataset)
    frame = dataset.frames[0]
    raw = np.asarray(Image.open(tiny_dataset / frame.depth_path))
    assert raw.dtype == np.uint16 and raw.min() > 200 and raw.max() < 2000
    assert np.allclose(png_units_to_depth_m(raw), dataset.load_depth_m(frame), equal_nan=True)
