"""Every node's ROS parameters as typed dataclasses: name, type, default, description and allowed range.

The dataclasses are the one registry: the nodes declare exactly these fields (with descriptions, so ``ros2 param
describe`` helps the user) and read them back into an instance, the README's parameter table is generated from
them (``dff-grasp params --markdown``), and a test checks that ``config/dff_grasp.yaml`` and the launch file use
only names listed here. Importing this module needs no ROS.
"""
from __future__ import annotations

import dataclasses
import math
import os
import pwd
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dff_grasp_ros.capture.scan_poses import MAX_SCAN_CENTER_M
from dff_grasp_ros.dataset import MIN_TRAINING_VIEWS
from dff_grasp_ros.errors import InputError, expand_home
from dff_grasp_ros.grasp.suction_cup import END_EFFECTORS, PARALLEL_JAW, SuctionCup
from dff_grasp_ros.query.part_margins import DEFAULT_MIN_PART_CONTRAST, DEFAULT_MIN_PART_TOP

DEFAULT_DATA_ROOT = "~/.dff_grasp"


def param(default: Any, description: str, *, minimum: float | None = None, maximum: float | None = None,
          choices: tuple[Any, ...] | None = None) -> Any:
    """A dataclass field that is a node parameter (the bounds are inclusive). A tuple ``default`` makes a list
    parameter (a ROS array): ``choices`` are then the values its items may take, each at most once."""
    return field(default=default, metadata={"description": description, "minimum": minimum, "maximum": maximum,
                                            "choices": choices})


@dataclass(frozen=True)
class ParamSpec:
    """One parameter as the README table and the launch checks see it."""

    name: str
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable for this parameter, or None when it is."""
        if isinstance(self.default, list):
            return self._list_problem(value)
        expected = type(self.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not expected:
            return f"must be {expected.__name__}, got {type(value).__name__} {value!r}"
        if expected is float and not math.isfinite(value):
            return f"must be finite, got {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(map(str, self.choices))}, got {value!r}"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum}, got {value!r}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {self.maximum}, got {value!r}"
        if expected is str:
            return name_problem(self.name, value)
        return None

    def _list_problem(self, value: Any) -> str | None:
        """A list parameter (a ROS string array; rclpy hands a declared tuple back as is): at least one item, each
        of ``choices`` and none twice (the items are tried in order: a repeat would be tried twice)."""
        if value is None or (isinstance(value, (list, tuple)) and not value):  # rcl reads `-p name:=[]` as no value
            return f"must name at least one, got {'none' if value is None else '[]'}"
        if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
            return f"must be a list of strings, got {type(value).__name__} {value!r}"
        unknown = [item for item in value if self.choices is not None and item not in self.choices]
        if unknown:
            return f"must name only {', '.join(map(str, self.choices or ()))}, got {unknown[0]!r}"
        if len(set(value)) != len(value):
            return f"must name each at most once, got {list(value)!r}"
        return None


_ROS_NAME_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def name_problem(parameter: str, value: str) -> str | None:
    """Why a topic name, frame id or folder is not one (None when it is), judged by the parameter's suffix: found
    at start, not when a goal first subscribes (rclpy: InvalidTopicNameException) or writes into the cwd."""
    if parameter.endswith("_topic"):
        body = value[2:] if value.startswith("~/") else value[1:] if value.startswith("/") else value
        if not value or not all(_ROS_NAME_TOKEN.fullmatch(token) for token in body.split("/")):
            return (f"must be a ROS topic name ('/'-separated letters, digits and underscores, no token starting "
                    f"with a digit), got {value!r}")
    elif parameter.endswith("_frame") and (not value or any(char.isspace() for char in value)):
        return f"must be a frame id without spaces, got {value!r}"
    elif parameter.endswith("_dir") and not value.strip():
        return f"must name a folder, got {value!r}"
    elif parameter.endswith(("_dir", "_file")):
        return _expansion_problem(value)
    return None


def _expansion_problem(path: str) -> str | None:
    """A ``~user`` or ``$VAR`` of a folder or file parameter that stands for nothing here, or None: expanded as
    :func:`expand_data_dir` does, it would stay literal and name a folder under the node's working directory."""
    where = f"(the path would stay {path!r}, under the node's working directory)"
    head = path.split("/", 1)[0]
    if head.startswith("~") and head != "~":
        try:
            pwd.getpwnam(head[1:])
        except KeyError:
            return f"names {head}, a user who does not exist {where}"
    unset = unset_variable(path)
    if unset:
        return f"names ${unset}, which is not set in this environment {where}"
    return None


