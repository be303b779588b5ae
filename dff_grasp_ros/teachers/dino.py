"""DINO teacher (timm): the ViT's last-layer patch tokens, one forward pass per image at its own resolution.

Default ``vit_small_patch8_224.dino`` (DINO ViT-S/8, 384-d, 8 px cells); any timm ViT works through
``model_name``, e.g. ``vit_small_patch14_dinov2.lvd142m`` (DINOv2 ViT-S/14), about 4x faster per image.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from dff_grasp_ros.teachers.base import DinoTeacherConfig, Teacher, TeacherError, l2_normalise, resolve_device
from dff_grasp_ros.teachers.imaging import as_uint8_batch, prepare_images
from dff_grasp_ros.teachers.weights import find_weights, read_state_dict, weights_identity

HUB_FILENAMES = ("model.safetensors", "pytorch_model.bin")


def dino_weights_file(config: DinoTeacherConfig) -> Path:
    """The pretrained weights file ``config`` loads (a file lookup; no model is built), or WeightsNotFoundError
    saying where it looked."""
    from timm.models import get_pretrained_cfg

    pretrained_cfg = get_pretrained_cfg(config.model_name)  # the same hub id as the built model's (tag or not)
    hub_repo = (pretrained_cfg.hf_hub_id if pretrained_cfg is not None else None) or "(none)"
    return find_weights("dino", config.checkpoint_path, hub_repo, HUB_FILENAMES)


def build_dino_model(config: DinoTeacherConfig) -> tuple[torch.nn.Module, str]:
    """The timm ViT (no classifier head, any input size) with the configured weights and their identity."""
    import timm

    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.random_seed)
            # pretrained=False: timm would otherwise try the hub; weights are resolved offline below
            model = timm.create_model(config.model_name, pretrained=False, num_classes=0, dynamic_img_size=True)
    except (RuntimeError, TypeError) as err:
        raise TeacherError(f"dino: timm cannot build {config.model_name!r} as a dynamic-size ViT: {err}") from err
    if not hasattr(model, "patch_embed") or not hasattr(model, "num_prefix_tokens"):
        raise TeacherError(f"dino: {config.model_name!r} is not a timm VisionTransformer")
    if config.weights == "random":
        return model, f"random:{config.random_seed}"
    path = dino_weights_file(config)
    state = {k: v for k, v in read_state_dict(path).items() if not k.startswith("head.")}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches
        raise TeacherError(f"dino: weights in {path} do not fit {config.model_name}: {err}") from err
    if missing or unexpected:
        raise TeacherError(f"dino: weights in {path} do not fit {config.model_name}: missing {missing[:5]}, "
                           f"unexpected {unexpected[:5]}")
    return model, weights_identity(path)


class DinoTeacher(Teacher):
    """Self-supervised ViT patch features; no text encoder."""

    config: DinoTeacherConfig

    def __init__(self, config: DinoTeacherConfig) -> None:
        super().__init__(config)
        self.device = resolve_device(config.device)
        self.dtype = torch.float16 if (config.fp16 and self.device.type == "cuda") else torch.float32
        model, self.weights_id = build_dino_model(config)
        self.model = model.eval().requires_grad_(False).to(self.device, self.dtype)
        self.patch_px = int(model.patch_embed.patch_size[0])
        self.feature_dim = int(model.embed_dim)
        pretrained_cfg = model.pretrained_cfg or {}
        self.mean = tuple(pretrained_cfg.get("mean", (0.485, 0.456, 0.406)))
        self.std = tuple(pretrained_cfg.get("std", (0.229, 0.224, 0.225)))

    def image_features(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        batch = as_uint8_batch(images)
        grid_h, grid_w = self.grid_shape(tuple(batch.shape[1:3]))
        pixels = prepare_images(batch, (grid_h * self.patch_px, grid_w * self.patch_px), self.mean, self.std,
                                self.device, self.dtype)
        with torch.no_grad():
            tokens = self.model.forward_features(pixels)[:, self.model.num_prefix_tokens:]
        return l2_normalise(tokens.float()).reshape(len(batch), grid_h, grid_w, -1)
