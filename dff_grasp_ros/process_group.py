"""Start several child processes and stop all of them, whatever happens (bringup CLI and tests share this).

Stopping follows what was measured with rclpy here: SIGINT first (a ROS node shuts down cleanly), then SIGTERM,
then SIGKILL, each with a timeout, because a signal can be lost while rclpy waits. Children run in their own
process group so that grandchildren (e.g. data-loader workers) are stopped with them.
"""
from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Callable, Mapping, Sequence

TAIL_LINES = 50  # output lines kept per child for explaining its death


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child Python of this venv: drop a foreign ROS-wheel bootstrap guard (docs/maintainers.md)."""
    env = dict(os.environ)
    if env.get("_ROS_WHEELS_BOOTSTRAP_COMPLETE") and not _same_prefix(env):
        env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
        env.pop("LD_LIBRARY_PATH", None)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra or {})
    return env


def _same_prefix(env: dict[str, str]) -> bool:
    return str(Path(sys.prefix) / "lib") in env.get("LD_LIBRARY_PATH", "")


MAX_ROS_DOMAIN_ID = 232  # DDS derives UDP ports from the id: above 232 they pass 65535 (ROS 2 docs, "domain ID")


def check_ros_domain_id(environ: Mapping[str, str]) -> None:
    """InputError naming ``ROS_DOMAIN_ID`` unless it is unset, empty or a whole number in [0, 232]: 300 printed
    only Fast DDS's "Calculated port number is too high" (on stdout, breaking --json) and exited 1, "abc" an
    RCLError called unexpected, and bringup's nodes died one after another (bad-input hunt)."""
    from dff_grasp_ros.errors import InputError

    value = environ.get("ROS_DOMAIN_ID", "").strip()
    if value and not (value.isdigit() and int(value) <= MAX_ROS_DOMAIN_ID):
        raise InputError(f"ROS_DOMAIN_ID={value!r:.40} must be a whole number in [0, {MAX_ROS_DOMAIN_ID}] (or unset)")


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _end_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send the child SIGTERM when this process dies: the children run in their
    own sessions (so that a stop reaches their workers), and after ``kill -9`` of the demo its nodes ran on for
    good, the trainer training and the camera publishing. SIGTERM, not SIGKILL: a node shuts down cleanly on it.
    The signal comes when the thread that started the child ends, so children are started from the main thread.
    None where there is no such signal."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: loading a library after fork may deadlock

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before the request was made
            os.kill(os.getpid(), signal.SIGTERM)

    return in_child


class ProcessGroup:
    """A set of named child processes, stopped together on :meth:`stop` or on leaving a ``with`` block."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: list[IO] = []  # log files handed to start(); closed with the children
        self._tails: dict[str, collections.deque[str]] = {}  # last output lines of children started keep_tail
        self._log_paths: dict[str, Path] = {}
        self._forwarders: list[threading.Thread] = []

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, name: str, cmd: Sequence[str], *, env: dict[str, str] | None = None,
              stdout: IO | int | None = None, cwd: str | Path | None = None,
              keep_tail: bool = False) -> subprocess.Popen:
        """Start ``cmd`` as child ``name``. With ``keep_tail`` its last output lines stay readable through
        :meth:`last_line` (from its log file, or, for a child writing to this terminal, through a pipe whose
        lines are forwarded to our stderr as they come)."""
        pipe = keep_tail and stdout is None
        proc = subprocess.Popen(list(cmd), env=child_env(env), stdout=subprocess.PIPE if pipe else stdout,
                                stderr=subprocess.STDOUT if stdout is not None or pipe else None, cwd=cwd,
                                start_new_session=True, preexec_fn=_end_with_parent(os.getpid()))
        self.procs[name] = proc
        if hasattr(stdout, "close"):
            self._logs.append(stdout)  # type: ignore[arg-type]
        if keep_tail and hasattr(stdout, "name"):
            self._log_paths[name] = Path(stdout.name)  # type: ignore[union-attr]
        if pipe:
            tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
            self._tails[name] = tail
            forwarder = threading.Thread(target=_forward, args=(proc.stdout, tail), daemon=True,
                                         name=f"output-{name}")
            forwarder.start()
            self._forwarders.append(forwarder)
        return proc

    def last_line(self, name: str, prefer: str = "") -> str:
        """The child's last output line starting with ``prefer`` (e.g. its ``[node] cannot start: ...``), else its
        last non-empty line; '' when nothing was kept (see ``keep_tail``)."""
        proc = self.procs.get(name)
        if name in self._tails and proc is not None and proc.poll() is not None:
            for thread in self._forwarders:
                if thread.name == f"output-{name}":
                    thread.join(timeout=2.0)  # the pipe's last lines
        lines: list[str] = list(self._tails.get(name, ()))
        if name in self._log_paths:
            with contextlib.suppress(OSError):
                lines = self._log_paths[name].read_text(errors="replace").splitlines()[-TAIL_LINES:]
        lines = [line.strip() for line in lines if line.strip()]
        preferred = [line for line in lines if prefer and line.startswith(prefer)]
        return (preferred or lines or [""])[-1]

    def poll_failed(self) -> dict[str, int]:
        """Children that have exited, with their exit codes."""
        return {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}

    def stop(self, timeout_s: float = 10.0) -> dict[str, int]:
        """Stop every child (SIGINT, then SIGTERM, then SIGKILL); returns their exit codes."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            alive = [p for p in self.procs.values() if p.poll() is None]
            if not alive:
                break
            for proc in alive:
                _signal_group(proc, sig)
            deadline = time.monotonic() + (timeout_s if sig != signal.SIGKILL else 5.0)
            while time.monotonic() < deadline and any(p.poll() is None for p in alive):
                time.sleep(0.05)
        # Grandchildren left in a child's process group (e.g. workers) go too.
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)
        codes = {name: p.wait() for name, p in self.procs.items()}
        for log in self._logs:
            log.close()
        return codes


def _forward(pipe: IO[bytes], tail: collections.deque[str]) -> None:
    """Copy a child's output (ROS logs: stderr) to our stderr line by line, keeping the last lines."""
    with contextlib.suppress(OSError, ValueError):
        for raw in iter(pipe.readline, b""):
            line = raw.decode(errors="replace")
            tail.append(line.rstrip("\n"))
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.write(line)
                sys.stderr.flush()
    with contextlib.suppress(OSError):
        pipe.close()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
