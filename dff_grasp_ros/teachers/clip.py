"""CLIP teacher (open_clip): dense language-aligned features, MaskCLIP-style by default.

``maskclip``: the image runs through the ViT at its own resolution (positional embedding resampled to the patch
grid); in the last block each patch token takes only the *value* path of attention (no query/key mixing), then
the block's MLP, ``ln_post`` and the visual projection, so every patch lands in CLIP's joint space on its own.
This is the dense recipe F3RM uses; one forward pass per image.

``crops``: LERF's idea of embedding many square crops at several scales with the ordinary CLIP image tower;
a cell's feature is the mean over scales of the crops covering its centre. Thousands of crops per view: kept
as a measured alternative (bench/RESULTS.md, "Teachers").
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from dff_grasp_ros.teachers.base import (
    ClipTeacherConfig,
    Teacher,
    TeacherError,
    check_phrases,
    l2_normalise,
    resolve_device,
)
from dff_grasp_ros.teachers.imaging import as_uint8_batch, interpolate_grid_embedding, prepare_images
from dff_grasp_ros.teachers.weights import find_weights, weights_identity

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def build_clip_model(config: ClipTeacherConfig) -> tuple[torch.nn.Module, str, dict]:
    """The open_clip model with the configured weights, its weights identity and its pretrained config."""
    import open_clip

    pretrained_cfg = open_clip.get_pretrained_cfg(config.model_name, config.pretrained) or {}
    quick_gelu = bool(pretrained_cfg.get("quick_gelu", False))
    if config.weights == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.random_seed)
            model = _create_quietly(config.model_name, quick_gelu)
        return model, f"random:{config.random_seed}", pretrained_cfg
    path = clip_weights_file(config, pretrained_cfg)
    model = _create_quietly(config.model_name, quick_gelu)
    try:
        open_clip.load_checkpoint(model, str(path))
    except Exception as err:  # wrong architecture or a corrupt file: name both
        raise TeacherError(f"clip: weights in {path} do not fit {config.model_name}: {err}") from err
    return model, weights_identity(path), pretrained_cfg


def clip_weights_file(config: ClipTeacherConfig, pretrained_cfg: dict | None = None) -> Path:
    """The pretrained weights file ``config`` loads (a file lookup; no model is built), or TeacherError /
    WeightsNotFoundError saying where it looked."""
    import open_clip

    if pretrained_cfg is None:
        pretrained_cfg = open_clip.get_pretrained_cfg(config.model_name, config.pretrained) or {}
    hub_repo, filename = os.path.split(pretrained_cfg.get("hf_hub", "") or "")
    if not hub_repo and not config.checkpoint_path:
        raise TeacherError(f"clip: open_clip knows no Hugging Face weights for {config.model_name!r} / "
                           f"{config.pretrained!r}; set checkpoint_path to a state-dict file")
    from open_clip.pretrained import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    filenames = [HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME] if not filename else [filename]
    return find_weights("clip", config.checkpoint_path, hub_repo or "(none)", filenames)


def _create_quietly(model_name: str, quick_gelu: bool) -> torch.nn.Module:
    import open_clip

    # open_clip warns "No pretrained weights loaded" on every random build; the weights come next, on purpose.
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return open_clip.create_model(model_name, pretrained=None, force_quick_gelu=quick_gelu)
    except RuntimeError as err:
        raise TeacherError(f"clip: open_clip cannot build {model_name!r}: {err}") from err
    finally:
        logger.setLevel(level)


def value_path_block(block: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The last ViT block with attention replaced by its value projection (MaskCLIP), residual and MLP kept."""
    attn = block.attn
    width = x.shape[-1]
    values = F.linear(block.ln_1(x), attn.in_proj_weight[2 * width:], attn.in_proj_bias[2 * width:])
    x = x + block.ls_1(attn.out_proj(values))
    return x + block.ls_2(block.mlp(block.ln_2(x)))


