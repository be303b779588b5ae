"""Rendering a whole scan of a scene to a dataset directory, as the capture node would write it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from dff_grasp_ros.dataset import DatasetWriter, timestamped_name
from dff_grasp_ros.errors import InputError
from dff_grasp_ros.resources import free_disk_bytes, readable_bytes, require_memory
from dff_grasp_ros.synthetic.cameras import scan_poses, scene_intrinsics
from dff_grasp_ros.synthetic.catalog import load_scene
from dff_grasp_ros.synthetic.ground_truth import ground_truth
from dff_grasp_ros.synthetic.render import render_view
from dff_grasp_ros.synthetic.spec import Scene

GROUND_TRUTH_FILE = "ground_truth.json"
LABELS_DIR = "labels"
FRAME_PERIOD_NS = 100_000_000  # stamps as if the arm captured a view every 0.1 s
# Peak memory of render_view per pixel of one view (rays, hits, shading; views are rendered one at a time).
# Measured with ru_maxrss on tabletop: 393 B/px at 640x480, 374 B/px at 1280x960 (2026, this 2-core machine).
RENDER_BYTES_PER_PIXEL = 400
RENDER_BASE_BYTES = 300 * 2**20  # the process itself (numpy, open3d, the scene's meshes): ~115 MB measured
# On disk per pixel and view at most: RGB 3 + depth 2 + labels 2 bytes, if PNG compressed nothing.
DISK_BYTES_PER_PIXEL = 7
DISK_BYTES_PER_VIEW = 16 * 2**10  # PNG headers, the view's line in transforms.json
# A rendered view held in memory: RGB 3 + float32 depth 4 + int32 object and part ids 4 + 4 bytes per pixel.
VIEW_BYTES_PER_PIXEL = 15


@dataclass(frozen=True)
class RenderEstimate:
    """What rendering a scene's scan needs, worst case: peak memory and bytes written."""

    memory_bytes: int
    disk_bytes: int


def estimate_render(scene: Scene) -> RenderEstimate:
    pixels = scene.camera.width * scene.camera.height
    return RenderEstimate(memory_bytes=RENDER_BASE_BYTES + pixels * RENDER_BYTES_PER_PIXEL,
                          disk_bytes=scene.scan.views * (pixels * DISK_BYTES_PER_PIXEL + DISK_BYTES_PER_VIEW))


def check_render_fits(scene: Scene, out_root: Path) -> RenderEstimate:
    """Refuse (InputError, one line) a render that would not fit in memory or on disk, before any work."""
    need = estimate_render(scene)
    size = f"{scene.camera.width}x{scene.camera.height}"
    require_memory(need.memory_bytes, f"scene {scene.name!r}: rendering one {size} view",
                   "use a smaller camera (width, height)")
    disk = free_disk_bytes(out_root)
    if need.disk_bytes > disk:
        raise InputError(f"scene {scene.name!r}: {scene.scan.views} views of {size} need up to "
                         f"{readable_bytes(need.disk_bytes)} on disk, {out_root} has {readable_bytes(disk)} free")
    return need


def check_views_in_memory_fit(scene: Scene, views: int) -> int:
    """Refuse (InputError, one line) rendering ``views`` views of ``scene`` and keeping them all in memory, as the
    sim camera does from its start (10,000 scan views of 640x480 are 46 GB); the bytes needed otherwise."""
    pixels = scene.camera.width * scene.camera.height
    return require_memory(estimate_render(scene).memory_bytes + views * pixels * VIEW_BYTES_PER_PIXEL,
                          f"scene {scene.name!r}: keeping {views} views of {scene.camera.width}x"
                          f"{scene.camera.height} in memory", "use fewer views or a smaller camera (width, height)")


def render_dataset(scene: Scene | str | Path | dict[str, Any], out_root: Path, name: str | None = None,
                   progress: Callable[[int, int], None] | None = None) -> Path:
    """Render every scan view of ``scene`` into a new dataset under ``out_root``; returns its path.

    Writes images/, depth/ (uint16 mm z-depth), labels/ (uint16, see :mod:`dff_grasp_ros.synthetic.labels`),
    ground_truth.json and transforms.json with ``dff_grasp.scene`` holding the scene dict.
    ``progress(done, total)`` is called after each view. A render that would not fit in memory or on disk is
    refused before anything is written (:func:`check_render_fits`).
    """
    scene = load_scene(scene)
    check_render_fits(scene, Path(out_root))
    intrinsics = scene_intrinsics(scene)
    poses = scan_poses(scene)
    with DatasetWriter(Path(out_root), name or timestamped_name(f"sim_{scene.name}"), intrinsics,
                       pose_source="sim", metadata={"scene": scene.to_dict()}) as writer:
        for index, pose in enumerate(poses):
            view = render_view(scene, intrinsics, pose)
            writer.add_view(view.rgb, view.depth_m, pose, stamp_ns=index * FRAME_PERIOD_NS,
                            extra_images={LABELS_DIR: view.labels()})
            if progress is not None:
                progress(index + 1, len(poses))
        writer.write_json(GROUND_TRUTH_FILE, ground_truth(scene))
        return writer.commit()
