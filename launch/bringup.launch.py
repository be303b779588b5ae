"""Bring up dff_grasp: capture, trainer, query and hand_eye nodes, the simulated camera with sim:=true, RViz with
rviz:=true.

    ros2 launch dff_grasp bringup.launch.py                       # real camera (remap topics in the params file)
    ros2 launch dff_grasp bringup.launch.py sim:=true scene:=bin_clutter device:=cuda rviz:=true

The pip-only equivalent is ``dff-grasp bringup [--params FILE] [--sim SCENE]`` (same executables, same file).
"""
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription

PACKAGE = "dff_grasp"


def generate_launch_description() -> LaunchDescription:
    params_file = LaunchConfiguration("params_file")
    sim = LaunchConfiguration("sim")
    scene = LaunchConfiguration("scene")
    device = LaunchConfiguration("device")
    teacher = LaunchConfiguration("teacher")
    rviz = LaunchConfiguration("rviz")

    def node(executable: str, extra: dict | None = None, condition=None) -> Node:
        return Node(package=PACKAGE, executable=executable, name=executable, output="screen",
                    parameters=[params_file] + ([extra] if extra else []), condition=condition,
                    emulate_tty=True)

    return LaunchDescription([
        DeclareLaunchArgument("params_file",
                              default_value=PathJoinSubstitution([FindPackageShare(PACKAGE), "config",
                                                                  "dff_grasp.yaml"]),
                              description="Parameters of all nodes (config/dff_grasp.yaml)"),
        DeclareLaunchArgument("sim", default_value="false", description="Start the simulated arm camera"),
        DeclareLaunchArgument("scene", default_value="tabletop", description="Simulated scene (with sim:=true)"),
        DeclareLaunchArgument("device", default_value="auto", description="Training/query device: auto, cuda, cpu"),
        DeclareLaunchArgument("teacher", default_value="clip",
                              description="Language teacher: clip, or synthetic (simulated scenes only)"),
        DeclareLaunchArgument("rviz", default_value="false",
                              description="Start RViz with config/dff_grasp.rviz (relevancy cloud, grasp, camera)"),
        node("sim_camera", {"scene": scene}, condition=IfCondition(sim)),
        node("capture"),
        node("trainer", {"device": device, "teacher": teacher}),
        node("query", {"device": device}),
        node("hand_eye"),
        Node(package="rviz2", executable="rviz2", name="rviz2", output="screen", condition=IfCondition(rviz),
             arguments=["-d", PathJoinSubstitution([FindPackageShare(PACKAGE), "config", "dff_grasp.rviz"])]),
    ])
