"""/dff/update_scene over DDS with the sim camera: the world changes after a pick, the camera shows it, the query
node carves the served cloud with the next view, and the picked object is never grasped again."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from field_fixtures import ground_truth_field
from ros_helpers import logs, publish_latched, small_scene_file, start_nodes, wait_until
from test_ros_query import announce_field

from dff_grasp_ros import names
from dff_grasp_ros.process_group import ProcessGroup

pytestmark = pytest.mark.ros


def publish_raw(topic: str, text: str) -> None:
    from std_msgs.msg import String

    publish_latched(topic, String(data=text), "raw_publisher")


def test_update_scene_with_the_sim_camera_after_a_pick(tmp_path: Path, ros_env: dict[str, str], capsys):
    from dff_grasp_ros.cli import EXIT_OK, main
    from dff_grasp_ros.clients import query_object, response_to_json, update_scene
    from dff_grasp_ros.demo import set_sim_scene
    from dff_grasp_ros.grasp.gripper import ParallelJawGripper
    from dff_grasp_ros.synthetic import ground_truth
    from dff_grasp_ros.synthetic.clearing import World
    from dff_grasp_ros.synthetic.judge import GroundTruthPoints, answer_pose, judge_grasp

    scene_file = small_scene_file(tmp_path, base="two_mugs", width=160)
    fields = tmp_path / "fields"
    os.environ.update(ros_env)
    with ProcessGroup() as group:
        start_nodes(group, {"query": {"fields_dir": str(fields), "device": "cpu"},
                            "sim_camera": {"scene": str(scene_file), "rate_hz": 10.0}}, ros_env, tmp_path / "logs")
        early = update_scene(timeout_s=5.0)
        assert not early.success and "no trained field" in early.message, early.message
        announce_field(ground_truth_field(fields, scene="two_mugs"))
        assert wait_until(lambda: query_object("red mug handle").success), logs(tmp_path / "logs")

        same = update_scene(timeout_s=20.0)  # the scene as it was scanned: nearly nothing changes
        assert same.success, same.message + logs(tmp_path / "logs")
        assert same.points_removed < 0.02 * same.points_total and 0 < same.latency_s < 5.0

        publish_raw(names.SIM_SET_SCENE_TOPIC, "{not json")  # refused with a warning; the camera goes on
        world = World(scene_file)
        # Another camera: the images stayed the old size while /sim_camera/scene advertised the new one (hunt).
        publish_raw(names.SIM_SET_SCENE_TOPIC,
                    json.dumps({**world.scene_dict(), "camera": {"width": 64, "height": 48, "fx": 60, "fy": 60}}))
        world.remove([0])  # the red mug was picked
        set_sim_scene(world.scene_dict())
        picked = update_scene(timeout_s=20.0)
        assert picked.success and picked.points_removed > 300, picked.message
        assert picked.points_total == same.points_total - picked.points_removed + picked.points_added

        truth = GroundTruthPoints.from_json(ground_truth("two_mugs", points_per_part=3000))
        red = query_object("red mug handle")
        if red.success:  # whatever it grasps, it is not where the red mug stood
            verdict = judge_grasp(truth, *answer_pose(response_to_json(red)), ParallelJawGripper(), 0, "handle")
            assert 0 not in verdict.contact_object_ids, red.message
        blue = query_object("blue mug handle")
        assert blue.success, blue.message
        assert main(["update-scene", "--json"]) == EXIT_OK
        answer = json.loads(capsys.readouterr().out)
        assert answer["success"] and answer["points_total"] > 0 and "scene updated" in answer["message"]
        assert group.poll_failed() == {}, logs(tmp_path / "logs")
    camera_log = (tmp_path / "logs" / "sim_camera.log").read_text()
    assert "ignoring a /sim_camera/set_scene message" in camera_log and "scene changed: 2 objects" in camera_log
    assert "its camera (64x48) is another than this node's" in camera_log and "scene changed: 3 objects" not in \
        camera_log
    assert np.isfinite(picked.latency_s)


def test_a_field_loaded_while_an_update_waits_for_its_view_is_checked_against_the_pose_frame_too(
        tmp_path: Path, ros_env: dict[str, str]):
    # Found by the update hunt (issue 12): the query node compared the served field's base_frame with its own before
    # waiting for the view (up to update_timeout_s), then carved whatever field was served when the view came. A
    # field in 'odom' announced during the wait was carved with a camera pose in 'base_link', and reported success.
    from types import SimpleNamespace

    import rclpy

    from dff_grasp.srv import UpdateScene
    from dff_grasp_ros.nodes.query import QueryNode
    from dff_grasp_ros.scene_cloud import FIELD_META
    from dff_grasp_ros.synthetic import scene_intrinsics
    from dff_grasp_ros.synthetic.clearing import World

    fields = tmp_path / "fields"
    in_base = ground_truth_field(fields, scene="two_mugs")
    in_odom = ground_truth_field(fields, scene="two_mugs", name="odom_field")
    meta = json.loads((in_odom / FIELD_META).read_text())
    (in_odom / FIELD_META).write_text(json.dumps({**meta, "base_frame": "odom"}))
    world = World("two_mugs")
    world.remove([0])
    view, pose = world.overview()
    camera = SimpleNamespace(depth_m=view.depth_m, rgb=view.rgb, intrinsics=scene_intrinsics(world.original),
                             camera_to_base=pose)
    os.environ.update(ros_env)
    rclpy.init(args=["--ros-args", "-p", f"fields_dir:={fields}", "-p", "device:=cpu"])  # the node, in this process
    try:
        node = QueryNode()
        assert wait_until(lambda: node._reload_thread is None and node.server.current is not None, 30.0)
        node.server.load(in_base)

        def next_view(timeout_s: float) -> SimpleNamespace:
            node.server.load(in_odom)  # announced and loaded while the update waited for its view
            return camera

        node.next_view = next_view
        response = node.on_update_scene(UpdateScene.Request(timeout_s=1.0), UpdateScene.Response())
        assert not response.success, response.message
        assert "'odom'" in response.message and "'base_link'" in response.message, response.message
        assert node.server.current.path == in_odom and node.server.current.updates == 0
        node.close()
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
