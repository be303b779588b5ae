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
import math
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

from dff_grasp_ros.errors import InputError, read_yaml_file, yaml_loader
from dff_grasp_ros.nodes.params import specs_of

PARAMS_KEY = "ros__parameters"
# Parameters every rclpy node declares besides its own (a test compares them with a bare rclpy node's), and those it
# declares for a topic whose QoS may be overridden.
STANDARD_PARAMS = ("use_sim_time", "start_type_description_service")
STANDARD_PREFIXES = ("qos_overrides.",)
# How rcl's parameter file parser (rcl_yaml_param_parser) reads a plain scalar: these words as bools, then strtol
# (base 0) over the whole text as an integer, then strtod as a double, ".inf"/".nan" spellings, else a string.
# YAML 1.1 (PyYAML) differs both ways: '1_000', '1:30' and '0b101' are integers to it and strings to rcl (a node
# then refused its file after bringup had started every node), 'Y', '1e3' and 'inf' the other way round.
_RCL_TRUE = {"Y", "y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_RCL_FALSE = {"N", "n", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_RCL_SPECIAL_FLOATS = {".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan, ".inf": math.inf, ".Inf": math.inf,
                       ".INF": math.inf, "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
                       "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf}
_STRTOL = re.compile(r"\s*[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_STRTOD = re.compile(r"\s*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                     r"|inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)", re.IGNORECASE)
_STRTOD_HEX = re.compile(r"\s*[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?")
_INT64 = 2**63
_RCL_SCALAR_TAG = "tag:dff_grasp,rcl-plain-scalar"


def rcl_scalar(text: str) -> bool | int | float | str:
    """A plain (unquoted) YAML scalar of a parameter file as rcl reads it: bool, int (int64), float or string."""
    if text in _RCL_TRUE or text in _RCL_FALSE:
        return text in _RCL_TRUE
    if _STRTOL.fullmatch(text):
        digits = text.strip().lstrip("+-")
        base = 16 if digits[:2].lower() == "0x" else 8 if digits.startswith("0") and len(digits) > 1 else 10
        value = int(text.strip(), base)
        if -_INT64 <= value < _INT64:
            return value  # beyond int64 strtol fails (ERANGE) and strtod reads it as a double, as below
    if text in _RCL_SPECIAL_FLOATS:
        return _RCL_SPECIAL_FLOATS[text]
    hexadecimal = _STRTOD_HEX.fullmatch(text) is not None
    if hexadecimal or _STRTOD.fullmatch(text):
        try:
            value = float.fromhex(text.strip()) if hexadecimal else float(text.strip().split("(")[0])
        except OverflowError:  # float.fromhex past a double's range, where strtod says ERANGE
            return text
        # strtod's ERANGE makes rcl keep the text: past a double's range (1e400), or a decimal below its normal
        # range (1e-310, and 1e-400, which rounds to 0 from a non-zero mantissa; hexadecimal ones are exact)
        overflow = math.isinf(value) and "inf" not in text.lower()
        underflow = (not hexadecimal and abs(value) < sys.float_info.min
                     and re.search(r"[1-9]", re.split(r"[eE]", text)[0]) is not None)
        return text if overflow or underflow else value
    return text


_RCL_LOADER: list[type] = []


def rcl_yaml_loader() -> type:
    """The YAML loader for parameter files: rcl's parser refuses any alias (``*name``), so this one does too, with
    the line (before 2026-12-03 an alias passed the pre-flight and every node then died in ``rclpy.init``)."""
    if not _RCL_LOADER:
        import yaml

        class RclLoader(yaml_loader()):  # type: ignore[misc]
            def resolve(self, kind: Any, value: str, implicit: Any) -> str:
                if kind is yaml.ScalarNode and implicit[0]:  # plain: rcl's reading, not YAML 1.1's
                    return _RCL_SCALAR_TAG
                return super().resolve(kind, value, implicit)

            def construct_mapping(self, node: Any, deep: bool = False) -> dict:
                for key_node, _ in node.value:
                    if key_node.tag == _RCL_SCALAR_TAG:
                        key_node.tag = "tag:yaml.org,2002:str"  # rcl reads every key as a name
                return super().construct_mapping(node, deep=deep)

            def compose_node(self, parent: Any, index: Any) -> Any:
                event = self.peek_event()
                if isinstance(event, yaml.AliasEvent):
                    raise yaml.composer.ComposerError(
                        None, None, f"an alias (*{event.anchor}); rcl, which reads parameter files, does not "
                        f"support them: write the value out", event.start_mark)
                return super().compose_node(parent, index)

        RclLoader.add_constructor(_RCL_SCALAR_TAG, lambda loader, node: rcl_scalar(node.value))
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


def node_values(path: Path, node: str) -> dict[str, Any]:
    """The values ``path`` sets for ``node`` (started without a namespace), as rclpy applies them: every block
    whose pattern matches, in file order, a later one overriding an earlier one. Check the file first
    (:func:`check_params_file`); this reads it, it does not judge it."""
    data = read_yaml_file(Path(path), "parameter file", rcl_yaml_loader())
    values: dict[str, Any] = {}
    for pattern, block in _blocks(data or {}, "", Path(path)):
        if _matches(pattern, node):
            values.update(_flatten(block, "", Path(path), pattern))
    return values


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
        problem = spec.check(value) or _device_problem(name, value)
        if problem:
            raise ParameterFileError(f"parameter file {path}: {node}.{name} {problem}")


def _device_problem(name: str, value: Any) -> str | None:
    """A ``device`` that asks for CUDA where torch sees none: the trainer and query nodes stop at start for it,
    so bringup refuses it before starting any node (torch is imported only then)."""
    if name != "device" or not isinstance(value, str) or not value.startswith("cuda"):
        return None
    from dff_grasp_ros.teachers.base import TeacherError, resolve_device

    try:
        resolve_device(value)
    except (TeacherError, RuntimeError) as err:  # RuntimeError: a device string torch cannot parse
        return f"is {value!r}: {err}; use auto or cpu"
    return None


def _is_wildcard(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")
