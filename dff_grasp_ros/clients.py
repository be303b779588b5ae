"""ROS clients of the three nodes, with progress bars: what ``dff-grasp capture/train/query`` and the demo call.

Each function can be called from a plain script: it borrows a client node from a small per-process pool
(:class:`_ClientNodes`), each in its own context, so concurrent calls from threads never share an executor. Each
checks its request before anything is sent (:mod:`dff_grasp_ros.goals`, the prompt rules): a value the message
cannot carry (a negative step count in a uint32) or that the server would refuse is one line here, and never
reaches the server half-converted.
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np

from dff_grasp_ros import names
from dff_grasp_ros.errors import InputError, expand_home
from dff_grasp_ros.goals import (
    MAX_UPDATE_TIMEOUT_S,
    check_calibration_request,
    check_capture_request,
    check_scan_request,
    check_train_request,
    check_update_request,
)


class RosCallError(RuntimeError):
    """A server that never appeared, a rejected goal or a call that did not finish in time."""


@contextmanager
def ros_node(name: str) -> Iterator[Any]:
    import rclpy
    from rclpy.context import Context

    from dff_grasp_ros.process_group import check_ros_domain_id

    check_ros_domain_id(os.environ)
    context = Context()
    rclpy.init(context=context)
    node = rclpy.create_node(name, context=context)
    try:
        yield node
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)


class _ClientNodes:
    """Client nodes kept between calls, each in its own context, with their service and action clients.

    A new DDS participant per call cost 0.5-1 s of discovery before the first request (most of a query's time
    over ROS from a script, and of the demo's and the DDS tests' waiting). A call borrows an idle node or makes
    one and gives it back when it ends; a call that failed (timeout, exception) closes its node instead, so no
    late reply or feedback of it reaches a later call. At most ``MAX_IDLE`` are kept; all are closed when the ROS
    environment (domain, discovery range) changes and at exit.
    """

    MAX_IDLE = 2
    _ENV = ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_STATIC_PEERS", "RMW_IMPLEMENTATION")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[tuple[tuple, Any, dict]] = []

    def _environment(self) -> tuple:
        return tuple(os.environ.get(key) for key in self._ENV)

    @contextmanager
    def borrow(self) -> Iterator[tuple[Any, dict]]:
        """(node, its cached clients by key); the node goes back to the pool only when the block succeeds."""
        environment = self._environment()
        with self._lock:
            stale = [entry for entry in self._idle if entry[0] != environment]
            self._idle = [entry for entry in self._idle if entry[0] == environment]
            entry = self._idle.pop() if self._idle else None
        for _, node, _ in stale:
            _close(node)
        if entry is None:
            entry = (environment, _open_node(f"dff_grasp_client_{os.getpid()}_{id(threading.current_thread())}"), {})
        try:
            yield entry[1], entry[2]
        except BaseException:
            with contextlib.suppress(Exception):  # the call's own error is the one to report
                _close(entry[1])
            raise
        with self._lock:
            if len(self._idle) < self.MAX_IDLE and self._environment() == environment:
                self._idle.append(entry)
                return
        _close(entry[1])

    def close_all(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for _, node, _ in idle:
            with contextlib.suppress(Exception):  # at exit rclpy may have shut its contexts down already
                _close(node)


def _open_node(name: str) -> Any:
    import rclpy
    from rclpy.context import Context

    from dff_grasp_ros.process_group import check_ros_domain_id

    check_ros_domain_id(os.environ)
    context = Context()
    rclpy.init(context=context)
    return rclpy.create_node(name, context=context)


def _close(node: Any) -> None:
    import rclpy

    context = node.context
    node.destroy_node()
    rclpy.try_shutdown(context=context)


_CLIENT_NODES = _ClientNodes()
atexit.register(_CLIENT_NODES.close_all)


def _executor(node: Any, clients: dict) -> Any:
    """The node's own executor, kept with its clients (an executor registers itself with its context until the
    context shuts down: one per call would pile up on a pooled node)."""
    from rclpy.executors import SingleThreadedExecutor

    if "executor" not in clients:
        clients["executor"] = SingleThreadedExecutor(context=node.context)
    return clients["executor"]


def _spin_until(node: Any, executor: Any, future: Any, timeout_s: float, what: str,
                resend: Callable[[], Any] | None = None, resend_after_s: float = 0.0) -> Any:
    """Spin until ``future`` (or, with ``resend``, any request sent again every ``resend_after_s``) is done."""
    executor.add_node(node)
    deadline = time.monotonic() + timeout_s
    futures, sent_at = [future], time.monotonic()
    while not any(pending.done() for pending in futures):
        now = time.monotonic()
        if now > deadline:
            raise RosCallError(f"{what} did not finish within {timeout_s:.0f} s")
        if resend is not None and now - sent_at > resend_after_s:
            futures.append(resend())
            sent_at = now
        executor.spin_once(timeout_sec=0.1)
    executor.remove_node(node)
    return next(pending for pending in futures if pending.done()).result()


# Ask for a result again after FIRST_RESULT_RETRY_S without one, then after twice as long each time, up to
# RESULT_RETRY_S (a lost response must not hang us; a long training piles up a request only every 30 s).
FIRST_RESULT_RETRY_S = 2.0
RESULT_RETRY_S = 30.0
GOAL_RESPONSE_WAIT_S = 10.0  # then ask for the goal's result by its id (a lost goal response must not fail us)
GOAL_RESEND_S = 2.0  # while the server answers that it does not know the goal, send the goal again this often


class _FeedbackRouter:
    """An action's feedback, from the client's own subscription to its feedback topic, to each goal's callback by
    the goal's id. rclpy's ActionClient drops a goal's feedback callback once a result request for it is answered,
    "unknown goal" included: after a lost goal request :func:`run_action` sends the goal again with its callback,
    rclpy then dropped it, and the feedback of a goal that ran went nowhere (a capture test waited 50 s for it)."""

    def __init__(self, node: Any, action_type: Any, name: str) -> None:
        from rclpy.qos import QoSProfile

        self.callbacks: dict[bytes, Callable[[Any], None]] = {}
        # rclpy's own feedback subscription's QoS (reliable, volatile, depth 10), on the topic every action uses
        node.create_subscription(action_type.Impl.FeedbackMessage, f"{name}/_action/feedback", self._deliver,
                                 QoSProfile(depth=10))

    def _deliver(self, message: Any) -> None:
        callback = self.callbacks.get(bytes(message.goal_id.uuid))
        if callback is not None:
            callback(message.feedback)


def run_action(action_type: Any, name: str, goal: Any, *, timeout_s: float,
               on_feedback: Callable[[Any], None] | None = None, server_wait_s: float = 30.0) -> Any:
    """Send one goal and wait for its result (feedback forwarded to ``on_feedback``).

    The result is asked for again when the goal's status says it has ended but no result came within a few
    seconds, and after 2, 4, 8 ... s up to every ``RESULT_RETRY_S``: once, under heavy load, the client waited
    until its timeout although the server had finished (a lost result response fits; the server answers repeated
    requests), and the status that would tell is missed when the goal ends before its handle is registered. A goal
    response that does not come within ``GOAL_RESPONSE_WAIT_S`` is treated as lost too: the result is asked for by
    the goal's id. A server that answers it does not know the goal never got it (a request lost before its reader
    matched ours): the goal is sent again, with the same id, so a server that did get the first rejects the copy;
    one that still does not know it after ``server_wait_s`` is an error.
    """
    from rclpy.action import ActionClient
    from unique_identifier_msgs.msg import UUID

    goal = plain_numbers(goal)
    with _CLIENT_NODES.borrow() as (node, clients):
        key = ("action", action_type, name)
        if key not in clients:
            clients[key] = ActionClient(node, action_type, name)
            clients[("feedback", action_type, name)] = _FeedbackRouter(node, action_type, name)
        client, router = clients[key], clients[("feedback", action_type, name)]
        if not client.wait_for_server(timeout_sec=server_wait_s):
            raise RosCallError(f"action server {name} not available (is `dff-grasp bringup` running?)")
        goal_id = UUID(uuid=list(uuid.uuid4().bytes))
        if on_feedback is not None:
            router.callbacks[bytes(goal_id.uuid)] = on_feedback
        try:
            return _run_goal(node, clients, client, action_type, name, goal, goal_id, timeout_s, server_wait_s)
        finally:
            router.callbacks.pop(bytes(goal_id.uuid), None)


def _run_goal(node: Any, clients: dict, client: Any, action_type: Any, name: str, goal: Any, goal_id: Any,
              timeout_s: float, server_wait_s: float) -> Any:
    """:func:`run_action` once its client is ready: send the goal, wait for its result (feedback: the router)."""
    from action_msgs.msg import GoalStatus
    from rclpy.action.client import ClientGoalHandle

    ended = (GoalStatus.STATUS_SUCCEEDED, GoalStatus.STATUS_ABORTED, GoalStatus.STATUS_CANCELED)
    sent = client.send_goal_async(goal, goal_uuid=goal_id)
    executor = _executor(node, clients)
    try:
        handle = _spin_until(node, executor, sent, GOAL_RESPONSE_WAIT_S, f"sending the {name} goal")
    except RosCallError:
        # The goal response can be lost: the server logged "failed to send response (timeout)" for a goal it
        # then executed (its writer had not matched our new reader yet). Ask for the goal's result by its id
        # instead; a server that never got the goal answers STATUS_UNKNOWN at once.
        handle = ClientGoalHandle(client, goal_id, action_type.Impl.SendGoalService.Response(accepted=True))
    if not handle.accepted:
        raise RosCallError(f"{name} rejected the goal (busy?)")
    executor.add_node(node)
    deadline = time.monotonic() + timeout_s
    unknown_until = time.monotonic() + server_wait_s  # a slow server may not know the goal yet
    requests = [handle.get_result_async()]
    asked_at, ended_at, retry_s, resent_at = time.monotonic(), None, FIRST_RESULT_RETRY_S, -np.inf
    while True:
        answered = [request.result() for request in requests if request.done()]
        known = [response for response in answered if response.status != GoalStatus.STATUS_UNKNOWN]
        if known:
            break
        now = time.monotonic()
        if now > deadline:
            raise RosCallError(f"{name} did not finish within {timeout_s:.0f} s")
        if answered:  # "no such goal": the goal request was lost; send it again until the server knows it
            if now > unknown_until:
                raise RosCallError(f"{name} never received the goal (lost on the way: send it again)")
            requests = [request for request in requests if not request.done()]
            if now - resent_at > GOAL_RESEND_S:
                client.send_goal_async(goal, goal_uuid=goal_id)
                resent_at = now
        if ended_at is None and handle.status in ended:
            ended_at = now
        status_ended = ended_at is not None and now - max(ended_at, asked_at) > 3.0
        if (not requests and now - asked_at > 1.0) or status_ended or now - asked_at > retry_s:
            requests.append(handle.get_result_async())
            asked_at, retry_s = now, min(2 * retry_s, RESULT_RETRY_S)
        executor.spin_once(timeout_sec=0.1)
    executor.remove_node(node)
    return known[0].result


# The longest a query takes to answer (p95 0.1 s on two CPU cores; the first, encoding its text, a few s): an
# answer missing after this long was lost, and the query is sent again.
QUERY_ANSWER_S = 15.0
UPDATE_CARVE_S = 10.0  # the longest /dff/update_scene carves after its view wait (measured <= 0.5 s)
SCAN_POSES_ANSWER_S = 10.0  # /scan_poses computes a few poses (milliseconds)


_FLOAT_FIELDS = ("float", "double")


def plain_numbers(message: Any) -> Any:
    """``message`` with every number in a float field (nested messages too) a Python ``float``. rclpy (Kilted) with
    its field checks off, as they are by default, serialises an ``int`` or a numpy ``float32`` there as garbage:
    ``ScanPoses.Request(radius_m=1)`` arrived as 0.0 and ``Point(x=1)`` as 5e-324 (measured)."""
    for name, kind in message.get_fields_and_field_types().items():
        value = getattr(message, name)
        if kind in _FLOAT_FIELDS and not isinstance(value, float):
            setattr(message, name, float(value))
        elif hasattr(value, "get_fields_and_field_types"):
            plain_numbers(value)
    return message


def build_message(message_type: Any, **fields: Any) -> Any:
    """``message_type(**fields)`` with the numbers of its float fields made Python floats first: with
    ``ROS_PYTHON_CHECK_FIELDS=1`` rclpy refuses ``radius_m=1`` at construction, before :func:`plain_numbers`
    could mend it."""
    kinds = message_type.get_fields_and_field_types()
    return message_type(**{name: float(value) if kinds.get(name) in _FLOAT_FIELDS else value
                           for name, value in fields.items()})


def call_service(srv_type: Any, name: str, request: Any, *, timeout_s: float = 60.0,
                 server_wait_s: float = 30.0, resend_after_s: float = 0.0) -> Any:
    """Call ``name`` and wait up to ``timeout_s`` for the answer.

    ``resend_after_s`` > 0 (idempotent requests only): send the request again when no answer came in that long,
    and take the first answer. Fast DDS drops a response when the server's response writer has not matched the
    client's reader within its blocking time (the server logs "failed to send response (timeout)"): on a loaded
    machine, a client made just before its first call waited for an answer that never came.
    """
    request = plain_numbers(request)
    with _CLIENT_NODES.borrow() as (node, clients):
        key = ("service", srv_type, name)
        if key not in clients:
            clients[key] = node.create_client(srv_type, name)
        client = clients[key]
        if not client.wait_for_service(timeout_sec=server_wait_s):
            raise RosCallError(f"service {name} not available (is `dff-grasp bringup` running?)")
        return _spin_until(node, _executor(node, clients), client.call_async(request), timeout_s, name,
                           resend=(lambda: client.call_async(request)) if resend_after_s > 0 else None,
                           resend_after_s=resend_after_s)


def _bar(total: int, desc: str, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="", disable=quiet, dynamic_ncols=True, leave=True)


def capture_views(num_views: int, timeout_s: float = 0.0, quiet: bool = False, until_scan_done: bool = False) -> Any:
    """``until_scan_done``: also stop when the scan driver's ScanStatus says the scan has ended."""
    check_capture_request(num_views, timeout_s)
    from dff_grasp.action import CaptureViews

    with _bar(num_views, "capture views", quiet) as bar:
        def feedback(fb: Any) -> None:
            bar.total = max(int(fb.views_target), 1)
            bar.n = int(fb.views_kept)
            bar.set_postfix(rejected=int(fb.messages_rejected), refresh=False)
            bar.refresh()

        wait = timeout_s + 60 if timeout_s > 0 else 3600
        return run_action(CaptureViews, names.CAPTURE_VIEWS_ACTION,
                          build_message(CaptureViews.Goal, num_views=num_views, timeout_s=timeout_s,
                                        until_scan_done=until_scan_done),
                          timeout_s=wait,
                          on_feedback=feedback)


