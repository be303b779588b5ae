"""An ideal SceneCloud of a scene's ground truth: what a perfectly trained field would export (tests, benches)."""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from dff_grasp_ros.geometry import unit_rows
from dff_grasp_ros.scene_cloud import SceneCloud
from dff_grasp_ros.synthetic.vocabulary import embed_label


def scene_cloud_from_ground_truth(ground_truth: dict[str, Any], seed: int = 0, dino_dim: int = 32,
                                  part_offset: float = 0.3, table_spacing_m: float = 0.005,
                                  table_margin_m: float = 0.08) -> SceneCloud:
    """An ideal SceneCloud of a ground truth: its surface points plus a table grid at z = 0 (and a tote's walls,
    background like the table).

    Language features are the synthetic teacher's labels (:func:`embed_label`); DINO-like features are a random
    unit vector per object instance plus a smaller random offset per part name (parts of one object stay
    similar, different objects are unrelated, as DINO behaves). Normals are estimated by open3d and turned away
    from their part's centroid.
    """
    import open3d as o3d  # heavy; only this builder needs it

    rng = np.random.default_rng(seed)
    part_offsets: dict[str, np.ndarray] = {}
    points, normals, language, dino, rgb = [], [], [], [], []
    for obj in ground_truth["objects"]:
        instance = unit_rows(rng.standard_normal(dino_dim))
        for name, part in obj["parts"].items():
            part_points = np.asarray(part["points"], dtype=np.float64).reshape(-1, 3)
            if name not in part_offsets:
                part_offsets[name] = unit_rows(rng.standard_normal(dino_dim))
            pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(part_points))
            pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(12))
            part_normals = np.asarray(pcd.normals)
            outward = np.sign(np.einsum("ij,ij->i", part_normals, part_points - part_points.mean(axis=0)))
            points.append(part_points)
            normals.append(part_normals * np.where(outward == 0, 1.0, outward)[:, None])
            language.append(np.tile(embed_label(obj["type"], obj.get("color"), name), (len(part_points), 1)))
            dino.append(np.tile(unit_rows(instance + part_offset * part_offsets[name]), (len(part_points), 1)))
            rgb.append(np.tile(rng.integers(0, 256, 3), (len(part_points), 1)))
    object_points = np.vstack(points)
    background_dino = unit_rows(rng.standard_normal(dino_dim))
    obstacles = ground_truth.get("obstacles", [])
    walls = [np.asarray(o["points"], dtype=np.float64).reshape(-1, 3) for o in obstacles]
    for obstacle, wall_points in zip(obstacles, walls):
        if "normals" in obstacle:  # out of the wall, as a scan's normals point (towards the cameras that saw it)
            wall_normals = np.asarray(obstacle["normals"], dtype=np.float64).reshape(-1, 3)
        else:  # ground truth written before the walls' normals were: the sign does not matter to the planner
            pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(wall_points))
            pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(12))
            wall_normals = np.asarray(pcd.normals)
        points.append(wall_points)
        normals.append(wall_normals)
    table = _table_grid(np.vstack([object_points, *walls]), table_spacing_m, table_margin_m)
    points.append(table)
    normals.append(np.tile([0.0, 0.0, 1.0], (len(table), 1)))
    background = sum(len(w) for w in walls) + len(table)
    language.append(np.tile(embed_label(None), (background, 1)))
    dino.append(np.tile(background_dino, (background, 1)))
    rgb.append(np.full((background, 3), 200))
    return SceneCloud(points_m=np.vstack(points).astype(np.float32), normals=np.vstack(normals).astype(np.float32),
                      rgb=np.vstack(rgb).astype(np.uint8), language=np.vstack(language).astype(np.float32),
                      dino=np.vstack(dino).astype(np.float32))


def _table_grid(object_points: np.ndarray, spacing_m: float, margin_m: float) -> np.ndarray:
    """Table points at z = 0 around the objects, leaving out what the objects stand on (unseen by cameras)."""
    low, high = object_points[:, :2].min(axis=0) - margin_m, object_points[:, :2].max(axis=0) + margin_m
    xs, ys = np.arange(low[0], high[0], spacing_m), np.arange(low[1], high[1], spacing_m)
    grid = np.column_stack([np.repeat(xs, len(ys)), np.tile(ys, len(xs)), np.zeros(len(xs) * len(ys))])
    distance, _ = cKDTree(object_points).query(grid)
    return grid[distance > 2 * spacing_m]


def with_tote_walls(cloud: SceneCloud, margin_m: float, height_m: float = 0.1, spacing_m: float = 0.004
                    ) -> tuple[SceneCloud, np.ndarray]:
    """``cloud`` inside a tote: four walls ``margin_m`` beyond its objects, seen as points that look like the
    table, and the table outside them left out. Returns the cloud and the wall points (for judging)."""
    above = cloud.points_m[:, 2] > 0.004
    low, high = cloud.points_m[above, :2].min(axis=0) - margin_m, cloud.points_m[above, :2].max(axis=0) + margin_m
    heights = np.arange(0.0, height_m + 1e-9, spacing_m)
    xs, ys = np.arange(low[0], high[0] + 1e-9, spacing_m), np.arange(low[1], high[1] + 1e-9, spacing_m)
    walls = np.vstack([np.array([[x, y, z] for x in xs for y in (low[1], high[1]) for z in heights]),
                       np.array([[x, y, z] for y in ys for x in (low[0], high[0]) for z in heights])])
    inside = np.all((cloud.points_m[:, :2] > low) & (cloud.points_m[:, :2] < high), axis=1)
    table = ~above & inside
    keep = above | table
    features = {name: np.vstack([getattr(cloud, name)[keep], np.tile(getattr(cloud, name)[table][0], (len(walls), 1))])
                for name in ("normals", "rgb", "language", "dino")}
    return SceneCloud(points_m=np.vstack([cloud.points_m[keep], walls]).astype(np.float32), **features), walls
