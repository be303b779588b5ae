"""Numbers reach a ROS server as the caller wrote them (pure: serialisation only, no nodes)."""
import numpy as np
import pytest

from dff_grasp_ros.clients import plain_numbers


@pytest.mark.parametrize("value", [1, np.float32(1.5), np.float64(2.5), np.int64(3)])
def test_a_number_in_a_float_field_survives_serialisation(value):
    """Without plain_numbers, rclpy (Kilted, field checks off by default) sent 1 as 5e-324 and float32 1.5 as
    5e-315."""
    from geometry_msgs.msg import Point
    from rclpy.serialization import deserialize_message, serialize_message

    from dff_grasp.action import CaptureViews
    from dff_grasp.srv import ScanPoses

    unchecked = {"check_fields": False}  # as by default; ROS_PYTHON_CHECK_FIELDS=1 refuses the int at once
    request = plain_numbers(ScanPoses.Request(center=Point(x=value, y=0.0, z=value, **unchecked), radius_m=value,
                                              count=3, **unchecked))
    received = deserialize_message(serialize_message(request), ScanPoses.Request)
    assert (received.center.x, received.center.z, received.radius_m, received.count) == (
        float(value), float(value), pytest.approx(float(value)), 3)
    goal = plain_numbers(CaptureViews.Goal(num_views=4, timeout_s=value, **unchecked))
    assert deserialize_message(serialize_message(goal), CaptureViews.Goal).timeout_s == pytest.approx(float(value))


def test_the_clients_build_their_messages_with_field_checks_on_too():
    """With ROS_PYTHON_CHECK_FIELDS=1 (read when rclpy's message module is imported, hence a child process) rclpy
    refused ``scan_poses(radius_m=1)`` at construction: "The 'radius_m' field must be of type 'float'"."""
    import os
    import subprocess
    import sys

    code = ("from dff_grasp.srv import ScanPoses\nfrom dff_grasp_ros.clients import build_message\n"
            "print(build_message(ScanPoses.Request, radius_m=1, count=3).radius_m)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "ROS_PYTHON_CHECK_FIELDS": "1"})
    assert done.returncode == 0 and done.stdout.strip() == "1.0", done.stderr[-500:]
