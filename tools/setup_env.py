#!/usr/bin/env python3
"""Create or update the project environment ``.venv`` (idempotent; the README's two commands call this).

Steps, each skipped when its inputs have not changed since the last successful run:
  1. check the build tools (cmake, a C++ compiler, Python headers) and Debian packages (libusb, chromium),
  2. create ``.venv`` and install the pinned dependencies of ``requirements/lock.txt`` (exact, ``--no-deps``:
     nerfstudio's own pins clash with open_clip, see docs/maintainers.md),
  3. generate and compile the ROS interfaces (msg/, srv/, action/) with the ros-rosidl-*/ros-ament-cmake* wheels
     into the venv prefix, so ``from dff_grasp.srv import QueryObject`` works,
  4. install this package (``dff_grasp_ros``) editable, with its console scripts and nerfstudio entry points.

Standard library only: it runs before anything is installed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
STAMP = VENV / ".dff_grasp_setup.json"
BUILD_DIR = ROOT / "build" / "interfaces"
MIN_CMAKE = (3, 16)
PYTHON_VERSION = (3, 11)  # the lock file (torch 2.14.1 wheels on this disk) is for CPython 3.11

STEP_INPUTS = {
    "dependencies": ["requirements/lock.txt"],
    "interfaces": ["CMakeLists.txt", "package.xml", "msg", "srv", "action"],
    "package": ["setup.py", "setup.cfg"],
}


class SetupError(RuntimeError):
    """A problem the user must fix; the message says what to install or change."""


def log(message: str) -> None:
    print(f"[setup] {message}", flush=True)


def missing_tools() -> list[str]:
    """Each missing build prerequisite, phrased as what to install."""
    problems = []
    cmake = shutil.which("cmake")
    if cmake is None:
        problems.append("cmake (>= 3.16) is missing: install it, e.g. `apt-get install cmake`")
    else:
        version = _cmake_version(cmake)
        if version is not None and version < MIN_CMAKE:
            problems.append(f"cmake {'.'.join(map(str, version))} is too old: need >= 3.16")
    if not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        problems.append("a C++ compiler is missing: install one, e.g. `apt-get install g++`")
    if not any(shutil.which(c) for c in ("cc", "gcc", "clang")):
        problems.append("a C compiler is missing: install one, e.g. `apt-get install gcc`")
    include = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not include.is_file():
        problems.append(f"Python headers are missing ({include}): install them, e.g. `apt-get install python3-dev`")
    if sys.version_info[:2] != PYTHON_VERSION:
        problems.append(f"Python {PYTHON_VERSION[0]}.{PYTHON_VERSION[1]} is needed for the pinned wheels "
                        f"(this is {sys.version.split()[0]}): run this script with python3.11")
    return problems


def _cmake_version(cmake: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([cmake, "--version"], capture_output=True, text=True, timeout=30).stdout
        return tuple(int(x) for x in out.split()[2].split(".")[:2])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None


# Debian packages the project needs at run/test time: (what to look for, package, why).
SYSTEM_PACKAGES = (
    ("lib:libusb-1.0.so.0", "libusb-1.0-0", "open3d's import needs it"),
    ("bin:chromium", "chromium", "the web viewer's browser test drives it headless"),
)


def ensure_system_packages() -> None:
    """Install missing Debian packages when we may (root + apt-get); otherwise say what to install."""
    missing = [(pkg, why) for probe, pkg, why in SYSTEM_PACKAGES if not _present(probe)]
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        names = [pkg for pkg, _ in missing]
        log(f"installing {' '.join(names)} (apt-get)")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *names], check=True, stdout=subprocess.DEVNULL)
        missing = [(pkg, why) for probe, pkg, why in SYSTEM_PACKAGES if not _present(probe)]
    if missing:
        raise SetupError("missing Debian packages: " + "; ".join(f"{pkg} ({why})" for pkg, why in missing)
                         + f". Install them: sudo apt-get install {' '.join(pkg for pkg, _ in missing)}")


def _present(probe: str) -> bool:
    kind, name = probe.split(":", 1)
    return shutil.which(name) is not None if kind == "bin" else _has_shared_library(name)


def _has_shared_library(name: str) -> bool:
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    return name in out or any(Path(d, name).exists() for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib",
                                                              "/usr/lib/aarch64-linux-gnu"))


def fingerprint(paths: list[str]) -> str:
    digest = hashlib.sha256()
    for rel in paths:
        path = ROOT / rel
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes() if file.exists() else b"<missing>")
    return digest.hexdigest()


def read_stamp() -> dict[str, str]:
    try:
        return json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}


def write_stamp(stamp: dict[str, str]) -> None:
    tmp = STAMP.with_suffix(".tmp")
    tmp.write_text(json.dumps(stamp, indent=2) + "\n")
    os.replace(tmp, STAMP)


def venv_python() -> Path:
    return VENV / "bin" / "python"


def clean_env() -> dict[str, str]:
    """Environment for child processes of the venv: drop another venv's ROS bootstrap guard (docs/maintainers.md)."""
    env = dict(os.environ)
    for key in ("_ROS_WHEELS_BOOTSTRAP_COMPLETE", "LD_LIBRARY_PATH", "PYTHONPATH", "VIRTUAL_ENV",
                "AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH"):
        env.pop(key, None)
    return env


