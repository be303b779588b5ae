"""Checking a ROS parameter file against the nodes' parameter dataclasses, before any node starts.

rcl refuses a file that is not YAML with a traceback from deep inside ``rclpy.init``, and a wrong type or value
only surfaces as the node declares its parameters. This pre-flight (used by every node at start and by ``dff-grasp
bringup`` for all nodes at once) names the file, the node and the parameter in one line. Importing it needs no ROS.

The file layout is rcl's: ``<node or pattern>: {ros__parameters: {name: value}}``, optionally nested under
namespace keys; ``/**`` and ``*`` patterns apply a block to every node they match. Nested mappings below
``ros__parameters`` are dotted names (``a: {b: 1}`` is ``a.b``).
"""
from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Iterator

from dff_grasp_ros.errors import InputError, read_yaml_file
from dff_grasp_ros.nodes.params import ParamSpec, specs_of

PARAMS_KEY = "ros__parameters"
# Parameters every rclpy node has or understands besides its own.
STANDARD_PARAMS = ("use_sim_time", "start_type_description_service")
STANDARD_PREFIXES = ("qos_overrides.",)
_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off"}


class ParameterFileError(InputError):
    """A parameter file that rcl or a node would refuse; the message names the file (and node, parameter)."""


def params_files_in(args: list[str]) -> list[Path]:
    """The ``--params-file`` arguments of a node's command line (only those after ``--ros-args``)."""
    files: list[Path] = []
    ros_args = False
    for index, arg in enumerate(args):
        if arg == "--ros-args":
            ros_args = True
        elif arg == "--":
            ros_args = False
        elif ros_args and arg == "--params-file" and index + 1 < len(args):
            files.append(Path(args[index + 1]))
    return files


def check_params_file(path: Path, nodes: dict[str, type]) -> None:
    """Check ``path`` for the nodes ``{name: params dataclass}``; ParameterFileError names the first problem."""
    path = Path(path)
    if not path.is_file():
        raise ParameterFileError(f"parameter file {path} does not exist" if not path.exists() else
                                 f"parameter file {path} is not a file")
    try:
        data = read_yaml_file(path, "parameter file")
    except InputError as err:
        raise ParameterFileError(str(err)) from None
    if data is None:
        return  # an empty file sets nothing; rcl accepts it
    if not isinstance(data, dict):
        raise ParameterFileError(f"parameter file {path}: expected a mapping of node names, got "
                                 f"{type(data).__name__}")
    for pattern, block in _blocks(data, "", path):
        matched = {name: kind for name, kind in nodes.items() if _matches(pattern, name)}
        if not matched:
            continue
        for name, value in _flatten(block, "", path, pattern):
            _check_value(path, pattern, name, value, matched)


def _blocks(data: dict, prefix: str, path: Path) -> Iterator[tuple[str, dict]]:
    for key, value in data.items():
        if key == PARAMS_KEY:
            if not isinstance(value, dict):
                raise ParameterFileError(f"parameter file {path}: {prefix or '/'}.{PARAMS_KEY} must be a mapping "
                                         f"of parameter names, got {type(value).__name__}")
            yield prefix, value
        elif isinstance(value, dict):
            yield from _blocks(value, f"{prefix}/{key}" if prefix else str(key), path)
        else:
            raise ParameterFileError(f"parameter file {path}: {prefix + '/' if prefix else ''}{key} holds "
                                     f"{type(value).__name__} {value!r:.60}; expected a node name with "
                                     f"'{PARAMS_KEY}:' under it")


def _matches(pattern: str, node: str) -> bool:
    """rcl's node patterns, for nodes started without a namespace: ``trainer``, ``/trainer``, ``/**``, ``*``."""
    pattern = pattern.strip("/")
    return pattern in ("**", "*") or fnmatch.fnmatchcase(node, pattern.replace("**", "*"))


def _flatten(block: dict, prefix: str, path: Path, pattern: str) -> Iterator[tuple[str, Any]]:
    for key, value in block.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, name + ".", path, pattern)
        else:
            yield name, value


def _check_value(path: Path, pattern: str, name: str, value: Any, nodes: dict[str, type]) -> None:
    if name in STANDARD_PARAMS or name.startswith(STANDARD_PREFIXES):
        return
    specs = {node: {spec.name: spec for spec in specs_of(kind)} for node, kind in nodes.items()}
    declaring = {node: table[name] for node, table in specs.items() if name in table}
    if not declaring:
        if not _is_wildcard(pattern):
            node = next(iter(nodes))
            raise ParameterFileError(f"parameter file {path}: {node} has no parameter {name!r}; it has "
                                     f"{', '.join(specs[node])}")
        return  # a wildcard block may hold parameters meant for other nodes
    for node, spec in declaring.items():
        problem = spec.check(_as_rcl_reads(value, spec))
        if problem:
            raise ParameterFileError(f"parameter file {path}: {node}.{name} {problem}")


def _is_wildcard(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


def _as_rcl_reads(value: Any, spec: ParamSpec) -> Any:
    """YAML 1.1 (PyYAML) and rcl's parser differ on a few spellings; never refuse what rcl would accept."""
    if isinstance(value, str) and isinstance(spec.default, bool) and value.lower() in _BOOL_WORDS:
        return value.lower() in ("true", "yes", "on")
    if isinstance(value, str) and isinstance(spec.default, float) and not isinstance(spec.default, bool):
        try:
            return float(value)  # "1e-3": a string to PyYAML, a double to rcl
        except ValueError:
            return value
    return value
