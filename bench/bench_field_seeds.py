"""How a trained field's answers vary with the training seed, and what detail ray sampling changes.

    python bench/bench_field_seeds.py --scene tabletop --seeds 0 1 2 3 --detail-ray-fraction 0 0.5
    python bench/bench_field_seeds.py --detail-ray-fraction 0.5 --ray-samples 64,32,24 48,24,16

Renders the scene once, then for each detail ray fraction (the share of each batch drawn where the language
features change, DffDataManagerConfig.detail_ray_fraction), each ray sampling budget (``--ray-samples``: the two
proposal passes' and the field's samples per ray; the preset's when not given) and seed fits a ``--method`` field
with the synthetic teacher and judges every part prompt with ``check_scene`` (dense ground truth). Prints one JSON
line per field (with its training time) and a summary per variant: part prompts passed, and which prompts failed
how often.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
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


def ray_samples(text: str) -> tuple[int, int, int]:
    """'64,32,24' -> (64, 32, 24): samples per ray of the two proposal passes and of the field."""
    try:
        first, second, final = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not three comma-separated sample counts") from None
    if min(first, second, final) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every sample count must be at least 1")
    return first, second, final


def variant(preset: methods.MethodPreset, fraction: float,
            samples: tuple[int, int, int] | None) -> methods.MethodPreset:
    """The preset with this detail ray fraction and ray sampling budget."""
    model = dict(preset.model)
    if samples is not None:
        model.update(num_proposal_samples_per_ray=samples[:2], num_nerf_samples_per_ray=samples[2])
    return dataclasses.replace(preset, detail_ray_fraction=fraction, model=model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="tabletop")
    parser.add_argument("--method", default="dff-tiny")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--detail-ray-fraction", type=float, nargs="+", default=[0.0, 0.5])
    parser.add_argument("--ray-samples", type=ray_samples, nargs="+", default=[None],
                        help="PROPOSAL1,PROPOSAL2,FIELD samples per ray, one variant each (default: the preset's)")
    args = parser.parse_args()

    scene = load_scene(args.scene)
    work = Path(tempfile.mkdtemp(prefix="bench_field_seeds_"))
    dataset = render_dataset(scene, work / "datasets")
    truth = ground_truth(scene, points_per_part=EVALUATION_POINTS_PER_PART)
    preset = methods.method_preset(args.method)
    try:
        for fraction, samples in itertools.product(args.detail_ray_fraction, args.ray_samples):
            # The preset is looked up by name inside fit(): swap in the variant.
            methods.PRESETS[args.method] = variant(preset, fraction, samples)
            label = {"detail_ray_fraction": fraction, "ray_samples": samples or "preset"}
            passed, failed = [], Counter()
            for seed in args.seeds:
                started = time.monotonic()
                field_dir = fit(dataset, work / f"fields_{fraction}_{samples}", steps=args.steps,
                                teacher="synthetic", device="cpu", method=args.method, seed=seed, name=f"seed{seed}")
                fit_s = time.monotonic() - started
                train_s = json.loads((field_dir / "field.json").read_text())["train_s"]  # the steps alone
                served = load_served_field(field_dir, "cpu")
                checks = [c for c in check_scene(served.cloud, truth, served.encode_text) if c.object_id is not None]
                passed.append(sum(c.passed for c in checks))
                failed.update(c.prompt for c in checks if not c.passed)
                print(json.dumps({"scene": scene.name, **label, "seed": seed,
                                  "part_prompts_passed": f"{passed[-1]}/{len(checks)}",
                                  "failed": [c.prompt for c in checks if not c.passed],
                                  "fit_s": round(fit_s, 1), "train_s": train_s,
                                  "wall_s": round(time.monotonic() - started, 1)}), flush=True)
            print(json.dumps({"scene": scene.name, **label, "seeds": args.seeds, "part_prompts_passed": passed,
                              "of": len(checks), "failed_how_often": dict(failed)}), flush=True)
    finally:
        methods.PRESETS[args.method] = preset


if __name__ == "__main__":
    main()
