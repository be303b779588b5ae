"""What every dff_grasp node shares: typed parameters, QoS profiles and a clean spin/shutdown."""
from __future__ import annotations

import contextlib
import re
import sys
import threading
import time
import warnings
from typing import Any, Callable, TypeVar

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from dff_grasp_ros.errors import one_line
from dff_grasp_ros.nodes.param_file import check_overrides, check_params_file, param_overrides_in, params_files_in
from dff_grasp_ros.nodes.params import NODE_PARAM_TYPES, ParamSpec, specs_of, typed_value
from dff_grasp_ros.nodes.start import ros_started

P = TypeVar("P")


class ParameterError(ValueError):
    """A node parameter has the wrong type or is out of range; the message names it."""


def declare_parameters(node: Any, params_type: type[P]) -> P:
    """Declare the node's parameters (with descriptions), check them and return them as a ``params_type``.

    ``*_dir`` values get ``~`` and ``$DFF_GRASP_HOME`` expanded, so tests and users can relocate all data.
    Raises ParameterError naming the first parameter whose type or range is wrong. Run-time changes (``ros2 param
    set``) are refused from then on, with the reason (:func:`refuse_run_time_changes`).
    """
    values = {}
    specs = specs_of(params_type)
    for spec in specs:
        try:
            # dynamic_typing: a value of the wrong type reaches spec.check (at start and in
            # refuse_run_time_changes), whose message names the parameter; rclpy's own refusal does not.
            node.declare_parameter(spec.name, spec.default, ParameterDescriptor(
                description=spec.description, additional_constraints=constraints_of(spec), dynamic_typing=True))
        except Exception as err:  # rclpy refusing an override (before dynamic_typing: one of the wrong type)
            raise ParameterError(f"parameter {node.get_name()}.{spec.name} has the wrong type, it must be "
                                 f"{type(spec.default).__name__}: {one_line(err)}") from None
        value = node.get_parameter(spec.name).value
        problem = spec.check(value)
        if problem:
            raise ParameterError(f"parameter {node.get_name()}.{spec.name} {problem}")
        values[spec.name] = typed_value(spec, value)
    node.add_on_set_parameters_callback(lambda changes: refuse_run_time_changes(node.get_name(), specs, changes))
    return params_type(**values)


def check_default_views(node_name: str, default_views: int, min_views: int) -> None:
    """ParameterError when a goal for the default number of views could never succeed: it would collect them all,
    then discard them (capture: too few to write; hand_eye: too few to solve)."""
    if default_views < min_views:
        raise ParameterError(f"parameters {node_name}.default_views {default_views} must be >= "
                             f"{node_name}.min_views {min_views}")


def constraints_of(spec: ParamSpec) -> str:
    """What ``ros2 param describe`` shows besides the description: the allowed values, and when they are read."""
    each = "each item " if isinstance(spec.default, list) else ""
    allowed = [f"{each}one of {', '.join(map(str, spec.choices))}"] if spec.choices is not None else []
    allowed += [f">= {spec.minimum}"] if spec.minimum is not None else []
    allowed += [f"<= {spec.maximum}"] if spec.maximum is not None else []
    return "; ".join([*allowed, "read when the node starts"])


USE_SIM_TIME = "use_sim_time"


def refuse_run_time_changes(node_name: str, specs: tuple[ParamSpec, ...], changes: list[Any]) -> Any:
    """The on-set-parameters callback: the nodes read their parameters once, at start, so ``ros2 param set``
    (accepted and silently ignored before) is refused with one line naming the parameter: why the value is
    wrong if it is, and that the node must be restarted with it. rclpy's ``use_sim_time`` too: switched at run
    time, the sim camera stopped publishing (it then waits for a /clock nobody sends) and the query node's clock
    read 0, so a scene update took views older than its request. Other parameters pass."""
    from rcl_interfaces.msg import SetParametersResult

    by_name = {spec.name: spec for spec in specs}
    for change in changes:
        spec = by_name.get(change.name)
        if spec is None and change.name != USE_SIM_TIME:
            continue
        problem = spec.check(change.value) if spec is not None else None
        what = f"{problem}; besides, it" if problem else "is read when the node starts: it"
        return SetParametersResult(successful=False, reason=(
            f"parameter {node_name}.{change.name} {what} cannot change while the node runs; restart the node "
            f"with the new value (parameter file, or -p {change.name}:=...)"))
    return SetParametersResult(successful=True)


