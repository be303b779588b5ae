"""Shared by the bad-input suite (test/test_bad_inputs_*.py): run the CLI in-process, check its one-line answer,
and check that nothing was written or lost."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest

from dff_grasp_ros.atomic import PARTIAL_PREFIX
from dff_grasp_ros.cli import main


@dataclass
class CliRun:
    code: int
    out: str
    err: str

    @property
    def line(self) -> str:
        """The one error line (asserting there is exactly one and no traceback)."""
        assert "Traceback" not in self.err, self.err
        lines = [line for line in self.err.splitlines() if line.startswith("dff-grasp")]
        assert len(lines) == 1, f"expected one error line, got {lines!r} in {self.err!r}"
        return lines[0]

    def json(self) -> dict:
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture, *argv: str) -> CliRun:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return CliRun(code, captured.out, captured.err)


def refused(capsys: pytest.CaptureFixture, *argv: str, code: int = 2, names: tuple[str, ...] = (),
            before_work: bool = True) -> CliRun:
    """Run the CLI and assert the failure contract: ``code``, exactly one error line on stderr that starts
    ``dff-grasp <command>:`` and contains ``names``, no traceback. ``before_work``: nothing else on stderr either
    (no progress bar was drawn: refused before any work); a failure mid-work may follow a progress bar."""
    run = run_cli(capsys, *argv)
    assert run.code == code, (run.code, run.err)
    if before_work:
        assert run.err.strip() == run.line, f"more than the one line on stderr: {run.err!r}"
    else:
        assert run.line
    command = next(a for a in map(str, argv) if not a.startswith("-"))
    assert run.line.startswith(f"dff-grasp {command}: "), run.line
    for name in names:
        assert str(name) in run.line, f"{name!r} not named in {run.line!r}"
    return run


def fit_refuses_broken(capsys: pytest.CaptureFixture, tmp_path: Path, good_dataset: Path,
                       break_it: Callable[[Path], None], says: tuple[str, ...], fit_args: tuple[str, ...],
                       read_back: bool = True) -> None:
    """A copy of ``good_dataset`` broken by ``break_it`` is refused by ``fit`` in one line naming the dataset and
    ``says``; the dataset is left as it was (unless ``read_back`` is False: a FIFO cannot be read back) and no
    field is written."""
    dataset = tmp_path / "datasets" / "broken"
    shutil.copytree(good_dataset, dataset)
    break_it(dataset)
    before = snapshot(dataset) if read_back else None
    out = tmp_path / "fields"
    refused(capsys, "fit", "--dataset", dataset, "--out", out, *fit_args, names=(str(dataset), *says))
    assert before is None or snapshot(dataset) == before
    assert not out.exists() or list(out.iterdir()) == []


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a digest of its content (hidden staging included)."""
    root = Path(root)
    if not root.exists():
        return {}
    if root.is_file():
        return {root.name: hashlib.sha1(root.read_bytes()).hexdigest()}
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def partials(root: Path) -> list[str]:
    root = Path(root)
    return [p.name for p in root.rglob(f"{PARTIAL_PREFIX}*")] if root.is_dir() else []


def dead_pid() -> int:
    """The pid of a process that has just exited (reuse within the test is vanishingly unlikely)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@contextlib.contextmanager
def small_disk(path: Path, size_kib: int) -> Iterator[bool]:
    """A tmpfs of ``size_kib`` at ``path``; yields True when mounted, False when this machine does not allow it
    (not root, no mount permission): the caller then simulates ENOSPC instead and says so."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = os.geteuid() == 0 and shutil.which("mount") is not None and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path)], capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def read_only_dir(path: Path) -> Iterator[bool]:
    """A read-only (empty) tmpfs at ``path``; yields False where this machine does not allow mounting one."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = os.geteuid() == 0 and shutil.which("mount") is not None and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)], capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill_disk(path: Path, leave_bytes: int = 0) -> None:
    """Write a ballast file under ``path`` until the filesystem has at most ``leave_bytes`` free."""
    ballast = path / "ballast.bin"
    with open(ballast, "wb") as handle, contextlib.suppress(OSError):
        for chunk in (b"\0" * 65536, b"\0" * 4096):
            while shutil.disk_usage(path).free >= leave_bytes + len(chunk):
                handle.write(chunk)
                handle.flush()


def raise_enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
