"""Start several child processes and stop all of them, whatever happens (bringup CLI and tests share this).

Stopping follows what was measured with rclpy here: SIGINT first (a ROS node shuts down cleanly), then SIGTERM,
then SIGKILL, each with a timeout, because a signal can be lost while rclpy waits. Children run in their own
process group so that grandchildren (e.g. data-loader workers) are stopped with them.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Sequence


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


class ProcessGroup:
    """A set of named child processes, stopped together on :meth:`stop` or on leaving a ``with`` block."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: list[IO] = []  # log files handed to start(); closed with the children

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, name: str, cmd: Sequence[str], *, env: dict[str, str] | None = None,
              stdout: IO | int | None = None, cwd: str | Path | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(list(cmd), env=child_env(env), stdout=stdout,
                                stderr=subprocess.STDOUT if stdout is not None else None, cwd=cwd,
                                start_new_session=True)
        self.procs[name] = proc
        if hasattr(stdout, "close"):
            self._logs.append(stdout)  # type: ignore[arg-type]
        return proc

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


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
