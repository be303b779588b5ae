"""Gripper model, pose convention, antipodal sampling, collision and NMS (pure, no ROS)."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dff_grasp_ros.grasp.antipodal import friction_cone_cosine, sample_antipodal_pairs
from dff_grasp_ros.grasp.collision import between_fingers, clears_table, colliding_points
from dff_grasp_ros.grasp.frames import approach_directions, grasp_rotation_distance_rad, quaternion_xyzw, tcp_rotation
from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.nms import suppress_near
from dff_grasp_ros.grasp.planner import GraspParams, plan_grasps

DOWN = np.array([0.0, 0.0, -1.0])


def test_tcp_rotation_has_the_documented_axes_and_is_right_handed():
    rotation = tcp_rotation(DOWN, np.array([0.3, 1.0, 0.2]))  # closing not yet orthogonal: it gets fixed
    np.testing.assert_allclose(rotation[:, 2], DOWN)
    assert rotation[:, 1] @ DOWN == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(rotation[:, 0], np.cross(rotation[:, 1], rotation[:, 2]))
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    quat = quaternion_xyzw(rotation)
    np.testing.assert_allclose(Rotation.from_quat(quat).as_matrix(), rotation, atol=1e-9)
    assert quat[3] >= 0 and np.linalg.norm(quat) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="parallel"):
        tcp_rotation(DOWN, DOWN)


def test_rotation_distance_respects_the_half_turn_symmetry():
    a = tcp_rotation(DOWN, np.array([1.0, 0, 0]))
    assert grasp_rotation_distance_rad(a, tcp_rotation(DOWN, np.array([-1.0, 0, 0]))) == pytest.approx(0, abs=1e-6)
    assert grasp_rotation_distance_rad(a, tcp_rotation(DOWN, np.array([0, 1.0, 0]))) == pytest.approx(np.pi / 2)


def test_approach_directions_are_orthogonal_to_closing_and_include_from_above():
    approaches = approach_directions(np.array([1.0, 0, 0]), 12)
    np.testing.assert_allclose(approaches @ [1.0, 0, 0], 0, atol=1e-12)
    assert (approaches @ DOWN).max() == pytest.approx(1.0)


def test_gripper_rejects_impossible_dimensions():
    with pytest.raises(ValueError):
        ParallelJawGripper(max_opening_m=-0.01)
    with pytest.raises(ValueError):
        ParallelJawGripper(pad_length_m=0.1, finger_length_m=0.05)


def test_collision_counts_fingers_and_palm_but_not_what_is_held():
    gripper = ParallelJawGripper()
    rotation, position = tcp_rotation(DOWN, np.array([0, 1.0, 0])), np.array([0.0, 0.0, 0.1])
    held = np.array([[0.0, 0.005, 0.1]])  # between the pads
    in_finger = np.array([[0.0, 0.016, 0.1]])  # inside the +y finger at opening 0.02
    in_palm = np.array([[0.0, 0.05, 0.1 + 0.06]])  # above the fingers (approach is -z)
    outside = np.array([[0.2, 0.0, 0.1]])
    points = np.vstack([held, in_finger, in_palm, outside])
    assert colliding_points(gripper, rotation, position, 0.02, points).tolist() == [False, True, True, False]
    assert between_fingers(gripper, rotation, position, 0.02, points).tolist() == [True, False, False, False]
    assert clears_table(gripper, rotation[None], position[None], np.array([0.02]), 0.0, 0.003)[0]
    low = position - np.array([0, 0, 0.095])  # tips would reach z = -0.005
    assert not clears_table(gripper, rotation[None], low[None], np.array([0.02]), 0.0, 0.003)[0]


def _box_cloud(size_m, spacing_m=0.004):
    """Surface points and outward normals of an axis-aligned box standing on z = 0, centred on x = y = 0."""
    size = np.asarray(size_m)
    points, normals = [], []
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        grid = np.meshgrid(*[np.arange(-size[a] / 2, size[a] / 2 + 1e-9, spacing_m) for a in others])
        for sign in (-1.0, 1.0):
            face = np.zeros((grid[0].size, 3))
            face[:, others[0]], face[:, others[1]] = grid[0].ravel(), grid[1].ravel()
            face[:, axis] = sign * size[axis] / 2
            points.append(face)
            normal = np.zeros(3)
            normal[axis] = sign
            normals.append(np.tile(normal, (len(face), 1)))
    points = np.vstack(points) + [0, 0, size[2] / 2]
    return points, np.vstack(normals)


def test_antipodal_pairs_face_each_other_within_the_friction_cone():
    points, normals = _box_cloud([0.03, 0.05, 0.04])
    everything = np.arange(len(points))
    pairs = sample_antipodal_pairs(points, normals, everything, everything, 0.07, 0.3, 200,
                                   np.random.default_rng(0))
    assert len(pairs) > 50
    line = points[pairs.second] - points[pairs.first]
    cone = friction_cone_cosine(0.3)
    assert np.all(np.einsum("ij,ij->i", pairs.closing_axis, -normals[pairs.first]) >= cone - 1e-9)
    np.testing.assert_allclose(np.linalg.norm(line, axis=1), pairs.width_m)
    assert pairs.width_m.max() <= 0.07 and np.all((pairs.antipodality >= 0) & (pairs.antipodality <= 1))


def test_box_too_wide_for_the_hand_has_no_grasp_and_a_narrow_one_does():
    gripper = ParallelJawGripper()
    for size, expect_grasp in (([0.09, 0.10, 0.05], False), ([0.03, 0.10, 0.05], True)):
        points, normals = _box_cloud(size)
        mask = np.ones(len(points), dtype=bool)
        grasps = plan_grasps(points, normals, np.ones(len(points)), mask, mask, mask,
                             GraspParams(contact_samples=150))
        assert bool(grasps) == expect_grasp
        for grasp in grasps:
            assert grasp.width_m <= grasp.opening_m <= gripper.max_opening_m
            assert grasp.width_m == pytest.approx(0.03, abs=1e-6)  # across the narrow side
            assert not colliding_points(gripper, grasp.rotation, grasp.position_m, grasp.opening_m, points).any()
            np.testing.assert_allclose(grasp.pre_grasp_position_m, grasp.position_m - 0.10 * grasp.approach)
            assert abs(grasp.rotation[:, 1] @ [1.0, 0, 0]) == pytest.approx(1.0)  # closes along x


def test_nms_keeps_the_best_of_each_cluster():
    down_x, down_y = tcp_rotation(DOWN, np.array([1.0, 0, 0])), tcp_rotation(DOWN, np.array([0, 1.0, 0]))
    poses = [(np.zeros(3), down_x), (np.array([0.005, 0, 0]), down_x), (np.zeros(3), down_y),
             (np.array([0.1, 0, 0]), down_x)]
    positions, rotations = np.array([p for p, _ in poses]), np.array([r for _, r in poses])
    assert suppress_near(positions, rotations, np.arange(4), 0.01, 0.5) == [0, 2, 3]
    assert suppress_near(positions, rotations, np.arange(4), 0.01, 0.5, limit=2) == [0, 2]
    assert suppress_near(positions, rotations, np.array([1, 0, 2, 3]), 0.01, 0.5) == [1, 2, 3]
    turned = tcp_rotation(DOWN, np.array([-1.0, 0, 0]))  # the same hand after a half turn about its approach
    assert suppress_near(np.zeros((2, 3)), np.array([down_x, turned]), np.arange(2), 0.01, 0.5) == [0]


def test_the_batched_hand_check_agrees_with_the_reference_volumes():
    """HandChecker sorts points into the gripper's boxes in bulk; colliding_points and between_fingers are the
    plain definitions (the judge uses them). Random poses around a random cloud must agree on both."""
    from dff_grasp_ros.grasp.hand_check import HandChecker, HeldObject

    rng = np.random.default_rng(7)
    gripper = ParallelJawGripper()
    points = rng.uniform(-0.12, 0.12, (4000, 3))
    everything = np.ones(len(points), dtype=bool)
    checker = HandChecker(gripper, points, HeldObject(everything, everything, everything, np.ones(len(points))),
                          clearance_cap_m=0.01)
    count = 200
    rotations = np.array([tcp_rotation(*rng.standard_normal((2, 3))) for _ in range(count)])
    positions = rng.uniform(-0.05, 0.05, (count, 3))
    openings = rng.uniform(0.0, gripper.max_opening_m, count)
    checks = checker.check(rotations, positions, openings)
    for i in range(count):
        hits = int(colliding_points(gripper, rotations[i], positions[i], openings[i], points).sum())
        held = int(between_fingers(gripper, rotations[i], positions[i], openings[i], points).sum())
        assert (checks.colliding[i] > 0) == (hits > 0)
        assert checks.held[i] == held
        if hits == 0:
            assert checks.palm_colliding[i] == 0
