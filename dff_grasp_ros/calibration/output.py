"""What calibration hands the user: the transform as YAML, the exact static-transform line, a JSON summary.

The transform is the camera optical frame's pose in the tool frame (``camera_to_tool``), i.e. the TF
``tool_frame -> camera_frame`` that ``static_transform_publisher`` broadcasts with ``--frame-id tool_frame
--child-frame-id camera_frame``. ``load_hand_eye`` reads the YAML back (the ``/scan_poses`` service uses it).
"""
from __future__ import annotations

import math
import shlex
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.spatial.transform import Rotation

from dff_grasp_ros.atomic import atomic_write_bytes
from dff_grasp_ros.calibration.solve import HandEyeResult
from dff_grasp_ros.errors import InputError, expand_home, finite_array, read_yaml_file
from dff_grasp_ros.names import frame_name


def translation_quaternion(matrix: np.ndarray) -> tuple[list[float], list[float]]:
    """Translation (m) and (x, y, z, w) quaternion, rounded to what a launch file needs (0.01 mm, 1e-7)."""
    quaternion = Rotation.from_matrix(matrix[:3, :3]).as_quat()
    if quaternion[3] < 0:
        quaternion = -quaternion  # one of the two equal quaternions, always the same one
    return [round(float(v), 6) for v in matrix[:3, 3]], [round(float(v), 7) for v in quaternion]


def static_transform_command(camera_to_tool: np.ndarray, tool_frame: str, camera_frame: str) -> str:
    """The ``ros2 run tf2_ros static_transform_publisher`` line that publishes the calibrated transform. The frames
    are quoted for a shell where they need it: a frame id may hold anything but spaces ('cam$(...)' ran a command
    when the line was pasted)."""
    (x, y, z), (qx, qy, qz, qw) = translation_quaternion(camera_to_tool)
    return (f"ros2 run tf2_ros static_transform_publisher --x {x} --y {y} --z {z} --qx {qx} --qy {qy} --qz {qz} "
            f"--qw {qw} --frame-id {shlex.quote(tool_frame)} --child-frame-id {shlex.quote(camera_frame)}")


