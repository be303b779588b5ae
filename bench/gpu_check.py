"""GPU check: how fast a scan becomes grasp-ready, how much GPU memory it takes, and how fast queries are.

    python bench/gpu_check.py                      # on a GPU machine: tabletop scan, dff, the targets below
    python bench/gpu_check.py --scene tiny --device cpu --method dff-tiny --steps 20 --views 4   # CPU smoke run

One script, run whenever a GPU is lent (see bench/RESULTS.md for the figures and the command used):
1. renders the scene's scan (not timed: a real scan comes from the camera) and holds out every 12th view;
2. times the real teachers' forward passes on the scan's RGB (CLIP ViT-B/16 MaskCLIP and DINO ViT-S/8, their
   real architectures with random weights: no weights can be downloaded, and speed does not depend on them);
3. trains `dff` for each ``--steps`` with the synthetic teacher (a full fit(): teacher features, data, training,
   scene-cloud export), scores held-out views (language cosine >= 0.9, median depth error <= 10 mm: grasp-ready)
   and records the peak GPU memory;
4. times plan_query on the first grasp-ready field (text encoder on the device), judged by the ground-truth judge.

The GPU image has no open3d, which rendering and the judge's ground truth need: render there nothing, but prepare
the scan and its evaluation truth on a machine that has it and carry the folder (``bench/gpu_prepare.sh`` does
this and brings the packages the image lacks):

    python bench/gpu_check.py --prepare .gpu_scan                # here: .gpu_scan/tabletop + evaluation_truth.json
    python3 bench/gpu_check.py --scene .gpu_scan/tabletop        # there: the figures below

Time to grasp-ready = CLIP + DINO features of the scan + the shortest grasp-ready fit. Targets: <= 15 s,
<= 8 GiB peak GPU memory, query p50 <= 25 ms. Prints JSON lines and a markdown table for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_teachers import time_teacher
from bench_train import normals_without_open3d, prepare_split, timed_fit

from dff_grasp_ros.atomic import atomic_write_bytes
from dff_grasp_ros.serving import load_served_field
from dff_grasp_ros.synthetic import ground_truth
from dff_grasp_ros.synthetic.judge import EVALUATION_POINTS_PER_PART, check_scene
from dff_grasp_ros.teachers import make_teacher

TARGET_GRASP_READY_S = 15.0
TARGET_PEAK_GIB = 8.0
TARGET_QUERY_P50_S = 0.025
EVALUATION_TRUTH_FILE = "evaluation_truth.json"  # beside a prepared scan's transforms.json


def prepare_scan(scene: str, out_dir: Path) -> Path:
    """Render ``scene``'s scan into ``out_dir/scene`` with the judge's ground truth beside it (needs open3d)."""
    from dff_grasp_ros.synthetic import render_dataset

    dataset = render_dataset(scene, out_dir, name=scene)
    truth = ground_truth(scene, points_per_part=EVALUATION_POINTS_PER_PART)
    atomic_write_bytes(dataset / EVALUATION_TRUTH_FILE, json.dumps(truth).encode())
    return dataset


def evaluation_truth(scene: str, dataset_dir: Path | None = None) -> dict:
    """The judge's ground truth: read from a prepared scan when there is one, else computed (needs open3d)."""
    prepared = dataset_dir / EVALUATION_TRUTH_FILE if dataset_dir is not None else None
    if prepared is not None and prepared.is_file():
        return json.loads(prepared.read_text())
    return ground_truth(scene, points_per_part=EVALUATION_POINTS_PER_PART)


def teacher_seconds(split, device: str, views: int) -> dict:
    """Seconds for CLIP and DINO features of ``views`` scan images (real architectures, random weights)."""
    images = np.stack([split.full.load_rgb(frame) for frame in split.full.frames[:views]])
    out = {}
    for name, batch in (("clip", 16), ("dino", 8)):
        teacher = make_teacher(name, weights="random", device=device)
        out[f"{name}_features_s"] = round(time_teacher(teacher, images, batch, repeats=3)["seconds"], 3)
    out["teacher_views"] = len(images)
    return out


