"""The scan-pose generator: a cap around the workspace centre, cameras looking at it, a short arm path."""
from __future__ import annotations

import numpy as np
import pytest

from dff_grasp_ros.capture.scan_poses import (
    MAX_SCAN_CENTER_M,
    cap_camera_poses,
    check_cap,
    look_at_optical,
    look_at_poses,
    path_length_m,
    ring_sizes,
    tool_poses,
)

CENTRE = np.array([0.5, -0.1, 0.05])


def spherical(poses: np.ndarray, centre: np.ndarray = CENTRE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    offsets = poses[:, :3, 3] - centre
    distance = np.linalg.norm(offsets, axis=1)
    return distance, np.degrees(np.arcsin(offsets[:, 2] / distance)), np.arctan2(offsets[:, 1], offsets[:, 0])


@pytest.mark.parametrize("count", [1, 7, 48, 120])
def test_poses_sit_on_the_cap_and_look_at_the_centre_with_no_roll(count):
    poses = cap_camera_poses(CENTRE, 0.55, 35.0, 70.0, count)
    assert poses.shape == (count, 4, 4)
    rotations = poses[:, :3, :3]
    assert np.allclose(np.swapaxes(rotations, 1, 2) @ rotations, np.eye(3), atol=1e-9)
    assert np.allclose(np.linalg.det(rotations), 1.0)
    distance, elevation, _ = spherical(poses)
    assert np.allclose(distance, 0.55)
    assert np.all((elevation >= 35.0 - 1e-9) & (elevation <= 70.0 + 1e-9))
    towards_centre = (CENTRE - poses[:, :3, 3]) / distance[:, None]
    assert np.allclose(poses[:, :3, 2], towards_centre)  # optical z looks at the centre (REP-103 optical)
    assert np.allclose(poses[:, 2, 0], 0.0)  # x (image right) level: no roll
    assert np.all(poses[:, 2, 1] < 0)  # y (image down) points down
    if count >= 48:
        assert np.ptp(elevation) == pytest.approx(35.0)  # the whole elevation range is used


def test_views_spread_round_the_centre_and_the_path_is_short():
    poses = cap_camera_poses(CENTRE, 0.5, 35.0, 70.0, 48)
    _, elevation, azimuth = spherical(poses)
    # Every 45 degree sector of azimuth holds views: the workspace is seen from all round.
    sectors = np.floor((azimuth + np.pi) / (np.pi / 4)).astype(int) % 8
    assert set(sectors) == set(range(8))
    # Consecutive views are neighbours: no step longer than a ring's spacing plus the rise to the next ring.
    steps = np.linalg.norm(np.diff(poses[:, :3, 3], axis=0), axis=1)
    assert steps.max() < 0.2
    rng = np.random.default_rng(0)
    shuffled = [path_length_m(poses[rng.permutation(48)]) for _ in range(20)]
    assert path_length_m(poses) < 0.3 * min(shuffled)
    # A serpentine: the arm never sweeps more than one turn in the same direction.
    unwrapped = np.degrees(np.unwrap(azimuth))
    assert np.ptp(unwrapped) <= 360.0


def test_partial_azimuth_range_is_respected_and_swept_back_and_forth():
    poses = cap_camera_poses(CENTRE, 0.5, 30.0, 60.0, 20, azimuth_deg=(-60.0, 60.0))
    _, _, azimuth = spherical(poses)
    assert np.all(np.abs(np.degrees(azimuth)) <= 60.0 + 1e-9)
    assert np.ptp(np.degrees(azimuth)) == pytest.approx(120.0)


def test_ring_sizes_follow_circumference_and_sum_to_count():
    sizes = ring_sizes(48, np.radians([35.0, 52.5, 70.0]))
    assert sizes.sum() == 48 and sizes[0] > sizes[1] > sizes[2] >= 1
    assert ring_sizes(2, np.radians([10.0, 40.0, 80.0])).sum() == 2


def test_tool_poses_put_the_camera_at_the_camera_poses():
    cameras = cap_camera_poses(CENTRE, 0.5, 35.0, 70.0, 10)
    camera_to_tool = np.eye(4)
    camera_to_tool[:3, :3] = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
    camera_to_tool[:3, 3] = [0.03, -0.06, 0.05]
    tools = tool_poses(cameras, camera_to_tool)
    assert np.allclose(tools @ camera_to_tool, cameras)


@pytest.mark.parametrize("args,match", [
    ((CENTRE, 0.5, 70.0, 35.0, 10), "elevations"),
    ((CENTRE, 0.5, 35.0, 90.0, 10), "elevations"),
    ((CENTRE, -0.5, 35.0, 70.0, 10), "radius_m"),
    ((CENTRE, float("nan"), 35.0, 70.0, 10), "radius_m"),
    ((CENTRE, 0.5, 35.0, 70.0, 0), "count"),
    (([0.0, float("inf"), 0.0], 0.5, 35.0, 70.0, 10), "center"),
    # Finite yet absurd (a /scan_poses bad-input hunt): 1e30 put the camera on the centre in float64 (NaN poses
    # that killed hand_eye), 1e17 m was answered with 48 poses. Bounded like the scan_center_* parameters.
    (([1e30, 1e30, 1e30], 0.5, 35.0, 70.0, 10), "center"),
    (([0.5, 0.0, 1e17], 0.5, 35.0, 70.0, 10), "center"),
    (([0.5, 0.0, 10.001], 0.5, 35.0, 70.0, 10), "center"),
])
def test_a_cap_that_is_no_scan_is_refused_with_the_parameter_named(args, match):
    assert match in check_cap(*args)
    with pytest.raises(ValueError, match=match):
        cap_camera_poses(*args)


def test_the_centre_bound_is_the_scan_center_parameters_range():
    """One limit for a request's centre and the node's scan_center_* parameters: a centre the parameters allow is
    a centre a request may ask for, and no further."""
    from dff_grasp_ros.nodes.params import NODE_PARAMS

    ranges = {(s.minimum, s.maximum) for s in NODE_PARAMS["hand_eye"] if s.name.startswith("scan_center_")}
    assert ranges == {(-MAX_SCAN_CENTER_M, MAX_SCAN_CENTER_M)}
    edge = (MAX_SCAN_CENTER_M, -MAX_SCAN_CENTER_M, MAX_SCAN_CENTER_M)
    assert check_cap(edge, 0.01, -89.0, 89.0, 10) is None
    assert np.all(np.isfinite(cap_camera_poses(edge, 0.01, -89.0, 89.0, 10)))


def test_a_camera_on_its_target_is_refused_not_a_nan_pose():
    """Where the camera position rounds onto the centre (the 1e30 centre of the hunt) the viewing direction is
    0/0: the math refuses instead of handing NaN poses to whoever converts them."""
    with pytest.raises(ValueError, match="viewing direction"):
        look_at_optical(np.array([0.5, 0.0, 0.2]), np.array([0.5, 0.0, 0.2]))
    with pytest.raises(ValueError, match="viewing direction"):
        look_at_optical(np.array([np.inf, 0.0, 0.0]), np.zeros(3))
    with pytest.raises(ValueError, match="viewing direction"):  # check_cap bypassed: the math guards itself
        look_at_poses(np.full(3, 1e30), 0.5, np.array([0.0, 1.0]), np.radians([40.0, 40.0]))


def test_the_sim_camera_scans_with_the_same_generator():
    """The test bed's scan is the product's generator plus a little seeded jitter, not a trajectory of its own."""
    from dff_grasp_ros.synthetic import load_scene, scan_poses

    scene = load_scene("tabletop")
    sim = scan_poses(scene)
    scan = scene.scan
    centre = np.asarray(scan.center_m)
    offsets = sim[:, :3, 3] - centre
    start = np.degrees(np.arctan2(offsets[0, 1], offsets[0, 0]))
    plain = cap_camera_poses(centre, scan.radius_m, *scan.elevation_deg, scan.views, (start, start + 360.0))
    # Same order, each view within the jitter (4 % radius, 10 % of the elevation range) of the generator's.
    assert np.linalg.norm(sim[:, :3, 3] - plain[:, :3, 3], axis=1).max() < 0.1 * scan.radius_m
    assert path_length_m(sim) < 1.3 * path_length_m(plain)
