"""The query node over DDS, called from this (separate) process: answers, errors, hot reload, concurrency."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from field_fixtures import ground_truth_field
from ros_helpers import logs, publish_latched, start_nodes, wait_until

from dff_grasp_ros import names
from dff_grasp_ros.process_group import ProcessGroup

pytestmark = pytest.mark.ros


def announce_field(field_dir: Path) -> None:
    """Publish /dff/field_ready as the trainer does (transient_local)."""
    from dff_grasp.msg import FieldReady

    publish_latched(names.FIELD_READY_TOPIC, FieldReady(field_path=str(field_dir), language_teacher="synthetic"),
                    "fake_trainer")


def test_query_node_answers_errors_reloads_and_serves_concurrently(tmp_path: Path, ros_env: dict[str, str]):
    from dff_grasp_ros.clients import query_object
    from dff_grasp_ros.ros_io.pointcloud import pointcloud2_to_arrays

    fields = tmp_path / "fields"
    fields.mkdir()
    os.environ.update(ros_env)
    with ProcessGroup() as group:
        start_nodes(group, {"query": {"fields_dir": str(fields), "device": "cpu"}}, ros_env, tmp_path / "logs")
        before = query_object("mug handle")
        assert not before.success and "no trained field" in before.message

        field_dir = ground_truth_field(tmp_path / "elsewhere", scene="two_mugs")
        announce_field(field_dir)
        assert wait_until(lambda: "no trained field" not in query_object("object").message), logs(tmp_path / "logs")

        answer = query_object("blue mug handle")
        assert answer.success, answer.message
        assert answer.grasp_pose.header.frame_id == "base_link"
        cloud = pointcloud2_to_arrays(answer.relevancy_cloud)
        assert cloud.points_m.shape[0] > 1000 and cloud.relevancy.max() > 0.5
        assert 0 < answer.grasp_width_m <= 0.08 and len(answer.candidates.poses) >= 1
        assert answer.pre_grasp_pose.pose.position.z != answer.grasp_pose.pose.position.z or \
            answer.pre_grasp_pose.pose.position.x != answer.grasp_pose.pose.position.x

        for prompt, expected in (("", "empty"), ("     ", "empty"), ("mug\x07handle", "control character"),
                                 ("x" * 10_000, "long"), ("banana", "not found")):
            reply = query_object(prompt)
            assert not reply.success and expected in reply.message, (prompt[:20], reply.message)

        prompts = ["red mug handle", "blue mug handle", "banana", "spatula handle"] * 2
        with ThreadPoolExecutor(max_workers=len(prompts)) as pool:
            replies = list(pool.map(query_object, prompts))
        for prompt, reply in zip(prompts, replies):
            assert reply.success == (prompt != "banana"), (prompt, reply.message)
        assert group.poll_failed() == {}, "the query node must survive every request"