def train_field(max_steps: int = 0, dataset_path: str = "", quiet: bool = False,
                timeout_s: float = 3600.0) -> Any:
    check_train_request(max_steps)
    from dff_grasp.action import TrainField

    with _bar(max(max_steps, 1), "train field", quiet) as bar:
        def feedback(fb: Any) -> None:
            bar.total = max(int(fb.total_steps), 1)
            bar.n = int(fb.step)
            bar.set_description(f"train field [{fb.phase}]", refresh=False)
            if fb.phase == "teacher_features":  # views, not steps: no loss or estimate yet
                bar.set_postfix_str("", refresh=False)
            else:
                bar.set_postfix(loss=f"{fb.loss:.4f}", eta=f"{fb.eta_s:.0f}s", refresh=False)
            bar.refresh()

        return run_action(TrainField, names.TRAIN_FIELD_ACTION,
                          TrainField.Goal(dataset_path=local_path_absolute(dataset_path), max_steps=max_steps),
                          timeout_s=timeout_s,
                          on_feedback=feedback)


def calibrate_hand_eye(num_views: int = 0, timeout_s: float = 0.0, output_path: str = "", quiet: bool = False) -> Any:
    """Run ``/calibrate_hand_eye`` (the hand_eye node collects board views while the arm is moved)."""
    check_calibration_request(num_views, timeout_s)
    from dff_grasp.action import CalibrateHandEye

    with _bar(max(num_views, 1), "calibration views", quiet) as bar:
        def feedback(fb: Any) -> None:
            bar.total = max(int(fb.views_target), 1)
            bar.n = int(fb.views_collected)
            bar.set_postfix_str(f"rejected {fb.views_rejected}: {fb.last_rejection[:60]}", refresh=False)
            bar.refresh()

        wait = timeout_s + 120 if timeout_s > 0 else 3600
        return run_action(CalibrateHandEye, names.CALIBRATE_HAND_EYE_ACTION,
                          build_message(CalibrateHandEye.Goal, num_views=num_views, timeout_s=timeout_s,
                                        output_path=absolute_output_path(output_path)),
                          timeout_s=wait, on_feedback=feedback)


