"""Register one depth view to the served scene cloud: where its camera must be for its depth to fit the scene.

A scene update (:mod:`dff_grasp_ros.carving`) compares the new depth with the served cloud point by point, so
it is only as good as the view's ``camera_to_base``. A camera 1 cm off sideways (hand-eye calibration, a TF
looked up while the arm still settles) removed thousands of points of objects that stayed in the `bin` scene,
while its depth still agreed with the scene at most pixels: too little for
:func:`dff_grasp_ros.carving.view_agreement` to refuse. Most of a bin is unchanged by one pick, so the pose that
lays the measured surface onto the served one is well defined: :func:`align_view` finds it, and the update
carves with the corrected pose, or refuses when the correction is larger than a working cell's pose error.

Point-to-plane ICP (Chen & Medioni, 1992): each view point is paired with the nearest served point whose normal
agrees with its own (both point out of the surface, towards the camera), with Huber weights, so that what the
pick changed (the floor where the object stood) does not pull the fit, and a little damping, so that a
direction the scene does not constrain (a bare table slides along itself) stays where it was. The camera is
moved first and turned only at the end, from the basin a grid of sideways starts found; the correction is
applied only when it lays more of the view onto the served surface than the given pose (see
:class:`AlignmentParams`). Pure numpy and scipy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.field.fusion import VoxelSums, backproject
from dff_grasp_ros.geometry import KD_QUERY_WORKERS, near_box, nearness_tree, rotation_angle_deg
from dff_grasp_ros.query.downsample import strided_indices


@dataclass(frozen=True)
class AlignmentParams:
    """How the view is laid onto the served cloud (metres, degrees)."""

    enabled: bool = True
    # Served points farther than this from the view's box are left out of the fit: farther than the largest pair
    # distance plus twice the largest correction accepted, no fit the update would apply can pair them.
    target_margin_m: float = 0.1
    pixel_stride: int = 2  # every n-th pixel of the view takes part
    max_view_points: int = 6000  # at most this many of them, evenly spread over the image
    sideways_share: float = 0.3  # up to this share of them on surface facing sideways (see _view_points)
    # Correspondences farther apart than this are not the same surface; it shrinks to the final value as the
    # fit closes in. Larger than the largest correction accepted, so the fit can reach it.
    max_pair_distance_m: tuple[float, float] = (0.04, 0.006)
    huber_m: float = 0.0015  # residuals beyond this count linearly: a changed region does not pull the fit
    # A view point and its nearest served point are one surface only if their normals agree this well (cosine).
    min_normal_agreement: float = 0.8
    max_depth_step_m: float = 0.01  # neighbouring pixels farther apart in depth lie on different surfaces
    iterations: int = 20
    shrink_iterations: int = 4  # the pair distance shrinks from the first to the second value over these
    # Damping of the normal equations relative to their largest eigenvalue: unconstrained directions stay put.
    damping: float = 1e-4
    converged_m: float = 1e-4  # stop when an iteration moves the view less than this
    # A correction larger than this is not a pose error a working cell makes (a wrong frame, a stale pose
    # from another arm position): refuse the view rather than lay it onto whatever fits nearby.
    max_correction_m: float = 0.03
    max_correction_deg: float = 3.0
    # The fit is applied only when it lays more of the view onto served surface than the given pose does
    # (shares of the view's points within the final pair distance, normals agreeing): of all its points, or of
    # those on surface facing sideways (|normal z| below ``max_sideways_normal_z``: 2-8% of a view, the only ones
    # a sideways error moves off the surface). From exact poses the fit gained at most +0.12 and +0.56 points (all,
    # sideways) on the test bed's ideal clouds after each pick (`two_mugs`, `tabletop`, `bin_clutter`, `bin`): its
    # own error, which still carves a band off an object's outline; from a camera 5 mm off it gained at least
    # +0.2 and +1.6 points, from one turned 0.5 deg at least +0.9 and +1.1 (2026-12-03, sideways-first sampling).
    min_coverage_gain: float = 0.005
    min_sideways_coverage_gain: float = 0.015
    max_sideways_normal_z: float = 0.7
    correct_rotation: bool = True  # False: only the camera's position is corrected, never its orientation
    lever_m: float = 0.3  # a rotation moves points this far from the view's centre: convergence counts it so
    search_step_m: float = 0.005  # the grid of sideways starts around the first fit (see align_view)
    consensus_points: int = 400  # view points that score each start
    better_share: float = 0.02  # another start wins if it covers this share of them more than the first fit
    # Surface facing sideways the view must hold to be moved sideways: the smallest eigenvalue of the sum of
    # n_h n_h^T over its points (n_h: a normal's horizontal part), about as many points as fully face the weakest
    # horizontal direction. 640x480 overviews of the test bed's scenes held 200-780; 160x120 ones 10-76 (10: two
    # objects left on a bare table, whose fit then slid 2.7 cm; see align_view).
    min_sideways_information: float = 30.0
    min_pairs: int = 200  # fewer matched points than this: the view says too little to be aligned
    # The view's scales are fitted too (with the pose, from the rigid fit; never applied): of its depth about the
    # camera, and of its image about the optical axis. A view whose depth is scaled against the scan's (a depth unit
    # or scale changed) or whose focal length is wrong fits a pose all the same and carved thousands of points of
    # objects that stayed; beyond these shares it is refused. Views as scanned fitted 0.9974-1.0012 and
    # 0.9962-1.0049 (the test bed's four scenes and two CPU-trained fields, after each pick, at their true pose and
    # 5 mm-4 cm or 0.5-1 deg off: 410 views); depth 1% too long 0.990-0.995, focal length 5% off 0.955-0.995 and
    # 1.006-1.048 (2026-12-03, bench/RESULTS.md "Depth scale").
    max_depth_scale_error: float = 0.008
    max_image_scale_error: float = 0.015
    scale_points: int = 2000  # view points (evenly spread) the scale is fitted on
    scale_iterations: int = 3

    def __post_init__(self) -> None:
        far, near = self.max_pair_distance_m
        if (not 0 < near <= far or self.target_margin_m < far or self.huber_m <= 0
                or self.converged_m <= 0):
            raise ValueError(f"invalid alignment parameters: {self}")
        if (self.pixel_stride < 1 or self.max_view_points < 6 or self.iterations < 1 or self.shrink_iterations < 0
                or self.min_pairs < 6 or self.damping < 0 or self.max_correction_m <= 0
                or self.max_correction_deg <= 0 or self.lever_m <= 0
                or not 0 <= self.min_coverage_gain < 1 or not 0 <= self.min_sideways_coverage_gain < 1
                or not 0 < self.max_sideways_normal_z <= 1 or not 0 < self.sideways_share <= 1
                or self.search_step_m <= 0
                or self.consensus_points < 1 or self.min_sideways_information < 0
                or not 0 < self.max_depth_scale_error < 1 or not 0 < self.max_image_scale_error < 1
                or self.scale_points < 6 or self.scale_iterations < 1):
            raise ValueError(f"invalid alignment parameters: {self}")


@dataclass(frozen=True)
class ViewAlignment:
    """The fit of one view: the corrected pose and how far it moved the camera."""

    camera_to_base: np.ndarray  # (4, 4) the corrected pose
    shift_m: float  # how far the correction moves the camera
    rotation_deg: float  # how far it turns the camera
    pairs: int  # matched view points in the last iteration
    rms_m: float  # point-to-plane residual of the matched points after the fit
    # Shares of the view's points on served surface with the pose as given and corrected: all of them, and those
    # on sideways-facing surface.
    covered_as_given: float
    covered: float
    sideways_covered_as_given: float
    sideways_covered: float
    # The view's scales against the served scene (1: as scanned; None: not fitted): of its depth, and of its
    # image about the optical axis (the focal length).
    depth_scale: float | None
    image_scale: float | None

    def problem(self, params: AlignmentParams) -> str | None:
        """One line when the fit lies farther from the given pose than a pose error of a working cell, else None."""
        if self.shift_m > params.max_correction_m or self.rotation_deg > params.max_correction_deg:
            return (f"the view's depth fits the served scene nowhere within {100 * params.max_correction_m:g} cm "
                    f"and {params.max_correction_deg:g} deg of its camera pose (the fit ended "
                    f"{100 * self.shift_m:.1f} cm and {self.rotation_deg:.1f} deg away): camera pose wrong "
                    f"(hand-eye calibration, TF frame or stamp)?")
        return None

    def scale_problem(self, params: AlignmentParams) -> str | None:
        """One line when the view's depth or image is scaled against the served scene by more than
        ``max_depth_scale_error`` or ``max_image_scale_error``, else None."""
        if self.depth_scale is not None and abs(self.depth_scale - 1.0) > params.max_depth_scale_error:
            return (f"the view's depth is {100 * (1.0 / self.depth_scale - 1.0):+.1f}% off in scale against the "
                    f"served scene (the fit lays it on the scene only scaled by {self.depth_scale:.3f}): depth unit "
                    f"or scale not as when the scene was scanned?")
        if self.image_scale is not None and abs(self.image_scale - 1.0) > params.max_image_scale_error:
            return (f"the view's image is {100 * (self.image_scale - 1.0):+.1f}% off in scale against the served "
                    f"scene about the optical axis: the camera's focal length (CameraInfo) not as when the scene "
                    f"was scanned?")
        return None

    def worth_applying(self, params: AlignmentParams) -> bool:
        """Whether the fit lays more of the view onto the served scene than the pose as given."""
        return (self.covered - self.covered_as_given >= params.min_coverage_gain
                or self.sideways_covered - self.sideways_covered_as_given >= params.min_sideways_coverage_gain)


def _served_target(surface: VoxelSums) -> tuple[np.ndarray, np.ndarray]:
    """The served surface's voxel means: points and unit normals (voxels without a normal dropped)."""
    points, summed = surface.means()
    length = np.linalg.norm(summed, axis=1)
    keep = length > 0.5  # normals that disagree within a voxel (an edge, a thin part) cancel: no plane there
    return points[keep], summed[keep] / length[keep, None]


