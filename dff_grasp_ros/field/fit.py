"""Train a ``dff`` field from a dataset directory without ROS, and publish it atomically.

The loop is ours, not nerfstudio's Trainer: it reports progress, honours cancellation between steps, stops on
a non-finite loss and skips the Trainer's viewer, evaluation and checkpoint rounds. The model, data manager,
optimisers and callbacks are the ``dff`` method's own (``ns-train dff`` trains the very same thing).
"""
from __future__ import annotations

import math
import random
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from dff_grasp_ros.atomic import discard_dir, make_staging_dir, publish_dir, writing
from dff_grasp_ros.dataset import Dataset, check_dataset
from dff_grasp_ros.errors import InputError
from dff_grasp_ros.field.cpu_threads import ThreadSchedule
from dff_grasp_ros.field.export import build_scene_cloud, build_scene_cloud_from_depth, evenly_spaced, scaled_intrinsics
from dff_grasp_ros.field.method import make_trainer_config, method_preset
from dff_grasp_ros.field.normalisation import Normalisation
from dff_grasp_ros.field.rendering import TrainedField
from dff_grasp_ros.field.store import write_field_files
from dff_grasp_ros.goals import check_train_request
from dff_grasp_ros.resources import require_memory
from dff_grasp_ros.teachers.base import check_teacher_dataset, check_weights, resolve_device, teacher_pair
from dff_grasp_ros.teachers.cache import FeaturesProgress, FeaturesStopped, FeatureWatch, watching_features

ProgressCallback = Callable[[int, int, dict[str, float], float], None]
"""``progress(step, total_steps, losses, eta_s)``, called every few steps and after the last one."""

REPORT_EVERY = 10  # steps between loss read-backs: each one waits for the GPU
# Peak host memory of fit() per pixel of the dataset's views (images and depth cached as float32 by nerfstudio,
# teacher maps, pixel batches, the scene-cloud export) and besides them (torch, nerfstudio, the model). Measured
# with ru_maxrss, dff-tiny on CPU, 2 steps, tabletop renders on this 2-core machine (2026-12-02): 24 views of
# 640x480 peaked at 1.78 GB, 24 of 1280x960 at 3.20 GB.
FIT_BYTES_PER_PIXEL = 64
FIT_BASE_BYTES = 1_300_000_000


def preload_training_code() -> None:
    """Import now what :func:`fit` imports only when it runs: torchmetrics' LPIPS module (patched while the model
    is built, ``field/model.py``) and open3d (the scene cloud's normals), ~3.5 s on two cores. A trainer node
    calls it at start, so a scan captured meanwhile starts training that much sooner."""
    import open3d  # noqa: F401
    import torchmetrics.image.lpip  # noqa: F401


