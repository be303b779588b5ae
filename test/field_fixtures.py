"""A served field without training: a scene's ideal SceneCloud (ground-truth points + synthetic features)."""
from __future__ import annotations

import json
from pathlib import Path

from dff_grasp_ros.scene_cloud import FIELD_META, SCENE_CLOUD
from dff_grasp_ros.synthetic import ground_truth, load_scene
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth
from dff_grasp_ros.teachers import make_teacher


def ground_truth_field(fields_dir: Path, scene: str = "tiny", name: str = "gt_field",
                       points_per_part: int | None = None) -> Path:
    """A field directory the query side can serve (field.json + scene_cloud.npz), for tests of the query side."""
    field_dir = Path(fields_dir) / name
    field_dir.mkdir(parents=True)
    truth = ground_truth(load_scene(scene)) if points_per_part is None else ground_truth(
        load_scene(scene), points_per_part=points_per_part)
    scene_cloud_from_ground_truth(truth).save(field_dir / SCENE_CLOUD)
    meta = {"base_frame": "base_link", "language_teacher": make_teacher("synthetic", device="cpu").settings_dict(),
            "source": f"ground truth of scene {scene!r} (test fixture, not a trained field)"}
    (field_dir / FIELD_META).write_text(json.dumps(meta))
    return field_dir