def _view_points(depth_m: np.ndarray, intrinsics: CameraIntrinsics, camera_to_base: np.ndarray,
                 min_depth_m: float, max_depth_m: float, params: AlignmentParams) -> tuple[np.ndarray, np.ndarray]:
    """Base-frame points of the view (given pose) on every ``pixel_stride``-th pixel, at most
    ``max_view_points`` of them, and their unit normals (towards the camera) from the neighbouring pixels.

    Only pixels whose four neighbours lie on the same surface (depth within ``max_depth_step_m``) take part: a
    normal across a depth edge is meaningless, and the floor next to an object's foot would otherwise be paired
    with the object's side and pull the fit sideways by millimetres."""
    grid = backproject(np.nan_to_num(depth_m), intrinsics, camera_to_base, params.pixel_stride)
    depth = np.asarray(depth_m, dtype=np.float64)[::params.pixel_stride, ::params.pixel_stride]
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(depth) & (depth >= min_depth_m) & (depth <= max_depth_m)
    centre = (slice(1, -1), slice(1, -1))
    neighbours = [(slice(1, -1), slice(2, None)), (slice(1, -1), slice(None, -2)),
                  (slice(2, None), slice(1, -1)), (slice(None, -2), slice(1, -1))]
    keep = usable[centre].copy()
    for around in neighbours:
        with np.errstate(invalid="ignore"):
            keep &= usable[around] & (np.abs(depth[around] - depth[centre]) <= params.max_depth_step_m)
    right, left, below, above = (grid[around] for around in neighbours)
    normals = np.cross(below - above, right - left)[keep]
    points = grid[centre][keep]
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    towards_camera = np.einsum("ij,ij->i", normals, np.asarray(camera_to_base)[:3, 3] - points) > 0
    normals[~towards_camera] *= -1.0
    if len(points) > params.max_view_points:
        # Evenly over the image (rows come in image order), but surface facing sideways first: seen from above,
        # it is a few percent of the view and the only part that fixes the camera sideways (normal-space
        # sampling, Rusinkiewicz & Levoy 2001). Sampled evenly like the rest, a table with two objects left ended
        # its fit 1.4 mm off sideways, and carved a band off an object that stayed.
        sideways = np.abs(normals[:, 2]) < params.max_sideways_normal_z
        side_rows, other_rows = np.flatnonzero(sideways), np.flatnonzero(~sideways)
        side_rows = side_rows[strided_indices(len(side_rows), int(params.sideways_share * params.max_view_points))]
        other_rows = other_rows[strided_indices(len(other_rows), params.max_view_points - len(side_rows))]
        chosen = np.sort(np.r_[side_rows, other_rows])
        points, normals = points[chosen], normals[chosen]
    return points, normals


