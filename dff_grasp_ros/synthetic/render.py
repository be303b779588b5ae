"""Rendering one simulated RGB-D view with per-pixel object and part ids."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.synthetic.cameras import pixel_directions
from dff_grasp_ros.synthetic.labels import encode_labels
from dff_grasp_ros.synthetic.spec import Scene
from dff_grasp_ros.synthetic.texture import LIGHT_DIRECTION, object_albedo, shade, sky, table_albedo
from dff_grasp_ros.synthetic.world import World, world_of

SHADOW_RAY_OFFSET_M = 1e-3  # start shadow rays off the surface so they do not hit it again


@dataclass(frozen=True)
class RenderedView:
    """One view. ``depth_m`` is z-depth along the optical axis (as an RGB-D driver gives), NaN where nothing
    is hit; ``object_id``/``part_id`` are -1 on the table (see :mod:`dff_grasp_ros.synthetic.labels`)."""

    rgb: np.ndarray  # (H, W, 3) uint8
    depth_m: np.ndarray  # (H, W) float32
    object_id: np.ndarray  # (H, W) int32
    part_id: np.ndarray  # (H, W) int32

    def labels(self) -> np.ndarray:
        """The uint16 label image written to ``labels/`` in a dataset."""
        return encode_labels(self.object_id, self.part_id)


def check_pose(camera_to_base: np.ndarray) -> np.ndarray:
    """The pose as a float 4x4 rigid transform, or ValueError."""
    pose = np.asarray(camera_to_base, dtype=np.float64)
    if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
        raise ValueError(f"camera_to_base must be a finite 4x4 matrix, got shape {pose.shape}")
    rotation = pose[:3, :3]
    if not np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-4) or np.linalg.det(rotation) < 0:
        raise ValueError("camera_to_base rotation is not a proper rotation matrix")
    return pose


def render_view(scene: Scene | str | dict[str, Any], intrinsics: CameraIntrinsics,
                camera_to_base: np.ndarray, world: World | None = None) -> RenderedView:
    """Ray-cast one view of ``scene`` from an optical-frame pose ``camera_to_base`` (base_link, metres).

    ``world``: draw this World instead of the scene's cached one (objects moved, a gripper added:
    :func:`dff_grasp_ros.synthetic.world.posed_world`).
    """
    world, pose, directions, hits = _primary_hits(scene, intrinsics, camera_to_base, world)
    shape = (intrinsics.height, intrinsics.width)
    hit = world.is_hit[hits.geometry]
    points = pose[:3, 3] + directions * np.where(hit, hits.distance, 0.0)[:, None]

    # Surfaces are shaded from whichever side the camera sees (thin parts and open rims have two).
    facing = np.where((np.einsum("ij,ij->i", hits.normals, directions) > 0)[:, None], -hits.normals, hits.normals)
    table = world.is_table[hits.geometry]
    albedo = np.zeros_like(points)
    albedo[table] = table_albedo(points[table])
    objects = hit & ~table
    albedo[objects] = object_albedo(points[objects], world.albedo[hits.geometry[objects]])

    lit = np.zeros(len(points))
    towards_light = hit & (facing @ LIGHT_DIRECTION > 0)
    shadow = world.cast(points[towards_light] + SHADOW_RAY_OFFSET_M * facing[towards_light],
                        np.broadcast_to(LIGHT_DIRECTION, (int(towards_light.sum()), 3)))
    lit[towards_light] = ~world.is_hit[shadow.geometry]

    rgb = sky(len(points))
    rgb[hit] = shade(albedo[hit], facing[hit], lit[hit])
    depth = np.where(hit, hits.distance, np.nan).astype(np.float32)  # z = 1 directions: distance is z-depth
    return RenderedView(rgb.reshape(*shape, 3), depth.reshape(shape),
                        world.object_id[hits.geometry].reshape(shape), world.part_id[hits.geometry].reshape(shape))


def render_labels(scene: Scene | str | dict[str, Any], intrinsics: CameraIntrinsics,
                  camera_to_base: np.ndarray) -> np.ndarray:
    """Only the uint16 label image of a view (what :meth:`RenderedView.labels` gives), from the primary rays:
    no shading or shadow rays, several times cheaper (the synthetic teacher labels whole scans with it)."""
    world, _, _, hits = _primary_hits(scene, intrinsics, camera_to_base, None)
    shape = (intrinsics.height, intrinsics.width)
    return encode_labels(world.object_id[hits.geometry].reshape(shape), world.part_id[hits.geometry].reshape(shape))


def _primary_hits(scene: Scene | str | dict[str, Any], intrinsics: CameraIntrinsics, camera_to_base: np.ndarray,
                  world: World | None) -> tuple[World, np.ndarray, np.ndarray, Any]:
    """(world, pose, ray directions, first hits) of one view; the checks every render makes."""
    if any(intrinsics.distortion):
        raise ValueError("the sim camera is an ideal pinhole: intrinsics.distortion must be all zero")
    if intrinsics.width < 1 or intrinsics.height < 1 or intrinsics.fx <= 0 or intrinsics.fy <= 0:
        raise ValueError(f"bad intrinsics {intrinsics}")
    pose = check_pose(camera_to_base)
    world = world if world is not None else world_of(scene)
    directions = pixel_directions(intrinsics).reshape(-1, 3) @ pose[:3, :3].T
    return world, pose, directions, world.cast(pose[:3, 3], directions)
