"""Update a served scene cloud with one fresh RGB-D view, without retraining (bin picking: after a pick).

For each served point, project it into the new view. Where the measured depth lies clearly *behind* the point at
every pixel around its projection, the camera sees through where the point was: it is gone (picked, or moved)
and is removed. Points outside the view, occluded (the measured surface is in front of them) or without a
depth return are kept: nothing was learned about them. Depth alone cannot tell the last centimetre of an object
from the table under it, so what the query's own object grouping (DINO flood fill over the prepared cloud's
neighbour graph, :mod:`dff_grasp_ros.query.grouping`) joins to a removed region goes with it, and so do the
obstacle points of the low layer just above the table under it: an object leaves whole, and a remnant ring at
its foot never answers a prompt for it nor blocks a finger. The fill only crosses points the new view sees
*past* (the depth measured at the point's own pixel lies ``remnant_margin_m`` behind it: nothing there, and nothing
in front of it either): a touching neighbour stays even where the field's features merged it with the object that
left, both its faces the camera sees and those it hides behind itself.

New surface the view measures where the cloud had nothing (an object uncovered or dropped) is added *without
language features* (zero vectors): an obstacle above the table (:mod:`dff_grasp_ros.query.prepared`), never a
match for a prompt, since the field has never seen it. The features of what remains are unchanged.

:func:`carve_prepared` updates a :class:`PreparedCloud` incrementally (what the query node serves: well under
0.5 s on a 255k-point cloud); :func:`carve_scene` is the same on a plain SceneCloud (it prepares it first).
Pure numpy and scipy; no ROS, no field network.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from dff_grasp_ros.dataset import CameraIntrinsics, rigid_transform_problem
from dff_grasp_ros.field.fusion import measured_points, project_points, voxel_mean
from dff_grasp_ros.geometry import unit_rows
from dff_grasp_ros.query.grouping import connected_regions
from dff_grasp_ros.query.prepared import PreparationSettings, PreparedCloud, above_clearance, prepare_cloud
from dff_grasp_ros.scene_cloud import SceneCloud


@dataclass(frozen=True)
class CarvingParams:
    """How sure the view must be before the cloud changes (metres)."""

    # The measured depth must lie this far behind a point to count as seeing through it: about three times the
    # depth noise of a structured-light camera at 0.5 m (~2 mm), more than the fused cloud's 4 mm voxels, and
    # less than the thinnest tools stand (a knife's blade tops at 11.5 mm: at 15 mm a picked knife stayed).
    see_through_margin_m: float = 0.006
    # A remnant must be seen past: the depth at its own pixel this far behind it (below see_through_margin_m:
    # the foot of an object, 5-10 mm above the table, is seen past but not through).
    remnant_margin_m: float = 0.004
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
        if (self.see_through_margin_m <= 0 or self.remnant_margin_m < 0 or self.window_px < 0
                or self.pixel_stride < 1 or self.voxel_m <= 0):
            raise ValueError(f"invalid carving parameters: {self}")
        if not 0 <= self.min_depth_m < self.max_depth_m:
            raise ValueError(f"carving needs 0 <= min_depth_m < max_depth_m, got {self}")


@dataclass(frozen=True)
class CarvingResult:
    cloud: SceneCloud  # the kept points (features unchanged) followed by the added ones
    removed: np.ndarray  # (N,) bool over the input cloud's points
    added: int


@dataclass(frozen=True)
class PreparedCarving:
    prepared: PreparedCloud  # the updated cloud, ready for queries
    removed: np.ndarray  # (N,) bool over the input cloud's rows
    added: int  # featureless rows appended


def view_evidence(points_m: np.ndarray, depth_m: np.ndarray, intrinsics: CameraIntrinsics,
                  camera_to_base: np.ndarray, params: CarvingParams) -> tuple[np.ndarray, np.ndarray]:
    """Masks (N,) of the points the view sees through (measured depth behind them by ``see_through_margin_m`` at
    every pixel within ``window_px`` of their projection; no return anywhere there keeps them) and of the points
    it sees past (the depth at their own pixel ``remnant_margin_m`` behind them)."""
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
    cols, rows, z = cols[index].astype(np.int64), rows[index].astype(np.int64), z[index]
    nearest = np.full(len(index), np.inf)
    for dr in range(-window, window + 1):
        for dc in range(-window, window + 1):
            nearest = np.minimum(nearest, depth[rows + dr, cols + dc])  # NaN propagates: no return keeps the point
    through, past = np.zeros(len(points_m), dtype=bool), np.zeros(len(points_m), dtype=bool)
    with np.errstate(invalid="ignore"):  # NaN compares False: kept
        through[index] = nearest > z + params.see_through_margin_m
        past[index] = depth[rows, cols] > z + params.remnant_margin_m
    return through, past


def seen_through(points_m: np.ndarray, depth_m: np.ndarray, intrinsics: CameraIntrinsics,
                 camera_to_base: np.ndarray, params: CarvingParams) -> np.ndarray:
    """Mask (N,) of points the view sees through: measured depth behind them around their whole projection."""
    return view_evidence(points_m, depth_m, intrinsics, camera_to_base, params)[0]


def new_surface(kept_points_m: np.ndarray, depth_m: np.ndarray, rgb: np.ndarray, intrinsics: CameraIntrinsics,
                camera_to_base: np.ndarray, params: CarvingParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points, rgb in [0, 1], normals) of measured surface farther than ``new_surface_distance_m`` from the
    kept cloud, fused to ``voxel_m``. The normals point towards the camera: added points are obstacles only, no
    grasp contact ever uses their normals, and one view is too little for a surface fit worth its time."""
    measured, colours = measured_points(depth_m, rgb, intrinsics, camera_to_base, params.min_depth_m,
                                        params.max_depth_m, params.pixel_stride)
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
    return points, colours, unit_rows(towards_camera, np.float64)


