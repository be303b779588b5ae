"""The scene as ray-castable geometry: one open3d RaycastingScene per scene, built once and cached.

open3d's RaycastingScene (Embree) works headless, unlike its OffscreenRenderer. Every part, the table and each
tote wall is its own geometry, so a hit's geometry id says which object and part it belongs to (tote walls are
background, like the table). :func:`posed_world` builds an uncached World with the objects at other poses (as
physics moved them) and extra solids (the gripper), for pictures of a grasp being executed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from dff_grasp_ros.synthetic.catalog import load_scene, scene_parts, table_size_m, tote_walls
from dff_grasp_ros.synthetic.objects import PartShape, build_object, part_albedo
from dff_grasp_ros.synthetic.shapes import Mesh
from dff_grasp_ros.synthetic.spec import Scene

if TYPE_CHECKING:
    import open3d as o3d

TOTE_ALBEDO = np.array([0.20, 0.28, 0.42])  # blue-grey plastic
GRIPPER_ALBEDO = np.array([0.55, 0.56, 0.58])  # aluminium


@dataclass(frozen=True)
class Hits:
    """First hits of a batch of rays; ``geometry`` indexes :class:`World`'s per-geometry tables (misses
    point at the last row, the "nothing" row)."""

    distance: np.ndarray  # (N,) in units of each ray direction's length; inf where nothing is hit
    geometry: np.ndarray  # (N,) int
    normals: np.ndarray  # (N, 3) unit face normals as stored (not yet turned towards the ray)


@dataclass(frozen=True)
class World:
    """Ray-castable scene plus, per geometry id (and one final row for misses), its labels and colour."""

    scene: Scene
    raycaster: Any  # open3d.t.geometry.RaycastingScene
    object_id: np.ndarray  # (G + 1,) int32, -1 for the table and for misses
    part_id: np.ndarray  # (G + 1,) int32
    albedo: np.ndarray  # (G + 1, 3) linear RGB of the part's colour (table and misses: unused)
    is_table: np.ndarray  # (G + 1,) bool
    is_hit: np.ndarray  # (G + 1,) bool, False only on the last row

    def cast(self, origins_m: np.ndarray, directions: np.ndarray) -> Hits:
        """Cast rays (N, 3) + (N, 3); directions need not be unit length."""
        import open3d as o3d

        rays = np.concatenate([np.broadcast_to(origins_m, directions.shape), directions], axis=-1)
        result = self.raycaster.cast_rays(o3d.core.Tensor(np.ascontiguousarray(rays, dtype=np.float32)))
        distance = result["t_hit"].numpy().astype(np.float64)
        ids = result["geometry_ids"].numpy().astype(np.int64)
        miss = len(self.is_hit) - 1
        geometry = np.where(np.isfinite(distance) & (ids < miss), ids, miss)
        return Hits(distance, geometry, result["primitive_normals"].numpy().astype(np.float64))

    def distance_to_surface_m(self, points_m: np.ndarray) -> np.ndarray:
        """Unsigned distance from each point (N, 3) to the nearest surface of the scene (objects or table)."""
        import open3d as o3d

        query = o3d.core.Tensor(np.ascontiguousarray(points_m, dtype=np.float32).reshape(-1, 3))
        return self.raycaster.compute_distance(query).numpy().astype(np.float64)


def table_mesh(scene: Scene) -> Mesh:
    """The table top: a square at z = 0 under the scan centre, wound to face up, big enough for every view."""
    half = table_size_m(scene) / 2
    cx, cy = scene.scan.center_m[:2]
    vertices = np.array([[cx - half, cy - half, 0], [cx + half, cy - half, 0], [cx + half, cy + half, 0],
                         [cx - half, cy + half, 0]], dtype=float)
    return Mesh(vertices, np.array([[0, 1, 2], [0, 2, 3]]))


def to_open3d(mesh: Mesh) -> o3d.t.geometry.TriangleMesh:
    import open3d as o3d

    out = o3d.t.geometry.TriangleMesh()
    out.vertex.positions = o3d.core.Tensor(mesh.vertices.astype(np.float32))
    out.triangle.indices = o3d.core.Tensor(mesh.triangles.astype(np.int32))
    return out


# One ray-castable solid: mesh, object id, part id, albedo, is-table.
_Solid = tuple[Mesh, int, int, np.ndarray, bool]


def _assemble(scene: Scene, solids: list[_Solid]) -> World:
    import open3d as o3d

    raycaster = o3d.t.geometry.RaycastingScene()
    for geometry_index, (mesh, *_) in enumerate(solids):
        geometry_id = raycaster.add_triangles(to_open3d(mesh))
        assert geometry_id == geometry_index, "open3d hands out geometry ids in insertion order"
    # open3d builds the BVH on the first query; do it here, once, rather than in racing render threads.
    raycaster.cast_rays(o3d.core.Tensor(np.array([[0, 0, 1, 0, 0, -1]], dtype=np.float32)))
    object_id, part_id, albedo, is_table = ([s[k] for s in solids] for k in range(1, 5))
    return World(scene, raycaster, np.array(object_id + [-1], np.int32), np.array(part_id + [-1], np.int32),
                 np.array(albedo + [np.zeros(3)]), np.array(is_table + [False]),
                 np.array([True] * len(solids) + [False]))


def _static_solids(scene: Scene) -> list[_Solid]:
    """The table and the tote's walls (background: object and part id -1)."""
    return [(table_mesh(scene), -1, -1, np.zeros(3), True)] + [(wall, -1, -1, TOTE_ALBEDO, False)
                                                              for wall in tote_walls(scene.tote)]


def _object_solids(scene: Scene, parts_per_object: tuple[tuple[PartShape, ...], ...] | list[list[PartShape]]
                   ) -> list[_Solid]:
    return [(part.mesh, index, part_index, part_albedo(obj.color, part.metal), False)
            for index, (obj, parts) in enumerate(zip(scene.objects, parts_per_object))
            for part_index, part in enumerate(parts)]


@lru_cache(maxsize=4)
def build_world(scene: Scene) -> World:
    """The World of a scene, built once per scene (Scenes are frozen, so equal scenes share it)."""
    return _assemble(scene, _static_solids(scene) + _object_solids(scene, scene_parts(scene)))


def posed_world(scene: Scene, object_to_base: np.ndarray, extra_solids: list[Mesh] = ()) -> World:
    """A World (not cached) with object i at pose ``object_to_base[i]`` (4x4, its own frame in base_link) and
    ``extra_solids`` (e.g. the gripper's boxes) drawn in aluminium as background (object id -1)."""
    if len(object_to_base) != len(scene.objects):
        raise ValueError(f"posed_world needs one pose per object ({len(scene.objects)}), got {len(object_to_base)}")
    parts = [[PartShape(p.name, p.mesh.transformed(pose), p.metal) for p in build_object(obj.type)]
             for obj, pose in zip(scene.objects, object_to_base)]
    extra = [(mesh, -1, -1, GRIPPER_ALBEDO, False) for mesh in extra_solids]
    return _assemble(scene, _static_solids(scene) + _object_solids(scene, parts) + extra)


def world_of(scene: Scene | str | dict[str, Any]) -> World:
    """build_world for any scene source :func:`load_scene` accepts (a name, a YAML path, a dict, a Scene)."""
    return build_world(load_scene(scene))
