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
        # started on two threads: the node's cpu_threads (1) must win over the environment
        start_nodes(group, {"query": {"fields_dir": str(fields), "device": "cpu"}},
                    {**ros_env, "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}, tmp_path / "logs")
        assert wait_until(lambda: "(computing on 1 CPU thread)" in (tmp_path / "logs" / "query.log").read_text(),
                          10.0), logs(tmp_path / "logs")
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
        assert answer.end_effector == "parallel_jaw"  # the shipped parameter file's tools: the jaws only
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
        # Clients that never ask again (ros2 service call, a MoveIt task): a burst deeper than rclpy's default
        # service queue (10) lost its oldest requests without a word, and their callers waited forever.
        answered = raw_burst("red mug handle", count=24)
        # CI once got 13 of 24 answers (2026-12-03, not seen here). The likely cause: rmw_fastrtps drops an answer
        # to a fresh client whose response reader the server has not matched yet; the node now offers it again
        # (nodes.common.resend_until_delivered). The nodes' logs come with a failure.
        assert answered == 24, f"{answered} of 24 requests of a burst answered\n{logs(tmp_path / 'logs')}"
        assert group.poll_failed() == {}, "the query node must survive every request"


def raw_burst(prompt: str, count: int, timeout_s: float = 90.0) -> int:
    """How many of ``count`` requests sent at once, from as many plain rclpy clients, are answered."""
    import time

    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor

    from dff_grasp.srv import QueryObject

    context = Context()
    rclpy.init(context=context)
    node = rclpy.create_node("burst_client", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        clients = [node.create_client(QueryObject, names.QUERY_OBJECT_SERVICE) for _ in range(count)]
        assert all(client.wait_for_service(timeout_sec=10.0) for client in clients)
        settle = time.monotonic() + 2.0  # let the server discover every client's reply reader first
        while time.monotonic() < settle:
            executor.spin_once(timeout_sec=0.1)
        futures = [client.call_async(QueryObject.Request(prompt=prompt)) for client in clients]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not all(future.done() for future in futures):
            executor.spin_once(timeout_sec=0.1)
        return sum(future.done() for future in futures)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
