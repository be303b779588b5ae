"""A reader that closes the pipe early (``dff-grasp scan-poses --json | head``) is not a crash."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_a_closed_stdout_is_one_line_not_a_traceback():
    """Found by a bad-input hunt: the failure path printed its JSON to the closed pipe again, and the interpreter's
    last flush added "Exception ignored ... BrokenPipeError"."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout now fails with EPIPE, as when `head` has exited
    try:
        done = subprocess.run([sys.executable, "-m", "dff_grasp_ros.cli", "scenes"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=120)
    finally:
        os.close(write_end)
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1, done.stderr
    assert "output closed" in lines[0] and "unexpected" not in lines[0], lines[0]
