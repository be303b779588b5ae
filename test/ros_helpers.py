"""Helpers for tests that start dff_grasp nodes as separate processes and talk to them over DDS."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from dff_grasp_ros.bringup import node_command
from dff_grasp_ros.process_group import ProcessGroup

REPO = Path(__file__).resolve().parents[1]
PARAMS = REPO / "config" / "dff_grasp.yaml"


def small_scene_file(tmp_path: Path, base: str = "tabletop", width: int = 160, views: int = 48) -> Path:
    """A built-in scene at a small image size (fast to render and train on), written as a scene YAML."""
    from dff_grasp_ros.synthetic import load_scene

    data = load_scene(base).to_dict()
    scale = width / data["camera"]["width"]
    camera = data["camera"]
    data["camera"] = {"width": width, "height": int(round(camera["height"] * scale)),
                      "fx": camera["fx"] * scale, "fy": camera["fy"] * scale}
    data["scan"]["views"] = views
    path = tmp_path / f"{base}_small.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def start_nodes(group: ProcessGroup, nodes: dict[str, dict[str, Any]], env: dict[str, str], log_dir: Path) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    for name, overrides in nodes.items():
        group.start(name, node_command(name, PARAMS, overrides), env=env,
                    stdout=open(log_dir / f"{name}.log", "w"))  # noqa: SIM115 - the group closes it on stop()


def logs(log_dir: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(log_dir.glob("*.log")))


def wait_until(predicate, timeout_s: float = 60.0) -> bool:
    """Poll ``predicate`` every 0.3 s until it is true (True) or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False
