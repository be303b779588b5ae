"""Scan -> trained field -> grasps, judged against ground truth: the whole pipeline's quality and time, no ROS.

    python bench/bench_field_query.py --scene tabletop [--method dff-tiny] [--steps 300] [--device auto]
    python bench/bench_field_query.py --scene tabletop --field FIELD_DIR   # re-judge a field trained earlier

Renders the scene, fits a field with the synthetic teacher, prints fit timings (setup/train/export) and every
`check_scene` verdict (on-part, collisions, AUROC, judged on dense ground truth), then p50/p95 of the query
latency on the trained cloud as the query node serves it (prepared once at load; bench/bench_field_latency.py
times it in detail).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from dff_grasp_ros.field.fit import fit
from dff_grasp_ros.query.pipeline import plan_query
from dff_grasp_ros.serving import load_served_field
from dff_grasp_ros.synthetic import ground_truth, load_scene, render_dataset
from dff_grasp_ros.synthetic.judge import EVALUATION_POINTS_PER_PART, check_scene


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="tabletop")
    parser.add_argument("--method", default="dff-tiny")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--field", type=Path, help="judge this trained field instead of training one")
    args = parser.parse_args()

    scene = load_scene(args.scene)
    render_s = None
    field_dir = args.field
    if field_dir is None:
        work = Path(tempfile.mkdtemp(prefix="bench_field_query_"))
        started = time.monotonic()
        dataset = render_dataset(scene, work / "datasets")
        render_s = round(time.monotonic() - started, 1)
        field_dir = fit(dataset, work / "fields", steps=args.steps, teacher="synthetic", device=args.device,
                        method=args.method)
    meta = json.loads((field_dir / "field.json").read_text())
    served = load_served_field(field_dir, "cpu")
    truth = ground_truth(scene, points_per_part=EVALUATION_POINTS_PER_PART)
    checks = check_scene(served.cloud, truth, served.encode_text)
    present = [c for c in checks if c.object_id is not None]
    print(json.dumps({"scene": scene.name, "field_dir": str(field_dir), "method": meta.get("method", args.method),
                      "steps": meta.get("steps", args.steps), "render_s": render_s,
                      **{k: meta.get(k) for k in ("setup_s", "train_s", "export_s", "scene_cloud_points")},
                      "part_prompts_passed": f"{sum(c.passed for c in present)}/{len(present)}",
                      "absent_refused": all(c.passed for c in checks if c.object_id is None)}))
    for check in checks:
        print(check.describe())
    latencies = [plan_query(served.prepared, served.encode_text, c.prompt).latency_s for c in checks]
    print(f"query latency on the trained cloud: p50 {np.percentile(latencies, 50):.2f} s, "
          f"p95 {np.percentile(latencies, 95):.2f} s over {len(latencies)} prompts")


if __name__ == "__main__":
    main()