def remnants(prepared: PreparedCloud, removed: np.ndarray, past: np.ndarray, params: CarvingParams
             ) -> np.ndarray:
    """``removed`` cloud rows plus their remnants: each removed region of at least ``min_region_points`` scene
    points grown over the prepared grouping graph through points the view sees ``past``, and the low layer
    (valid rows above the table clearance but in the table band) within ``region_radius_m`` of what goes."""
    grouping = prepared.grouping
    rep_rows = prepared.valid_rows_of_scene()
    gone = removed[rep_rows]
    index = np.flatnonzero(gone)
    if len(index) < params.min_region_points:
        return removed
    allowed = past[rep_rows] | gone
    labels = connected_regions(grouping.points_m[index], params.region_radius_m)
    scene_gone = gone.copy()
    for label in np.unique(labels):
        region = index[labels == label]
        if len(region) >= params.min_region_points:
            scene_gone |= grouping.grow(region, allowed=allowed)
    out = removed | prepared.scatter(prepared.on_valid(scene_gone))
    valid_index = np.flatnonzero(prepared.valid)
    low = valid_index[prepared.scene_of_valid < 0]
    low = low[above_clearance(prepared.cloud.points_m[low], prepared.settings)]
    if len(low) and scene_gone.any():
        distance, _ = cKDTree(grouping.points_m[scene_gone]).query(prepared.cloud.points_m[low],
                                                                   distance_upper_bound=params.region_radius_m)
        out[low[np.isfinite(distance)]] = True
    return out


def _checked_view(depth_m: np.ndarray, rgb: np.ndarray, intrinsics: CameraIntrinsics,
                  camera_to_base: np.ndarray, params: CarvingParams) -> tuple[np.ndarray, np.ndarray]:
    depth_m = np.asarray(depth_m, dtype=np.float64)
    size = (intrinsics.height, intrinsics.width)
    if depth_m.shape != size:
        raise ValueError(f"depth image has shape {depth_m.shape}, the camera's (height, width) is {size}")
    rgb = np.asarray(rgb)
    if rgb.shape != (*size, 3) or rgb.dtype != np.uint8:
        # the colours of new surface come from it: float [0, 1] colours would be stored black
        raise ValueError(f"colour image must be uint8 of shape {(*size, 3)}, got {rgb.dtype} {rgb.shape}")
    pose = np.asarray(camera_to_base, dtype=np.float64)
    problem = rigid_transform_problem(pose)
    if problem:  # a scaled or mirrored pose projects the cloud wrongly: points it removes would be lost
        raise ValueError(f"camera_to_base {problem}")
    usable = np.isfinite(depth_m) & (depth_m >= params.min_depth_m) & (depth_m <= params.max_depth_m)
    if not usable.any():  # "nothing changed" would be a wrong answer: the view says nothing at all
        raise ValueError(f"the depth image has no return between {params.min_depth_m:g} and {params.max_depth_m:g} "
                         f"m (depth must be in metres): it cannot tell what changed")
    return depth_m, pose


def carve_prepared(prepared: PreparedCloud, depth_m: np.ndarray, rgb: np.ndarray, intrinsics: CameraIntrinsics,
                   camera_to_base: np.ndarray, params: CarvingParams | None = None) -> PreparedCarving:
    """The prepared cloud after one new view (see the module docstring); ``prepared`` itself is not modified."""
    params = params or CarvingParams()
    depth_m, pose = _checked_view(depth_m, rgb, intrinsics, camera_to_base, params)
    cloud = prepared.cloud
    removed, past = view_evidence(cloud.points_m, depth_m, intrinsics, pose, params)
    if params.remove_remnants:
        removed = remnants(prepared, removed, past, params)
    removed = prepared.with_voxels_of(removed)
    points, colours, normals = new_surface(cloud.points_m[~removed], depth_m, rgb, intrinsics, pose, params)
    count = len(points)
    added = SceneCloud(points_m=points.astype(np.float32), normals=unit_rows(normals).astype(np.float32),
                       rgb=np.clip(np.round(colours * 255), 0, 255).astype(np.uint8),
                       language=np.zeros((count, cloud.language.shape[1]), np.float32),
                       dino=np.zeros((count, cloud.dino.shape[1]), np.float32))
    return PreparedCarving(prepared.updated(removed, added), removed, count)


def carve_scene(cloud: SceneCloud, depth_m: np.ndarray, rgb: np.ndarray, intrinsics: CameraIntrinsics,
                camera_to_base: np.ndarray, params: CarvingParams | None = None,
                settings: PreparationSettings | None = None) -> CarvingResult:
    """The scene cloud after one new view (see the module docstring); ``cloud`` itself is not modified.

    ``settings`` should be the query's own (``QueryParams().preparation``, the default), so that "one object"
    means the same to both.
    """
    if settings is None:
        from dff_grasp_ros.query.pipeline import QueryParams  # the query's defaults; pipeline does not import this

        settings = QueryParams().preparation
    _checked_view(depth_m, rgb, intrinsics, camera_to_base, params or CarvingParams())
    carved = carve_prepared(prepare_cloud(cloud, settings), depth_m, rgb, intrinsics, camera_to_base, params)
    return CarvingResult(carved.prepared.cloud, carved.removed, carved.added)