def cpu_schedule(device: torch.device, cpu_threads: int) -> ThreadSchedule | None:
    """The CPU threads of a training on ``device``: ``cpu_threads`` fixed, or chosen step by step (0); None on a
    GPU (its threads only feed it)."""
    if device.type != "cpu":
        return None
    return ThreadSchedule.fixed(cpu_threads) if cpu_threads else ThreadSchedule(torch.get_num_threads())


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """torch's CPU threads set to ``threads`` (None: left alone) for the block, the process's own again after:
    a node's other work must not inherit a training's choice."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class TrainingError(RuntimeError):
    """Training failed (non-finite loss, out of GPU memory, no surface found); nothing was published."""


class TrainingCancelled(RuntimeError):
    """``should_stop`` asked to stop; nothing was published."""


@contextmanager
def flushing_denormals(enabled: bool) -> Iterator[None]:
    """Flush denormal floats to zero for the duration of the block only.

    Early training drives many activations into denormals, which x86 CPUs compute ~50x slower (measured:
    123 s -> 24 s for 100 dff-tiny steps on 2 cores). The flag is process-wide and scipy's cKDTree crashes
    under it, so it must not outlive training.
    """
    if not enabled:
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def fit(dataset_dir: Path, out_root: Path, *, steps: int | None = None, teacher: str = "clip",
        device: str = "auto", method: str = "dff", progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
        teacher_settings: dict[str, dict[str, Any]] | None = None, name: str | None = None,
        seed: int = 0, features_progress: FeaturesProgress | None = None, cpu_threads: int = 0) -> Path:
    """Train a field on ``dataset_dir`` and publish it as a new directory under ``out_root``.

    ``teacher`` is the language teacher ('clip' or 'synthetic'); its DINO partner is implied.
    ``teacher_settings`` may give extra make_teacher() settings under "language" / "dino".
    ``features_progress(teacher name, views done, views total)`` follows the teachers before training starts;
    ``should_stop`` is asked then too (before each view) and at every step.
    ``cpu_threads`` (training on the CPU): that many torch threads; 0 = torch's count when every core is free,
    one fewer when another process keeps one busy (:mod:`dff_grasp_ros.field.cpu_threads`).
    Returns the published field directory (field.json, field.pt, scene_cloud.npz).
    Raises InputError (a bad request, output folder or dataset: before any training), TrainingError (non-finite
    loss, CUDA out of memory) or TrainingCancelled; then nothing is published and no staging folder is left.
    """
    # Everything that can be checked is checked before minutes of work: the request, the output folder (a
    # staging folder is made there now: a file in the way or a read-only disk fails here) and the dataset.
    if steps is not None:
        check_train_request(steps)
    if cpu_threads < 0:
        raise InputError(f"cpu_threads must be 0 (choose) or more, got {cpu_threads}")
    preset = method_preset(method)
    for role, teacher_name in zip(("language", "dino"), teacher_pair(teacher)):
        check_weights(teacher_name, **(teacher_settings or {}).get(role, {}))  # else refused mid-setup
    torch_device = resolve_device(device)
    trainer_config = make_trainer_config(preset, steps)
    dataset = check_dataset(Path(dataset_dir))
    for role, teacher_name in zip(("language", "dino"), teacher_pair(teacher)):
        check_teacher_dataset(teacher_name, dataset, **(teacher_settings or {}).get(role, {}))
    check_memory_for(dataset)
    name = name or f"field_{dataset.root.name}"
    schedule = cpu_schedule(torch_device, cpu_threads)
    staging = make_staging_dir(Path(out_root), name)
    try:
        with watching_features(FeatureWatch(should_stop, features_progress)), \
                torch_threads(schedule.threads_for(0) if schedule else None):
            field, cloud = _train_and_export(dataset, trainer_config, preset, teacher, teacher_settings or {},
                                             torch_device, method, progress, should_stop, seed, schedule)
        with writing(Path(out_root) / name):
            write_field_files(staging, field, cloud)
        return publish_dir(staging, Path(out_root), name)
    except BaseException:
        discard_dir(staging)
        raise


def check_memory_for(dataset: Dataset) -> int:
    """Refuse (InputError) a dataset whose training would not fit in the memory available now, before the teachers
    run (by this estimate 100 views of 3840x2160 need ~55 GB); the bytes needed otherwise."""
    width, height = dataset.intrinsics.width, dataset.intrinsics.height
    return require_memory(FIT_BASE_BYTES + FIT_BYTES_PER_PIXEL * len(dataset.frames) * width * height,
                          f"dataset {dataset.root}: training on {len(dataset.frames)} views of {width}x{height}",
                          "use fewer views or smaller images")


@contextmanager
def _reading_again(dataset: Dataset, when: str) -> Iterator[None]:
    """Training reads the checked dataset's files again: an image changed since (truncated, replaced by another
    kind of file) is a TrainingError naming the dataset, not PIL's "image file is truncated" naming nothing."""
    from dff_grasp_ros.errors import is_worded, one_line

    try:
        yield
    except (OSError, SyntaxError) as err:  # PIL: OSError for truncated data, SyntaxError for a broken header
        if isinstance(err, OSError) and is_worded(err):
            raise  # names its file already (a deleted image: "No such file or directory: ...")
        raise TrainingError(f"dataset {dataset.root} could not be read {when}: {one_line(err)}; was it changed "
                            f"after it was checked?") from err


