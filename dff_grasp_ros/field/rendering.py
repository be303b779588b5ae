"""Render a trained field from any camera given in the robot's base frame."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.field.model import DffModel
from dff_grasp_ros.field.normalisation import Normalisation


@dataclass
class TrainedField:
    """A trained model, the normalisation that maps it to the base frame, and its field.json metadata."""

    model: DffModel
    normalisation: Normalisation
    meta: dict[str, Any]

    @property
    def device(self) -> torch.device:
        return self.model.device


def _camera(field: TrainedField, intrinsics: CameraIntrinsics, camera_to_base: np.ndarray):
    from nerfstudio.cameras.cameras import Cameras, CameraType

    c2w = torch.as_tensor(field.normalisation.camera_to_box(camera_to_base), dtype=torch.float32)
    k1, k2, p1, p2 = intrinsics.distortion
    return Cameras(camera_to_worlds=c2w[None], fx=float(intrinsics.fx), fy=float(intrinsics.fy),
                   cx=float(intrinsics.cx), cy=float(intrinsics.cy), width=int(intrinsics.width),
                   height=int(intrinsics.height), camera_type=CameraType.PERSPECTIVE,
                   distortion_params=torch.tensor([[k1, k2, 0.0, 0.0, p1, p2]], dtype=torch.float32),
                   ).to(field.device)


def render_view(field: TrainedField, intrinsics: CameraIntrinsics,
                camera_to_base: np.ndarray) -> dict[str, np.ndarray]:
    """Render one view.

    ``camera_to_base`` is the camera's optical frame (x right, y down, z forward) in the base frame.
    Returns float32 arrays: ``rgb`` (H, W, 3) in [0, 1], ``depth_m`` (H, W) z-depth in metres,
    ``accumulation`` (H, W) opacity, ``language`` and ``dino`` (H, W, D) unit-normalised features.
    """
    pose = np.asarray(camera_to_base, dtype=np.float64)
    if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
        raise ValueError("camera_to_base must be a finite 4x4 matrix")
    was_training = field.model.training
    field.model.eval()
    try:
        with torch.no_grad():
            outputs = field.model.get_outputs_for_camera(_camera(field, intrinsics, pose))
    finally:
        field.model.train(was_training)
    # nerfstudio's depth is the distance along unit rays in box units; ours is z-depth in metres.
    depth_m = outputs["depth"][..., 0] / outputs["directions_norm"][..., 0] / field.normalisation.scale
    result = {"rgb": outputs["rgb"].clamp(0, 1), "depth_m": depth_m, "accumulation": outputs["accumulation"][..., 0]}
    for name in ("language", "dino"):
        result[name] = torch.nn.functional.normalize(outputs[name].float(), dim=-1)
    return {key: value.float().cpu().numpy() for key, value in result.items()}
