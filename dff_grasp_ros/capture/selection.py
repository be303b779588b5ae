"""View selection: keep views that add information, skip near-duplicates and blurred frames.

A view is a near-duplicate when some kept view is closer than ``min_translation_m`` in position AND
``min_rotation_deg`` in orientation (an arm pausing, or a camera streaming at 30 Hz while the arm moves slowly).
Blur is measured as the variance of the image Laplacian after area-downsampling to a reference size, so one
threshold works for any camera resolution (otherwise larger images spread edges over more pixels and look
blurrier). Smaller images are measured as they are: enlarging them would invent blur.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dff_grasp_ros.capture.validate import RejectReason
from dff_grasp_ros.geometry import rotation_angle_deg

SHARPNESS_REFERENCE_PX = 240  # a larger image is shrunk to this shorter side before measuring


def rotation_angles_deg(rotation: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """Geodesic angles (deg) between one 3x3 rotation and a stack (N, 3, 3) of rotations."""
    rotations = np.asarray(rotations, dtype=np.float64).reshape(-1, 3, 3)
    return rotation_angle_deg(np.asarray(rotation, dtype=np.float64).T @ rotations)


def is_near_duplicate(camera_to_base: np.ndarray, kept_camera_to_base: np.ndarray, *, min_translation_m: float,
                      min_rotation_deg: float) -> bool:
    """True if some kept pose is within ``min_translation_m`` AND ``min_rotation_deg`` of this one."""
    kept = np.asarray(kept_camera_to_base, dtype=np.float64).reshape(-1, 4, 4)
    if kept.shape[0] == 0:
        return False
    pose = np.asarray(camera_to_base, dtype=np.float64)
    distances_m = np.linalg.norm(kept[:, :3, 3] - pose[:3, 3], axis=1)
    angles_deg = rotation_angles_deg(pose[:3, :3], kept[:, :3, :3])
    return bool(np.any((distances_m < min_translation_m) & (angles_deg < min_rotation_deg)))


def _gray_at_most(rgb: np.ndarray, short_side_px: int) -> np.ndarray:
    """Luma (0..255 float32), area-downsampled so that the shorter side is at most ``short_side_px``."""
    from PIL import Image

    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.dtype} {rgb.shape}")
    gray = Image.fromarray(rgb).convert("L")
    height, width = rgb.shape[:2]
    scale = short_side_px / min(height, width)
    if scale < 1:
        gray = gray.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BOX)
    return np.asarray(gray, dtype=np.float32)


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian over the interior pixels of a 2-D image."""
    g = np.asarray(gray, dtype=np.float32)
    if g.ndim != 2 or min(g.shape) < 3:
        raise ValueError(f"need a 2-D image of at least 3x3 pixels, got shape {g.shape}")
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def sharpness(rgb: np.ndarray, *, reference_px: int = SHARPNESS_REFERENCE_PX) -> float:
    """Resolution-independent sharpness of an RGB uint8 image (Laplacian variance at the reference size)."""
    return laplacian_variance(_gray_at_most(rgb, reference_px))


@dataclass(frozen=True)
class SelectionSettings:
    min_translation_m: float = 0.02
    min_rotation_deg: float = 5.0
    min_sharpness: float = 10.0  # 0 disables the blur check; sharp camera images score in the hundreds

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative number, got {value}")


class ViewSelector:
    """Stateful selection over a capture: remembers the poses of kept views."""

    def __init__(self, settings: SelectionSettings = SelectionSettings()) -> None:
        self.settings = settings
        self._kept_poses: list[np.ndarray] = []

    def check(self, rgb: np.ndarray, camera_to_base: np.ndarray) -> tuple[RejectReason, str] | None:
        """``None`` if the view is worth keeping, else (reason, detail). Does not remember the view."""
        s = self.settings
        # The pose test is cheap, the blur test is not: run the cheap one first.
        if self._kept_poses and is_near_duplicate(camera_to_base, np.stack(self._kept_poses),
                                                  min_translation_m=s.min_translation_m,
                                                  min_rotation_deg=s.min_rotation_deg):
            return RejectReason.TOO_CLOSE, (f"within {s.min_translation_m} m and {s.min_rotation_deg} deg "
                                            "of a kept view")
        if s.min_sharpness > 0:
            score = sharpness(rgb)
            if score < s.min_sharpness:
                return RejectReason.BLURRED, f"sharpness {score:.1f} < {s.min_sharpness}"
        return None

    def remember(self, camera_to_base: np.ndarray) -> None:
        """Record a view that was actually kept."""
        self._kept_poses.append(np.asarray(camera_to_base, dtype=np.float64))


__all__ = ["SelectionSettings", "ViewSelector", "is_near_duplicate", "laplacian_variance", "rotation_angles_deg",
           "sharpness"]
