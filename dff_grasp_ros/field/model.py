"""The ``dff`` model: nerfacto's density and colour plus a feature field, with depth supervision.

Geometry and colour are nerfacto's (proposal sampling, hash-grid density, appearance embedding), by subclassing
``nerfstudio.models.nerfacto.NerfactoModel`` of nerfstudio 1.1.5. On top:
- a :class:`FeatureField` rendering language (CLIP-space) and DINO features with the colour weights, detached;
- a depth loss (DS-NeRF, as depth-nerfacto) whenever the batch carries depth.

Adapted from nerfstudio 1.1.5:
- ``NerfactoModel.get_outputs``: the same proposal sampling, field query and renderers, then the feature field.
  Dropped: predicted normals and their orientation losses (``predict_normals`` is off), gradient scaling by
  distance (``use_gradient_scaling`` is off) and the per-level ``prop_depth_i`` images (only nerfstudio's viewer
  shows them).
- ``DepthNerfactoModel``'s depth loss: DS-NeRF on every sampling level, averaged; sigma is set in metres.
- ``NerfactoModel.populate_modules`` runs unchanged except that LPIPS is replaced by a stand-in (its AlexNet
  weights would be downloaded); ``get_image_metrics_and_images`` drops the ``lpips`` entry accordingly. Its
  torch hash grids then compute with :class:`~dff_grasp_ros.field.hash_encoding.FastHashEncoding` (same values).
- ``get_metrics_dict`` adds, where a batch carries teacher features, each feature head's squared error and mean
  cosine to its teacher, so ``ns-train dff`` evaluation shows them; the losses are those errors times their weights.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterator

import torch
from nerfstudio.cameras.rays import RayBundle
from nerfstudio.field_components.field_heads import FieldHeadNames
from nerfstudio.model_components.losses import DepthLossType, depth_loss
from nerfstudio.models.nerfacto import NerfactoModel, NerfactoModelConfig
from torch.nn import Parameter

from dff_grasp_ros.field.feature_field import FeatureField, FeatureGridSettings
from dff_grasp_ros.field.hash_encoding import use_fast_hash_encoding

FEATURE_OUTPUTS = ("language", "dino")
FEATURE_DIMS_KEY = "dff_feature_dims"  # model metadata: {"language": D_l, "dino": D_d}
SCALE_KEY = "dff_scale"  # model metadata: box units per metre, to express depth sigma in metres


@dataclass
class DffModelConfig(NerfactoModelConfig):
    """nerfacto plus a feature field and depth supervision."""

    _target: type = field(default_factory=lambda: DffModel)
    implementation: str = "torch"
    """tinycudann is not installed here; nerfstudio's torch hash grid is."""
    feature_grid: FeatureGridSettings = field(default_factory=FeatureGridSettings)
    """Hash grid and MLP size of the feature field."""
    language_loss_mult: float = 1.0
    """Weight of the squared error to the language teacher (per ray, summed over dimensions)."""
    dino_loss_mult: float = 0.5
    """Weight of the squared error to the DINO teacher."""
    depth_loss_mult: float = 0.05
    """Weight of the DS-NeRF depth loss; 0 turns depth supervision off."""
    depth_sigma_m: float = 0.01
    """Standard deviation of the DS-NeRF depth likelihood, metres."""


@contextlib.contextmanager
def _without_lpips() -> Iterator[None]:
    """Let nerfacto's populate_modules build a stand-in for LPIPS, whose AlexNet weights would be downloaded."""
    import torchmetrics.image.lpip as lpip_module

    original = lpip_module.LearnedPerceptualImagePatchSimilarity
    lpip_module.LearnedPerceptualImagePatchSimilarity = _NoLpips  # type: ignore[misc]
    try:
        yield
    finally:
        lpip_module.LearnedPerceptualImagePatchSimilarity = original  # type: ignore[misc]


