"""One view of the board: ChArUco corners (``cv2.aruco.CharucoDetector``) and the board's pose in the camera.

The pose is :func:`cv2.solvePnP` on the interpolated ChArUco corners with the camera's own intrinsics (IPPE for
a planar target, then :func:`cv2.solvePnPRefineLM`); written from OpenCV 4.14's documentation of
``CharucoDetector.detectBoard`` and ``solvePnP``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dff_grasp_ros.calibration.board import CharucoBoardSpec
from dff_grasp_ros.calibration.camera import PinholeCamera

DEFAULT_MIN_CORNERS = 8
DEFAULT_MAX_REPROJECTION_PX = 2.0
MAX_VIEWING_ANGLE_DEG = 75.0  # beyond this the board is seen so obliquely that its pose is unreliable


class ViewRejected(ValueError):
    """This view cannot be used; the message says why in words a user can act on."""


@dataclass(frozen=True)
class BoardObservation:
    """The board corners found in one image and the board pose they give."""

    corner_ids: np.ndarray  # (N,) int
    image_points_px: np.ndarray  # (N, 2) OpenCV pixel coordinates
    board_points_m: np.ndarray  # (N, 3) the same corners in the board frame
    board_to_camera: np.ndarray  # 4x4: board frame in the camera optical frame
    reprojection_rms_px: float


def to_grey(image: np.ndarray) -> np.ndarray:
    """(H, W) uint8 from a grey, RGB or RGBA uint8 image (channel order does not matter for grey levels much)."""
    import cv2

    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ViewRejected(f"image must be 8-bit, got {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY if image.shape[2] == 3 else cv2.COLOR_RGBA2GRAY)
    raise ViewRejected(f"image must be (H, W) or (H, W, 3|4), got shape {image.shape}")


def rigid(rvec: np.ndarray, tvec: np.ndarray) -> np.ndarray:
    import cv2

    matrix = np.eye(4)
    matrix[:3, :3] = cv2.Rodrigues(np.asarray(rvec, dtype=np.float64).reshape(3))[0]
    matrix[:3, 3] = np.asarray(tvec, dtype=np.float64).reshape(3)
    return matrix


def observe_board(image: np.ndarray, board: CharucoBoardSpec, camera: PinholeCamera, *,
                  min_corners: int = DEFAULT_MIN_CORNERS,
                  max_reprojection_px: float = DEFAULT_MAX_REPROJECTION_PX) -> BoardObservation:
    """Find the board in ``image`` and fit its pose; :class:`ViewRejected` says why a view is unusable."""
    import cv2

    grey = to_grey(image)
    if grey.shape != (camera.height, camera.width):
        raise ViewRejected(f"image is {grey.shape[1]}x{grey.shape[0]} but the camera info says "
                           f"{camera.width}x{camera.height}")
    detector = cv2.aruco.CharucoDetector(board.cv_board())
    corners, ids, _, marker_ids = detector.detectBoard(grey)
    markers = 0 if marker_ids is None else len(marker_ids)
    if markers == 0:
        raise ViewRejected("no board in view (no ArUco marker of the board found)")
    found = 0 if ids is None else len(ids)
    if found < min_corners:
        raise ViewRejected(f"only {found} board corners found ({markers} markers; need >= {min_corners} corners): "
                           f"bring the whole board into view, closer and sharper")
    ids = ids.reshape(-1).astype(int)
    if board.cv_board().checkCharucoCornersCollinear(ids.reshape(-1, 1)):
        raise ViewRejected("the board corners found lie on one line; show more of the board")
    image_points = corners.reshape(-1, 2).astype(np.float64)
    board_points = board.corner_points_m()[ids]
    ok, rvec, tvec = cv2.solvePnP(board_points, image_points, camera.K, camera.D, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        raise ViewRejected("the board pose could not be fitted to its corners")
    rvec, tvec = cv2.solvePnPRefineLM(board_points, image_points, camera.K, camera.D, rvec, tvec)
    projected = cv2.projectPoints(board_points, rvec, tvec, camera.K, camera.D)[0].reshape(-1, 2)
    rms = float(np.sqrt(np.mean(np.sum((projected - image_points) ** 2, axis=1))))
    if not np.isfinite(rms) or rms > max_reprojection_px:
        raise ViewRejected(f"the board pose does not fit its corners (rms {rms:.2f} px > {max_reprojection_px} px): "
                           f"blurred image, moving arm or wrong camera intrinsics")
    board_to_camera = rigid(rvec, tvec)
    if board_to_camera[2, 3] <= 0:
        raise ViewRejected("the fitted board lies behind the camera")
    # Angle between the optical axis and the board normal (the board's z).
    tilt = np.degrees(np.arccos(min(1.0, abs(board_to_camera[2, 2]))))
    if tilt > MAX_VIEWING_ANGLE_DEG:
        raise ViewRejected(f"board seen too obliquely ({tilt:.0f} deg > {MAX_VIEWING_ANGLE_DEG:.0f} deg); "
                           f"look at it more squarely")
    return BoardObservation(ids, image_points, board_points, board_to_camera, rms)
