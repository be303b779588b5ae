#!/usr/bin/env python3
"""Refusals and grasps in clutter on ideal clouds, judged on dense ground truth (issue: bin picking).

    OMP_NUM_THREADS=1 python bench/bench_clutter_ideal.py [--scenes tabletop two_mugs bin_clutter] [--totes 0.08 0.04]

For each scene's ideal cloud (synthetic.ideal_cloud; and for bin_clutter also inside tote walls this far from the
objects, walls judged as obstacles): every part prompt of synthetic.judge.scene_prompts judged with judge_grasp
(correct / wrong_part / wrong_object / collides / missed, or refused), the absent objects, and three prompts per
object that name nothing there: a colour no object of the scene has ("purple mug"), "mug;zzzz" and
"mug drop table". Prints one markdown row per cloud.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dff_grasp_ros.query.pipeline import QueryParams, plan_query, prepare_query_cloud
from dff_grasp_ros.synthetic import ground_truth, vocabulary
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth, with_tote_walls
from dff_grasp_ros.synthetic.judge import (
    EVALUATION_POINTS_PER_PART,
    GroundTruthPoints,
    judge_grasp,
    scene_prompts,
)

WALL_ID = -2


encode = vocabulary.embed_phrases


def measure(scene: str, tote_margin_m: float | None) -> str:
    truth_json = ground_truth(scene, points_per_part=EVALUATION_POINTS_PER_PART)
    cloud = scene_cloud_from_ground_truth(truth_json)
    truth = GroundTruthPoints.from_json(truth_json)
    if tote_margin_m is not None:
        cloud, walls = with_tote_walls(cloud, tote_margin_m)
        truth = GroundTruthPoints(np.vstack([truth.points_m, walls]), np.r_[truth.object_id,
                                  np.full(len(walls), WALL_ID)], np.r_[truth.part, np.full(len(walls), "wall")])
    params = QueryParams()
    prepared = prepare_query_cloud(cloud, params)
    verdicts, blocked, latencies = Counter(), set(), []
    absent = present = 0
    for prompt, object_id, part in scene_prompts(truth_json):
        result = plan_query(prepared, encode, prompt, params)
        latencies.append(result.latency_s)
        if object_id is None:
            absent += int(not result.success and "not found" in result.message)
            continue
        present += 1
        if result.grasp is None:
            verdicts["refused"] += 1
            why = "no free grasp" if "collision-free" in result.message else "refused"
            blocked.add(f"{' '.join(prompt.split()[-2:])} ({why})")
            continue
        verdicts[judge_grasp(truth, result.grasp.rotation, result.grasp.position_m, result.grasp.opening_m,
                             params.grasp.gripper, object_id, part, 0.0).label] += 1
    colours = {o.get("color") for o in truth_json["objects"]}
    missing = next(c for c in params.attribute_words if c not in colours)
    nothing = [f"{missing} {o['type']}" for o in truth_json["objects"]]
    nothing += [f"{o['type']};zzzz" for o in truth_json["objects"]]
    nothing += [f"{o['type']} drop table" for o in truth_json["objects"]]
    grasped = [p for p in nothing if plan_query(prepared, encode, p, params).success]
    where = scene if tote_margin_m is None else f"{scene} in a tote ({tote_margin_m * 100:.0f} cm)"
    return (f"| {where} | {verdicts['correct']}/{present} | {present - verdicts['correct'] - verdicts['refused']} | "
            f"{', '.join(sorted(blocked)) or '-'} | {absent}/{len(scene_prompts(truth_json)) - present} | "
            f"{len(nothing) - len(grasped)}/{len(nothing)}{' ' + str(grasped) if grasped else ''} | "
            f"{np.percentile(latencies, 50) * 1000:.0f} / {np.percentile(latencies, 95) * 1000:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", nargs="+", default=["tabletop", "two_mugs", "bin_clutter"])
    parser.add_argument("--totes", nargs="*", type=float, default=[0.08, 0.04],
                        help="tote wall margins (m) for bin_clutter")
    args = parser.parse_args()
    print("| cloud | part prompts on the asked part | wrong or colliding grasps | refused parts | absent objects "
          "refused | absent colour / ';zzzz' / 'drop table' refused | query p50 / p95 (ms) |")
    print("|---|---|---|---|---|---|---|")
    for scene in args.scenes:
        print(measure(scene, None))
        if scene == "bin_clutter":
            for margin in args.totes:
                print(measure(scene, margin))


if __name__ == "__main__":
    main()
