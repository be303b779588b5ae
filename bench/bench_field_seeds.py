"""How a trained field's answers vary with the training seed, and what detail ray sampling changes.

    python bench/bench_field_seeds.py --scene tabletop --seeds 0 1 2 3 --detail-ray-fraction 0 0.5

Renders the scene once, then for each detail ray fraction (the share of each batch drawn where the language
features change, DffDataManagerConfig.detail_ray_fraction) and seed fits a ``--method`` field with the synthetic
teacher and judges every part prompt with ``check_scene`` (dense ground truth). Prints one JSON line per field
and a summary per fraction: part prompts passed, and which prompts failed how often.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from dff_grasp_ros.field import method as methods
from dff_grasp_ros.field.fit import fit
from dff_grasp_ros.serving import load_served_field
from dff_grasp_ros.synthetic import ground_truth, load_scene, render_dataset
from dff_grasp_ros.synthetic.judge import EVALUATION_POINTS_PER_PART, check_scene


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="tabletop")
    parser.add_argument("--method", default="dff-tiny")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--detail-ray-fraction", type=float, nargs="+", default=[0.0, 0.5])
    args = parser.parse_args()

    scene = load_scene(args.scene)
    work = Path(tempfile.mkdtemp(prefix="bench_field_seeds_"))
    dataset = render_dataset(scene, work / "datasets")
    truth = ground_truth(scene, points_per_part=EVALUATION_POINTS_PER_PART)
    preset = methods.method_preset(args.method)
    try:
        for fraction in args.detail_ray_fraction:
            # The preset is looked up by name inside fit(): swap in the variant for this fraction.
            methods.PRESETS[args.method] = dataclasses.replace(preset, detail_ray_fraction=fraction)
            passed, failed = [], Counter()
            for seed in args.seeds:
                started = time.monotonic()
                field_dir = fit(dataset, work / f"fields_{fraction}", steps=args.steps, teacher="synthetic",
                                device="cpu", method=args.method, seed=seed, name=f"seed{seed}")
                served = load_served_field(field_dir, "cpu")
                checks = [c for c in check_scene(served.cloud, truth, served.encode_text) if c.object_id is not None]
                passed.append(sum(c.passed for c in checks))
                failed.update(c.prompt for c in checks if not c.passed)
                print(json.dumps({"scene": scene.name, "detail_ray_fraction": fraction, "seed": seed,
                                  "part_prompts_passed": f"{passed[-1]}/{len(checks)}",
                                  "failed": [c.prompt for c in checks if not c.passed],
                                  "wall_s": round(time.monotonic() - started, 1)}), flush=True)
            print(json.dumps({"scene": scene.name, "detail_ray_fraction": fraction, "seeds": args.seeds,
                              "part_prompts_passed": passed, "of": len(checks), "failed_how_often": dict(failed)}),
                  flush=True)
    finally:
        methods.PRESETS[args.method] = preset


if __name__ == "__main__":
    main()
