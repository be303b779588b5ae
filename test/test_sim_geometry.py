"""Pure geometry of the simulator: meshes, footprints, labels, texture, camera poses (no ray casting)."""
from __future__ import annotations

import numpy as np
import pytest

from dff_grasp_ros.synthetic.cameras import look_at_optical, pixel_directions, scan_poses, scene_intrinsics
from dff_grasp_ros.synthetic.catalog import load_scene
from dff_grasp_ros.synthetic.labels import decode_labels, encode_labels, label_names
from dff_grasp_ros.synthetic.objects import OBJECT_PARTS, build_object
from dff_grasp_ros.synthetic.placement import convex_hull_2d, penetration_depth_m
from dff_grasp_ros.synthetic.shapes import arc_tube, box, cylinder, revolve, sample_surface, signed_volume_m3
from dff_grasp_ros.synthetic.texture import value_noise
from dff_grasp_ros.synthetic.vocabulary import COLOURS


def test_primitive_volumes_are_positive_and_right() -> None:
    assert signed_volume_m3(box((0, 0, 0), (0.1, 0.2, 0.3))) == pytest.approx(0.006)
    # A 96-gon inscribed in the circle loses (1 - sin(2pi/n) n / 2pi) of the area.
    n = 96
    polygon_area = 0.5 * n * 0.05**2 * np.sin(2 * np.pi / n)
    assert signed_volume_m3(cylinder(0.05, 0.0, 0.1, segments=n)) == pytest.approx(polygon_area * 0.1)
    hollow = revolve([(0, 0), (0.05, 0), (0.05, 0.1), (0.04, 0.1), (0.04, 0.01), (0, 0.01)], segments=n)
    assert 0 < signed_volume_m3(hollow) < signed_volume_m3(cylinder(0.05, 0.0, 0.1, segments=n)) / 2


def test_arc_tube_normals_point_away_from_its_centre_line() -> None:
    tube = arc_tube(0.03, 0.006, -np.pi / 2, np.pi / 2)
    points, normals = sample_surface(tube, 500, np.random.default_rng(0))
    on_arc = 0.03 * np.stack([points[:, 0], np.zeros(len(points)), points[:, 2]], 1) / np.linalg.norm(
        points[:, [0, 2]], axis=1, keepdims=True)
    outward = points - on_arc
    mantle = np.abs(np.linalg.norm(outward, axis=1) - 0.006) < 4e-4  # all but the flat end caps
    assert mantle.mean() > 0.9
    assert np.all(np.einsum("ij,ij->i", outward[mantle], normals[mantle]) > 0)
    # Closed (capped), so inside tests by ray parity work: volume of a bent cylinder.
    assert signed_volume_m3(tube) == pytest.approx(np.pi * 0.006**2 * 0.03 * np.pi, rel=0.05)


def test_every_object_type_is_built_with_its_parts_and_plausible_sizes() -> None:
    assert set(OBJECT_PARTS) >= {"mug", "pan", "knife", "screwdriver", "spatula", "bottle", "bowl", "box"}
    for kind, names in OBJECT_PARTS.items():
        parts = build_object(kind)
        assert tuple(p.name for p in parts) == names
        vertices = np.concatenate([p.mesh.vertices for p in parts])
        assert vertices[:, 2].min() == pytest.approx(0.0, abs=1e-9), f"{kind} must stand on the table"
        assert 0.005 < vertices[:, 2].max() < 0.3 and np.ptp(vertices[:, :2], axis=0).max() < 0.45
    mug = {p.name: p.mesh.vertices for p in build_object("mug")}
    assert 0.08 <= mug["body"][:, 2].max() <= 0.09
    # The handle bar (outer part of the loop) must fit between Franka fingers opened to 8 cm.
    bar = mug["handle"][mug["handle"][:, 0] > mug["body"][:, 0].max() + 0.01]
    assert np.ptp(bar[:, 1]) < 0.08


def test_convex_hull_and_penetration_depth() -> None:
    square = convex_hull_2d(np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]]))
    assert len(square) == 4
    shifted = square + [0.9, 0.2]
    assert penetration_depth_m(square, shifted) == pytest.approx(0.1)
    assert penetration_depth_m(square, square + [1.3, 0.0]) == pytest.approx(-0.3)


def test_label_encoding_round_trips_and_names_every_label() -> None:
    object_id = np.array([[-1, 0, 3]])
    part_id = np.array([[-1, 1, 0]])
    labels = encode_labels(object_id, part_id)
    assert labels.dtype == np.uint16 and labels.tolist() == [[0, 2, 49]]
    back_object, back_part = decode_labels(labels)
    assert np.array_equal(back_object, object_id) and np.array_equal(back_part, part_id)
    names = label_names(load_scene("tiny"))
    assert names[0] == (None, None, None)
    assert names[2] == ("mug", "red", "handle") and names[17] == ("box", "blue", "body")
    with pytest.raises(ValueError):
        encode_labels(np.array([0]), np.array([16]))


