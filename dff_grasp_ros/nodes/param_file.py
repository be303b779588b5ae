"""Checking a ROS parameter file against the nodes' parameter dataclasses, before any node starts.

rcl refuses a file that is not YAML with a traceback from deep inside ``rclpy.init``, and a wrong type or value
only surfaces as the node declares its parameters. This pre-flight (used by every node at start and by ``dff-grasp
bringup`` for all nodes at once) names the file, the node and the parameter in one line. Importing it needs no ROS.

The file layout is rcl's: ``<node or pattern>: {ros__parameters: {name: value}}``, optionally nested under
namespace keys; ``/**`` and ``*`` patterns apply a block to every node they match. Nested mappings below
``ros__parameters`` are dotted names (``a: {b: 1}`` is ``a.b``).

rclpy ignores a name that no node declares, so a misspelt one (in a file, in ``-p``) was ignored without a word and
the user believed it set: :func:`unknown_parameter` is the one check of a name, used for files, ``-p`` overrides and
bringup's overrides; it accepts the parameters every rclpy node declares itself (:data:`STANDARD_PARAMS`).
"""
from __future__ import annotations

import difflib
import fnmatch
from pathlib import Path
from typing import Any, Iterable, Iterator

from dff_grasp_ros.errors import InputError, read_yaml_file, yaml_loader
from dff_grasp_ros.nodes.params import ParamSpec, specs_of

PARAMS_KEY = "ros__parameters"
# Parameters every rclpy node declares besides its own (a test compares them with a bare rclpy node's), and those it
# declares for a topic whose QoS may be overridden.
STANDARD_PARAMS = ("use_sim_time", "start_type_description_service")
STANDARD_PREFIXES = ("qos_overrides.",)
_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off"}


_RCL_LOADER: list[type] = []


def rcl_yaml_loader() -> type:
    """The YAML loader for parameter files: rcl's parser refuses any alias (``*name``), so this one does too, with
    the line (before 2026-12-03 an alias passed the pre-flight and every node then died in ``rclpy.init``)."""
    if not _RCL_LOADER:
        import yaml

        class RclLoader(yaml_loader()):  # type: ignore[misc]
            def compose_node(self, parent: Any, index: Any) -> Any:
                event = self.peek_event()
                if isinstance(event, yaml.AliasEvent):
                    raise yaml.composer.ComposerError(
                        None, None, f"an alias (*{event.anchor}); rcl, which reads parameter files, does not "
                        f"support them: write the value out", event.start_mark)
                return super().compose_node(parent, index)

        _RCL_LOADER.append(RclLoader)
    return _RCL_LOADER[0]


class ParameterFileError(InputError):
    """A parameter file (or ``-p`` override) that rcl or a node would refuse, or ignore; the message names the file
    or the override (and node, parameter)."""


def _ros_options(args: list[str], options: tuple[str, ...]) -> list[str]:
    """The values of ``options`` among a node's command-line arguments after ``--ros-args`` (until ``--``)."""
    values: list[str] = []
    ros_args = False
    for index, arg in enumerate(args):
        if arg == "--ros-args":
            ros_args = True
        elif arg == "--":
            ros_args = False
        elif ros_args and arg in options and index + 1 < len(args):
            values.append(args[index + 1])
    return values


def params_files_in(args: list[str]) -> list[Path]:
    """The ``--params-file`` arguments of a node's command line (only those after ``--ros-args``)."""
    return [Path(value) for value in _ros_options(args, ("--params-file",))]


def param_overrides_in(args: list[str], node: str) -> list[str]:
    """The names that ``-p name:=value`` / ``--param`` arguments (after ``--ros-args``) set on ``node``: rcl applies
    ``-p other:name:=value`` only to a node called ``other``, so those are left out."""
    names: list[str] = []
    for value in _ros_options(args, ("-p", "--param")):
        target, _, name = value.partition(":=")[0].rpartition(":")
        if target in ("", node):
            names.append(name)
    return names


def is_standard(name: str) -> bool:
    """A parameter rclpy declares on every node (or for a topic's QoS overrides), not one of ours."""
    return name in STANDARD_PARAMS or name.startswith(STANDARD_PREFIXES)


def unknown_parameter(node: str, name: str, declared: Iterable[str]) -> str | None:
    """Why ``name`` is no parameter of ``node``, naming the closest of its ``declared`` names; None when it is one
    (or one rclpy declares itself)."""
    declared = list(declared)
    if name in declared or is_standard(name):
        return None
    closest = difflib.get_close_matches(name, declared, n=1)
    hint = f"did you mean {closest[0]!r}?" if closest else f"it has {', '.join(declared)}"
    return f"{node} has no parameter {name!r}; {hint}"


def check_overrides(node: str, names: Iterable[str], params_type: type) -> None:
    """ParameterFileError for the first ``-p`` name ``node`` does not declare (rclpy would ignore it)."""
    declared = [spec.name for spec in specs_of(params_type)]
    for name in names:
        problem = unknown_parameter(node, name, declared)
        if problem:
            raise ParameterFileError(f"-p {name}: {problem}")


def check_node_blocks(path: Path, nodes: Iterable[str], what: str) -> None:
    """ParameterFileError naming the first block of ``path`` that is for none of ``nodes`` (no wildcard): for a
    launcher that starts exactly those, such a block (``query_nodee:``, ``/robot/query:``) sets nothing. ``what``
    says who starts them, for the message."""
    nodes = list(nodes)
    try:
        data = read_yaml_file(Path(path), "parameter file", rcl_yaml_loader())
    except InputError as err:
        raise ParameterFileError(str(err)) from None
    for pattern, _ in _blocks(data if isinstance(data, dict) else {}, "", Path(path)):
        if _is_wildcard(pattern) or any(_matches(pattern, node) for node in nodes):
            continue
        closest = difflib.get_close_matches(pattern.strip("/"), nodes, n=1)
        hint = f"; did you mean {closest[0]!r}?" if closest else ""
        raise ParameterFileError(f"parameter file {path}: block {pattern!r} is for no node {what} starts (its "
                                 f"nodes are {', '.join(nodes)}){hint}")


def check_params_file(path: Path, nodes: dict[str, type]) -> None:
    """Check ``path`` for the nodes ``{name: params dataclass}``; ParameterFileError names the first problem."""
    path = Path(path)
    if not path.is_file():
        raise ParameterFileError(f"parameter file {path} does not exist" if not path.exists() else
                                 f"parameter file {path} is not a file")
    try:
        data = read_yaml_file(path, "parameter file", rcl_yaml_loader())
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
    if is_standard(name):
        return
    specs = {node: {spec.name: spec for spec in specs_of(kind)} for node, kind in nodes.items()}
    declaring = {node: table[name] for node, table in specs.items() if name in table}
    if not declaring:
        if not _is_wildcard(pattern):
            node = next(iter(nodes))
            raise ParameterFileError(f"parameter file {path}: {unknown_parameter(node, name, specs[node])}")
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
