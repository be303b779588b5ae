"""The grasp pose convention and rotation helpers.

A grasp pose is the pose of the gripper's TCP frame in the base frame (metres):

* origin: the centre between the two finger pads (where the object is held);
* +z: the approach direction, pointing from the gripper into the object (the hand moves along +z to grasp);
* +y: the finger closing axis (the line through both pads; the gripper is symmetric, so -y is equally valid);
* +x = y cross z, so (x, y, z) is right-handed.

The pre-grasp pose has the same orientation, ``standoff_m`` back along -z. Quaternions are (x, y, z, w), as in
geometry_msgs and scipy.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

# The hand looks the same after a half turn about its approach axis (fingers swap).
_HALF_TURN_ABOUT_Z = np.diag([-1.0, -1.0, 1.0])


def tcp_rotation(approach: np.ndarray, closing: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) whose columns are the TCP axes x, y = closing, z = approach (base frame).

    ``closing`` is made orthogonal to ``approach``; raises ValueError when they are (nearly) parallel.
    Batched too: (..., 3) inputs give (..., 3, 3).
    """
    z = np.asarray(approach, dtype=np.float64)
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    y = np.asarray(closing, dtype=np.float64)
    y = y - np.sum(y * z, axis=-1, keepdims=True) * z
    norm = np.linalg.norm(y, axis=-1, keepdims=True)
    if np.any(norm < 1e-6):
        raise ValueError("closing axis is parallel to the approach direction")
    y = y / norm
    return np.stack([np.cross(y, z), y, z], axis=-1)


def quaternion_xyzw(rotation: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w) of a rotation matrix, with w >= 0 for a unique answer."""
    quat = Rotation.from_matrix(rotation).as_quat()
    return quat if quat[3] >= 0 else -quat


def grasp_rotation_distance_rad(rotation_a: np.ndarray, rotation_b: np.ndarray) -> float:
    """Angle (rad) between two TCP orientations, treating the hand's half-turn symmetry about z as equal."""
    def angle(relative: np.ndarray) -> float:
        return float(np.arccos(np.clip((np.trace(relative) - 1.0) / 2.0, -1.0, 1.0)))

    relative = rotation_a.T @ rotation_b
    return min(angle(relative), angle(relative @ _HALF_TURN_ABOUT_Z))


def approach_directions(closing: np.ndarray, count: int) -> np.ndarray:
    """``count`` unit vectors evenly spread on the circle orthogonal to ``closing`` (all valid approaches).

    Batched too: ``closing`` (P, 3) gives (P, count, 3).
    """
    closing = np.asarray(closing, dtype=np.float64)
    closing = closing / np.linalg.norm(closing, axis=-1, keepdims=True)
    helper = np.where((np.abs(closing[..., 2]) < 0.9)[..., None], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0])
    u = np.cross(closing, helper)
    u /= np.linalg.norm(u, axis=-1, keepdims=True)
    v = np.cross(closing, u)
    angles = np.arange(count) * (2.0 * np.pi / count)
    return np.cos(angles)[:, None] * u[..., None, :] + np.sin(angles)[:, None] * v[..., None, :]
