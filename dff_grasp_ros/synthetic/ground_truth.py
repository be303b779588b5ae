"""Ground truth of a simulated scene: exposed surface points of every object part, in base_link metres.

Written as ``ground_truth.json`` beside a rendered dataset so tests and users can check where a relevancy
cloud peaks or which part a grasp touches. A scene with a tote also lists its walls' exposed surface points under
``"obstacles"``: background, not objects, but something a hand must not pass through.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from dff_grasp_ros.synthetic.catalog import load_scene, scene_parts, tote_walls
from dff_grasp_ros.synthetic.labels import encode_labels
from dff_grasp_ros.synthetic.shapes import sample_surface
from dff_grasp_ros.synthetic.spec import BASE_FRAME, Scene
from dff_grasp_ros.synthetic.world import to_open3d

POINTS_PER_PART = 300
WALL_POINTS_PER_PART = 4  # a tote wall (~0.1 m^2 of surface) gets as many points as this many parts
OUTWARD_START_M = 2e-4  # start the inside test just off the surface, clear of the part's own faces
# A generic direction (not along any axis) so test rays do not graze box faces or seams.
_PROBE_DIRECTION = np.array([0.31, 0.52, 0.79]) / np.linalg.norm([0.31, 0.52, 0.79])


@lru_cache(maxsize=4)
def _solids(scene: Scene) -> Any:
    """A RaycastingScene of the objects and tote walls (all closed meshes; the open table plane is left out)."""
    import open3d as o3d

    raycaster = o3d.t.geometry.RaycastingScene()
    for mesh in [part.mesh for parts in scene_parts(scene) for part in parts] + list(tote_walls(scene.tote)):
        raycaster.add_triangles(to_open3d(mesh))
    return raycaster


def exposed_surface_points(scene: Scene, points_m: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Mask of surface points open to the air: not inside another part, not resting on the table.

    Hidden geometry (handle ends sunk into a mug wall, a blade's tang inside its handle, a base on the table)
    is in the meshes but is not surface a camera can see or a gripper can touch. Inside-ness is the parity
    of crossings of a ray leaving the point, which is exact for closed meshes.
    """
    import open3d as o3d

    origins = points_m + OUTWARD_START_M * normals
    rays = np.concatenate([origins, np.broadcast_to(_PROBE_DIRECTION, origins.shape)], axis=1)
    crossings = _solids(scene).count_intersections(o3d.core.Tensor(rays.astype(np.float32))).numpy()
    on_table = (points_m[:, 2] < 1e-3) & (normals[:, 2] < -0.5)
    return (crossings % 2 == 0) & ~on_table


def part_surface_points(scene: Scene, object_index: int, part_index: int,
                        count: int = POINTS_PER_PART) -> np.ndarray:
    """(<= count, 3) exposed surface points of one part, deterministic from the scene seed."""
    mesh = scene_parts(scene)[object_index][part_index].mesh
    rng = np.random.default_rng([scene.seed, object_index, part_index])
    points, normals = sample_surface(mesh, 4 * count, rng)
    return points[exposed_surface_points(scene, points, normals)][:count]


def tote_surface(scene: Scene, points_per_part: int = POINTS_PER_PART) -> tuple[np.ndarray, np.ndarray]:
    """(M, 3) exposed surface points of the tote's walls (none without a tote), deterministic from the seed, and
    their (M, 3) normals out of the wall (both faces of a wall: a scan sees the inner one from above the tote,
    the outer one from beside it)."""
    chunks, normal_chunks = [np.zeros((0, 3))], [np.zeros((0, 3))]
    for index, wall in enumerate(tote_walls(scene.tote)):
        rng = np.random.default_rng([scene.seed, 1_000_000, index])
        points, normals = sample_surface(wall, 2 * WALL_POINTS_PER_PART * points_per_part, rng)
        exposed = exposed_surface_points(scene, points, normals)
        chunks.append(points[exposed][:WALL_POINTS_PER_PART * points_per_part])
        normal_chunks.append(normals[exposed][:WALL_POINTS_PER_PART * points_per_part])
    return np.vstack(chunks), np.vstack(normal_chunks)


def tote_surface_points(scene: Scene, points_per_part: int = POINTS_PER_PART) -> np.ndarray:
    """(M, 3) exposed surface points of the tote's walls (see :func:`tote_surface`)."""
    return tote_surface(scene, points_per_part)[0]


def ground_truth(scene: Scene | str | dict[str, Any], points_per_part: int = POINTS_PER_PART) -> dict[str, Any]:
    """The ground_truth.json content: per object its type, colour and pose, per part its label and surface points."""
    scene = load_scene(scene)
    objects = []
    for index, (obj, parts) in enumerate(zip(scene.objects, scene_parts(scene))):
        part_entries = {}
        for part_index, part in enumerate(parts):
            points = part_surface_points(scene, index, part_index, points_per_part)
            part_entries[part.name] = {
                "label": int(encode_labels(np.array(index), np.array(part_index))),
                "points": np.round(points, 4).tolist(),
            }
        objects.append({"id": index, "type": obj.type, "color": obj.color, "position_m": list(obj.position_m),
                        "yaw_deg": obj.yaw_deg, "parts": part_entries})
    truth: dict[str, Any] = {"frame_id": BASE_FRAME, "scene": scene.name, "objects": objects}
    if scene.tote is not None:
        points, normals = tote_surface(scene, points_per_part)
        truth["obstacles"] = [{"name": "tote", "points": np.round(points, 4).tolist(),
                               "normals": np.round(normals, 4).tolist()}]
    return truth
