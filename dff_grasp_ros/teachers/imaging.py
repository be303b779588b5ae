"""Turning uint8 RGB batches into normalised network input at a whole number of patches."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from dff_grasp_ros.teachers.base import TeacherError


def as_uint8_batch(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Validate and wrap (B, H, W, 3) uint8 images (a single (H, W, 3) image becomes a batch of one)."""
    batch = torch.from_numpy(np.ascontiguousarray(images)) if isinstance(images, np.ndarray) else images
    if not isinstance(batch, torch.Tensor):
        raise TeacherError(f"images must be a numpy array or torch tensor, got {type(images).__name__}")
    if batch.ndim == 3:
        batch = batch.unsqueeze(0)
    if batch.ndim != 4 or batch.shape[-1] != 3 or batch.dtype != torch.uint8:
        raise TeacherError(f"images must be uint8 (B, H, W, 3) RGB, got {batch.dtype} {tuple(batch.shape)}")
    if batch.shape[0] == 0 or batch.shape[1] == 0 or batch.shape[2] == 0:
        raise TeacherError(f"images must be non-empty, got shape {tuple(batch.shape)}")
    return batch


def prepare_images(images: torch.Tensor, size_hw: tuple[int, int], mean: Sequence[float], std: Sequence[float],
                   device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> normalised float (B, 3, *size_hw) on ``device``; resized with antialiasing."""
    x = images.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)
    if tuple(x.shape[-2:]) != tuple(size_hw):
        x = F.interpolate(x, size=size_hw, mode="bilinear", align_corners=False, antialias=True)
    mean_t = torch.tensor(mean, device=device, dtype=x.dtype).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=device, dtype=x.dtype).view(1, 3, 1, 1)
    return ((x - mean_t) / std_t).to(dtype)


def interpolate_grid_embedding(grid_embedding: torch.Tensor, grid_hw: tuple[int, int]) -> torch.Tensor:
    """Resample a (gh0*gw0, C) square positional grid to (gh*gw, C) bicubically (ViTs at other resolutions)."""
    tokens, channels = grid_embedding.shape
    side = int(round(tokens ** 0.5))
    if side * side != tokens:
        raise TeacherError(f"positional embedding of {tokens} tokens is not a square grid")
    if (side, side) == tuple(grid_hw):
        return grid_embedding
    grid = grid_embedding.reshape(1, side, side, channels).permute(0, 3, 1, 2).float()
    grid = F.interpolate(grid, size=grid_hw, mode="bicubic", align_corners=False)
    return grid.permute(0, 2, 3, 1).reshape(grid_hw[0] * grid_hw[1], channels).to(grid_embedding.dtype)
