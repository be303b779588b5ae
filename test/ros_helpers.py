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


def publish_latched(topic: str, message: Any, node_name: str = "test_publisher", timeout_s: float = 10.0) -> None:
    """Publish ``message`` once on a latched (transient-local) topic, as a node that then goes away.

    The publisher lives until a subscriber has matched *and* acknowledged the message: under load a late joiner
    fetches it from the publisher's history some time after matching, and a fixed pause lost it (the query
    node never heard of the field a test announced).
    """
    from rclpy.duration import Duration

    from dff_grasp_ros.clients import ros_node
    from dff_grasp_ros.nodes.common import latched_qos

    with ros_node(node_name) as node:
        publisher = node.create_publisher(type(message), topic, latched_qos())
        publisher.publish(message)
        deadline = time.monotonic() + timeout_s
        while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        publisher.wait_for_all_acked(Duration(seconds=max(deadline - time.monotonic(), 0.1)))


def logs(log_dir: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(log_dir.glob("*.log")))


def wait_until(predicate, timeout_s: float = 60.0, period_s: float = 0.3) -> bool:
    """Poll ``predicate`` every ``period_s`` until it is true (True) or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(period_s)
    return False
