"""The feature field: a hash grid and small MLPs that render teacher features (CLIP-space and DINO).

It is separate from nerfacto's density field and sees only detached positions and weights, so feature losses
never move geometry (F3RM/LERF do the same): the features ride on the geometry that colour and depth made.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from nerfstudio.field_components.mlp import MLP
from nerfstudio.field_components.spatial_distortions import SceneContraction
from torch import nn

from dff_grasp_ros.field.hash_encoding import FastHashEncoding


@dataclass(frozen=True)
class FeatureGridSettings:
    """Size of the feature field's hash grid and MLPs."""

    num_levels: int = 12
    base_res: int = 16
    max_res: int = 1024
    log2_hashmap_size: int = 19
    features_per_level: int = 2
    hidden_dim: int = 64
    num_layers: int = 2


class FeatureField(nn.Module):
    """Renders one feature vector per ray for each named output (e.g. ``{"language": 512, "dino": 384}``)."""

    def __init__(self, output_dims: dict[str, int], settings: FeatureGridSettings) -> None:
        super().__init__()
        if not output_dims or any(int(d) <= 0 for d in output_dims.values()):
            raise ValueError(f"feature output sizes must be positive, got {output_dims}")
        self.output_dims = {name: int(dim) for name, dim in output_dims.items()}
        # Same contraction as nerfacto's density field, so both fields agree on where the box ends.
        self.contraction = SceneContraction(order=float("inf"))
        self.encoding = FastHashEncoding(num_levels=settings.num_levels, min_res=settings.base_res,
                                         max_res=settings.max_res, log2_hashmap_size=settings.log2_hashmap_size,
                                         features_per_level=settings.features_per_level, implementation="torch")
        self.trunks = nn.ModuleDict({
            name: MLP(in_dim=self.encoding.get_out_dim(), num_layers=settings.num_layers,
                      layer_width=settings.hidden_dim, out_dim=settings.hidden_dim, activation=nn.ReLU(),
                      out_activation=nn.ReLU(), implementation="torch")
            for name in self.output_dims
        })
        self.heads = nn.ModuleDict({name: nn.Linear(settings.hidden_dim, dim)
                                    for name, dim in self.output_dims.items()})

    def render(self, positions_box: torch.Tensor, weights: torch.Tensor) -> dict[str, torch.Tensor]:
        """Volume-render features.

        Args:
            positions_box: ``(R, S, 3)`` sample positions in the normalised box.
            weights: ``(R, S, 1)`` rendering weights of the colour field.
        Returns:
            ``{name: (R, D)}`` features (not normalised).
        """
        positions = (self.contraction(positions_box.detach()) + 2.0) / 4.0
        inside = ((positions > 0.0) & (positions < 1.0)).all(dim=-1, keepdim=True)
        weights = weights.detach() * inside
        encoded = self.encoding(positions.reshape(-1, 3).clamp(0.0, 1.0))
        accumulation = weights.sum(dim=-2)
        out = {}
        for name, trunk in self.trunks.items():
            hidden = trunk(encoded).view(*positions.shape[:-1], -1)
            pooled = (weights * hidden).sum(dim=-2)
            head = self.heads[name]
            # The head is linear, so rendering the hidden layer first and applying it once per ray is exact
            # and saves S-1 wide matrix products per ray (CLIP has 512 outputs).
            out[name] = torch.nn.functional.linear(pooled, head.weight) + accumulation * head.bias
        return out

    @torch.no_grad()
    def at_points(self, positions_box: torch.Tensor, chunk: int = 1 << 16) -> dict[str, torch.Tensor]:
        """Features ``{name: (N, D)}`` at surface points ``(N, 3)`` of the normalised box (no volume rendering)."""
        out: dict[str, list[torch.Tensor]] = {name: [] for name in self.output_dims}
        for start in range(0, len(positions_box), chunk):
            part = positions_box[start:start + chunk]
            rendered = self.render(part[:, None, :], torch.ones(len(part), 1, 1, device=part.device))
            for name, value in rendered.items():
                out[name].append(value)
        return {name: torch.cat(values) if values else torch.zeros(0, self.output_dims[name])
                for name, values in out.items()}