def unset_variable(path: str) -> str | None:
    """The name of the first ``$VAR`` or ``${VAR}`` in ``path`` that is not set here (os.path.expandvars leaves
    it as it is), or None."""
    unset = re.search(r"\$(\w+|\{[^}]*\})", os.path.expandvars(path))
    return unset.group(1).strip("{}") if unset else None


@dataclass(frozen=True)
class _Frames:
    base_frame: str = param("base_link", "Robot base frame (REP-105); every output pose and cloud is in it")


@dataclass(frozen=True)
class _ColourCamera:
    image_topic: str = param("/camera/color/image_raw", "sensor_msgs/Image, colour (rgb8/bgr8/...)")
    camera_info_topic: str = param("/camera/color/camera_info", "sensor_msgs/CameraInfo of the colour image")
    camera_frame: str = param("camera_color_optical_frame", "Camera optical frame id (REP-103 optical axes)")


@dataclass(frozen=True)
class _CameraTopics(_ColourCamera):
    depth_topic: str = param("/camera/aligned_depth_to_color/image_raw",
                             "sensor_msgs/Image, depth registered to the colour image (16UC1 mm or 32FC1 m)")
    camera_pose_topic: str = param("/camera/pose", "geometry_msgs/PoseStamped: camera optical frame in base_frame "
                                                   "(used when TF is not available)")


@dataclass(frozen=True)
class _Tool:
    tool_frame: str = param("tool0", "Tool (flange) frame the camera is mounted on")
    tool_pose_topic: str = param("/tool/pose", "geometry_msgs/PoseStamped: tool_frame in base_frame (used when TF "
                                               "is not available)")


@dataclass(frozen=True)
class _CharucoBoard:
    board_squares_x: int = param(7, "ChArUco board: squares along its x (long) side", minimum=3, maximum=100)
    board_squares_y: int = param(5, "ChArUco board: squares along its y side", minimum=3, maximum=100)
    board_square_length_m: float = param(0.04, "ChArUco board: side of one square as printed (measure it)",
                                         minimum=0.001, maximum=1.0)
    board_marker_length_m: float = param(0.03, "ChArUco board: side of one ArUco marker as printed", minimum=0.001,
                                         maximum=1.0)
    board_dictionary: str = param("DICT_5X5_100", "ChArUco board: ArUco dictionary (OpenCV name)")


@dataclass(frozen=True)
class _Datasets:
    datasets_dir: str = param(f"{DEFAULT_DATA_ROOT}/datasets", "Directory of captured datasets (one sub-dir each)")


@dataclass(frozen=True)
class _Fields:
    fields_dir: str = param(f"{DEFAULT_DATA_ROOT}/fields", "Directory of trained fields (one sub-dir each)")


