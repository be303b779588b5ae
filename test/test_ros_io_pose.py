"""Pose / Transform messages <-> 4x4 matrices, with validation, and exact stamp conversion."""
import numpy as np
import pytest
from geometry_msgs.msg import Pose, PoseStamped
from scipy.spatial.transform import Rotation

from dff_grasp_ros.ros_io.pose import (
    NonFinitePoseError,
    NonUnitQuaternionError,
    PoseError,
    checked_quaternion_xyzw,
    matrix_to_pose,
    matrix_to_pose_stamped,
    matrix_to_transform_stamped,
    pose_to_matrix,
    stamped_to_matrix,
)
from dff_grasp_ros.ros_io.stamp import ns_to_stamp, stamp_to_ns


def random_rigid(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = np.eye(4)
    matrix[:3, :3] = Rotation.random(random_state=seed).as_matrix()
    matrix[:3, 3] = rng.uniform(-2, 2, 3)
    return matrix


@pytest.mark.parametrize("seed", range(5))
def test_pose_stamped_and_transform_stamped_round_trip(seed):
    matrix = random_rigid(seed)
    got, frame, stamp = stamped_to_matrix(matrix_to_pose_stamped(matrix, "base_link", 1_234_567_890_123))
    np.testing.assert_allclose(got, matrix, atol=1e-12)
    assert (frame, stamp) == ("base_link", 1_234_567_890_123)
    tf = matrix_to_transform_stamped(matrix, "base_link", "camera_optical", 7)
    assert tf.child_frame_id == "camera_optical"
    np.testing.assert_allclose(stamped_to_matrix(tf)[0], matrix, atol=1e-12)


def test_quaternion_slightly_off_unit_is_normalised():
    pose = Pose()
    pose.orientation.x, pose.orientation.w = 0.0, 1.004  # e.g. printed with 3 decimals
    pose.position.x = 0.5
    matrix = pose_to_matrix(pose)
    np.testing.assert_allclose(matrix[:3, :3], np.eye(3), atol=1e-12)
    q = checked_quaternion_xyzw([0.0, 0.0, np.sin(0.5) * 1.003, np.cos(0.5) * 1.003])
    assert np.linalg.norm(q) == pytest.approx(1.0)


@pytest.mark.parametrize("quaternion,error", [
    ([0.0, 0.0, 0.0, 0.0], NonUnitQuaternionError),
    ([0.0, 0.0, 0.0, 2.0], NonUnitQuaternionError),
    ([0.0, 0.0, 0.0, 0.9], NonUnitQuaternionError),
    ([np.nan, 0.0, 0.0, 1.0], NonFinitePoseError),
    ([0.0, 0.0, np.inf, 1.0], NonFinitePoseError),
])
def test_bad_quaternions_are_errors(quaternion, error):
    msg = PoseStamped()
    msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z, msg.pose.orientation.w = quaternion
    with pytest.raises(error):
        stamped_to_matrix(msg)


def test_non_finite_position_is_an_error():
    msg = PoseStamped()
    msg.pose.orientation.w = 1.0
    msg.pose.position.y = float("nan")
    with pytest.raises(NonFinitePoseError):
        stamped_to_matrix(msg)


@pytest.mark.parametrize("matrix", [np.diag([1.0, 1.0, -1.0, 1.0]), np.diag([2.0, 1.0, 1.0, 1.0]), np.eye(3)])
def test_matrices_that_are_not_rigid_motions_are_refused(matrix):
    with pytest.raises(PoseError):
        matrix_to_pose(matrix)


def test_neither_pose_nor_transform_is_refused():
    with pytest.raises(PoseError, match="neither"):
        stamped_to_matrix(Pose())


@pytest.mark.parametrize("stamp_ns", [0, 999_999_999, 1_000_000_000, 1_700_000_000_123_456_789])
def test_stamps_are_exact_nanoseconds(stamp_ns):
    stamp = ns_to_stamp(stamp_ns)
    assert 0 <= stamp.nanosec < 1_000_000_000
    assert stamp_to_ns(stamp) == stamp_ns


def test_negative_stamps_are_refused():
    with pytest.raises(ValueError):
        ns_to_stamp(-1)
