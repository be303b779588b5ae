"""Children of a ProcessGroup (the nodes of `dff-grasp demo` and `bringup`) end when the process that started them
is killed outright: after `kill -9` of the demo its four nodes ran on for good, the trainer at 70-80 % CPU and
1.2 GB, the sim camera publishing (bad-input hunt)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PARENT = """
import sys, time
from dff_grasp_ros.process_group import ProcessGroup
group = ProcessGroup()
child = group.start("sleeper", [sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in state  # exited, waiting for whoever adopted it to reap it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_children_end_when_their_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, cwd=REPO)
    child_pid = int(parent.stdout.readline())
    try:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and not _gone(child_pid):
            time.sleep(0.1)
        assert _gone(child_pid), "the child outlived its killed parent"
    finally:
        if not _gone(child_pid):
            os.kill(child_pid, signal.SIGKILL)