def _train_and_export(dataset: Dataset, trainer_config, preset, teacher: str,
                      teacher_settings: dict[str, dict[str, Any]], torch_device: torch.device, method: str,
                      progress: ProgressCallback | None, should_stop: Callable[[], bool] | None,
                      seed: int, schedule: ThreadSchedule | None) -> tuple[TrainedField, Any]:
    """Teacher features, training and the scene-cloud export of :func:`fit`; the training's CPU threads follow
    ``schedule``, the export keeps the last."""
    _point_at_dataset(trainer_config, dataset, teacher, teacher_settings)
    # Pixel sampling and initialisation: reproducible fields. nerfstudio samples with Python's ``random`` too
    # (pixel_samplers, dataloaders), so all three generators are seeded, as its own ``train.py``
    # (``_set_random_seed``, nerfstudio 1.1.5) does. Torch alone left the field to whatever state the process's
    # ``random`` was in: two fits of one dataset differed, and a held-out depth error of 5.8 mm became 10.6 mm.
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    started = time.monotonic()
    try:
        try:  # fit() watches the teacher features that the setup computes
            with _reading_again(dataset, "as training set up"):
                pipeline = trainer_config.pipeline.setup(device=torch_device, test_mode="val")
        except FeaturesStopped as err:
            raise TrainingCancelled(str(err)) from None
        setup_s = time.monotonic() - started  # teacher features, image decoding, model construction
        with flushing_denormals(torch_device.type == "cpu"):
            losses = run_training(pipeline, trainer_config, torch_device, progress, should_stop, schedule)
        train_s = time.monotonic() - started - setup_s
        field = TrainedField(model=pipeline.model, normalisation=normalisation_of(pipeline.datamanager),
                             meta=_field_meta(pipeline, dataset, preset.name, trainer_config.max_num_iterations,
                                              losses, train_s, torch_device))
        if schedule is not None:
            field.meta["cpu_threads"] = schedule.summary()
        field.model.eval()
        try:
            with _reading_again(dataset, "for the scene cloud after training"):
                if all(frame.depth_path for frame in dataset.frames):
                    cloud = build_scene_cloud_from_depth(field, dataset, range(len(dataset.frames)),
                                                         voxel_m=preset.voxel_m)
                else:
                    views = evenly_spaced(len(dataset.frames), preset.export_views)
                    cloud = build_scene_cloud(field, scaled_intrinsics(dataset.intrinsics, preset.export_scale),
                                              [dataset.frames[i].camera_to_base for i in views],
                                              voxel_m=preset.voxel_m)
        except ValueError as err:
            # The export's own message says what went wrong; no advice is added here (it was wrong as often as
            # not: "train longer" for a depth image of the wrong size).
            raise TrainingError(f"{err} (after {trainer_config.max_num_iterations} steps)") from err
    except torch.cuda.OutOfMemoryError as err:
        raise TrainingError(f"CUDA ran out of memory training {method!r} on {dataset.root}; free the GPU or use "
                            f"a smaller method (dff-tiny): {err}") from err
    field.meta["setup_s"] = round(setup_s, 3)
    field.meta["export_s"] = round(time.monotonic() - started - setup_s - train_s, 3)
    field.meta["scene_cloud_points"] = len(cloud)
    return field, cloud


def _point_at_dataset(trainer_config, dataset: Dataset, teacher: str,
                      teacher_settings: dict[str, dict[str, Any]]) -> None:
    language, dino = teacher_pair(teacher)
    manager = trainer_config.pipeline.datamanager
    manager.data = dataset.root
    manager.dataparser.data = dataset.root
    manager.language_teacher, manager.dino_teacher = language, dino
    manager.language_teacher_settings = dict(teacher_settings.get("language", {}))
    manager.dino_teacher_settings = dict(teacher_settings.get("dino", {}))
    manager.load_eval_images = False  # our loop never evaluates; saves decoding every image twice
    manager.dataset_checked = True  # fit() ran check_dataset before making its staging folder