def crop_boxes(image_hw: tuple[int, int], min_frac: float, max_frac: float, levels: int,
               stride_frac: float) -> list[torch.Tensor]:
    """Per scale, the (K, 4) square crops x0, y0, x1, y1 in pixels that tile the image (LERF's pyramid)."""
    height, width = image_hw
    boxes = []
    for frac in np.linspace(min_frac, max_frac, levels):
        side = max(2.0, float(frac) * height)
        stride = max(1.0, side * stride_frac)
        starts = [_tile_starts(extent, side, stride) for extent in (width, height)]
        xs, ys = np.meshgrid(starts[0], starts[1])
        x0, y0 = xs.ravel(), ys.ravel()
        boxes.append(torch.tensor(np.stack([x0, y0, x0 + side, y0 + side], axis=1), dtype=torch.float32))
    return boxes


def _tile_starts(extent: int, side: float, stride: float) -> np.ndarray:
    if side >= extent:
        return np.array([(extent - side) / 2.0])  # one centred crop, partly outside the image
    starts = np.arange(0.0, extent - side + 1e-6, stride)
    if extent - side - starts[-1] > 1e-6:  # always reach the far edge
        starts = np.append(starts, extent - side)
    return starts


def crop_coverage(boxes: torch.Tensor, grid_hw: tuple[int, int], image_hw: tuple[int, int]) -> torch.Tensor:
    """(h*w, K) row-normalised weights: which crops contain each feature cell's centre."""
    grid_h, grid_w = grid_hw
    centre_y = (torch.arange(grid_h, dtype=torch.float32) + 0.5) * (image_hw[0] / grid_h)
    centre_x = (torch.arange(grid_w, dtype=torch.float32) + 0.5) * (image_hw[1] / grid_w)
    cy, cx = torch.meshgrid(centre_y, centre_x, indexing="ij")
    cx, cy = cx.reshape(-1, 1), cy.reshape(-1, 1)
    inside = ((cx >= boxes[:, 0]) & (cx < boxes[:, 2]) & (cy >= boxes[:, 1]) & (cy < boxes[:, 3])).float()
    return inside / inside.sum(dim=1, keepdim=True).clamp(min=1.0)


def crops_to_input(pixels: torch.Tensor, boxes: torch.Tensor, size_px: int) -> torch.Tensor:
    """Bilinear crop-and-resize of (K, 4) pixel boxes from one (1, 3, H, W) image -> (K, 3, size, size)."""
    _, channels, height, width = pixels.shape
    steps = (torch.arange(size_px, device=pixels.device, dtype=torch.float32) + 0.5) / size_px
    boxes = boxes.to(pixels.device)
    xs = boxes[:, 0:1] + steps * (boxes[:, 2:3] - boxes[:, 0:1])
    ys = boxes[:, 1:2] + steps * (boxes[:, 3:4] - boxes[:, 1:2])
    grid = torch.stack(torch.broadcast_tensors(  # grid_sample wants x, y in [-1, 1] with align_corners=False
        (xs * (2.0 / width) - 1.0)[:, None, :], (ys * (2.0 / height) - 1.0)[:, :, None]), dim=-1)
    # all crops stacked as one tall grid over the single image: no K copies of the image in memory
    tall = F.grid_sample(pixels.float(), grid.reshape(1, len(boxes) * size_px, size_px, 2), mode="bilinear",
                         padding_mode="border", align_corners=False)
    return tall.reshape(channels, len(boxes), size_px, size_px).transpose(0, 1)


