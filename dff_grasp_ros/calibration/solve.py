"""Eye-in-hand calibration: from (tool pose, board observation) views to the camera's pose in the tool frame.

Notation: ``T_i`` = tool_to_base of view i (the arm's forward kinematics), ``C_i`` = board_to_camera (from the
board's corners), ``X`` = camera_to_tool (what we solve for; the static transform ``tool_frame -> camera optical
frame``), ``W`` = board_to_base (unknown, fixed). Every view must satisfy ``T_i X C_i = W``; between two views
that is the classic ``A X = X B`` with ``A = T_j^-1 T_i`` and ``B = C_j C_i^-1``.

1. :func:`select_views` keeps views whose tool rotation differs enough from every view kept before it.
2. :func:`degenerate_motion` refuses rotations that are all about one axis (then the offset along that axis
   cannot be observed; Tsai and Lenz 1989, the condition every ``cv2.calibrateHandEye`` method shares).
3. Every method :func:`cv2.calibrateHandEye` offers (Tsai, Park, Horaud, Andreff, Daniilidis) is run and the one
   whose ``AX = XB`` residual is smallest is kept.
4. A refinement (scipy ``least_squares``) of ``X`` and ``W`` minimises the reprojection error of every board
   corner in every view. The arm's reported tool poses are not exact either, so each may move within the
   arm's own scatter (measured from the closed-form solution: how far each view's board pose lands from the
   common one) at a cost: an errors-in-variables fit. Holding the tool poses fixed instead made the result
   several times worse than the closed form on the simulator once the arm had 0.5 mm / 0.05 deg of noise
   (bench/RESULTS.md); with this weighting it is as good or better at every noise level measured.
5. The uncertainty of ``X`` (one sigma, from the fit's Jacobian) gives the verdict.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from dff_grasp_ros.calibration.detect import BoardObservation
from dff_grasp_ros.geometry import rotation_angle_deg

METHOD_NAMES = ("tsai", "park", "horaud", "andreff", "daniilidis")
# How to move the arm, appended to every "not enough views" error.
HOW_TO_MOVE = ("move the arm to more poses with the whole board in view, each turned at least {deg:.0f} deg from "
               "the others about different axes (tilt the tool forwards/backwards and sideways by 15-30 deg, and "
               "turn it about its own axis), keeping the board 0.3-0.8 m from the camera")


class CalibrationError(ValueError):
    """Calibration cannot give a trustworthy transform; the message says why and how to move the arm."""

    def __init__(self, message: str, rejected: Sequence[Rejection] = ()) -> None:
        super().__init__(message)
        self.rejected = tuple(rejected)


@dataclass(frozen=True)
class HandEyeSettings:
    min_views: int = 8
    min_rotation_between_views_deg: float = 5.0
    min_axis_spread: float = 0.02  # second eigenvalue share of the rotation-axis scatter; below = one axis
    refine: bool = True
    max_view_reprojection_px: float = 3.0  # views worse than this and 3x the median are dropped (once)
    # One-sigma uncertainty of X for a "good" verdict, and for "usable" (two sigma within 2 mm / 0.2 deg, what a
    # grasp with 5 mm finger clearance tolerates); beyond is "poor" and nothing is written.
    good_sigma_mm: float = 0.5
    good_sigma_deg: float = 0.05
    usable_sigma_mm: float = 1.0
    usable_sigma_deg: float = 0.1

    def __post_init__(self) -> None:
        if self.min_views < 3:
            raise ValueError(f"min_views must be >= 3 (two motions with different axes), got {self.min_views}")


@dataclass(frozen=True)
class CalibrationView:
    name: str  # image file or stamp: how the user finds the view again
    tool_to_base: np.ndarray
    observation: BoardObservation


@dataclass(frozen=True)
class Rejection:
    name: str
    reason: str


@dataclass(frozen=True)
class ViewResidual:
    name: str
    reprojection_rms_px: float
    board_rotation_deg: float  # this view's board pose in the base frame against the common one
    board_translation_mm: float


@dataclass(frozen=True)
class MethodResidual:
    method: str
    rotation_deg: float  # RMS over view pairs of the rotation between A X and X B
    translation_mm: float  # RMS of their translation difference
    error_at_board_mm: float  # translation + rotation times the mean board distance: what ranks the methods


@dataclass(frozen=True)
class HandEyeResult:
    camera_to_tool: np.ndarray  # X: the camera optical frame in the tool frame
    board_to_base: np.ndarray  # W
    method: str
    methods: tuple[MethodResidual, ...]
    views: tuple[ViewResidual, ...]
    rejected: tuple[Rejection, ...]
    rotation_residual_deg: float  # RMS over views of the board-pose disagreement
    translation_residual_mm: float
    reprojection_rms_px: float
    sigma_mm: float  # one-sigma uncertainty of X's translation (largest axis)
    sigma_deg: float  # ... and of its rotation
    arm_noise_mm: float  # the scatter of the arm's reported poses, as the fit estimated it
    arm_noise_deg: float
    quality: str  # good | usable | poor
    verdict: str
    notes: tuple[str, ...] = field(default=())

    @property
    def usable(self) -> bool:
        return self.quality in ("good", "usable")


def inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of rigid transforms (..., 4, 4)."""
    rotation = np.swapaxes(matrix[..., :3, :3], -1, -2)
    out = np.zeros_like(matrix)
    out[..., :3, :3] = rotation
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", rotation, matrix[..., :3, 3])
    out[..., 3, 3] = 1.0
    return out


