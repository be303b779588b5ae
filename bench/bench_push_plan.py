"""The push planner on a scene's ideal cloud: the plan (or the reason there is none) for one object, and what it
costs. The planner runs after a refusal ("no collision-free grasp"), so it must be cheap.

The object is found by the ground truth (each ideal-cloud point knows its object), not by a query: this measures
the planner alone. ``--alone`` leaves the object alone in its scene (the table and tote kept, every other object
taken out), as the clearing loop finds it once its neighbours are gone.

    python bench/bench_push_plan.py --scene bin --object 7 --alone [--repeats 21]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.push import PushParams, PushResult, plan_push
from dff_grasp_ros.query.pipeline import prepare_query_cloud
from dff_grasp_ros.query.prepared import PreparedCloud
from dff_grasp_ros.synthetic import ground_truth
from dff_grasp_ros.synthetic.clearing import World
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth
from dff_grasp_ros.synthetic.judge import EVALUATION_POINTS_PER_PART


def cloud_with_object_ids(scene_name: str, present: list[int] | None = None) -> tuple[PreparedCloud, np.ndarray]:
    """The query-ready ideal cloud of ``scene_name`` with the objects ``present`` (original ids; all by default),
    and per scene point the original id of the object it lies on (-1: tote)."""
    world = World(scene_name)
    if present is not None:
        world.present = present
    truth = ground_truth(world.scene(), points_per_part=EVALUATION_POINTS_PER_PART)
    prepared = prepare_query_cloud(scene_cloud_from_ground_truth(truth))
    # The ideal cloud lists each object's part points in order, then the tote and the table.
    ids = np.concatenate([np.full(sum(len(p["points"]) for p in obj["parts"].values()), original)
                          for obj, original in zip(truth["objects"], world.present)])
    rows = prepared.valid_rows_of_scene()
    return prepared, np.where(rows < len(ids), ids[np.minimum(rows, len(ids) - 1)], -1)


def timed_push(prepared: PreparedCloud, object_mask: np.ndarray, repeats: int,
               params: PushParams | None = None) -> tuple[PushResult, list[float]]:
    """The push for ``object_mask`` and the run time (s) of each of ``repeats`` calls."""
    gripper, seconds = ParallelJawGripper(), []
    for _ in range(repeats):
        started = time.perf_counter()
        result = plan_push(prepared.points_m, object_mask, prepared.obstacles, 0.0, gripper, params)
        seconds.append(time.perf_counter() - started)
    return result, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene", default="bin")
    parser.add_argument("--object", type=int, required=True, help="the object's index in the scene file")
    parser.add_argument("--alone", action="store_true", help="take every other object out first")
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    if args.repeats < 1:
        print(f"bench_push_plan: --repeats must be at least 1, got {args.repeats}", file=sys.stderr)
        return 2
    try:
        prepared, ids = cloud_with_object_ids(args.scene, [args.object] if args.alone else None)
    except (ValueError, IndexError) as err:
        print(f"bench_push_plan: --scene {args.scene} --object {args.object}: {err}", file=sys.stderr)
        return 2
    result, seconds = timed_push(prepared, ids == args.object, args.repeats)
    print(f"{args.scene} object {args.object}{' alone' if args.alone else ''}: {int((ids == args.object).sum())} "
          f"points; plan_push median {1000 * np.median(seconds):.1f} ms, max {1000 * max(seconds):.1f} ms "
          f"over {args.repeats} calls")
    plan = result.plan
    if plan is None:
        print(f"no push: {result.reason}")
        return 0
    print(f"rotation (columns x, y closing, z approach): {np.round(plan.rotation, 3).tolist()}")
    for name in ("pre_push_position_m", "start_position_m", "end_position_m"):
        print(f"{name}: {np.round(getattr(plan, name), 4).tolist()}")
    print(f"stroke {100 * plan.distance_m:.1f} cm, object travel {100 * plan.object_travel_m:.1f} cm, tilt "
          f"{plan.tilt_deg:.0f} deg, contact {100 * plan.contact_offset_m:+.1f} cm from the centroid along it (+: left "
          f"of the push); away from {plan.away_from}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
