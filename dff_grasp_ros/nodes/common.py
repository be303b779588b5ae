"""What every dff_grasp node shares: parameter declaration, QoS profiles and a clean spin/shutdown."""
from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from dff_grasp_ros.nodes.params import NODE_PARAMS


def declare_parameters(node: Any, node_key: str) -> SimpleNamespace:
    """Declare the node's parameters (with descriptions) and return their current values.

    ``*_dir`` values get ``~`` and ``$DFF_GRASP_HOME`` expanded, so tests and users can relocate all data.
    """
    from rcl_interfaces.msg import ParameterDescriptor

    values = {}
    for spec in NODE_PARAMS[node_key]:
        node.declare_parameter(spec.name, spec.default, ParameterDescriptor(description=spec.description))
        value = node.get_parameter(spec.name).value
        if spec.name.endswith("_dir"):
            value = str(expand_data_dir(value))
        values[spec.name] = value
    return SimpleNamespace(**values)


def expand_data_dir(value: str) -> Path:
    """``~/.dff_grasp/...`` is relocated under ``$DFF_GRASP_HOME`` when that is set (tests, demo)."""
    home = os.environ.get("DFF_GRASP_HOME")
    if home and value.startswith("~/.dff_grasp"):
        value = home + value[len("~/.dff_grasp"):]
    return Path(os.path.expandvars(os.path.expanduser(value)))


def latched_qos(depth: int = 1):
    """Reliable + transient_local: late subscribers (RViz, a restarted query node) get the last message."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def sensor_qos(depth: int = 5):
    """Camera streams: best effort like most drivers publish, so a slow consumer never stalls the camera."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.VOLATILE)


def spin_node(make_node: Callable[[], Any], args: list[str] | None = None, threads: int = 4) -> int:
    """Create the node, spin it on a multi-threaded executor, shut down cleanly on Ctrl-C / SIGTERM."""
    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        executor = MultiThreadedExecutor(num_threads=threads)
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
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
