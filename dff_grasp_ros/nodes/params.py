"""Every node's ROS parameters: name, default and description, in one place.

The nodes declare exactly these (with descriptions, so ``ros2 param describe`` helps the user), the README's
parameter table is generated from them, and a test checks that ``config/dff_grasp.yaml`` and the launch file use
only names listed here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_DATA_ROOT = "~/.dff_grasp"


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any
    description: str


_COMMON = (
    ParamSpec("base_frame", "base_link", "Robot base frame (REP-105); every output pose and cloud is in it"),
)
_DATASETS = (
    ParamSpec("datasets_dir", f"{DEFAULT_DATA_ROOT}/datasets", "Directory of captured datasets (one sub-dir each)"),
)
_FIELDS = (
    ParamSpec("fields_dir", f"{DEFAULT_DATA_ROOT}/fields", "Directory of trained fields (one sub-dir each)"),
)
_CAMERA_TOPICS = (
    ParamSpec("image_topic", "/camera/color/image_raw", "sensor_msgs/Image, colour (rgb8/bgr8/...)"),
    ParamSpec("depth_topic", "/camera/aligned_depth_to_color/image_raw",
              "sensor_msgs/Image, depth registered to the colour image (16UC1 mm or 32FC1 m)"),
    ParamSpec("camera_info_topic", "/camera/color/camera_info", "sensor_msgs/CameraInfo of the colour image"),
    ParamSpec("camera_pose_topic", "/camera/pose",
              "geometry_msgs/PoseStamped: camera optical frame in base_frame (used when TF is not available)"),
    ParamSpec("camera_frame", "camera_color_optical_frame", "Camera optical frame id (REP-103 optical axes)"),
)

NODE_PARAMS: dict[str, tuple[ParamSpec, ...]] = {
    "sim_camera": _COMMON + _CAMERA_TOPICS + (
        ParamSpec("scene", "tabletop", "Built-in scene name or path of a scene YAML"),
        ParamSpec("rate_hz", 5.0, "Frames per second published"),
        ParamSpec("depth_encoding", "16UC1", "Depth image encoding: 16UC1 (millimetres) or 32FC1 (metres)"),
        ParamSpec("loop", True, "Start the scan trajectory again after its last view"),
        ParamSpec("publish_tf", True, "Also broadcast base_frame -> camera_frame on /tf when tf2_ros is importable"),
    ),
    "capture": _COMMON + _DATASETS + _CAMERA_TOPICS + (
        ParamSpec("pose_source", "auto", "auto (TF if tf2_ros is importable, else the pose topic), tf or topic"),
        ParamSpec("default_views", 48, "Views to keep when a capture goal asks for 0"),
        ParamSpec("min_views", 8, "Fewest views a dataset may be written with (on timeout)"),
        ParamSpec("sync_slop_s", 0.05, "Largest stamp difference between image, depth, info and pose in one set"),
        ParamSpec("max_pose_age_s", 0.02, "Largest gap between a pose stamp and its image stamp (< sync_slop_s)"),
        ParamSpec("min_view_distance_m", 0.02, "A view closer than this to a kept view (and within the angle) is skipped"),
        ParamSpec("min_view_angle_deg", 5.0, "A view within this angle of a kept view (and within the distance) is skipped"),
        ParamSpec("min_sharpness", 5.0,
                  "Lowest variance of the Laplacian (grey levels^2, at a fixed resolution); blurrier images are "
                  "skipped (0 disables)"),
    ),
    "trainer": _COMMON + _DATASETS + _FIELDS + (
        ParamSpec("teacher", "clip", "Language teacher: clip (with dino for grouping), or synthetic (with "
                                       "synthetic_dino; simulated scenes only)"),
        ParamSpec("method", "dff", "nerfstudio method config: dff (quality) or dff-tiny (fast, CPU tests)"),
        ParamSpec("steps", 0, "Training steps when a goal asks for 0 (0 = the method's default)"),
        ParamSpec("device", "auto", "auto (CUDA when present), cuda or cpu"),
        ParamSpec("clip_checkpoint", "", "Path of CLIP weights when they are not in the open_clip/HF cache"),
        ParamSpec("dino_checkpoint", "", "Path of DINO weights when they are not in the timm/HF cache"),
    ),
    "query": _COMMON + _FIELDS + (
        ParamSpec("relevancy_threshold", 0.0, "Relevancy above which a point belongs to the asked object "
                                              "(0 = the library default)"),
        ParamSpec("gripper_max_opening_m", 0.08, "Largest finger opening of the parallel-jaw gripper"),
        ParamSpec("gripper_finger_depth_m", 0.045, "Finger length along the approach axis"),
        ParamSpec("gripper_finger_thickness_m", 0.01, "Finger size along the closing axis"),
        ParamSpec("gripper_finger_width_m", 0.02, "Finger size across the closing axis"),
        ParamSpec("gripper_clearance_m", 0.005, "Opening added on each side of the contacts before the approach"),
        ParamSpec("gripper_min_clearance_m", 0.002, "Tightest clearance per side, used only where a neighbour "
                                                    "leaves no room for gripper_clearance_m"),
        ParamSpec("table_z_m", 0.0, "Height of the table or bin floor in base_frame: grasps clear it, and points "
                                    "within 5 mm above it never belong to an object"),
        ParamSpec("pre_grasp_standoff_m", 0.10, "Distance of the pre-grasp pose behind the grasp along -z"),
        ParamSpec("max_candidates", 10, "Ranked grasp candidates returned"),
        ParamSpec("max_cloud_points", 100000, "Points published in the relevancy cloud (voxel-thinned above)"),
        ParamSpec("device", "auto", "Device for the text encoder: auto, cuda or cpu"),
    ),
}


def defaults(node: str) -> dict[str, Any]:
    return {spec.name: spec.default for spec in NODE_PARAMS[node]}


def all_param_names() -> set[str]:
    return {spec.name for specs in NODE_PARAMS.values() for spec in specs}


def markdown_table() -> str:
    """The README's parameter table (kept in sync by a test)."""
    lines = ["| node | parameter | default | description |", "| --- | --- | --- | --- |"]
    for node, specs in NODE_PARAMS.items():
        for spec in specs:
            lines.append(f"| {node} | `{spec.name}` | `{spec.default!r}` | {spec.description} |")
    return "\n".join(lines)
