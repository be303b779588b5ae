"""Loading scenes: built-in names, YAML files or dicts, fully checked (fields, overlap, table, tote, cameras)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from dff_grasp_ros.errors import read_yaml_file
from dff_grasp_ros.synthetic.cameras import scan_poses, table_half_size_m, views_seeing
from dff_grasp_ros.synthetic.objects import PartShape, placed_parts
from dff_grasp_ros.synthetic.placement import TOUCH_TOLERANCE_M, check_no_overlap, convex_hull_2d
from dff_grasp_ros.synthetic.shapes import Mesh, box
from dff_grasp_ros.synthetic.spec import Scene, ToteSpec, scene_from_dict

SCENES_DIR = Path(__file__).resolve().parent / "scenes"


def builtin_scene_names() -> list[str]:
    return sorted(p.stem for p in SCENES_DIR.glob("*.yaml"))


def load_scene(source: str | Path | dict[str, Any] | Scene) -> Scene:
    """A checked Scene from a built-in name (``"tabletop"``), a YAML file path, a dict, or a Scene.

    Raises ValueError with the offending field for bad content and for an unknown name or missing file.
    """
    if isinstance(source, Scene):
        return source
    if isinstance(source, dict):
        return _checked(scene_from_dict(source))
    if not isinstance(source, (str, Path)):
        raise ValueError(f"load_scene expects a scene name, a YAML path or a dict, got {type(source).__name__}")
    path = Path(source)
    if not path.is_file():
        if str(source) in builtin_scene_names():
            path = SCENES_DIR / f"{source}.yaml"
        else:
            raise ValueError(f"no scene file or built-in scene called {str(source)!r}; "
                             f"built-in scenes: {', '.join(builtin_scene_names())}")
    data = read_yaml_file(path, "scene file")
    try:
        return _checked(scene_from_dict(data))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def list_scenes() -> dict[str, str]:
    """Built-in scene name -> one-line description, for ``dff-grasp scenes``."""
    return {name: load_scene(name).description for name in builtin_scene_names()}


@lru_cache(maxsize=16)
def scene_parts(scene: Scene) -> tuple[tuple[PartShape, ...], ...]:
    """Per object, its parts placed in base_link (cached: scenes are immutable)."""
    return tuple(tuple(placed_parts(o.type, o.position_m, o.yaw_deg)) for o in scene.objects)


def nearest_object(scene: Scene, object_ids: list[int], position_m: np.ndarray) -> int:
    """Of ``object_ids``, the object whose surface (mesh vertices) is nearest to ``position_m``: which of several
    identical objects a grasp asked for by their shared name holds (either is right; never used across types)."""
    parts = scene_parts(scene)
    distance = [min(float(np.linalg.norm(p.mesh.vertices - np.asarray(position_m), axis=1).min()) for p in parts[i])
                for i in object_ids]
    return object_ids[int(np.argmin(distance))]


def tote_walls(tote: ToteSpec | None) -> tuple[Mesh, ...]:
    """The tote's four walls as boxes in base_link (none without a tote): the two along x span the corners."""
    if tote is None:
        return ()
    (cx, cy), (lx, ly), t, h = tote.center_m, tote.inner_size_m, tote.wall_thickness_m, tote.wall_height_m
    x_in, y_in = lx / 2, ly / 2
    return (box((cx - x_in - t, cy + y_in, 0.0), (cx + x_in + t, cy + y_in + t, h)),
            box((cx - x_in - t, cy - y_in - t, 0.0), (cx + x_in + t, cy - y_in, h)),
            box((cx + x_in, cy - y_in, 0.0), (cx + x_in + t, cy + y_in, h)),
            box((cx - x_in - t, cy - y_in, 0.0), (cx - x_in, cy + y_in, h)))


@lru_cache(maxsize=16)
def table_size_m(scene: Scene) -> float:
    """Side of the square table (centred under the scan centre) that fills every pixel of every view."""
    return 2.0 * table_half_size_m(scene)