@dataclass(frozen=True)
class SimCameraParams(_CharucoBoard, _Tool, _CameraTopics, _Frames):
    scene: str = param("tabletop", "Built-in scene name or path of a scene YAML")
    rate_hz: float = param(5.0, "Frames per second published", minimum=0.01, maximum=1000.0)
    depth_encoding: str = param("16UC1", "Depth image encoding: 16UC1 (millimetres) or 32FC1 (metres)",
                                choices=("16UC1", "32FC1"))
    loop: bool = param(True, "Start the scan trajectory again after its last view")
    publish_tf: bool = param(True, "Also broadcast base_frame -> tool_frame -> camera_frame on /tf when tf2_ros "
                                   "is importable")
    hold_frames: int = param(1, "Frames published at each scan pose before moving on (an arm stopping there; "
                                "hand_eye wants the tool still_time_s still before an image)", minimum=1,
                             maximum=1000)
    camera_mount_x_m: float = param(0.035, "Simulated wrist camera: optical frame x in tool_frame", minimum=-1.0,
                                    maximum=1.0)
    camera_mount_y_m: float = param(-0.06, "Simulated wrist camera: optical frame y in tool_frame", minimum=-1.0,
                                    maximum=1.0)
    camera_mount_z_m: float = param(0.045, "Simulated wrist camera: optical frame z in tool_frame", minimum=-1.0,
                                    maximum=1.0)
    camera_mount_roll_deg: float = param(2.0, "Simulated wrist camera: roll about tool x (extrinsic x, y, z)",
                                         minimum=-180.0, maximum=180.0)
    camera_mount_pitch_deg: float = param(-3.0, "Simulated wrist camera: pitch about tool y", minimum=-180.0,
                                          maximum=180.0)
    camera_mount_yaw_deg: float = param(90.0, "Simulated wrist camera: yaw about tool z", minimum=-180.0,
                                        maximum=180.0)
    calibration_board: bool = param(False, "Calibration session: clear the table, lay the board_* ChArUco board "
                                           "on it and view it from poses that turn the tool about all axes")
    calibration_views: int = param(15, "Poses of a calibration session", minimum=3, maximum=1000)


@dataclass(frozen=True)
class CaptureParams(_CameraTopics, _Datasets, _Frames):
    pose_source: str = param("auto", "auto (TF if tf2_ros is importable, else the pose topic), tf or topic",
                             choices=("auto", "tf", "topic"))
    default_views: int = param(48, "Views to keep when a capture goal asks for 0", minimum=1, maximum=10000)
    min_views: int = param(8, "Fewest views a dataset may be written with (on timeout)", minimum=MIN_TRAINING_VIEWS,
                           maximum=10000)  # fewer: a dataset training refuses, the scan lost
    sync_slop_s: float = param(0.05, "Largest stamp difference between image, depth, info and pose in one set",
                               minimum=0.0, maximum=10.0)
    max_pose_age_s: float = param(0.02, "Largest gap between a pose stamp and its image stamp (< sync_slop_s)",
                                  minimum=0.0, maximum=10.0)
    min_view_distance_m: float = param(0.02, "A view closer than this to a kept view (and within the angle) is "
                                             "skipped", minimum=0.0, maximum=10.0)
    min_view_angle_deg: float = param(5.0, "A view within this angle of a kept view (and within the distance) is "
                                           "skipped", minimum=0.0, maximum=180.0)
    min_sharpness: float = param(5.0, "Lowest variance of the Laplacian (grey levels^2, at a fixed resolution); "
                                      "blurrier images are skipped (0 disables)", minimum=0.0)


@dataclass(frozen=True)
class TrainerParams(_Fields, _Datasets, _Frames):
    teacher: str = param("clip", "Language teacher: clip (with dino for grouping), or synthetic (with "
                                 "synthetic_dino; simulated scenes only)")
    method: str = param("dff", "nerfstudio method config: dff (quality) or dff-tiny (fast, CPU tests)",
                        choices=("dff", "dff-tiny"))
    steps: int = param(0, "Training steps when a goal asks for 0 (0 = the method's default)", minimum=0,
                       maximum=1_000_000)
    device: str = param("auto", "auto (CUDA when present), cuda or cpu", choices=("auto", "cuda", "cpu"))
    cpu_threads: int = param(0, "Threads torch trains with on the CPU; 0 = chosen while training: torch's default "
                                "(one per core) while the cores are free, one fewer while another process keeps one "
                                "busy", minimum=0, maximum=1024)
    clip_checkpoint: str = param("", "Path of CLIP weights when they are not in the open_clip/HF cache")
    dino_checkpoint: str = param("", "Path of DINO weights when they are not in the timm/HF cache")


_CUP = SuctionCup()  # the suction cup's defaults are the library's (grasp.suction: the planner, not imported here)


