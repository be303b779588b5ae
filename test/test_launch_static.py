"""Static checks of the launch file and the parameter file against setup.cfg and the nodes' declarations."""
from __future__ import annotations

import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from fake_launch import (
    DeclareLaunchArgument,
    FindPackageShare,
    IfCondition,
    LaunchConfiguration,
    Node,
    PathJoinSubstitution,
    load_launch_description,
)

from dff_grasp_ros.nodes.params import NODE_PARAMS, markdown_table

REPO = Path(__file__).resolve().parents[1]


def console_scripts() -> dict[str, str]:
    """Executables that setup.py installs (declared in setup.cfg, which setup.py and colcon both read)."""
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    lines = [line.strip() for line in parser["options.entry_points"]["console_scripts"].splitlines() if line.strip()]
    return dict(tuple(part.strip() for part in line.split("=", 1)) for line in lines)


def launch_entities():
    return load_launch_description(REPO / "launch" / "bringup.launch.py").entities


def own_nodes(entities) -> list[Node]:
    """This package's nodes (RViz is the one other)."""
    return [e for e in entities if isinstance(e, Node) and e.package == "dff_grasp"]


def test_launch_names_only_installed_executables_of_this_package():
    nodes = own_nodes(launch_entities())
    scripts = console_scripts()
    assert {n.executable for n in nodes} == {"capture", "trainer", "query", "sim_camera", "hand_eye"}
    others = [e for e in launch_entities() if isinstance(e, Node) and e.package != "dff_grasp"]
    assert [(n.package, n.executable) for n in others] == [("rviz2", "rviz2")]
    for node in nodes:
        assert node.package == "dff_grasp"
        assert node.executable in scripts, f"{node.executable} is not a console script of setup.py"
        module, func = scripts[node.executable].split(":")
        imported = __import__(module, fromlist=[func])
        assert callable(getattr(imported, func)), f"{scripts[node.executable]} is not callable"


def test_the_node_executables_are_quiet_while_they_import():
    """A console script enters through nodes/start.py, so Ctrl-C or SIGTERM while the node still imports (torch:
    seconds) ends it quietly (test_node_shutdown) instead of a KeyboardInterrupt traceback."""
    scripts = console_scripts()
    for node in own_nodes(launch_entities()):
        assert scripts[node.executable] == f"dff_grasp_ros.nodes.start:{node.executable}"


def test_launch_parameters_exist_in_config_and_nodes():
    entities = launch_entities()
    arguments = {e.name: e for e in entities if isinstance(e, DeclareLaunchArgument)}
    assert {"sim", "scene", "device", "params_file", "teacher", "rviz"} <= set(arguments)
    config = yaml.safe_load((REPO / "config" / "dff_grasp.yaml").read_text())
    for node in own_nodes(entities):
        assert node.name in config, f"config/dff_grasp.yaml has no block for node {node.name}"
        params_file, *overrides = node.parameters
        assert params_file == LaunchConfiguration("params_file")
        declared = {spec.name for spec in NODE_PARAMS[node.name]}
        for override in overrides:
            for key, value in override.items():
                assert key in declared, f"launch sets {node.name}.{key}, which the node does not declare"
                assert key in config[node.name]["ros__parameters"], f"{node.name}.{key} missing from config"
                assert isinstance(value, LaunchConfiguration) and value.variable_name in arguments
    sim_node = next(e for e in entities if isinstance(e, Node) and e.executable == "sim_camera")
    assert sim_node.condition == IfCondition(LaunchConfiguration("sim"))


def test_rviz_starts_only_with_rviz_true_and_with_the_installed_config():
    entities = launch_entities()
    rviz = next(e for e in entities if isinstance(e, Node) and e.executable == "rviz2")
    assert rviz.condition == IfCondition(LaunchConfiguration("rviz"))
    flag, config = rviz.arguments
    assert flag == "-d" and config == PathJoinSubstitution([FindPackageShare("dff_grasp"), "config",
                                                            "dff_grasp.rviz"])
    assert (REPO / "config" / "dff_grasp.rviz").is_file()
    # setup.py installs config/*.rviz next to the parameter file (colcon installs the whole config/ folder).
    assert 'glob("config/*.rviz")' in (REPO / "setup.py").read_text()


def test_config_declares_exactly_the_node_parameters():
    config = yaml.safe_load((REPO / "config" / "dff_grasp.yaml").read_text())
    assert set(config) == set(NODE_PARAMS)
    for node, specs in NODE_PARAMS.items():
        keys = set(config[node]["ros__parameters"])
        declared = {s.name for s in specs}
        assert keys == declared, f"{node}: config and declarations differ: {keys ^ declared}"
        for spec in specs:
            value = config[node]["ros__parameters"][spec.name]
            assert type(value) is type(spec.default), f"{node}.{spec.name}: {value!r} vs default {spec.default!r}"


def test_readme_parameter_table_is_current():
    assert markdown_table() in (REPO / "README.md").read_text(), "regenerate with `dff-grasp params --markdown`"


def test_package_xml_and_cmake_agree_on_interfaces():
    root = ET.parse(REPO / "package.xml").getroot()
    assert root.get("format") == "3" and root.findtext("name") == "dff_grasp"
    assert root.find("export/build_type").text == "ament_cmake"
    groups = [e.text for e in root.findall("member_of_group")]
    assert "rosidl_interface_packages" in groups
    cmake = (REPO / "CMakeLists.txt").read_text()
    on_disk = sorted(str(p.relative_to(REPO)) for d in ("msg", "srv", "action") for p in (REPO / d).iterdir())
    for rel in on_disk:
        assert f'"{rel}"' in cmake, f"{rel} is not in CMakeLists.txt's interface list"
    depends = {e.text for e in root.findall("depend")} | {e.text for e in root.findall("exec_depend")}
    assert {"rclpy", "sensor_msgs", "geometry_msgs", "std_msgs", "visualization_msgs", "launch_ros"} <= depends