def _checked(scene: Scene) -> Scene:
    half = table_size_m(scene) / 2  # the views alone decide it: a scan that sees the horizon fails before any mesh
    footprints = [[convex_hull_2d(part.mesh.vertices[:, :2]) for part in parts] for parts in scene_parts(scene)]
    labels = [scene.object_label(i) for i in range(len(scene.objects))]
    check_no_overlap(footprints, labels)
    centre = np.asarray(scene.scan.center_m[:2])
    for label, hulls in zip(labels, footprints):
        if np.abs(np.concatenate(hulls) - centre).max() > half:
            raise ValueError(f"scene {scene.name!r}: object {label} hangs off the {2 * half:.2f} m table centred at "
                             f"{centre.tolist()}; move it closer to scan.center_m")
    if scene.tote is not None:
        _check_tote(scene, labels, footprints, centre, half)
    _check_cameras_outside(scene, labels, footprints)
    # A scan aimed beside the objects, or low behind tall tote walls, was rendered (and would be trained on)
    # without showing them. Footprint corners and the centre, on the table and at the object's top: a view seeing
    # none of them sees at most a sliver of the object.
    outlines = []
    for hulls, parts, obj in zip(footprints, scene_parts(scene), scene.objects):
        xy = np.vstack([np.concatenate(hulls), obj.position_m])
        top_m = max(float(p.mesh.vertices[:, 2].max()) for p in parts)
        outlines.append(np.vstack([np.column_stack([xy, np.full(len(xy), z)]) for z in (0.0, top_m)]))
    walls = tuple(np.stack([w.vertices.min(axis=0), w.vertices.max(axis=0)]) for w in tote_walls(scene.tote))
    unseen = np.flatnonzero(views_seeing(scene, outlines, walls) == 0).tolist()
    if unseen:
        first = scene.objects[unseen[0]]
        others = f" (nor {len(unseen) - 1} other{'s' if len(unseen) > 2 else ''})" if len(unseen) > 1 else ""
        raise ValueError(f"scene {scene.name!r}: no view of the scan sees object {labels[unseen[0]]} at "
                         f"{list(first.position_m)}{others}; the views look at scan.center_m "
                         f"{list(scene.scan.center_m)} from {scene.scan.radius_m:g} m"
                         f"{' over the tote walls' if scene.tote else ''}: aim them at the objects")
    return scene


def _check_cameras_outside(scene: Scene, labels: list[str], footprints: list[list[np.ndarray]]) -> None:
    """No scan view puts the camera inside an object (within a part's footprint, below its top) or a tote wall: a
    scan 5 cm around a point in a mug was rendered from inside the mug."""
    walls = [(w.vertices.min(axis=0), w.vertices.max(axis=0)) for w in tote_walls(scene.tote)]
    for index, pose in enumerate(scan_poses(scene)):
        eye = pose[:3, 3]
        if any((low <= eye).all() and (eye <= high).all() for low, high in walls):
            raise ValueError(f"scene {scene.name!r}: view {index} puts the camera inside the tote's wall, at "
                             f"{np.round(eye, 3).tolist()}; move scan.center_m or change scan.radius_m")
        for label, hulls, parts in zip(labels, footprints, scene_parts(scene)):
            for hull, part in zip(hulls, parts):
                edges = np.roll(hull, -1, axis=0) - hull  # counter-clockwise: inside is left of every edge
                left = edges[:, 0] * (eye[1] - hull[:, 1]) - edges[:, 1] * (eye[0] - hull[:, 0])
                if len(hull) >= 3 and (left >= 0).all() and eye[2] <= part.mesh.vertices[:, 2].max():
                    raise ValueError(f"scene {scene.name!r}: view {index} puts the camera inside object {label}, at "
                                     f"{np.round(eye, 3).tolist()}; move scan.center_m or change scan.radius_m")


def _check_tote(scene: Scene, labels: list[str], footprints: list[list[np.ndarray]], table_centre: np.ndarray,
                table_half_m: float) -> None:
    """Every object stands inside the tote, and the walls stand on the table."""
    tote = scene.tote
    assert tote is not None
    inner_half = np.asarray(tote.inner_size_m) / 2
    for label, hulls in zip(labels, footprints):
        beyond = (np.abs(np.concatenate(hulls) - tote.center_m) - inner_half).max()
        if beyond > TOUCH_TOLERANCE_M:
            raise ValueError(f"scene {scene.name!r}: object {label} reaches {beyond * 1000:.0f} mm into or past the "
                             f"tote's walls; move it inside tote.inner_size_m {list(tote.inner_size_m)} around "
                             f"tote.center_m {list(tote.center_m)}")
    outer = np.abs(np.asarray(tote.center_m) - table_centre) + inner_half + tote.wall_thickness_m
    if outer.max() > table_half_m:
        raise ValueError(f"scene {scene.name!r}: the tote's walls hang off the {2 * table_half_m:.2f} m table centred "
                         f"at {table_centre.tolist()}; move tote.center_m closer to scan.center_m")
