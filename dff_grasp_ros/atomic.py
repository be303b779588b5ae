"""Atomic publication of files and directories.

Readers (trainer, query node) only ever see complete artefacts: everything is written into a hidden
staging location beside the target and then renamed into place, which is atomic on one filesystem.
A process killed mid-write leaves at most a hidden ``.partial-*`` directory that no reader picks up. Staging
names record the owning process (``.partial-<name>-p<pid>-<random>``), so the next writer under the same root
removes what dead processes left (:func:`remove_stale_staging`); a process stopped by SIGTERM removes its own
(the CLI turns SIGTERM into an exception, and every writer discards its staging on any exception).
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

PARTIAL_PREFIX = ".partial-"
_OWNER = re.compile(r"-p(?P<pid>\d+)-[^-]*$")  # the pid tag make_staging_dir and atomic_write_bytes add


def _owned_prefix(name: str = "") -> str:
    return f"{PARTIAL_PREFIX}{name}-p{os.getpid()}-" if name else f"{PARTIAL_PREFIX}p{os.getpid()}-"


def staging_owner(path: Path) -> int | None:
    """The pid recorded in a staging name, or None (not a staging path, or written by an older version)."""
    name = Path(path).name
    match = _OWNER.search(name) if name.startswith(PARTIAL_PREFIX) else None
    return int(match["pid"]) if match else None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def remove_stale_staging(root: Path) -> list[Path]:
    """Remove staging files and folders under ``root`` whose owning process is gone; returns what was removed.

    Only names with a pid tag are touched, and only when no process with that pid exists on this machine (a
    reused pid keeps the folder: the safe side). Staging of a live writer is never touched.
    """
    root = Path(root)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for path in root.iterdir():
        pid = staging_owner(path)
        if pid is None or pid == os.getpid() or _process_alive(pid):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Name ``path`` in an OSError raised without a file name (a full disk noticed at write or flush time)."""
    try:
        yield
    except OSError as err:
        if err.filename or err.errno is None:
            raise
        raise OSError(err.errno, os.strerror(err.errno), str(path)) from err


def _not_a_regular_file(path: Path) -> str | None:
    """Why ``path`` must not be written by renaming a file onto it (None when it is absent or a regular file):
    the rename replaces a device or FIFO with a plain file (as root, ``--out /dev/null`` replaced /dev/null)."""
    if path.is_dir() or not path.exists() or path.is_file():
        return None
    return f"output file {path} is not a regular file (a device, FIFO or socket); writing would replace it"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the new file, never a torn one."""
    from dff_grasp_ros.errors import InputError

    path = Path(path)
    problem = _not_a_regular_file(path)
    if problem:
        raise InputError(problem)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_owned_prefix(), dir=path.parent)
    except OSError as err:  # name the file being written, not the hidden temporary one beside it
        raise OSError(err.errno, err.strerror, str(path)) from err
    try:
        with writing(path), os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_staging_dir(root: Path, name: str) -> Path:
    """A fresh hidden directory under ``root`` to build an artefact in before :func:`publish_dir`.

    Staging left by dead processes under ``root`` is removed first. A ``root`` that is a file, or cannot be
    created or written, raises one line naming it (before any work is done in the staging).
    """
    root = check_output_root(root)
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(root)
    with writing(root):
        return Path(tempfile.mkdtemp(prefix=_owned_prefix(name), dir=root))


def check_output_root(root: Path) -> Path:
    """``root`` if it is a folder or can become one; InputError naming it when a file is in the way."""
    from dff_grasp_ros.errors import InputError

    root = Path(root)
    for path in (root, *root.parents):
        if path.is_symlink() and not path.exists():  # exists() is False for a loop too: mkdir then failed at the end
            raise InputError(f"output folder {root} cannot be created: {path} is a symbolic link to nothing "
                             f"(dangling, or a loop)")
        if path.exists():
            if not path.is_dir():
                what = "is a file" if path == root else f"cannot be created: {path} is a file"
                raise InputError(f"output folder {root} {what}, not a folder" if path == root else
                                 f"output folder {root} {what}")
            if not os.access(path, os.W_OK | os.X_OK):  # a read-only filesystem too (EROFS), even for root
                raise InputError(f"output folder {root} is read-only or not writable" if path == root else
                                 f"output folder {root} cannot be created: {path} is read-only or not writable")
            break
    return root


def check_output_file(path: Path) -> Path:
    """``path`` if a file can be written there (an existing file is replaced atomically); InputError naming it
    when it is a folder or a file stands where its folder would be, OSError for a name the system refuses (too
    long): checked before any work, so that a result is never computed only to be lost at the end."""
    from dff_grasp_ros.errors import InputError, expand_home

    path = expand_home(path)
    if path.is_dir():
        raise InputError(f"output file {path} is a folder")
    problem = _not_a_regular_file(path)
    if problem:
        raise InputError(problem)
    check_output_root(path.parent)
    return path


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


def replace_dir(staging: Path, dest: Path) -> Path:
    """Rename a finished staging directory onto ``dest``, which must be absent or an empty folder (a named
    artefact, unlike :func:`publish_dir`'s never-overwritten names); atomic on one filesystem."""
    os.replace(staging, dest)
    _fsync_dir(Path(dest).parent)
    return Path(dest)


def swap_in_entries(staging: Path, root: Path, earlier: list[Path], last: tuple[str, ...] = ()) -> None:
    """Put every entry of a finished staging folder into ``root`` in place of the ``earlier`` entries (a run's
    outputs replacing the previous run's), one atomic rename each, then remove ``earlier``; nothing else in
    ``root`` is touched. The names in ``last`` (the reports) leave first and arrive last, so that a report is
    only ever found beside its own run's entries. FileExistsError, before anything moved, when an entry's name is
    taken by something not in ``earlier``."""
    root, staging = Path(root), Path(staging)
    incoming = sorted(staging.iterdir(), key=lambda path: path.name in last)
    leaving = {path.name for path in earlier}
    for path in incoming:
        if path.name not in leaving and os.path.lexists(root / path.name):
            raise FileExistsError(errno.EEXIST, "already exists, not written by this run", str(root / path.name))
    aside = make_staging_dir(root, "earlier")
    try:
        for path in sorted(earlier, key=lambda path: path.name not in last):
            os.rename(path, aside / path.name)
        for path in incoming:
            os.rename(path, root / path.name)
        _fsync_dir(root)
    finally:
        discard_dir(aside)


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