def local_path_absolute(path: str) -> str:
    """A path that exists here, made absolute (the node resolves a relative one under its own folder); anything
    else as given, e.g. a dataset's name for the trainer to find under its datasets_dir."""
    return str(expand_home(path).absolute()) if path and expand_home(path).exists() else path


def absolute_output_path(output_path: str | os.PathLike) -> str:
    """An output path for a node, absolute: the node resolves a relative one against its own folders, not this
    process's working directory ('' stays '': the node's default)."""
    return str(expand_home(output_path).absolute()) if str(output_path) else ""


def scan_poses(center_m: tuple[float, float, float] | None = None, radius_m: float = 0.0,
               min_elevation_deg: float = 0.0, max_elevation_deg: float = 0.0, count: int = 0) -> Any:
    """Call ``/scan_poses``; zero values take the hand_eye node's parameters."""
    check_scan_request(center_m, radius_m, min_elevation_deg, max_elevation_deg, count)
    from geometry_msgs.msg import Point

    from dff_grasp.srv import ScanPoses

    request = build_message(ScanPoses.Request, radius_m=radius_m, min_elevation_deg=min_elevation_deg,
                            max_elevation_deg=max_elevation_deg, count=count)
    if center_m is not None:
        request.center = Point(x=float(center_m[0]), y=float(center_m[1]), z=float(center_m[2]))
    return call_service(ScanPoses, names.SCAN_POSES_SERVICE, request, resend_after_s=SCAN_POSES_ANSWER_S)


