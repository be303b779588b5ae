"""The on-disk dataset: nerfstudio's ``transforms.json`` layout, written atomically.

Layout of a dataset directory (what the capture node, ``dff-grasp sim render`` and bag import all write)::

    transforms.json        intrinsics + one frame per view; camera-to-world in OpenGL convention, base frame metres
    images/frame_00000.png RGB, 8 bit
    depth/frame_00000.png  depth, uint16 millimetres (0 = no return), nerfstudio's default depth scale
    (sim render only)      ground_truth.json, labels/frame_00000.png (see dff_grasp_ros.synthetic)

``transforms.json`` carries our own block ``"dff_grasp"``: base frame, pose source, creation time and, for
simulated scans, the scene. Poses in memory are ``camera_to_base``: the camera *optical* frame (REP-103:
x right, y down, z forward) expressed in the base frame. On disk they become nerfstudio/OpenGL camera-to-world
matrices (x right, y up, z backward).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from dff_grasp_ros.atomic import discard_dir, is_partial, make_staging_dir, publish_dir, writing
from dff_grasp_ros.errors import InputError, finite_array, finite_number, is_finite_number, read_json_file

TRANSFORMS = "transforms.json"
MIN_TRAINING_VIEWS = 3  # fewer views leave most of the scene seen from one side only: no usable field
# nerfstudio's camera models that are a pinhole with OpenCV's k1, k2, p1, p2 (what fields are rendered with).
PINHOLE_CAMERA_MODELS = ("OPENCV", "PINHOLE", "SIMPLE_PINHOLE", "SIMPLE_RADIAL", "RADIAL")
RIGID_TOLERANCE = 1e-3  # |R^T R - I| and |det R - 1| above this: not a rotation (scaled, sheared, zero...)
DEPTH_SCALE_M_PER_UNIT = 1e-3  # nerfstudio's default depth_unit_scale_factor: PNG holds millimetres
# PNG compression of written views (lossless at every level): level 1 writes a 640x480 view in 16 ms, the default
# 6 in 80 ms (files 25 % larger); the capture writes while the scan runs, on cores the other nodes need.
PNG_COMPRESS_LEVEL = 1
# The median valid depth of a scan, in metres, that millimetre PNGs can plausibly hold: below, the PNGs were most
# likely written in metres (0.45 m becomes 0); above, in finer units (or saturated). Depth cameras see 0.07-20 m.
PLAUSIBLE_MEDIAN_DEPTH_M = (0.02, 20.0)
# A pinhole camera's field of view, in degrees, that training and rendering can use: a focal length of 1e-300 px
# (a 180 degree view) made every ray NaN ("loss is not finite" once the teachers had run), one of 1e300 px sees a
# single point.
FIELD_OF_VIEW_DEG = (0.1, 175.0)
MAX_CAMERA_DISTANCE_M = 1000.0  # a cell's cameras lie within metres of its base; beyond a kilometre: not metres
MIN_CAMERA_SPREAD_M = 0.01  # views from (nearly) one place give no depth: nerfstudio divides by their spread
# Keys of transforms.json that nerfstudio's dataparser reads besides ours, with what they must hold.
NERFSTUDIO_ORIENTATIONS = ("pca", "up", "vertical", "none")
DISTORTION_KEYS = ("k1", "k2", "k3", "k4", "p1", "p2")
SPLIT_KEYS = ("train_filenames", "val_filenames", "test_filenames")
TRAINING_SPLIT_KEYS = SPLIT_KEYS[:2]  # the split lists a training reads (test: only ns-eval's test mode)
FRAME_INTRINSICS_KEYS = ("fl_x", "fl_y", "cx", "cy", "w", "h")
# Optical (x right, y down, z forward) -> OpenGL (x right, y up, z backward): flip the y and z axes.
OPTICAL_TO_OPENGL = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics in pixels, nerfstudio convention (pixel (row, col) centred at (col + 0.5, row + 0.5));
    ``distortion`` as OpenCV's (k1, k2, p1, p2)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], dtype=np.float64)

    def to_transforms(self) -> dict[str, Any]:
        k1, k2, p1, p2 = self.distortion
        return {
            "camera_model": "OPENCV",
            "w": int(self.width), "h": int(self.height),
            "fl_x": float(self.fx), "fl_y": float(self.fy), "cx": float(self.cx), "cy": float(self.cy),
            "k1": float(k1), "k2": float(k2), "p1": float(p1), "p2": float(p2),
        }

    @staticmethod
    def from_transforms(meta: dict[str, Any]) -> CameraIntrinsics:
        """Intrinsics from transforms.json's keys; InputError names a missing, non-numeric or impossible one."""
        def number(key: str, default: float | None = None) -> float:
            value = meta.get(key, default)
            if value is None:
                raise InputError(f"'{key}' is missing")
            return finite_number(value, f"'{key}'")

        width, height = number("w"), number("h")
        if width != int(width) or height != int(height) or width < 1 or height < 1:
            raise InputError(f"image size w, h must be positive integers, got {width}, {height}")
        fx, fy = number("fl_x"), number("fl_y")
        if fx <= 0 or fy <= 0:
            raise InputError(f"focal lengths fl_x, fl_y must be positive, got {fx}, {fy}")
        model = meta.get("camera_model", "OPENCV")
        if not isinstance(model, str) or model not in PINHOLE_CAMERA_MODELS:
            raise InputError(f"camera_model {model!r:.60} is not supported: fields are trained and rendered with "
                             f"a pinhole camera ({', '.join(PINHOLE_CAMERA_MODELS)})")
        # nerfstudio reads distortion_params [k1, k2, k3, k4, p1, p2] instead of the keys when it is given
        distortion = _distortion_params(meta) if "distortion_params" in meta else {
            key: number(key, 0.0) for key in DISTORTION_KEYS}
        intrinsics = CameraIntrinsics(
            width=int(width), height=int(height), fx=fx, fy=fy, cx=number("cx"), cy=number("cy"),
            distortion=tuple(distortion[k] for k in ("k1", "k2", "p1", "p2")),  # type: ignore[arg-type]
        )
        problem = intrinsics.problem()
        if problem:
            raise InputError(problem)
        return intrinsics

    def problem(self) -> str | None:
        """Why these intrinsics describe no camera that took the images (None when they do); every reader of
        intrinsics (transforms.json, CameraInfo) checks with it."""
        if not np.all(np.isfinite(self.distortion)):  # NaN distortion maps every pixel nowhere
            return f"distortion (k1, k2, p1, p2) must be finite, got {tuple(float(v) for v in self.distortion)}"
        if not (0 < self.cx < self.width and 0 < self.cy < self.height):
            return (f"principal point cx, cy must lie inside the {self.width}x{self.height} image, got "
                    f"{self.cx:g}, {self.cy:g}")
        low, high = FIELD_OF_VIEW_DEG
        for name, focal, side in (("fx", self.fx, self.width), ("fy", self.fy, self.height)):
            view_deg = float(np.degrees(2.0 * np.arctan2(side / 2.0, focal)))
            if not low <= view_deg <= high:
                return (f"focal length {name} {focal:g} px gives a {view_deg:.3g} degree field of view across "
                        f"{side} px; a pinhole camera's is {low:g}-{high:g} degrees (focal length in pixels?)")
        return None


