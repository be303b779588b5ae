"""The JSON and YAML readers never wait or fill the memory for ever: a FIFO nobody writes to, a huge file."""
from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import pytest

from dff_grasp_ros import errors
from dff_grasp_ros.errors import InputError, read_json_file, read_yaml_file


def test_a_fifo_nobody_writes_to_is_refused_after_the_wait(tmp_path: Path, monkeypatch):
    """`sim execute --answer fifo` blocked until killed (bad-input hunt); a FIFO this test opens for writing
    after 20 s makes the old code fail instead of hanging the suite."""
    monkeypatch.setattr(errors, "PIPE_WAIT_S", 1.0)
    fifo = tmp_path / "answer.json"
    os.mkfifo(fifo)

    def release() -> None:  # only if the reader blocks in open(): then give it EOF
        time.sleep(20.0)
        with contextlib.suppress(OSError):  # ENXIO when nobody waits to read: nothing to do
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    threading.Thread(target=release, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(InputError, match=f"{fifo}.*nothing was written to it within 1 s"):
        read_json_file(fifo, "answer")
    assert time.monotonic() - started < 10.0


def test_a_pipe_that_is_written_is_read(tmp_path: Path):
    """Process substitution (`--answer <(...)`) and /dev/stdin stay readable."""
    fifo = tmp_path / "scene.yaml"
    os.mkfifo(fifo)

    def write() -> None:
        time.sleep(0.5)  # the reader is waiting already
        with open(fifo, "w") as out:
            out.write("name: piped\n")

    threading.Thread(target=write, daemon=True).start()
    assert read_yaml_file(fifo, "scene") == {"name": "piped"}


def test_a_file_beyond_the_size_limit_is_refused_without_reading_it(tmp_path: Path, monkeypatch):
    """A 1 GB sparse answer took 2.1 GB of memory before it was refused (bad-input hunt)."""
    monkeypatch.setattr(errors, "MAX_TEXT_FILE_BYTES", 1000)
    big = tmp_path / "big.json"
    with open(big, "wb") as out:
        out.truncate(10**9)  # sparse: no disk used
    with pytest.raises(InputError, match=f"{big} is 1000000000 bytes, more than the 1000 a JSON file may have"):
        read_json_file(big)
    small = tmp_path / "small.json"
    small.write_text("[" + "0," * 400 + "0]")
    assert len(read_json_file(small)) == 401
