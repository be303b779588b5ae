"""The scene description (what a scene YAML holds), parsed into frozen, hashable dataclasses.

Schema (keys marked optional have defaults)::

    name: tabletop
    description: one line for `dff-grasp scenes`            # optional
    objects:                                                # on the table, z = 0 in base_link
      - {type: mug, position_m: [0.10, -0.05], yaw_deg: 30, color: red}
    camera: {width: 640, height: 480, fx: 600, fy: 600}     # optional cx, cy (default: image centre)
    scan: {views: 48, radius_m: 0.55, elevation_deg: [35, 70]}
          # optional: center_m [x, y, z] (default: middle of the objects' positions, z = 0)
          #           azimuth_deg [lo, hi] (default: all the way round)
    tote: {center_m: [0, 0], inner_size_m: [0.36, 0.28]}    # optional: four walls on the table around objects
          # optional: wall_height_m (default 0.10), wall_thickness_m (default 0.01); its floor is the table
    seed: 0

Parsing checks each field; geometric checks (overlap, the camera seeing past the table) live in
:mod:`dff_grasp_ros.synthetic.catalog`, which is what callers use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dff_grasp_ros.dataset import CameraIntrinsics, far_from_base_problem
from dff_grasp_ros.errors import finite_array, finite_number
from dff_grasp_ros.synthetic.objects import COLOUR_ALBEDO, object_types

_TOP_KEYS = {"name", "description", "objects", "camera", "scan", "tote", "seed"}
_OBJECT_KEYS = {"type", "position_m", "yaw_deg", "color"}
_CAMERA_KEYS = {"width", "height", "fx", "fy", "cx", "cy"}
_SCAN_KEYS = {"views", "radius_m", "elevation_deg", "center_m", "azimuth_deg"}
_TOTE_KEYS = {"center_m", "inner_size_m", "wall_height_m", "wall_thickness_m"}
BASE_FRAME = "base_link"  # the frame of every scene: table top at z = 0, REP-103 axes
MAX_IMAGE_SIDE = 8192
MAX_ELEVATION_DEG = 85.0  # looking straight down leaves "no roll" undefined
# A cell's table or tote holds tens of objects (the built-in scenes 2-9). Meshes, checks and every view's render
# grow with the count: 2,500 mugs took 15 s to check and 65 s and 1.4 GB to render three 64x48 views.
MAX_SCENE_OBJECTS = 200
SCENE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class SceneObject:
    type: str
    position_m: tuple[float, float]
    yaw_deg: float
    color: str


@dataclass(frozen=True)
class CameraSpec:
    """Pinhole camera; ``cx``/``cy`` follow nerfstudio: pixel (row, col) is centred at (col + 0.5, row + 0.5)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float


@dataclass(frozen=True)
class ScanSpec:
    views: int
    radius_m: float
    elevation_deg: tuple[float, float]
    center_m: tuple[float, float, float]
    azimuth_deg: tuple[float, float]


@dataclass(frozen=True)
class ToteSpec:
    """An open box (four walls standing on the table, axis-aligned) that the objects stand in."""

    center_m: tuple[float, float]
    inner_size_m: tuple[float, float]  # inside lengths along x and y
    wall_height_m: float = 0.10
    wall_thickness_m: float = 0.01


@dataclass(frozen=True)
class Scene:
    name: str
    objects: tuple[SceneObject, ...]
    camera: CameraSpec
    scan: ScanSpec
    seed: int
    description: str = ""
    tote: ToteSpec | None = None

    def object_label(self, index: int) -> str:
        """Human-readable name of an object for messages: ``"#1 red mug"``."""
        obj = self.objects[index]
        return f"#{index} {obj.color} {obj.type}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict in the YAML schema (defaults made explicit); ``scene_from_dict`` reads it back."""
        return {
            "name": self.name,
            "description": self.description,
            "objects": [{"type": o.type, "position_m": list(o.position_m), "yaw_deg": o.yaw_deg, "color": o.color}
                        for o in self.objects],
            "camera": {"width": self.camera.width, "height": self.camera.height, "fx": self.camera.fx,
                       "fy": self.camera.fy, "cx": self.camera.cx, "cy": self.camera.cy},
            "scan": {"views": self.scan.views, "radius_m": self.scan.radius_m,
                     "elevation_deg": list(self.scan.elevation_deg), "center_m": list(self.scan.center_m),
                     "azimuth_deg": list(self.scan.azimuth_deg)},
            **({"tote": {"center_m": list(self.tote.center_m), "inner_size_m": list(self.tote.inner_size_m),
                         "wall_height_m": self.tote.wall_height_m, "wall_thickness_m": self.tote.wall_thickness_m}}
               if self.tote else {}),
            "seed": self.seed,
        }