@dataclass(frozen=True)
class QueryNodeParams(_CameraTopics, _Fields, _Frames):
    relevancy_threshold: float = param(0.0, "Relevancy above which a point belongs to the asked object "
                                            "(0 = the library default)", minimum=0.0, maximum=0.999)
    min_part_contrast: float = param(DEFAULT_MIN_PART_CONTRAST, "Parts: how far the asked part's best points must "
                                     "stand out over the object's mean (logits against the other part names)",
                                     minimum=0.0, maximum=100.0)
    min_part_top: float = param(DEFAULT_MIN_PART_TOP, "Parts: how much better than the other part names the asked "
                                "part must fit at its best points (logits; 1.0 = a cosine of 0.1; a refusal names "
                                "the value seen)", minimum=-100.0, maximum=100.0)
    gripper_max_opening_m: float = param(0.08, "Largest finger opening of the parallel-jaw gripper", minimum=0.005,
                                         maximum=0.5)
    gripper_finger_depth_m: float = param(0.045, "Finger length along the approach axis", minimum=0.005,
                                          maximum=0.5)
    gripper_finger_thickness_m: float = param(0.01, "Finger size along the closing axis", minimum=0.001,
                                              maximum=0.1)
    gripper_finger_width_m: float = param(0.02, "Finger size across the closing axis", minimum=0.001, maximum=0.2)
    gripper_clearance_m: float = param(0.005, "Opening added on each side of the contacts before the approach",
                                       minimum=0.0, maximum=0.1)
    gripper_min_clearance_m: float = param(0.002, "Tightest clearance per side, used only where a neighbour leaves "
                                                  "no room for gripper_clearance_m", minimum=0.0, maximum=0.1)
    end_effectors: tuple[str, ...] = param(
        (PARALLEL_JAW,), "Tools of the cell, tried in this order: the first with a grasp on the asked object "
                         "answers (the answer's end_effector says which)", choices=END_EFFECTORS)
    suction_cup_radius_m: float = param(_CUP.cup_radius_m, "Suction cup: radius of the lip, where it seals",
                                        minimum=0.002, maximum=0.1)
    suction_lip_compliance_m: float = param(_CUP.lip_compliance_m, "Suction cup: height difference of the "
                                            "surface along the lip that the lip still seals over", minimum=0.0001,
                                            maximum=0.05)
    suction_rod_length_m: float = param(_CUP.rod_length_m, "Suction tool: rod from the cup to the tool body "
                                        "(keeps the wrist above bin walls)", minimum=0.005, maximum=1.0)
    suction_vacuum_kpa: float = param(_CUP.vacuum_kpa, "Suction: pressure difference the vacuum generator "
                                      "holds under a sealed cup, kPa", minimum=1.0, maximum=100.0)
    suction_max_approach_tilt_deg: float = param(90.0, "Suction: approaches further than this from straight down "
                                                       "are never tried (90: down to a side face)", minimum=0.0,
                                                 maximum=180.0)
    push_offer: bool = param(True, "When no tool has a grasp on the asked object: offer a push with the jaws' closed "
                                   "fingers that would free it (push_* fields of the answer; success stays false)")
    table_z_m: float = param(0.0, "Height of the table or bin floor in base_frame: grasps clear it, and points "
                                  "within 5 mm above it never belong to an object", minimum=-10.0, maximum=10.0)
    pre_grasp_standoff_m: float = param(0.10, "Distance of the pre-grasp pose behind the grasp along -z",
                                        minimum=0.0, maximum=1.0)
    max_candidates: int = param(10, "Ranked grasp candidates returned", minimum=1, maximum=1000)
    max_cloud_points: int = param(100000, "Points published in the relevancy cloud (voxel-thinned above)",
                                  minimum=1, maximum=10_000_000)
    device: str = param("auto", "Device for the text encoder: auto, cuda or cpu", choices=("auto", "cuda", "cpu"))
    cpu_threads: int = param(1, "Threads a query and a scene update compute with in numpy's BLAS, OpenMP and torch "
                                "(0 = the libraries' default, one per core): on one, an answer never waits for a "
                                "thread that another busy process holds", minimum=0, maximum=1024)
    pose_source: str = param("auto", "Camera pose for /dff/update_scene from: auto (TF if tf2_ros is importable, "
                                     "else camera_pose_topic), tf or topic", choices=("auto", "tf", "topic"))
    update_timeout_s: float = param(10.0, "/dff/update_scene: longest wait for the next synchronised camera view "
                                          "when the request asks for 0", minimum=0.1, maximum=600.0)
    sync_slop_s: float = param(0.05, "/dff/update_scene: largest stamp difference between image, depth, info and "
                                     "pose in one view", minimum=0.0, maximum=10.0)
    max_pose_age_s: float = param(0.02, "/dff/update_scene: largest gap between the pose stamp and the image stamp",
                                  minimum=0.0, maximum=10.0)
    update_see_through_margin_m: float = param(0.006, "/dff/update_scene: a served point is gone where the new depth "
                                                     "lies this far behind it (about 3x the camera's depth noise)",
                                               minimum=0.001, maximum=0.5)
    update_max_pose_correction_m: float = param(
        0.03, "/dff/update_scene: the view's camera position is corrected by up to this much to fit the served scene "
              "(hand-eye or TF error); a view that needs more is refused. 0: the pose is used as given",
        minimum=0.0, maximum=0.2)
    update_max_depth_scale_error: float = param(
        0.008, "/dff/update_scene: a view whose depth fits the served scene only scaled by more than this share "
               "(a depth unit or scale changed since the scan) is refused; checked with the pose correction (not "
               "when update_max_pose_correction_m is 0)", minimum=0.001, maximum=0.5)
    update_max_image_scale_error: float = param(
        0.015, "/dff/update_scene: a view whose image fits the served scene only scaled about the optical axis by "
               "more than this share (the focal length in CameraInfo changed since the scan) is refused; checked "
               "with the pose correction", minimum=0.001, maximum=0.5)


