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


def cluttered_hand_checks():
    """A random clutter, a dense slab above it and an object blob, with poses around the object: (gripper, points,
    held, rotations, positions, openings, tight openings, a mask of the points of a sparser clutter)."""
    from dff_grasp_ros.grasp.hand_check import HeldObject

    rng = np.random.default_rng(11)
    gripper = ParallelJawGripper()
    clutter = rng.uniform(-0.12, 0.12, (6000, 3))
    # A dense slab above: palms approaching from above sweep through it, where cells lie wholly inside them.
    slab = np.c_[rng.uniform(-0.12, 0.12, (3000, 2)), rng.uniform(0.08, 0.12, 3000)]
    clutter = np.concatenate([clutter, slab])
    blob = rng.normal(0.0, 0.006, (3000, 3))  # the object
    points = np.concatenate([clutter, blob])
    on_object = np.r_[np.zeros(len(clutter), dtype=bool), np.ones(len(blob), dtype=bool)]
    held = HeldObject(rng.random(len(points)) < 0.9, on_object, on_object & (rng.random(len(points)) < 0.95),
                      rng.random(len(points)), np.where(on_object, rng.uniform(0.0, 0.01, len(points)), 0.0))
    count = 150
    approaches = rng.standard_normal((count, 3))
    approaches[::2] = [0.0, 0.0, -1.0] + 0.2 * approaches[::2]  # half of them roughly from above
    rotations = np.array([tcp_rotation(approach, rng.standard_normal(3)) for approach in approaches])
    positions = rng.normal(0.0, 0.01, (count, 3))
    openings = rng.uniform(0.0, gripper.max_opening_m, count)
    tight = openings * rng.uniform(0.3, 1.0, count)
    # Sparse clutter around the object too: there some poses are free at the fingers, so the palm is checked.
    sparse = np.r_[rng.random(6000) < 0.02, np.ones(len(slab) + len(blob), dtype=bool)]
    return gripper, points, held, rotations, positions, openings, tight, sparse


@pytest.mark.parametrize("cell_m", [0.005, 0.015, 0.04])
def test_cells_change_no_hand_check_result(cell_m):
    """HandChecker checks only the points of cells whose bounds come within the clearance cap of a pose's finger
    box or swept palm, and counts cells wholly inside the palm without their points. Against every point checked
    for every pose, in the same order, every result must be the same, bit for bit: the clearance, the counts, and
    the sums and face traces that depend on the points' order."""
    from dff_grasp_ros.grasp.hand_check import HandChecker

    class EveryPoint(HandChecker):
        def _near(self, rotations, positions_m, lower, upper, whole_inside=False, margin_m=None):
            pose = np.repeat(np.arange(len(positions_m)), len(self.points_m))
            rows = np.tile(np.arange(len(self.points_m)), len(positions_m))
            tcp = np.einsum("ni,nij->nj", self.points_m[rows] - positions_m[pose], rotations[pose]).T
            return pose, rows, tcp, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)

    gripper, points, held, rotations, positions, openings, tight, sparse = cluttered_hand_checks()
    for keep in (np.ones(len(points), dtype=bool), sparse):
        results = [vars(kind(gripper, points[keep], held.rows(keep), clearance_cap_m=0.01, cell_m=cell_m,
                             approach_m=0.1, min_face_cosine=0.5).check(rotations, positions, openings, tight))
                   for kind in (EveryPoint, HandChecker)]
        for name, expected in results[0].items():
            assert expected.dtype == results[1][name].dtype and np.array_equal(expected, results[1][name]), name
    # The palm hit some poses, others were free: every part of the check ran.
    assert (results[0]["palm_colliding"] > 0).any() and (results[0]["colliding"] == 0).any()


@pytest.mark.parametrize("near_m", [-0.001, 0.0, 0.001, 0.004])
def test_a_check_near_the_hand_changes_nothing_but_clearance_beyond_it(near_m):
    """``check(..., near_m)`` looks only at the points within ``near_m`` of the hand (the planner's triage with the
    minimum clearance): every result is the full check's, bit for bit, but the clearance, which is exact below
    ``near_m`` and ``near_m`` beyond it."""
    from dff_grasp_ros.grasp.hand_check import HandChecker

    gripper, points, held, rotations, positions, openings, tight, sparse = cluttered_hand_checks()
    between = []  # clearances measured exactly below near_m, yet not zero
    for keep in (np.ones(len(points), dtype=bool), sparse):
        checker = HandChecker(gripper, points[keep], held.rows(keep), clearance_cap_m=0.01, approach_m=0.1,
                              min_face_cosine=0.5)
        full = vars(checker.check(rotations, positions, openings, tight))
        near = vars(checker.check(rotations, positions, openings, tight, near_m=near_m))
        for name, expected in full.items():
            if name != "clearance_m":
                assert np.array_equal(expected, near[name]), name
        assert np.array_equal(near["clearance_m"], np.minimum(full["clearance_m"], max(near_m, 0.0)))
        between += list(full["clearance_m"][(full["clearance_m"] > 0) & (full["clearance_m"] < near_m)])
    assert len(between) > 0 or near_m < 0.004


def test_points_in_pose_frames_are_einsums_bit_for_bit():
    """to_frames computes per coordinate what einsum("ni,nij->nj") computes per point, summed in the same order."""
    from dff_grasp_ros.grasp.hand_check import repeat_rows, squared_norms, to_frames

    rng = np.random.default_rng(5)
    rotations = np.array([tcp_rotation(*rng.standard_normal((2, 3))) for _ in range(40)])
    positions = rng.uniform(-0.2, 0.2, (40, 3))
    per_pose = rng.integers(0, 300, 40)
    points = rng.uniform(-0.3, 0.3, (int(per_pose.sum()), 3))
    pose = np.repeat(np.arange(40), per_pose)
    expected = np.einsum("ni,nij->nj", points - positions[pose], rotations[pose])
    assert np.array_equal(to_frames(np.ascontiguousarray(points.T), positions, rotations, per_pose), expected.T)
    assert np.array_equal(to_frames(np.ascontiguousarray(points.T), None, rotations, per_pose),
                          np.einsum("ni,nij->nj", points, rotations[pose]).T)
    assert np.array_equal(repeat_rows(positions, per_pose), positions[pose].T)
    assert np.allclose(squared_norms(expected.T), (expected ** 2).sum(axis=1), rtol=1e-12, atol=0.0)


def test_the_cells_near_a_batch_of_poses_are_every_cell_within_reach_of_one():
    """cells_in_box keeps every cell whose centre lies within the reach of some pose's centre (a superset for the
    coarse test), in ascending order, and leaves out those beyond the box around all of them."""
    from dff_grasp_ros.grasp.hand_check import cells_in_box

    rng = np.random.default_rng(2)
    cells = rng.uniform(-0.3, 0.3, (3, 2000))
    poses = rng.uniform(-0.05, 0.05, (20, 3))
    kept = cells_in_box(cells, poses, 0.04)
    within = (np.linalg.norm(cells.T[:, None] - poses[None], axis=2) <= 0.04).any(axis=1)
    assert np.all(np.diff(kept) > 0) and set(np.flatnonzero(within)) <= set(kept)
    assert np.all(np.abs(cells[:, kept]).max(axis=0) <= 0.09 + 1e-6) and len(kept) < 2000 / 10
    assert len(cells_in_box(cells, poses[:0], 0.04)) == 0