def scene_from_dict(data: Any) -> Scene:
    """Parse and check a scene dict field by field; raises ValueError saying which field is wrong and why."""
    data = _mapping(data, "scene", _TOP_KEYS)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("scene: 'name' must be a non-empty string")
    if not SCENE_NAME.fullmatch(name.strip()):
        # it names the rendered dataset's folder: 'a/b' and '../x' failed naming a hidden staging path, 300
        # characters with "File name too long", a NUL with "embedded null character"; a tab made a folder name
        raise ValueError(f"scene: 'name' must be 1-64 letters, digits, '_', '-' or '.' starting with a letter or "
                         f"digit (it names the dataset folder), got {name!r:.80}")
    raw_objects = data.get("objects")
    if not isinstance(raw_objects, list) or not raw_objects:
        raise ValueError(f"scene {name!r}: 'objects' must be a non-empty list")
    if len(raw_objects) > MAX_SCENE_OBJECTS:
        raise ValueError(f"scene {name!r}: {len(raw_objects)} objects; a scene holds at most {MAX_SCENE_OBJECTS}")
    objects = tuple(_object(o, f"scene {name!r} object #{i}") for i, o in enumerate(raw_objects))
    camera = _camera(data.get("camera"), f"scene {name!r} camera")
    positions = [o.position_m for o in objects]
    default_centre = tuple(round(sum(p[axis] for p in positions) / len(positions), 4) for axis in (0, 1))
    scan = _scan(data.get("scan"), f"scene {name!r} scan", default_centre)
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"scene {name!r}: 'seed' must be a non-negative integer, got {seed!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ValueError(f"scene {name!r}: 'description' must be a string")
    tote = _tote(data["tote"], f"scene {name!r} tote") if data.get("tote") is not None else None
    return Scene(name.strip(), objects, camera, scan, seed, description.strip(), tote)


def _mapping(data: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    unknown = set(data) - allowed
    if unknown:  # sorted as text: YAML keys may be numbers too (1: x), which do not compare with strings
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown, key=str)}; allowed: {sorted(allowed)}")
    return data


def _numbers(value: Any, count: int, where: str) -> tuple[float, ...]:
    return tuple(finite_array(value, (count,), where).tolist())


def _object(data: Any, where: str) -> SceneObject:
    data = _mapping(data, where, _OBJECT_KEYS)
    kind = data.get("type")
    if kind not in object_types():
        raise ValueError(f"{where}: unknown object type {kind!r}; known: {', '.join(object_types())}")
    colour = data.get("color")
    if not isinstance(colour, str):  # a list or mapping cannot even be looked up in COLOUR_ALBEDO (unhashable)
        raise ValueError(f"{where} ({kind}): 'color' must be a colour name (a string), got {colour!r:.60}; "
                         f"known: {', '.join(COLOUR_ALBEDO)}")
    if colour not in COLOUR_ALBEDO:
        raise ValueError(f"{where} ({kind}): unknown colour {colour!r}; known: {', '.join(COLOUR_ALBEDO)}")
    if "position_m" not in data:
        raise ValueError(f"{where} ({kind}): 'position_m' [x, y] is required")
    x, y = _numbers(data["position_m"], 2, f"{where} ({kind}) position_m")
    return SceneObject(kind, (x, y), finite_number(data.get("yaw_deg", 0.0), f"{where} ({kind}) yaw_deg"), colour)


