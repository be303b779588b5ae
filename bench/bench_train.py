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
from pathlib import Path

import torch

from dff_grasp_ros.dataset import load_dataset
from dff_grasp_ros.field import export
from dff_grasp_ros.field.fit import fit
from dff_grasp_ros.field.fusion import orient_towards
from dff_grasp_ros.field.store import load_field
from dff_grasp_ros.synthetic.field_quality import copy_views, held_out_quality, holdout_indices, is_grasp_ready
from dff_grasp_ros.teachers import dataset_features, make_teacher


def _normals_without_open3d() -> bool:
    """The GPU image has no open3d: use view directions as normals there and say so (CPU cost is ~0.1 s)."""
    try:
        import open3d  # noqa: F401
        return False
    except ImportError:
        export.estimate_normals = lambda points, radius, towards: orient_towards(towards, towards)
        return True


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
    source = Path(args.dataset)
    if not source.is_dir():
        from dff_grasp_ros.synthetic import render_dataset

        source = render_dataset(args.dataset, work / "datasets", name=args.dataset)
    full = load_dataset(source)
    holdout = holdout_indices(len(full.frames), args.holdout_every)
    train_dir = copy_views(full, [i for i in range(len(full.frames)) if i not in holdout], work / "datasets",
                           "train")
    teacher_maps = dataset_features(full, make_teacher("synthetic", device="cpu", noise_std=0.0)).float().numpy()
    stand_in_normals = _normals_without_open3d()
    device = args.device
    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    gpu = torch.cuda.get_device_name() if cuda else "cpu"
    if args.warmup_steps:
        started = time.monotonic()
        fit(train_dir, work / "fields", steps=args.warmup_steps, teacher="synthetic", device=device,
            method=args.method, name="warmup")
        print(json.dumps({"warmup_fit_s": round(time.monotonic() - started, 2)}), flush=True)
    for steps in args.steps:
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        reports: list[tuple[float, int]] = []
        started = time.monotonic()
        field_dir = fit(train_dir, work / "fields", steps=steps, teacher="synthetic", device=device,
                        method=args.method, progress=lambda *r, log=reports: log.append((time.monotonic(), r[0])))
        total_s = time.monotonic() - started
        meta = json.loads((field_dir / "field.json").read_text())
        quality = held_out_quality(load_field(field_dir, device=device), full, holdout, teacher_maps)
        # steps/s from the progress reports (excludes setup and the first report's compile/warm-up jitter)
        (t0, s0), (t1, s1) = reports[0], reports[-1]
        print(json.dumps({
            "method": args.method, "steps": steps, "views_trained": len(full.frames) - len(holdout),
            "image_hw": [full.intrinsics.height, full.intrinsics.width], "device": gpu,
            "fit_total_s": round(total_s, 2), "setup_s": meta["setup_s"], "train_s": meta["train_s"],
            "export_s": meta["export_s"],
            "steps_per_s": round((s1 - s0) / max(t1 - t0, 1e-9), 1),
            "peak_gpu_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
            "scene_cloud_points": meta["scene_cloud_points"],
            "heldout_language_cosine": round(quality["language_cosine"], 4),
            "heldout_median_depth_error_mm": round(quality["median_depth_error_m"] * 1000, 2),
            "grasp_ready": is_grasp_ready(quality), "normals_stand_in": stand_in_normals,
        }), flush=True)


if __name__ == "__main__":
    sys.exit(main())