def latched_qos(depth: int = 1) -> QoSProfile:
    """Reliable + transient_local: late subscribers (RViz, a restarted query node) get the last message."""
    return QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


SERVICE_QUEUE_DEPTH = 100


def service_qos(depth: int = SERVICE_QUEUE_DEPTH) -> QoSProfile:
    """Requests waiting for a callback thread: rclpy's default keeps 10, so a burst of 12 queries lost its oldest
    two without a word and their callers (a client that does not ask again, as ``ros2 service call``) waited
    forever (measured). Reliable and volatile like the default; only the queue is deeper."""
    return QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


# rclpy's words (a RuntimeWarning from Service.send_response) when rmw_fastrtps drops a response: the server has
# not matched the client's response reader within the 100 ms it waits (rmw_response.cpp, "client will not receive
# response"). Under load a new client's reader can be matched after its request was answered; CI once got 13 of 24
# answers to a burst of fresh clients (the likely cause), whose callers (``ros2 service call``, a MoveIt task) would
# wait forever.
SEND_TIMEOUT_WARNING = "failed to send response (timeout)"
RESPONSE_RESEND_S = 10.0  # how long an answer is offered again to a client not matched yet
RESPONSE_RESEND_EVERY_S = 0.1  # between offers; each offer itself waits 100 ms for the match


class _SendTimeouts(threading.local):
    """The dropped responses seen by this thread: rclpy tells of one only by a warning, raised in the executor
    thread that sent it."""

    count = 0


_send_timeouts = _SendTimeouts()
_shown_before: list[Callable[..., None]] = []


def _note_send_timeout(message: Any, category: type, filename: str, lineno: int, file: Any = None,
                       line: str | None = None) -> None:
    """``warnings.showwarning`` of a node: counts rclpy's dropped-response warning (the resend logs its own line);
    shows every other warning as before."""
    if issubclass(category, RuntimeWarning) and str(message).startswith(SEND_TIMEOUT_WARNING):
        _send_timeouts.count += 1
        return
    _shown_before[0](message, category, filename, lineno, file, line)


def _watch_send_timeouts() -> None:
    """Route rclpy's dropped-response warnings to :func:`_note_send_timeout`, every time (not once per place)."""
    if warnings.showwarning is not _note_send_timeout:
        _shown_before[:] = [warnings.showwarning]
        warnings.showwarning = _note_send_timeout
    warnings.filterwarnings("always", re.escape(SEND_TIMEOUT_WARNING), RuntimeWarning)


def resend_until_delivered(service: Any, logger: Any, resend_for_s: float = RESPONSE_RESEND_S) -> None:
    """Make ``service`` offer a dropped answer again (every 0.1 s, up to ``resend_for_s``) until the client's
    response reader is matched, instead of dropping it as rclpy does. A client that never matches (gone, or an
    incompatible QoS) costs one executor thread ``resend_for_s`` and one warning line naming the service."""
    _watch_send_timeouts()
    send_once = service.send_response

    def send_response(response: Any, header: Any) -> None:
        give_up = time.monotonic() + resend_for_s
        offers = 1
        while True:
            dropped_before = _send_timeouts.count
            send_once(response, header)
            if _send_timeouts.count == dropped_before:
                if offers > 1:
                    logger.debug(f"{service.srv_name}: answer delivered at offer {offers}")
                return
            if time.monotonic() >= give_up:
                logger.warning(f"{service.srv_name}: a client never became reachable in {resend_for_s:g} s (its "
                               f"response reader was not matched: gone, or its QoS does not match the service's); "
                               f"its answer was dropped")
                return
            time.sleep(RESPONSE_RESEND_EVERY_S)
            offers += 1

    service.send_response = send_response


def create_answering_service(node: Any, srv_type: type, name: str, callback: Callable[[Any, Any], Any],
                             callback_group: Any) -> Any:
    """``node.create_service`` with the deep request queue of :func:`service_qos` whose answers reach clients
    the server matches late (:func:`resend_until_delivered`)."""
    service = node.create_service(srv_type, name, callback, qos_profile=service_qos(), callback_group=callback_group)
    resend_until_delivered(service, node.get_logger())
    return service


