"""Pure pieces of the dff field: teacher lookup, normalisation, fusion geometry (no training)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.field.export import evenly_spaced, scaled_intrinsics
from dff_grasp_ros.field.features import detail_patches, sample_detail_pixels, sample_feature_grid
from dff_grasp_ros.field.fusion import VoxelSums, backproject, measured_points, orient_towards, voxel_mean
from dff_grasp_ros.field.normalisation import Normalisation
from dff_grasp_ros.geometry import voxel_keys
from dff_grasp_ros.teachers import TeacherError, teacher_pair


def test_feature_lookup_is_bilinear_like_grid_sample():
    generator = torch.Generator().manual_seed(0)
    maps = torch.randn(3, 5, 7, 4, generator=generator)
    height, width = 40, 56
    rows = torch.randint(0, height, (200,), generator=generator)
    cols = torch.randint(0, width, (200,), generator=generator)
    images = torch.randint(0, 3, (200,), generator=generator)
    got = sample_feature_grid(maps, images, torch.stack([rows, cols], -1), height, width)
    # grid_sample with align_corners=False puts patch centres where sample_feature_grid does.
    grid = torch.stack([(cols + 0.5) / width * 2 - 1, (rows + 0.5) / height * 2 - 1], -1).float()
    expected = torch.stack([
        torch.nn.functional.grid_sample(maps[i].permute(2, 0, 1)[None], grid[k][None, None, None],
                                        mode="bilinear", padding_mode="border", align_corners=False)[0, :, 0, 0]
        for k, i in enumerate(images.tolist())])
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_feature_lookup_hits_patch_centres_exactly():
    maps = torch.arange(2 * 3 * 1, dtype=torch.float32).view(1, 2, 3, 1)
    patch_centres_px = torch.tensor([[4.0, 4.0], [4.0, 12.0], [12.0, 20.0]])  # 8 px patches
    # The function samples pixel centres (index + 0.5), so pass indices half a pixel before the patch centres.
    values = sample_feature_grid(maps, torch.zeros(3, dtype=torch.long), patch_centres_px - 0.5, 16, 24)
    torch.testing.assert_close(values[:, 0], torch.tensor([0.0, 1.0, 5.0]))


def _two_label_maps() -> torch.Tensor:
    """Two images of 6x8 patches: the first all one feature with a 1x2 strip of another (a knife at patch scale),
    the second flat."""
    maps = torch.zeros(2, 6, 8, 4)
    maps[..., 0] = 1.0
    maps[0, 2, 3:5] = torch.tensor([0.0, 1.0, 0.0, 0.0])
    return maps


def test_detail_patches_are_where_the_features_change_and_never_in_a_flat_image():
    patches = detail_patches(_two_label_maps(), patch_fraction=0.25)
    chosen = {tuple(p) for p in patches.tolist()}
    # The strip and its 4-neighbours; nothing of the flat image.
    strip = {(0, 2, 3), (0, 2, 4)}
    around = {(0, 1, 3), (0, 1, 4), (0, 3, 3), (0, 3, 4), (0, 2, 2), (0, 2, 5)}
    assert chosen == strip | around
    with pytest.raises(ValueError, match="patch_fraction"):
        detail_patches(_two_label_maps(), patch_fraction=0.0)


def test_detail_pixels_fall_inside_their_patches_and_cover_them():
    patches = torch.tensor([[0, 2, 3], [1, 0, 7]])
    pixels = sample_detail_pixels(patches, 4000, grid_hw=(6, 8), image_hw=(48, 64),
                                  generator=torch.Generator().manual_seed(0))
    assert pixels.shape == (4000, 3) and pixels.dtype == torch.long
    first = pixels[:, 0] == 0
    assert 0.45 < first.float().mean() < 0.55
    ys, xs = pixels[first, 1], pixels[first, 2]
    assert ys.min() == 16 and ys.max() == 23 and xs.min() == 24 and xs.max() == 31  # patch (2, 3): 8x8 pixels
    assert set(pixels[~first, 2].tolist()) == set(range(56, 64))
    assert len(sample_detail_pixels(patches[:0], 10, (6, 8), (48, 64))) == 0


def test_teacher_pair_and_unknown_teacher():
    assert teacher_pair("clip") == ("clip", "dino")
    assert teacher_pair("synthetic") == ("synthetic", "synthetic_dino")
    with pytest.raises(TeacherError, match="unknown teacher"):
        teacher_pair("sam")
    with pytest.raises(TeacherError, match="not a language teacher; choose one of clip, synthetic"):
        teacher_pair("dino")


def _rotation_z(deg: float) -> np.ndarray:
    c, s = np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def test_normalisation_round_trip_and_camera_pose():
    transform = np.hstack([_rotation_z(30), [[0.1], [-0.2], [0.3]]])
    norm = Normalisation(transform, 2.5)
    points = np.random.default_rng(0).normal(size=(10, 3))
    np.testing.assert_allclose(norm.points_to_base(norm.points_to_box(points)), points, atol=1e-12)
    pose = np.eye(4)
    pose[:3, 3] = [0.4, 0.0, 0.5]
    box_pose = norm.camera_to_box(pose)
    np.testing.assert_allclose(box_pose[:, 3], norm.points_to_box(pose[:3, 3]))
    # Optical z (forward) becomes OpenGL -z: the box pose's third column is minus the rotated forward axis.
    np.testing.assert_allclose(box_pose[:, 2], -_rotation_z(30) @ [0, 0, 1.0], atol=1e-12)
    restored = Normalisation.from_json(norm.to_json())
    np.testing.assert_allclose(restored.transform, transform)
    assert restored.scale == 2.5
    with pytest.raises(ValueError):
        Normalisation(transform, 0.0)


def test_backproject_inverts_projection():
    intrinsics = CameraIntrinsics(8, 6, 10.0, 12.0, 4.0, 3.0)
    pose = np.eye(4)
    pose[:3, :3] = _rotation_z(90)
    pose[:3, 3] = [1.0, 2.0, 3.0]
    depth = np.full((6, 8), 2.0)
    points = backproject(depth, intrinsics, pose)
    in_camera = (points - pose[:3, 3]) @ pose[:3, :3]
    np.testing.assert_allclose(in_camera[..., 2], 2.0)
    u = intrinsics.fx * in_camera[..., 0] / in_camera[..., 2] + intrinsics.cx
    np.testing.assert_allclose(u[0], np.arange(8) + 0.5)


def test_backproject_of_every_nth_pixel_is_the_full_image_sliced():
    intrinsics = CameraIntrinsics(9, 7, 10.0, 12.0, 4.2, 3.1)
    pose = np.eye(4)
    pose[:3, :3] = _rotation_z(30)
    pose[:3, 3] = [0.1, -0.2, 0.5]
    depth = np.random.default_rng(0).uniform(0.3, 1.0, (7, 9))
    for stride in (1, 2, 3):
        np.testing.assert_array_equal(backproject(depth, intrinsics, pose, stride),
                                      backproject(depth, intrinsics, pose)[::stride, ::stride])


def test_measured_points_keep_valid_depth_of_every_nth_pixel_with_its_colour():
    intrinsics = CameraIntrinsics(6, 4, 10.0, 10.0, 3.0, 2.0)
    depth = np.full((4, 6), 0.5)
    depth[0, 0], depth[0, 2], depth[2, 2], depth[2, 4] = np.nan, 0.0, 0.01, 5.0  # each one invalid
    depth[2, 0] = 0.7
    rgb = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    points, colours = measured_points(depth, rgb, intrinsics, np.eye(4), 0.05, 3.0, pixel_stride=2)
    # Of the pixels (0, 0), (0, 2), (0, 4), (2, 0), (2, 2), (2, 4) only (0, 4) and (2, 0) hold valid depth.
    np.testing.assert_allclose(points[:, 2], [0.5, 0.7])
    np.testing.assert_allclose(colours, rgb[[0, 2], [4, 0]] / 255.0)
    np.testing.assert_allclose(points, backproject(np.nan_to_num(depth), intrinsics, np.eye(4))[[0, 2], [4, 0]])


def test_voxel_mean_gives_each_occupied_voxel_its_mean_in_ascending_key_order():
    rng = np.random.default_rng(0)
    points = rng.uniform(-0.05, 0.05, (2000, 3))
    colours = rng.uniform(0.0, 1.0, (2000, 2))
    fused_points, fused_colours = voxel_mean(points, 0.02, colours)
    keys = voxel_keys(points, 0.02)
    occupied = np.unique(keys)
    assert len(fused_points) == len(occupied)
    for row, key in enumerate(occupied):
        np.testing.assert_allclose(fused_points[row], points[keys == key].mean(axis=0))
        np.testing.assert_allclose(fused_colours[row], colours[keys == key].mean(axis=0))


def test_voxel_sums_lose_rows_as_if_summed_anew_and_average_like_voxel_mean():
    rng = np.random.default_rng(1)
    points = rng.uniform(-0.05, 0.05, (3000, 3))
    normals, weight = rng.normal(size=(3000, 3)), rng.uniform(size=3000)
    sums = VoxelSums.of(points, 0.02, normals, weight)
    for got, expected in zip(sums.means(), voxel_mean(points, 0.02, normals, weight[:, None])):
        np.testing.assert_array_equal(got, expected)
    removed = rng.uniform(size=3000) < 0.3
    removed[voxel_keys(points, 0.02) == voxel_keys(points, 0.02)[0]] = True  # one voxel loses every row
    kept = sums.without(removed, points[removed], normals[removed], weight[removed])
    assert len(kept.voxel_of_row) == (~removed).sum()
    anew = voxel_mean(points[~removed], 0.02, normals[~removed], weight[~removed, None])
    assert len(kept.means()[0]) == len(anew[0]) < len(sums.means()[0])
    for got, expected in zip(kept.means(), anew):
        np.testing.assert_allclose(got, expected, atol=1e-12)
    unchanged = sums.without(np.zeros(3000, bool), points[:0], normals[:0], weight[:0])
    for got, expected in zip(unchanged.means(), sums.means()):
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="removed rows"):
        sums.without(removed, points[removed], normals[removed])


def test_voxel_mean_averages_points_and_columns_per_voxel():
    points = np.array([[0.001, 0.001, 0.0], [0.003, 0.002, 0.0], [0.011, 0.0, 0.0]])
    features = np.array([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    fused_points, fused_features = voxel_mean(points, 0.01, features)
    order = np.argsort(fused_points[:, 0])
    np.testing.assert_allclose(fused_points[order], [[0.002, 0.0015, 0.0], [0.011, 0.0, 0.0]])
    np.testing.assert_allclose(fused_features[order], [[0.5, 0.5], [5.0, 5.0]])
    with pytest.raises(ValueError):
        voxel_mean(points, 0.0)


def test_orient_towards_flips_only_backfacing_normals():
    normals = np.array([[0, 0, 1.0], [0, 0, -1.0]])
    towards = np.array([[0, 0.2, 0.9], [0, 0.2, 0.9]])
    np.testing.assert_allclose(orient_towards(normals, towards), [[0, 0, 1.0], [0, 0, 1.0]])


def test_scaled_intrinsics_and_view_subset():
    intrinsics = CameraIntrinsics(640, 480, 600.0, 600.0, 320.0, 240.0)
    half = scaled_intrinsics(intrinsics, 0.5)
    assert (half.width, half.height, half.fx, half.cx) == (320, 240, 300.0, 160.0)
    assert evenly_spaced(48, 4) == [0, 16, 31, 47]
    assert evenly_spaced(3, 12) == [0, 1, 2]


def test_detail_rays_replace_part_of_a_batch_with_their_own_colour_depth_and_camera():
    from types import SimpleNamespace

    from dff_grasp_ros.field.datamanager import DffDataManager

    height, width, cameras = 48, 64, 3
    # Every pixel's colour encodes (camera, row, column); depth encodes the camera.
    c, y, x = torch.meshgrid(torch.arange(cameras), torch.arange(height), torch.arange(width), indexing="ij")
    image = torch.stack([c, y, x], -1).float()
    depth = c[..., None].float()
    # The cached image batch holds cameras 2 and 0, in that order (nerfstudio may sample a subset).
    image_batch = {"image": image[[2, 0]], "depth_image": depth[[2, 0]], "image_idx": torch.tensor([2, 0])}
    batch = {"image": torch.zeros(100, 3), "depth_image": torch.zeros(100, 1),
             "indices": torch.full((100, 3), -1, dtype=torch.long)}
    manager = SimpleNamespace(detail_patches=torch.tensor([[0, 1, 1], [1, 2, 2], [2, 3, 3]]),
                              teacher_features={"language": torch.zeros(cameras, 6, 8, 4)},
                              config=SimpleNamespace(detail_ray_fraction=0.5))
    torch.manual_seed(0)
    DffDataManager.replace_with_detail_rays(manager, image_batch, batch)
    replaced = batch["indices"][:, 0] >= 0
    # Half the batch was drawn; those on camera 1 (not in the image batch) were dropped, the rest replaced.
    assert 20 < int(replaced.sum()) < 50 and replaced[:int(replaced.sum())].all()
    assert set(batch["indices"][replaced, 0].tolist()) == {0, 2}
    torch.testing.assert_close(batch["image"][replaced], batch["indices"][replaced].float())
    torch.testing.assert_close(batch["depth_image"][replaced, 0], batch["indices"][replaced, 0].float())
    assert (batch["image"][~replaced] == 0).all()
