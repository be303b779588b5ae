"""Update a served scene cloud with one fresh RGB-D view, without retraining (bin picking: after a pick).

For each served point, project it into the new view. Where the measured depth lies clearly *behind* the point at
every pixel around its projection, the camera sees through where the point was: it is gone (picked, or moved)
and is removed. Points outside the view, occluded (the measured surface is in front of them) or without a
depth return are kept: nothing was learned about them. Depth alone cannot tell the last centimetre of an object
from the table under it, so what the query's own object grouping (DINO flood fill, :mod:`dff_grasp_ros.query.
grouping`) joins to a removed region goes with it: an object leaves whole, and a remnant ring at its foot never
answers a prompt for it. New surface the view measures where the cloud had nothing
(an object uncovered or dropped) is added as an obstacle *without language features* (zero vectors): it blocks
grasps but never matches a prompt, since the field has never seen it. The features of what remains are unchanged.

Pure numpy (plus open3d normals for the added points); no ROS, no field network.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.field.fusion import backproject, estimate_normals, project_points, voxel_mean
from dff_grasp_ros.geometry import unit_rows
from dff_grasp_ros.query.grouping import GroupingParams, connected_regions, grow_object
from dff_grasp_ros.scene_cloud import SceneCloud


@dataclass(frozen=True)
class CarvingParams:
    """How sure the view must be before the cloud changes (metres)."""

    # The measured depth must lie this far behind a point to count as seeing through it: several times the
    # depth noise of a structured-light camera at 0.5 m, and the fused cloud's voxel size.
    see_through_margin_m: float = 0.015
    # A point is removed only if every pixel within this many pixels of its projection sees through it, so the
    # border of an object that stays is not eaten by the background next to it.
    window_px: int = 1
    min_depth_m: float = 0.05
    max_depth_m: float = 3.0
    # Measured points farther than this from every kept point are new surface.
    new_surface_distance_m: float = 0.008
    voxel_m: float = 0.004  # added points are fused to this voxel size, like the field's own export
    pixel_stride: int = 2  # every n-th pixel is back-projected for new surface
    remove_remnants: bool = True  # also remove what object grouping joins to a removed region
    min_region_points: int = 30  # removed regions smaller than this are noise: they take no remnant with them
    region_radius_m: float = 0.01  # removed points closer than this form one region

    def __post_init__(self) -> None:
        if self.see_through_margin_m <= 0 or self.window_px < 0 or self.pixel_stride < 1 or self.voxel_m <= 0:
            raise ValueError(f"invalid carving parameters: {self}")
        if not 0 <= self.min_depth_m < self.max_depth_m:
            raise ValueError(f"carving needs 0 <= min_depth_m < max_depth_m, got {self}")


@dataclass(frozen=True)
class CarvingResult:
    cloud: SceneCloud  # the kept points (features unchanged) followed by the added ones
    removed: np.ndarray  # (N,) bool over the input cloud's points
    added: int


def seen_through(points_m: np.ndarray, depth_m: np.ndarray, intrinsics: CameraIntrinsics,
                 camera_to_base: np.ndarray, params: CarvingParams) -> np.ndarray:
    """Mask (N,) of points the view sees through: measured depth behind them around their whole projection."""
    depth = np.where(np.isfinite(depth_m) & (depth_m >= params.min_depth_m) & (depth_m <= params.max_depth_m),
                     depth_m, np.nan).astype(np.float64)
    pixels, z = project_points(points_m, intrinsics, camera_to_base)
    height, width = depth.shape
    window = params.window_px
    with np.errstate(invalid="ignore"):
        cols, rows = np.floor(pixels[:, 0]), np.floor(pixels[:, 1])
        inside = ((z > params.min_depth_m) & (cols >= window) & (cols < width - window) & (rows >= window)
                  & (rows < height - window))
    index = np.flatnonzero(inside)
    cols, rows = cols[index].astype(np.int64), rows[index].astype(np.int64)
    # The nearest measured surface around the projection: NaN (no return) anywhere in the window keeps the point.
    nearest = np.full(len(index), np.inf)
    for dr in range(-window, window + 1):
        for dc in range(-window, window + 1):
            nearest = np.minimum(nearest, depth[rows + dr, cols + dc])
    removed = np.zeros(len(points_m), dtype=bool)
    removed[index] = nearest > z[index] + params.see_through_margin_m  # NaN compares False: kept
    return removed


def with_remnants(cloud: SceneCloud, removed: np.ndarray, params: CarvingParams,
                  grouping: GroupingParams) -> np.ndarray:
    """``removed`` plus every point the object grouping joins to one of its regions (see the module docstring)."""
    index = np.flatnonzero(removed & (np.abs(cloud.dino).sum(axis=1) > 0))  # added obstacles carry no DINO
    if len(index) < params.min_region_points:
        return removed
    labels = connected_regions(cloud.points_m[index], params.region_radius_m)
    out = removed.copy()
    tree = cKDTree(cloud.points_m)
    for label in np.unique(labels):
        region = index[labels == label]
        if len(region) >= params.min_region_points:
            out |= grow_object(tree, cloud.dino, region, grouping)
    return out


def new_surface(kept_points_m: np.ndarray, depth_m: np.ndarray, rgb: np.ndarray, intrinsics: CameraIntrinsics,
                camera_to_base: np.ndarray, params: CarvingParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points, rgb in [0, 1], normals) of measured surface farther than ``new_surface_distance_m`` from the
    kept cloud, fused to ``voxel_m``."""
    valid = np.isfinite(depth_m) & (depth_m >= params.min_depth_m) & (depth_m <= params.max_depth_m)
    sparse = np.zeros_like(valid)
    sparse[::params.pixel_stride, ::params.pixel_stride] = True
    valid &= sparse
    measured = backproject(np.nan_to_num(depth_m), intrinsics, camera_to_base)[valid]
    colours = np.asarray(rgb, dtype=np.float64)[valid] / 255.0
    if len(measured) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3))
    if len(kept_points_m):
        distance, _ = cKDTree(kept_points_m).query(measured, distance_upper_bound=params.new_surface_distance_m)
        fresh = ~np.isfinite(distance)
        measured, colours = measured[fresh], colours[fresh]
    if len(measured) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3))
    towards_camera = unit_rows(np.asarray(camera_to_base)[:3, 3] - measured, np.float64)
    points, colours, towards_camera = voxel_mean(measured, params.voxel_m, colours, towards_camera)
    return points, colours, estimate_normals(points, 3 * params.voxel_m, towards_camera)


