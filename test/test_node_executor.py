"""The nodes' executors survive what happens while they spin. Subscriptions made and dropped for one request
(capture goals, calibration, scene updates) must never kill the executor: with rclpy's default QoS event handlers
they did, after a few hundred cycles (the query node died after /dff/update_scene in a DDS test). An error that
escapes a callback is logged, and the node spins on."""
from __future__ import annotations

import threading
import time

import pytest

from dff_grasp_ros.nodes.common import request_subscription

pytestmark = pytest.mark.ros

CYCLES = 1500  # without the fix the executor died after 100-300 cycles (measured: 183)


def test_request_subscriptions_made_and_dropped_while_spinning_never_kill_the_executor():
    import rclpy
    from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
    from rclpy.context import Context
    from rclpy.executors import MultiThreadedExecutor
    from std_msgs.msg import String

    context = Context()
    rclpy.init(context=context)
    node = rclpy.create_node("request_subscriptions", context=context)
    publisher = node.create_publisher(String, "frames", 10)
    node.create_timer(0.001, lambda: publisher.publish(String(data="frame")))
    executor = MultiThreadedExecutor(num_threads=4, context=context)
    executor.add_node(node)
    died: list[BaseException] = []

    def spin() -> None:
        try:
            executor.spin()
        except BaseException as err:  # what killed the executor thread is the finding
            died.append(err)

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    received = []
    try:
        for _ in range(CYCLES):
            if died:
                break
            group = MutuallyExclusiveCallbackGroup()
            subscriptions = [request_subscription(node, String, "frames", received.append, 10, group)
                             for _ in range(3)]
            time.sleep(0.001)
            for subscription in subscriptions:
                node.destroy_subscription(subscription)
        assert not died, f"the executor died: {died[0]!r}"
        assert spinner.is_alive()
        assert received, "the request subscriptions never received a message"
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)


class FailingTimerNode:
    """A node whose timer raises on its first tick and shuts rclpy down on its fifth."""

    NODE_NAME = "failing_timer"
    ticks = 0

    def __new__(cls):
        import rclpy
        from rclpy.node import Node

        node = Node(cls.NODE_NAME)

        def tick() -> None:
            cls.ticks += 1
            if cls.ticks == 1:
                raise RuntimeError("a bug in a callback")
            if cls.ticks == 5:
                rclpy.try_shutdown()

        node.create_timer(0.05, tick)
        return node


def test_a_callback_error_is_logged_and_the_node_spins_on(capfd):
    from dff_grasp_ros.nodes.common import spin_node

    assert spin_node(FailingTimerNode, ["failing_timer"]) == 0
    assert FailingTimerNode.ticks >= 5
    assert "executor error, spinning on: RuntimeError: a bug in a callback" in capfd.readouterr().err


class QuietNode:
    """A node with nothing to do."""

    NODE_NAME = "quiet"

    def __new__(cls):
        from rclpy.node import Node

        return Node(cls.NODE_NAME)


def test_a_signal_between_the_context_check_and_the_wait_ends_the_node_quietly(capfd, monkeypatch):
    """CI once failed: Ctrl-C to capture mid-goal logged "executor error, spinning on: RCLError: failed to
    initialize wait set: the given context is not valid". The signal had shut the context down after the spin loop
    looked at it and before ``spin_once`` built its wait set; that error is the shutdown's, not a callback's."""
    import rclpy
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.impl.implementation_singleton import rclpy_implementation

    from dff_grasp_ros.nodes.common import spin_node

    def signal_then_wait(self, timeout_sec=None):
        rclpy.try_shutdown()  # what rclpy's SIGINT handler does, at the worst moment
        raise rclpy_implementation.RCLError("failed to initialize wait set: the given context is not valid")

    monkeypatch.setattr(MultiThreadedExecutor, "spin_once", signal_then_wait)
    assert spin_node(QuietNode, ["quiet"]) == 0
    assert capfd.readouterr().err == ""


def test_an_error_storm_stops_the_node_with_one_line():
    from dff_grasp_ros.nodes.common import ExecutorErrors

    errors = ExecutorErrors()
    assert all(errors.tolerate(now_s=float(t)) for t in range(ExecutorErrors.MAX_ERRORS))
    assert not errors.tolerate(now_s=10.0)
    assert errors.tolerate(now_s=10.0 + ExecutorErrors.WINDOW_S + 1)  # old errors age out


LOST_WAKE = '''
import threading, time
import rclpy
from rclpy.executors import Executor
from rclpy.node import Node
from dff_grasp_ros.nodes.common import spin_node

Executor.wake = lambda self: None  # the executor is never told that its context shut down


class Quiet(Node):
    NODE_NAME = "quiet"

    def __init__(self):
        super().__init__("quiet")


threading.Timer(1.0, rclpy.shutdown).start()  # what rclpy's SIGTERM handler does
print("status", spin_node(Quiet, []), flush=True)
'''


def test_a_node_ends_when_its_context_shuts_down_even_if_the_wake_up_is_lost():
    """The bad-input hunt saw a node started alone ignore SIGTERM in 2 of ~12 tries: its main thread waited in
    rcl_wait after rclpy's signal handler had shut the context down. With the wake-up lost on purpose the node
    waited forever (killed by this test's timeout); it now looks at its context every second."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", LOST_WAKE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "status 0" in done.stdout, done.stderr[-800:]
