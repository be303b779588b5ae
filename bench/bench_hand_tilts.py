"""Why the jaws cannot take a long object lying in a scene: hand poses across its long axis, tilted about that axis,
checked as the planner checks them.

The object is left alone in its scene (the table and tote kept, every other object taken out) on the ideal cloud,
found by its colour and name as the clearing loop asks, and its seen points' long horizontal axis taken. At a few
stations along the axis the hand closes across it at its seen mid-height, its approach tilted about the axis from
-90 to +90 degrees (0: straight down), with the contacts at each of the planner's pad offsets. For each tilt: how
many poses are free (no seen point in the palm or fingers, by the planner's :class:`HandChecker` against the same
obstacle points as :func:`plan_grasps`, and the hand above the table), and for the pose nearest to free the points
in its palm and fingers and its lowest point. A tilt where no pose is free at any station is one the planner cannot
find a grasp at, however it samples.

    python bench/bench_hand_tilts.py --scene bin --object 7 [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from dff_grasp_ros.errors import one_line
from dff_grasp_ros.grasp.antipodal import friction_cone_cosine
from dff_grasp_ros.grasp.frames import tcp_rotation
from dff_grasp_ros.grasp.hand_check import HandChecker
from dff_grasp_ros.grasp.planner import obstacles_near_object
from dff_grasp_ros.query.pipeline import QueryParams, plan_query
from dff_grasp_ros.synthetic.catalog import load_scene
from dff_grasp_ros.synthetic.clearing import World, ideal_prepared, object_prompts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_clear_bin import synthetic_encoder

TILTS_DEG = tuple(range(-90, 91, 10))
STATIONS = 5


def tilt_table(scene_name: str, object_id: int, params: QueryParams) -> dict:
    """Per tilt of the approach about the object's long axis: how many of its poses (stations x pad offsets) are
    free, and the pose nearest to free (fewest seen points in the hand, then the highest lowest point)."""
    world = World(scene_name)
    prompt = dict(object_prompts(world.original))[object_id]
    world.present = [object_id]
    prepared = ideal_prepared(world.scene())
    answer = plan_query(prepared, synthetic_encoder, prompt, params)
    if answer.object_mask is None or not answer.object_mask.any():
        raise ValueError(f"{prompt!r} was not found alone in {scene_name}: {answer.message}")
    object_mask = answer.object_mask[prepared.valid_rows_of_scene()]  # the answer's rows -> the scene points
    grasp = params.grasp
    gripper = grasp.gripper
    points_m = prepared.points_m.astype(np.float64)
    local_points, held = obstacles_near_object(points_m, object_mask.astype(float), object_mask, object_mask, grasp,
                                               prepared.obstacles)
    checker = HandChecker(gripper, local_points, held, grasp.clearance_cap_m, approach_m=grasp.standoff_m,
                          min_face_cosine=friction_cone_cosine(grasp.friction_coefficient))
    seen = points_m[object_mask]
    middle = seen.mean(axis=0)
    flat = seen[:, :2] - middle[:2]
    axis_xy = np.linalg.svd(flat, full_matrices=False)[2][0]
    axis = np.r_[axis_xy, 0.0]
    across = np.r_[-axis_xy[1], axis_xy[0], 0.0]
    along = flat @ axis_xy
    rows = []
    for tilt_deg in TILTS_DEG:
        tilt = np.radians(tilt_deg)
        approach = np.cos(tilt) * np.array([0.0, 0.0, -1.0]) + np.sin(tilt) * across
        rotation = tcp_rotation(approach, np.cross(approach, axis))
        best, free = None, 0  # the pose nearest to free: fewest points in the hand, then highest above the table
        for station in np.linspace(along.min(), along.max(), STATIONS + 2)[1:-1]:
            near = np.abs(along - station) < 0.01
            if near.sum() < 3:
                continue
            section = seen[near]
            width = float(np.ptp(section @ np.cross(approach, axis)))
            centre = middle + axis * station
            centre[2] = 0.5 * (section[:, 2].min() + section[:, 2].max())
            opening = float(gripper.opening_for(width))
            for offset in grasp.pad_offsets:
                position = centre - approach * offset * gripper.pad_length_m
                checks = checker.check(rotation[None], position[None], np.array([opening]))
                lowest = gripper.lowest_point_z_m(rotation, position, opening)
                in_palm, in_hand = int(checks.palm_colliding[0]), int(checks.colliding[0])
                above_table = grasp.table_z_m is None or lowest >= grasp.table_z_m + grasp.table_clearance_m
                free += int(in_hand == 0 and above_table)
                pose = (in_hand, -lowest, {"station_m": round(float(station), 3), "pad_offset": offset,
                                           "palm_points": in_palm, "finger_points": in_hand - in_palm,
                                           "lowest_point_m": round(lowest, 4)})
                if best is None or pose[:2] < best[:2]:
                    best = pose
        rows.append({"tilt_deg": tilt_deg, "free_poses": free, "nearest_to_free": best[2]})
    return {"scene": scene_name, "object": prompt, "object_points": int(object_mask.sum()),
            "axis_xy": np.round(axis_xy, 3).tolist(), "positive_tilt_towards_xy": np.round(across[:2], 3).tolist(),
            "stations": STATIONS,
            "pad_offsets": list(grasp.pad_offsets), "tilts": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene", default="bin")
    parser.add_argument("--object", type=int, required=True, help="the object's index in the scene file")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    try:
        count = len(load_scene(args.scene).objects)
    except ValueError as err:
        print(f"bench_hand_tilts: --scene {args.scene}: {one_line(err)}", file=sys.stderr)
        return 2
    if not 0 <= args.object < count:
        print(f"bench_hand_tilts: --object {args.object}: scene {args.scene!r} has objects 0-{count - 1}",
              file=sys.stderr)
        return 2
    try:
        table = tilt_table(args.scene, args.object, QueryParams())
    except ValueError as err:  # the object not found alone (a scene whose ideal cloud the query cannot read)
        print(f"bench_hand_tilts: {one_line(err)}", file=sys.stderr)
        return 2
    print(f"{table['scene']}: {table['object']} alone ({table['object_points']} points), the hand across its long axis "
          f"{table['axis_xy']}; a positive tilt leans the approach towards {table['positive_tilt_towards_xy']}")
    print("tilt  free poses  | the pose nearest to free: station (m)  palm pts  finger pts  lowest z (mm)")
    for row in table["tilts"]:
        pose = row["nearest_to_free"]
        print(f"{row['tilt_deg']:4d}  {row['free_poses']:10d}  | {pose['station_m']:+20.3f}  {pose['palm_points']:8d}  "
              f"{pose['finger_points']:10d}  {1000 * pose['lowest_point_m']:13.1f}")
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