def run(cmd: list[str], **kwargs) -> None:
    log("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kwargs)


def install_dependencies() -> None:
    if not venv_python().exists():
        log("creating .venv")
        run([sys.executable, "-m", "venv", str(VENV)], env=clean_env())
    # --no-compile: byte-compiling all ~19,000 modules costs a cold set-up about 90 s on one core (a sample of
    # 3,000 took 14 s); Python compiles (and caches) the few thousand a run imports on first use.
    run([venv_python(), "-m", "pip", "install", "--no-deps", "--no-compile", "-r", "requirements/lock.txt"],
        env=clean_env())


def build_interfaces() -> None:
    env = clean_env()
    env["AMENT_PREFIX_PATH"] = str(VENV)  # rosidl typesupport discovery reads it at configure time
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    shutil.rmtree(BUILD_DIR, ignore_errors=True)
    BUILD_DIR.mkdir(parents=True)
    run(["cmake", "-S", ROOT, "-B", BUILD_DIR, f"-DCMAKE_PREFIX_PATH={VENV}", f"-DCMAKE_INSTALL_PREFIX={VENV}",
         f"-DPython3_EXECUTABLE={venv_python()}", "-DBUILD_TESTING=OFF", "-DDFF_GRASP_INTERFACES_ONLY=ON",
         "-DCMAKE_BUILD_TYPE=Release"], env=env, stdout=subprocess.DEVNULL)
    run(["cmake", "--build", BUILD_DIR, "--parallel", str(os.cpu_count() or 2)], env=env, stdout=subprocess.DEVNULL)
    run(["cmake", "--install", BUILD_DIR], env=env, stdout=subprocess.DEVNULL)
    check = "from dff_grasp.srv import QueryObject; from dff_grasp.action import TrainField, CaptureViews"
    run([venv_python(), "-c", check], env=clean_env())


def install_package() -> None:
    run([venv_python(), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-e", "."], env=clean_env())


STEPS = {"dependencies": install_dependencies, "interfaces": build_interfaces, "package": install_package}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-tools", action="store_true", help="only check the build prerequisites")
    args = parser.parse_args(argv)
    try:
        problems = missing_tools()
        if problems:
            raise SetupError("cannot set up the environment:\n  - " + "\n  - ".join(problems))
        if args.check_tools:
            log("build tools present")
            return 0
        ensure_system_packages()
        stamp = read_stamp() if venv_python().exists() else {}
        started = time.monotonic()
        changed = False
        for name, step in STEPS.items():
            digest = fingerprint(STEP_INPUTS[name])
            if stamp.get(name) == digest:
                continue
            # A changed earlier step invalidates later ones (new deps may replace what interfaces built against).
            for later in list(STEPS)[list(STEPS).index(name):]:
                stamp.pop(later, None)
            log(f"step {name}")
            step()
            stamp[name] = digest
            write_stamp(stamp)
            changed = True
        log(f"environment ready in {time.monotonic() - started:.0f} s" if changed else "environment up to date")
        return 0
    except SetupError as err:
        print(f"[setup] ERROR: {err}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as err:
        print(f"[setup] ERROR: command failed ({err.returncode}): {' '.join(map(str, err.cmd))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