def pose_array_to_json(poses: Any) -> list[dict[str, Any]]:
    return [{"position_m": _rounded(p.position.x, p.position.y, p.position.z),
             "quaternion_xyzw": _rounded(p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w, digits=7)}
            for p in poses.poses]


FLOAT32_MAX = 3.4028234663852886e38


def check_query_request(prompt: str, relevancy_threshold: float) -> None:
    """Refuse what the service cannot be trusted to receive as sent; everything else is the service's to judge.

    rclpy cuts a string at its first NUL when it converts it for the middleware (measured: ``"mug\\x00handle"``
    arrives as ``"mug"``, a valid prompt the server would answer), so only the client can notice. A threshold
    beyond float32's range cannot be converted at all. Other bad prompts and thresholds (control characters,
    too long, not in [0, 1)) reach the service, which answers ``success=false`` with the reason.
    """
    if isinstance(prompt, str) and "\x00" in prompt:
        raise InputError(f"prompt contains a NUL character at position {prompt.index(chr(0))}; ROS would cut "
                         f"the prompt there and ask for {prompt.split(chr(0))[0]!r} instead")
    threshold = relevancy_threshold
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or abs(threshold) > FLOAT32_MAX:
        raise InputError(f"relevancy threshold must be a number in [0, 1) (0 = the node's default), got "
                         f"{threshold!r}")