def transform_difference(estimate: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(mm, deg) between two rigid transforms: translation distance and rotation angle."""
    return (float(np.linalg.norm(estimate[:3, 3] - truth[:3, 3])) * 1000.0,
            float(rotation_angle_deg(truth[:3, :3].T @ estimate[:3, :3])))


def closest_rotation(tool_to_base: np.ndarray, kept: Sequence[CalibrationView]) -> tuple[float, str]:
    """Smallest tool rotation (deg) between this pose and a kept view's, and that view's name."""
    if not kept:
        return float("inf"), ""
    others = np.stack([v.tool_to_base[:3, :3] for v in kept])
    angles = rotation_angle_deg(np.swapaxes(others, -1, -2) @ tool_to_base[:3, :3])
    index = int(np.argmin(angles))
    return float(angles[index]), kept[index].name


def too_little_rotation(tool_to_base: np.ndarray, kept: Sequence[CalibrationView],
                        min_rotation_deg: float) -> str | None:
    """Why this tool pose adds nothing over the kept views (None when it does)."""
    angle, name = closest_rotation(tool_to_base, kept)
    if angle < min_rotation_deg:
        return (f"too little rotation: the tool is turned only {angle:.1f} deg from view {name} (need >= "
                f"{min_rotation_deg:g} deg); turn the tool more between views")
    return None


def select_views(views: Sequence[CalibrationView], settings: HandEyeSettings) -> tuple[list[CalibrationView],
                                                                                       list[Rejection]]:
    """Views in order, each kept only if its tool rotation differs enough from every view kept before it."""
    kept: list[CalibrationView] = []
    rejected: list[Rejection] = []
    for view in views:
        reason = too_little_rotation(view.tool_to_base, kept, settings.min_rotation_between_views_deg)
        if reason:
            rejected.append(Rejection(view.name, reason))
        else:
            kept.append(view)
    return kept, rejected


def degenerate_motion(tool_to_base: np.ndarray, min_axis_spread: float) -> str | None:
    """Why the tool motions cannot determine the camera offset (all rotations about one axis), or None.

    The rotation axes of all view pairs (in the tool frame, weighted by angle²) form a scatter matrix; when its
    second eigenvalue holds less than ``min_axis_spread`` of the total, every motion turned about one axis.
    """
    rotations = Rotation.from_matrix(tool_to_base[:, :3, :3])
    i, j = np.triu_indices(len(tool_to_base), k=1)
    relative = (rotations[i].inv() * rotations[j]).as_rotvec()  # tool_i -> tool_j, in tool_i's frame
    weight = np.sum(relative ** 2)
    if weight < 1e-12:
        return "degenerate motion: the tool never rotates between views; turn it about two different axes"
    scatter = relative.T @ relative / weight
    values, vectors = np.linalg.eigh(scatter)
    if values[1] < min_axis_spread:
        axis = vectors[:, 2] * np.sign(vectors[np.argmax(np.abs(vectors[:, 2])), 2])
        return (f"degenerate motion: every rotation between views is about one axis ({np.round(axis, 2).tolist()} "
                f"in the tool frame), so the camera offset along it cannot be found; also tilt the tool about a "
                f"second axis (e.g. +-20 deg about its x or y) between views")
    return None


def hand_eye_method(tool_to_base: np.ndarray, board_to_camera: np.ndarray, method: str) -> np.ndarray | None:
    import cv2

    code = getattr(cv2, f"CALIB_HAND_EYE_{method.upper()}")
    try:
        rotation, translation = cv2.calibrateHandEye(
            list(tool_to_base[:, :3, :3]), list(tool_to_base[:, :3, 3:]), list(board_to_camera[:, :3, :3]),
            list(board_to_camera[:, :3, 3:]), method=code)
    except cv2.error:
        return None
    x = np.eye(4)
    x[:3, :3], x[:3, 3] = rotation, np.asarray(translation).reshape(3)
    if not np.all(np.isfinite(x)) or abs(np.linalg.det(x[:3, :3]) - 1.0) > 1e-3:
        return None
    return x


def ax_xb_residual(tool_to_base: np.ndarray, board_to_camera: np.ndarray,
                   camera_to_tool: np.ndarray) -> tuple[float, float]:
    """RMS rotation (deg) and translation (mm) of ``(A X)^-1 X B`` over every pair of views."""
    i, j = np.triu_indices(len(tool_to_base), k=1)
    a = inverse(tool_to_base[j]) @ tool_to_base[i]
    b = board_to_camera[j] @ inverse(board_to_camera[i])
    error = inverse(a @ camera_to_tool) @ (camera_to_tool @ b)
    rotation = rotation_angle_deg(error[:, :3, :3])
    translation = np.linalg.norm(error[:, :3, 3], axis=1) * 1000.0
    return float(np.sqrt(np.mean(rotation ** 2))), float(np.sqrt(np.mean(translation ** 2)))


def mean_pose(poses: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = Rotation.from_matrix(poses[:, :3, :3]).mean().as_matrix()
    out[:3, 3] = poses[:, :3, 3].mean(axis=0)
    return out


def _pose_of(params: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = Rotation.from_rotvec(params[:3]).as_matrix()
    out[:3, 3] = params[3:6]
    return out


def _params_of(pose: np.ndarray) -> np.ndarray:
    return np.concatenate([Rotation.from_matrix(pose[:3, :3]).as_rotvec(), pose[:3, 3]])


@dataclass(frozen=True)
class _Corners:
    """Every view's corners, stacked, with the undistorted observations in ideal-pinhole pixels."""

    view_index: np.ndarray  # (M,)
    board_points_m: np.ndarray  # (M, 3)
    observed_px: np.ndarray  # (M, 2): undistorted, in K's pixels
    focal_px: np.ndarray  # (2,)
    principal_px: np.ndarray  # (2,)

    @staticmethod
    def of(views: Sequence[CalibrationView], camera: Any) -> _Corners:
        import cv2

        index = np.concatenate([np.full(len(v.observation.corner_ids), k) for k, v in enumerate(views)])
        image_points = np.concatenate([v.observation.image_points_px for v in views])
        normalised = cv2.undistortPoints(image_points.reshape(-1, 1, 2), camera.K, camera.D).reshape(-1, 2)
        focal, principal = np.array([camera.K[0, 0], camera.K[1, 1]]), camera.K[:2, 2]
        return _Corners(index, np.concatenate([v.observation.board_points_m for v in views]),
                        normalised * focal + principal, focal, principal)

    def errors_px(self, tool_to_base: np.ndarray, camera_to_tool: np.ndarray,
                  board_to_base: np.ndarray) -> np.ndarray:
        """(M, 2) predicted minus observed pixel positions."""
        board_to_camera = inverse(tool_to_base @ camera_to_tool) @ board_to_base  # (V, 4, 4)
        transform = board_to_camera[self.view_index]
        points = np.einsum("mij,mj->mi", transform[:, :3, :3], self.board_points_m) + transform[:, :3, 3]
        projected = points[:, :2] / points[:, 2:3] * self.focal_px + self.principal_px
        return projected - self.observed_px

    def rms_per_view(self, errors: np.ndarray, views: int) -> np.ndarray:
        squared = np.bincount(self.view_index, np.sum(errors ** 2, axis=1), minlength=views)
        counts = np.bincount(self.view_index, minlength=views)
        return np.sqrt(squared / np.maximum(counts, 1))


def consistency(tool_to_base: np.ndarray, board_to_camera: np.ndarray, camera_to_tool: np.ndarray,
                board_to_base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per view, how far (deg, mm) its board pose ``T_i X C_i`` lands from ``W``."""
    seen = tool_to_base @ camera_to_tool @ board_to_camera
    rotation = rotation_angle_deg(np.swapaxes(board_to_base[:3, :3], 0, 1) @ seen[:, :3, :3])
    return rotation, np.linalg.norm(seen[:, :3, 3] - board_to_base[:3, 3], axis=1) * 1000.0


@dataclass(frozen=True)
class Refined:
    camera_to_tool: np.ndarray
    board_to_base: np.ndarray
    covariance: np.ndarray  # 6x6 of X's (rotation vector, translation) parameters


def refine(tool_to_base: np.ndarray, corners: _Corners, camera_to_tool: np.ndarray, board_to_base: np.ndarray, *,
           pixel_sigma: float, arm_sigma_mm: float, arm_sigma_deg: float) -> Refined:
    """X and W minimising the corners' reprojection error, each tool pose free to move by its noise at a cost.

    Unknowns: X, W (6 each) and a correction (rotation vector, translation) per tool pose; residuals: every
    corner's pixel error / ``pixel_sigma`` and every correction / the arm's sigma. Sparse Jacobian: a view's
    corners depend only on X, W and that view's correction.
    """
    from scipy.sparse import lil_matrix

    views = len(tool_to_base)
    corners_count = len(corners.view_index)
    rad_sigma, m_sigma = np.radians(arm_sigma_deg), arm_sigma_mm / 1000.0

    def corrected(params: np.ndarray) -> np.ndarray:
        delta = params[12:].reshape(views, 6)
        poses = tool_to_base.copy()
        poses[:, :3, :3] = tool_to_base[:, :3, :3] @ Rotation.from_rotvec(delta[:, :3]).as_matrix()
        poses[:, :3, 3] += delta[:, 3:]
        return poses

    def residuals(params: np.ndarray) -> np.ndarray:
        delta = params[12:].reshape(views, 6)
        errors = corners.errors_px(corrected(params), _pose_of(params[:6]), _pose_of(params[6:12]))
        return np.concatenate([errors.reshape(-1) / pixel_sigma, (delta[:, :3] / rad_sigma).reshape(-1),
                               (delta[:, 3:] / m_sigma).reshape(-1)])

    sparsity = lil_matrix((2 * corners_count + 6 * views, 12 + 6 * views), dtype=np.int8)
    rows = np.arange(2 * corners_count)
    sparsity[rows, :12] = 1
    for k in range(6):
        sparsity[rows, 12 + 6 * corners.view_index.repeat(2) + k] = 1
    prior_rows = 2 * corners_count + np.arange(3 * views)
    prior_columns = 12 + 6 * np.repeat(np.arange(views), 3) + np.tile(np.arange(3), views)
    sparsity[prior_rows, prior_columns] = 1  # rotation corrections
    sparsity[prior_rows + 3 * views, prior_columns + 3] = 1  # translation corrections
    start = np.concatenate([_params_of(camera_to_tool), _params_of(board_to_base), np.zeros(6 * views)])
    fit = least_squares(residuals, start, jac_sparsity=sparsity, x_scale="jac", method="trf", max_nfev=100)
    jacobian = fit.jac.toarray() if hasattr(fit.jac, "toarray") else np.asarray(fit.jac)
    dof = max(len(fit.fun) - len(fit.x), 1)
    scale = max(1.0, 2.0 * fit.cost / dof)  # residuals larger than their sigmas widen the uncertainty
    covariance = np.linalg.pinv(jacobian.T @ jacobian)[:6, :6] * scale
    return Refined(_pose_of(fit.x[:6]), _pose_of(fit.x[6:12]), covariance)


def _sigmas(covariance: np.ndarray) -> tuple[float, float]:
    """Largest one-sigma of X's translation (mm) and rotation (deg) from its 6x6 covariance."""
    return (float(np.sqrt(np.linalg.eigvalsh(covariance[3:, 3:]).max())) * 1000.0,
            float(np.degrees(np.sqrt(np.linalg.eigvalsh(covariance[:3, :3]).max()))))


def not_enough_views(count: int, settings: HandEyeSettings, rejected: Sequence[Rejection],
                     what: str) -> CalibrationError:
    reasons = "; ".join(f"{r.name}: {r.reason}" for r in rejected[-5:])
    more = f" (last rejections: {reasons})" if reasons else ""
    return CalibrationError(f"only {count} usable views {what} (need >= {settings.min_views}): "
                            + HOW_TO_MOVE.format(deg=max(settings.min_rotation_between_views_deg, 15.0)) + more,
                            rejected)


def calibrate_hand_eye(views: Sequence[CalibrationView], camera: Any, settings: HandEyeSettings | None = None,
                       rejected: Sequence[Rejection] = ()) -> HandEyeResult:
    """Solve for camera_to_tool from views that each saw the board (``camera`` is a PinholeCamera).

    ``rejected`` are views turned down earlier (no board, ...); they are reported with the result. Raises
    :class:`CalibrationError` for too few views or degenerate motion.
    """
    settings = settings or HandEyeSettings()
    kept, too_close = select_views(views, settings)
    rejected = [*rejected, *too_close]
    if len(kept) < settings.min_views:
        raise not_enough_views(len(kept), settings, rejected, f"of {len(views) + len(rejected) - len(too_close)}")
    problem = degenerate_motion(np.stack([v.tool_to_base for v in kept]), settings.min_axis_spread)
    if problem:
        raise CalibrationError(problem, rejected)
    notes: list[str] = []
    solution = _solve(kept, camera, settings, notes)
    per_view = solution["per_view_px"]
    limit = max(settings.max_view_reprojection_px, 3.0 * float(np.median(per_view)))
    outliers = [k for k, error in enumerate(per_view) if error > limit]
    remaining = [v for k, v in enumerate(kept) if k not in outliers]
    if outliers and len(remaining) >= settings.min_views and degenerate_motion(
            np.stack([v.tool_to_base for v in remaining]), settings.min_axis_spread) is None:
        for k in outliers:
            rejected.append(Rejection(kept[k].name, f"does not fit the other views (reprojection {per_view[k]:.1f} "
                                                    f"px > {limit:.1f} px): was the arm still?"))
        notes.append(f"{len(outliers)} view(s) dropped as outliers and solved again")
        kept = remaining
        solution = _solve(kept, camera, settings, notes)
    return _result(kept, rejected, settings, notes, **solution)


def rank_closed_forms(tool_to_base: np.ndarray, board_to_camera: np.ndarray) -> tuple[tuple[MethodResidual, ...],
                                                                                   dict[str, np.ndarray]]:
    """Every cv2.calibrateHandEye method's solution and its AX = XB residual, best (lowest error at the board,
    translation + rotation times the mean board distance) first."""
    board_distance_mm = float(np.mean(np.linalg.norm(board_to_camera[:, :3, 3], axis=1))) * 1000.0
    candidates: dict[str, np.ndarray] = {}
    methods = []
    for method in METHOD_NAMES:
        x = hand_eye_method(tool_to_base, board_to_camera, method)
        if x is None:
            continue
        rotation_deg, translation_mm = ax_xb_residual(tool_to_base, board_to_camera, x)
        candidates[method] = x
        methods.append(MethodResidual(method, rotation_deg, translation_mm,
                                      translation_mm + float(np.radians(rotation_deg)) * board_distance_mm))
    return tuple(sorted(methods, key=lambda m: m.error_at_board_mm)), candidates


def _solve(views: Sequence[CalibrationView], camera: Any, settings: HandEyeSettings,
           notes: list[str]) -> dict[str, Any]:
    tool_to_base = np.stack([v.tool_to_base for v in views])
    board_to_camera = np.stack([v.observation.board_to_camera for v in views])
    methods, candidates = rank_closed_forms(tool_to_base, board_to_camera)
    notes.extend(f"{m}: no solution" for m in METHOD_NAMES if m not in candidates)
    if not methods:
        raise CalibrationError("no cv2.calibrateHandEye method found a solution; the views are inconsistent "
                               "(are the tool poses those of the tool the camera is mounted on?)")
    best = methods[0]
    camera_to_tool = candidates[best.method]
    board_to_base = mean_pose(tool_to_base @ camera_to_tool @ board_to_camera)
    corners = _Corners.of(views, camera)
    # The arm's scatter, per axis: how far the views' board poses land from their mean (PnP adds a little).
    rotation, translation = consistency(tool_to_base, board_to_camera, camera_to_tool, board_to_base)
    arm_deg = max(float(np.sqrt(np.mean(rotation ** 2) / 3)), 1e-3)
    arm_mm = max(float(np.sqrt(np.mean(translation ** 2) / 3)), 1e-2)
    pixel_sigma = max(float(np.sqrt(np.mean([v.observation.reprojection_rms_px ** 2 for v in views]))), 0.05)
    sigma_mm = sigma_deg = float("nan")
    name = best.method
    if settings.refine:
        refined = refine(tool_to_base, corners, camera_to_tool, board_to_base, pixel_sigma=pixel_sigma,
                         arm_sigma_mm=arm_mm, arm_sigma_deg=arm_deg)
        camera_to_tool, board_to_base, name = refined.camera_to_tool, refined.board_to_base, f"{best.method}+refined"
        sigma_mm, sigma_deg = _sigmas(refined.covariance)
    per_view = corners.rms_per_view(corners.errors_px(tool_to_base, camera_to_tool, board_to_base), len(views))
    return {"camera_to_tool": camera_to_tool, "board_to_base": board_to_base, "method": name,
            "per_view_px": per_view, "methods": methods, "sigma_mm": sigma_mm, "sigma_deg": sigma_deg,
            "arm_noise_mm": arm_mm, "arm_noise_deg": arm_deg}


def _quality(settings: HandEyeSettings, sigma_mm: float, sigma_deg: float) -> str:
    if not (np.isfinite(sigma_mm) and np.isfinite(sigma_deg)):
        return "usable"  # no refinement, no uncertainty: the residuals speak for it
    if sigma_mm <= settings.good_sigma_mm and sigma_deg <= settings.good_sigma_deg:
        return "good"
    if sigma_mm <= settings.usable_sigma_mm and sigma_deg <= settings.usable_sigma_deg:
        return "usable"
    return "poor"


def _result(views: Sequence[CalibrationView], rejected: Sequence[Rejection], settings: HandEyeSettings,
            notes: list[str], *, camera_to_tool: np.ndarray, board_to_base: np.ndarray, method: str,
            per_view_px: np.ndarray, methods: tuple[MethodResidual, ...], sigma_mm: float, sigma_deg: float,
            arm_noise_mm: float, arm_noise_deg: float) -> HandEyeResult:
    tool_to_base = np.stack([v.tool_to_base for v in views])
    board_to_camera = np.stack([v.observation.board_to_camera for v in views])
    rotation, translation = consistency(tool_to_base, board_to_camera, camera_to_tool, board_to_base)
    residuals = tuple(ViewResidual(v.name, float(p), float(r), float(t))
                      for v, p, r, t in zip(views, per_view_px, rotation, translation))
    rot_rms, trans_rms = float(np.sqrt(np.mean(rotation ** 2))), float(np.sqrt(np.mean(translation ** 2)))
    px_rms = float(np.sqrt(np.mean(per_view_px ** 2)))
    quality = _quality(settings, sigma_mm, sigma_deg)
    summary = (f"{len(views)} views used, {len(rejected)} rejected, method {method}; transform uncertain by "
               f"+-{sigma_mm:.2f} mm / {sigma_deg:.3f} deg (1 sigma); the board's pose agrees across views within "
               f"{trans_rms:.1f} mm / {rot_rms:.2f} deg rms, reprojection {px_rms:.2f} px rms; the arm's poses "
               f"scatter about {arm_noise_mm:.2f} mm / {arm_noise_deg:.3f} deg")
    if quality == "poor":
        verdict = (f"poor: {summary}. Do not use it. Likely causes: tool poses not taken while the arm was still, "
                   f"the pose of another frame than the one the camera is on, wrong camera intrinsics, a board "
                   f"that is not flat, or board dimensions that are not the printed ones (measure a square); "
                   f"more views at more different angles also narrow it")
    else:
        verdict = f"{quality}: {summary}"
    return HandEyeResult(camera_to_tool, board_to_base, method, methods, residuals, tuple(rejected), rot_rms,
                         trans_rms, px_rms, sigma_mm, sigma_deg, arm_noise_mm, arm_noise_deg, quality, verdict,
                         tuple(notes))