def query_latency(field_dir: Path, scene: str, device: str, repeats: int, dataset_dir: Path | None = None) -> dict:
    """plan_query p50/p95 over every scene prompt (``repeats`` rounds after a warm-up) and the judge's tally."""
    served = load_served_field(field_dir, device)
    truth = evaluation_truth(scene, dataset_dir)
    check_scene(served.cloud, truth, served.encode_text)  # warm-up: text embeddings, caches
    latencies, checks = [], []
    for _ in range(repeats):
        checks = check_scene(served.cloud, truth, served.encode_text)
        latencies += [c.result.latency_s for c in checks]
    present = [c for c in checks if c.object_id is not None]
    return {"query_p50_s": round(float(np.percentile(latencies, 50)), 4),
            "query_p95_s": round(float(np.percentile(latencies, 95)), 4),
            "part_prompts_passed": f"{sum(c.passed for c in present)}/{len(present)}",
            "absent_refused": all(c.passed for c in checks if c.object_id is None)}


def markdown(env: dict, teachers: dict, fits: list[dict], query: dict | None, ready: dict | None) -> str:
    lines = [f"GPU check on {env['device_name']} (torch {env['torch']}), {env['date']}: "
             f"`{env['command']}`", "",
             "| steps | fit s (setup / train / export) | peak GPU GiB | held-out cosine | depth err mm | ready |",
             "|---|---|---|---|---|---|"]
    for f in fits:
        lines.append(f"| {f['steps']} | {f['fit_total_s']} ({f['setup_s']} / {f['train_s']} / {f['export_s']}) | "
                     f"{f['peak_gpu_mem_gib']} | {f['heldout_language_cosine']} | "
                     f"{f['heldout_median_depth_error_mm']} | {'yes' if f['grasp_ready'] else 'no'} |")
    lines.append("")
    lines.append(f"CLIP features {teachers['clip_features_s']} s + DINO {teachers['dino_features_s']} s for "
                 f"{teachers['teacher_views']} views.")
    if ready is None:
        lines.append("No run reached grasp-ready: train longer (--steps).")
    else:
        total = ready["fit_total_s"] + teachers["clip_features_s"] + teachers["dino_features_s"]
        lines.append(f"Time to grasp-ready: {total:.1f} s (target <= {TARGET_GRASP_READY_S:.0f} s); peak "
                     f"{ready['peak_gpu_mem_gib']} GiB (target <= {TARGET_PEAK_GIB:.0f}).")
    if query is not None:
        lines.append(f"Query p50 {query['query_p50_s'] * 1000:.1f} ms, p95 {query['query_p95_s'] * 1000:.1f} ms "
                     f"(target p50 <= {TARGET_QUERY_P50_S * 1000:.0f} ms); part prompts on the asked part "
                     f"{query['part_prompts_passed']}, absent refused: {query['absent_refused']}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="tabletop", help="built-in scene or dataset directory")
    parser.add_argument("--method", default="dff")
    parser.add_argument("--steps", type=int, nargs="+", default=[300, 600, 1000, 2000])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--views", type=int, default=48, help="scan views whose teacher features are timed")
    parser.add_argument("--query-repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="work directory (default: a new temporary one)")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure to this JSON file")
    parser.add_argument("--prepare", type=Path, default=None, metavar="DIR",
                        help="only render --scene's scan and its evaluation truth into DIR (for a GPU image "
                             "without open3d), then exit")
    args = parser.parse_args(argv)
    if args.prepare is not None:
        dataset = prepare_scan(args.scene, args.prepare)
        print(f"prepared {dataset}; on the GPU machine: python3 bench/gpu_check.py --scene {dataset}")
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; run it on a GPU machine (or pass --device cpu for a smoke run)",
              file=sys.stderr)
        return 2
    work = Path(args.out or tempfile.mkdtemp(prefix="gpu_check_"))
    env = {"device_name": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
           "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"),
           "command": "python bench/gpu_check.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "normals_stand_in": normals_without_open3d()}
    print(json.dumps(env), flush=True)
    split = prepare_split(args.scene, work, holdout_every=12)
    teachers = teacher_seconds(split, args.device, args.views)
    print(json.dumps(teachers), flush=True)
    fits, ready, query = [], None, None
    for steps in sorted(args.steps):
        report = timed_fit(split, work / "fields", steps, args.method, args.device)
        print(json.dumps(report), flush=True)
        fits.append(report)
        if report["grasp_ready"] and ready is None:
            ready = report
    scene = split.full.metadata.get("scene", {}).get("name", args.scene)
    dataset_dir = Path(args.scene) if Path(args.scene).is_dir() else None
    query = query_latency(Path((ready or fits[-1])["field_dir"]), scene, args.device, args.query_repeats, dataset_dir)
    print(json.dumps(query), flush=True)
    table = markdown(env, teachers, fits, query, ready)
    print("\n" + table)
    if args.json is not None:
        args.json.write_text(json.dumps({"env": env, "teachers": teachers, "fits": fits, "query": query,
                                         "markdown": table}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
