"""Views calibration cannot use are rejected with a reason the user can act on; too few is an error that says
how to move the arm; motion that cannot determine the transform is refused rather than solved badly."""
from __future__ import annotations

import numpy as np
import pytest
from calibration_fixtures import CAMERA, collect, projected_views, simulated_session
from scipy.spatial.transform import Rotation

from dff_grasp_ros.calibration import (
    CalibrationError,
    CharucoBoardSpec,
    CollectorSettings,
    HandEyeSettings,
    PinholeCamera,
    ViewCollector,
    ViewRejected,
    calibrate_collected,
    calibrate_hand_eye,
    observe_board,
)
from dff_grasp_ros.capture.scan_poses import cap_camera_poses, look_at_optical

BOARD_TO_BASE = np.array([[1.0, 0, 0, 0.36], [0, -1, 0, 0.1], [0, 0, -1, 0.0005], [0, 0, 0, 1]])
MOUNT = np.eye(4)
MOUNT[:3, :3] = Rotation.from_euler("xyz", [2, -3, 90], degrees=True).as_matrix()
MOUNT[:3, 3] = [0.035, -0.06, 0.045]


def rotated(pose: np.ndarray, degrees: float, axis: str = "z", shift_m: float = 0.0) -> np.ndarray:
    out = pose.copy()
    out[:3, :3] = pose[:3, :3] @ Rotation.from_euler(axis, degrees, degrees=True).as_matrix()
    out[:3, 3] += shift_m
    return out


def test_a_view_without_the_board_is_rejected():
    from dff_grasp_ros.synthetic import load_scene, render_view, scene_intrinsics
    from dff_grasp_ros.synthetic.board import calibration_scene

    sim = simulated_session()
    table = calibration_scene(load_scene("tabletop"))
    pose = look_at_optical(np.array([1.2, 0.8, 0.5]), np.array([1.0, 1.0, 0.0]))  # at the table, not the board
    empty = render_view(table, scene_intrinsics(table), pose).rgb
    with pytest.raises(ViewRejected, match="no board in view"):
        observe_board(empty, sim.placement.board, sim.camera)
    collector = collect(sim)
    reason = collector.offer("empty", empty, sim.camera, rotated(sim.tool_to_base()[0], 40.0, "x"))
    assert "no board in view" in reason and collector.rejected[-1].name == "empty"


def test_a_tool_pose_kilometres_away_is_rejected_not_solved():
    """Before 2026-12-03 (hunt-left) tool poses 1e300 m out reached the solver: "array must not contain infs or
    NaNs" (and scipy's warnings), naming no view; a pose 1e6 m out gave a "poor" verdict of absurd numbers."""
    sim = simulated_session()
    collector = ViewCollector(sim.placement.board)
    for far_m in (1e300, 1e6, 1000.5):
        pose = sim.tool_to_base()[0].copy()
        pose[0, 3] = far_m
        reason = collector.offer(f"far_{far_m:g}", sim.images[0], sim.camera, pose)
        assert reason and "more than 1000 m from the base frame" in reason, reason
    assert not collector.views and collector.rejected_count == 3


def test_a_view_with_too_few_corners_is_rejected():
    sim = simulated_session()
    image = sim.images[0].copy()
    corners = collect(sim).views[0].observation.image_points_px
    keep = corners[:3]  # blank out everything but a patch around three corners
    mask = np.ones(image.shape[:2], bool)
    lo, hi = np.floor(keep.min(axis=0) - 15).astype(int), np.ceil(keep.max(axis=0) + 15).astype(int)
    mask[max(lo[1], 0):hi[1], max(lo[0], 0):hi[0]] = False
    image[mask] = 128
    with pytest.raises(ViewRejected, match=r"only \d board corners found"):
        observe_board(image, sim.placement.board, sim.camera)


def test_a_view_turned_too_little_from_a_kept_one_is_rejected():
    sim = simulated_session()
    collector = collect(sim)
    first = collector.views[0]
    # Same image again, the tool 2 deg and 1 cm away from view 0: nothing new for the rotation.
    reason = collector.offer("again", sim.images[0], sim.camera, rotated(first.tool_to_base, 2.0, "y", 0.01))
    assert reason.startswith("too little rotation") and first.name in reason and "turn the tool more" in reason
    # The arm still standing at a kept view is no rejection at all, just nothing new.
    assert collector.offer("still", sim.images[0], sim.camera, first.tool_to_base) == ""
    assert collector.same_pose_skipped == 1 and collector.rejected[-1].name == "again"


