"""Synthetic teachers on simulated datasets: labels from the stored label images or re-rendered at the poses."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dff_grasp_ros.dataset import CameraIntrinsics, DatasetWriter, load_dataset
from dff_grasp_ros.synthetic import catalog as sim_catalog
from dff_grasp_ros.synthetic.cameras import scan_poses, scene_intrinsics
from dff_grasp_ros.synthetic.labels import TABLE_LABEL, dataset_label_image, decode_labels, label_names
from dff_grasp_ros.synthetic.render import render_view
from dff_grasp_ros.teachers import TeacherError, make_teacher
from dff_grasp_ros.teachers.cache import dataset_features


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Two views from the same pose: the first stores its label image, the second must be re-rendered."""
    scene = sim_catalog.load_scene("tiny")
    intrinsics = scene_intrinsics(scene)
    pose = scan_poses(scene)[0]
    view = render_view(scene, intrinsics, pose)
    root = tmp_path_factory.mktemp("sim")
    with DatasetWriter(root, "tiny", intrinsics, metadata={"scene": scene.to_dict()}) as writer:
        writer.add_view(view.rgb, view.depth_m, pose, extra_images={"labels": view.labels()})
        writer.add_view(view.rgb, view.depth_m, pose)
        path = writer.commit()
    return load_dataset(path), scene, view


def test_stored_and_re_rendered_labels_agree_and_name_the_scene_objects(simulated):
    dataset, scene, view = simulated
    assert "labels_path" in dataset.frames[0].extra and "labels_path" not in dataset.frames[1].extra
    stored, rendered = (dataset_label_image(dataset, frame) for frame in dataset.frames)
    np.testing.assert_array_equal(stored, rendered)
    mug = scene.objects[0]
    mug_pixels = view.object_id == 0
    assert mug_pixels.any()
    names = label_names(scene)
    assert {names[int(v)].type for v in np.unique(stored[mug_pixels])} == {mug.type}
    assert np.all(decode_labels(stored[mug_pixels])[0] == 0)
    assert np.all(stored[view.object_id < 0] == TABLE_LABEL)


def test_synthetic_dataset_features_put_mug_where_the_mug_is(simulated):
    dataset, _, view = simulated
    teacher = make_teacher("synthetic", noise_std=0.02)
    maps = dataset_features(dataset, teacher)
    grid_h, grid_w = teacher.grid_shape(view.object_id.shape)
    assert maps.shape == (2, grid_h, grid_w, 64)
    torch.testing.assert_close(maps[0], maps[1])  # same labels -> same (seeded) noise
    mug_fraction = torch.nn.functional.adaptive_avg_pool2d(
        torch.from_numpy(view.object_id == 0).float()[None, None], (grid_h, grid_w))[0, 0]
    similarity = maps[0].float() @ teacher.encode_text(["red mug"])[0]
    assert similarity[mug_fraction > 0.5].min() > similarity[mug_fraction == 0].max()


def test_synthetic_dino_distinguishes_the_objects_of_the_scene(simulated):
    dataset, _, view = simulated
    maps = dataset_features(dataset, make_teacher("synthetic_dino", noise_std=0.0))[0].float()
    grid = maps.shape[:2]
    fractions = [torch.nn.functional.adaptive_avg_pool2d(
        torch.from_numpy(view.object_id == i).float()[None, None], grid)[0, 0] for i in (0, 1)]
    mug, box = (maps[f > 0.99].mean(0) for f in fractions)
    assert torch.dot(mug / mug.norm(), box / box.norm()) < 0.5


def test_real_scans_and_unknown_labels_are_clear_errors(simulated, tmp_path):
    _, scene, _ = simulated
    intrinsics = CameraIntrinsics(16, 16, 10.0, 10.0, 8.0, 8.0)
    with DatasetWriter(tmp_path, "real", intrinsics) as writer:
        writer.add_view(np.zeros((16, 16, 3), np.uint8), None, np.eye(4))
        real = load_dataset(writer.commit())
    with pytest.raises(TeacherError, match="not a simulated dataset"):
        dataset_features(real, make_teacher("synthetic"))
    with pytest.raises(TeacherError, match="does not define"):
        make_teacher("synthetic").label_features(np.full((4, 4), 999, np.uint16), label_names(scene))
