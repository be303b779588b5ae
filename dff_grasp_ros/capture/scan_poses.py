"""Scan poses: camera poses on a spherical cap around a workspace centre, in the order an arm should visit them.

The cap is covered by rings of equal elevation step; each ring gets views in proportion to its circumference,
and the number of rings is chosen so that the spacing between rings matches the spacing along them. The arm
sweeps the lowest ring one way, rises, and sweeps the next ring back (a serpentine), so consecutive views are
neighbours and the wrist never winds up more than one turn. Every camera looks at the centre with no roll
(image "up" towards +z), as an RGB-D camera on a wrist sees a table best.

Poses are ``camera_to_base``: the camera optical frame (REP-103: x right, y down, z forward) in the base frame.
Given the hand-eye transform ``camera_to_tool``, :func:`tool_poses` turns them into the tool poses MoveIt plans to.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

MAX_ELEVATION_DEG = 89.0  # looking straight down leaves "no roll" undefined
MAX_SCAN_POSES = 10000
# Each coordinate of the workspace centre, in the base frame: an arm's reach is about 1-2 m, so 10 m is generous,
# and it keeps the camera positions far from float64 rounding (a 1e30 centre put the camera on it: NaN poses).
# The scan_center_* node parameters have this range too.
MAX_SCAN_CENTER_M = 10.0


def look_at_optical(eye_m: np.ndarray, target_m: np.ndarray) -> np.ndarray:
    """camera_to_base of an optical frame at ``eye_m`` looking at ``target_m`` with no roll (image up ~ +z)."""
    eye, target = np.asarray(eye_m, float), np.asarray(target_m, float)
    forward = target - eye
    distance = float(np.linalg.norm(forward))
    # Refused rather than divided: 0/0 (the camera on its target, or their distance lost to float64 rounding at
    # huge coordinates) made NaN poses that only failed later, in whoever converted them.
    scale = max(1.0, float(np.max(np.abs(eye))), float(np.max(np.abs(target))))
    if not math.isfinite(distance) or distance <= 1e-9 * scale:
        raise ValueError(f"look_at_optical: no viewing direction from the camera at {eye.tolist()} to its target "
                         f"{target.tolist()} (the same point, or not finite)")
    forward /= distance
    right = np.cross(forward, [0.0, 0.0, 1.0])
    norm = np.linalg.norm(right)
    if norm < 1e-6:
        raise ValueError("look_at_optical: viewing direction is vertical, so 'no roll' is undefined")
    right /= norm
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, eye
    return pose


def check_cap(center_m: Sequence[float], radius_m: float, min_elevation_deg: float, max_elevation_deg: float,
              count: int, azimuth_deg: Sequence[float] = (-180.0, 180.0)) -> str | None:
    """Why these cap parameters describe no scan (None when they do)."""
    centre = np.asarray(center_m, dtype=np.float64).reshape(-1)
    if centre.size != 3 or not np.all(np.isfinite(centre)) or np.any(np.abs(centre) > MAX_SCAN_CENTER_M):
        return (f"center must be 3 finite coordinates in [-{MAX_SCAN_CENTER_M:g}, {MAX_SCAN_CENTER_M:g}] m, got "
                f"{centre.tolist()}")
    if not (math.isfinite(radius_m) and 0.01 <= radius_m <= 10.0):
        return f"radius_m must be in [0.01, 10] metres, got {radius_m}"
    if not (math.isfinite(min_elevation_deg) and math.isfinite(max_elevation_deg)
            and -MAX_ELEVATION_DEG <= min_elevation_deg <= max_elevation_deg <= MAX_ELEVATION_DEG):
        return (f"elevations need -{MAX_ELEVATION_DEG:g} <= min <= max <= {MAX_ELEVATION_DEG:g} deg, got "
                f"[{min_elevation_deg}, {max_elevation_deg}]")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or not 1 <= count <= MAX_SCAN_POSES:
        return f"count must be an integer in [1, {MAX_SCAN_POSES}], got {count!r}"
    low, high = (float(a) for a in azimuth_deg)
    if not (math.isfinite(low) and math.isfinite(high) and low < high <= low + 360.0):
        return f"azimuth range [lo, hi] needs lo < hi <= lo + 360 deg, got [{low}, {high}]"
    return None


def ring_sizes(count: int, elevations_rad: np.ndarray) -> np.ndarray:
    """Views per ring, in proportion to each ring's circumference, at least one each, summing to ``count``."""
    share = np.cos(elevations_rad) / np.cos(elevations_rad).sum() * count
    sizes = np.maximum(np.floor(share).astype(int), 1)
    while sizes.sum() < count:  # largest remainder first
        sizes[np.argmax(share - sizes)] += 1
    while sizes.sum() > count:
        sizes[np.argmax(np.where(sizes > 1, sizes - share, -np.inf))] -= 1
    return sizes