def _distortion_params(block: dict[str, Any]) -> dict[str, float]:
    """nerfstudio's ``distortion_params`` [k1, k2, k3, k4, p1, p2] of ``block`` by name; InputError when malformed."""
    value = block["distortion_params"]
    if not isinstance(value, list) or len(value) != len(DISTORTION_KEYS) or not all(map(is_finite_number, value)):
        raise InputError(f"'distortion_params' must be a list of 6 finite numbers [k1, k2, k3, k4, p1, p2], got "
                         f"{value!r:.80}")
    return {key: float(v) for key, v in zip(DISTORTION_KEYS, value)}


def _nerfstudio_keys_problem(meta: dict[str, Any], frame_paths: list[str]) -> str | None:
    """Why keys that nerfstudio's dataparser reads (and this package does not) would fail or mislead training;
    None when they are absent or usable. Before 2026-12-02 these failed inside nerfstudio, after the dataset
    check: "could not convert string to float: 'x'", an IndexError, an AssertionError."""
    if "applied_transform" in meta:
        try:
            finite_array(meta["applied_transform"], (3, 4), "'applied_transform'")
        except InputError as err:
            return str(err)
    if "applied_scale" in meta and not (is_finite_number(meta["applied_scale"]) and meta["applied_scale"] > 0):
        return f"'applied_scale' must be a positive finite number, got {meta['applied_scale']!r:.60}"
    if "orientation_override" in meta and meta["orientation_override"] not in NERFSTUDIO_ORIENTATIONS:
        return (f"'orientation_override' must be one of {', '.join(NERFSTUDIO_ORIENTATIONS)}, got "
                f"{meta['orientation_override']!r:.60}")
    splits = [key for key in SPLIT_KEYS if key in meta]
    known = {str(Path(p)) for p in frame_paths}
    for key in splits:
        names = meta[key]
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            return f"{key} must be a list of file paths, got {names!r:.80}"
        unknown = [n for n in names if str(Path(n)) not in known]
        if unknown:
            return f"{key} names {unknown[0]!r:.80}, which is no frame's file_path"
    # nerfstudio 1.1.5 NerfstudioDataParser._generate_dataparser_outputs: once any split list is given, every
    # split it parses needs its own ("The dataset's list of filenames for split val is missing"); a training
    # parses train and val (test only ns-eval's test mode, so test_filenames stays optional).
    missing = next((key for key in TRAINING_SPLIT_KEYS if splits and key not in splits), None)
    if missing:
        return (f"{splits[0]} is given without {missing}: nerfstudio then has no {missing.split('_')[0]} split; "
                f"give both train_filenames and val_filenames (val may be empty) or neither")
    if "train_filenames" in splits and not meta["train_filenames"]:
        return "train_filenames is empty: nothing to train on"
    return None


