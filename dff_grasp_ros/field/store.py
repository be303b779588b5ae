"""A field directory on disk: field.json + field.pt (+ scene_cloud.npz), and loading it back for rendering.

field.pt holds only tensors (``{"model": state_dict}``) so it loads with ``torch.load(weights_only=True)``;
the model is rebuilt from the preset named in field.json.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from dff_grasp_ros.errors import read_json_file
from dff_grasp_ros.field.model import FEATURE_DIMS_KEY, SCALE_KEY, DffModel
from dff_grasp_ros.field.normalisation import Normalisation
from dff_grasp_ros.field.rendering import TrainedField
from dff_grasp_ros.scene_cloud import FIELD_META, FIELD_WEIGHTS, SCENE_CLOUD, SceneCloud
from dff_grasp_ros.teachers.base import resolve_device

FIELD_FORMAT = 1


def model_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """What DffModel needs besides its config, from field.json."""
    return {FEATURE_DIMS_KEY: dict(meta["feature_dims"]), SCALE_KEY: float(meta["normalisation"]["scale"])}


def build_model(meta: dict[str, Any], device: torch.device) -> DffModel:
    """An untrained DffModel shaped like the one field.json describes."""
    from nerfstudio.data.scene_box import SceneBox

    from dff_grasp_ros.field.method import make_trainer_config, method_preset

    method = meta.get("method", meta.get("config"))  # fields written before 2026-12-01 said "config"
    config = make_trainer_config(method_preset(method), int(meta["steps"])).pipeline.model
    scene_box = SceneBox(aabb=torch.tensor(meta["scene_box_aabb"], dtype=torch.float32))
    model = config.setup(scene_box=scene_box, num_train_data=int(meta["num_train_images"]),
                         metadata=model_metadata(meta))
    return model.to(device)


def write_field_files(directory: Path, field: TrainedField, cloud: SceneCloud) -> None:
    """Write the three files into ``directory`` (a staging directory: publication is the caller's rename)."""
    directory = Path(directory)
    state = {key: value.detach().cpu().clone() for key, value in field.model.state_dict().items()}
    torch.save({"model": state}, directory / FIELD_WEIGHTS)
    cloud.save(directory / SCENE_CLOUD)
    (directory / FIELD_META).write_text(json.dumps({"format": FIELD_FORMAT, **field.meta}, indent=2) + "\n")


def load_field(field_dir: Path, device: str = "auto") -> TrainedField:
    """Load a published field directory for rendering (eval mode)."""
    field_dir = Path(field_dir)
    for name in (FIELD_META, FIELD_WEIGHTS):
        if not (field_dir / name).is_file():
            raise FileNotFoundError(f"{field_dir} is not a trained field: {name} is missing")
    meta = read_json_file(field_dir / FIELD_META, "field metadata")
    if meta.get("format") != FIELD_FORMAT:
        raise ValueError(f"{field_dir}: field format {meta.get('format')!r}, this version reads {FIELD_FORMAT}")
    torch_device = resolve_device(device)
    model = build_model(meta, torch_device)
    checkpoint = torch.load(field_dir / FIELD_WEIGHTS, map_location=torch_device, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    model.eval()
    meta.pop("format")
    return TrainedField(model=model, normalisation=Normalisation.from_json(meta["normalisation"]), meta=meta)


def load_scene_cloud(field_dir: Path) -> SceneCloud:
    return SceneCloud.load(Path(field_dir) / SCENE_CLOUD)
