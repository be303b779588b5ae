"""Ground truth of a simulated scene: exposed surface points of every object part, in base_link metres.

Written as ``ground_truth.json`` beside a rendered dataset so tests and users can check where a relevancy
cloud peaks or which part a grasp touches.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dff_grasp_ros.sim.catalog import load_scene, scene_parts
from dff_grasp_ros.sim.labels import encode_labels
from dff_grasp_ros.sim.shapes import sample_surface
from dff_grasp_ros.sim.spec import Scene
from dff_grasp_ros.sim.world import World, world_of

POINTS_PER_PART = 300
BURIED_WITHIN_M = 0.003  # a surface point whose outward normal hits something this close is buried
OUTWARD_START_M = 2e-4


def exposed_surface_points(world: World, points_m: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Mask of sampled points that are open to the air: not inside another part, not resting on the table.

    Hidden geometry (handle ends sunk into a mug wall, a blade's tang inside its handle, a base on the table)
    is in the meshes but is not surface a camera can see or a gripper can touch.
    """
    hits = world.cast(points_m + OUTWARD_START_M * normals, normals)
    open_air = ~(world.is_hit[hits.geometry] & (hits.distance < BURIED_WITHIN_M))
    on_table = (points_m[:, 2] < 1e-3) & (normals[:, 2] < -0.5)
    return open_air & ~on_table


def part_surface_points(scene: Scene, object_index: int, part_index: int,
                        count: int = POINTS_PER_PART) -> np.ndarray:
    """(<= count, 3) exposed surface points of one part, deterministic from the scene seed."""
    world = world_of(scene)
    mesh = scene_parts(scene)[object_index][part_index].mesh
    rng = np.random.default_rng([scene.seed, object_index, part_index])
    points, normals = sample_surface(mesh, 4 * count, rng)
    return points[exposed_surface_points(world, points, normals)][:count]


def ground_truth(scene: Scene | str | dict[str, Any], points_per_part: int = POINTS_PER_PART) -> dict[str, Any]:
    """The ground_truth.json content (DESIGN.md format, plus each part's label id and each object's pose)."""
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
    return {"frame_id": "base_link", "scene": scene.name, "objects": objects}