def optical_to_opengl(camera_to_base: np.ndarray) -> np.ndarray:
    return np.asarray(camera_to_base, dtype=np.float64) @ OPTICAL_TO_OPENGL


def opengl_to_optical(c2w_opengl: np.ndarray) -> np.ndarray:
    return np.asarray(c2w_opengl, dtype=np.float64) @ OPTICAL_TO_OPENGL


def depth_m_to_png_units(depth_m: np.ndarray) -> np.ndarray:
    """Metres (NaN/inf/<=0 = invalid) to uint16 millimetres with 0 = invalid, clipped to the PNG range."""
    depth = np.asarray(depth_m, dtype=np.float64)
    valid = np.isfinite(depth) & (depth > 0)
    units = np.zeros(depth.shape, dtype=np.uint16)
    units[valid] = np.clip(np.round(depth[valid] / DEPTH_SCALE_M_PER_UNIT), 0, 65535).astype(np.uint16)
    return units


def png_units_to_depth_m(units: np.ndarray) -> np.ndarray:
    """uint16 millimetres to float32 metres; invalid pixels become NaN."""
    depth = np.asarray(units).astype(np.float32) * DEPTH_SCALE_M_PER_UNIT
    depth[np.asarray(units) == 0] = np.nan
    return depth


@dataclass
class Frame:
    """One view as stored: paths relative to the dataset directory and the optical camera pose."""

    index: int
    image_path: str
    depth_path: str | None
    camera_to_base: np.ndarray
    stamp_ns: int = 0
    extra: dict[str, str] = field(default_factory=dict)  # e.g. {"label_path": "labels/frame_00000.png"}


@dataclass
class Dataset:
    """A dataset read back from disk."""

    root: Path
    intrinsics: CameraIntrinsics
    frames: list[Frame]
    base_frame: str
    pose_source: str
    metadata: dict[str, Any]

    def load_rgb(self, frame: Frame) -> np.ndarray:
        from PIL import Image

        return np.asarray(Image.open(self.root / frame.image_path).convert("RGB"))

    def load_depth_m(self, frame: Frame) -> np.ndarray | None:
        if frame.depth_path is None:
            return None
        from PIL import Image

        return png_units_to_depth_m(np.asarray(Image.open(self.root / frame.depth_path)))

    def poses(self) -> np.ndarray:
        return np.stack([f.camera_to_base for f in self.frames]) if self.frames else np.zeros((0, 4, 4))


