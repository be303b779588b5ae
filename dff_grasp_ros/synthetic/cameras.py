"""Sim camera geometry: intrinsics, the scan trajectory (the product's scan poses plus jitter), per-pixel rays.

Poses are ``camera_to_base``: the optical frame (REP-103: x right, y down, z forward) in base_link.
Pixel (row, col) looks through image point (col + 0.5, row + 0.5), nerfstudio's convention, so the rays here
are exactly the ones nerfstudio generates from the same transforms.json.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from dff_grasp_ros.capture.scan_poses import cap_spherical, look_at_optical, look_at_poses
from dff_grasp_ros.dataset import CameraIntrinsics, far_from_base_problem
from dff_grasp_ros.field.fusion import project_points
from dff_grasp_ros.synthetic.objects import placed_parts
from dff_grasp_ros.synthetic.spec import Scene

MIN_TABLE_HALF_SIZE_M = 0.6  # a 1.2 m table at least
MAX_TABLE_HALF_SIZE_M = 6.0
MIN_DOWNWARD_SLOPE = 0.05  # a ray must drop at least 5 cm per metre, else the table would need to be huge


def scene_intrinsics(scene: Scene) -> CameraIntrinsics:
    """The pinhole intrinsics of the scene's camera (no distortion)."""
    cam = scene.camera
    return CameraIntrinsics(cam.width, cam.height, cam.fx, cam.fy, cam.cx, cam.cy)


def scan_poses(scene: Scene) -> np.ndarray:
    """(N, 4, 4) camera_to_base poses of the scan, deterministic from ``scene.seed``.

    The product's own scan generator (:func:`dff_grasp_ros.capture.scan_poses.cap_camera_poses`, what
    ``/scan_poses`` hands a real arm) on the scene's cap, started at a seeded azimuth, plus small seeded jitter
    in radius, elevation and aim point (an arm never reaches a pose exactly) that adds parallax.
    """
    scan = scene.scan
    rng = np.random.default_rng(scene.seed)
    count = scan.views
    az_lo, az_hi = scan.azimuth_deg
    if np.isclose(az_hi - az_lo, 360.0):
        start = az_lo + rng.uniform(0.0, 360.0)
        az_lo, az_hi = start, start + 360.0
    azimuth, elevation = cap_spherical(scan.radius_m, *scan.elevation_deg, count, (az_lo, az_hi))
    el_lo, el_hi = np.radians(scan.elevation_deg)
    elevation = np.clip(elevation + rng.uniform(-0.1, 0.1, count) * (el_hi - el_lo), el_lo, el_hi)
    radius = scan.radius_m * (1 + rng.uniform(-0.04, 0.04, count))
    centre = np.asarray(scan.center_m, float)
    targets = centre + np.concatenate([rng.normal(0, 0.01, (count, 2)), np.zeros((count, 1))], axis=1)
    return look_at_poses(centre, radius, azimuth, elevation, targets)


def views_seeing(scene: Scene, outlines_m: list[np.ndarray], walls: tuple[np.ndarray, ...] = ()) -> np.ndarray:
    """Per outline (each an (N, 3) point set in the base frame), how many scan views have at least one of its
    points in front of the camera, inside the image and not behind one of ``walls`` ((2, 3) boxes: low and high
    corners). Objects hiding each other are ignored: this is where the views point, not what they show."""
    intrinsics = scene_intrinsics(scene)
    points = np.concatenate(outlines_m)
    homogeneous = np.concatenate([points, np.ones((len(points), 1))], axis=1)
    owner = np.repeat(np.arange(len(outlines_m)), [len(o) for o in outlines_m])
    counts = np.zeros(len(outlines_m), dtype=int)
    for pose in scan_poses(scene):
        camera = homogeneous @ np.linalg.inv(pose).T
        depth = np.where(camera[:, 2] > 1e-6, camera[:, 2], np.nan)
        u = intrinsics.fx * camera[:, 0] / depth + intrinsics.cx
        v = intrinsics.fy * camera[:, 1] / depth + intrinsics.cy
        inside = (u >= 0) & (u <= intrinsics.width) & (v >= 0) & (v <= intrinsics.height)  # NaN compares False
        for wall in walls:
            inside &= ~_segments_cross_box(pose[:3, 3], points, wall)
        counts[np.unique(owner[inside])] += 1
    return counts


def _segments_cross_box(start_m: np.ndarray, ends_m: np.ndarray, box_m: np.ndarray) -> np.ndarray:
    """Whether each segment from ``start_m`` to a row of ``ends_m`` passes through the box (slab test); one that
    meets it only in its last millimetre ends on its face (an object pressed against a wall) and is not hidden."""
    step = ends_m - start_m
    with np.errstate(divide="ignore", invalid="ignore"):
        t_low, t_high = (box_m[0] - start_m) / step, (box_m[1] - start_m) / step
    enter = np.nanmax(np.fmin(t_low, t_high), axis=1)  # a coordinate that does not change gives +-inf: no limit
    leave = np.nanmin(np.fmax(t_low, t_high), axis=1)
    last_mm = 1.0 - 0.001 / np.linalg.norm(step, axis=1).clip(1e-9)
    return (enter < leave) & (leave > 0) & (enter < last_mm)


OVERVIEW_TILT_DEG = 10.0  # off straight down: a look-at pose needs a horizontal component to fix the roll
OVERVIEW_MARGIN_PX = 4  # every corner of the workspace this far inside the overview image
OVERVIEW_RAISE = 1.05  # the overview camera is raised by this factor until the whole workspace is in view ...
OVERVIEW_MAX_RAISES = 60  # ... at most this often (18.7 times the scan radius)


