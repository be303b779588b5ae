"""Gripper MarkerArray: the drawn boxes are the gripper model's boxes, placed by the TCP pose."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from visualization_msgs.msg import Marker

from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.ros_io.markers import delete_all_markers, gripper_markers
from dff_grasp_ros.ros_io.pose import pose_to_matrix


def tcp_pose() -> np.ndarray:
    pose = np.eye(4)
    pose[:3, :3] = Rotation.from_euler("xyz", [170, 10, 40], degrees=True).as_matrix()
    pose[:3, 3] = [0.4, -0.1, 0.12]
    return pose


def test_each_solid_box_is_drawn_where_the_gripper_model_puts_it():
    gripper = ParallelJawGripper()
    width_m = 0.05
    tcp = tcp_pose()
    markers = gripper_markers(tcp, width_m, "base_link", gripper=gripper, stamp_ns=9, first_id=10).markers
    solid = {k: v for k, v in gripper.boxes(width_m).items() if k != "closing"}
    cubes = [m for m in markers if m.type == Marker.CUBE]
    assert len(cubes) == len(solid) and [m.id for m in markers] == list(range(10, 10 + len(markers)))
    for cube, (lower, upper) in zip(cubes, solid.values()):
        centre_world = tcp[:3, :3] @ ((lower + upper) / 2) + tcp[:3, 3]
        placed = pose_to_matrix(cube.pose)
        np.testing.assert_allclose(placed[:3, 3], centre_world, atol=1e-9)
        np.testing.assert_allclose(placed[:3, :3], tcp[:3, :3], atol=1e-9)
        np.testing.assert_allclose([cube.scale.x, cube.scale.y, cube.scale.z], upper - lower, atol=1e-12)
        assert cube.header.frame_id == "base_link" and cube.header.stamp.nanosec == 9


def test_fingers_straddle_the_tcp_along_the_closing_axis():
    tcp = tcp_pose()
    width_m = 0.04
    cubes = [m for m in gripper_markers(tcp, width_m, "base_link", gripper=ParallelJawGripper()).markers
             if m.type == Marker.CUBE]
    # In TCP coordinates the finger centres sit at y = +-(width/2 + thickness/2), x = 0.
    offsets = [tcp[:3, :3].T @ (pose_to_matrix(c.pose)[:3, 3] - tcp[:3, 3]) for c in cubes]
    finger_y = sorted(o[1] for o in offsets if abs(o[1]) > 1e-9 and abs(o[1]) < 0.05)
    thickness = ParallelJawGripper().finger_thickness_m
    np.testing.assert_allclose(finger_y, [-(width_m + thickness) / 2, (width_m + thickness) / 2], atol=1e-9)


def test_approach_line_comes_in_along_plus_z_and_ends_behind_the_hand():
    tcp = tcp_pose()
    gripper = ParallelJawGripper()
    markers = gripper_markers(tcp, 0.03, "base_link", gripper=gripper, approach_length_m=0.1).markers
    line = [m for m in markers if m.type == Marker.LINE_LIST]
    assert len(line) == 1 and len(line[0].points) == 2
    start, end = (tcp[:3, :3].T @ (np.array([p.x, p.y, p.z]) - tcp[:3, 3]) for p in line[0].points)
    back_z = min(lower[2] for name, (lower, _) in gripper.boxes(0.03).items() if name != "closing")
    np.testing.assert_allclose(end, [0, 0, back_z], atol=1e-9)
    np.testing.assert_allclose(start, [0, 0, back_z - 0.1], atol=1e-9)


@pytest.mark.parametrize("pose,width", [(np.diag([1.0, 1.0, -1.0, 1.0]), 0.02), (np.eye(4), float("nan")),
                                        (np.eye(4), -0.01)])
def test_bad_pose_or_width_raises(pose, width):
    with pytest.raises(ValueError):
        gripper_markers(pose, width, "base_link", gripper=ParallelJawGripper())


def test_delete_all_clears_previous_markers():
    marker = delete_all_markers("base_link").markers[0]
    assert marker.action == Marker.DELETEALL