def cap_spherical(radius_m: float, min_elevation_deg: float, max_elevation_deg: float, count: int,
                  azimuth_deg: Sequence[float] = (-180.0, 180.0)) -> tuple[np.ndarray, np.ndarray]:
    """(azimuth, elevation) in radians of the scan's views, in visiting order."""
    el_lo, el_hi = math.radians(min_elevation_deg), math.radians(max_elevation_deg)
    az_lo, az_hi = (math.radians(a) for a in azimuth_deg)
    full_circle = math.isclose(az_hi - az_lo, 2 * math.pi)
    span = az_hi - az_lo
    mid = 0.5 * (el_lo + el_hi)
    rings = max(1, round(math.sqrt(count * (el_hi - el_lo) / (span * math.cos(mid))))) if el_hi > el_lo else 1
    rings = min(rings, count)
    elevations = np.linspace(el_lo, el_hi, rings) if rings > 1 else np.array([mid])
    azimuth, elevation = [], []
    for k, (ring_elevation, size) in enumerate(zip(elevations, ring_sizes(count, elevations))):
        if full_circle:
            ring = az_lo + span * np.arange(size) / size
        else:
            ring = np.linspace(az_lo, az_hi, size) if size > 1 else np.array([0.5 * (az_lo + az_hi)])
        if k % 2:  # serpentine: every other ring is swept back, starting where the last one ended
            ring = ring[::-1]
        azimuth.append(ring)
        elevation.append(np.full(size, ring_elevation))
    return np.concatenate(azimuth), np.concatenate(elevation)


def cap_camera_poses(center_m: Sequence[float], radius_m: float, min_elevation_deg: float,
                     max_elevation_deg: float, count: int,
                     azimuth_deg: Sequence[float] = (-180.0, 180.0)) -> np.ndarray:
    """(count, 4, 4) camera_to_base poses on the cap, looking at ``center_m``, ordered for a short arm path.

    Raises ValueError (naming the parameter) for a cap that describes no scan.
    """
    problem = check_cap(center_m, radius_m, min_elevation_deg, max_elevation_deg, count, azimuth_deg)
    if problem:
        raise ValueError(f"scan poses: {problem}")
    centre = np.asarray(center_m, dtype=np.float64).reshape(3)
    azimuth, elevation = cap_spherical(radius_m, min_elevation_deg, max_elevation_deg, int(count), azimuth_deg)
    return look_at_poses(centre, radius_m, azimuth, elevation)


def look_at_poses(centre_m: np.ndarray, radius_m: float | np.ndarray, azimuth_rad: np.ndarray,
                  elevation_rad: np.ndarray, targets_m: np.ndarray | None = None) -> np.ndarray:
    """Cameras at spherical coordinates around ``centre_m`` looking at it (or at per-view ``targets_m``)."""
    offsets = np.stack([np.cos(elevation_rad) * np.cos(azimuth_rad), np.cos(elevation_rad) * np.sin(azimuth_rad),
                        np.sin(elevation_rad)], axis=1) * np.reshape(radius_m, (-1, 1))
    eyes = centre_m + offsets
    targets = np.broadcast_to(centre_m, eyes.shape) if targets_m is None else targets_m
    return np.stack([look_at_optical(e, t) for e, t in zip(eyes, targets)])


def tool_poses(camera_to_base: np.ndarray, camera_to_tool: np.ndarray) -> np.ndarray:
    """Tool poses (tool_to_base) that put the camera at ``camera_to_base``, given the hand-eye transform."""
    return np.asarray(camera_to_base) @ np.linalg.inv(np.asarray(camera_to_tool, dtype=np.float64))


def path_length_m(poses: np.ndarray) -> float:
    """Length of the straight segments joining the poses' positions in order."""
    return float(np.linalg.norm(np.diff(np.asarray(poses)[:, :3, 3], axis=0), axis=1).sum())
