"""Clear the bin offline (no ROS): every object asked for by colour and name on a prepared cloud, executed in physics,
taken out, the scene updated from one fresh overview view (``carve_prepared``), and on; plus the time of one scene
update on a trained field. Each scene's ceiling too: how many of its objects this hand lifts when each is alone
in the scene (``synthetic.clearing.causes_alone``), which no clearing order can beat.

    python bench/bench_clear_bin.py --scene bin bin_clutter                 # ideal clouds
    python bench/bench_clear_bin.py --field DIR [--field DIR2]              # trained fields (scene from the field)
    ... --end-effectors parallel_jaw                                        # the jaws alone (default: jaws, then cup)
    ... --json out.json --pictures DIR --arm-motion-s 6

The loop is ``synthetic.clearing.clear_scene``, the one ``dff-grasp demo --clear`` runs over ROS; here the query
is :func:`plan_query` and the update :func:`carve_prepared`, in process, so the update time is the carving alone.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from dff_grasp_ros.atomic import atomic_write_bytes, check_output_file
from dff_grasp_ros.bringup import check_query_option
from dff_grasp_ros.carving import carve_prepared
from dff_grasp_ros.errors import one_line
from dff_grasp_ros.grasp.suction import SuctionParams
from dff_grasp_ros.grasp.suction_cup import SuctionCup
from dff_grasp_ros.query.pipeline import QueryParams, TextEncoder
from dff_grasp_ros.query.prepared import PreparedCloud
from dff_grasp_ros.synthetic import scene_intrinsics, vocabulary
from dff_grasp_ros.synthetic.catalog import load_scene
from dff_grasp_ros.synthetic.clearing import (
    CLEARING_END_EFFECTORS,
    DEFAULT_ARM_MOTION_S,
    OfflineCell,
    World,
    causes_alone,
    check_arm_motion_s,
    clear_report,
    clear_scene,
    ideal_prepared,
    print_report,
)
from dff_grasp_ros.synthetic.physics import physics_scene
from dff_grasp_ros.synthetic.spec import Scene

synthetic_encoder = vocabulary.embed_phrases


def clear_offline(scene: Scene | str, prepared: PreparedCloud, encoder: TextEncoder, arm_motion_s: float,
                  pictures: Path | None, params: QueryParams, push: bool = True) -> dict[str, Any]:
    cell = OfflineCell(prepared, encoder, params, log=lambda line: print(line, flush=True))
    physics_scene(scene)
    if pictures is not None:
        pictures.mkdir(parents=True, exist_ok=True)
    world, attempts = clear_scene(scene, cell.ask, cell.update, params.grasp.gripper, pictures,
                                  cup=params.suction.cup, push=push)
    report = clear_report(world, attempts, arm_motion_s)
    report["update_ms"] = [round(u * 1000) for u in cell.update_s]
    print_report(report)
    return report


def ceiling(scene: Scene | str, params: QueryParams) -> dict[str, Any]:
    """How many objects the cell's tools lift when each is alone in the scene (ideal cloud): what any clearing order
    can reach at best, and why the others fail."""
    world = World(scene)
    causes = causes_alone(world.original, synthetic_encoder, params)
    failing = {world.original.object_label(i): cause for i, cause in causes.items() if cause}
    summary = {"liftable_alone": len(causes) - len(failing), "objects": len(causes), "failing_alone": failing}
    print(f"[bench] {world.original.name}: {summary['liftable_alone']}/{summary['objects']} objects lifted when "
          f"alone in the scene; the others: {failing or 'none'}", flush=True)
    return summary


def update_timing(prepared: PreparedCloud, scene: Scene | str, repeats: int) -> dict[str, Any]:
    """Carving time of one update on ``prepared``: each object of the scene taken out in turn, ``repeats`` times."""
    world = World(scene)
    times = []
    for object_id in range(len(world.original.objects)):
        world.present = [i for i in range(len(world.original.objects)) if i != object_id]
        view, pose = world.overview()
        for _ in range(repeats):
            started = time.perf_counter()
            carve_prepared(prepared, view.depth_m, view.rgb, scene_intrinsics(world.original), pose)
            times.append(time.perf_counter() - started)
    ms = np.asarray(times) * 1000
    return {"points": len(prepared.cloud), "updates": len(ms), "median_ms": round(float(np.median(ms))),
            "p95_ms": round(float(np.percentile(ms, 95))), "max_ms": round(float(ms.max()))}


def query_params(args: argparse.Namespace) -> QueryParams:
    """The cell's tools from the arguments; ValueError (one line, naming the option) for a bad tool name or a cup
    size the query node refuses."""
    check_query_option(f"--cup-radius-m {args.cup_radius_m:g}", "suction_cup_radius_m", args.cup_radius_m)
    cup = SuctionCup(cup_radius_m=args.cup_radius_m)
    return QueryParams(end_effectors=tuple(args.end_effectors), suction=SuctionParams(cup=cup))


def check_arguments(args: argparse.Namespace) -> dict[Path, Scene]:
    """Every scene file, field and number checked before any work: ValueError with one line naming the one at fault
    (a bad scene file ended in a traceback after the scenes before it had been cleared). Returns each field's
    scene."""
    check_arm_motion_s(args.arm_motion_s)
    query_params(args)
    if args.timing_repeats < 0:
        raise ValueError(f"--timing-repeats must be 0 or more, got {args.timing_repeats}")
    if args.json is not None:
        check_output_file(args.json)  # before the work: a result that cannot be written would be lost
    if args.pictures is not None and args.pictures.exists() and not args.pictures.is_dir():
        raise ValueError(f"--pictures {args.pictures} is a file, not a folder")
    for scene_name in args.scene:
        load_scene(scene_name)
    from bench_grasp_success import field_scene

    return {field_dir: field_scene(field_dir) for field_dir in [*args.field, *args.timing_field]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", nargs="*", default=[], help="ideal clouds of these scenes")
    parser.add_argument("--field", type=Path, action="append", default=[], help="a trained field directory")
    parser.add_argument("--arm-motion-s", type=float, default=DEFAULT_ARM_MOTION_S)
    parser.add_argument("--timing-repeats", type=int, default=3, help="update timing on each field (0: none)")
    parser.add_argument("--timing-field", type=Path, action="append", default=[],
                        help="only time scene updates on this trained field (no clearing)")
    parser.add_argument("--pictures", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--end-effectors", nargs="+", default=list(CLEARING_END_EFFECTORS),
                        help=f"the cell's tools, tried in this order (default: {' '.join(CLEARING_END_EFFECTORS)})")
    parser.add_argument("--cup-radius-m", type=float, default=SuctionCup().cup_radius_m,
                        help="the suction cup's lip radius (the query node's suction_cup_radius_m)")
    parser.add_argument("--no-push", action="store_true",
                        help="never execute the push a refusal offers (the cell before pushes)")
    args = parser.parse_args()
    try:
        field_scenes = check_arguments(args)
    except ValueError as err:
        print(f"bench_clear_bin: {one_line(err)}", file=sys.stderr)
        return 2

    started = time.monotonic()
    params = query_params(args)
    reports: dict[str, Any] = {}
    ceilings: dict[str, dict[str, Any]] = {}

    def ceiling_of(scene: Scene | str) -> dict[str, Any]:  # once per scene: the ideal cloud's, whatever the field
        name = load_scene(scene).name
        if name not in ceilings:
            ceilings[name] = ceiling(scene, params)
        return ceilings[name]
    for scene_name in args.scene:
        prepared = ideal_prepared(scene_name)
        print(f"[bench] {scene_name} ideal cloud: {len(prepared.cloud)} points", flush=True)
        # By the scene's name: a scene file's path joined to --pictures was that path, beside the file.
        pictures = args.pictures and args.pictures / f"{load_scene(scene_name).name}_ideal"
        reports[f"{scene_name} / ideal"] = clear_offline(scene_name, prepared, synthetic_encoder, args.arm_motion_s,
                                                         pictures, params, not args.no_push)
        reports[f"{scene_name} / ideal"]["ceiling"] = ceiling_of(scene_name)
    from dff_grasp_ros.serving import load_served_field

    for field_dir in args.field:
        scene = field_scenes[field_dir]
        served = load_served_field(field_dir, "cpu")
        print(f"[bench] {scene.name} field {field_dir.name}: {len(served.cloud)} points", flush=True)
        report = clear_offline(scene, served.prepared, served.encode_text, args.arm_motion_s,
                               args.pictures and args.pictures / f"{scene.name}_field", params, not args.no_push)
        report["ceiling"] = ceiling_of(scene)
        if args.timing_repeats:
            report["update_timing"] = update_timing(served.prepared, scene, args.timing_repeats)
            print(f"  update timing: {report['update_timing']}", flush=True)
        reports[f"{scene.name} / field {field_dir.name}"] = report
    for field_dir in args.timing_field:
        scene = field_scenes[field_dir]
        served = load_served_field(field_dir, "cpu")
        timing = update_timing(served.prepared, scene, max(args.timing_repeats, 1))
        print(f"[bench] update timing, {scene.name} field {field_dir.name}: {timing}", flush=True)
        reports[f"{scene.name} / field {field_dir.name} (timing only)"] = {"update_timing": timing}
    summary = {name: {k: v for k, v in r.items() if k != "attempt_log"} for name, r in reports.items()}
    print(json.dumps({"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
                      "end_effectors": list(params.end_effectors), "cup_radius_m": params.suction.cup.cup_radius_m,
                      "wall_s": round(time.monotonic() - started, 1), "results": summary}, indent=1))
    if args.json:
        atomic_write_bytes(args.json, (json.dumps(reports, indent=1) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