class _NoLpips(torch.nn.Module):
    """LPIPS is an evaluation nicety; we report PSNR/SSIM and never fetch weights."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__()

    def forward(self, *args: object, **kwargs: object) -> torch.Tensor:
        return torch.tensor(float("nan"))


class DffModel(NerfactoModel):
    """Distilled feature field model (see module docstring)."""

    config: DffModelConfig

    def populate_modules(self) -> None:
        with _without_lpips():
            super().populate_modules()
        use_fast_hash_encoding(self)  # nerfacto's density and proposal grids: same values, less CPU time
        metadata = self.kwargs.get("metadata") or {}
        dims = metadata.get(FEATURE_DIMS_KEY)
        if not dims or set(dims) != set(FEATURE_OUTPUTS):
            raise ValueError(f"DffModel needs metadata[{FEATURE_DIMS_KEY!r}] with sizes for {FEATURE_OUTPUTS}, "
                             f"got {dims!r} (use the dff data manager)")
        self.feature_field = FeatureField(dict(dims), self.config.feature_grid)
        scale = float(metadata.get(SCALE_KEY, 1.0))
        # nerfstudio's DS-NeRF divides by 2*sigma, not 2*sigma**2: pass the variance so the std is depth_sigma_m.
        depth_variance_box = (self.config.depth_sigma_m * scale) ** 2
        self.register_buffer("depth_sigma_box", torch.tensor(depth_variance_box), persistent=False)

    def get_param_groups(self) -> dict[str, list[Parameter]]:
        groups = super().get_param_groups()
        groups["feature_field"] = list(self.feature_field.parameters())
        return groups

    def get_outputs(self, ray_bundle: RayBundle) -> dict[str, torch.Tensor]:
        if self.training:
            self.camera_optimizer.apply_to_raybundle(ray_bundle)
        ray_samples, weights_list, ray_samples_list = self.proposal_sampler(ray_bundle, density_fns=self.density_fns)
        field_outputs = self.field.forward(ray_samples)
        weights = ray_samples.get_weights(field_outputs[FieldHeadNames.DENSITY])
        weights_list.append(weights)
        ray_samples_list.append(ray_samples)
        outputs: dict[str, torch.Tensor] = {
            "rgb": self.renderer_rgb(rgb=field_outputs[FieldHeadNames.RGB], weights=weights),
            "accumulation": self.renderer_accumulation(weights=weights),
            "expected_depth": self.renderer_expected_depth(weights=weights, ray_samples=ray_samples),
        }
        with torch.no_grad():
            outputs["depth"] = self.renderer_depth(weights=weights, ray_samples=ray_samples)
        outputs.update(self.feature_field.render(ray_samples.frustums.get_positions(), weights))
        if ray_bundle.metadata and "directions_norm" in ray_bundle.metadata:
            outputs["directions_norm"] = ray_bundle.metadata["directions_norm"]
        if self.training:
            outputs["weights_list"] = weights_list  # type: ignore[assignment]
            outputs["ray_samples_list"] = ray_samples_list  # type: ignore[assignment]
        return outputs

    def get_metrics_dict(self, outputs, batch) -> dict[str, torch.Tensor]:
        metrics = super().get_metrics_dict(outputs, batch)
        for name in FEATURE_OUTPUTS:
            if name in batch and name in outputs:
                predicted = outputs[name].float()
                target = batch[name].to(predicted.device, torch.float32)
                metrics[f"{name}_squared_error"] = (predicted - target).square().sum(-1).mean()
                metrics[f"{name}_cosine"] = torch.nn.functional.cosine_similarity(predicted, target, dim=-1).mean()
        return metrics

    def get_loss_dict(self, outputs, batch, metrics_dict=None) -> dict[str, torch.Tensor]:
        loss_dict = super().get_loss_dict(outputs, batch, metrics_dict)
        if not self.training:
            return loss_dict
        metrics_dict = metrics_dict if metrics_dict is not None else self.get_metrics_dict(outputs, batch)
        mults = {"language": self.config.language_loss_mult, "dino": self.config.dino_loss_mult}
        for name in FEATURE_OUTPUTS:
            if f"{name}_squared_error" in metrics_dict and mults[name] > 0:
                loss_dict[f"{name}_loss"] = mults[name] * metrics_dict[f"{name}_squared_error"]
        if "depth_image" in batch and self.config.depth_loss_mult > 0:
            loss_dict["depth_loss"] = self.config.depth_loss_mult * self._depth_loss(outputs, batch)
        return loss_dict

    def _depth_loss(self, outputs, batch) -> torch.Tensor:
        """DS-NeRF loss on every sampling level (as depth-nerfacto), averaged."""
        termination = batch["depth_image"].to(self.device)
        levels = outputs["weights_list"]
        total = 0.0
        for weights, samples in zip(levels, outputs["ray_samples_list"]):
            total = total + depth_loss(weights=weights, ray_samples=samples, termination_depth=termination,
                                       predicted_depth=outputs["expected_depth"], sigma=self.depth_sigma_box,
                                       directions_norm=outputs["directions_norm"], is_euclidean=False,
                                       depth_loss_type=DepthLossType.DS_NERF)
        return total / len(levels)

    def get_image_metrics_and_images(self, outputs, batch):
        metrics, images = super().get_image_metrics_and_images(outputs, batch)
        metrics.pop("lpips", None)  # the stand-in has nothing to say
        return metrics, images
