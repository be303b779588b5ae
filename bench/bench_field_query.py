"""Scan -> trained field -> grasps, judged against ground truth: the whole pipeline's quality and time, no ROS.

    python bench/bench_field_query.py --scene tabletop [--config dff-tiny] [--steps 300] [--device auto]

Renders the scene, fits a field with the synthetic teacher, prints fit timings (setup/train/export) and every
`check_scene` verdict (on-part, collisions, AUROC), then p50/p95 of the query latency on the trained cloud.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from dff_grasp_ros.field.fit import fit
from dff_grasp_ros.query.evaluation import check_scene
from dff_grasp_ros.serving import load_served_field
from dff_grasp_ros.sim import ground_truth, load_scene, render_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="tabletop")
    parser.add_argument("--config", default="dff-tiny")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_field_query_"))
    scene = load_scene(args.scene)
    started = time.monotonic()
    dataset = render_dataset(scene, work / "datasets")
    render_s = time.monotonic() - started
    field_dir = fit(dataset, work / "fields", steps=args.steps, teacher="synthetic", device=args.device,
                    config=args.config)
    meta = json.loads((field_dir / "field.json").read_text())
    served = load_served_field(field_dir, "cpu")
    checks = check_scene(served.cloud, ground_truth(scene), served.encode_text)
    present = [c for c in checks if c.object_id is not None]
    print(json.dumps({"scene": scene.name, "field_dir": str(field_dir), "config": args.config, "steps": args.steps, "render_s": round(render_s, 1),
                      **{k: meta.get(k) for k in ("setup_s", "train_s", "export_s", "scene_cloud_points")},
                      "part_prompts_passed": f"{sum(c.passed for c in present)}/{len(present)}",
                      "absent_refused": all(c.passed for c in checks if c.object_id is None)}))
    for check in checks:
        print(check.describe())
    latencies = [c.result.latency_s for c in checks]
    print(f"query latency on the trained cloud: p50 {np.percentile(latencies, 50):.2f} s, "
          f"p95 {np.percentile(latencies, 95):.2f} s over {len(latencies)} prompts")


if __name__ == "__main__":
    main()
