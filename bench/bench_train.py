"""Time to a grasp-ready field: train `dff` on a simulated scan and check held-out views at several lengths.

    python bench/bench_train.py --dataset DIR_OR_SCENE [--steps 500 1000 2000] [--method dff] [--device auto]

DIR_OR_SCENE is a dataset directory or a built-in scene name (rendered first; needs open3d). Every
``--holdout-every``-th view is held out of training; each run is a full ``fit()`` (teacher features from the
cache, data loading, training, scene-cloud export, atomic publication), timed end to end, and its held-out views
are scored against the noise-free synthetic teacher and the depth images. Prints one JSON line per run.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dff_grasp_ros.dataset import Dataset, load_dataset
from dff_grasp_ros.field import export
from dff_grasp_ros.field.fit import fit
from dff_grasp_ros.field.fusion import orient_towards
from dff_grasp_ros.field.store import load_field
from dff_grasp_ros.synthetic.field_quality import copy_views, held_out_quality, holdout_indices, is_grasp_ready
from dff_grasp_ros.teachers import dataset_features, make_teacher


def normals_without_open3d() -> bool:
    """The GPU image has no open3d: use view directions as normals there and say so (CPU cost is ~0.1 s)."""
    try:
        import open3d  # noqa: F401
        return False
    except ImportError:
        export.estimate_normals = lambda points, radius, towards: orient_towards(towards, towards)
        return True


@dataclass
class HeldOutSplit:
    """A scan split for training: every ``every``-th view held out and scored against the noise-free teacher."""

    full: Dataset
    holdout: list[int]
    train_dir: Path
    teacher_maps: np.ndarray  # (N, h, w, D) noise-free synthetic language features of every view


def prepare_split(dataset_or_scene: str, work: Path, holdout_every: int) -> HeldOutSplit:
    """Render ``dataset_or_scene`` if it is a scene name, then split off the held-out views."""
    source = Path(dataset_or_scene)
    if not source.is_dir():
        from dff_grasp_ros.synthetic import render_dataset

        source = render_dataset(dataset_or_scene, work / "datasets", name=dataset_or_scene)
    full = load_dataset(source)
    holdout = holdout_indices(len(full.frames), holdout_every)
    train_dir = copy_views(full, [i for i in range(len(full.frames)) if i not in holdout], work / "datasets",
                           "train")
    teacher_maps = dataset_features(full, make_teacher("synthetic", device="cpu", noise_std=0.0)).float().numpy()
    return HeldOutSplit(full, holdout, train_dir, teacher_maps)


def timed_fit(split: HeldOutSplit, fields_dir: Path, steps: int, method: str, device: str) -> dict:
    """One full ``fit()`` (teacher features, data, training, export, publication) timed and scored."""
    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    reports: list[tuple[float, int]] = []
    started = time.monotonic()
    field_dir = fit(split.train_dir, fields_dir, steps=steps, teacher="synthetic", device=device, method=method,
                    progress=lambda *r, log=reports: log.append((time.monotonic(), r[0])))
    total_s = time.monotonic() - started
    meta = json.loads((field_dir / "field.json").read_text())
    quality = held_out_quality(load_field(field_dir, device=device), split.full, split.holdout, split.teacher_maps)
    # steps/s from the progress reports (excludes setup and the first report's compile/warm-up jitter)
    (t0, s0), (t1, s1) = reports[0], reports[-1]
    return {
        "method": method, "steps": steps, "views_trained": len(split.full.frames) - len(split.holdout),
        "image_hw": [split.full.intrinsics.height, split.full.intrinsics.width],
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "fit_total_s": round(total_s, 2), "setup_s": meta["setup_s"], "train_s": meta["train_s"],
        "export_s": meta["export_s"], "steps_per_s": round((s1 - s0) / max(t1 - t0, 1e-9), 1),
        "peak_gpu_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
        "scene_cloud_points": meta["scene_cloud_points"],
        "heldout_language_cosine": round(quality["language_cosine"], 4),
        "heldout_median_depth_error_mm": round(quality["median_depth_error_m"] * 1000, 2),
        "grasp_ready": is_grasp_ready(quality), "field_dir": str(field_dir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--steps", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--method", default="dff")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--holdout-every", type=int, default=12)
    parser.add_argument("--warmup-steps", type=int, default=20, help="a first short fit to warm CUDA up")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    work = Path(args.out or tempfile.mkdtemp(prefix="bench_train_"))
    split = prepare_split(args.dataset, work, args.holdout_every)
    stand_in_normals = normals_without_open3d()
    if args.warmup_steps:
        started = time.monotonic()
        fit(split.train_dir, work / "fields", steps=args.warmup_steps, teacher="synthetic", device=args.device,
            method=args.method, name="warmup")
        print(json.dumps({"warmup_fit_s": round(time.monotonic() - started, 2)}), flush=True)
    for steps in args.steps:
        report = timed_fit(split, work / "fields", steps, args.method, args.device)
        print(json.dumps({**report, "normals_stand_in": stand_in_normals}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