def sensor_qos(depth: int = 5) -> QoSProfile:
    """Camera streams: best effort like most drivers publish, so a slow consumer never stalls the camera."""
    return QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.VOLATILE)


DISCOVERY_WAIT_S = 5.0


def camera_stream_qos(node: Any, topics: list[str], depth: int, discovery_wait_s: float = DISCOVERY_WAIT_S
                      ) -> QoSProfile:
    """Reliable when every publisher of ``topics`` offers it, else best effort (what most camera drivers
    publish). A best-effort reader loses large frames whenever the transport is busy: 640x480 sim images arrived
    at a third of the rate of their CameraInfo (measured), so a reliable source is read reliably. A node asked
    right after it started may not have discovered the camera yet: it waits up to ``discovery_wait_s`` for one
    (a capture started 1 s after the sim camera read best effort and kept 10 of 48 views, measured)."""
    deadline = time.monotonic() + discovery_wait_s
    publishers = [info for topic in topics for info in node.get_publishers_info_by_topic(topic)]
    while not publishers and time.monotonic() < deadline:
        time.sleep(0.1)
        publishers = [info for topic in topics for info in node.get_publishers_info_by_topic(topic)]
    if publishers and all(info.qos_profile.reliability == ReliabilityPolicy.RELIABLE for info in publishers):
        return QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                          durability=DurabilityPolicy.VOLATILE)
    return sensor_qos(depth=depth)


def publisher_qos(node: Any, topic: str, depth: int) -> QoSProfile:
    """The QoS to read ``topic`` with, from its own publishers, without waiting (asked once the camera's were
    discovered): a stream read with the camera's QoS never matched a best-effort publisher of its own (a
    reliable reader does not), and nothing arrived, without a warning."""
    return camera_stream_qos(node, [topic], depth, discovery_wait_s=0.0)


class CameraWatch:
    """Whether a camera publishes ``topic`` yet, for a goal that subscribes to the camera only once it does: the
    stream's QoS follows the publishers (:func:`camera_stream_qos`), and a reader that settled for best effort
    before the camera started lost most 640x480 frames (a calibration stalled short of its views in 1 of 3 DDS
    test runs, measured). The wait is logged once per goal."""

    def __init__(self, node: Any, topic: str) -> None:
        self.node, self.topic, self.logged = node, topic, False

    def publishing(self) -> bool:
        if self.node.get_publishers_info_by_topic(self.topic):
            return True
        if not self.logged:
            self.node.get_logger().info(f"waiting for a camera to publish {self.topic}")
            self.logged = True
        return False


def how_read(qos: QoSProfile) -> str:
    """How a stream is read, for the log line a node writes when it subscribes to a camera."""
    return "reliably" if qos.reliability == ReliabilityPolicy.RELIABLE else "best effort"


def request_subscription(node: Any, msg_type: type, topic: str, callback: Callable[[Any], None],
                         qos: QoSProfile | int, callback_group: Any) -> Any:
    """A subscription that lives for one request (a capture goal, a calibration, a scene update): made and
    destroyed by a callback thread while the node's executor spins in another.

    It has no QoS event handlers (the "incompatible QoS" warnings): rclpy (Kilted) guards a subscription destroyed
    while the executor builds its wait set, but not its event handlers, and the executor thread dies with
    ``InvalidHandle: cannot use Destroyable because destruction was requested`` (the query node did, after
    /dff/update_scene, in the DDS tests). The camera streams take their QoS from the publishers
    (:func:`camera_stream_qos`), so those warnings would have nothing to say.
    """
    from rclpy.event_handler import SubscriptionEventCallbacks

    return node.create_subscription(msg_type, topic, callback, qos, callback_group=callback_group,
                                    event_callbacks=SubscriptionEventCallbacks(use_default_callbacks=False))


