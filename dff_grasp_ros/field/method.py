"""The nerfstudio methods ``dff`` (quality) and ``dff-tiny`` (CPU tests), registered by entry point.

setup.py: ``nerfstudio.method_configs = dff = dff_grasp_ros.field.method:dff_method``,
``dff-tiny = dff_grasp_ros.field.method:dff_tiny_method``. Both come from :func:`make_trainer_config`, which
differs between them only by a :class:`MethodPreset`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nerfstudio.cameras.camera_optimizers import CameraOptimizerConfig
from nerfstudio.configs.base_config import ViewerConfig
from nerfstudio.engine.optimizers import AdamOptimizerConfig
from nerfstudio.engine.schedulers import ExponentialDecaySchedulerConfig
from nerfstudio.engine.trainer import TrainerConfig
from nerfstudio.pipelines.base_pipeline import VanillaPipelineConfig
from nerfstudio.plugins.types import MethodSpecification

from dff_grasp_ros.field.datamanager import DffDataManagerConfig, check_before_training
from dff_grasp_ros.field.feature_field import FeatureGridSettings
from dff_grasp_ros.field.model import DffModelConfig

# Parameter groups of DffModel, each with its own Adam.
PARAM_GROUPS = ("proposal_networks", "fields", "feature_field")


@dataclass(frozen=True)
class MethodPreset:
    """What distinguishes one ``dff`` flavour from another."""

    name: str
    description: str
    steps: int
    rays_per_batch: int
    mixed_precision: bool
    model: dict[str, Any] = field(default_factory=dict)  # DffModelConfig fields
    learning_rate: float = 1e-2
    export_views: int = 12  # training views rendered into the scene cloud
    export_scale: float = 0.5  # their resolution relative to the camera's
    voxel_m: float = 0.004  # scene cloud voxel size
    detail_ray_fraction: float = 0.5  # rays per batch drawn where the language features change (DffDataManager)


QUALITY = MethodPreset(
    name="dff", description="Distilled feature field (nerfacto + CLIP/DINO features, depth supervised).",
    steps=2000, rays_per_batch=8192, mixed_precision=True,
    model=dict(num_proposal_samples_per_ray=(128, 64), num_nerf_samples_per_ray=32, proposal_warmup=1000),
)
TINY = MethodPreset(
    name="dff-tiny", description="Small dff for CPU tests and smoke runs (minutes on a laptop core).",
    steps=300, rays_per_batch=256, mixed_precision=False, export_views=6,
    model=dict(
        num_levels=8, max_res=256, log2_hashmap_size=14, hidden_dim=32, hidden_dim_color=32,
        use_appearance_embedding=False, num_proposal_samples_per_ray=(64, 32), num_nerf_samples_per_ray=24,
        proposal_warmup=100, proposal_weights_anneal_max_num_iters=100,
        proposal_net_args_list=[
            {"hidden_dim": 16, "log2_hashmap_size": 14, "num_levels": 5, "max_res": 64, "use_linear": False},
            {"hidden_dim": 16, "log2_hashmap_size": 14, "num_levels": 5, "max_res": 128, "use_linear": False},
        ],
        feature_grid=FeatureGridSettings(num_levels=8, max_res=256, log2_hashmap_size=14, hidden_dim=32,
                                         num_layers=1),
    ),
)
PRESETS = {preset.name: preset for preset in (QUALITY, TINY)}


@dataclass
class DffTrainerConfig(TrainerConfig):
    """nerfstudio's TrainerConfig whose :meth:`save_config` first runs the ``dff`` pre-flight.

    nerfstudio 1.1.5 scripts/train.py ``main`` writes ``<output_dir>/<name>/dff/<timestamp>/config.yml``
    (ExperimentConfig.save_config) before the Trainer sets up the data manager, where the dataset was checked:
    every ``ns-train dff`` refusal left that folder behind, and a missing GPU was a traceback. ``save_config`` is
    the last call before the folder is made, after ``--data`` is copied into the data manager."""

    def save_config(self) -> None:
        check_before_training(self)
        super().save_config()
        # Checked above: the data manager need not decode every image again (config.yml keeps False, so a run
        # resumed from it is checked anew).
        if isinstance(self.pipeline.datamanager, DffDataManagerConfig):
            self.pipeline.datamanager.dataset_checked = True


def make_trainer_config(preset: MethodPreset, steps: int | None = None) -> TrainerConfig:
    """The TrainerConfig of a preset; ``steps`` overrides its length (schedules follow)."""
    steps = preset.steps if steps is None else int(steps)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    schedule = ExponentialDecaySchedulerConfig(lr_final=preset.learning_rate / 10, max_steps=steps)
    optimizers = {
        group: {"optimizer": AdamOptimizerConfig(lr=preset.learning_rate, eps=1e-15), "scheduler": schedule}
        for group in PARAM_GROUPS
    }
    model = DffModelConfig(
        eval_num_rays_per_chunk=1 << 14, average_init_density=0.01,
        # Robot poses are the base frame: letting the optimiser move cameras would shift the field off it.
        camera_optimizer=CameraOptimizerConfig(mode="off"),
        **preset.model,
    )
    return DffTrainerConfig(
        method_name=preset.name,
        steps_per_eval_batch=500, steps_per_eval_image=max(steps, 500), steps_per_eval_all_images=1_000_000,
        steps_per_save=max(steps, 1000), max_num_iterations=steps, mixed_precision=preset.mixed_precision,
        pipeline=VanillaPipelineConfig(
            datamanager=DffDataManagerConfig(train_num_rays_per_batch=preset.rays_per_batch,
                                             eval_num_rays_per_batch=preset.rays_per_batch,
                                             detail_ray_fraction=preset.detail_ray_fraction),
            model=model,
        ),
        optimizers=optimizers,
        viewer=ViewerConfig(num_rays_per_chunk=1 << 14),
        vis="viewer",
    )


def method_preset(name: str) -> MethodPreset:
    if name not in PRESETS:
        raise ValueError(f"unknown dff method {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


dff_method = MethodSpecification(config=make_trainer_config(QUALITY), description=QUALITY.description)
dff_tiny_method = MethodSpecification(config=make_trainer_config(TINY), description=TINY.description)
