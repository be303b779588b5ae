"""Depth scale fitted by the view alignment (issue 12): views as scanned (true pose and the pose errors of
bench_update_pose_error.py) against views whose depth is scaled or whose focal length is wrong, after each pick of
the test bed's four scenes (ideal clouds) and of trained fields; what the update removes of objects that stayed
with the scale check off and on.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_update_depth_scale.py --json OUT.json [--field SCENE DIR ...]
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from bench_update_pose_error import POSE_ERRORS, moved

from dff_grasp_ros.carving import CarvingParams, carve_prepared
from dff_grasp_ros.query.prepared import PreparedCloud
from dff_grasp_ros.synthetic import ground_truth, scene_intrinsics
from dff_grasp_ros.synthetic.clearing import World, ideal_prepared
from dff_grasp_ros.synthetic.judge import GroundTruthPoints
from dff_grasp_ros.view_alignment import AlignmentParams, align_view

SCENES = ("bin", "bin_clutter", "tabletop", "two_mugs")
CHECK_OFF = CarvingParams(alignment=AlignmentParams(max_depth_scale_error=0.99, max_image_scale_error=0.99))
WRONG = (("depth x0.98", 0.98, 1.0), ("depth x1.01", 1.01, 1.0), ("depth x1.02", 1.02, 1.0),
         ("depth x1.03", 1.03, 1.0), ("depth x1.05", 1.05, 1.0), ("focal x0.95", 1.0, 0.95), ("focal x1.05", 1.0, 1.05))


def scales_of(fit: Any) -> tuple[float | None, float | None]:
    """(depth scale, image scale) the alignment fitted; None where it fitted none."""
    return (None, None) if fit is None else (fit.depth_scale, fit.image_scale)


def lost(prepared: PreparedCloud, depth: np.ndarray, rgb: np.ndarray, intrinsics: Any, pose: np.ndarray,
         params: CarvingParams, stayed: np.ndarray) -> int | None:
    """Points of objects that stayed which the update removes; None when the update is refused."""
    try:
        carved = carve_prepared(prepared, depth, rgb, intrinsics, pose, params)
    except ValueError:
        return None
    return int(carved.removed[:len(stayed)][stayed].sum())


def measure(tag: str, scene: str, prepared: PreparedCloud) -> dict[str, list]:
    world = World(scene)
    labels, _ = GroundTruthPoints.from_json(ground_truth(world.scene())).label(prepared.cloud.points_m)
    intrinsics = scene_intrinsics(world.original)
    out: dict[str, list] = {"valid": [], "wrong": []}
    for picked in range(len(world.original.objects)):
        world.present = [i for i in range(len(world.original.objects)) if i != picked]
        view, pose = world.overview()
        stayed = (labels >= 0) & (labels != picked)
        for name, shift_m, turn_deg in [("true", (0, 0, 0), 0.0)] + POSE_ERRORS:
            fit = align_view(prepared.surface, view.depth_m, intrinsics, moved(pose, shift_m, turn_deg), 0.05, 3.0)
            out["valid"].append([tag, picked, name, *scales_of(fit)])
        for name, depth_factor, focal_factor in WRONG:
            depth = view.depth_m * depth_factor
            wrong_k = replace(intrinsics, fx=intrinsics.fx * focal_factor, fy=intrinsics.fy * focal_factor)
            fit = align_view(prepared.surface, depth, wrong_k, pose, 0.05, 3.0)
            out["wrong"].append([tag, picked, name, *scales_of(fit),
                                 lost(prepared, depth, view.rgb, wrong_k, pose, CHECK_OFF, stayed),
                                 lost(prepared, depth, view.rgb, wrong_k, pose, CarvingParams(), stayed)])
    print(f"[bench] {tag} done", flush=True)
    return out


def summary(results: dict[str, list]) -> None:
    def span(rows: list, column: int) -> str:
        values = [row[column] for row in rows if row[column] is not None]
        return f"{min(values):.4f}-{max(values):.4f}"

    print(f"views as scanned: {len(results['valid'])}, depth scale {span(results['valid'], 3)}, image scale "
          f"{span(results['valid'], 4)}")
    for name, _, _ in WRONG:
        rows = [row for row in results["wrong"] if row[2] == name]
        off = [row[5] for row in rows if row[5] is not None]
        on = [row[6] for row in rows if row[6] is not None]
        print(f"{name}: depth scale {span(rows, 3)}, image scale {span(rows, 4)}; check off: "
              f"{len(rows) - len(off)}/{len(rows)} refused, {sum(off)} points of staying objects lost; check on: "
              f"{len(rows) - len(on)}/{len(rows)} refused, {sum(on)} lost")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--field", nargs=2, action="append", default=[], metavar=("SCENE", "DIR"))
    args = parser.parse_args()
    results: dict[str, list] = {"valid": [], "wrong": []}
    specs = [(scene, scene, None) for scene in SCENES] + [(f"{s}/field", s, Path(d)) for s, d in args.field]
    for tag, scene, field_dir in specs:
        if field_dir is None:
            prepared = ideal_prepared(World(scene).scene())
        else:
            from dff_grasp_ros.serving import load_served_field

            prepared = load_served_field(field_dir, "cpu").prepared
        for key, rows in measure(tag, scene, prepared).items():
            results[key] += rows
    args.json.write_text(json.dumps(results) + "\n")
    summary(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
