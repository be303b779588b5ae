"""Rendered views agree with the scene's geometry, labels and ground truth (tiny scene, a few views)."""
from __future__ import annotations

import numpy as np
import pytest

from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.synthetic import ground_truth, load_scene, render_view, scan_poses, scene_intrinsics
from dff_grasp_ros.synthetic.world import world_of

VIEWS = (0, 5, 13)


@pytest.fixture(scope="module")
def tiny():
    scene = load_scene("tiny")
    intrinsics = scene_intrinsics(scene)
    poses = scan_poses(scene)
    return scene, intrinsics, poses, {i: render_view(scene, intrinsics, poses[i]) for i in VIEWS}


def back_project(depth_m: np.ndarray, intrinsics: CameraIntrinsics, camera_to_base: np.ndarray) -> np.ndarray:
    """(H, W, 3) base-frame points of a z-depth image: the textbook pinhole, pixel centres at +0.5."""
    rows, cols = np.indices(depth_m.shape)
    x = (cols + 0.5 - intrinsics.cx) / intrinsics.fx * depth_m
    y = (rows + 0.5 - intrinsics.cy) / intrinsics.fy * depth_m
    camera_points = np.stack([x, y, depth_m], axis=-1)
    return camera_points @ camera_to_base[:3, :3].T + camera_to_base[:3, 3]


def test_views_are_complete_and_well_formed(tiny) -> None:
    scene, intrinsics, _, views = tiny
    for view in views.values():
        assert view.rgb.shape == (intrinsics.height, intrinsics.width, 3) and view.rgb.dtype == np.uint8
        assert view.depth_m.dtype == np.float32 and np.all(np.isfinite(view.depth_m))  # the table fills the image
        assert view.depth_m.min() > 0.2 and view.depth_m.max() < 2.0
        assert np.array_equal(view.object_id < 0, view.part_id < 0)
        assert np.array_equal(view.labels() == 0, view.object_id < 0)
        assert set(np.unique(view.object_id)) <= {-1, 0, 1}
    seen = np.concatenate([v.labels().ravel() for v in views.values()])
    assert {1, 2, 17} <= set(np.unique(seen).tolist())  # mug body, mug handle, box


def test_depth_back_projects_onto_the_true_surfaces(tiny) -> None:
    scene, intrinsics, poses, views = tiny
    world = world_of(scene)
    for index, view in views.items():
        points = back_project(view.depth_m.astype(np.float64), intrinsics, poses[index]).reshape(-1, 3)
        errors = world.distance_to_surface_m(points)
        assert errors.max() < 2e-3, f"view {index}: worst {errors.max() * 1000:.2f} mm off the surface"
        # Proof that the test can fail: Euclidean range instead of z-depth lands off the table.
        ray_length = np.linalg.norm(np.dstack([(np.arange(intrinsics.width) + 0.5 - intrinsics.cx)[None, :]
                                               * np.ones((intrinsics.height, 1)) / intrinsics.fx,
                                               (np.arange(intrinsics.height) + 0.5 - intrinsics.cy)[:, None]
                                               * np.ones((1, intrinsics.width)) / intrinsics.fy,
                                               np.ones(view.depth_m.shape)]), axis=-1)
        wrong = back_project(view.depth_m / ray_length, intrinsics, poses[index]).reshape(-1, 3)
        assert np.median(world.distance_to_surface_m(wrong)) > 3e-3