class DatasetWriter:
    """Builds a dataset in a hidden staging directory; :meth:`commit` publishes it under a new name.

    Nothing under ``root`` that a trainer would pick up exists until ``commit`` returns, so a process killed
    mid-capture leaves only a ``.partial-*`` directory behind.
    """

    def __init__(self, root: Path, name: str, intrinsics: CameraIntrinsics, *, base_frame: str = "base_link",
                 pose_source: str = "unknown", metadata: dict[str, Any] | None = None) -> None:
        self.root = Path(root)
        self.name = name
        self.intrinsics = intrinsics
        self.base_frame = base_frame
        self.pose_source = pose_source
        self.metadata = dict(metadata or {})
        self.staging = make_staging_dir(self.root, name)
        self.frames: list[Frame] = []
        (self.staging / "images").mkdir()
        (self.staging / "depth").mkdir()

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    @property
    def num_views(self) -> int:
        return len(self.frames)

    def add_view(self, rgb: np.ndarray, depth_m: np.ndarray | None, camera_to_base: np.ndarray,
                 stamp_ns: int = 0, extra_images: dict[str, np.ndarray] | None = None) -> Frame:
        """Write one view. ``extra_images`` maps a subdirectory name (e.g. ``labels``) to an image array."""
        from PIL import Image

        rgb = np.asarray(rgb)
        if rgb.shape != (self.intrinsics.height, self.intrinsics.width, 3) or rgb.dtype != np.uint8:
            raise ValueError(f"rgb must be uint8 {self.intrinsics.height}x{self.intrinsics.width}x3, "
                             f"got {rgb.dtype} {rgb.shape}")
        pose = np.asarray(camera_to_base, dtype=np.float64)
        if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
            raise ValueError("camera_to_base must be a finite 4x4 matrix")
        index = len(self.frames)
        stem = f"frame_{index:05d}.png"
        with writing(self.root / self.name / "images" / stem):
            Image.fromarray(rgb).save(self.staging / "images" / stem, compress_level=PNG_COMPRESS_LEVEL)
        depth_path = None
        if depth_m is not None:
            depth_path = f"depth/{stem}"
            with writing(self.root / self.name / depth_path):
                Image.fromarray(depth_m_to_png_units(depth_m)).save(self.staging / depth_path,
                                                                   compress_level=PNG_COMPRESS_LEVEL)
        extra: dict[str, str] = {}
        for subdir, image in (extra_images or {}).items():
            with writing(self.root / self.name / subdir / stem):
                (self.staging / subdir).mkdir(exist_ok=True)
                Image.fromarray(np.asarray(image)).save(self.staging / subdir / stem,
                                                         compress_level=PNG_COMPRESS_LEVEL)
            extra[f"{subdir}_path"] = f"{subdir}/{stem}"
        frame = Frame(index, f"images/{stem}", depth_path, pose, int(stamp_ns), extra)
        self.frames.append(frame)
        return frame

    def write_json(self, relpath: str, obj: Any) -> None:
        """An extra JSON file inside the dataset (e.g. ``ground_truth.json``)."""
        path = self.staging / relpath
        with writing(self.root / self.name / relpath):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(obj) + "\n")

    def commit(self) -> Path:
        """Write transforms.json last, then atomically publish. Returns the dataset's final path."""
        if not self.frames:
            raise ValueError("refusing to write a dataset with no views")
        meta = self.intrinsics.to_transforms()
        meta["frames"] = [self._frame_json(f) for f in self.frames]
        meta["dff_grasp"] = {
            "base_frame": self.base_frame,
            "pose_source": self.pose_source,
            "created_unix_s": time.time(),
            "num_views": len(self.frames),
            **self.metadata,
        }
        with writing(self.root / self.name / TRANSFORMS):
            (self.staging / TRANSFORMS).write_text(json.dumps(meta, indent=1) + "\n")
        return publish_dir(self.staging, self.root, self.name)

    def abort(self) -> None:
        discard_dir(self.staging)

    @staticmethod
    def _frame_json(frame: Frame) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file_path": frame.image_path,
            "transform_matrix": optical_to_opengl(frame.camera_to_base).tolist(),
            "stamp_ns": frame.stamp_ns,
        }
        if frame.depth_path is not None:
            out["depth_file_path"] = frame.depth_path
        out.update(frame.extra)
        return out


