"""Parallel-jaw gripper model: the volumes of fingers, palm and the closing region in the TCP frame.

TCP frame as in :mod:`dff_grasp_ros.grasp.frames` (origin between the pad centres, +z approach, +y closing).
Along z, each finger runs from its tip at ``+pad_length_m / 2`` back to ``tip - finger_length_m``, where the
palm starts and extends ``palm_depth_m`` further back. At opening ``w`` the fingers' inner faces are at
``y = +-w / 2``. The closing region is the slab between the inner faces: points there are what the hand holds,
not collisions.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ParallelJawGripper:
    """Dimensions in metres; defaults approximate a Franka Emika hand."""

    max_opening_m: float = 0.08
    finger_length_m: float = 0.045  # from the palm face to the finger tip, along the approach axis
    pad_length_m: float = 0.02  # the gripping part at the tip; the TCP is at its centre
    finger_width_m: float = 0.02  # along x
    finger_thickness_m: float = 0.01  # along y
    palm_depth_m: float = 0.06  # along z, behind the fingers
    palm_width_m: float = 0.06  # along x
    palm_span_m: float = 0.20  # along y
    clearance_m: float = 0.005  # opening added on each side of the contacts before closing
    # In clutter a neighbour may leave less room: the tightest clearance tried when the comfortable one collides.
    min_clearance_m: float = 0.002

    def __post_init__(self) -> None:
        values = [v for v in vars(self).values()]
        if any(not np.isfinite(v) or v < 0 for v in values) or self.max_opening_m <= 0:
            raise ValueError(f"gripper dimensions must be finite and positive: {self}")
        if self.pad_length_m > self.finger_length_m:
            raise ValueError("pad_length_m cannot exceed finger_length_m")
        if self.min_clearance_m > self.clearance_m:
            raise ValueError("min_clearance_m cannot exceed clearance_m")
        if self.palm_span_m < self.max_opening_m + 2 * self.finger_thickness_m:
            raise ValueError("palm_span_m must cover both fingers at full opening")

    @property
    def tip_z_m(self) -> float:
        return self.pad_length_m / 2.0

    @property
    def palm_face_z_m(self) -> float:
        return self.tip_z_m - self.finger_length_m

    @property
    def max_width_m(self) -> float:
        """Widest object the hand can close on: the full opening less the tightest clearance on both sides."""
        return self.max_opening_m - 2.0 * self.min_clearance_m

    def opening_for(self, contact_distance_m: float | np.ndarray) -> float | np.ndarray:
        """Opening to pass around contacts ``contact_distance_m`` apart: clearance on both sides, within reach."""
        return np.minimum(contact_distance_m + 2.0 * self.clearance_m, self.max_opening_m)

    def tight_opening_for(self, contact_distance_m: float | np.ndarray) -> float | np.ndarray:
        """The narrowest opening that still passes around the contacts (``min_clearance_m`` on both sides)."""
        return contact_distance_m + 2.0 * self.min_clearance_m

    def boxes(self, opening_m: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Axis-aligned boxes (lower corner, upper corner) in the TCP frame: both fingers, palm, closing region."""
        half_open = opening_m / 2.0
        half_fw = self.finger_width_m / 2.0
        finger_z = (self.palm_face_z_m, self.tip_z_m)
        return {
            "finger_left": (np.array([-half_fw, half_open, finger_z[0]]),
                            np.array([half_fw, half_open + self.finger_thickness_m, finger_z[1]])),
            "finger_right": (np.array([-half_fw, -half_open - self.finger_thickness_m, finger_z[0]]),
                             np.array([half_fw, -half_open, finger_z[1]])),
            "palm": (np.array([-self.palm_width_m / 2, -self.palm_span_m / 2, self.palm_face_z_m - self.palm_depth_m]),
                     np.array([self.palm_width_m / 2, self.palm_span_m / 2, self.palm_face_z_m])),
            "closing": (np.array([-half_fw, -half_open, finger_z[0]]), np.array([half_fw, half_open, finger_z[1]])),
        }

    def lowest_point_z_m(self, rotation: np.ndarray, position_m: np.ndarray, opening_m: float) -> float:
        """Lowest base-frame z of the hand's solid parts (fingers and palm) at this pose."""
        solid = [box for name, box in self.boxes(opening_m).items() if name != "closing"]
        return lowest_box_z_m(solid, rotation, position_m)


def lowest_box_z_m(boxes: Iterable[tuple[np.ndarray, np.ndarray]], rotation: np.ndarray,
                   position_m: np.ndarray) -> float:
    """Lowest base-frame z of boxes (lower, upper corners in the TCP frame) at the TCP pose (rotation, position):
    boxes are convex, so their corners bound them."""
    lowest = np.inf
    for lower, upper in boxes:
        corners = np.array([[x, y, z] for x in (lower[0], upper[0]) for y in (lower[1], upper[1])
                            for z in (lower[2], upper[2])])
        lowest = min(lowest, float((corners @ rotation[2] + position_m[2]).min()))
    return lowest


def points_in_box(points_tcp: np.ndarray, box: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Mask of points (in the TCP frame) inside an axis-aligned box."""
    lower, upper = box
    inside = (points_tcp[..., 0] >= lower[0]) & (points_tcp[..., 0] <= upper[0])
    for axis in (1, 2):  # per axis, not np.all over a length-3 axis: that reduction is several times slower
        inside &= (points_tcp[..., axis] >= lower[axis]) & (points_tcp[..., axis] <= upper[axis])
    return inside


def to_tcp_frame(points_m: np.ndarray, rotation: np.ndarray, position_m: np.ndarray) -> np.ndarray:
    """Base-frame points expressed in the TCP frame of pose (rotation, position)."""
    return (points_m - position_m) @ rotation