def test_ground_truth_points_lie_on_their_parts(tiny) -> None:
    scene = tiny[0]
    truth = ground_truth(scene)
    assert truth["frame_id"] == "base_link" and len(truth["objects"]) == len(scene.objects)
    world = world_of(scene)
    for obj, spec in zip(truth["objects"], scene.objects):
        assert (obj["type"], obj["color"]) == (spec.type, spec.color)
        for name, part in obj["parts"].items():
            points = np.asarray(part["points"])
            assert 200 <= len(points) <= 300, f"{obj['type']} {name}: {len(points)} points"
            assert world.distance_to_surface_m(points).max() < 2e-4  # rounded to 0.1 mm
            assert np.all(points[:, 2] > -1e-4)
    mug = truth["objects"][0]["parts"]
    body_radius = np.linalg.norm(np.asarray(mug["body"]["points"])[:, :2] - scene.objects[0].position_m, axis=1)
    handle_radius = np.linalg.norm(np.asarray(mug["handle"]["points"])[:, :2] - scene.objects[0].position_m, axis=1)
    assert body_radius.max() < 0.0415 and handle_radius.min() > 0.04  # buried handle ends are left out


def test_label_images_agree_with_ground_truth(tiny) -> None:
    scene, intrinsics, poses, views = tiny
    truth = ground_truth(scene)
    gt_points = np.concatenate([np.asarray(p["points"]) for o in truth["objects"] for p in o["parts"].values()])
    gt_labels = np.concatenate([np.full(len(p["points"]), p["label"]) for o in truth["objects"]
                                for p in o["parts"].values()])
    for index, view in views.items():
        labels = view.labels()
        on_object = labels > 0
        points = back_project(view.depth_m.astype(np.float64), intrinsics, poses[index])[on_object]
        nearest = np.argmin(np.linalg.norm(points[:, None, :] - gt_points[None, :, :], axis=2), axis=1)
        agreement = np.mean(gt_labels[nearest] == labels[on_object])
        assert agreement > 0.9, f"view {index}: only {agreement:.0%} of object pixels match the nearest truth"


def test_colours_are_consistent_across_views(tiny) -> None:
    """The same surface point has about the same colour in two views (world-fixed texture, Lambertian)."""
    scene, intrinsics, poses, views = tiny
    first, second = views[VIEWS[0]], views[VIEWS[1]]
    points = back_project(first.depth_m.astype(np.float64), intrinsics, poses[VIEWS[0]]).reshape(-1, 3)
    to_second = np.linalg.inv(poses[VIEWS[1]])
    camera = points @ to_second[:3, :3].T + to_second[:3, 3]
    cols = np.floor(camera[:, 0] / camera[:, 2] * intrinsics.fx + intrinsics.cx).astype(int)
    rows = np.floor(camera[:, 1] / camera[:, 2] * intrinsics.fy + intrinsics.cy).astype(int)
    inside = (cols >= 0) & (cols < intrinsics.width) & (rows >= 0) & (rows < intrinsics.height)
    visible = inside.copy()
    visible[inside] = np.abs(second.depth_m[rows[inside], cols[inside]] - camera[inside, 2]) < 2e-3
    assert visible.sum() > 1000
    difference = np.abs(first.rgb.reshape(-1, 3)[visible].astype(int) - second.rgb[rows[visible], cols[visible]])
    assert np.median(difference) <= 8
    assert first.rgb.reshape(-1, 3)[visible].std() > 10  # and there is texture to match


def test_rendering_is_deterministic(tiny) -> None:
    scene, intrinsics, poses, views = tiny
    again = render_view(scene, intrinsics, poses[VIEWS[0]])
    assert np.array_equal(again.rgb, views[VIEWS[0]].rgb) and np.array_equal(again.depth_m, views[VIEWS[0]].depth_m)


def test_bad_render_input_fails_clearly(tiny) -> None:
    scene, intrinsics, poses, _ = tiny
    squashed = poses[0].copy()
    squashed[:3, 0] *= 2
    with pytest.raises(ValueError, match="rotation"):
        render_view(scene, intrinsics, squashed)
    with pytest.raises(ValueError, match="4x4"):
        render_view(scene, intrinsics, np.eye(3))
    distorted = CameraIntrinsics(**{**intrinsics.__dict__, "distortion": (0.1, 0.0, 0.0, 0.0)})
    with pytest.raises(ValueError, match="distortion"):
        render_view(scene, distorted, poses[0])
