"""Atomic publication of files and directories.

Readers (trainer, query node) only ever see complete artefacts: everything is written into a hidden
staging location beside the target and then renamed into place, which is atomic on one filesystem.
A process killed mid-write leaves at most a hidden ``.partial-*`` directory that no reader picks up.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PARTIAL_PREFIX = ".partial-"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the new file, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=PARTIAL_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_staging_dir(root: Path, name: str) -> Path:
    """A fresh hidden directory under ``root`` to build an artefact in before :func:`publish_dir`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{name}-", dir=root))


def unique_destination(root: Path, name: str) -> Path:
    """``root/name``, or ``root/name_2``, ``_3``… so that an existing artefact is never overwritten."""
    candidate = Path(root) / name
    index = 2
    while candidate.exists():
        candidate = Path(root) / f"{name}_{index}"
        index += 1
    return candidate


def publish_dir(staging: Path, root: Path, name: str) -> Path:
    """Rename a finished staging directory to a new, never-overwritten name under ``root``."""
    staging = Path(staging)
    for attempt in range(100):
        dest = unique_destination(root, name)
        try:
            # os.rename onto a non-existent path is atomic; losing a race to another writer just retries.
            os.rename(staging, dest)
            _fsync_dir(Path(root))
            return dest
        except (FileExistsError, OSError) as err:
            if dest.exists() and attempt < 99:
                continue
            raise err
    raise RuntimeError(f"could not publish {staging} under {root}")


def discard_dir(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def is_partial(path: Path) -> bool:
    return Path(path).name.startswith(PARTIAL_PREFIX)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
