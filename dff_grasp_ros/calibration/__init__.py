"""Eye-in-hand calibration: a ChArUco board seen from the arm's camera -> the tool -> camera optical transform.

Pure functions, tested without ROS (the node ``nodes/hand_eye.py`` and ``dff-grasp calibrate`` call them)::

    CharucoBoardSpec(squares_x, squares_y, square_length_m, marker_length_m, dictionary)   board.py
    PinholeCamera.from_camera_info(msg) / .from_yaml(path)                                 camera.py
    observe_board(image, board, camera) -> BoardObservation | raises ViewRejected         detect.py
    ViewCollector(board).offer(name, image, camera, tool_to_base) -> why not | None       views.py
    calibrate_collected(collector) -> HandEyeResult | raises CalibrationError             views.py, solve.py
    result_to_dict / write_hand_eye / static_transform_command / load_hand_eye           output.py
    views_from_bag(bag, board, image_topic=..., camera_info_topic=..., pose_topic='')     bag.py
"""
from dff_grasp_ros.calibration.board import CharucoBoardSpec
from dff_grasp_ros.calibration.camera import PinholeCamera
from dff_grasp_ros.calibration.detect import BoardObservation, ViewRejected, observe_board
from dff_grasp_ros.calibration.solve import (
                                             CalibrationError,
                                             CalibrationView,
                                             HandEyeResult,
                                             HandEyeSettings,
                                             Rejection,
                                             calibrate_hand_eye,
)
from dff_grasp_ros.calibration.views import CollectorSettings, ViewCollector, calibrate_collected

__all__ = ["BoardObservation", "CalibrationError", "CalibrationView", "CharucoBoardSpec", "CollectorSettings",
           "HandEyeResult", "HandEyeSettings", "PinholeCamera", "Rejection", "ViewCollector", "ViewRejected",
           "calibrate_collected", "calibrate_hand_eye", "observe_board"]