def test_value_noise_is_a_deterministic_smooth_function_of_position() -> None:
    points = np.random.default_rng(1).uniform(-1, 1, (2000, 3))
    first, again = value_noise(points, 0.05), value_noise(points.copy(), 0.05)
    assert np.array_equal(first, again) and first.min() >= 0 and first.max() <= 1 and first.std() > 0.1
    nudged = value_noise(points + 1e-5, 0.05)
    assert np.abs(nudged - first).max() < 0.01
    assert not np.allclose(value_noise(points, 0.05, seed=9), first)


def test_value_noise_of_a_point_does_not_depend_on_the_others_in_the_batch() -> None:
    """A render hashes the lattice of a view's bounding grid once; a point far off makes that grid too large and
    takes the per-point hash: the values are the same bits either way, and those of before the grid existed (the
    pinned values: a texture that shifted would change every rendered scene and cached teacher label)."""
    dense = np.random.default_rng(2).uniform(-0.4, 0.4, (5000, 2))
    far = np.vstack([dense, [[900.0, -900.0]]])
    assert np.array_equal(value_noise(dense, 0.012, seed=2), value_noise(far, 0.012, seed=2)[:-1])
    volume = np.random.default_rng(3).uniform(-0.2, 0.2, (3000, 3))
    assert np.array_equal(value_noise(volume, 0.012, seed=3),
                          value_noise(np.vstack([volume, [[50.0, 50.0, 50.0]]]), 0.012, seed=3)[:-1])
    pinned = value_noise(np.array([[0.1, -0.2], [0.31, 0.05], [-0.7, 0.9]]), 0.012, seed=2)
    assert pinned.tolist() == [0.7165621519088745, 0.6135804653167725, 0.4639955759048462]
    pinned = value_noise(np.array([[0.1, -0.2, 0.3], [-0.05, 0.02, 0.11]]), 0.012, seed=3)
    assert pinned.tolist() == [0.17109033465385437, 0.6938318610191345]
    assert value_noise(np.zeros((0, 3)), 0.012).shape == (0,)


def test_look_at_is_optical_with_no_roll() -> None:
    pose = look_at_optical(np.array([0.5, 0.0, 0.4]), np.zeros(3))
    rotation = pose[:3, :3]
    assert np.allclose(rotation.T @ rotation, np.eye(3)) and np.linalg.det(rotation) == pytest.approx(1.0)
    assert np.allclose(rotation[:, 2], -np.array([0.5, 0, 0.4]) / np.linalg.norm([0.5, 0, 0.4]))
    assert rotation[2, 0] == pytest.approx(0.0) and rotation[2, 1] < 0  # x level, y (down) points down
    with pytest.raises(ValueError, match="vertical"):
        look_at_optical(np.array([0, 0, 1.0]), np.zeros(3))


@pytest.mark.parametrize("name", ["tiny", "tabletop"])
def test_scan_poses_sit_on_the_cap_looking_at_the_centre(name: str) -> None:
    scene = load_scene(name)
    poses = scan_poses(scene)
    assert poses.shape == (scene.scan.views, 4, 4)
    centre = np.asarray(scene.scan.center_m)
    offsets = poses[:, :3, 3] - centre
    distance = np.linalg.norm(offsets, axis=1)
    elevation = np.degrees(np.arcsin(offsets[:, 2] / distance))
    low, high = scene.scan.elevation_deg
    assert np.all(elevation >= low - 2) and np.all(elevation <= high + 2) and np.ptp(elevation) > (high - low) / 2
    assert np.allclose(distance, scene.scan.radius_m, rtol=0.06)
    towards_centre = -offsets / distance[:, None]
    assert np.all(np.einsum("ij,ij->i", poses[:, :3, 2], towards_centre) > 0.99)
    assert np.allclose(poses[:, 2, 0], 0.0, atol=1e-9)  # no roll: image x stays level
    azimuth = np.unwrap(np.arctan2(offsets[:, 1], offsets[:, 0]))
    assert np.ptp(azimuth) > np.radians(300)  # the arm goes round the workspace
    assert np.array_equal(poses, scan_poses(scene))
    reseeded = load_scene({**scene.to_dict(), "seed": scene.seed + 1})
    assert not np.allclose(scan_poses(reseeded), poses)


def test_pixel_directions_follow_nerfstudio_pixel_centres() -> None:
    intrinsics = scene_intrinsics(load_scene("tiny"))
    directions = pixel_directions(intrinsics)
    assert directions.shape == (intrinsics.height, intrinsics.width, 3) and np.all(directions[..., 2] == 1)
    # Pixel (row 0, col 0) is centred at (0.5, 0.5); the principal point sits on the centre pixels' corner.
    assert directions[0, 0, 0] == pytest.approx((0.5 - intrinsics.cx) / intrinsics.fx)
    middle = directions[intrinsics.height // 2 - 1: intrinsics.height // 2 + 1,
                        intrinsics.width // 2 - 1: intrinsics.width // 2 + 1, :2]
    assert np.allclose(middle.mean(axis=(0, 1)), 0.0)


def test_colour_words_are_the_vocabulary() -> None:
    from dff_grasp_ros.synthetic.objects import COLOUR_ALBEDO

    assert set(COLOUR_ALBEDO) == set(COLOURS)
