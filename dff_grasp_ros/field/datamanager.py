"""The ``dff`` data manager: nerfstudio's pixel batches plus the teacher features of each sampled pixel.

Teacher feature maps are computed (or read from the teachers' cache) once per dataset when the data manager is
built, kept on the training device, and looked up per ray by bilinear interpolation of the patch grid.

Part of every batch (``detail_ray_fraction``) is drawn from the patches where the language features change
(:func:`~dff_grasp_ros.field.features.detail_patches`): uniformly sampled rays rarely land on a knife's blade or
a handle's border, and a CPU-length run then blurred a knife's blade into its handle. ``next_train`` is
nerfstudio 1.1.5's ``VanillaDataManager.next_train`` with that replacement and the teacher targets added.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import torch
import tyro
from nerfstudio.cameras.rays import RayBundle
from nerfstudio.data.datamanagers.base_datamanager import VanillaDataManager, VanillaDataManagerConfig
from nerfstudio.data.dataparsers.nerfstudio_dataparser import NerfstudioDataParserConfig
from nerfstudio.data.datasets.base_dataset import InputDataset
from nerfstudio.data.datasets.depth_dataset import DepthDataset
from nerfstudio.utils.rich_utils import CONSOLE

from dff_grasp_ros.field.features import detail_patches, sample_detail_pixels, sample_feature_grid
from dff_grasp_ros.field.model import FEATURE_DIMS_KEY, SCALE_KEY


def dff_dataparser() -> NerfstudioDataParserConfig:
    """Our datasets are nerfstudio transforms.json; every view trains (robot poses are trusted, no hold-out)."""
    return NerfstudioDataParserConfig(eval_mode="all", orientation_method="none", center_method="poses")


@dataclass
class DffDataManagerConfig(VanillaDataManagerConfig):
    """Pixel batches with teacher features attached under ``"language"`` and ``"dino"``."""

    _target: type = field(default_factory=lambda: DffDataManager)
    dataparser: NerfstudioDataParserConfig = field(default_factory=dff_dataparser)
    language_teacher: str = "clip"
    """Language teacher: 'clip', or 'synthetic' for simulated scans."""
    dino_teacher: str = "dino"
    """DINO teacher: 'dino', or 'synthetic_dino' for simulated scans."""
    language_teacher_settings: tyro.conf.Suppress[dict[str, Any]] = field(default_factory=dict)
    """Extra make_teacher() settings (e.g. a checkpoint path)."""
    dino_teacher_settings: tyro.conf.Suppress[dict[str, Any]] = field(default_factory=dict)
    teacher_batch_size: int = 8
    """Images per teacher forward pass."""
    images_on_gpu: bool = True
    """Keep images (and depth) on the training device: pixel sampling then never leaves the GPU."""
    load_eval_images: bool = True
    """Decode the evaluation split (ns-train evaluates; fit() does not and turns this off)."""
    detail_ray_fraction: float = 0.5
    """Fraction of each batch's rays drawn from the patches where the language features change (object and part
    borders, small objects) instead of uniformly; 0: all uniform."""
    detail_patch_fraction: float = 0.25
    """Which patches count as detail: this fraction of each image's patches, those that differ most from a
    neighbour."""
    dataset_checked: tyro.conf.Suppress[bool] = False
    """fit() has run the dataset pre-flight (check_dataset) already; ns-train has not."""


class SetupRefused(SystemExit):
    """A dataset or data-manager setting refused before work, under nerfstudio's own command line (``ns-train
    dff``): nerfstudio prints a traceback for every exception but SystemExit, whose message Python prints as the
    one line (exit status 1). Before 2026-12-02 ``ns-train dff`` on such a dataset ended in a traceback from inside
    nerfstudio (an AssertionError for depth on some frames, a RuntimeError for mixed RGB and RGBA images...) or
    trained; a bad setting (``--pipeline.datamanager.detail-ray-fraction 2``) in a traceback after the teachers."""


def check_settings(config: DffDataManagerConfig) -> None:
    """The data manager's own settings (what ``ns-train dff --pipeline.datamanager.*`` sets), or SetupRefused."""
    from dff_grasp_ros.teachers.base import TeacherError, teacher_config

    problems = []
    if not 0.0 <= config.detail_ray_fraction < 1.0:
        problems.append(f"detail_ray_fraction must be in [0, 1), got {config.detail_ray_fraction}")
    if not 0.0 < config.detail_patch_fraction <= 1.0:
        problems.append(f"detail_patch_fraction must be in (0, 1], got {config.detail_patch_fraction}")
    if config.teacher_batch_size < 1:
        problems.append(f"teacher_batch_size must be >= 1, got {config.teacher_batch_size}")
    for teacher in (config.language_teacher, config.dino_teacher):
        try:
            teacher_config(teacher)
        except TeacherError as err:
            problems.append(str(err))
    if problems:
        raise SetupRefused(f"dff: pipeline.datamanager: {problems[0]}")