def carve_scene(cloud: SceneCloud, depth_m: np.ndarray, rgb: np.ndarray, intrinsics: CameraIntrinsics,
                camera_to_base: np.ndarray, params: CarvingParams | None = None,
                grouping: GroupingParams | None = None) -> CarvingResult:
    """The scene cloud after one new view (see the module docstring); ``cloud`` itself is not modified.

    ``grouping`` should be the query's own grouping settings, so that "one object" means the same to both.
    """
    params = params or CarvingParams()
    depth_m = np.asarray(depth_m, dtype=np.float64)
    if depth_m.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(f"depth image is {depth_m.shape[1::-1]} (w, h) but the camera is "
                         f"{intrinsics.width}x{intrinsics.height}")
    if np.asarray(rgb).shape[:2] != depth_m.shape:
        raise ValueError(f"colour image {np.asarray(rgb).shape[:2]} and depth image {depth_m.shape} differ in size")
    pose = np.asarray(camera_to_base, dtype=np.float64)
    if pose.shape != (4, 4) or not np.isfinite(pose).all():
        raise ValueError("camera_to_base must be a finite 4x4 pose")
    removed = seen_through(cloud.points_m, depth_m, intrinsics, pose, params)
    if params.remove_remnants:
        removed = with_remnants(cloud, removed, params, grouping or GroupingParams())
    keep = ~removed
    points, colours, normals = new_surface(cloud.points_m[keep], depth_m, rgb, intrinsics, pose, params)
    count = len(points)
    merged = SceneCloud(
        points_m=np.concatenate([cloud.points_m[keep], points.astype(np.float32)]),
        normals=np.concatenate([cloud.normals[keep], unit_rows(normals).astype(np.float32)]),
        rgb=np.concatenate([cloud.rgb[keep], np.clip(np.round(colours * 255), 0, 255).astype(np.uint8)]),
        language=np.concatenate([cloud.language[keep], np.zeros((count, cloud.language.shape[1]), np.float32)]),
        dino=np.concatenate([cloud.dino[keep], np.zeros((count, cloud.dino.shape[1]), np.float32)]))
    return CarvingResult(merged, removed, count)
