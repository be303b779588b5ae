"""Rendering a whole scan of a scene to a dataset directory, as the capture node would write it."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from dff_grasp_ros.dataset import DatasetWriter, timestamped_name
from dff_grasp_ros.synthetic.cameras import scan_poses, scene_intrinsics
from dff_grasp_ros.synthetic.catalog import load_scene
from dff_grasp_ros.synthetic.ground_truth import ground_truth
from dff_grasp_ros.synthetic.render import render_view
from dff_grasp_ros.synthetic.spec import Scene

GROUND_TRUTH_FILE = "ground_truth.json"
LABELS_DIR = "labels"
FRAME_PERIOD_NS = 100_000_000  # stamps as if the arm captured a view every 0.1 s


def render_dataset(scene: Scene | str | Path | dict[str, Any], out_root: Path, name: str | None = None,
                   progress: Callable[[int, int], None] | None = None) -> Path:
    """Render every scan view of ``scene`` into a new dataset under ``out_root``; returns its path.

    Writes images/, depth/ (uint16 mm z-depth), labels/ (uint16, see :mod:`dff_grasp_ros.synthetic.labels`),
    ground_truth.json and transforms.json with ``dff_grasp.scene`` holding the scene dict.
    ``progress(done, total)`` is called after each view.
    """
    scene = load_scene(scene)
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