def check_teacher_weights(config: DffDataManagerConfig) -> None:
    """The teachers' weights are here (a file lookup), or SetupRefused: the teachers are built after nerfstudio's
    setup, which logs and starts data loader workers first."""
    from dff_grasp_ros.teachers.base import TeacherError, check_weights

    for teacher, settings in ((config.language_teacher, config.language_teacher_settings),
                              (config.dino_teacher, config.dino_teacher_settings)):
        try:
            check_weights(teacher, **settings)
        except TeacherError as err:
            raise SetupRefused(f"dff: pipeline.datamanager: {err}") from None


def _check_dataset_for_nerfstudio(data: Path, config: DffDataManagerConfig) -> None:
    """The pre-flight of fit() (every frame decodes, poses rigid, nerfstudio's keys usable, the teachers can use
    it), or SetupRefused."""
    from dff_grasp_ros.dataset import TRANSFORMS, check_dataset
    from dff_grasp_ros.errors import is_worded, one_line
    from dff_grasp_ros.teachers.base import TeacherError, check_teacher_dataset

    if data.suffix == ".json" and data.name != TRANSFORMS:
        return  # another transforms file than ours: nerfstudio's own checks only
    try:
        dataset = check_dataset(data.parent if data.suffix == ".json" else data)
        for teacher, settings in ((config.language_teacher, config.language_teacher_settings),
                                  (config.dino_teacher, config.dino_teacher_settings)):
            check_teacher_dataset(teacher, dataset, **settings)
    except (ValueError, OSError, TeacherError) as err:
        if not is_worded(err):
            raise
        raise SetupRefused(f"dff: {one_line(err)}") from None


def check_before_training(trainer_config: Any) -> None:
    """``ns-train dff``'s pre-flight, before nerfstudio writes anything (see method.DffTrainerConfig): the data
    manager's settings, the teachers' weights, the device and the dataset, or SetupRefused (one line)."""
    from dff_grasp_ros.teachers.base import TeacherError, resolve_device

    config = trainer_config.pipeline.datamanager
    if not isinstance(config, DffDataManagerConfig):
        return
    check_settings(config)
    check_teacher_weights(config)
    device_type = trainer_config.machine.device_type
    try:
        resolve_device(device_type)  # fit's check; nerfstudio's Trainer failed in torch with a traceback
    except (TeacherError, RuntimeError) as err:
        raise SetupRefused(f"dff: --machine.device-type {device_type}: {err}; use --machine.device-type cpu") \
            from None
    _check_dataset_for_nerfstudio(Path(config.data if config.data is not None else config.dataparser.data), config)


