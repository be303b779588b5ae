#!/usr/bin/env python3
"""Latency of ``plan_query`` on a trained field's scene cloud, as the query node serves it, with a profile.

    OMP_NUM_THREADS=1 python bench/bench_field_latency.py --field FIELD_DIR [--scene tabletop] [--repeats 5]
    OMP_NUM_THREADS=1 python bench/bench_field_latency.py --field FIELD_DIR --profile 25   # where the time goes

The field is loaded with ``serving.load_served_field`` (the preparation a node does once per field is timed
separately: "load"); then every prompt of ``synthetic.judge.scene_prompts`` (each part of each object, with and
without its colour, plus absent objects) is asked ``--repeats`` times after one warm-up. Latency is the
wall-clock time ``plan_query`` reports. Prints one markdown table row per prompt and the p50/p95 over all
answers, and the verdict of each prompt so that a speed change can be checked for changed answers.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dff_grasp_ros.query.pipeline import plan_query
from dff_grasp_ros.serving import load_served_field
from dff_grasp_ros.synthetic import ground_truth
from dff_grasp_ros.synthetic.judge import scene_prompts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--field", type=Path, required=True)
    parser.add_argument("--scene", default="tabletop")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", type=int, default=0, help="print this many functions of a cProfile run")
    args = parser.parse_args()

    started = time.perf_counter()
    served = load_served_field(args.field, "cpu")
    load_s = time.perf_counter() - started
    cloud = getattr(served, "prepared", served.cloud)  # what the node queries (older versions: the plain cloud)
    prompts = [prompt for prompt, _, _ in scene_prompts(ground_truth(args.scene))]
    rows, everything = [], []
    for prompt in prompts:
        plan_query(cloud, served.encode_text, prompt)  # warm-up (text encoder cache, page faults)
        results = [plan_query(cloud, served.encode_text, prompt) for _ in range(args.repeats)]
        latencies = [r.latency_s for r in results]
        everything += latencies
        rows.append(f"| {prompt} | {results[0].success} | {np.percentile(latencies, 50) * 1000:.0f} | "
                    f"{np.percentile(latencies, 95) * 1000:.0f} | {results[0].message} |")
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPU "
          f"core(s), OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load average "
          f"{os.getloadavg()[0]:.1f}; field {args.field} ({len(served.cloud)} points), load {load_s:.1f} s")
    print("| prompt | success | p50 (ms) | p95 (ms) | answer |\n|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"| **all ({len(everything)} answers)** | | **{np.percentile(everything, 50) * 1000:.0f}** | "
          f"**{np.percentile(everything, 95) * 1000:.0f}** | |")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for prompt in prompts:
            plan_query(cloud, served.encode_text, prompt)
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(args.profile)
        print(text.getvalue())


if __name__ == "__main__":
    main()