def load_dataset(path: Path) -> Dataset:
    """Read a dataset directory written by :class:`DatasetWriter` (or any nerfstudio pinhole dataset).

    A malformed ``transforms.json`` raises :class:`InputError` naming the file and, for a frame, its index.
    Poses are read as they are; :func:`check_dataset` checks them (and every image) before training.
    """
    root = Path(path)
    transforms = root / TRANSFORMS
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a dataset folder" + (" (it is a file)" if root.exists() else ""))
    if not transforms.is_file():
        raise FileNotFoundError(f"{root} is not a dataset: no {TRANSFORMS}")
    meta = read_json_file(transforms)
    if not isinstance(meta, dict):
        raise InputError(f"{transforms}: expected a JSON object, got {type(meta).__name__}")
    try:
        intrinsics = CameraIntrinsics.from_transforms(meta)
    except InputError as err:
        raise InputError(f"{transforms}: {err}") from None
    raw_frames = meta.get("frames")
    if not isinstance(raw_frames, list):
        raise InputError(f"{transforms}: 'frames' must be a list, got {type(raw_frames).__name__}")
    frames = [_frame_from_json(index, fr, transforms) for index, fr in enumerate(raw_frames)]
    for key in ("depth_file_path", "mask_path"):  # nerfstudio asserts every frame or none has one
        having = [frame.index for frame in frames if key in raw_frames[frame.index]]
        if having and len(having) < len(frames):
            lacking = next(frame.index for frame in frames if key not in raw_frames[frame.index])
            raise InputError(f"{transforms}: {key} is given for {len(having)} of {len(frames)} frames (not for "
                             f"frame {lacking}); give it for every frame or for none")
    problem = _nerfstudio_keys_problem(meta, [frame.image_path for frame in frames])
    if problem:
        raise InputError(f"{transforms}: {problem}")
    ours = meta.get("dff_grasp", {})
    if not isinstance(ours, dict):
        raise InputError(f"{transforms}: 'dff_grasp' must be an object, got {type(ours).__name__}")
    base_frame = ours.get("base_frame", "base_link")
    if not isinstance(base_frame, str) or not base_frame:
        # it names the frame of every pose and of the field's answers: str([1]) would be a frame called "[1]"
        raise InputError(f"{transforms}: dff_grasp.base_frame must be a non-empty frame name, got {base_frame!r:.60}")
    return Dataset(root, intrinsics, frames, base_frame,
                   str(ours.get("pose_source", "unknown")), ours)


def _frame_from_json(index: int, fr: Any, transforms: Path) -> Frame:
    where = f"{transforms}: frame {index}"
    if not isinstance(fr, dict):
        raise InputError(f"{where}: expected an object, got {type(fr).__name__}")
    for key in ("file_path", "transform_matrix"):
        if key not in fr:
            raise InputError(f"{where}: '{key}' is missing")
    paths = {k: v for k, v in fr.items() if k.endswith("_path")}
    bad = [k for k, v in paths.items() if not isinstance(v, str) or not v]
    if bad:
        raise InputError(f"{where}: {bad[0]} must be a non-empty path string, got {fr[bad[0]]!r}")
    matrix = finite_array(fr["transform_matrix"], (4, 4), f"{where}: transform_matrix")
    stamp = fr.get("stamp_ns", 0)
    if isinstance(stamp, bool) or not isinstance(stamp, int):
        raise InputError(f"{where}: stamp_ns must be an integer, got {stamp!r}")
    # nerfstudio reads a frame's own intrinsics and distortion where the file gives none for all frames
    bad = next((k for k in (*FRAME_INTRINSICS_KEYS, *DISTORTION_KEYS) if k in fr and not is_finite_number(fr[k])), None)
    if bad:
        raise InputError(f"{where}: {bad} must be a finite number, got {fr[bad]!r:.60}")
    if "distortion_params" in fr:
        try:
            _distortion_params(fr)
        except InputError as err:
            raise InputError(f"{where}: {err}") from None
    extra = {k: v for k, v in paths.items() if k not in ("file_path", "depth_file_path")}
    return Frame(index, fr["file_path"], fr.get("depth_file_path"), opengl_to_optical(matrix), stamp, extra)


