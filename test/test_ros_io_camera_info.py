"""CameraInfo <-> CameraIntrinsics."""
from types import SimpleNamespace

import pytest

from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.ros_io.camera_info import (
    CameraInfoError,
    camera_info_to_intrinsics,
    intrinsics_close,
    intrinsics_to_camera_info,
)

INTRINSICS = CameraIntrinsics(640, 480, 615.5, 612.25, 321.75, 238.5, (0.11, -0.22, 0.003, -0.004))


def info(**overrides):
    fields = dict(width=640, height=480, distortion_model="plumb_bob", d=[0.1, -0.2, 0.01, 0.02, 0.5],
                  k=[600.0, 0, 320.0, 0, 601.0, 240.0, 0, 0, 1])
    fields.update(overrides)
    return SimpleNamespace(**fields)


def test_round_trip_keeps_every_number():
    msg = intrinsics_to_camera_info(INTRINSICS, frame_id="cam", stamp_ns=5)
    assert msg.header.frame_id == "cam" and msg.distortion_model == "plumb_bob"
    assert camera_info_to_intrinsics(msg) == INTRINSICS
    assert list(msg.p)[:3] == [INTRINSICS.fx, 0.0, INTRINSICS.cx - 0.5]


def test_plumb_bob_and_rational_polynomial_keep_k1_k2_p1_p2():
    assert camera_info_to_intrinsics(info()).distortion == (0.1, -0.2, 0.01, 0.02)
    rational = info(distortion_model="rational_polynomial", d=[0.3, 0.2, 0.01, 0.02, 0.1, 0.5, 0.6, 0.7])
    intrinsics = camera_info_to_intrinsics(rational)
    assert intrinsics.distortion == (0.3, 0.2, 0.01, 0.02)
    assert (intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy) == (600.0, 601.0, 320.5, 240.5)


def test_rectified_camera_without_model_means_no_distortion():
    assert camera_info_to_intrinsics(info(distortion_model="", d=[])).distortion == (0.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize("overrides,match", [
    ({"distortion_model": "equidistant", "d": [0.1, 0.0, 0.0, 0.0]}, "equidistant"),
    ({"distortion_model": "", "d": [0.1, 0.0, 0.0, 0.0, 0.0]}, "distortion model"),
    ({"width": 0}, "size"),
    ({"k": [0.0] * 9}, "focal"),
    ({"k": [1.0] * 8}, "9 finite"),
    ({"d": [float("nan"), 0, 0, 0, 0]}, "non-finite"),
])
def test_unusable_camera_info_is_refused_clearly(overrides, match):
    with pytest.raises(CameraInfoError, match=match):
        camera_info_to_intrinsics(info(**overrides))


def test_intrinsics_close_tolerates_float_noise_only():
    noisy = CameraIntrinsics(640, 480, 615.5 + 1e-5, 612.25, 321.75, 238.5, INTRINSICS.distortion)
    assert intrinsics_close(INTRINSICS, noisy)
    assert not intrinsics_close(INTRINSICS, CameraIntrinsics(640, 480, 616.5, 612.25, 321.75, 238.5,
                                                             INTRINSICS.distortion))
    assert not intrinsics_close(INTRINSICS, CameraIntrinsics(320, 240, 615.5, 612.25, 321.75, 238.5,
                                                             INTRINSICS.distortion))
    assert not intrinsics_close(INTRINSICS, CameraIntrinsics(640, 480, 615.5, 612.25, 321.75, 238.5))


def test_principal_point_moves_from_ros_to_nerfstudio_pixel_centres():
    """ROS/OpenCV put pixel centres at integers, nerfstudio (our datasets) at +0.5: a centred real camera
    (cx = 319.5 of 640 px) must be stored as cx = 320, or every ray is off by half a pixel."""
    centred = camera_info_to_intrinsics(info(k=[600.0, 0, 319.5, 0, 600.0, 239.5, 0, 0, 1]))
    assert (centred.cx, centred.cy) == (320.0, 240.0)
    msg = intrinsics_to_camera_info(centred)
    assert (msg.k[2], msg.k[5]) == (319.5, 239.5) and (msg.p[2], msg.p[6]) == (319.5, 239.5)