def run_training(pipeline, trainer_config, device: torch.device, progress: ProgressCallback | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 schedule: ThreadSchedule | None = None) -> dict[str, float]:
    """Optimise ``pipeline`` for ``trainer_config.max_num_iterations`` steps; returns the last losses.
    ``schedule``: torch's CPU threads for each step, told how long each took."""
    from nerfstudio.engine.callbacks import TrainingCallbackAttributes, TrainingCallbackLocation
    from nerfstudio.engine.optimizers import Optimizers

    optimizers = Optimizers(trainer_config.optimizers, pipeline.get_param_groups())
    callbacks = pipeline.get_training_callbacks(TrainingCallbackAttributes(
        optimizers=optimizers, grad_scaler=None, pipeline=pipeline, trainer=None))
    total = int(trainer_config.max_num_iterations)
    # bf16 keeps fp32's range, so unlike nerfstudio's fp16 path it needs no gradient scaler.
    use_bf16 = device.type == "cuda" and trainer_config.mixed_precision
    pipeline.train()
    started = time.monotonic()
    losses: dict[str, float] = {}
    for step in range(total):
        if should_stop is not None and should_stop():
            raise TrainingCancelled(f"training cancelled at step {step} of {total}")
        if schedule is not None:
            threads = schedule.threads_for(step)
            if threads != torch.get_num_threads():
                torch.set_num_threads(threads)
            step_started = time.perf_counter()
        for callback in callbacks:
            callback.run_callback_at_location(step, TrainingCallbackLocation.BEFORE_TRAIN_ITERATION)
        optimizers.zero_grad_all()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            _, loss_dict, _ = pipeline.get_train_loss_dict(step=step)
        loss = sum(loss_dict.values())
        loss.backward()
        optimizers.optimizer_step_all()
        optimizers.scheduler_step_all(step)
        for callback in callbacks:
            callback.run_callback_at_location(step, TrainingCallbackLocation.AFTER_TRAIN_ITERATION)
        if schedule is not None:  # on the CPU every operation has finished: the step's wall time is its cost
            schedule.record(step, threads, time.perf_counter() - step_started)
        if (step + 1) % REPORT_EVERY == 0 or step + 1 == total:
            losses = {key: float(value.detach()) for key, value in loss_dict.items()}
            if not all(math.isfinite(value) for value in losses.values()):
                raise TrainingError(f"loss is not finite at step {step + 1}: {losses}")
            if progress is not None:
                elapsed = time.monotonic() - started
                progress(step + 1, total, losses, elapsed / (step + 1) * (total - step - 1))
    return losses


def normalisation_of(datamanager) -> Normalisation:
    outputs = datamanager.train_dataparser_outputs
    return Normalisation(outputs.dataparser_transform.detach().cpu().numpy(), float(outputs.dataparser_scale))


def _field_meta(pipeline, dataset: Dataset, method: str, steps: int, losses: dict[str, float], train_s: float,
                device: torch.device) -> dict[str, Any]:
    manager = pipeline.datamanager
    return {
        "base_frame": dataset.base_frame,
        "method": method,
        "steps": steps,
        "dataset": str(dataset.root.resolve()),
        "num_train_images": len(manager.train_dataset),
        "language_teacher": manager.teachers["language"].settings_dict(),
        "dino_teacher": manager.teachers["dino"].settings_dict(),
        "feature_dims": {key: teacher.feature_dim for key, teacher in manager.teachers.items()},
        "normalisation": normalisation_of(manager).to_json(),
        "scene_box_aabb": manager.train_dataset.scene_box.aabb.tolist(),
        "losses": losses,
        "train_s": round(train_s, 3),
        "device": str(device),
        "created_unix_s": time.time(),
    }