def rigid_transform_problem(matrix: np.ndarray) -> str | None:
    """Why a 4x4 pose is not a finite rigid transform (rotation + translation), or None when it is one."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (4, 4):
        return f"is {matrix.shape}, not 4x4"
    if not np.all(np.isfinite(matrix)):
        return "has NaN or infinite entries"
    if not np.allclose(matrix[3], [0.0, 0.0, 0.0, 1.0], atol=RIGID_TOLERANCE):
        return f"has bottom row {matrix[3].round(4).tolist()}, not [0, 0, 0, 1]"
    rotation = matrix[:3, :3]
    if (np.abs(rotation.T @ rotation - np.eye(3)).max() > RIGID_TOLERANCE
            or abs(np.linalg.det(rotation) - 1.0) > RIGID_TOLERANCE):
        return f"has a rotation part that is not a rotation (determinant {np.linalg.det(rotation):.3g})"
    return None


def check_dataset(path: Path, min_views: int = MIN_TRAINING_VIEWS) -> Dataset:
    """The pre-flight before training: the dataset loads and every frame is usable, or one line naming the frame.

    Checks that there are at least ``min_views`` frames, that every image, depth image and mask is a file that
    decodes completely, that its size matches the intrinsics, that depth is single-channel integer millimetres
    with some valid pixels somewhere, that images share their channels and file names are unique, and that every
    pose is a finite rigid transform within a kilometre of the base, the cameras in more than one place. Costs one
    decode of each image (seconds), against minutes of training that would otherwise fail or produce a wrong field.
    """
    from PIL import Image

    dataset = load_dataset(path)
    root, size = dataset.root, (dataset.intrinsics.width, dataset.intrinsics.height)
    if len(dataset.frames) < min_views:
        raise InputError(f"dataset {root} has {len(dataset.frames)} views; training needs at least {min_views}")
    _check_camera_positions(dataset)
    _check_unique_file_names(dataset)
    depth_medians_m: list[float] = []
    first_image_mode: tuple[int, str] | None = None
    for frame in dataset.frames:
        where = f"dataset {root}: frame {frame.index}"
        problem = rigid_transform_problem(frame.camera_to_base)
        if problem:
            raise InputError(f"{where}: transform_matrix {problem}")
        files = (("image", frame.image_path), ("depth", frame.depth_path), ("mask", frame.extra.get("mask_path")))
        for kind, rel in files:
            if rel is None:
                continue
            file = root / rel
            try:
                irregular = file.exists() and not file.is_file()  # a folder, a FIFO (opening waits), a device
            except OSError as err:  # a name too long for the filesystem
                raise InputError(f"{where}: {kind} {rel:.80} cannot be read ({err.strerror})") from None
            if irregular:
                raise InputError(f"{where}: {kind} {rel} is not a regular file")
            try:
                with Image.open(file) as image:
                    image.load()  # decodes every pixel: a truncated file fails here, not in training
                    mode, found = image.mode, image.size
                    nothing_set = image.getbbox() is None  # every pixel 0 (every channel)
                    units = np.asarray(image) if kind == "depth" and not nothing_set else None
            except FileNotFoundError:
                raise InputError(f"{where}: {kind} {rel} does not exist") from None
            except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
                raise InputError(f"{where}: {kind} {rel} cannot be decoded ({' '.join(str(err).split())})") from None
            if units is not None:
                negative = _negative_depth_problem(units)
                if negative:  # a 32-bit depth (mode I) can hold them; the median of no pixel is NaN
                    raise InputError(f"{where}: depth {rel} {negative}")
                depth_medians_m.append(float(np.median(units[units > 0])) * DEPTH_SCALE_M_PER_UNIT)
            if found != size:
                raise InputError(f"{where}: {kind} {rel} is {found[0]}x{found[1]} pixels, the intrinsics say "
                                 f"{size[0]}x{size[1]}")
            if kind == "image":
                # nerfstudio reads a palette image's indices as grey levels, and stacks every image: RGB and RGBA
                # together fail
                if mode not in ("RGB", "RGBA", "L"):
                    raise InputError(f"{where}: image {rel} has pixel mode {mode}; expected 8-bit RGB")
                if first_image_mode is None:
                    first_image_mode = (frame.index, mode)
                elif (mode == "RGBA") != (first_image_mode[1] == "RGBA"):
                    raise InputError(f"{where}: image {rel} is {mode} but frame {first_image_mode[0]}'s is "
                                     f"{first_image_mode[1]}; every image must have an alpha channel or none")
            if kind == "depth" and mode not in ("I;16", "I;16B", "I;16L", "I"):
                raise InputError(f"{where}: depth {rel} has pixel mode {mode}; expected 16-bit millimetres")
            if kind == "mask" and mode not in ("1", "L"):
                raise InputError(f"{where}: mask {rel} has pixel mode {mode}; expected one channel (1 or L)")
            if kind == "mask" and nothing_set:
                # nerfstudio 1.1.5 PixelSampler.sample_method samples rays among the masks' non-zero pixels
                # ("Sample larger than population" when too few); a view with none trains nothing
                raise InputError(f"{where}: mask {rel} masks out every pixel (all 0); a mask needs some non-zero "
                                 f"pixels to train on, or leave mask_path out")
    if any(f.depth_path for f in dataset.frames) and not depth_medians_m:
        raise InputError(f"dataset {root}: every depth image is empty (0 = no return everywhere)")
    if depth_medians_m:
        median_m, (low, high) = float(np.median(depth_medians_m)), PLAUSIBLE_MEDIAN_DEPTH_M
        if not low <= median_m <= high:
            raise InputError(f"dataset {root}: the depth images' median is {median_m:.3g} m, outside the {low:g}-"
                             f"{high:g} m a depth camera sees: depth PNGs must hold millimetres (written in metres "
                             f"or another unit?)")
    return dataset


def _negative_depth_problem(units: np.ndarray) -> str | None:
    """Why a depth image's values are no millimetres (negative), or None; 0 is the one "no return" value."""
    lowest = int(units.min())
    if lowest >= 0:
        return None
    what = "has negative pixels" if (units > 0).any() else "has no valid (positive) pixel"
    return f"{what} (down to {lowest}); depth images hold millimetres, 0 = no return"