@dataclass(frozen=True)
class _ScanCap:
    scan_center_x_m: float = param(0.5, "Scan poses: workspace centre the camera looks at, x in base_frame",
                                   minimum=-MAX_SCAN_CENTER_M, maximum=MAX_SCAN_CENTER_M)
    scan_center_y_m: float = param(0.0, "Scan poses: workspace centre, y in base_frame",
                                   minimum=-MAX_SCAN_CENTER_M, maximum=MAX_SCAN_CENTER_M)
    scan_center_z_m: float = param(0.0, "Scan poses: workspace centre, z in base_frame",
                                   minimum=-MAX_SCAN_CENTER_M, maximum=MAX_SCAN_CENTER_M)
    scan_radius_m: float = param(0.5, "Scan poses: camera distance from the centre", minimum=0.01, maximum=10.0)
    scan_min_elevation_deg: float = param(35.0, "Scan poses: lowest camera elevation above the centre's "
                                                "horizontal", minimum=-89.0, maximum=89.0)
    scan_max_elevation_deg: float = param(70.0, "Scan poses: highest camera elevation", minimum=-89.0,
                                          maximum=89.0)
    scan_min_azimuth_deg: float = param(-180.0, "Scan poses: azimuth range start (about +z, from +x)",
                                        minimum=-360.0, maximum=360.0)
    scan_max_azimuth_deg: float = param(180.0, "Scan poses: azimuth range end (at most 360 deg after the start)",
                                        minimum=-360.0, maximum=720.0)
    scan_count: int = param(48, "Scan poses: number of poses", minimum=1, maximum=10000)