def result_to_dict(result: HandEyeResult, tool_frame: str, camera_frame: str,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything about one calibration, in plain types (the YAML file and ``--json`` print this)."""
    translation, quaternion = translation_quaternion(result.camera_to_tool)
    board_t, board_q = translation_quaternion(result.board_to_base)
    return {
        "parent_frame": tool_frame,
        "child_frame": camera_frame,
        "translation_m": translation,
        "quaternion_xyzw": quaternion,
        "rpy_deg": [round(float(v), 4) for v in
                    Rotation.from_matrix(result.camera_to_tool[:3, :3]).as_euler("xyz", degrees=True)],
        "static_transform_command": static_transform_command(result.camera_to_tool, tool_frame, camera_frame),
        "quality": result.quality,
        "verdict": result.verdict,
        "method": result.method,
        "rotation_residual_deg": round(result.rotation_residual_deg, 4),
        "translation_residual_mm": round(result.translation_residual_mm, 3),
        "reprojection_rms_px": round(result.reprojection_rms_px, 3),
        "methods": [{"method": m.method, "rotation_deg": round(m.rotation_deg, 4),
                     "translation_mm": round(m.translation_mm, 3),
                     "error_at_board_mm": round(float(m.error_at_board_mm), 3)} for m in result.methods],
        "views": [{"name": v.name, "reprojection_rms_px": round(v.reprojection_rms_px, 3),
                   "board_rotation_deg": round(v.board_rotation_deg, 4),
                   "board_translation_mm": round(v.board_translation_mm, 3)} for v in result.views],
        "rejected": [{"name": r.name, "reason": r.reason} for r in result.rejected],
        "board_in_base": {"translation_m": board_t, "quaternion_xyzw": board_q},
        "notes": list(result.notes),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **(extra or {}),
    }


def write_hand_eye(path: Path, summary: dict[str, Any]) -> Path:
    """Write the calibration YAML atomically (a reader never sees half a transform)."""
    path = expand_home(path)
    header = "# Eye-in-hand calibration (dff-grasp calibrate): the camera optical frame in the tool frame.\n"
    atomic_write_bytes(path, (header + yaml.safe_dump(summary, sort_keys=False, width=120)).encode())
    return path


# The camera's distance from the tool frame: a wrist camera sits centimetres from the flange, one on a long bracket
# or a gripper's far side some decimetres; no mount on a tool reaches 2 m. Beyond it the file is no hand-eye
# calibration (often millimetres written as metres) and its tool poses would send the arm far out of reach.
MAX_HAND_EYE_TRANSLATION_M = 2.0
HAND_EYE_KEYS = ("translation_m", "quaternion_xyzw", "parent_frame", "child_frame")


def load_hand_eye(path: Path, expected_frames: tuple[str, str] | None = None) -> tuple[np.ndarray, str, str]:
    """(camera_to_tool, tool frame, camera frame) from a calibration YAML. FileNotFoundError when there is none;
    ValueError in one line naming the file and the field when it is no camera-on-a-tool transform, or (given
    ``expected_frames``, (tool frame, camera frame)) a transform between other frames."""
    from dff_grasp_ros.nodes.params import name_problem
    from dff_grasp_ros.ros_io.pose import PoseError, compose_matrix

    path = expand_home(path)
    if not path.exists():
        raise FileNotFoundError(f"no hand-eye calibration at {path}: run `dff-grasp calibrate` first")
    data = read_yaml_file(path, "hand-eye calibration")
    label = f"hand-eye calibration {path}"
    if not isinstance(data, dict):
        raise InputError(f"{label} is not a mapping of {', '.join(HAND_EYE_KEYS)}, got {type(data).__name__}")
    missing = [key for key in HAND_EYE_KEYS if key not in data]
    if missing:
        raise InputError(f"{label} lacks {', '.join(missing)}: not a hand-eye calibration")
    frames = []
    for key in ("parent_frame", "child_frame"):
        value = data[key]
        # str() of a list or mapping made a frame name like "['a']" that no TF tree has
        problem = (name_problem(key, value) if isinstance(value, str)
                   else f"must be a frame id (a string), got {value!r:.80}")
        if problem:
            raise InputError(f"{label}: {key} {problem}")
        frames.append(frame_name(value))  # "/tool0" is tool0 to tf2: as the node's parameters name it
    if expected_frames is not None and tuple(frames) != tuple(frame_name(f) for f in expected_frames):
        # the transform of another link or camera turns camera poses into poses of the wrong frame, silently
        raise InputError(f"{label} is of tool frame {frames[0]!r} and camera frame {frames[1]!r}, not of "
                         f"tool_frame {expected_frames[0]!r} and camera_frame {expected_frames[1]!r}: calibrate "
                         f"this tool and camera, or set those parameters")
    translation = finite_array(data["translation_m"], (3,), f"{label}: translation_m").tolist()
    if math.hypot(*translation) > MAX_HAND_EYE_TRANSLATION_M:  # hypot is inf, not an error, past float's range
        raise InputError(f"{label}: translation_m {translation} puts the camera more than "
                         f"{MAX_HAND_EYE_TRANSLATION_M:g} m from the tool frame (metres, not millimetres?)")
    quaternion = finite_array(data["quaternion_xyzw"], (4,), f"{label}: quaternion_xyzw").tolist()
    try:
        matrix = compose_matrix(translation, quaternion)  # refuses a quaternion that is not unit (nor zero)
    except PoseError as err:
        raise InputError(f"{label}: quaternion_xyzw: {err}") from None
    return matrix, frames[0], frames[1]


def rejection_summary(rejected: list[Any], total: int | None = None) -> str:
    """'12 rejected: 7 no board in view, 5 too little rotation' (reasons grouped by their first words)."""
    groups: dict[str, int] = {}
    for rejection in rejected:
        key = rejection.reason.split(":")[0].split("(")[0].strip()
        groups[key] = groups.get(key, 0) + 1
    count = len(rejected) if total is None else total
    listed = ", ".join(f"{n} {k}" for k, n in sorted(groups.items(), key=lambda kv: -kv[1]))
    return f"{count} rejected" + (f" ({listed}{', ...' if count > len(rejected) else ''})" if listed else "")


def failure_to_dict(message: str, rejected: list[Any], total_rejected: int | None = None) -> dict[str, Any]:
    """The ``--json`` answer when calibration could not give a transform."""
    return {"success": False, "message": message,
            "rejected": [{"name": r.name, "reason": r.reason} for r in rejected],
            "rejected_total": len(rejected) if total_rejected is None else total_rejected}
