"""Shared calibration fixtures: one rendered simulator session per test process, and image-free views."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from dff_grasp_ros.calibration import CalibrationView, CharucoBoardSpec, PinholeCamera, ViewCollector
from dff_grasp_ros.calibration.detect import BoardObservation, rigid

SESSION_VIEWS = 12


@lru_cache(maxsize=1)
def simulated_session():
    """12 rendered views of the board on the tabletop table from the simulated wrist camera (~10 s, once)."""
    from dff_grasp_ros.synthetic.board import simulate_calibration

    return simulate_calibration("tabletop", SESSION_VIEWS, seed=0)


def collect(sim, tool_to_base: np.ndarray | None = None, **settings) -> ViewCollector:
    from dff_grasp_ros.calibration import CollectorSettings

    collector = ViewCollector(sim.placement.board, CollectorSettings(**settings))
    poses = sim.tool_to_base() if tool_to_base is None else tool_to_base
    for name, image, pose in zip(sim.names, sim.images, poses):
        collector.offer(name, image, sim.camera, pose)
    return collector


CAMERA = PinholeCamera(640, 480, (600.0, 0, 319.5, 0, 600.0, 239.5, 0, 0, 1.0))


def projected_views(camera_to_base: np.ndarray, camera_to_tool: np.ndarray, board_to_base: np.ndarray,
                    board: CharucoBoardSpec | None = None) -> list[CalibrationView]:
    """Views whose board observations are exact projections (no image): for the solver's own checks."""
    import cv2

    board = board or CharucoBoardSpec()
    points = board.corner_points_m()
    views = []
    for index, pose in enumerate(camera_to_base):
        board_to_camera = np.linalg.inv(pose) @ board_to_base
        rvec = cv2.Rodrigues(board_to_camera[:3, :3])[0]
        pixels = cv2.projectPoints(points, rvec, board_to_camera[:3, 3], CAMERA.K, CAMERA.D)[0].reshape(-1, 2)
        observation = BoardObservation(np.arange(len(points)), pixels, points,
                                       rigid(rvec, board_to_camera[:3, 3]), 0.0)
        views.append(CalibrationView(f"v{index}", pose @ np.linalg.inv(camera_to_tool), observation))
    return views
