"""Validation of one synchronised view: every kind of bad message gets its own reason code."""
import dataclasses

import numpy as np
import pytest

from dff_grasp_ros.capture.validate import RejectReason, ViewRejected, validate_view
from dff_grasp_ros.ros_io.camera_info import intrinsics_to_camera_info
from dff_grasp_ros.ros_io.image import numpy_to_image
from dff_grasp_ros.ros_io.pose import matrix_to_transform_stamped, stamped_to_matrix
from dff_grasp_ros.ros_io.stamp import header_stamp_ns
from dff_grasp_ros.synthetic.capture_streams import (
    BASE_FRAME,
    SMALL_CAMERA,
    render,
    scan_messages,
    scan_poses_of_test_scene,
)

MAX_POSE_OFFSET_S = 0.02


def one_view(depth_encoding="32FC1"):
    return dict(scan_messages(scan_poses_of_test_scene(3)[:1], depth_encoding=depth_encoding))


def validate(view, **kwargs):
    kwargs.setdefault("base_frame", BASE_FRAME)
    kwargs.setdefault("max_pose_offset_s", MAX_POSE_OFFSET_S)
    return validate_view(view["image"], view.get("depth"), view["camera_info"], view["pose"], **kwargs)


@pytest.mark.parametrize("depth_encoding", ["32FC1", "16UC1"])
def test_good_view_is_decoded(depth_encoding):
    pose = scan_poses_of_test_scene(3)[0]
    rgb, depth_m = render(pose)
    valid = validate(one_view(depth_encoding))
    np.testing.assert_array_equal(valid.rgb, rgb)
    np.testing.assert_allclose(valid.depth_m, depth_m, atol=5e-4 if depth_encoding == "16UC1" else 0)
    np.testing.assert_allclose(valid.camera_to_base, pose, atol=1e-12)
    assert valid.intrinsics == SMALL_CAMERA
    assert valid.stamp_ns == header_stamp_ns(one_view()["image"])


def test_colour_only_view_without_depth():
    view = one_view()
    del view["depth"]
    assert validate(view).depth_m is None


def _unsupported_image(view):
    view["image"].encoding = "yuv422"


def _unsupported_depth(view):
    view["depth"].encoding = "mono16"


def _nan_quaternion(view):
    view["pose"].pose.orientation.w = float("nan")


def _nan_position(view):
    view["pose"].pose.position.z = float("nan")


def _scaled_quaternion(view):
    q = view["pose"].pose.orientation
    q.x, q.y, q.z, q.w = 2 * q.x, 2 * q.y, 2 * q.z, 2 * q.w


def _small_image(view):
    header = view["image"].header
    view["image"] = numpy_to_image(np.zeros((24, 32, 3), np.uint8), "rgb8", frame_id=header.frame_id,
                                   stamp_ns=header_stamp_ns(view["image"]))


def _small_depth(view):
    view["depth"].height, view["depth"].width = 24, 32


def _stale_pose(view):
    view["pose"].header.stamp.nanosec += 50_000_000


def _pose_in_world(view):
    view["pose"].header.frame_id = "world"


def _depth_of_other_camera(view):
    view["depth"].header.frame_id = "camera_depth_optical_frame"


def _transform_of_other_frame(view):
    matrix, frame, stamp = stamped_to_matrix(view["pose"])
    view["pose"] = matrix_to_transform_stamped(matrix, frame, "tool0", stamp)


def _truncated_image(view):
    view["image"].data = bytes(view["image"].data)[:100]


def _fisheye(view):
    view["camera_info"].distortion_model = "equidistant"


def _headerless_pose(view):
    view["pose"] = object()


@pytest.mark.parametrize("mutate,reason", [
    (_unsupported_image, RejectReason.UNSUPPORTED_ENCODING),
    (_unsupported_depth, RejectReason.UNSUPPORTED_ENCODING),
    (_nan_quaternion, RejectReason.NON_FINITE_POSE),
    (_nan_position, RejectReason.NON_FINITE_POSE),
    (_scaled_quaternion, RejectReason.NON_UNIT_QUATERNION),
    (_small_image, RejectReason.SIZE_MISMATCH),
    (_small_depth, RejectReason.SIZE_MISMATCH),
    (_stale_pose, RejectReason.STALE_POSE),
    (_pose_in_world, RejectReason.WRONG_FRAME),
    (_depth_of_other_camera, RejectReason.WRONG_FRAME),
    (_transform_of_other_frame, RejectReason.WRONG_FRAME),
    (_truncated_image, RejectReason.MALFORMED),
    (_fisheye, RejectReason.BAD_CAMERA_INFO),
    (_headerless_pose, RejectReason.MALFORMED),
])
def test_each_bad_message_kind_has_its_reason(mutate, reason):
    view = one_view()
    mutate(view)
    with pytest.raises(ViewRejected) as caught:
        validate(view)
    assert caught.value.reason is reason
    assert caught.value.detail


def test_intrinsics_changing_mid_capture_is_rejected():
    view = one_view()
    validate(view, expected_intrinsics=SMALL_CAMERA)
    zoomed = dataclasses.replace(SMALL_CAMERA, fx=SMALL_CAMERA.fx * 1.1)
    view["camera_info"] = intrinsics_to_camera_info(zoomed, frame_id=view["image"].header.frame_id)
    with pytest.raises(ViewRejected) as caught:
        validate(view, expected_intrinsics=SMALL_CAMERA)
    assert caught.value.reason is RejectReason.INTRINSICS_CHANGED


def test_tolerable_imperfections_are_accepted():
    view = one_view()
    q = view["pose"].pose.orientation
    q.x, q.y, q.z, q.w = 1.003 * q.x, 1.003 * q.y, 1.003 * q.z, 1.003 * q.w  # rounding, not a bug
    view["pose"].header.frame_id = "/" + BASE_FRAME  # ROS 1 style leading slash
    view["pose"].header.stamp.nanosec += 15_000_000  # within max_pose_offset_s
    rotation = validate(view).camera_to_base[:3, :3]
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
