"""A node's answer reaches a client the server matches late. rmw_fastrtps drops a response when the server has not
matched the client's response reader within 100 ms, and rclpy only warns: CI lost 11 answers of a burst of 24
fresh clients (``test_ros_query``), whose callers would have waited forever."""
from __future__ import annotations

import threading
import time
import warnings

import pytest

from dff_grasp_ros.nodes.common import SEND_TIMEOUT_WARNING, resend_until_delivered


class Logger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def warning(self, line: str) -> None:
        self.lines.append(("warning", line))

    def debug(self, line: str) -> None:
        self.lines.append(("debug", line))


class LateClientService:
    """A service whose client's response reader is matched only at the ``matched_at``-th offer: rclpy's
    ``send_response`` warns (and drops the answer) before."""

    srv_name = "/query_object"

    def __init__(self, matched_at: int) -> None:
        self.matched_at = matched_at
        self.offers = 0
        self.delivered: list[str] = []

    def send_response(self, response: str, header: object) -> None:
        self.offers += 1
        if self.offers < self.matched_at:
            warnings.warn(f"{SEND_TIMEOUT_WARNING}: client will not receive response", RuntimeWarning, stacklevel=1)
            return
        self.delivered.append(response)


def test_a_dropped_answer_is_offered_again_until_the_client_is_matched():
    service, logger = LateClientService(matched_at=3), Logger()
    resend_until_delivered(service, logger, resend_for_s=5.0)
    service.send_response("answer", header=None)
    assert service.delivered == ["answer"] and service.offers == 3
    assert [level for level, _ in logger.lines] == ["debug"]


def test_an_answer_nobody_can_receive_is_given_up_with_one_line_naming_the_service():
    service, logger = LateClientService(matched_at=10**9), Logger()
    resend_until_delivered(service, logger, resend_for_s=0.3)
    started = time.monotonic()
    service.send_response("answer", header=None)
    assert time.monotonic() - started < 2.0 and not service.delivered and service.offers >= 2
    assert len(logger.lines) == 1 and logger.lines[0][0] == "warning" and "/query_object" in logger.lines[0][1]


def test_other_warnings_are_still_shown():
    resend_until_delivered(LateClientService(matched_at=1), Logger())
    with pytest.warns(UserWarning, match="something else"):
        warnings.warn("something else", UserWarning, stacklevel=1)


def test_each_thread_counts_only_its_own_dropped_answers():
    """The executor sends answers from several threads at once: one thread's dropped answer must not make another
    send its delivered answer again."""
    late, on_time, logger = LateClientService(matched_at=4), LateClientService(matched_at=1), Logger()
    resend_until_delivered(late, logger, resend_for_s=5.0)
    resend_until_delivered(on_time, logger, resend_for_s=5.0)
    threads = [threading.Thread(target=late.send_response, args=("late", None)),
               threading.Thread(target=lambda: [on_time.send_response(f"on time {i}", None) for i in range(20)])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert late.delivered == ["late"] and on_time.offers == 20 and len(on_time.delivered) == 20


@pytest.mark.ros
def test_rclpys_dropped_response_over_dds_is_seen_and_reported():
    """A real rclpy service and a client whose response reader can never match (transient-local against the
    service's volatile writer): rmw_fastrtps drops every offer; the node says so in one line instead of rclpy's
    raw warning, and answers a normal client meanwhile."""
    import rclpy
    from rclpy.callback_groups import ReentrantCallbackGroup
    from rclpy.context import Context
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from std_srvs.srv import Trigger

    context = Context()
    rclpy.init(context=context)
    server = rclpy.create_node("resend_server", context=context)
    client_node = rclpy.create_node("resend_client", context=context)
    executor = MultiThreadedExecutor(num_threads=4, context=context)
    try:
        def answer(_request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
            response.success, response.message = True, "answered"
            return response

        service = server.create_service(Trigger, "resend_probe", answer, callback_group=ReentrantCallbackGroup())
        logger = Logger()
        resend_until_delivered(service, logger, resend_for_s=1.0)
        unmatched = client_node.create_client(Trigger, "resend_probe", qos_profile=QoSProfile(
            depth=10, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL))
        normal = client_node.create_client(Trigger, "resend_probe")
        executor.add_node(server)
        executor.add_node(client_node)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        assert normal.wait_for_service(timeout_sec=10.0)
        lost = unmatched.call_async(Trigger.Request())
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and not logger.lines:
            time.sleep(0.05)
        answered = normal.call_async(Trigger.Request())
        while time.monotonic() < deadline and not answered.done():
            time.sleep(0.05)
        assert answered.done() and answered.result().message == "answered"
        assert not lost.done()
        assert [level for level, _ in logger.lines] == ["warning"], logger.lines
        assert "resend_probe" in logger.lines[0][1]
    finally:
        executor.shutdown()
        server.destroy_node()
        client_node.destroy_node()
        rclpy.try_shutdown(context=context)