class _Fit:
    """The served surface as a KD-tree, and the view's points: moves (R, t) of the view about its centroid."""

    def __init__(self, target: np.ndarray, target_normals: np.ndarray, view: np.ndarray,
                 view_normals: np.ndarray, params: AlignmentParams) -> None:
        self.tree, self.target, self.target_normals = nearness_tree(target), target, target_normals
        self.view, self.view_normals, self.params = view, view_normals, params
        self.centre = view.mean(axis=0)  # rotations about the view's centroid keep the unknowns well scaled

    def moved(self, rotation: np.ndarray, translation: np.ndarray, rows: slice | np.ndarray = slice(None),
              view: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The view's points (``rows`` of them; ``view``: those points scaled, in their place) and normals moved by
        (rotation about the view's centroid, translation)."""
        view = self.view[rows] if view is None else view
        return (view - self.centre) @ rotation.T + self.centre + translation, self.view_normals[rows] @ rotation.T

    def even_rows(self, sample: int) -> np.ndarray:
        """``sample`` of the view's points (all when it has fewer), evenly spread over it."""
        return np.linspace(0, len(self.view) - 1, min(len(self.view), sample)).astype(int)

    def plane_residuals(self, points: np.ndarray, matched: np.ndarray, index: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(matched points, their served points' normals, point-to-plane residuals)."""
        p, n = points[matched], self.target_normals[index[matched]]
        return p, n, np.einsum("ij,ij->i", p - self.target[index[matched]], n)

    def pairs(self, points: np.ndarray, normals: np.ndarray, bound_m: float) -> tuple[np.ndarray, np.ndarray]:
        """(mask of view points paired, index of their served point): the nearest served point within
        ``bound_m`` whose normal agrees. Signed: served normals point out of the surface, towards the cameras
        that saw it, and so do the view's; a wall's far face lies a wall's thickness behind its near face, and
        unsigned it held a camera that far off."""
        distance, index = self.tree.query(points, distance_upper_bound=bound_m,
                                         workers=KD_QUERY_WORKERS)
        matched = np.isfinite(distance)
        matched[matched] = (np.einsum("ij,ij->i", normals[matched], self.target_normals[index[matched]])
                            >= self.params.min_normal_agreement)
        return matched, index

    def refine(self, rotation: np.ndarray, translation: np.ndarray, unknowns: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, int, float] | None:
        """Point-to-plane ICP from (rotation, translation), moving only along ``unknowns`` (mask over the rotation
        vector's and the translation's base-frame components, see :func:`_unknowns`): the fitted pair, the
        matched points and their residual (RMS); None when too few points match."""
        params = self.params
        far, near = params.max_pair_distance_m
        pairs, rms = 0, float("nan")
        for iteration in range(params.iterations):
            bound = far + (near - far) * min(1.0, iteration / max(params.shrink_iterations, 1))
            points, normals = self.moved(rotation, translation)
            matched, index = self.pairs(points, normals, bound)
            pairs = int(matched.sum())
            if pairs < params.min_pairs:
                return None
            p, n, residual = self.plane_residuals(points, matched, index)
            # d residual / d (rotation vector about centre + translation, translation) = ((p - c - t) x n, n)
            jacobian = np.hstack([np.cross(p - self.centre - translation, n), n])[:, unknowns]
            step, rms = _damped_step(jacobian, residual, params)
            full_step = np.zeros(6)
            full_step[unknowns] = step
            omega, shift = full_step[:3], full_step[3:]
            rotation, translation = Rotation.from_rotvec(omega).as_matrix() @ rotation, translation + shift
            moved_m = np.linalg.norm(shift) + np.linalg.norm(omega) * params.lever_m
            if moved_m < params.converged_m and iteration >= params.shrink_iterations:
                break
        return rotation, translation, pairs, rms

    def scales(self, rotation: np.ndarray, translation: np.ndarray, camera_to_base: np.ndarray
               ) -> tuple[float, float] | None:
        """(depth scale, image scale) of the view against the served surface, fitted with the pose from the rigid
        fit (rotation, translation): the scale of its points about the camera (``camera_to_base``, the pose as
        given), and the further scale of their offsets from the optical axis (a wrong focal length). Both 1 when
        the view measures as the scan did. None when too few points match.

        Each is fitted with the other (which names the fault) and alone (which tells whether the view shows it at
        all), and counts only as far as both see it (the one nearer 1). A view mostly of one plane (a floor with
        3 cm walls, its box and bottle picked) hardly tells a smaller depth from a larger image and a lower
        camera: fitted together, a millimetre of residual on curved surfaces moved them to 0.990 and 1.011 on a
        true view, while each alone fitted 1.001. A real fault shows in both fits."""
        joint = self._scales(rotation, translation, camera_to_base, True, True)
        depth_alone = self._scales(rotation, translation, camera_to_base, True, False)
        image_alone = self._scales(rotation, translation, camera_to_base, False, True)
        if joint is None or depth_alone is None or image_alone is None:
            return None
        return (min(joint[0], depth_alone[0], key=lambda s: abs(s - 1.0)),
                min(joint[1], image_alone[1], key=lambda s: abs(s - 1.0)))

    def _scales(self, rotation: np.ndarray, translation: np.ndarray, camera_to_base: np.ndarray, depth: bool,
                image: bool) -> tuple[float, float] | None:
        """(depth scale, image scale) fitted with the pose, each only when asked (else 1); see :meth:`scales`."""
        params = self.params
        rows = self.even_rows(params.scale_points)
        camera_m, camera_axes = camera_to_base[:3, 3], camera_to_base[:3, :3]
        from_camera = self.view[rows] - camera_m
        across = (from_camera @ camera_axes) * np.array([1.0, 1.0, 0.0]) @ camera_axes.T  # off the optical axis
        unknowns = np.array([True] * 6 + [depth, image])
        depth_scale, image_scale = 1.0, 1.0
        for _ in range(params.scale_iterations):
            scaled = camera_m + depth_scale * (from_camera + (image_scale - 1.0) * across)
            points, normals = self.moved(rotation, translation, rows, scaled)  # scales turn normals little: ignored
            matched, index = self.pairs(points, normals, params.max_pair_distance_m[1])
            if matched.sum() < params.min_pairs:
                return None
            p, n, residual = self.plane_residuals(points, matched, index)
            # d residual / d scale = n . R (view - camera); / d image scale = n . R (offset from the axis)
            jacobian = np.hstack([np.cross(p - self.centre - translation, n), n,
                                  np.einsum("ij,ij->i", from_camera[matched] @ rotation.T, n)[:, None],
                                  np.einsum("ij,ij->i", across[matched] @ rotation.T, n)[:, None]])
            step = np.zeros(8)
            step[unknowns], _ = _damped_step(jacobian[:, unknowns], residual, params)
            rotation, translation = Rotation.from_rotvec(step[:3]).as_matrix() @ rotation, translation + step[3:6]
            depth_scale, image_scale = depth_scale + step[6], image_scale + step[7]
        return depth_scale, image_scale

    def consensus(self, rotation: np.ndarray, translations: np.ndarray, sample: int) -> np.ndarray:
        """For each candidate translation, how many of ``sample`` of the view's points (evenly spread) lie on
        served surface: within the final pair distance, normals agreeing."""
        rows = self.even_rows(sample)
        points, normals = self.moved(rotation, np.zeros(3), rows)
        shifted = (points[None, :, :] + translations[:, None, :]).reshape(-1, 3)
        matched, _ = self.pairs(shifted, np.tile(normals, (len(translations), 1)), self.params.max_pair_distance_m[1])
        return matched.reshape(len(translations), len(rows)).sum(axis=1)

    def on_surface(self, rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
        """Mask of the view's points on served surface after (rotation, translation): within the final pair
        distance, normals agreeing."""
        points, normals = self.moved(rotation, translation)
        return self.pairs(points, normals, self.params.max_pair_distance_m[1])[0]


def _damped_step(jacobian: np.ndarray, residual: np.ndarray, params: AlignmentParams) -> tuple[np.ndarray, float]:
    """One Gauss-Newton step for point-to-plane ``residual``s with Huber weights, damped (see ``damping``), and
    the weighted RMS of the residuals."""
    weight = np.minimum(1.0, params.huber_m / np.maximum(np.abs(residual), 1e-12))
    rms = float(np.sqrt(np.average(residual ** 2, weights=weight)))
    normal_matrix = (jacobian * weight[:, None]).T @ jacobian
    normal_matrix += params.damping * np.linalg.eigvalsh(normal_matrix)[-1] * np.eye(len(normal_matrix))
    return np.linalg.solve(normal_matrix, -(jacobian * weight[:, None]).T @ residual), rms


def _unknowns(turn: bool, moves_sideways: bool) -> np.ndarray:
    """Which of (rotation vector x, y, z, translation x, y, z), base frame, a fit may move: the translation, the
    rotation too when ``turn``; sideways (x, y and the turn about z) only when ``moves_sideways``."""
    unknowns = np.array([turn, turn, turn, True, True, True])
    if not moves_sideways:
        unknowns[[2, 3, 4]] = False
    return unknowns


def align_view(surface: VoxelSums, depth_m: np.ndarray, intrinsics: CameraIntrinsics, camera_to_base: np.ndarray,
               min_depth_m: float, max_depth_m: float, params: AlignmentParams | None = None) -> ViewAlignment | None:
    """``camera_to_base`` moved so that the view's depth lies on the served ``surface`` (the scanned points and
    normals summed per voxel, ``PreparedCloud.surface``), or None when too few of the view's points lie near it to
    tell (nothing to align with)."""
    params = params or AlignmentParams()
    pose = np.asarray(camera_to_base, dtype=np.float64)
    view, view_normals = _view_points(depth_m, intrinsics, pose, min_depth_m, max_depth_m, params)
    # Only the served surface around the view can be paired with it: a tree over the whole field's took longer
    # than the fit itself. (Voxels are cut by the box after averaging: those the box cuts lie farther from the
    # view than any pair the fit makes.)
    target, target_normals = _served_target(surface)
    around = near_box(target, view, params.target_margin_m)
    target, target_normals = target[around], target_normals[around]
    if len(target) < params.min_pairs or len(view) < params.min_pairs:
        return None
    fit = _Fit(target, target_normals, view, view_normals, params)
    # Surface facing sideways is what fixes the camera sideways; a view with too little of it (a small image of a
    # bare table) is corrected in height and tilt only. Moved sideways anyway, a 160x120 overview of two objects
    # on a table (3 of its 4,273 points facing sideways) slid 2.7 cm along the table into a basin that covered
    # 3% more of the view with the floor, and the update removed 5,300 points of the objects that stayed.
    horizontal = view_normals[:, :2]
    moves_sideways = np.linalg.eigvalsh(horizontal.T @ horizontal)[0] >= params.min_sideways_information
    # Shift first: turning too, the first fit of a camera 2.5 cm off traded a fifth of a degree for 3 mm and
    # stopped in a wrong basin that covered the view as well as the right one.
    best = fit.refine(np.eye(3), np.zeros(3), _unknowns(False, moves_sideways))
    if best is None:
        return None
    # ICP finds the nearest fit: a camera 2-3 cm off can lay one object's side onto its neighbour's. Starts on a
    # grid around the first fit, scored by how much of the view lies on served surface, find the right basin;
    # another basin must cover clearly more of the view (a point or two more is noise, and a fit a millimetre off
    # already carves a band off an object's outline).
    step, reach = params.search_step_m, params.max_correction_m
    offsets = np.arange(-reach, reach + 1e-9, step)
    # Sideways only: the table or bin floor, most of any view, fixes the height in the first fit already.
    grid = np.stack(np.meshgrid(offsets, offsets, [0.0], indexing="ij"), axis=-1).reshape(-1, 3)
    grid = grid[np.linalg.norm(grid + best[1], axis=1) <= reach + step]  # corrections that could be accepted
    if len(grid) and moves_sideways:
        sample = params.consensus_points
        needed = fit.consensus(best[0], best[1][None], sample)[0] + params.better_share * sample
        # No start can cover more than the whole sample: then the grid (170 starts) is not scored at all.
        scores = fit.consensus(best[0], best[1] + grid, sample) if needed < min(sample, len(view)) else np.zeros(1)
        if scores.max() > needed:
            second = fit.refine(best[0], best[1] + grid[np.argmax(scores)], _unknowns(False, moves_sideways))
            if second is not None and fit.consensus(second[0], second[1][None], sample)[0] > needed:
                best = second
    if params.correct_rotation:  # then the turn, from the right basin
        best = fit.refine(best[0], best[1], _unknowns(True, moves_sideways)) or best
    rotation, translation, pairs, rms = best
    scales = fit.scales(rotation, translation, pose)
    sideways = np.abs(view_normals[:, 2]) < params.max_sideways_normal_z
    as_given, fitted = fit.on_surface(np.eye(3), np.zeros(3)), fit.on_surface(rotation, translation)
    correction = np.eye(4)
    correction[:3, :3] = rotation
    correction[:3, 3] = fit.centre + translation - rotation @ fit.centre
    corrected = correction @ pose
    return ViewAlignment(camera_to_base=corrected, shift_m=float(np.linalg.norm(corrected[:3, 3] - pose[:3, 3])),
                         rotation_deg=float(rotation_angle_deg(rotation)), pairs=pairs,
                         rms_m=rms, covered_as_given=float(as_given.mean()), covered=float(fitted.mean()),
                         sideways_covered_as_given=_share(as_given, sideways),
                         sideways_covered=_share(fitted, sideways), depth_scale=scales and scales[0],
                         image_scale=scales and scales[1])


def _share(mask: np.ndarray, rows: np.ndarray) -> float:
    """Share of ``rows`` (a mask) that ``mask`` holds; 0 without rows."""
    return float(mask[rows].mean()) if rows.any() else 0.0
