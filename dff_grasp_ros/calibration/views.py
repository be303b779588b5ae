"""Collecting calibration views (node, bag and folder all go through :class:`ViewCollector`) and the views folder.

A views folder is what ``dff-grasp calibrate --views DIR`` reads and what the node and ``--from-bag`` leave next
to their result, so any calibration can be re-run offline::

    DIR/camera_info.yaml   the camera's intrinsics, ROS camera calibration format (image_width, image_height,
                           camera_matrix.data, distortion_coefficients.data), as camera drivers write it
    DIR/tool_poses.yaml    base_frame, tool_frame, views: [{image: view_000.png, translation_m: [x, y, z],
                           quaternion_xyzw: [x, y, z, w]}, ...]   (the tool's pose in the base frame per image;
                           frames not named are --base-frame/--tool-frame's, else base_link/tool0)
    DIR/view_000.png ...   the images (colour or grey)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from dff_grasp_ros.calibration.board import CharucoBoardSpec
from dff_grasp_ros.calibration.camera import PinholeCamera
from dff_grasp_ros.calibration.detect import (
    DEFAULT_MAX_REPROJECTION_PX,
    DEFAULT_MIN_CORNERS,
    ViewRejected,
    observe_board,
)
from dff_grasp_ros.calibration.solve import (
    CalibrationView,
    HandEyeResult,
    HandEyeSettings,
    Rejection,
    calibrate_hand_eye,
    closest_rotation,
    not_enough_views,
    too_little_rotation,
    transform_difference,
)
from dff_grasp_ros.dataset import far_from_base_problem
from dff_grasp_ros.errors import finite_array, read_yaml_file, shown
from dff_grasp_ros.goals import MAX_CALIBRATION_VIEWS

CAMERA_INFO_FILE = "camera_info.yaml"
TOOL_POSES_FILE = "tool_poses.yaml"
MAX_REJECTIONS_KEPT = 200  # a camera streaming at 30 Hz at a bad pose must not grow the list without bound
SAME_POSE_DEG, SAME_POSE_MM = 0.5, 2.0  # a frame this close to a kept view is the arm still there: skipped silently


@dataclass(frozen=True)
class CollectorSettings:
    min_corners: int = DEFAULT_MIN_CORNERS
    max_reprojection_px: float = DEFAULT_MAX_REPROJECTION_PX
    min_rotation_between_views_deg: float = 5.0
    max_still_motion_mm: float = 1.0  # the tool may move this little during the still time and count as still
    max_still_motion_deg: float = 0.2


class ViewCollector:
    """Takes (image, camera, tool pose) one at a time, keeps the views calibration can use, and says why not.

    Cheap checks (a still arm, a new tool orientation) come before board detection, so a camera streaming at
    30 Hz costs little between arm moves.
    """

    def __init__(self, board: CharucoBoardSpec, settings: CollectorSettings | None = None,
                 keep_images: bool = False) -> None:
        self.board = board
        self.settings = settings or CollectorSettings()
        self.keep_images = keep_images
        self.camera: PinholeCamera | None = None
        self.views: list[CalibrationView] = []
        self.images: dict[str, np.ndarray] = {}
        self.rejected: list[Rejection] = []
        self.rejected_count = 0
        self.same_pose_skipped = 0

    def offer(self, name: str, image: np.ndarray, camera: PinholeCamera, tool_to_base: np.ndarray,
              tool_to_base_earlier: np.ndarray | None = None) -> str | None:
        """None when the view is kept; ``""`` when the arm is still at a kept view (skipped, not a rejection);
        otherwise why it was rejected. ``tool_to_base_earlier`` is the tool pose the still time before the
        image; when given, a tool that moved in between is rejected."""
        reason = self._check(name, image, camera, tool_to_base, tool_to_base_earlier)
        if reason:
            self.reject(name, reason)
        return reason

    def offer_message(self, name: str, image_msg: Any, camera: PinholeCamera, tool_to_base: np.ndarray,
                      tool_to_base_earlier: np.ndarray | None, still_time_s: float) -> str | None:
        """:meth:`offer` for a ``sensor_msgs/Image`` (the node's live images and a bag's alike): rejected when it
        is stamped 0, when a still time is asked for but no tool pose that long before the image is known, or when
        the image does not decode."""
        from dff_grasp_ros.ros_io.image import ImageFormatError, UnsupportedEncodingError, image_to_rgb8
        from dff_grasp_ros.ros_io.stamp import missing_stamp_problem

        no_stamp = missing_stamp_problem(image_msg, "a tool pose")  # all 0: each image got the oldest tool pose
        if no_stamp:
            self.reject(name, no_stamp)
            return no_stamp
        if still_time_s > 0 and tool_to_base_earlier is None:
            reason = f"no tool pose {still_time_s} s before the image: cannot tell the arm was still"
            self.reject(name, reason)
            return reason
        try:
            image = image_to_rgb8(image_msg)
        except (ImageFormatError, UnsupportedEncodingError) as err:
            self.reject(name, str(err))
            return str(err)
        return self.offer(name, image, camera, tool_to_base, tool_to_base_earlier)

    def reject(self, name: str, reason: str) -> None:
        """Record a view that could not be used (also for failures before :meth:`offer`, e.g. no pose)."""
        self.rejected_count += 1
        self.rejected.append(Rejection(name, reason))
        del self.rejected[:-MAX_REJECTIONS_KEPT]

    def _check(self, name: str, image: np.ndarray, camera: PinholeCamera, tool_to_base: np.ndarray,
               earlier: np.ndarray | None) -> str | None:
        from dff_grasp_ros.ros_io.pose import PoseError, checked_rigid_transform

        if self.camera is None:
            self.camera = camera
        elif not self.camera.close_to(camera):
            return "the camera intrinsics changed during calibration; restart it with one camera setting"
        try:
            tool_to_base = checked_rigid_transform(tool_to_base)
            if earlier is not None:
                earlier = checked_rigid_transform(earlier)
        except PoseError as err:
            return f"bad tool pose: {err}"
        far = far_from_base_problem(tool_to_base[:3, 3])
        if far:
            return f"bad tool pose: translation {far} (not metres?)"
        if earlier is not None:
            moved_mm, moved_deg = transform_difference(earlier, tool_to_base)
            if moved_mm > self.settings.max_still_motion_mm or moved_deg > self.settings.max_still_motion_deg:
                return (f"the arm was moving ({moved_mm:.1f} mm, {moved_deg:.2f} deg during the still time); "
                        f"stop the arm for each view")
        angle, nearest = closest_rotation(tool_to_base, self.views)
        if angle < SAME_POSE_DEG and \
                transform_difference(self._view(nearest).tool_to_base, tool_to_base)[0] < SAME_POSE_MM:
            self.same_pose_skipped += 1
            return ""  # the arm is still at a kept view: not a rejection, nothing new
        too_close = too_little_rotation(tool_to_base, self.views, self.settings.min_rotation_between_views_deg)
        if too_close:
            return too_close
        try:
            observation = observe_board(image, self.board, camera, min_corners=self.settings.min_corners,
                                        max_reprojection_px=self.settings.max_reprojection_px)
        except ViewRejected as err:
            return str(err)
        self.views.append(CalibrationView(name, tool_to_base, observation))
        if self.keep_images:
            self.images[name] = np.asarray(image)
        return None

    def _view(self, name: str) -> CalibrationView:
        return next(v for v in self.views if v.name == name)


def pose_entry(name: str, tool_to_base: np.ndarray) -> dict[str, Any]:
    from dff_grasp_ros.calibration.output import translation_quaternion

    translation, quaternion = translation_quaternion(tool_to_base)
    return {"image": name, "translation_m": translation, "quaternion_xyzw": quaternion}


def write_views_folder(folder: Path, camera: PinholeCamera, views: list[tuple[str, np.ndarray, np.ndarray]],
                       base_frame: str, tool_frame: str) -> Path:
    """Write (image file name, image, tool_to_base) views as a views folder (see the module docstring).

    Built in a staging folder beside ``folder`` and renamed into place (a full disk or SIGTERM leaves no half
    folder that ``--views`` would read); ``folder`` must not exist yet or be empty (FileExistsError: views of
    another session are never mixed in or overwritten)."""
    import errno

    import cv2

    from dff_grasp_ros.atomic import discard_dir, make_staging_dir, replace_dir, writing

    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FileExistsError(errno.EEXIST, "views folder already exists and is not empty; choose a new one",
                              str(folder))
    staging = make_staging_dir(folder.parent, folder.name)
    try:
        for name, image, _ in views:
            image = np.asarray(image)
            bgr = image[..., ::-1] if image.ndim == 3 and image.shape[2] == 3 else image
            if not cv2.imwrite(str(staging / name), np.ascontiguousarray(bgr)):
                raise OSError(errno.EIO, "could not write the image", str(folder / name))
        with writing(folder / CAMERA_INFO_FILE):
            (staging / CAMERA_INFO_FILE).write_text(yaml.safe_dump(camera.to_yaml_dict(), sort_keys=False))
        poses = {"base_frame": base_frame, "tool_frame": tool_frame,
                 "views": [pose_entry(name, tool_to_base) for name, _, tool_to_base in views]}
        with writing(folder / TOOL_POSES_FILE):
            (staging / TOOL_POSES_FILE).write_text(yaml.safe_dump(poses, sort_keys=False))
        replace_dir(staging, folder)
    except BaseException:
        discard_dir(staging)
        raise
    return folder


@dataclass(frozen=True)
class ViewsFolder:
    camera: PinholeCamera
    base_frame: str | None  # None: tool_poses.yaml names none
    tool_frame: str | None
    views: tuple[tuple[str, np.ndarray], ...]  # (image file name, tool_to_base)
    folder: Path

    def image(self, name: str) -> np.ndarray:
        import cv2

        path = self.folder / name
        if path.exists() and not path.is_file():  # cv2 would wait for ever on a FIFO
            raise ValueError(f"{path}: not a regular file")
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError(f"{self.folder / name}: missing or not an image")
        return image


def read_views_folder(folder: Path) -> ViewsFolder:
    """Read a views folder; ValueError naming the file and entry at fault."""
    from dff_grasp_ros.ros_io.pose import PoseError, compose_matrix

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no views folder at {folder}")
    camera = PinholeCamera.from_yaml(folder / CAMERA_INFO_FILE)
    poses_path = folder / TOOL_POSES_FILE
    if not poses_path.exists():
        raise FileNotFoundError(f"{poses_path} is missing (the tool pose of every image)")
    data = read_yaml_file(poses_path, "tool poses file")
    if not isinstance(data, dict) or not isinstance(data.get("views"), list):
        raise ValueError(f"{poses_path}: expected a mapping with a 'views' list")
    if len(data["views"]) > MAX_CALIBRATION_VIEWS:  # as a calibration goal and --sim-views: no reading for minutes
        raise ValueError(f"{poses_path}: {len(data['views'])} views, at most {MAX_CALIBRATION_VIEWS} are read "
                         f"(15-30 make a hand-eye calibration)")
    # a frame the file does not name is None: the caller's (dff-grasp calibrate --base-frame/--tool-frame, else
    # the hand_eye node's parameter) then names it
    frames = {key: _frame_id(data[key], key, poses_path) if key in data else None
              for key in ("base_frame", "tool_frame")}
    views = []
    for index, entry in enumerate(data["views"]):
        where = f"{poses_path}: views[{index}]"
        try:
            image = entry["image"]
            # str(5) read '5' and a NUL cut the name short for cv2.imread ("view\0.png" read "view")
            if not isinstance(image, str) or not image or "\0" in image:
                raise ValueError(f"{where} image must be a file name (a string without NUL), got {shown(image)}")
            # each number checked with its entry named (compose_matrix's own coercion said "could not convert
            # string to float: 'a'" or raised OverflowError for 10**400, naming neither file nor view)
            translation = finite_array(entry["translation_m"], (3,), f"{where} translation_m")
            far = far_from_base_problem(translation)
            if far:
                raise ValueError(f"{where} translation_m {far} (not metres?)")
            quaternion = finite_array(entry["quaternion_xyzw"], (4,), f"{where} quaternion_xyzw")
            views.append((image, compose_matrix(translation, quaternion)))
        except (KeyError, TypeError, PoseError) as err:
            raise ValueError(f"{where} needs image, translation_m [x, y, z] and quaternion_xyzw [x, y, z, w]: "
                             f"{err}") from err
    return ViewsFolder(camera, frames["base_frame"], frames["tool_frame"], tuple(views), folder)


def _frame_id(value: Any, key: str, path: Path) -> str:
    """``value`` when it is a frame id; ValueError naming the file and ``key`` otherwise.

    The check of the hand_eye node's frame parameters (and of --tool-frame ''), so a views folder cannot bring in
    what a flag may not: '' wrote "--frame-id  --child-frame-id" in the static transform command, and [1] became
    the frame "[1]"."""
    from dff_grasp_ros.nodes.params import name_problem

    if not isinstance(value, str):
        raise ValueError(f"{path}: {key} must be a frame id (a string), got {shown(value)}")
    problem = name_problem(key, value)
    if problem:
        raise ValueError(f"{path}: {key} {problem}")
    return value


def collect_folder(folder: ViewsFolder, board: CharucoBoardSpec,
                   settings: CollectorSettings | None = None) -> ViewCollector:
    """Every view of a folder offered to a collector, in file order."""
    collector = ViewCollector(board, settings)
    for name, tool_to_base in folder.views:
        try:
            image = folder.image(name)
        except ValueError as err:
            collector.reject(name, str(err))
            continue
        collector.offer(name, image, folder.camera, tool_to_base)
    return collector


def calibrate_collected(collector: ViewCollector, settings: HandEyeSettings | None = None) -> HandEyeResult:
    """Solve hand-eye on what a collector kept; :class:`CalibrationError` (with the rejections) if it cannot."""
    settings = settings or HandEyeSettings(min_rotation_between_views_deg=
                                           collector.settings.min_rotation_between_views_deg)
    if collector.camera is None or len(collector.views) < settings.min_views:
        raise not_enough_views(len(collector.views), settings, collector.rejected,
                          f"of {len(collector.views) + collector.rejected_count}")
    return calibrate_hand_eye(collector.views, collector.camera, settings, collector.rejected)
