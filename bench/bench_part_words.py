"""Every part word asked of every object of a trained field's scene: which are answered, how clearly each stands
out, and whether the object has that part.

For each object (by colour and type) of the scene a field was trained on, ``<colour> <type>;<part>`` is asked for
each part word of the synthetic vocabulary but "body". The answer's ``part_top`` (the asked part's logit against the
other part names at the object's most part-like points, ``dff_grasp_ros/query/parts.py``) is what
``QueryParams.min_part_top`` is compared with. A part the object has is judged by where the grasp's contacts lie
(dense ground truth); a part word it lacks should be refused.

    python bench/bench_part_words.py --field DIR [--field DIR ...] [--min-part-top 1.0] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from dff_grasp_ros.dataset import load_dataset
from dff_grasp_ros.errors import one_line
from dff_grasp_ros.query.pipeline import QueryParams, plan_query
from dff_grasp_ros.serving import load_served_field
from dff_grasp_ros.synthetic import ground_truth, vocabulary
from dff_grasp_ros.synthetic.judge import EVALUATION_POINTS_PER_PART, GroundTruthPoints
from dff_grasp_ros.synthetic.labels import dataset_scene
from dff_grasp_ros.synthetic.objects import OBJECT_PARTS

PART_WORDS = tuple(p for p in vocabulary.PART_NAMES if p != "body")


def field_rows(field_dir: Path, params: QueryParams) -> list[dict]:
    """One row per (object, part word) of the field's scene."""
    served = load_served_field(field_dir, "cpu")  # a folder that is no field: one line naming it
    scene = dataset_scene(load_dataset(Path(json.loads((field_dir / "field.json").read_text())["dataset"])))
    truth = GroundTruthPoints.from_json(ground_truth(scene, points_per_part=EVALUATION_POINTS_PER_PART))
    rows, asked = [], set()
    for obj in scene.objects:
        if (obj.color, obj.type) in asked:
            continue
        asked.add((obj.color, obj.type))
        for part in PART_WORDS:
            prompt = f"{obj.color} {obj.type};{part}"
            result = plan_query(served.prepared, served.encode_text, prompt, params)
            contacts = (truth.label(result.grasp.contacts_m)[1].tolist() if result.grasp is not None
                        and result.grasp.contacts_m is not None else None)
            rows.append({"scene": scene.name, "prompt": prompt, "has_part": part in OBJECT_PARTS[obj.type],
                         "answered": bool(result.success), "part_top": result.part_top,
                         "part_contrast": result.part_contrast, "contact_parts": contacts,
                         "message": result.message})
    return rows


def summary(rows: list[dict]) -> dict:
    def tops(selected: list[dict]) -> list[float]:
        return sorted(round(r["part_top"], 2) for r in selected if r["part_top"] is not None)

    has, lacks = [r for r in rows if r["has_part"]], [r for r in rows if not r["has_part"]]
    answered_has = [r for r in has if r["answered"]]
    return {"asked_parts_present": len(has), "answered_parts_present": len(answered_has),
            "answered_on_the_part": sum(r["contact_parts"] == [r["prompt"].split(";")[1]] * 2 for r in answered_has),
            "present_tops_answered": tops(answered_has),
            "asked_parts_lacking": len(lacks), "answered_parts_lacking": sum(r["answered"] for r in lacks),
            "lacking_answered": [r["prompt"] for r in lacks if r["answered"]],
            "lacking_tops": tops(lacks)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--field", type=Path, action="append", required=True, help="a trained field directory")
    parser.add_argument("--min-part-top", type=float, default=None, help="QueryParams.min_part_top (default: its own)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    params = QueryParams(end_effectors=("parallel_jaw", "suction"))
    if args.min_part_top is not None:
        if not np.isfinite(args.min_part_top):
            parser.error(f"--min-part-top must be finite, got {args.min_part_top}")
        params = replace(params, min_part_top=args.min_part_top)
    rows = []
    for field_dir in args.field:
        try:
            rows += field_rows(field_dir, params)
        except (OSError, ValueError, KeyError) as err:
            print(f"bench_part_words: --field {field_dir}: {one_line(err)}", file=sys.stderr)
            return 2
        print(f"[bench] {field_dir}: {len(rows)} prompts so far", flush=True)
    report = {"min_part_top": params.min_part_top, "summary": summary(rows), "rows": rows}
    print(json.dumps(report["summary"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