def query_object(prompt: str, relevancy_threshold: float = 0.0, timeout_s: float = 120.0) -> Any:
    check_query_request(prompt, relevancy_threshold)
    from dff_grasp.srv import QueryObject

    return call_service(QueryObject, names.QUERY_OBJECT_SERVICE,
                        build_message(QueryObject.Request, prompt=prompt, relevancy_threshold=relevancy_threshold),
                        timeout_s=timeout_s, resend_after_s=QUERY_ANSWER_S)


def update_scene(timeout_s: float = 0.0) -> Any:
    """Ask ``/dff/update_scene`` to carve the served scene with the next camera view (0 = the node's timeout)."""
    check_update_request(timeout_s)
    from dff_grasp.srv import UpdateScene

    # The node waits up to its own timeout (at most MAX_UPDATE_TIMEOUT_S) for a view, then carves: an answer
    # missing after both was lost. Sent again only then (a second request while the first waits for its view is
    # refused as a concurrent update); carving the same world again with a fresh view removes nothing more.
    answer_s = (timeout_s or MAX_UPDATE_TIMEOUT_S) + UPDATE_CARVE_S
    return call_service(UpdateScene, names.UPDATE_SCENE_SERVICE,
                        build_message(UpdateScene.Request, timeout_s=timeout_s), timeout_s=answer_s + 30.0,
                        resend_after_s=answer_s)


