"""Teacher feature lookup for sampled pixels, and where to sample them (pure torch, no nerfstudio).

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


def detail_patches(language_maps: torch.Tensor, patch_fraction: float) -> torch.Tensor:
    """The patches where the language features change: in each image, the ``patch_fraction`` of patches whose
    feature differs most from a neighbour's (1 - cosine), never a patch of a flat image.

    Object borders, part borders and whole small objects (a knife is all border at patch scale) are a few percent
    of the pixels, so uniformly sampled rays rarely teach them; :func:`sample_detail_pixels` samples here.

    Args:
        language_maps: ``(num_images, h, w, D)`` patch features.
        patch_fraction: in (0, 1].
    Returns:
        ``(P, 3)`` long: image, patch row, patch column of each chosen patch.
    """
    if not 0.0 < patch_fraction <= 1.0:
        raise ValueError(f"patch_fraction must be in (0, 1], got {patch_fraction}")
    chosen = []
    for image, maps in enumerate(language_maps):  # one image at a time: a float copy of all maps can be GBs
        change = neighbour_change(maps)
        ranked = torch.sort(change.flatten()).values
        threshold = ranked[int((1.0 - patch_fraction) * (len(ranked) - 1))]
        # At or above the quantile, and above numerical noise: a flat image gives no patch.
        rows_cols = torch.nonzero((change >= threshold) & (change > 1e-4), as_tuple=False)
        chosen.append(torch.cat([torch.full_like(rows_cols[:, :1], image), rows_cols], dim=1))
    if not chosen:
        return torch.zeros((0, 3), dtype=torch.long, device=language_maps.device)
    return torch.cat(chosen)


def neighbour_change(maps: torch.Tensor) -> torch.Tensor:
    """``(h, w)``: for each patch of ``maps`` ``(h, w, D)``, the largest 1 - cosine to one of its 4 neighbours."""
    unit = torch.nn.functional.normalize(maps.float(), dim=-1)
    change = torch.zeros(unit.shape[:2], device=unit.device)
    rows = 1.0 - (unit[1:] * unit[:-1]).sum(-1)  # (h-1, w): between vertical neighbours
    cols = 1.0 - (unit[:, 1:] * unit[:, :-1]).sum(-1)  # (h, w-1)
    change[1:] = torch.maximum(change[1:], rows)
    change[:-1] = torch.maximum(change[:-1], rows)
    change[:, 1:] = torch.maximum(change[:, 1:], cols)
    change[:, :-1] = torch.maximum(change[:, :-1], cols)
    return change


def sample_detail_pixels(patches: torch.Tensor, count: int, grid_hw: tuple[int, int], image_hw: tuple[int, int],
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """``count`` pixels ``(count, 3)`` long (image, row, column), each uniform within a patch drawn uniformly from
    ``patches`` (:func:`detail_patches`) of a ``grid_hw`` patch grid over ``image_hw`` pixel images."""
    if len(patches) == 0 or count <= 0:
        return torch.zeros((0, 3), dtype=torch.long, device=patches.device)
    device = patches.device
    chosen = patches[torch.randint(len(patches), (count,), generator=generator, device=device)]
    (grid_h, grid_w), (height, width) = grid_hw, image_hw
    offset = torch.rand((count, 2), generator=generator, device=device)
    y = ((chosen[:, 1] + offset[:, 0]) * (height / grid_h)).long().clamp(0, height - 1)
    x = ((chosen[:, 2] + offset[:, 1]) * (width / grid_w)).long().clamp(0, width - 1)
    return torch.stack([chosen[:, 0], y, x], dim=-1)
