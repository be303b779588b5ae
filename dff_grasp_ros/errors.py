"""One line per failure: how every front end (the CLI, the nodes' results and logs) words an exception for a user.

The rule of this package: bad input is answered with one line that names the file or value at fault, never a
traceback. Loaders raise :class:`InputError` (or another ``ValueError``) with such a message; :func:`one_line`
turns any exception, expected or not, into the line a user reads.
"""
from __future__ import annotations

import errno
import json
import math
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MAX_LINE_CHARS = 600  # a message longer than this is cut: one line must stay readable in a terminal


class InputError(ValueError):
    """Bad input the user can fix (a file, a value, a goal); the message names it."""


# Raised for expected failures whose message is already written for the user: no exception name in front.
_WORDED = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


def one_line(err: BaseException) -> str:
    """``err`` as one line for a user: its message when it was written for one, else its type and message.

    A full disk is said plainly with the file being written (when known), whatever layer noticed it.
    """
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        where = f" writing {err.filename}" if err.filename else ""
        text = f"no space left on device{where}; nothing was published, earlier outputs are untouched"
    elif isinstance(err, OSError) and err.filename and err.strerror:
        text = f"{err.strerror}: {err.filename}"
    elif is_worded(err):
        text = str(err) or type(err).__name__
    else:
        text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    text = " ".join(text.split())
    return text if len(text) <= MAX_LINE_CHARS else text[: MAX_LINE_CHARS - 3] + "..."


def is_finite_number(value: Any) -> bool:
    """Whether a value read from a file is a real, finite number (:func:`finite_number` accepts it): YAML's
    true/false (bools), strings, lists and integers beyond float's range are not."""
    try:
        finite_number(value, "value")
    except InputError:
        return False
    return True


def is_worded(err: BaseException) -> bool:
    """Whether ``err``'s message was written for a user: ValueErrors, file errors with a name, a full disk, and
    every error class of this package (RosCallError, TrainingError, TeacherError...). Others are likely bugs."""
    if isinstance(err, OSError) and (err.errno == errno.ENOSPC or (err.filename and err.strerror)):
        return True
    return isinstance(err, _WORDED) or type(err).__module__.split(".")[0] == "dff_grasp_ros"


def shown(value: Any, limit: int = 60) -> str:
    """``value`` as a message quotes it: its repr cut to ``limit`` characters, a huge integer by its length."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        text = f"an integer of {len(str(abs(value)))} digits"  # its 400 digits would say nothing more
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def expand_home(path: str | Path) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded; InputError naming the path when that home is unknown
    (pathlib's "RuntimeError: Could not determine home directory." named nothing and read as unexpected)."""
    path = Path(path)
    try:
        return path.expanduser()
    except RuntimeError:
        user = path.parts[0][1:]
        raise InputError(f"{path}: no user {user!r}, so '~{user}' names no home directory" if user else
                         f"{path}: '~' names no home directory here (HOME is not set)") from None


