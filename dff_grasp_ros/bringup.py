"""The pip-world equivalent of ``ros2 launch dff_grasp bringup.launch.py``: the same nodes as child processes.

Same executables (the console scripts' modules), same parameter file, same launch arguments (sim, scene,
device, teacher), so the two worlds behave alike; ``--end-effectors`` is the query node's parameter, which a launch
takes from the parameter file. Children are stopped together (SIGINT, SIGTERM, SIGKILL).
The parameter file and the overrides are checked for every node before any starts (one line naming the file,
node and parameter), and so is every block of the file (one for no node bringup starts sets nothing); a node that
dies later is named with its exit status and its last line ("cannot start: ...").
"""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any

from dff_grasp_ros.errors import InputError
from dff_grasp_ros.nodes.param_file import check_node_blocks, check_params_file, unknown_parameter
from dff_grasp_ros.nodes.params import NODE_PARAM_TYPES, specs_of
from dff_grasp_ros.process_group import ProcessGroup, check_ros_domain_id, child_env

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config" / "dff_grasp.yaml"
NODES = ("capture", "trainer", "query", "hand_eye")


def default_params_file() -> Path:
    """The installed share/dff_grasp/config file, or the checkout's config/ during development."""
    installed = Path(sys.prefix) / "share" / "dff_grasp" / "config" / "dff_grasp.yaml"
    return REPO_CONFIG if REPO_CONFIG.is_file() else installed


def node_command(node: str, params_file: Path, overrides: dict[str, Any] | None = None) -> list[str]:
    cmd = [sys.executable, "-m", f"dff_grasp_ros.nodes.{node}", "--ros-args", "--params-file", str(params_file)]
    for key, value in (overrides or {}).items():
        cmd += ["-p", f"{key}:={_override_text(value)}"]
    return cmd


def _override_text(value: Any) -> str:
    """A value as rcl reads it from ``-p name:=value`` (YAML): a list of names as ``[a,b]``, a string array."""
    if isinstance(value, (list, tuple)):
        return f"[{','.join(map(_override_text, value))}]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def check_query_option(option: str, parameter: str, value: Any) -> None:
    """A command-line option that sets the query node's ``parameter``, checked as the node checks it; InputError
    naming ``option`` (the option as given) for a value the node would refuse."""
    problem = next(spec for spec in specs_of(NODE_PARAM_TYPES["query"]) if spec.name == parameter).check(value)
    if problem:
        raise InputError(f"{option}: {problem}")


def check_end_effectors(names: list[str]) -> list[str]:
    """``--end-effectors`` as the query node's ``end_effectors``; InputError, naming the option, for a value the
    node would refuse (an unknown tool, one named twice)."""
    check_query_option(f"--end-effectors {' '.join(names)}", "end_effectors", names)
    return list(names)


def launch_plan(params_file: Path, *, sim_scene: str | None = None, device: str | None = None,
                teacher: str | None = None, end_effectors: list[str] | None = None,
                extra: dict[str, dict[str, Any]] | None = None, nodes: tuple[str, ...] = NODES) -> dict[str, list[str]]:
    """Node name -> command line, mirroring launch/bringup.launch.py's arguments.

    ``nodes``: which of the product's nodes to start (all by default, as the launch file does). ``end_effectors``:
    the query node's tools, in order (None: the parameter file's). Checks the parameter file and the overrides for
    every node of the plan first (InputError, one line).
    """
    unknown = sorted(set(nodes) - set(NODES))
    if unknown:
        raise ValueError(f"unknown node(s) {unknown}; the nodes are {', '.join(NODES)}")
    overrides: dict[str, dict[str, Any]] = {name: {} for name in NODES}
    if device == "cuda":  # else every node started and the query node then stopped for want of a GPU
        from dff_grasp_ros.teachers.base import TeacherError, resolve_device

        try:
            resolve_device(device)
        except TeacherError as err:
            raise InputError(f"--device cuda: {err}; use --device auto or cpu") from None
    if device:
        overrides["trainer"]["device"] = device
        overrides["query"]["device"] = device
    if end_effectors is not None:
        overrides["query"]["end_effectors"] = check_end_effectors(end_effectors)
    if teacher:
        from dff_grasp_ros.teachers.base import TeacherError, teacher_pair

        try:  # the trainer refuses it only once every node has started: a few lines, the others stopped
            teacher_pair(teacher)
        except TeacherError as err:
            raise InputError(f"--teacher: {err}") from None
        overrides["trainer"]["teacher"] = teacher
    for name, values in (extra or {}).items():
        overrides.setdefault(name, {}).update(values)
    known = [name for name in (("sim_camera",) if sim_scene else ()) + tuple(nodes) if name in NODE_PARAM_TYPES]
    check_params_file(params_file, {name: NODE_PARAM_TYPES[name] for name in known})
    check_node_blocks(params_file, (*NODES, "sim_camera"), "bringup")  # a block for no node would set nothing
    _check_overrides({name: overrides.get(name, {}) for name in known})
    plan = {}
    if sim_scene:
        plan["sim_camera"] = node_command("sim_camera", params_file, {"scene": sim_scene,
                                                                       **(extra or {}).get("sim_camera", {})})
    for name in nodes:
        plan[name] = node_command(name, params_file, overrides[name])
    return plan


def _check_overrides(overrides: dict[str, dict[str, Any]]) -> None:
    for node, values in overrides.items():
        specs = {spec.name: spec for spec in specs_of(NODE_PARAM_TYPES[node])}
        for key, value in values.items():
            unknown = unknown_parameter(node, key, specs)
            if unknown:
                raise InputError(unknown)
            problem = specs[key].check(value) if key in specs else None  # else one of rclpy's own
            if problem:
                raise InputError(f"{node}.{key} {problem}")


def start(plan: dict[str, list[str]], env: dict[str, str] | None = None, log_dir: Path | None = None) -> ProcessGroup:
    check_ros_domain_id(child_env(env))
    group = ProcessGroup()
    try:
        for name, cmd in plan.items():
            stdout = None
            if log_dir is not None:
                log_dir.mkdir(parents=True, exist_ok=True)
                stdout = open(log_dir / f"{name}.log", "w")  # noqa: SIM115 - the group closes it on stop()
            group.start(name, cmd, env=env, stdout=stdout, keep_tail=True)
    except BaseException:
        group.stop()
        raise
    return group


def run_until_signal(group: ProcessGroup) -> int:
    """Block until Ctrl-C / SIGTERM or a node dies, then stop every node; exit code 0 on a clean stop."""
    stop = {"requested": False}

    def request_stop(signum: int, frame: Any) -> None:
        stop["requested"] = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop["requested"]:
            died = group.poll_failed()
            if died:
                for name, code in died.items():
                    print(f"dff-grasp bringup: node {name} exited with status {code}: "
                          f"{group.last_line(name, prefer=f'[{name}]') or '(no output)'}", file=sys.stderr)
                print("dff-grasp bringup: stopping the other nodes", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        group.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