class ClipTeacher(Teacher):
    """open_clip CLIP; see the module docstring for the two dense modes."""

    config: ClipTeacherConfig

    def __init__(self, config: ClipTeacherConfig) -> None:
        super().__init__(config)
        import open_clip

        self.device = resolve_device(config.device)
        self.dtype = torch.float16 if (config.fp16 and self.device.type == "cuda") else torch.float32
        model, self.weights_id, pretrained_cfg = build_clip_model(config)
        self.model = model.eval().requires_grad_(False).to(self.device, self.dtype)
        visual = self.model.visual
        if not isinstance(visual, open_clip.transformer.VisionTransformer) or visual.attn_pool is not None:
            raise TeacherError(f"clip: dense features need an open_clip VisionTransformer image tower; "
                               f"{config.model_name!r} has {type(visual).__name__}")
        last_block = visual.transformer.resblocks[-1]
        if not visual.transformer.batch_first or not isinstance(getattr(last_block, "attn", None),
                                                                torch.nn.MultiheadAttention):
            raise TeacherError(f"clip: MaskCLIP supports standard batch-first attention blocks; "
                               f"{config.model_name!r} differs")
        self.patch_px = int(visual.patch_size[0])
        self.feature_dim = int(visual.output_dim)
        self.crop_input_px = int(visual.image_size[0])
        self.mean = tuple(pretrained_cfg.get("mean", OPENAI_MEAN))
        self.std = tuple(pretrained_cfg.get("std", OPENAI_STD))
        self.tokenizer = open_clip.get_tokenizer(config.model_name)
        self._grid_position: dict[tuple[int, int], torch.Tensor] = {}
        self._coverage: dict[tuple[int, int], list[tuple[torch.Tensor, torch.Tensor]]] = {}

    @property
    def is_language(self) -> bool:
        return True

    def image_features(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        batch = as_uint8_batch(images)
        grid_hw = self.grid_shape(tuple(batch.shape[1:3]))
        with torch.no_grad():
            if self.config.dense_mode == "crops":
                return self._crop_features(batch, grid_hw)
            size = (grid_hw[0] * self.patch_px, grid_hw[1] * self.patch_px)
            pixels = prepare_images(batch, size, self.mean, self.std, self.device, self.dtype)
            return self._maskclip_features(pixels, grid_hw)

    def encode_text(self, phrases: Sequence[str]) -> torch.Tensor:
        phrases = check_phrases(phrases)
        if not phrases:
            return torch.zeros(0, self.feature_dim, device=self.device)
        tokens = self.tokenizer(phrases).to(self.device)
        with torch.no_grad():
            return l2_normalise(self.model.encode_text(tokens).float())

    def _maskclip_features(self, pixels: torch.Tensor, grid_hw: tuple[int, int]) -> torch.Tensor:
        visual = self.model.visual
        x = visual.conv1(pixels).flatten(2).transpose(1, 2)  # (B, h*w, width)
        if grid_hw not in self._grid_position:
            self._grid_position[grid_hw] = interpolate_grid_embedding(visual.positional_embedding[1:], grid_hw)
        cls = (visual.class_embedding + visual.positional_embedding[0]).to(x.dtype)
        x = torch.cat([cls.expand(len(x), 1, -1), x + self._grid_position[grid_hw].to(x.dtype)], dim=1)
        x = visual.ln_pre(x)
        blocks = visual.transformer.resblocks
        for block in blocks[:-1]:
            x = block(x)
        x = value_path_block(blocks[-1], x)
        tokens = visual.ln_post(x[:, 1:]) @ visual.proj
        return l2_normalise(tokens.float()).reshape(len(x), grid_hw[0], grid_hw[1], -1)

    def _crop_features(self, batch: torch.Tensor, grid_hw: tuple[int, int]) -> torch.Tensor:
        image_hw = (int(batch.shape[1]), int(batch.shape[2]))
        levels = self._crop_levels(image_hw, grid_hw)
        out = []
        for image in batch:
            pixels = prepare_images(image[None], image_hw, self.mean, self.std, self.device, torch.float32)
            cell_sum = torch.zeros(grid_hw[0] * grid_hw[1], self.feature_dim, device=self.device)
            for boxes, coverage in levels:
                embeddings = torch.cat([
                    self.model.encode_image(crops_to_input(pixels, chunk, self.crop_input_px).to(self.dtype)).float()
                    for chunk in boxes.split(self.config.batch_size)])
                # each scale votes once per cell it covers (cells near edges may miss the coarse scales)
                cell_sum += l2_normalise(coverage @ l2_normalise(embeddings))
            out.append(l2_normalise(cell_sum).reshape(grid_hw[0], grid_hw[1], -1))
        return torch.stack(out)

    def _crop_levels(self, image_hw: tuple[int, int], grid_hw: tuple[int, int]):
        if image_hw not in self._coverage:
            cfg = self.config
            boxes = crop_boxes(image_hw, cfg.crop_min_frac, cfg.crop_max_frac, cfg.crop_levels, cfg.crop_stride_frac)
            self._coverage[image_hw] = [(b, crop_coverage(b, grid_hw, image_hw).to(self.device)) for b in boxes]
        return self._coverage[image_hw]
