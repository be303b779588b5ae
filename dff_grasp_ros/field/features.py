"""Teacher feature lookup for sampled pixels (pure torch, no nerfstudio).

Teachers give one feature per image patch; a training ray passes through one pixel. The ray's target is the
bilinear interpolation of the patch grid at the pixel centre, with patch centres at ``(j + 0.5) * W / w``: the
same convention as ``torch.nn.functional.grid_sample(align_corners=False)``.
"""
from __future__ import annotations

import torch


def sample_feature_grid(feature_maps: torch.Tensor, image_index: torch.Tensor, pixel_yx: torch.Tensor,
                        image_height: int, image_width: int) -> torch.Tensor:
    """Bilinearly interpolate per-image patch grids at pixel positions.

    Args:
        feature_maps: ``(num_images, h, w, D)`` patch features.
        image_index: ``(R,)`` integer image of each ray.
        pixel_yx: ``(R, 2)`` integer (or float) pixel row/column; the pixel *centre* is sampled.
        image_height, image_width: size of the images the pixels index, in pixels.
    Returns:
        ``(R, D)`` features in the dtype of ``feature_maps``; edges clamp to the outermost patches.
    """
    if feature_maps.ndim != 4:
        raise ValueError(f"feature_maps must be (N, h, w, D), got shape {tuple(feature_maps.shape)}")
    _, grid_h, grid_w, _ = feature_maps.shape
    yx = pixel_yx.to(torch.float32) + 0.5
    # Continuous patch coordinates, patch centres at integers.
    gy = (yx[:, 0] * (grid_h / image_height) - 0.5).clamp(0, grid_h - 1)
    gx = (yx[:, 1] * (grid_w / image_width) - 0.5).clamp(0, grid_w - 1)
    y0 = gy.floor().long().clamp(max=grid_h - 1)
    x0 = gx.floor().long().clamp(max=grid_w - 1)
    y1 = (y0 + 1).clamp(max=grid_h - 1)
    x1 = (x0 + 1).clamp(max=grid_w - 1)
    wy = (gy - y0).unsqueeze(-1)
    wx = (gx - x0).unsqueeze(-1)
    n = image_index.long()
    top = feature_maps[n, y0, x0].float() * (1 - wx) + feature_maps[n, y0, x1].float() * wx
    bottom = feature_maps[n, y1, x0].float() * (1 - wx) + feature_maps[n, y1, x1].float() * wx
    return (top * (1 - wy) + bottom * wy).to(feature_maps.dtype)
