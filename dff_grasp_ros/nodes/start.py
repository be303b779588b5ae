"""How a node process starts: quiet from its first line, before rclpy takes over its signals.

A node spends seconds importing rclpy, torch and the field code before :func:`~dff_grasp_ros.nodes.common.spin_node`
initialises rclpy, whose handler then shuts the context down on Ctrl-C / SIGTERM. Python's own handling of that
window wrote a KeyboardInterrupt traceback (Ctrl-C during an import) or ended the process by the signal (status
-15). From the process's first line a handler installed here ends it at once, with status 0 and nothing said (there
is nothing to clean up before rclpy starts); once ``spin_node`` has started rclpy it leaves the signal to rclpy's
own handler, which calls it after shutting the context down, and the node stops as from any other signal.

The console scripts (setup.cfg) enter through :func:`run`; ``python -m dff_grasp_ros.nodes.<node>`` (what
``dff-grasp bringup`` starts) gets the same handler from the package's ``__init__``. Importing this module needs
nothing but the standard library, so the handler is in place before anything slow is imported.
"""
from __future__ import annotations

import importlib
import os
import signal
from typing import Any, Callable

NODES = ("capture", "trainer", "query", "sim_camera", "hand_eye")
PACKAGE = "dff_grasp_ros.nodes"

_ros_started = False
_on_ros_signal: Callable[[], None] | None = None


def _on_signal(signum: int, frame: Any) -> None:
    if not _ros_started:
        os._exit(0)  # nothing is open yet (no DDS participant, no file): end now, quietly
    # rclpy's handler called this one after shutting the context down: spin_node stops the node
    if _on_ros_signal is not None:
        _on_ros_signal()


def quiet_while_starting() -> None:
    """End the process quietly (status 0) on Ctrl-C / SIGTERM until :func:`ros_started` is called."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)


def ros_started(on_signal: Callable[[], None] | None = None) -> None:
    """From now on rclpy's handler stops the node: it calls the handler above after shutting the context down,
    which then only calls ``on_signal`` (in the main thread; a second signal does not cut the node's cleanup
    short)."""
    global _ros_started, _on_ros_signal
    _ros_started, _on_ros_signal = True, on_signal


def node_module_in(argv: list[str]) -> str | None:
    """The node that ``python [options] -m dff_grasp_ros.nodes.<node> ...`` starts (``sys.orig_argv``), else None."""
    if "-m" not in argv[:-1]:
        return None
    prefix, _, node = argv[argv.index("-m") + 1].rpartition(".")
    return node if prefix == PACKAGE and node in NODES else None


def run(node: str) -> int:
    """Start ``node`` as its console script does, quiet while it imports."""
    quiet_while_starting()
    return importlib.import_module(f"{PACKAGE}.{node}").main()


def capture() -> int:
    return run("capture")


def trainer() -> int:
    return run("trainer")


def query() -> int:
    return run("query")


def sim_camera() -> int:
    return run("sim_camera")


def hand_eye() -> int:
    return run("hand_eye")