def silent_streams(p: Any, received: dict[str, int], pose_from_tf: bool) -> str:
    """The camera streams (capture's and NextView's names) that sent nothing, as the parameters of ``p`` that
    name them, for a failure that would otherwise only count what arrived ('' when every stream sent)."""
    sources = {"image": f"image_topic {p.image_topic}", "depth": f"depth_topic {p.depth_topic}",
               "camera_info": f"camera_info_topic {p.camera_info_topic}",
               "pose": f"TF {p.base_frame} <- {p.camera_frame}" if pose_from_tf else
               f"camera_pose_topic {p.camera_pose_topic}"}
    return ", ".join(sources[stream] for stream, count in received.items() if not count and stream in sources)


def camera_pose_from_tf(buffer: Any, base_frame: str, image: Any, camera_frame: str) -> Any:
    """The camera pose at ``image``'s stamp from a tf2 buffer, as a PoseStamped in ``base_frame`` (raises when
    TF has no such transform). ``camera_frame`` when the image names no frame."""
    from rclpy.time import Time

    from dff_grasp_ros.ros_io.pose import matrix_to_pose_stamped, transform_to_matrix
    from dff_grasp_ros.ros_io.stamp import header_stamp_ns

    frame = image.header.frame_id or camera_frame
    tf = buffer.lookup_transform(base_frame, frame, Time.from_msg(image.header.stamp))
    return matrix_to_pose_stamped(transform_to_matrix(tf.transform), base_frame, header_stamp_ns(image))


def tf_buffer(node: Any, pose_source: str) -> tuple[Any, Any]:
    """(tf2_ros Buffer, TransformListener) for a node whose ``pose_source`` parameter is "auto" or "tf", on a real
    ROS install; (None, None) for "topic" or where tf2_ros is not importable, which "tf" refuses."""
    if pose_source not in ("auto", "tf"):
        return None, None
    try:
        from tf2_ros import Buffer, TransformListener
    except ImportError:
        if pose_source == "tf":
            raise RuntimeError(f"parameter {node.NODE_NAME}.pose_source is 'tf' but tf2_ros is not importable; use "
                               f"'topic'") from None
        return None, None
    buffer = Buffer()
    return buffer, TransformListener(buffer, node)


class ExecutorErrors:
    """How many executor errors a node rides out: any one (rclpy re-raises a callback's uncaught exception from
    ``spin``, and its own races end there too), but not a storm of them (an error that recurs at once would
    otherwise fill the log forever)."""

    MAX_ERRORS = 5
    WINDOW_S = 60.0

    def __init__(self) -> None:
        self.times: list[float] = []

    def tolerate(self, now_s: float | None = None) -> bool:
        now_s = time.monotonic() if now_s is None else now_s
        self.times = [t for t in self.times if now_s - t < self.WINDOW_S] + [now_s]
        return len(self.times) <= self.MAX_ERRORS

    def limit_message(self) -> str:
        return f"more than {self.MAX_ERRORS} executor errors within {self.WINDOW_S:.0f} s"


def shutting_down(node: Any) -> bool:
    """Ctrl-C / SIGTERM has shut the node's context down: a goal or thread still at work can tell nobody (its
    feedback, its result and the log's rosout publisher are gone; each use raises, or writes "Failed to publish log
    message to rosout") and ends without a word (:func:`end_goal_quietly`)."""
    return not node.context.ok()


def end_goal_quietly(goal_handle: Any) -> None:
    """Abort the goal of a node that is shutting down; rclpy's refusal (its action server's publishers are invalid,
    a traceback from the executor thread before) is the shutdown's, and nobody is left to hear of it."""
    with contextlib.suppress(Exception):
        goal_handle.abort()


SPIN_WAKE_S = 1.0  # the longest the executor waits before it looks whether its context was shut down


def spin_until_shutdown(executor: Any) -> None:
    """``executor.spin()``, but waking every ``SPIN_WAKE_S`` to look at the context: a node started alone ignored
    SIGTERM in 2 of ~12 tries, its main thread waiting in ``rcl_wait`` after rclpy's signal handler had shut the
    context down (the wake-up was lost); ``spin()`` waits without a timeout and never looked again."""
    while executor.context.ok():
        executor.spin_once(timeout_sec=SPIN_WAKE_S)


