"""View selection: near-duplicates need closeness in position AND angle; blur is resolution-independent."""
import numpy as np
import pytest
from PIL import Image, ImageFilter
from scipy.spatial.transform import Rotation

from dff_grasp_ros.capture.selection import (
    SelectionSettings,
    ViewSelector,
    is_near_duplicate,
    laplacian_variance,
    rotation_angles_deg,
    sharpness,
)
from dff_grasp_ros.capture.validate import RejectReason
from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.synthetic.capture_streams import render, scan_poses_of_test_scene


def moved(pose: np.ndarray, *, translation_m=(0.0, 0.0, 0.0), yaw_deg: float = 0.0) -> np.ndarray:
    out = pose.copy()
    out[:3, :3] = Rotation.from_euler("z", yaw_deg, degrees=True).as_matrix() @ pose[:3, :3]
    out[:3, 3] += translation_m
    return out


def blurred(rgb: np.ndarray, sigma_px: float) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(sigma_px)))


def test_rotation_angles():
    rotations = Rotation.from_euler("x", [[0], [30], [179]], degrees=True).as_matrix()
    np.testing.assert_allclose(rotation_angles_deg(np.eye(3), rotations), [0, 30, 179], atol=1e-6)


@pytest.mark.parametrize("translation_m,yaw_deg,duplicate", [
    ((0.005, 0.0, 0.0), 2.0, True),  # close in both
    ((0.05, 0.0, 0.0), 0.0, False),  # same orientation, moved away
    ((0.0, 0.0, 0.0), 20.0, False),  # same place, turned
])
def test_near_duplicate_needs_both_position_and_angle(translation_m, yaw_deg, duplicate):
    kept = scan_poses_of_test_scene(4)
    candidate = moved(kept[2], translation_m=translation_m, yaw_deg=yaw_deg)
    assert is_near_duplicate(candidate, kept, min_translation_m=0.02, min_rotation_deg=5.0) is duplicate
    assert not is_near_duplicate(candidate, np.zeros((0, 4, 4)), min_translation_m=0.02, min_rotation_deg=5.0)


def test_laplacian_variance_of_flat_and_checkered_images():
    assert laplacian_variance(np.full((10, 10), 77.0)) == 0.0
    checker = (np.indices((10, 10)).sum(axis=0) % 2) * 255.0
    assert laplacian_variance(checker) > 1e5
    with pytest.raises(ValueError):
        laplacian_variance(np.zeros((2, 8)))


def test_blur_threshold_is_independent_of_resolution():
    pose = scan_poses_of_test_scene(4)[1]
    scores = []
    for scale in (2, 4):  # 320x240 and 640x480 of the same view, blurred by the same fraction of the image
        intrinsics = CameraIntrinsics(160 * scale, 120 * scale, 150.0 * scale, 150.0 * scale, 80.0 * scale,
                                      60.0 * scale)
        rgb, _ = render(pose, intrinsics)
        scores.append((sharpness(rgb), sharpness(blurred(rgb, 1.5 * scale))))
    (sharp_small, blur_small), (sharp_large, blur_large) = scores
    assert blur_small == pytest.approx(blur_large, rel=0.3)
    threshold = SelectionSettings().min_sharpness
    assert blur_small < threshold and blur_large < threshold < min(sharp_small, sharp_large)


def test_selector_skips_duplicates_and_blur_and_remembers_only_kept_views():
    poses = scan_poses_of_test_scene(8)
    selector = ViewSelector(SelectionSettings(min_translation_m=0.02, min_rotation_deg=5.0, min_sharpness=10.0))
    rgb, _ = render(poses[0])
    assert selector.check(rgb, poses[0]) is None
    selector.remember(poses[0])
    assert selector.check(rgb, moved(poses[0], translation_m=(0.001, 0, 0)))[0] is RejectReason.TOO_CLOSE
    other_rgb, _ = render(poses[3])
    reason, detail = selector.check(blurred(other_rgb, 4.0), poses[3])
    assert reason is RejectReason.BLURRED and "sharpness" in detail
    # The blurred view was not remembered, so a sharp one from the same place is welcome.
    assert selector.check(other_rgb, poses[3]) is None


def test_zero_threshold_disables_the_blur_check_and_bad_settings_raise():
    flat = np.full((48, 64, 3), 128, np.uint8)
    assert ViewSelector(SelectionSettings(min_sharpness=0.0)).check(flat, np.eye(4)) is None
    assert ViewSelector().check(flat, np.eye(4))[0] is RejectReason.BLURRED
    with pytest.raises(ValueError):
        SelectionSettings(min_translation_m=-1.0)
