"""The hand-eye YAML that /scan_poses reads on every request: a file that is no camera-on-a-tool transform is
refused in one line naming the file and the field (a bad-input hunt found nonsense accepted: a 1e200 m mount
gave tool x = -2.46e307 m, booleans were taken as a quaternion, lists as frame names). No ROS needed."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dff_grasp_ros.calibration.output import MAX_HAND_EYE_TRANSLATION_M, load_hand_eye

FRAMES = "parent_frame: tool0\nchild_frame: camera_color_optical_frame\n"
IDENTITY = "quaternion_xyzw: [0, 0, 0, 1]\n"
ORIGIN = "translation_m: [0, 0, 0]\n"


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hand_eye.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "field"), [
    (FRAMES + "translation_m: [1.0e+308, 1.0e+308, 1.0e+308]\n" + IDENTITY, "translation_m"),
    (FRAMES + "translation_m: [1.0e+200, 0, 0]\n" + IDENTITY, "translation_m"),
    (FRAMES + "translation_m: [30, -60, 40]\n" + IDENTITY, "translation_m"),  # millimetres, not metres
    (FRAMES + "translation_m: [.nan, 0, 0]\n" + IDENTITY, "translation_m"),
    (FRAMES + "translation_m: [[1, 2, 3]]\n" + IDENTITY, "translation_m"),
    (FRAMES + "translation_m: [0.1, 0.2]\n" + IDENTITY, "translation_m"),
    (FRAMES + "translation_m: [0.1, 0.2, 0.3, 0.4]\n" + IDENTITY, "translation_m"),
    (FRAMES + "translation_m: abc\n" + IDENTITY, "translation_m"),
    (FRAMES + "translation_m: {x: 1}\n" + IDENTITY, "translation_m"),
    (FRAMES + "translation_m: [true, 0, 0]\n" + IDENTITY, "translation_m"),
    (FRAMES + ORIGIN + "quaternion_xyzw: [true, false, false, false]\n", "quaternion_xyzw"),
    (FRAMES + ORIGIN + "quaternion_xyzw: [0, 0, 0, 0]\n", "quaternion_xyzw"),
    (FRAMES + ORIGIN + "quaternion_xyzw: [0, 0, 0, 2]\n", "quaternion_xyzw"),
    (FRAMES + ORIGIN + "quaternion_xyzw: [0, 0, 1]\n", "quaternion_xyzw"),
    (FRAMES + ORIGIN + "quaternion_xyzw: [[0, 0, 0, 1]]\n", "quaternion_xyzw"),
    (FRAMES + ORIGIN + "quaternion_xyzw: [0, 0, 0, '1']\n", "quaternion_xyzw"),
    ("parent_frame: [a]\nchild_frame: camera\n" + ORIGIN + IDENTITY, "parent_frame"),
    ("parent_frame: tool0\nchild_frame: {b: 1}\n" + ORIGIN + IDENTITY, "child_frame"),
    ("parent_frame: 42\nchild_frame: camera\n" + ORIGIN + IDENTITY, "parent_frame"),
    ("parent_frame: ''\nchild_frame: camera\n" + ORIGIN + IDENTITY, "parent_frame"),
    ("parent_frame: tool0\nchild_frame: my camera\n" + ORIGIN + IDENTITY, "child_frame"),
    (FRAMES + IDENTITY, "translation_m"),  # missing
    ("child_frame: camera\n" + ORIGIN + IDENTITY, "parent_frame"),  # missing
    ("- 1\n- 2\n", "mapping"),
], ids=lambda v: v.replace("\n", " | ") if isinstance(v, str) else v)
def test_a_file_that_is_no_hand_eye_transform_is_refused_naming_file_and_field(tmp_path: Path, text: str,
                                                                              field: str):
    path = written(tmp_path, text)
    with pytest.raises(ValueError) as refused:
        load_hand_eye(path)
    message = str(refused.value)
    assert str(path) in message and field in message, message
    assert "\n" not in message and len(message) < 400, message


def test_a_calibration_as_written_loads(tmp_path: Path):
    """Plain numbers, integers among them, a quaternion off unit by rounding, a mount at the 2 m limit."""
    path = written(tmp_path, FRAMES + f"translation_m: [{MAX_HAND_EYE_TRANSLATION_M}, 0, 0]\n"
                             "quaternion_xyzw: [0, 0, 0.7071068, 0.7071069]\n")
    matrix, tool, camera = load_hand_eye(path)
    assert (tool, camera) == ("tool0", "camera_color_optical_frame")
    assert np.allclose(matrix[:3, 3], [MAX_HAND_EYE_TRANSLATION_M, 0, 0])
    assert np.allclose(matrix[:3, :3] @ matrix[:3, :3].T, np.eye(3)) and np.isclose(np.linalg.det(matrix[:3, :3]), 1)
    assert np.allclose(matrix[:3, :3] @ [1, 0, 0], [0, 1, 0], atol=1e-6)  # 90 degrees about z


def test_a_frame_written_with_a_leading_slash_is_the_same_frame(tmp_path: Path):
    """tf2 reads "/tool0" as "tool0": a calibration from views recorded with "/tool0" was refused by /scan_poses
    against the node's tool_frame tool0 (and another frame still is)."""
    path = written(tmp_path, "parent_frame: /tool0\nchild_frame: camera_color_optical_frame\n" + ORIGIN + IDENTITY)
    _, tool, camera = load_hand_eye(path, expected_frames=("tool0", "/camera_color_optical_frame"))
    assert (tool, camera) == ("tool0", "camera_color_optical_frame")
    with pytest.raises(ValueError, match="tool frame 'tool0'"):
        load_hand_eye(path, expected_frames=("flange", "camera_color_optical_frame"))


@pytest.mark.parametrize("camera_frame", ["cam$(echo injected)", "cam;id", "cam`id`", "a'b", "cam"])
def test_the_static_transform_line_pasted_into_a_shell_gives_the_frames_as_they_are(camera_frame: str):
    """Before 2026-12-03 (third bad-input hunt) the frames went into the line unquoted: a frame id such as
    'cam$(echo injected)' (frame ids may hold anything but spaces) ran a command when the line was pasted."""
    import subprocess

    from dff_grasp_ros.calibration.output import static_transform_command

    line = static_transform_command(np.eye(4), "tool0", camera_frame)
    echoed = line.replace("ros2 run tf2_ros static_transform_publisher", "printf '%s\\n'", 1)
    args = subprocess.run(["bash", "-c", echoed], capture_output=True, text=True, check=True).stdout.splitlines()
    assert args[-4:] == ["--frame-id", "tool0", "--child-frame-id", camera_frame]