def spin_node(make_node: Callable[[], Any], args: list[str] | None = None, threads: int = 4) -> int:
    """Create the node, spin it on a multi-threaded executor, shut down cleanly on Ctrl-C / SIGTERM.

    A node that cannot start (a malformed parameter file, a parameter of the wrong type or out of range, a
    parameter name it does not declare in a file or a ``-p`` override, a missing scene, an unknown teacher) exits
    with status 2 and one line on stderr, ``[node] cannot start: ...``, that names the parameter and the file;
    never a traceback. The parameter files and ``-p`` names are checked before rclpy reads them (rcl's own refusal
    is a traceback from deep inside ``rclpy.init``; rclpy ignores an unknown name without a word).

    A signal at any time ends the node with status 0 and nothing said: before rclpy starts through
    :mod:`~dff_grasp_ros.nodes.start`, while the node is being built (what then fails on the shut-down context is
    the signal's doing, not a reason to report) or while it spins.

    An error that escapes a callback (rclpy re-raises it from ``spin``) is logged and the node spins on; more
    than :attr:`ExecutorErrors.MAX_ERRORS` within a minute stop it with status 1 and one line.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
    from rclpy.logging import LoggingSeverity

    name = getattr(make_node, "NODE_NAME", "node")
    argv = list(sys.argv if args is None else args)
    files = params_files_in(argv)

    def cannot_start(err: BaseException) -> int:
        line = one_line(err)
        if files and "parameter" in line and not line.startswith("-p ") and not any(str(f) in line for f in files):
            line += f" (parameter files: {', '.join(map(str, files))}, or a -p override)"
        print(f"[{name}] cannot start: {line}", file=sys.stderr, flush=True)
        return 2

    try:
        params_type = NODE_PARAM_TYPES.get(name)
        for params_file in files:
            check_params_file(params_file, {name: params_type} if params_type else {})
        if params_type:
            check_overrides(name, param_overrides_in(argv, name), params_type)
        rclpy.init(args=args)
    except Exception as err:
        return cannot_start(err)

    def quiet_logs() -> None:
        """After a signal, rclpy's warnings ("Failed to send result response (the client may have gone away)"
        for a goal the node ended) and the node's own info lines reach no one, and each was followed by rcl's
        "Failed to publish log message to rosout"; errors still show."""
        rclpy.logging.get_logger(name).set_level(LoggingSeverity.ERROR)

    ros_started(on_signal=quiet_logs)
    # rclpy warns when a node made on a context a signal has just shut down cannot be finished: that node is the
    # shutdown's, and the warning two lines of noise.
    warnings.filterwarnings("ignore", "Failed to fini rosout publisher", RuntimeWarning)
    node = None
    try:
        try:
            # Made before the node: made after a signal had shut the context down, half of it was left to a
            # __del__ that printed a traceback.
            executor = MultiThreadedExecutor(num_threads=threads)
            node = make_node()
            executor.add_node(node)
        except Exception as err:
            if not rclpy.ok():  # a signal came while the node was being built: its failure is the shutdown
                return 0
            return cannot_start(err)
        errors = ExecutorErrors()
        while True:
            try:
                spin_until_shutdown(executor)
                break
            except ExternalShutdownException:
                raise
            except Exception as err:  # a callback's uncaught error, or rclpy's own: the node keeps serving
                if not executor.context.ok():
                    # A signal between the loop's look at the context and spin_once's wait set: rclpy's "context
                    # is not valid" is the shutdown's doing (CI once logged it as an error after Ctrl-C).
                    break
                if not errors.tolerate():
                    print(f"[{name}] stopped: {errors.limit_message()}; last: {one_line(err)}", file=sys.stderr,
                          flush=True)
                    return 1
                node.get_logger().error(f"executor error, spinning on: {one_line(err)}")
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            if not rclpy.ok():  # a signal (also where no handler of nodes/start.py called quiet_logs)
                node.get_logger().set_level(LoggingSeverity.ERROR)
            close = getattr(node, "close", None)
            if callable(close):
                close()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


class Throttle:
    """Allows one event per ``period_s`` (for throttled warnings that must not flood the log)."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._last = -float("inf")

    def ready(self) -> bool:
        now = time.monotonic()
        if now - self._last >= self.period_s:
            self._last = now
            return True
        return False