def _camera(data: Any, where: str) -> CameraSpec:
    data = _mapping(data, where, _CAMERA_KEYS)
    for key in ("width", "height", "fx", "fy"):
        if key not in data:
            raise ValueError(f"{where}: '{key}' is required")
    size = {}
    for key in ("width", "height"):
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_IMAGE_SIDE:
            raise ValueError(f"{where}: '{key}' must be an integer in [1, {MAX_IMAGE_SIDE}] pixels, got {value!r}")
        size[key] = value
    fx, fy = finite_number(data["fx"], f"{where} fx"), finite_number(data["fy"], f"{where} fy")
    if fx <= 0 or fy <= 0:
        raise ValueError(f"{where}: focal lengths fx, fy must be positive pixels, got {fx}, {fy}")
    cx = finite_number(data.get("cx", size["width"] / 2), f"{where} cx")
    cy = finite_number(data.get("cy", size["height"] / 2), f"{where} cy")
    if not (0 < cx < size["width"] and 0 < cy < size["height"]):
        raise ValueError(f"{where}: principal point ({cx}, {cy}) must lie inside the "
                         f"{size['width']}x{size['height']} image")
    # the check every reader of intrinsics makes (a dataset rendered past it would be refused by training)
    problem = CameraIntrinsics(size["width"], size["height"], fx, fy, cx, cy).problem()
    if problem:
        raise ValueError(f"{where}: {problem}")
    return CameraSpec(size["width"], size["height"], fx, fy, cx, cy)


def _scan(data: Any, where: str, default_centre_xy: tuple[float, float]) -> ScanSpec:
    data = _mapping(data, where, _SCAN_KEYS)
    for key in ("views", "radius_m", "elevation_deg"):
        if key not in data:
            raise ValueError(f"{where}: '{key}' is required")
    views = data["views"]
    if isinstance(views, bool) or not isinstance(views, int) or not 1 <= views <= 10000:
        raise ValueError(f"{where}: 'views' must be an integer in [1, 10000], got {views!r}")
    radius = finite_number(data["radius_m"], f"{where} radius_m")
    if not 0.05 <= radius <= 10.0:
        raise ValueError(f"{where}: 'radius_m' must be in [0.05, 10] metres, got {radius}")
    low, high = _numbers(data["elevation_deg"], 2, f"{where} elevation_deg")
    if not 0 < low <= high <= MAX_ELEVATION_DEG:
        raise ValueError(f"{where}: elevation_deg [lo, hi] needs 0 < lo <= hi <= {MAX_ELEVATION_DEG}, "
                         f"got [{low}, {high}]")
    centre = _numbers(data.get("center_m", [*default_centre_xy, 0.0]), 3, f"{where} center_m")
    far = far_from_base_problem(centre)  # a dataset of cameras there is refused by training
    if far:
        raise ValueError(f"{where}: scan.center_m {far} (default: the middle of the objects); scenes are in metres "
                         f"around base_link")
    az_low, az_high = _numbers(data.get("azimuth_deg", [-180.0, 180.0]), 2, f"{where} azimuth_deg")
    if not az_low < az_high <= az_low + 360.0:
        raise ValueError(f"{where}: azimuth_deg [lo, hi] needs lo < hi <= lo + 360, got [{az_low}, {az_high}]")
    return ScanSpec(views, radius, (low, high), centre, (az_low, az_high))  # type: ignore[arg-type]


def _tote(data: Any, where: str) -> ToteSpec:
    data = _mapping(data, where, _TOTE_KEYS)
    for key in ("center_m", "inner_size_m"):
        if key not in data:
            raise ValueError(f"{where}: '{key}' [x, y] is required")
    centre = _numbers(data["center_m"], 2, f"{where} center_m")
    size = _numbers(data["inner_size_m"], 2, f"{where} inner_size_m")
    if not all(0.05 <= side <= 2.0 for side in size):
        raise ValueError(f"{where}: inner_size_m sides must be in [0.05, 2] metres, got {list(size)}")
    height = finite_number(data.get("wall_height_m", 0.10), f"{where} wall_height_m")
    if not 0.01 <= height <= 0.5:
        raise ValueError(f"{where}: wall_height_m must be in [0.01, 0.5] metres, got {height}")
    thickness = finite_number(data.get("wall_thickness_m", 0.01), f"{where} wall_thickness_m")
    if not 0.002 <= thickness <= 0.1:
        raise ValueError(f"{where}: wall_thickness_m must be in [0.002, 0.1] metres, got {thickness}")
    return ToteSpec(centre, size, height, thickness)  # type: ignore[arg-type]
