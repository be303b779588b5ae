"""config/dff_grasp.rviz against what the nodes publish: every topic, message type and QoS, read from the source.

The nodes' publishers are found statically (``create_publisher(Type, topic, qos)`` in ``nodes/*.py``): topics
from ``names.py`` or the node's parameter defaults, QoS from ``nodes/common.latched_qos`` or a plain depth.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from dff_grasp_ros import names
from dff_grasp_ros.nodes.common import latched_qos
from dff_grasp_ros.nodes.params import defaults

REPO = Path(__file__).resolve().parents[1]
RVIZ = REPO / "config" / "dff_grasp.rviz"
NODES_DIR = REPO / "dff_grasp_ros" / "nodes"
DISPLAY_TYPES = {"rviz_default_plugins/PointCloud2": "sensor_msgs/msg/PointCloud2",
                 "rviz_default_plugins/MarkerArray": "visualization_msgs/msg/MarkerArray",
                 "rviz_default_plugins/Pose": "geometry_msgs/msg/PoseStamped",
                 "rviz_default_plugins/Image": "sensor_msgs/msg/Image"}
RVIZ_DURABILITY = {"Transient Local": DurabilityPolicy.TRANSIENT_LOCAL, "Volatile": DurabilityPolicy.VOLATILE}
RVIZ_RELIABILITY = {"Reliable": ReliabilityPolicy.RELIABLE, "Best Effort": ReliabilityPolicy.BEST_EFFORT}


@dataclass(frozen=True)
class Publisher:
    node: str
    topic: str
    msg_type: str
    qos: QoSProfile


def _imported_types(tree: ast.Module) -> dict[str, str]:
    """Local name -> 'pkg/msg/Type' for ``from pkg.msg import Type`` lines."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith(".msg"):
            for alias in node.names:
                out[alias.asname or alias.name] = f"{node.module.replace('.', '/')}/{alias.name}"
    return out


def _topic(expr: ast.expr, node_name: str) -> str:
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "names":
        return getattr(names, expr.attr)
    if isinstance(expr, ast.Attribute) and ast.unparse(expr.value) == "self.p":
        return defaults(node_name)[expr.attr]
    raise AssertionError(f"{node_name}: cannot resolve the topic {ast.unparse(expr)}")


def _qos(expr: ast.expr, node_name: str) -> QoSProfile:
    if isinstance(expr, ast.Call) and ast.unparse(expr.func) == "latched_qos" and not expr.args:
        return latched_qos()
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int):
        return QoSProfile(depth=expr.value)  # rclpy's default: reliable, volatile, keep last
    raise AssertionError(f"{node_name}: cannot resolve the QoS {ast.unparse(expr)}")


def node_publishers() -> list[Publisher]:
    found = []
    for path in sorted(NODES_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        types = _imported_types(tree)
        for call in ast.walk(tree):
            if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "create_publisher":
                kind, topic, qos = call.args[:3]
                found.append(Publisher(path.stem, _topic(topic, path.stem), types[kind.id], _qos(qos, path.stem)))
    return found


def rviz_displays() -> list[dict]:
    return yaml.safe_load(RVIZ.read_text())["Visualization Manager"]["Displays"]


def test_the_publisher_scan_finds_the_query_and_camera_publishers():
    by_topic = {p.topic: p for p in node_publishers()}
    assert by_topic[names.RELEVANCY_CLOUD_TOPIC].msg_type == "sensor_msgs/msg/PointCloud2"
    assert by_topic[names.RELEVANCY_CLOUD_TOPIC].qos.durability == DurabilityPolicy.TRANSIENT_LOCAL
    assert by_topic[defaults("sim_camera")["image_topic"]].qos.depth == 5
    assert names.SCAN_STATUS_TOPIC in by_topic


def test_every_rviz_topic_matches_a_publisher_in_type_and_qos():
    publishers = {p.topic: p for p in node_publishers()}
    with_topics = [d for d in rviz_displays() if "Topic" in d]
    assert len(with_topics) >= 4
    for display in with_topics:
        topic = display["Topic"]
        where = f"{display['Name']} ({topic['Value']})"
        assert topic["Value"] in publishers, f"{where}: no node publishes it"
        publisher = publishers[topic["Value"]]
        assert DISPLAY_TYPES[display["Class"]] == publisher.msg_type, where
        durability, reliability = RVIZ_DURABILITY[topic["Durability Policy"]], RVIZ_RELIABILITY[
            topic["Reliability Policy"]]
        assert topic["History Policy"] == "Keep Last" and topic["Depth"] >= 1, where
        # DDS request-offered rules: a reliable or transient-local reader needs a writer that offers as much ...
        if reliability == ReliabilityPolicy.RELIABLE:
            assert publisher.qos.reliability == ReliabilityPolicy.RELIABLE, where
        if durability == DurabilityPolicy.TRANSIENT_LOCAL:
            assert publisher.qos.durability == DurabilityPolicy.TRANSIENT_LOCAL, where
        # ... and a latched answer must be read latched, or RViz started after the query shows nothing.
        if publisher.qos.durability == DurabilityPolicy.TRANSIENT_LOCAL:
            assert durability == DurabilityPolicy.TRANSIENT_LOCAL, f"{where}: the publisher is latched"
            assert topic["Depth"] == publisher.qos.depth, where


def test_rviz_shows_the_answer_and_the_camera_frame():
    displays = {d["Class"]: d for d in rviz_displays()}
    topics = {d["Topic"]["Value"] for d in rviz_displays() if "Topic" in d}
    assert {names.RELEVANCY_CLOUD_TOPIC, names.GRASP_MARKERS_TOPIC, names.GRASP_POSE_TOPIC} <= topics
    assert displays["rviz_default_plugins/TF"]["Enabled"] and displays["rviz_default_plugins/TF"]["Frames"][
        "All Enabled"], "the camera optical frame (and tool) show through TF"
    assert displays["rviz_default_plugins/Pose"]["Shape"] == "Axes"
    config = yaml.safe_load(RVIZ.read_text())["Visualization Manager"]
    assert config["Global Options"]["Fixed Frame"] == defaults("query")["base_frame"]


def test_relevancy_cloud_is_coloured_by_the_field_the_query_publishes():
    from dff_grasp_ros.ros_io.pointcloud import make_pointcloud2

    cloud = next(d for d in rviz_displays() if d["Class"] == "rviz_default_plugins/PointCloud2")
    assert cloud["Color Transformer"] == "Intensity" and not cloud["Autocompute Intensity Bounds"]
    assert (cloud["Min Intensity"], cloud["Max Intensity"]) == (0, 1)
    published = make_pointcloud2(np.zeros((2, 3), np.float32), frame_id="base_link",
                                 relevancy=np.array([0.1, 0.9], np.float32))
    assert cloud["Channel Name"] in [field.name for field in published.fields]


@pytest.mark.parametrize("line", ["Class: rviz_default_plugins/TF", "Value: Orbit (rviz_default_plugins)"])
def test_rviz_file_is_rviz2_format(line):
    assert line in RVIZ.read_text()
