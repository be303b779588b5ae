"""Grasp success in physics: every part prompt of a scene, judged by where the fingers close (the point judge) and by
executing the grasp in MuJoCo (lifted, slipped, missed, collided, lifted_other), on ideal clouds and trained fields.

    python bench/bench_grasp_success.py                                  # ideal clouds of every built-in scene
    python bench/bench_grasp_success.py --train tabletop two_mugs        # + a CPU-trained dff-tiny field each
    python bench/bench_grasp_success.py --field DIR [--field DIR2]       # + judge fields trained earlier
    ... --whole-objects                                                  # + each object asked whole
    ... --cache /tmp/physics/fields --json out.json --markdown           # where trained fields are kept; outputs

An ideal cloud (``synthetic/ideal_cloud.py``) is what a perfect field would export: the query logic alone. A trained
field is rendered and fitted as ``bench/bench_field_query.py`` does (``fit(..., teacher="synthetic",
method="dff-tiny")``), cached under ``--cache/<scene>/`` so a second run judges the same field. Prompts are
``judge.scene_prompts`` (every non-body part, by type and by colour + type); the asked object comes from the
ground truth and the prompt. Physics is only called here, after the query has answered.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dff_grasp_ros.bringup import check_end_effectors
from dff_grasp_ros.errors import InputError, one_line
from dff_grasp_ros.grasp.suction_cup import PARALLEL_JAW
from dff_grasp_ros.query.pipeline import QueryParams, TextEncoder, plan_query
from dff_grasp_ros.scene_cloud import SceneCloud, newest_field
from dff_grasp_ros.synthetic import builtin_scene_names, ground_truth, load_scene, vocabulary
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth
from dff_grasp_ros.synthetic.judge import EVALUATION_POINTS_PER_PART, GroundTruthPoints, check_answer, scene_prompts
from dff_grasp_ros.synthetic.physics import OUTCOMES, execute_with_tool, physics_scene
from dff_grasp_ros.synthetic.spec import Scene


def checked_end_effectors(names: list[str], bench: str) -> tuple[str, ...]:
    """``--end-effectors`` checked as the query node's parameter is; a bad one ends ``bench`` with one line naming
    it, exit 2, before any work (QueryParams' ValueError ended it in a traceback)."""
    try:
        return tuple(check_end_effectors(names))
    except InputError as err:
        print(f"{bench}: {err}", file=sys.stderr)
        raise SystemExit(2) from None


@dataclass
class PromptRow:
    scene: str
    source: str  # "ideal" or the field directory's name
    prompt: str
    part: str
    answered: bool
    verdict: str  # the point judge: correct, wrong_part, wrong_object, missed, collides, or "no grasp: ..."
    outcome: str  # physics: one of OUTCOMES, or "-" when there was no grasp
    message: str
    execute_s: float
    rise_cm: float  # the asked object's rise at the end of the hold (of the 10 cm lift); 0 without a grasp


synthetic_encoder = vocabulary.embed_phrases


def judge_cloud(scene: Scene | str, source: str, cloud: SceneCloud, encoder: TextEncoder,
                truth: dict[str, Any], whole_objects: bool = False, params: QueryParams | None = None
                ) -> list[PromptRow]:
    """Ask every part prompt (and each object whole, with ``whole_objects``) on ``cloud``; judge each grasp by
    points and by physics, with the tool it is for (``params.end_effectors``: the cell's tools)."""
    params = params or QueryParams()
    scene = load_scene(scene)
    scene_name = scene.name
    points = GroundTruthPoints.from_json(truth)
    rows = []
    for prompt, object_id, part in scene_prompts(truth, whole_objects=whole_objects):
        if object_id is None:
            continue  # absent objects: refusals, nothing to execute
        result = plan_query(cloud, encoder, prompt, params)
        check = check_answer(cloud, points, prompt, object_id, part, result, params.grasp.gripper,
                             cup=params.suction.cup)
        if result.grasp is None:
            rows.append(PromptRow(scene_name, source, prompt, part or "", False, "no grasp", "-", result.message,
                                  0.0, 0.0))
            continue
        g = result.grasp
        execution = execute_with_tool(scene, object_id, g.end_effector, g.rotation, g.position_m, g.opening_m,
                                      g.pre_grasp_position_m, params.grasp.gripper, params.suction.cup, record=False)
        rows.append(PromptRow(scene_name, source, prompt, part or "", True, check.verdict.label, execution.outcome,
                              execution.message, execution.wall_time_s,
                              round(100.0 * execution.rise_m[object_id], 2)))
        print(f"  {scene_name:11s} {source:8s} {prompt:28s} {g.end_effector:12s} judge={check.verdict.label:12s} "
              f"physics={execution.outcome:12s} {execution.wall_time_s:.2f} s  {execution.message}", flush=True)
    return rows


def trained_field(scene_name: str, cache: Path, steps: int, device: str) -> Path:
    """A dff-tiny field of the scene, trained once and kept under ``cache/<scene>/fields``."""
    from dff_grasp_ros.field.fit import fit
    from dff_grasp_ros.synthetic import render_dataset

    root = cache / scene_name
    existing = newest_field(root / "fields")
    if existing is not None:
        return existing
    started = time.monotonic()
    dataset = render_dataset(load_scene(scene_name), root / "datasets")
    print(f"[bench] rendered {scene_name} in {time.monotonic() - started:.0f} s; training dff-tiny", flush=True)
    return fit(dataset, root / "fields", steps=steps, teacher="synthetic", device=device, method="dff-tiny")


def field_scene(field_dir: Path) -> Scene:
    """The scene a field was trained on, as recorded whole in its dataset's transforms.json (a scene from a user's
    file or a random draw has no built-in of its name to look up again); ValueError, one line naming the field,
    for a field that is not one of a simulated scan."""
    from dff_grasp_ros.dataset import load_dataset
    from dff_grasp_ros.scene_cloud import read_field_meta
    from dff_grasp_ros.synthetic.labels import dataset_scene

    try:
        meta = read_field_meta(field_dir)
        if not isinstance(meta.get("dataset"), str):
            raise ValueError("field.json names no dataset it was trained on")
        return dataset_scene(load_dataset(Path(meta["dataset"])))
    except (OSError, ValueError) as err:
        raise ValueError(f"--field {field_dir}: {one_line(err)}") from err


def totals(rows: list[PromptRow]) -> dict[str, Any]:
    asked = len(rows)
    outcomes = Counter(r.outcome for r in rows if r.answered)
    times = [r.execute_s for r in rows if r.answered]
    # How much margin the lifts had: a grasp that turns in the pads rises less than the 10 cm lift.
    rises = [r.rise_cm for r in rows if r.outcome == "lifted"]
    return {"part_prompts": asked, "answered": sum(r.answered for r in rows),
            "part_correct": sum(r.verdict == "correct" for r in rows),
            "wrong_object": sum(r.verdict == "wrong_object" for r in rows),
            "lifted": outcomes.get("lifted", 0),
            "outcomes": {k: outcomes.get(k, 0) for k in OUTCOMES},
            "execute_s_median": round(float(np.median(times)), 3) if times else None,
            "execute_s_max": round(float(np.max(times)), 3) if times else None,
            "lifted_rise_cm_min": round(float(np.min(rises)), 1) if rises else None,
            "lifted_rise_cm_median": round(float(np.median(rises)), 1) if rises else None}


def markdown(groups: dict[tuple[str, str], list[PromptRow]]) -> str:
    lines = ["| scene | cloud | prompts | answered | part-correct (judge) | wrong object (judge) | lifted (physics) | "
             + " | ".join(OUTCOMES[1:]) + " | lifted: lowest / median rise cm | execution median / max s |",
             "|---|---|---|---|---|---|---|" + "---|" * (len(OUTCOMES) - 1) + "---|---|"]
    for (scene, source), rows in groups.items():
        t = totals(rows)
        n = max(t["part_prompts"], 1)
        lines.append(f"| {scene} | {source} | {t['part_prompts']} | {t['answered']} | "
                     f"{t['part_correct']} ({100 * t['part_correct'] / n:.0f} %) | {t['wrong_object']} | "
                     f"{t['lifted']} ({100 * t['lifted'] / n:.0f} %) | "
                     + " | ".join(str(t["outcomes"][k]) for k in OUTCOMES[1:])
                     + f" | {t['lifted_rise_cm_min']} / {t['lifted_rise_cm_median']}"
                     + f" | {t['execute_s_median']} / {t['execute_s_max']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", nargs="*", default=None, help="ideal clouds of these scenes (default: all)")
    parser.add_argument("--train", nargs="*", default=[], help="also train (or reuse) a dff-tiny field per scene")
    parser.add_argument("--field", type=Path, action="append", default=[], help="also judge this trained field")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/dff_grasp_bench_fields"))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, help="write every row and the totals here")
    parser.add_argument("--markdown", action="store_true", help="print the totals as a markdown table")
    parser.add_argument("--whole-objects", action="store_true",
                        help="also ask each object whole ('screwdriver', 'red screwdriver'): any part will do")
    parser.add_argument("--end-effectors", nargs="+", default=[PARALLEL_JAW],
                        help="the cell's tools, tried in this order (parallel_jaw, suction; default: the jaws)")
    args = parser.parse_args()
    params = QueryParams(end_effectors=checked_end_effectors(args.end_effectors, "bench_grasp_success"))
    try:  # every field's scene before any work
        field_scenes = {field_dir: field_scene(field_dir) for field_dir in args.field}
    except ValueError as err:
        print(f"bench_grasp_success: {err}", file=sys.stderr)
        raise SystemExit(2) from None

    started = time.monotonic()
    groups: dict[tuple[str, str], list[PromptRow]] = {}
    for scene_name in args.scene if args.scene is not None else builtin_scene_names():
        truth = ground_truth(scene_name, points_per_part=EVALUATION_POINTS_PER_PART)
        physics_scene(scene_name)  # compile and settle once, outside the per-execution times
        groups[(scene_name, "ideal")] = judge_cloud(scene_name, "ideal", scene_cloud_from_ground_truth(truth),
                                                    synthetic_encoder, truth, args.whole_objects, params)
    fields = list(args.field) + [trained_field(s, args.cache, args.steps, args.device) for s in args.train]
    for field_dir in fields:
        from dff_grasp_ros.serving import load_served_field

        scene = field_scenes.get(field_dir) or field_scene(field_dir)
        served = load_served_field(field_dir, "cpu")
        truth = ground_truth(scene, points_per_part=EVALUATION_POINTS_PER_PART)
        physics_scene(scene)
        groups[(scene.name, f"field {field_dir.name}")] = judge_cloud(scene, field_dir.name, served.cloud,
                                                                      served.encode_text, truth, args.whole_objects,
                                                                      params)
    summary = {f"{scene} / {source}": totals(rows) for (scene, source), rows in groups.items()}
    print(json.dumps({"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
                      "wall_s": round(time.monotonic() - started, 1), "totals": summary}, indent=1))
    if args.markdown:
        print(markdown(groups))
    if args.json:
        args.json.write_text(json.dumps({"rows": [vars(r) for rows in groups.values() for r in rows],
                                         "totals": summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
