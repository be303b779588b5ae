"""The set-up step: a clear message when build tools are missing, and nothing changes on a second run."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETUP = REPO / "tools" / "setup_env.py"
BASE_PYTHON = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"


def _run_setup(args: list[str], path: str) -> subprocess.CompletedProcess:
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run([str(BASE_PYTHON), str(SETUP), *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_missing_cmake_and_compiler_are_named(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(BASE_PYTHON)  # a PATH with Python but no cmake, cc or c++
    result = _run_setup(["--check-tools"], str(bin_dir))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cmake" in result.stderr and "apt-get install cmake" in result.stderr
    assert "C++ compiler" in result.stderr and "g++" in result.stderr


def test_check_tools_passes_on_this_machine():
    result = _run_setup(["--check-tools"], os.environ["PATH"])
    assert result.returncode == 0, result.stderr


def _venv_snapshot() -> dict[str, float]:
    venv = REPO / ".venv"
    watched = [venv / ".dff_grasp_setup.json", *sorted((venv / "lib").glob("python*/site-packages/*"))]
    return {str(p): p.stat().st_mtime_ns for p in watched}


def test_second_run_changes_nothing():
    first = _run_setup([], os.environ["PATH"])  # brings the venv up to date if a file changed since
    assert first.returncode == 0, first.stderr
    before = _venv_snapshot()
    second = _run_setup([], os.environ["PATH"])
    assert second.returncode == 0, second.stderr
    assert "environment up to date" in second.stdout
    assert "$ " not in second.stdout, "a second run must not run any install command"
    assert _venv_snapshot() == before
