"""SIGTERM and Ctrl-C during render, fit and bag import: one line, exit 143 / 130, the staging folder removed, earlier
outputs intact; staging folders that dead processes left are removed when the next writer starts."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from bad_inputs import dead_pid, partials, run_cli, snapshot
from ros_helpers import logs, start_nodes
from rosbags.rosbag2 import StoragePlugin
from test_bad_inputs_bags import TOPIC_ARGS
from test_capture_bag import stream_with_a_bad_view, write_bag

import dff_grasp_ros.capture.bag as bag_module
import dff_grasp_ros.field.fit as fit_module
import dff_grasp_ros.synthetic.export as export
from dff_grasp_ros.atomic import PARTIAL_PREFIX
from dff_grasp_ros.process_group import ProcessGroup
from dff_grasp_ros.synthetic import render_dataset

SIGNAL_EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130}
SIGNAL_LINE = {signal.SIGTERM: "stopped by SIGTERM; nothing was published",
               signal.SIGINT: "interrupted; nothing was published"}


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    return render_dataset("tiny", tmp_path_factory.mktemp("signals"), name="tiny")


def _signal_self_on_call(target, name: str, call: int, sig: int, monkeypatch) -> None:
    """Make ``target.name`` send ``sig`` to this process on its ``call``-th call (as `kill` from a shell would)."""
    original = getattr(target, name)
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            os.kill(os.getpid(), sig)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapped)


def _interrupted(run, sig: int, found_sigint_handler: object = None) -> None:
    assert run.code == SIGNAL_EXIT[sig], (f"SIGINT handler found at the test's start: {found_sigint_handler!r}; "
                                          f"stderr: {run.err}")
    assert run.line.endswith(SIGNAL_LINE[sig]) and run.out == ""


@pytest.fixture
def python_sigint() -> Iterator[object]:
    """A dff-grasp process gets Ctrl-C as Python's KeyboardInterrupt. A test process may not: a library earlier
    tests imported or initialised can hold SIGINT (in one fresh-clone CI run the render below finished with exit 0
    after its SIGINT; not reproduced since). Python's handler is installed for the test; the one found is yielded
    for the failure message."""
    found = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield found
    finally:
        signal.signal(signal.SIGINT, found)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_render_removes_its_staging(capsys, tmp_path: Path, tiny_dataset: Path, monkeypatch, sig,
                                                    python_sigint):
    out = tmp_path / "datasets"
    shutil.copytree(tiny_dataset, out / "earlier")
    before = snapshot(out)
    _signal_self_on_call(export, "render_view", 4, sig, monkeypatch)
    _interrupted(run_cli(capsys, "sim", "render", "--scene", "tiny", "--out", out), sig, python_sigint)
    assert snapshot(out) == before and partials(out) == []


def test_sigterm_during_fit_removes_its_staging(capsys, tmp_path: Path, tiny_dataset: Path, monkeypatch):
    """fit makes its staging folder before training (so that a bad --out fails first); SIGTERM mid-training
    must remove it."""
    out = tmp_path / "fields"
    (out / "field_earlier").mkdir(parents=True)
    (out / "field_earlier" / "field.json").write_text("{}")
    before = snapshot(out)
    seen = []

    def train(*args, **kwargs):
        seen.extend(partials(out))
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        raise AssertionError("SIGTERM did not stop training")

    monkeypatch.setattr(fit_module, "_train_and_export", train)
    _interrupted(run_cli(capsys, "fit", "--dataset", tiny_dataset, "--out", out, "--teacher", "synthetic",
                         "--method", "dff-tiny", "--device", "cpu"), signal.SIGTERM)
    assert len(seen) == 1 and seen[0].startswith(f"{PARTIAL_PREFIX}field_tiny-p{os.getpid()}-")
    assert snapshot(out) == before and partials(out) == []


def test_sigterm_during_bag_import_removes_its_staging(capsys, tmp_path: Path, monkeypatch):
    write_bag(tmp_path / "bag", stream_with_a_bad_view(), StoragePlugin.MCAP)
    out = tmp_path / "datasets"

    class Session(bag_module.CaptureSession):
        def add(self, stream, msg):
            outcome = super().add(stream, msg)
            if self.kept == 2:  # two views written into the staging folder
                os.kill(os.getpid(), signal.SIGTERM)
            return outcome

    monkeypatch.setattr(bag_module, "CaptureSession", Session)
    _interrupted(run_cli(capsys, "capture", "--from-bag", tmp_path / "bag", "--out", out, *TOPIC_ARGS),
                 signal.SIGTERM)
    assert partials(out) == [] and (not out.exists() or list(out.iterdir()) == [])


def test_stale_staging_of_dead_processes_is_removed_at_start(capsys, tmp_path: Path):
    out = tmp_path / "datasets"
    dead = out / f"{PARTIAL_PREFIX}sim_tiny-p{dead_pid()}-abc123"
    (dead / "images").mkdir(parents=True)
    (dead / "images" / "frame_00000.png").write_bytes(b"half")
    dead_file = out / f"{PARTIAL_PREFIX}p{dead_pid()}-xyz"
    dead_file.write_bytes(b"half a scene cloud")
    alive = out / f"{PARTIAL_PREFIX}sim_tiny-p{os.getppid()}-def456"  # our parent: alive, still writing
    alive.mkdir()
    legacy = out / f"{PARTIAL_PREFIX}scan-q8r7"  # an older version's name, owner unknown: left alone
    legacy.mkdir()
    run = run_cli(capsys, "sim", "render", "--scene", "tiny", "--out", out)
    assert run.code == 0, run.err
    assert not dead.exists() and not dead_file.exists() and alive.is_dir() and legacy.is_dir()
    assert sorted(partials(out)) == sorted([alive.name, legacy.name])


@pytest.mark.slow
def test_sigterm_from_outside_during_render(tmp_path: Path):
    """The real thing: `kill <pid>` of a running `dff-grasp sim render`."""
    out = tmp_path / "datasets"
    proc = subprocess.Popen([sys.executable, "-m", "dff_grasp_ros.cli", "sim", "render", "--scene", "tabletop",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(f"{PARTIAL_PREFIX}*/images/*.png")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        assert partials(out), "the render never started writing"
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143 and stdout == "", stderr
    lines = [line for line in stderr.splitlines() if line.startswith("dff-grasp")]
    assert lines == ["dff-grasp sim: stopped by SIGTERM; nothing was published"] and "Traceback" not in stderr
    assert list(out.iterdir()) == []


@pytest.mark.ros
@pytest.mark.slow
def test_sigterm_to_the_trainer_node_mid_training_removes_its_staging(tmp_path: Path, tiny_dataset: Path,
                                                                       ros_env: dict[str, str]):
    fields = tmp_path / "fields"
    (fields / "field_earlier").mkdir(parents=True)
    (fields / "field_earlier" / "field.json").write_text("{}")
    before = snapshot(fields)
    os.environ.update(ros_env)
    trainer = {"datasets_dir": str(tiny_dataset.parent), "fields_dir": str(fields), "teacher": "synthetic",
               "method": "dff-tiny", "device": "cpu"}
    with ProcessGroup() as group:
        start_nodes(group, {"trainer": trainer}, ros_env, tmp_path / "logs")
        group.start("client", [sys.executable, "-m", "dff_grasp_ros.cli", "train", "--steps", "100000"],
                    env=ros_env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        while not partials(fields) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert partials(fields), "training never started" + logs(tmp_path / "logs")
        group.procs["trainer"].send_signal(signal.SIGTERM)
        code = group.procs["trainer"].wait(timeout=180)
    text = logs(tmp_path / "logs")
    assert code == 0 and "Traceback" not in text, text
    assert snapshot(fields) == before and partials(fields) == [], text
