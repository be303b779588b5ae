"""Pose, PoseStamped, Transform(Stamped) <-> 4x4 homogeneous matrices (metres), with validation.

A pose from the wire is checked, not trusted: NaN/inf anywhere is an error, and so is a quaternion whose
norm is off by more than ``QUATERNION_NORM_TOL`` (a bug upstream, not rounding). Smaller deviations, as left by
float32 round trips or printed YAML, are normalised away.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from geometry_msgs.msg import Point, Pose, PoseStamped, Quaternion, Transform, TransformStamped, Vector3
from scipy.spatial.transform import Rotation

from dff_grasp_ros.ros_io.stamp import header_stamp_ns, make_header, ns_to_stamp, stamp_to_ns

QUATERNION_NORM_TOL = 1e-2
ROTATION_ORTHONORMAL_TOL = 1e-4


class PoseError(ValueError):
    """A pose or transform that is not a finite rigid motion."""


class NonFinitePoseError(PoseError):
    """NaN or inf in a translation, quaternion or matrix."""


class NonUnitQuaternionError(PoseError):
    """A quaternion too far from unit norm to be a rounding artefact."""


def checked_quaternion_xyzw(quaternion_xyzw: Any, *, tol: float = QUATERNION_NORM_TOL) -> np.ndarray:
    """The quaternion normalised, or :class:`PoseError` for non-finite or clearly non-unit input."""
    q = np.asarray(quaternion_xyzw, dtype=np.float64).reshape(-1)
    if q.size != 4:
        raise PoseError(f"quaternion must have 4 components, got {q.size}")
    if not np.all(np.isfinite(q)):
        raise NonFinitePoseError(f"quaternion has non-finite components: {q.tolist()}")
    norm = float(np.linalg.norm(q))
    if abs(norm - 1.0) > tol:
        raise NonUnitQuaternionError(f"quaternion {q.tolist()} has norm {norm:.6f}; expected 1 within {tol}")
    return q / norm


def _xyz(vec: Any) -> np.ndarray:
    return np.array([vec.x, vec.y, vec.z], dtype=np.float64)


def _xyzw(quat: Any) -> np.ndarray:
    return np.array([quat.x, quat.y, quat.z, quat.w], dtype=np.float64)


def compose_matrix(translation_m: Any, quaternion_xyzw: Any, *, tol: float = QUATERNION_NORM_TOL) -> np.ndarray:
    """4x4 from a translation (m) and an (x, y, z, w) quaternion, validating both."""
    t = np.asarray(translation_m, dtype=np.float64).reshape(-1)
    if t.size != 3:
        raise PoseError(f"translation must have 3 components, got {t.size}")
    if not np.all(np.isfinite(t)):
        raise NonFinitePoseError(f"translation has non-finite components: {t.tolist()}")
    matrix = np.eye(4)
    matrix[:3, :3] = Rotation.from_quat(checked_quaternion_xyzw(quaternion_xyzw, tol=tol)).as_matrix()
    matrix[:3, 3] = t
    return matrix


def checked_rigid_transform(matrix: Any, *, tol: float = ROTATION_ORTHONORMAL_TOL) -> np.ndarray:
    """The matrix as float64 4x4 if it is a finite proper rigid transform, else :class:`PoseError`."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4):
        raise PoseError(f"expected a 4x4 matrix, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise NonFinitePoseError("matrix has non-finite entries")
    rot = m[:3, :3]
    if not np.allclose(m[3], [0, 0, 0, 1], atol=tol) or not np.allclose(rot.T @ rot, np.eye(3), atol=tol) \
            or np.linalg.det(rot) < 0:
        raise PoseError("matrix is not a rigid transform (rotation not orthonormal, reflection, or bad last row)")
    return m


def pose_to_matrix(pose: Any, *, tol: float = QUATERNION_NORM_TOL) -> np.ndarray:
    """``geometry_msgs/Pose`` (position, orientation) to 4x4."""
    return compose_matrix(_xyz(pose.position), _xyzw(pose.orientation), tol=tol)


def transform_to_matrix(transform: Any, *, tol: float = QUATERNION_NORM_TOL) -> np.ndarray:
    """``geometry_msgs/Transform`` (translation, rotation) to 4x4."""
    return compose_matrix(_xyz(transform.translation), _xyzw(transform.rotation), tol=tol)


def stamped_to_matrix(msg: Any, *, tol: float = QUATERNION_NORM_TOL) -> tuple[np.ndarray, str, int]:
    """PoseStamped or TransformStamped to (child-in-parent 4x4, parent frame id, stamp in ns)."""
    if hasattr(msg, "pose"):
        matrix = pose_to_matrix(msg.pose, tol=tol)
    elif hasattr(msg, "transform"):
        matrix = transform_to_matrix(msg.transform, tol=tol)
    else:
        raise PoseError(f"{type(msg).__name__} is neither a PoseStamped nor a TransformStamped")
    return matrix, str(msg.header.frame_id), header_stamp_ns(msg)


def _translation_quaternion(matrix: Any) -> tuple[np.ndarray, np.ndarray]:
    m = checked_rigid_transform(matrix)
    return m[:3, 3], Rotation.from_matrix(m[:3, :3]).as_quat()


def matrix_to_pose(matrix: Any) -> Pose:
    t, q = _translation_quaternion(matrix)
    return Pose(position=Point(x=t[0], y=t[1], z=t[2]), orientation=Quaternion(x=q[0], y=q[1], z=q[2], w=q[3]))


def matrix_to_pose_stamped(matrix: Any, frame_id: str, stamp_ns: int = 0) -> PoseStamped:
    return PoseStamped(header=make_header(frame_id, stamp_ns), pose=matrix_to_pose(matrix))


def matrix_to_transform_stamped(matrix: Any, parent_frame: str, child_frame: str,
                                stamp_ns: int = 0) -> TransformStamped:
    """``child_frame`` expressed in ``parent_frame`` (the TF convention)."""
    t, q = _translation_quaternion(matrix)
    return TransformStamped(
        header=make_header(parent_frame, stamp_ns), child_frame_id=str(child_frame),
        transform=Transform(translation=Vector3(x=t[0], y=t[1], z=t[2]),
                            rotation=Quaternion(x=q[0], y=q[1], z=q[2], w=q[3])))


__all__ = [
    "PoseError", "NonFinitePoseError", "NonUnitQuaternionError", "QUATERNION_NORM_TOL", "checked_quaternion_xyzw",
    "compose_matrix", "checked_rigid_transform",
    "pose_to_matrix", "transform_to_matrix", "stamped_to_matrix", "matrix_to_pose", "matrix_to_pose_stamped",
    "matrix_to_transform_stamped", "stamp_to_ns", "ns_to_stamp", "header_stamp_ns",
]