def test_a_moving_arm_and_a_bad_pose_are_rejected():
    sim = simulated_session()
    collector = ViewCollector(sim.placement.board, CollectorSettings())
    pose = sim.tool_to_base()[0]
    assert "arm was moving" in collector.offer("moving", sim.images[0], sim.camera, pose, rotated(pose, 0, "z", 0.004))
    nan_pose = pose.copy()
    nan_pose[0, 3] = np.nan
    assert "bad tool pose" in collector.offer("nan", sim.images[0], sim.camera, nan_pose)
    assert collector.offer("good", sim.images[0], sim.camera, pose, pose) is None
    other = PinholeCamera(640, 480, (610.0, 0, 319.5, 0, 610.0, 239.5, 0, 0, 1.0))
    assert "intrinsics changed" in collector.offer("zoomed", sim.images[1], other, sim.tool_to_base()[1])


def test_too_few_good_views_is_an_error_that_says_how_to_move_the_arm():
    sim = simulated_session()
    collector = collect(sim)
    collector.views = collector.views[:5]
    with pytest.raises(CalibrationError, match=r"only 5 usable views .*need >= 8.*move the arm to more poses"):
        calibrate_collected(collector, HandEyeSettings(min_views=8))


def test_rotations_all_about_one_axis_are_refused_as_degenerate():
    # A ring at one elevation looking at the board: every motion turns about the base's vertical axis.
    centre = BOARD_TO_BASE[:3, 3] + [0.14, -0.1, 0.0]
    ring = cap_camera_poses(centre, 0.45, 60.0, 60.0, 12)
    with pytest.raises(CalibrationError, match=r"degenerate motion: every rotation between views is about one axis"):
        calibrate_hand_eye(projected_views(ring, MOUNT, BOARD_TO_BASE), CAMERA)
    # Views over a cap (two rings of elevation: the tool also tilts) solve exactly.
    cap = cap_camera_poses(centre, 0.45, 45.0, 75.0, 24)
    result = calibrate_hand_eye(projected_views(cap, MOUNT, BOARD_TO_BASE), CAMERA)
    assert np.allclose(result.camera_to_tool, MOUNT, atol=1e-4)


def test_a_tool_that_never_turns_is_refused():
    centre = BOARD_TO_BASE[:3, 3] + [0.14, -0.1, 0.0]
    base = cap_camera_poses(centre, 0.45, 60.0, 60.0, 1)[0]
    shifted = np.stack([rotated(base, 0.0, "z", 0.0) for _ in range(10)])
    shifted[:, 0, 3] += np.linspace(0, 0.1, 10)  # translations only
    with pytest.raises(CalibrationError, match="only 1 usable views|never rotates"):
        calibrate_hand_eye(projected_views(shifted, MOUNT, BOARD_TO_BASE), CAMERA,
                           HandEyeSettings(min_views=3, min_rotation_between_views_deg=0.0))


def test_a_bad_board_description_is_refused_with_its_field_named():
    with pytest.raises(ValueError, match="marker_length_m"):
        CharucoBoardSpec(marker_length_m=0.05, square_length_m=0.04)
    with pytest.raises(ValueError, match="unknown ArUco dictionary"):
        CharucoBoardSpec(dictionary="DICT_NOPE")
    with pytest.raises(ValueError, match="need 55 markers"):
        CharucoBoardSpec(squares_x=11, squares_y=10, dictionary="DICT_4X4_50")


def test_a_tool_pose_stamped_minus_one_nanosecond_is_a_sample_not_a_static_transform():
    """A stamp of sec -1, nanosec 999999999 is -1 ns: it equalled the "static" marker, and that one bad message
    made its pose the tool's pose at every later image."""
    from dff_grasp_ros.calibration.tool_poses import PoseHistory, TfTree

    history = PoseHistory()
    history.add(-1, np.eye(4))
    assert history.at(5_000_000_000, max_age_ns=50_000_000) is None
    history.add(5_000_000_000, 2 * np.eye(4))
    assert history.at(5_000_000_000, max_age_ns=50_000_000)[0, 0] == 2
    tree = TfTree()
    tree.add("base_link", "tool0", 0, np.eye(4), static=True)  # /tf_static: valid at every time
    assert tree.lookup("base_link", "tool0", 9_000_000_000, max_age_ns=1) is not None


def test_an_image_stamped_zero_is_rejected_not_paired_with_a_tool_pose():
    """Before 2026-12-03 (third bad-input hunt) an image stamped 0 (a driver without a clock) was offered with the
    tool pose "at" 0: with every stamp 0, the oldest tool pose recorded, for every image."""
    from dff_grasp_ros.ros_io.image import numpy_to_image

    collector = ViewCollector(CharucoBoardSpec(), CollectorSettings())
    image = numpy_to_image(np.full((480, 640, 3), 128, np.uint8), "rgb8", frame_id="camera", stamp_ns=0)
    reason = collector.offer_message("t0.000", image, CAMERA, np.eye(4), None, 0.0)
    assert reason is not None and "header stamp is 0" in reason and collector.rejected_count == 1