def workspace_points(scenes: tuple[Scene, ...]) -> np.ndarray:
    """(N, 3) points whose hull holds the scenes' objects (their mesh vertices) and their totes (wall corners)."""
    points = [np.zeros((0, 3))]
    for scene in scenes:
        points += [part.mesh.vertices for o in scene.objects for part in placed_parts(o.type, o.position_m, o.yaw_deg)]
        if scene.tote is not None:
            (cx, cy), (lx, ly) = scene.tote.center_m, scene.tote.inner_size_m
            half_x, half_y = lx / 2 + scene.tote.wall_thickness_m, ly / 2 + scene.tote.wall_thickness_m
            points += [np.array([[cx + sx * half_x, cy + sy * half_y, z] for sx in (-1, 1) for sy in (-1, 1)
                                 for z in (0.0, scene.tote.wall_height_m)])]
    return np.concatenate(points)


def in_image(points_m: np.ndarray, intrinsics: CameraIntrinsics, camera_to_base: np.ndarray,
             margin_px: float = 0.0) -> np.ndarray:
    """(N,) whether each point lies in front of the camera and projects at least ``margin_px`` inside the image."""
    pixels, depth = project_points(points_m, intrinsics, camera_to_base)
    with np.errstate(invalid="ignore"):
        return ((depth > 1e-6) & (pixels[:, 0] >= margin_px) & (pixels[:, 0] <= intrinsics.width - margin_px)
                & (pixels[:, 1] >= margin_px) & (pixels[:, 1] <= intrinsics.height - margin_px))


def overview_pose(scene: Scene, also: tuple[Scene, ...] = ()) -> np.ndarray:
    """camera_to_base of one view from above the workspace, as an arm takes it after a pick to update the scene:
    ``scan.radius_m`` above the scan centre (the tote's centre when there is one), looking down at it, tilted
    OVERVIEW_TILT_DEG towards +y so that the image's x axis runs along the base's x (a tote's long side); raised
    until the whole workspace is in the image: every object of ``scene`` and of ``also`` (the scene before the
    pick: where the picked object stood must be seen for the update to carve it) and the tote's walls.

    Before, a tote wider than the view or a tall bottle near its wall was partly outside it: the picked object's
    points there were never carved, and stayed in the served scene as a ghost that answered the prompt of its
    twin (random bins: "black screwdriver" grasped twice where the first one had been, the second never cleared).
    """
    centre = np.asarray(scene.scan.center_m, float).copy()
    if scene.tote is not None:
        centre[:2] = scene.tote.center_m
    points, intrinsics = workspace_points((scene, *also)), scene_intrinsics(scene)
    height = scene.scan.radius_m
    for _ in range(OVERVIEW_MAX_RAISES + 1):
        eye = centre + np.array([0.0, -height * np.tan(np.radians(OVERVIEW_TILT_DEG)), height])
        pose = look_at_optical(eye, centre)
        if in_image(points, intrinsics, pose, OVERVIEW_MARGIN_PX).all():
            break
        height *= OVERVIEW_RAISE
    return pose


@lru_cache(maxsize=8)
def pixel_directions(intrinsics: CameraIntrinsics) -> np.ndarray:
    """(H, W, 3) ray directions in the optical frame with z = 1, so a hit distance along them is z-depth."""
    cols = (np.arange(intrinsics.width) + 0.5 - intrinsics.cx) / intrinsics.fx
    rows = (np.arange(intrinsics.height) + 0.5 - intrinsics.cy) / intrinsics.fy
    u, v = np.meshgrid(cols, rows)
    directions = np.stack([u, v, np.ones_like(u)], axis=-1)
    directions.setflags(write=False)  # cached: callers must not modify it
    return directions


def table_half_size_m(scene: Scene) -> float:
    """Half side of a square table, centred under the scan centre, that fills every pixel of every view.

    Raises ValueError if some view sees (nearly) the horizon, which no finite table could fill.
    """
    intrinsics = scene_intrinsics(scene)
    corners = np.array([[0, 0], [intrinsics.width, 0], [0, intrinsics.height],
                        [intrinsics.width, intrinsics.height]], dtype=float)
    corner_rays = np.stack([(corners[:, 0] - intrinsics.cx) / intrinsics.fx,
                            (corners[:, 1] - intrinsics.cy) / intrinsics.fy, np.ones(4)], axis=1)
    centre = np.asarray(scene.scan.center_m, float)
    extent = 0.0
    for index, pose in enumerate(scan_poses(scene)):
        if pose[2, 3] <= 0.02:
            raise ValueError(f"scene {scene.name!r}: view {index} puts the camera at or below the table; "
                             f"raise scan.center_m z or scan.elevation_deg")
        far = far_from_base_problem(pose[:3, 3])  # the check every dataset reader makes
        if far:
            raise ValueError(f"scene {scene.name!r}: view {index} puts the camera at {far}; scenes are in metres "
                             f"around base_link")
        directions = corner_rays @ pose[:3, :3].T
        slope = -directions[:, 2] / np.linalg.norm(directions[:, :2], axis=1).clip(1e-9)
        if slope.min() < MIN_DOWNWARD_SLOPE:
            raise ValueError(f"scene {scene.name!r}: view {index} sees (nearly) the horizon, so the table cannot "
                             f"fill the image; raise scan.elevation_deg or narrow the camera (larger fx, fy)")
        hits = pose[:3, 3] + directions * (-pose[2, 3] / directions[:, 2])[:, None]
        extent = max(extent, float(np.abs(hits[:, :2] - centre[:2]).max()))
    half = max(MIN_TABLE_HALF_SIZE_M, 1.05 * extent + 0.05)
    if half > MAX_TABLE_HALF_SIZE_M:
        raise ValueError(f"scene {scene.name!r}: the views reach {extent:.1f} m across the table; lower the "
                         f"camera's field of view or raise scan.elevation_deg")
    return half