def update_to_json(response: Any) -> dict[str, Any]:
    """An UpdateScene response as ``dff-grasp update-scene --json`` prints it."""
    return {"success": bool(response.success), "message": response.message,
            "points_removed": int(response.points_removed), "points_added": int(response.points_added),
            "points_total": int(response.points_total), "latency_s": round(float(response.latency_s), 6)}


def _rounded(*values: Any, digits: int = 6) -> list[float]:
    """Plain Python floats to ``digits`` decimals: a message field may hold numpy scalars (offline answers), whose repr
    is ``np.float64(...)`` in the text output (round() keeps the numpy type)."""
    return [round(float(value), digits) for value in values]


def _pose_json(pose: Any, width_m: float, score: float, frame_id: str, pre_grasp: Any | None,
               opening_m: float | None = None) -> dict[str, Any]:
    p, q = pose.position, pose.orientation
    out: dict[str, Any] = {"position_m": _rounded(p.x, p.y, p.z), "quaternion_xyzw": _rounded(q.x, q.y, q.z, q.w),
                           "width_m": _rounded(width_m)[0], "score": _rounded(score)[0]}
    if opening_m is not None:
        out["opening_m"] = _rounded(opening_m)[0]
    if pre_grasp is not None:
        pp = pre_grasp.position
        out["pre_grasp_position_m"] = _rounded(pp.x, pp.y, pp.z)
    out["frame_id"] = frame_id
    return out


def response_to_json(response: Any) -> dict[str, Any]:
    """A QueryObject response in the same ``--json`` form as ``dff-grasp ask`` prints (README "Interfaces")."""
    frame = response.grasp_pose.header.frame_id or response.candidates.header.frame_id
    grasp = None
    if response.success:
        grasp = _pose_json(response.grasp_pose.pose, response.grasp_width_m, response.score, frame,
                           response.pre_grasp_pose.pose, response.grasp_opening_m)
        grasp["end_effector"] = response.end_effector  # the candidates are for the same tool
    candidates = [_pose_json(pose, width, score, frame, None) for pose, width, score in
                  zip(response.candidates.poses, response.candidate_widths_m, response.candidate_scores)]
    out = {"success": bool(response.success), "message": response.message, "grasp": grasp,
           "candidates": candidates, "relevancy_points": int(response.relevancy_cloud.width),
           "latency_s": round(float(response.latency_s), 6)}
    if response.push_suggested:
        start = response.push_start_pose.pose
        q = start.orientation
        out["push"] = {"pre_push_position_m": _rounded(*_xyz(response.pre_push_pose.pose.position)),
                       "start_position_m": _rounded(*_xyz(start.position)),
                       "end_position_m": _rounded(*_xyz(response.push_end_pose.pose.position)),
                       "quaternion_xyzw": _rounded(q.x, q.y, q.z, q.w),
                       "distance_m": _rounded(response.push_distance_m)[0],
                       "frame_id": response.push_start_pose.header.frame_id}
    return out


def _xyz(point: Any) -> tuple[float, float, float]:
    return point.x, point.y, point.z


def push_plan(response: Any) -> Any:
    """The push a QueryObject response offers, as a :class:`~dff_grasp_ros.grasp.push.PushPlan` (None: none)."""
    from dff_grasp_ros.grasp.push import PushPlan
    from dff_grasp_ros.ros_io.pose import pose_to_matrix

    if not response.push_suggested:
        return None
    start = pose_to_matrix(response.push_start_pose.pose)
    return PushPlan(start[:3, :3], pose_to_matrix(response.pre_push_pose.pose)[:3, 3], start[:3, 3],
                    pose_to_matrix(response.push_end_pose.pose)[:3, 3], float(response.push_distance_m),
                    "what the message names")


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o))