def far_from_base_problem(position_m: np.ndarray) -> str | None:
    """Why ``position_m`` (a camera's, a tool's, a scan centre's) is no cell's, or None: farther from the base on
    some axis than ``MAX_CAMERA_DISTANCE_M``. Each caller adds its own hint (the numbers are not metres)."""
    position = np.asarray(position_m, dtype=float)
    if np.abs(position).max() <= MAX_CAMERA_DISTANCE_M:
        return None
    return f"{np.round(position, 3).tolist()} lies more than {MAX_CAMERA_DISTANCE_M:g} m from the base frame"


def _check_camera_positions(dataset: Dataset) -> None:
    """Cameras within a kilometre of the base and not all in one place: nerfstudio scales the poses by their
    spread (a camera that never moved trained a field scaled by 1e8; one at 1e30 m "succeeded")."""
    positions = dataset.poses()[:, :3, 3]
    if not np.all(np.isfinite(positions)):
        return  # rigid_transform_problem names the frame
    for index, position in enumerate(positions):
        far = far_from_base_problem(position)
        if far:
            raise InputError(f"dataset {dataset.root}: frame {index}: the camera at {far}; poses must be in metres")
    spread_m = float(np.linalg.norm(positions - positions.mean(axis=0), axis=1).max())
    if spread_m < MIN_CAMERA_SPREAD_M:
        raise InputError(f"dataset {dataset.root}: every camera is within {spread_m * 1000:.1f} mm of the same place; "
                         f"a field needs views from places at least {MIN_CAMERA_SPREAD_M * 100:g} cm apart (did the "
                         f"pose stop updating?)")


def _check_unique_file_names(dataset: Dataset) -> None:
    """Each frame's image has its own file name: nerfstudio finds downscaled images, and this package a frame's
    teacher features, by the file name alone (two frames on one image, or images/a.png and more/a.png, trained
    one frame with the other's features)."""
    seen: dict[str, int] = {}
    for frame in dataset.frames:
        name = Path(frame.image_path).name
        if name in seen:
            raise InputError(f"dataset {dataset.root}: frames {seen[name]} and {frame.index} both have an image "
                             f"called {name!r} ({dataset.frames[seen[name]].image_path}, {frame.image_path}); every "
                             f"frame needs its own image file name")
        seen[name] = frame.index


def iter_datasets(root: Path) -> Iterator[Path]:
    """Complete datasets under ``root`` (partial ones are skipped), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return iter(())
    found = [p for p in root.iterdir() if p.is_dir() and not is_partial(p) and (p / TRANSFORMS).is_file()]
    found.sort(key=lambda p: ((p / TRANSFORMS).stat().st_mtime, p.name))
    return iter(found)


def newest_dataset(root: Path) -> Path | None:
    found = list(iter_datasets(root))
    return found[-1] if found else None


def timestamped_name(prefix: str = "scan") -> str:
    return time.strftime(f"{prefix}_%Y%m%d_%H%M%S")


__all__ = [
    "CameraIntrinsics", "Dataset", "DatasetWriter", "Frame", "load_dataset", "newest_dataset", "iter_datasets",
    "optical_to_opengl", "opengl_to_optical", "depth_m_to_png_units", "png_units_to_depth_m", "timestamped_name",
    "DEPTH_SCALE_M_PER_UNIT", "check_dataset", "rigid_transform_problem", "MIN_TRAINING_VIEWS",
]