@dataclass(frozen=True)
class HandEyeParams(_ScanCap, _CharucoBoard, _Tool, _ColourCamera, _Frames):
    calibration_dir: str = param(f"{DEFAULT_DATA_ROOT}/calibration", "Directory of calibration results "
                                 "(hand_eye.yaml) and of the views each used")
    hand_eye_file: str = param("", "Hand-eye YAML that /scan_poses turns camera poses into tool poses with ('' = "
                                   "calibration_dir/hand_eye.yaml when it exists)")
    pose_source: str = param("auto", "Tool pose from: auto (TF if tf2_ros is importable, else tool_pose_topic), "
                                     "tf or topic", choices=("auto", "tf", "topic"))
    default_views: int = param(15, "Views to collect when a calibration goal asks for 0", minimum=3, maximum=1000)
    min_views: int = param(8, "Fewest usable views calibration solves with", minimum=3, maximum=1000)
    min_view_rotation_deg: float = param(5.0, "A view whose tool orientation is this close to a kept view's is "
                                              "rejected", minimum=0.0, maximum=90.0)
    min_board_corners: int = param(8, "Fewest ChArUco corners a view must show", minimum=4, maximum=10000)
    still_time_s: float = param(0.5, "The tool must have stood still this long before an image counts (0 = no "
                                     "check)", minimum=0.0, maximum=10.0)
    max_pose_age_s: float = param(0.05, "Largest gap between a tool pose stamp and its image stamp",
                                  minimum=0.0, maximum=10.0)


NODE_PARAM_TYPES: dict[str, type] = {"sim_camera": SimCameraParams, "capture": CaptureParams,
                                     "trainer": TrainerParams, "query": QueryNodeParams, "hand_eye": HandEyeParams}


def specs_of(params_type: type) -> tuple[ParamSpec, ...]:
    """The parameters of one node's dataclass, in declaration order (shared groups first); a list parameter's
    default as the list a parameter file and rclpy hold."""
    return tuple(ParamSpec(f.name, list(f.default) if isinstance(f.default, tuple) else f.default,
                           f.metadata["description"], f.metadata["minimum"],
                           f.metadata["maximum"], f.metadata["choices"])
                 for f in dataclasses.fields(params_type))


NODE_PARAMS: dict[str, tuple[ParamSpec, ...]] = {node: specs_of(kind) for node, kind in NODE_PARAM_TYPES.items()}


def defaults(node: str) -> dict[str, Any]:
    return {spec.name: spec.default for spec in NODE_PARAMS[node]}


def typed_value(spec: ParamSpec, value: Any) -> Any:
    """A checked ``value`` as the node's dataclass holds it: a float where one is declared ("rate_hz: 5" in a YAML
    file means 5.0), ``*_dir`` with ``~`` and ``$DFF_GRASP_HOME`` expanded, a list as a tuple (the dataclasses are
    frozen)."""
    if isinstance(spec.default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if spec.name.endswith("_dir"):
        return str(expand_data_dir(value))
    if isinstance(spec.default, list):
        return tuple(value)
    return value


def params_from_values(params_type: type, node: str, values: dict[str, Any]) -> Any:
    """A node's parameters as it would declare them with ``values`` set (a parameter file's: see
    ``param_file.node_values``) and the defaults for the rest; InputError naming the first one at fault."""
    typed = {}
    for spec in specs_of(params_type):
        value = values.get(spec.name, spec.default)
        problem = spec.check(value)
        if problem:
            raise InputError(f"parameter {node}.{spec.name} {problem}")
        typed[spec.name] = typed_value(spec, value)
    return params_type(**typed)


def markdown_table() -> str:
    """The README's parameter table (kept in sync by a test)."""
    lines = ["| node | parameter | default | description |", "| --- | --- | --- | --- |"]
    for node, specs in NODE_PARAMS.items():
        for spec in specs:
            lines.append(f"| {node} | `{spec.name}` | `{spec.default!r}` | {spec.description} |")
    return "\n".join(lines)


def expand_data_dir(value: str) -> Path:
    """``~/.dff_grasp/...`` is relocated under ``$DFF_GRASP_HOME`` when that is set (tests, demo). A ``~user`` of
    no such user (:func:`expand_home`) or a ``$VAR`` not set is an InputError naming the path: os.path.expanduser
    and expandvars left them literal, and a goal's output_path became a folder named '~user' or '$VAR'
    (parameters are checked before, at start)."""
    home = os.environ.get("DFF_GRASP_HOME")
    if home and value.startswith(DEFAULT_DATA_ROOT):
        value = home + value[len(DEFAULT_DATA_ROOT):]
    unset = unset_variable(value)
    if unset:
        raise InputError(f"{value}: names ${unset}, which is not set in this environment")
    return Path(os.path.expandvars(expand_home(value)))
