"""Two processes talk over DDS with the project's own QueryObject type (the foundation of every node)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from dff_grasp_ros import names
from dff_grasp_ros.process_group import ProcessGroup

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.ros


def test_generated_interfaces_import():
    from dff_grasp.action import CaptureViews, TrainField
    from dff_grasp.msg import FieldReady
    from dff_grasp.srv import QueryObject

    fields = QueryObject.Response.get_fields_and_field_types()
    assert fields["relevancy_cloud"] == "sensor_msgs/PointCloud2"
    assert fields["grasp_pose"] == "geometry_msgs/PoseStamped"
    assert fields["candidate_scores"] == "sequence<float>"
    assert "eta_s" in TrainField.Feedback.get_fields_and_field_types()
    assert "dataset_path" in CaptureViews.Result.get_fields_and_field_types()
    assert "field_path" in FieldReady.get_fields_and_field_types()


def test_query_object_round_trip_between_processes(ros_env):
    import rclpy
    from query_reply_server import expected_reply

    from dff_grasp.srv import QueryObject
    from dff_grasp_ros.ros_io.pointcloud import pointcloud2_to_arrays

    with ProcessGroup() as group:
        group.start("server", [sys.executable, str(HERE / "query_reply_server.py")], env=ros_env)
        rclpy.init()
        node = rclpy.create_node("query_reply_client")
        try:
            client = node.create_client(QueryObject, names.QUERY_OBJECT_SERVICE)
            assert client.wait_for_service(timeout_sec=20.0), "server never appeared on DDS"
            response = None
            for _ in range(3):  # a response Fast DDS dropped (a client made just before its call) is asked again
                future = client.call_async(QueryObject.Request(prompt="mug handle"))
                rclpy.spin_until_future_complete(node, future, timeout_sec=10.0)
                if future.done():
                    response = future.result()
                    break
        finally:
            node.destroy_node()
            rclpy.try_shutdown()
        assert group.poll_failed() == {}, "server died"

    want = expected_reply("mug handle")
    assert response is not None and response.success
    assert response.message == "echo: mug handle"
    cloud = pointcloud2_to_arrays(response.relevancy_cloud)
    assert [f.name for f in response.relevancy_cloud.fields] == ["x", "y", "z", "rgb", "relevancy"]
    assert cloud.frame_id == "base_link" and cloud.stamp_ns == 123
    assert cloud.points_m.shape == (50_000, 3)
    np.testing.assert_array_equal(cloud.points_m, want["points"])
    np.testing.assert_array_equal(cloud.rgb, want["rgb"])
    np.testing.assert_array_equal(cloud.relevancy, want["relevancy"])
    pose = response.grasp_pose
    assert pose.header.frame_id == "base_link"
    np.testing.assert_allclose([pose.pose.position.x, pose.pose.position.y, pose.pose.position.z], want["position"])
    o = pose.pose.orientation
    np.testing.assert_allclose([o.x, o.y, o.z, o.w], want["quat_xyzw"])
    assert response.grasp_width_m == pytest.approx(want["width_m"])
    assert response.grasp_opening_m == pytest.approx(want["opening_m"])
    assert response.score == pytest.approx(want["score"])
    assert len(response.candidates.poses) == 2 and response.candidates.header.frame_id == "base_link"
    np.testing.assert_allclose(list(response.candidate_scores), want["candidate_scores"])
    assert response.latency_s == pytest.approx(want["latency_s"])
