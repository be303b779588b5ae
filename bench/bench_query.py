#!/usr/bin/env python3
"""Latency of ``plan_query`` on a ~50k-point scene cloud, and its section in bench/RESULTS.md.

    OMP_NUM_THREADS=1 python bench/bench_query.py                 # prints, and rewrites the "Query" section
    python bench/bench_query.py --points-per-part 500 --no-write  # quick look

The cloud is the tabletop scene's ground truth made dense (the same ideal features the scene tests use:
synthetic-teacher language features, instance DINO features, open3d normals, a table grid), prepared once as
the query node prepares a field when it loads it. Each prompt is asked ``--repeats`` times after one warm-up;
latency is the wall-clock time ``plan_query`` reports. A trained field: bench/bench_field_latency.py.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dff_grasp_ros.query.pipeline import plan_query, prepare_query_cloud
from dff_grasp_ros.synthetic import (
    ground_truth,
    vocabulary,
)
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth

PROMPTS = ("mug handle", "red mug", "knife handle", "bottle cap", "screwdriver shaft", "pan handle", "banana")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


encode = vocabulary.embed_phrases


def measure(scene: str, points_per_part: int, table_spacing_m: float, repeats: int) -> tuple[int, dict]:
    truth = ground_truth(scene, points_per_part=points_per_part)
    cloud = prepare_query_cloud(scene_cloud_from_ground_truth(truth, table_spacing_m=table_spacing_m))
    per_prompt = {}
    for prompt in PROMPTS:
        plan_query(cloud, encode, prompt)  # warm-up
        results = [plan_query(cloud, encode, prompt) for _ in range(repeats)]
        per_prompt[prompt] = (results[0].success, [r.latency_s for r in results])
    return len(cloud.cloud), per_prompt


def section(scene: str, points: int, per_prompt: dict, repeats: int) -> str:
    everything = np.concatenate([lat for _, lat in per_prompt.values()])
    lines = [
        "## Query",
        "",
        f"`plan_query` on the `{scene}` scene's dense ground-truth cloud ({points} points, synthetic-teacher "
        f"features, prepared once), {repeats} repeats per prompt after a warm-up; {time.strftime('%Y-%m-%d')}, "
        f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPU core(s), OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
        "shared with other jobs. Command: `OMP_NUM_THREADS=1 .venv/bin/python bench/bench_query.py`.",
        "",
        "| prompt | success | p50 (s) | p95 (s) |",
        "|---|---|---|---|",
    ]
    for prompt, (success, latencies) in per_prompt.items():
        lines.append(f"| {prompt} | {success} | {np.percentile(latencies, 50):.3f} | "
                     f"{np.percentile(latencies, 95):.3f} |")
    lines += [f"| **all** | | **{np.percentile(everything, 50):.3f}** | **{np.percentile(everything, 95):.3f}** |",
              ""]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace (or append) the "## Query" section of RESULTS.md, leaving the other sections as they are."""
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(r"^## Query\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: text, old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="tabletop")
    parser.add_argument("--points-per-part", type=int, default=3000)
    parser.add_argument("--table-spacing-m", type=float, default=0.0045)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    points, per_prompt = measure(args.scene, args.points_per_part, args.table_spacing_m, args.repeats)
    text = section(args.scene, points, per_prompt, args.repeats)
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
