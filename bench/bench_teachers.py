#!/usr/bin/env python3
"""Time the teachers on one scan's worth of views: CLIP MaskCLIP vs LERF-style crops, DINO, synthetic, cache.

    python bench/bench_teachers.py --device cuda --json results.json       # 48 views of 640x480, as a scan

Weights are the real architectures with seeded random weights (timing does not depend on the values, and the
device has no network). Times are wall-clock seconds for all views, host uint8 images in, features on the
device out, after one warm-up pass; median of ``--repeats``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dff_grasp_ros.dataset import CameraIntrinsics, DatasetWriter, load_dataset
from dff_grasp_ros.synthetic.labels import TABLE_LABEL, LabelName, encode_labels
from dff_grasp_ros.teachers import make_teacher
from dff_grasp_ros.teachers.cache import dataset_features


def synchronised(device: torch.device, fn: Callable[[], object]) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def time_teacher(teacher, images: np.ndarray, batch_size: int, repeats: int) -> dict:
    """Median seconds to compute features of all images in batches, plus peak GPU memory."""
    def run() -> None:
        for start in range(0, len(images), batch_size):
            teacher.image_features(images[start:start + batch_size])

    device = teacher.device
    synchronised(device, lambda: teacher.image_features(images[:batch_size]))  # warm-up: kernels, caches
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = [synchronised(device, run) for _ in range(repeats)]
    shape = tuple(teacher.image_features(images[:1]).shape[1:])
    out = {"seconds": statistics.median(times), "views": len(images), "batch_size": batch_size,
           "map_shape": list(shape), "repeats": repeats}
    out["views_per_s"] = len(images) / out["seconds"]
    if device.type == "cuda":
        out["peak_gpu_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


KINDS = ("mug", "pan", "knife")
LABEL_MEANINGS = {TABLE_LABEL: LabelName(None, None, None),
                  **{int(encode_labels(np.array(i), np.array(p))): LabelName(kind, "red", part)
                     for i, kind in enumerate(KINDS) for p, part in enumerate(("body", "handle"))}}


def random_labels(count: int, height: int, width: int, seed: int) -> np.ndarray:
    """Label images with a few rectangular objects of two parts each, on the table."""
    rng = np.random.default_rng(seed)
    labels = np.full((count, height, width), TABLE_LABEL, np.uint16)
    for image in labels:
        for instance, _ in enumerate(KINDS):
            y, x = rng.integers(0, height // 2), rng.integers(0, width // 2)
            image[y:y + height // 4, x:x + width // 4] = encode_labels(np.array(instance), np.array(1))
            image[y:y + height // 4, x + width // 8:x + width // 4] = encode_labels(np.array(instance), np.array(0))
    return labels


def time_cache(teacher, images: np.ndarray, batch_size: int) -> dict:
    """dataset_features on a written dataset: first call computes and writes, second reads the cache."""
    height, width = images.shape[1:3]
    intrinsics = CameraIntrinsics(width, height, 500.0, 500.0, width / 2, height / 2)
    with tempfile.TemporaryDirectory() as tmp:
        with DatasetWriter(Path(tmp), "bench", intrinsics) as writer:
            for image in images:
                writer.add_view(image, None, np.eye(4))
            root = writer.commit()
        dataset = load_dataset(root)
        cold = synchronised(teacher.device, lambda: dataset_features(dataset, teacher, batch_size=batch_size))
        warm = synchronised(teacher.device, lambda: dataset_features(dataset, teacher, batch_size=batch_size))
        size_mb = sum(p.stat().st_size for p in (root / ".teacher_cache").rglob("*.npy")) / 1e6
    return {"cold_s": cold, "warm_s": warm, "cache_mb": size_mb, "views": len(images)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=48)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--crop-views", type=int, default=48, help="views for the (slow) crops mode")
    parser.add_argument("--skip", nargs="*", default=[], help="cases to skip")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()

    images = np.random.default_rng(0).integers(0, 256, (args.views, args.height, args.width, 3), dtype=np.uint8)
    results: dict[str, dict] = {}
    if torch.cuda.is_available():
        results["device"] = {"name": torch.cuda.get_device_name(), "torch": torch.__version__}
    cases = {
        "clip_maskclip_fp16": lambda: time_teacher(
            make_teacher("clip", weights="random", device=args.device), images, 16, args.repeats),
        "clip_maskclip_fp32": lambda: time_teacher(
            make_teacher("clip", weights="random", device=args.device, fp16=False), images, 16, args.repeats),
        "clip_crops_fp16": lambda: _crops(args, images),
        "dino_vits8_fp16": lambda: time_teacher(
            make_teacher("dino", weights="random", device=args.device), images, 8, args.repeats),
        "dinov2_vits14_fp16": lambda: time_teacher(
            make_teacher("dino", model_name="vit_small_patch14_dinov2.lvd142m", weights="random",
                         device=args.device), images, 8, args.repeats),
        "synthetic_cpu": lambda: _synthetic(args),
        "cache_clip_maskclip": lambda: time_cache(make_teacher("clip", weights="random", device=args.device),
                                                  images, 16),
    }
    for name, case in cases.items():
        if name in args.skip:
            continue
        results[name] = case()
        print(name, json.dumps(results[name]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


def _crops(args: argparse.Namespace, images: np.ndarray) -> dict:
    teacher = make_teacher("clip", weights="random", device=args.device, dense_mode="crops")
    subset = images[:args.crop_views]
    result = time_teacher(teacher, subset, 1, 1)
    levels = teacher._crop_levels(tuple(images.shape[1:3]), teacher.grid_shape(tuple(images.shape[1:3])))
    result["crops_per_view"] = int(sum(len(boxes) for boxes, _ in levels))
    result["seconds_for_48_views"] = result["seconds"] * 48 / len(subset)
    return result


def _synthetic(args: argparse.Namespace) -> dict:
    labels = random_labels(args.views, args.height, args.width, 0)
    out = {}
    for name in ("synthetic", "synthetic_dino"):
        features = make_teacher(name).label_features
        out[f"{name}_s"] = min(synchronised(torch.device("cpu"), lambda f=features: f(labels, LABEL_MEANINGS))
                               for _ in range(2))
    out["views"] = args.views
    return out


if __name__ == "__main__":
    main()