class DffDataManager(VanillaDataManager):
    """VanillaDataManager whose training batches carry ``language`` and ``dino`` targets per ray."""

    config: DffDataManagerConfig

    def __init__(self, config: DffDataManagerConfig, device: torch.device | str = "cpu",
                 test_mode: Literal["test", "val", "inference"] = "val", world_size: int = 1,
                 local_rank: int = 0, **kwargs: Any) -> None:
        check_settings(config)
        check_teacher_weights(config)
        if test_mode != "inference" and not config.dataset_checked:
            # what VanillaDataManager reads: ``data`` (ns-train --data) overrides the dataparser's
            _check_dataset_for_nerfstudio(Path(config.data if config.data is not None else config.dataparser.data),
                                          config)
        super().__init__(config, device, test_mode, world_size, local_rank, **kwargs)
        from dff_grasp_ros.teachers import make_teacher

        self.teachers = {
            "language": make_teacher(config.language_teacher, device=str(device),
                                     **config.language_teacher_settings),
            "dino": make_teacher(config.dino_teacher, device=str(device), **config.dino_teacher_settings),
        }
        self.train_dataset.metadata[FEATURE_DIMS_KEY] = {k: t.feature_dim for k, t in self.teachers.items()}
        self.train_dataset.metadata[SCALE_KEY] = float(self.train_dataparser_outputs.dataparser_scale)
        # Inference (loading a trained field) needs only the feature sizes, not the features.
        self.teacher_features: dict[str, torch.Tensor] = {}
        self.detail_patches: torch.Tensor | None = None
        if test_mode != "inference":
            self.teacher_features = self._load_teacher_features()
            if config.detail_ray_fraction > 0:
                self.detail_patches = detail_patches(self.teacher_features["language"],
                                                     config.detail_patch_fraction)

    @cached_property
    def dataset_type(self) -> type[InputDataset]:
        # nerfstudio's DepthDataset would run a downloaded depth network when depth is missing: only use it
        # when the dataset has depth images.
        if self.train_dataparser_outputs.metadata.get("depth_filenames"):
            return DepthDataset
        return InputDataset

    def setup_eval(self) -> None:
        if self.config.load_eval_images:
            super().setup_eval()

    def create_train_dataset(self) -> InputDataset:
        dataset = super().create_train_dataset()
        # An instance copy: nerfstudio edits this list in place, and it is a class attribute.
        dataset.exclude_batch_keys_from_device = [
            key for key in dataset.exclude_batch_keys_from_device
            if not (self.config.images_on_gpu and key == "depth_image")]
        return dataset

    def _load_teacher_features(self) -> dict[str, torch.Tensor]:
        from dff_grasp_ros.dataset import load_dataset
        from dff_grasp_ros.teachers.cache import dataset_features

        dataset = load_dataset(Path(self.config.dataparser.data))
        by_name = {Path(frame.image_path).name: i for i, frame in enumerate(dataset.frames)}
        try:
            order = [by_name[Path(p).name] for p in self.train_dataparser_outputs.image_filenames]
        except KeyError as err:
            raise ValueError(f"image {err} of the training split is not a frame of {dataset.root}") from None
        out = {}
        for key, teacher in self.teachers.items():
            CONSOLE.print(f"Teacher features: {teacher.name} ({teacher.feature_dim}-d) for {len(order)} views")
            maps = torch.as_tensor(dataset_features(dataset, teacher, batch_size=self.config.teacher_batch_size))
            out[key] = maps[torch.as_tensor(order)].to(self.device, torch.float16)
        return out

    def attach_teacher_features(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Add the teacher target of every sampled pixel (``batch["indices"]``: camera, row, column)."""
        indices = batch["indices"]
        cameras = self.train_dataset.cameras
        height, width = int(cameras.height[0]), int(cameras.width[0])
        for key, maps in self.teacher_features.items():
            index = indices.to(maps.device)
            batch[key] = sample_feature_grid(maps, index[:, 0], index[:, 1:], height, width)
        return batch

    def next_train(self, step: int) -> tuple[RayBundle, dict]:
        self.train_count += 1
        image_batch = next(self.iter_train_image_dataloader)
        batch = self.train_pixel_sampler.sample(image_batch)
        self.replace_with_detail_rays(image_batch, batch)
        return self.train_ray_generator(batch["indices"]), self.attach_teacher_features(batch)

    def replace_with_detail_rays(self, image_batch: dict[str, Any], batch: dict[str, Any]) -> None:
        """Overwrite the first ``detail_ray_fraction`` of ``batch``'s rays (pixels drawn uniformly by nerfstudio's
        sampler) with pixels drawn from the detail patches, with their colour, depth and camera index."""
        if self.detail_patches is None or len(self.detail_patches) == 0:
            return
        indices = batch["indices"]
        maps = self.teacher_features["language"]
        height, width = image_batch["image"].shape[1:3]
        pixels = sample_detail_pixels(self.detail_patches, round(self.config.detail_ray_fraction * len(indices)),
                                      tuple(maps.shape[1:3]), (height, width))
        # The cached image batch may hold a subset of the cameras, in any order: map camera -> batch position.
        image_idx = image_batch["image_idx"].to(pixels.device).long()
        position = torch.full((len(maps),), -1, dtype=torch.long, device=pixels.device)
        position[image_idx] = torch.arange(len(image_idx), device=pixels.device)
        pixels = pixels[position[pixels[:, 0]] >= 0]
        count = len(pixels)
        local = position[pixels[:, 0]].cpu()
        y, x = pixels[:, 1].cpu(), pixels[:, 2].cpu()
        for key, value in batch.items():
            if key == "indices":
                value[:count] = pixels.to(value)
            elif key in image_batch and key != "image_idx":
                value[:count] = image_batch[key][local, y, x].to(value)
