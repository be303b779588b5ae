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
left, both its faces the camera sees and those it hides behind itself. A sliver next to what goes (a piece of
the grouping graph under ``min_region_points``, seen past: an object's underside that an earlier update cut off
from the rest of it) goes too: no object is that small, and it would answer the prompt of the picked object's twin.

Before anything is carved, the view's camera pose is corrected to where its depth fits the served scene
(:func:`dff_grasp_ros.view_alignment.align_view`, within ``CarvingParams.alignment``'s bounds), and the view is
checked against the served scene (:func:`view_agreement`): a depth in
the wrong scale or a wrong camera pose (stale TF, wrong hand-eye, wrong frame) passes every range check, yet sees
through the table it looks at, or disagrees with most of the scene; carving it would remove most of the scene (or
fill it with surface floating in mid air), and the same field announced again does not bring it back. Such a
view is refused, and so is one that does not look at the scene at all: a refusal beats a wrong scene.

New surface the view measures where the cloud had nothing (an object uncovered or dropped) is added *without
language features* (zero vectors): an obstacle above the table (:mod:`dff_grasp_ros.query.prepared`), never a
match for a prompt, since the field has never seen it. The features of what remains are unchanged.

An object that *moved* (pushed off a tote wall, nudged by a neighbour's pick) is both: removed where it stood, new
surface where it lies now. When a removed object (left its place whole, at least ``min_region_points`` scene
points) fits one cluster of the new surface above the table by a planar motion (slid and turned on the table,
at most ``CarryParams.max_move_m``), and the view agrees with it there, its rows are *carried*: moved, normals
turned, with their language and DINO features and colours, in place of the featureless new surface they cover
(:mod:`dff_grasp_ros.carry` says when a fit is trusted). A prompt for it then finds it where it lies now; when in
doubt nothing is carried, and the object is refused as not found, as before. :attr:`PreparedCarving.carried`
says what was carried and how far it moved. Looking for a carry costs nothing measurable when no removed object
and no new cluster are near each other (after a plain pick: the new surface is mostly the uncovered table).

:func:`carve_prepared` updates a :class:`PreparedCloud` incrementally (what the query node serves: well under
0.5 s on a 255k-point cloud); :func:`carve_scene` is the same on a plain SceneCloud (it prepares it first).
Pure numpy and scipy; no ROS, no field network.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.ndimage import minimum_filter

from dff_grasp_ros.carry import CarriedObject, CarryParams, Fit, carry_candidates, clusters
from dff_grasp_ros.dataset import CameraIntrinsics, rigid_transform_problem
from dff_grasp_ros.field.fusion import measured_points, project_points, voxel_mean
from dff_grasp_ros.geometry import unit_rows, within_m
from dff_grasp_ros.query.grouping import GroupingIndex, connected_regions
from dff_grasp_ros.query.prepared import PreparationSettings, PreparedCloud, above_clearance, prepare_cloud
from dff_grasp_ros.scene_cloud import SceneCloud
from dff_grasp_ros.view_alignment import AlignmentParams, ViewAlignment, align_view


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
    # The view's check against the served scene (:func:`view_agreement`). Depth this far from the table or the
    # served surface disagrees with it: ten times a structured-light camera's noise at 0.5 m (~2 mm), twice the
    # error of a table plane measured to a centimetre; a depth scale 10% off is 4 cm wrong at 0.4 m already.
    consistency_tolerance_m: float = 0.02
    # Nothing is seen through a table: a view that fits the scene measures the scanned table at its depth, or
    # something standing on it. Refused when more than this share of the pixels whose ray meets the scanned table
    # measure beyond it (the rest allows dark or shiny spots without a true return). In the test bed's overviews a
    # genuine view sees through it nowhere; a depth 10% too large at 69-98% of them, a camera 2 cm too low at
    # 29-52%, 5 cm too low at 71-98%.
    max_table_see_through_share: float = 0.2
    # One pick changes where one object stood, plus what it nudged: at most 6.4% of the pixels that look at the
    # served scene in the test bed's overviews of ideal clouds (any one object out of two_mugs, bin or
    # bin_clutter), 9.7% on trained fields (tiny: two objects large in a 128 x 96 view), 15-18% with every object
    # but one gone at once. A depth scale 10% off changes 95-100% of them, a camera 2 cm too high or too low
    # 39-60%, one tilted by 5 degrees 28-50%. Refused above this share: over twice what one pick changed.
    # (A camera a centimetre or two off sideways changes 5-30%, too little to be told from a pick everywhere.)
    max_scene_change_share: float = 0.25
    # A view that sees the served scene (its points or the scanned table) at less than this share of its pixels
    # looks elsewhere (a pose in the wrong frame, or the camera turned away): it cannot be checked against the
    # scene, tells nothing about it, and what it would add lies outside it.
    min_scene_view_share: float = 0.1
    # Before anything is compared, the view is laid onto the served surface (:mod:`dff_grasp_ros.view_alignment`):
    # a camera pose a centimetre off sideways passes the check above yet carved away thousands of points of
    # objects that stayed. ``AlignmentParams(enabled=False)`` uses the pose as given.
    alignment: AlignmentParams = field(default_factory=AlignmentParams)
    # An object that moved is carried to where the view sees it (:mod:`dff_grasp_ros.carry`).
    carry: CarryParams = field(default_factory=CarryParams)

    def __post_init__(self) -> None:
        if (self.see_through_margin_m <= 0 or self.remnant_margin_m < 0 or self.window_px < 0
                or self.pixel_stride < 1 or self.voxel_m <= 0):
            raise ValueError(f"invalid carving parameters: {self}")
        if not 0 <= self.min_depth_m < self.max_depth_m:
            raise ValueError(f"carving needs 0 <= min_depth_m < max_depth_m, got {self}")
        if not self.consistency_tolerance_m > 0:
            raise ValueError(f"consistency_tolerance_m must be positive, got {self.consistency_tolerance_m}")
        for name in ("max_table_see_through_share", "max_scene_change_share"):
            if not 0 < getattr(self, name) <= 1:  # 1 turns the check off; 0 would refuse every view
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if not 0 <= self.min_scene_view_share < 1:
            raise ValueError(f"min_scene_view_share must be in [0, 1), got {self.min_scene_view_share}")


@dataclass(frozen=True)
class CarvingResult:
    cloud: SceneCloud  # the kept points (features unchanged), the carried ones (moved), then the added ones
    removed: np.ndarray  # (N,) bool over the input cloud's points
    added: int


@dataclass(frozen=True)
class PreparedCarving:
    prepared: PreparedCloud  # the updated cloud, ready for queries
    removed: np.ndarray  # (N,) bool over the input cloud's rows
    added: int  # featureless rows appended
    alignment: ViewAlignment | None = None  # how the view's pose was corrected (None: used as given)
    carried: tuple[CarriedObject, ...] = ()  # objects that moved, carried with their features (rows: after the kept)


@dataclass(frozen=True)
class ViewAgreement:
    """How one view's depth agrees with the served scene, counted in pixels (see :func:`view_agreement`)."""

    pixels: int  # in the image
    table_pixels: int  # with a return, whose ray meets the scanned table within the carving range
    through_table: int  # of those, measuring beyond the table by more than consistency_tolerance_m
    scene_pixels: int  # with a return, looking at the served scene (its points, or the scanned table)
    behind_scene: int  # of those, measuring beyond the served surface by more than consistency_tolerance_m
    before_scene: int  # of those, measuring in front of it by more than consistency_tolerance_m

    def problem(self, params: CarvingParams) -> str | None:
        """One line saying why the view does not fit the served scene, or None when it does."""
        if self.scene_pixels < params.min_scene_view_share * self.pixels:
            return (f"the view does not look at the served scene: {self.scene_pixels / self.pixels:.0%} of its "
                    f"pixels see it, at least {params.min_scene_view_share:.0%} needed (camera pose wrong, or a "
                    f"view of something else?)")
        through = self.through_table / max(self.table_pixels, 1)
        if through > params.max_table_see_through_share:
            return (f"the view sees through the table at {through:.0%} of the {self.table_pixels} pixels that look "
                    f"at it (depth scale, camera pose or table_z_m wrong?)")
        behind, before = self.behind_scene / max(self.scene_pixels, 1), self.before_scene / max(self.scene_pixels, 1)
        if behind + before > params.max_scene_change_share:
            if behind >= before:
                where = (f"behind the served scene at {behind:.0%} of the {self.scene_pixels} pixels that look at it "
                         f"(in front of it at {before:.0%})")
            else:
                where = (f"in front of the served scene at {before:.0%} of the {self.scene_pixels} pixels that look "
                         f"at it (behind it at {behind:.0%})")
            return f"the view measures depth {where}, far more than one pick changes (depth scale or pose wrong?)"
        return None


def table_depth(points_m: np.ndarray, table_z_m: float | None, intrinsics: CameraIntrinsics,
                camera_to_base: np.ndarray, params: CarvingParams) -> np.ndarray:
    """(H, W) z-depth at which each pixel's ray meets the table plane z = ``table_z_m``, where that lies within
    the carving range and inside the xy box of the served points on the table (the table the scan saw: beyond
    it may be floor); inf elsewhere, and everywhere without a table."""
    depth = np.full((intrinsics.height, intrinsics.width), np.inf)
    if table_z_m is None:
        return depth
    with np.errstate(invalid="ignore"):  # NaN rows are not on the table
        on_table = np.abs(points_m[:, 2] - table_z_m) <= params.consistency_tolerance_m
    if not on_table.any():
        return depth
    # Column by column: the table is most of a fused cloud, and copying its rows took 25 ms of 295k points.
    table_x, table_y = points_m[:, 0][on_table], points_m[:, 1][on_table]
    low, high = (table_x.min(), table_y.min()), (table_x.max(), table_y.max())
    rotation, origin = camera_to_base[:3, :3], camera_to_base[:3, 3]
    # Base-frame ray per metre of z-depth, one axis at a time from a column and a row vector (a (H, W, 3) ray
    # image times the rotation took 50 ms of a 640 x 480 view).
    right = (np.arange(intrinsics.width) + 0.5 - intrinsics.cx) / intrinsics.fx
    down = ((np.arange(intrinsics.height) + 0.5 - intrinsics.cy) / intrinsics.fy)[:, None]
    ray_x, ray_y, ray_z = (rotation[axis, 0] * right + rotation[axis, 1] * down + rotation[axis, 2]
                           for axis in range(3))
    with np.errstate(divide="ignore", invalid="ignore"):
        to_plane = (table_z_m - origin[2]) / ray_z
        hit_x, hit_y = origin[0] + to_plane * ray_x, origin[1] + to_plane * ray_y
        inside = ((hit_x >= low[0]) & (hit_x <= high[0]) & (hit_y >= low[1]) & (hit_y <= high[1])
                  & (to_plane >= params.min_depth_m) & (to_plane <= params.max_depth_m))
    depth[inside] = to_plane[inside]
    return depth


def surface_depth(points_m: np.ndarray, intrinsics: CameraIntrinsics, camera_to_base: np.ndarray,
                  params: CarvingParams) -> np.ndarray:
    """(H, W) z-depth of the nearest served point projecting into each pixel (inf where none does)."""
    depth = np.full(intrinsics.height * intrinsics.width, np.inf)
    pixels, z = project_points(points_m, intrinsics, camera_to_base)
    with np.errstate(invalid="ignore"):
        cols, rows = np.floor(pixels[:, 0]), np.floor(pixels[:, 1])
        inside = ((z >= params.min_depth_m) & (z <= params.max_depth_m) & (cols >= 0) & (cols < intrinsics.width)
                  & (rows >= 0) & (rows < intrinsics.height))
    flat = rows[inside].astype(np.int64) * intrinsics.width + cols[inside].astype(np.int64)
    np.minimum.at(depth, flat, z[inside])
    return depth.reshape(intrinsics.height, intrinsics.width)


def splat_px(surface_m: np.ndarray, intrinsics: CameraIntrinsics, params: CarvingParams) -> int:
    """Half-width (pixels) of the minimum filter that closes the gaps between neighbouring served points (about
    ``voxel_m`` apart, the field's export voxel) where they lie nearest to the camera; at most 16."""
    near = surface_m[np.isfinite(surface_m)]
    if len(near) == 0:
        return 1
    gap_px = max(intrinsics.fx, intrinsics.fy) * params.voxel_m / np.percentile(near, 5)
    return int(np.clip(np.ceil(gap_px / 2), 1, 16))


def view_agreement(points_m: np.ndarray, table_z_m: float | None, depth_m: np.ndarray,
                   intrinsics: CameraIntrinsics, camera_to_base: np.ndarray, params: CarvingParams
                   ) -> ViewAgreement:
    """Compare the view's depth with the served scene it is to carve: with the table plane where the scan saw the
    table (nothing is seen through it), and with the nearest served surface (points or table) in each pixel.

    Both images are minimum-filtered alike (:func:`splat_px`), so that the gaps between served points and the
    edges of objects compare surface with surface. Returns above any carving range count too: a depth of 4 m
    where the table is 0.5 m away sees through it all the same.
    """
    pose = np.asarray(camera_to_base, dtype=np.float64)
    points = np.asarray(points_m)  # NaN rows project nowhere and lie on no table
    with np.errstate(invalid="ignore"):
        measured = np.where(np.isfinite(depth_m) & (depth_m >= params.min_depth_m), depth_m, np.inf)
    table = table_depth(points, table_z_m, intrinsics, pose, params)
    surface = np.minimum(surface_depth(points, intrinsics, pose, params), table)
    size = 2 * splat_px(surface, intrinsics, params) + 1
    surface, seen = minimum_filter(surface, size), minimum_filter(measured, size)
    tolerance = params.consistency_tolerance_m
    looks_at_table = np.isfinite(measured) & np.isfinite(table)
    looks_at_scene = np.isfinite(seen) & np.isfinite(surface)
    return ViewAgreement(
        pixels=int(measured.size), table_pixels=int(looks_at_table.sum()),
        through_table=int((looks_at_table & (measured > table + tolerance)).sum()),
        scene_pixels=int(looks_at_scene.sum()),
        behind_scene=int((looks_at_scene & (seen > surface + tolerance)).sum()),
        before_scene=int((looks_at_scene & (seen < surface - tolerance)).sum()))


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
    fresh = ~within_m(measured, kept_points_m, params.new_surface_distance_m)
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
    scene_gone |= slivers(grouping, scene_gone, past[rep_rows], params)
    out = removed | prepared.scatter(prepared.on_valid(scene_gone))
    valid_index = np.flatnonzero(prepared.valid)
    low = valid_index[prepared.scene_of_valid < 0]
    low = low[above_clearance(prepared.cloud.points_m[low], prepared.settings)]
    out[low[within_m(prepared.cloud.points_m[low], grouping.points_m[scene_gone], params.region_radius_m)]] = True
    return out


def slivers(grouping: GroupingIndex, gone: np.ndarray, past: np.ndarray, params: CarvingParams) -> np.ndarray:
    """Mask of the kept scene points that are slivers of what goes: a piece of the grouping graph (what grows from
    a kept point over the kept ones) of fewer than ``min_region_points`` points, within ``region_radius_m`` of a
    point that goes, and seen past at most of its points (nothing there).

    An object is never that small. What is: the underside of an object lying on the table that an earlier update
    cut off from the rest of it (the rest hidden behind a neighbour then, gone now). Before, such a sliver of a
    picked screwdriver (20 points, 3-6 mm above the table) stayed with its language features and answered the
    prompt of its twin, which was never grasped (random bins of ``bench_random_scenes.py``).
    """
    out = np.zeros(len(gone), dtype=bool)
    if not gone.any():
        return out
    kept = ~gone
    kept_index = np.flatnonzero(kept)
    next_to_gone = within_m(grouping.points_m[kept_index], grouping.points_m[gone], params.region_radius_m)
    visited = np.zeros(len(gone), dtype=bool)
    for start in kept_index[next_to_gone]:
        if visited[start]:
            continue
        piece = grouping.grow(np.array([start]), allowed=kept)
        visited |= piece
        if piece.sum() < params.min_region_points and past[piece].mean() > 0.5:
            out |= piece
    return out


def pinhole_view(depth_m: np.ndarray, rgb: np.ndarray, intrinsics: CameraIntrinsics
                 ) -> tuple[np.ndarray, np.ndarray, CameraIntrinsics]:
    """(depth, rgb, intrinsics) of the view as an ideal pinhole camera with the same K sees it: a lens's
    distortion (k1, k2, p1, p2: CameraInfo's plumb_bob) resampled away, nearest pixel (depth is never blended
    across an edge), NaN depth where the lens saw nothing. Carving and the alignment project the served points
    as a pinhole: a k1 of +-0.1 taken as none removed 144-2,273 points of an unchanged two_mugs scene (its
    objects' edges towards the border). Without distortion the view is returned as it is."""
    if not any(intrinsics.distortion):
        return depth_m, rgb, intrinsics
    import cv2  # only for a distorting lens (opencv-python-headless: a dependency of the calibration already)

    k = intrinsics.matrix()
    k[:2, 2] -= 0.5  # OpenCV centres pixels on integers, the dataset's intrinsics on halves
    size = (intrinsics.width, intrinsics.height)
    map_x, map_y = cv2.initUndistortRectifyMap(k, np.asarray(intrinsics.distortion, np.float64), None, k, size,
                                               cv2.CV_32FC1)
    depth = cv2.remap(depth_m.astype(np.float32), map_x, map_y, cv2.INTER_NEAREST,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan"))
    rgb = cv2.remap(rgb, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return depth.astype(np.float64), rgb, replace(intrinsics, distortion=(0.0, 0.0, 0.0, 0.0))


def _checked_view(depth_m: np.ndarray, rgb: np.ndarray, intrinsics: CameraIntrinsics,
                  camera_to_base: np.ndarray, params: CarvingParams
                  ) -> tuple[np.ndarray, np.ndarray, CameraIntrinsics, np.ndarray]:
    """(depth, rgb, pinhole intrinsics, pose) of a view fit to carve with (:func:`pinhole_view`), or ValueError
    (one line) naming what is wrong with it."""
    problem = intrinsics.problem()
    if problem:  # fx = inf projected every pixel onto the optical axis, and added it there as obstacles
        raise ValueError(f"camera intrinsics: {problem}")
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
    depth_m, rgb, intrinsics = pinhole_view(depth_m, rgb, intrinsics)
    return depth_m, rgb, intrinsics, pose


def checked_pose(prepared: PreparedCloud, depth_m: np.ndarray, intrinsics: CameraIntrinsics,
                 camera_to_base: np.ndarray, params: CarvingParams) -> tuple[np.ndarray, ViewAlignment | None]:
    """The pose to carve with and the correction applied (None: the pose as given): ``camera_to_base`` corrected
    by :func:`align_view` when the correction is within its bounds and larger than its own error, after the view
    is checked against the served scene (:func:`view_agreement`); ValueError (one line) when it does not fit
    the scene, or fits it only far from its pose."""
    cloud = prepared.cloud
    alignment = None
    if params.alignment.enabled:
        # The scanned rows only (the prepared surface holds the valid rows): rows an earlier update added carry
        # normals towards the camera that added them.
        alignment = align_view(prepared.surface, depth_m, intrinsics, camera_to_base, params.min_depth_m,
                               params.max_depth_m, params.alignment)
    worth = alignment is not None and alignment.worth_applying(params.alignment)
    # A fit far from the given pose says the pose is wrong only when it lays more of the view onto the served
    # scene: one that covers no more wandered off (a bare table lets it slide), and refused a view that fit as given.
    too_far = alignment.problem(params.alignment) if worth else None
    # Within the fit's own error of the given pose, or beyond its bounds, the pose is used as given.
    applied = alignment if worth and not too_far else None
    pose = applied.camera_to_base if applied is not None else camera_to_base
    problem = view_agreement(cloud.points_m, prepared.settings.table_z_m, depth_m, intrinsics, pose,
                             params).problem(params)
    # A depth far off in scale fits no pose: its own fault is said first, the pose it would need after it; a depth
    # a few percent off fits a pose and must be told by the fit's scale.
    scaled = alignment.scale_problem(params.alignment) if alignment is not None else None
    problem = "; ".join(p for p in (problem, scaled, too_far) if p)
    if problem:
        raise ValueError(f"{problem}; the served scene is unchanged")
    return pose, applied


def carve_prepared(prepared: PreparedCloud, depth_m: np.ndarray, rgb: np.ndarray, intrinsics: CameraIntrinsics,
                   camera_to_base: np.ndarray, params: CarvingParams | None = None) -> PreparedCarving:
    """The prepared cloud after one new view (see the module docstring); ``prepared`` itself is not modified."""
    params = params or CarvingParams()
    depth_m, rgb, intrinsics, pose = _checked_view(depth_m, rgb, intrinsics, camera_to_base, params)
    pose, alignment = checked_pose(prepared, depth_m, intrinsics, pose, params)
    cloud = prepared.cloud
    removed, past = view_evidence(cloud.points_m, depth_m, intrinsics, pose, params)
    if params.remove_remnants:
        removed = remnants(prepared, removed, past, params)
    removed = prepared.with_voxels_of(removed)
    points, colours, normals = new_surface(cloud.points_m[~removed], depth_m, rgb, intrinsics, pose, params)
    moved = moved_objects(prepared, removed, points, depth_m, intrinsics, pose, params)
    carried = _carried_rows(cloud, moved)
    if moved:  # the carried object's points replace the featureless new surface where it lies now
        fresh = ~within_m(points, np.asarray(carried.points_m, np.float64), params.new_surface_distance_m)
        points, colours, normals = points[fresh], colours[fresh], normals[fresh]
    count = len(points)
    added = SceneCloud(points_m=points.astype(np.float32), normals=unit_rows(normals).astype(np.float32),
                       rgb=np.clip(np.round(colours * 255), 0, 255).astype(np.uint8),
                       language=np.zeros((count, cloud.language.shape[1]), np.float32),
                       dino=np.zeros((count, cloud.dino.shape[1]), np.float32))
    updated = prepared.updated(removed, added, carried)
    first, objects = int((~removed).sum()), []
    for rows, fit, coverage, moved_m in moved:
        objects.append(CarriedObject(rows, np.arange(first, first + len(rows)), fit.motion, moved_m, fit.fit_share,
                                     coverage))
        first += len(rows)
    return PreparedCarving(updated, removed, count, alignment, tuple(objects))


def moved_objects(prepared: PreparedCloud, removed: np.ndarray, new_points_m: np.ndarray, depth_m: np.ndarray,
                  intrinsics: CameraIntrinsics, camera_to_base: np.ndarray, params: CarvingParams
                  ) -> list[tuple[np.ndarray, Fit, float, float]]:
    """(cloud rows, fit, coverage share, metres moved) of each removed object that the view shows moved to new
    surface (:mod:`dff_grasp_ros.carry`); none when carrying is off, or nothing removed or new could be one."""
    carry = params.carry
    if not carry.enabled or len(new_points_m) < params.min_region_points:
        return []
    grouping = prepared.grouping
    gone = np.flatnonzero(removed[prepared.valid_rows_of_scene()])
    if len(gone) < params.min_region_points:
        return []
    settings = prepared.settings
    floor_m = -np.inf if settings.table_z_m is None else settings.table_z_m + settings.table_band_m
    new_clusters = [new_points_m[c] for c in clusters(new_points_m, floor_m, params.region_radius_m,
                                                      params.min_region_points)]
    if not new_clusters:
        return []
    # One candidate per object: what is connected in space, split where the DINO features part (a piece of a
    # neighbour removed with the object is not carried with it).
    labels = connected_regions(grouping.points_m[gone], params.region_radius_m)
    labels = labels * len(gone) + grouping.components(gone)
    _, labels = np.unique(labels, return_inverse=True)
    regions = [gone[labels == label] for label in np.flatnonzero(np.bincount(labels) >= params.min_region_points)]
    # Only an object that left its old place (nearly) whole: a piece of one (the rest still seen where it was,
    # or hidden) fits pieces of new surface in many ways.
    regions = [r for r in regions if len(r) >= carry.min_left_share * grouping.grow(r).sum()]

    def view_check(moved_m: np.ndarray, data_m: np.ndarray, tolerance_m: float) -> tuple[np.ndarray, ...]:
        # Facing the camera: at its pixel, no nearer point of the moved object itself (its back, its far side).
        own = surface_depth(moved_m, intrinsics, camera_to_base, params)
        own = minimum_filter(own, 2 * splat_px(own, intrinsics, params) + 1)
        pixels, z = project_points(moved_m, intrinsics, camera_to_base)
        facing = np.zeros(len(moved_m), dtype=bool)
        with np.errstate(invalid="ignore"):
            cols, rows = np.floor(pixels[:, 0]), np.floor(pixels[:, 1])
            inside = (z > params.min_depth_m) & (cols >= 0) & (cols < intrinsics.width) & (rows >= 0) & (
                rows < intrinsics.height)
        index = np.flatnonzero(inside)
        facing[index] = z[index] <= own[rows[index].astype(np.int64), cols[index].astype(np.int64)] + \
            params.see_through_margin_m
        through = view_evidence(moved_m, depth_m, intrinsics, camera_to_base, params)[0]
        measured = np.full(len(moved_m), np.nan)
        measured[index] = depth_m[rows[index].astype(np.int64), cols[index].astype(np.int64)]
        with np.errstate(invalid="ignore"):  # no return: not hidden
            hidden = measured < z - params.see_through_margin_m
        return facing, through, hidden, within_m(moved_m, data_m, tolerance_m)

    found = carry_candidates([grouping.points_m[r] for r in regions], new_clusters, view_check, carry)
    out = []
    for i, _, fit, coverage in found:
        scene = np.zeros(len(grouping), dtype=bool)
        scene[regions[i]] = True
        rows = np.flatnonzero(prepared.scatter(prepared.on_valid(scene)))
        out.append((rows, fit, coverage, fit.motion.moved_m(grouping.points_m[regions[i]].mean(axis=0))))
    return out


def _carried_rows(cloud: SceneCloud, moved: list[tuple[np.ndarray, Fit, float, float]]) -> SceneCloud:
    """The rows of each moved object with their features and colours, moved (points) and turned (normals)."""
    parts = [(fit.motion.apply(cloud.points_m[rows]), fit.motion.turn(cloud.normals[rows]), rows)
             for rows, fit, _, _ in moved]
    rows = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int64)
    return SceneCloud(
        points_m=np.vstack([p[0] for p in parts] or [np.zeros((0, 3))]).astype(cloud.points_m.dtype),
        normals=np.vstack([p[1] for p in parts] or [np.zeros((0, 3))]).astype(cloud.normals.dtype),
        rgb=cloud.rgb[rows], language=cloud.language[rows], dino=cloud.dino[rows])


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
