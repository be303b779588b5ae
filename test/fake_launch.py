"""Just enough of `launch` / `launch_ros` to evaluate launch/bringup.launch.py where ROS's launch is absent.

The fakes record what the launch file builds (nodes, arguments, conditions) so a test can check it statically.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class LaunchConfiguration:
    variable_name: str


@dataclass
class PathJoinSubstitution:
    parts: list


@dataclass
class FindPackageShare:
    package: str


@dataclass
class IfCondition:
    predicate: Any


@dataclass
class DeclareLaunchArgument:
    name: str
    default_value: Any = None
    description: str = ""


@dataclass
class Node:
    package: str
    executable: str
    name: str | None = None
    parameters: list = field(default_factory=list)
    condition: Any = None
    remappings: list = field(default_factory=list)
    output: str = "log"
    emulate_tty: bool = False
    arguments: list = field(default_factory=list)


@dataclass
class LaunchDescription:
    entities: list


def _module(name: str, **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def load_launch_description(path: Path) -> LaunchDescription:
    fakes = {
        "launch": _module("launch", LaunchDescription=LaunchDescription),
        "launch.actions": _module("launch.actions", DeclareLaunchArgument=DeclareLaunchArgument),
        "launch.conditions": _module("launch.conditions", IfCondition=IfCondition),
        "launch.substitutions": _module("launch.substitutions", LaunchConfiguration=LaunchConfiguration,
                                        PathJoinSubstitution=PathJoinSubstitution),
        "launch_ros": _module("launch_ros"),
        "launch_ros.actions": _module("launch_ros.actions", Node=Node),
        "launch_ros.substitutions": _module("launch_ros.substitutions", FindPackageShare=FindPackageShare),
    }
    saved = {name: sys.modules.get(name) for name in fakes}
    sys.modules.update(fakes)
    try:
        spec = importlib.util.spec_from_file_location("bringup_launch", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.generate_launch_description()
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old