def finite_number(value: Any, where: str) -> float:
    """``value`` as a float when it is a finite int or float as JSON and YAML give them; InputError naming
    ``where`` when it is anything else: a string, a bool (an int to Python), null, NaN, inf, or an integer past
    a float's range (10**400: ``float()`` and ``math.isfinite`` raise OverflowError on it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where} must be a finite number, got {shown(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InputError(f"{where} must be a finite number, got {shown(value)}")
    return number


def finite_array(value: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
    """``value`` (nested lists, as JSON and YAML give them) as a float64 array of ``shape``; InputError naming
    ``where`` (and the entry, e.g. ``where[1][2]``) when it has another shape or an entry that is not a finite
    number. Stricter than ``np.asarray(value, dtype=float)``, which took [[1], [2], [3]] for 3 numbers, true for 1
    and "1.5" for 1.5, and raised OverflowError naming nothing for 10**400."""
    import numpy as np

    def entries(part: Any, dims: tuple[int, ...], at: str) -> list:
        if not dims and not isinstance(part, (list, tuple, dict)):
            return [finite_number(part, at)]
        if not dims or not isinstance(part, (list, tuple)) or len(part) != dims[0]:  # nested too deep or short
            raise InputError(f"{where} must be {_shape_words(shape)}, got {shown(value, 80)}")
        return [x for i, item in enumerate(part) for x in entries(item, dims[1:], f"{at}[{i}]")]

    return np.array(entries(value, tuple(shape), where), dtype=np.float64).reshape(shape)


def _shape_words(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"a list of {shape[0]} numbers"
    return f"a {'x'.join(map(str, shape))} matrix of numbers ({shape[0]} lists of {' x '.join(map(str, shape[1:]))})"


def _read_text_file(path: Path, what: str, kind: str) -> tuple[str, str]:
    """(the file's label for messages, its text); a missing, unreadable or non-UTF-8 file raises one line."""
    path = Path(path)
    label = f"{what} {path}" if what else str(path)
    if _is_device(path):  # /dev/zero never ends: reading it filled the memory until the kernel killed the process
        raise InputError(f"{label} is a device, not a {kind} file")
    try:
        if stat.S_ISFIFO(path.stat().st_mode):
            data = _read_pipe(path, label)
        else:
            size = path.stat().st_size
            if size > MAX_TEXT_FILE_BYTES:  # a 1 GB answer took 2.1 GB of memory before it was refused
                raise InputError(f"{label} is {size} bytes, more than the {MAX_TEXT_FILE_BYTES} a {kind} file may "
                                 f"have")
            data = path.read_bytes()
        return label, data.decode("utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{label} does not exist") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{label} is not UTF-8 text (byte {err.start})") from None
    except IsADirectoryError:
        raise InputError(f"{label} is a directory, not a {kind} file") from None


MAX_TEXT_FILE_BYTES = 64 * 2**20  # a transforms.json of 10,000 views is ~10 MB; scenes and answers are kilobytes
PIPE_WAIT_S = 30.0  # how long a pipe (/dev/stdin, `<(...)`, a FIFO) may take to deliver its first byte


def _read_pipe(path: Path, label: str) -> bytes:
    """A pipe's bytes, up to its writer's end: refused when nothing comes within ``PIPE_WAIT_S`` (a FIFO nobody
    writes to blocked `sim execute` until it was killed) or beyond ``MAX_TEXT_FILE_BYTES``."""
    import select

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a plain open() waits for a writer, without a limit
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP)
        if not poller.poll(PIPE_WAIT_S * 1000):  # no writer yet: Linux reports nothing, not a hang-up
            raise InputError(f"{label} is a pipe, and nothing was written to it within {PIPE_WAIT_S:g} s")
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_TEXT_FILE_BYTES:
                raise InputError(f"{label} is a pipe that gave more than {MAX_TEXT_FILE_BYTES} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _is_device(path: Path) -> bool:
    """A character or block device or a socket (a pipe, /dev/stdin, is read: it ends when its writer does)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False  # reading says what is wrong
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode)


def read_json_file(path: Path, what: str = "") -> Any:
    """Parse a JSON file; a missing, unreadable or malformed one raises one line naming it (InputError)."""
    label, text = _read_text_file(path, what, "JSON")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as err:
        if not text.strip():
            raise InputError(f"{label} is empty") from None
        raise InputError(f"{label} is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except RecursionError:
        raise InputError(f"{label} is nested too deeply to be read (more than {sys.getrecursionlimit()} "
                         f"levels of [ or {{)") from None
    except _DuplicateKey as err:
        raise InputError(f"{label} has the key {err.args[0]!r} twice in one object; which one is meant is "
                         f"ambiguous") from None
    except ValueError as err:  # after JSONDecodeError and _DuplicateKey, which are ValueErrors worded above
        raise InputError(_unreadable_value(label, err)) from None


def read_yaml_file(path: Path, what: str = "", loader: type | None = None) -> Any:
    """Parse a YAML file (safely: plain data only); a missing, unreadable or malformed one, or one that gives a key
    twice in one mapping (YAML keeps the last without a word), raises one line naming it and the line at fault.
    ``loader``: a subclass of :func:`yaml_loader` for a format with stricter rules (ROS parameter files)."""
    import yaml

    label, text = _read_text_file(path, what, "YAML")
    try:
        return yaml.load(text, Loader=loader or yaml_loader())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise InputError(f"{label} is not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise InputError(f"{label} is nested too deeply to be read") from None
    except ValueError as err:  # a scalar the loader cannot build: a huge integer, a date such as 2020-13-01
        raise InputError(_unreadable_value(label, err)) from None


def _unreadable_value(label: str, err: ValueError) -> str:
    """Why a parser's ValueError (not a syntax error) refused a value of the file ``label``, in one line.

    Python refuses to turn more than ``sys.get_int_max_str_digits()`` digits into an int (a guard against
    quadratic time); its message names no file and tells a programmer to raise the limit, so it is reworded.
    """
    if "integer string conversion" in str(err):
        return f"{label} holds an integer of more than {sys.get_int_max_str_digits()} digits, too long to read"
    return f"{label} has a value that cannot be read: {err}"


_LOADER: list[type] = []


def yaml_loader() -> type:
    """yaml.SafeLoader that refuses a mapping giving the same key twice, and an alias inside the anchor it refers
    to (built once, on first use)."""
    if not _LOADER:
        import yaml

        class UniqueKeyLoader(yaml.SafeLoader):
            def compose_node(self, parent: Any, index: Any) -> Any:
                # `a: &x [*x]` builds a list that holds itself: every check walking it ended in a RecursionError
                # ("unexpected") or a misleading message. The anchors whose nodes are being built are the open ones.
                open_anchors = self.__dict__.setdefault("_open_anchors", [])
                event = self.peek_event()
                if isinstance(event, yaml.AliasEvent):
                    if event.anchor in open_anchors:
                        raise yaml.composer.ComposerError(
                            None, None, f"the alias *{event.anchor} lies inside the anchor &{event.anchor} it "
                            f"refers to: the value would hold itself", event.start_mark)
                    return super().compose_node(parent, index)
                open_anchors.append(event.anchor)
                try:
                    return super().compose_node(parent, index)
                finally:
                    open_anchors.pop()

            def construct_mapping(self, node: Any, deep: bool = False) -> dict:
                seen: set = set()
                for key_node, _ in node.value:
                    # Keys a merge (<<) brings in may be overridden: that is YAML, not a duplicate.
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node)
                    duplicate = key in seen
                    seen.add(key)
                    if duplicate:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"the key {key!r} is given twice in one mapping; which one is meant is "
                            f"ambiguous", key_node.start_mark)
                return super().construct_mapping(node, deep=deep)

        _LOADER.append(UniqueKeyLoader)
    return _LOADER[0]


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique (json keeps the last of a duplicated key without a word)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out
