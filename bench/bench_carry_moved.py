"""Scene updates after a push: is a moved object carried to where it lies now, and only then? What it costs.

For each object of each scene (its ideal cloud served): the object is *picked* (taken out of the world) and,
separately, *pushed* by each of PUSHES (moved on the table and turned; moves the scene's own checks refuse, such
as into a neighbour, are skipped). The overview view of the changed world is carved into the served cloud.
A pick must carry nothing; a push counts as *carried right* when one object is carried and at least 90% of its
carried points lie within the judge's LABEL_TOLERANCE_M of the pushed object's surface where it lies now (its
ground-truth points: not the nearest object's label, since the scene's checks let a moved object reach into a
neighbour a little), *wrong* when anything else is carried, *not carried* otherwise (safe: the object is refused
as not found, as before).
The update time is the least of ``--repeats`` carvings, with carrying on and off (the difference is its cost).

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_carry_moved.py --scene bin bin_clutter two_mugs
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
from scipy.spatial import cKDTree

from dff_grasp_ros.carry import CarryParams
from dff_grasp_ros.carving import CarvingParams, carve_prepared
from dff_grasp_ros.synthetic import ground_truth, load_scene, scene_intrinsics
from dff_grasp_ros.synthetic.cameras import overview_pose
from dff_grasp_ros.synthetic.clearing import ideal_prepared
from dff_grasp_ros.synthetic.judge import LABEL_TOLERANCE_M, GroundTruthPoints
from dff_grasp_ros.synthetic.render import render_view
from dff_grasp_ros.synthetic.spec import Scene

# (dx m, dy m, dyaw deg): a push moves an object 5-7 cm and turns it a few degrees
PUSHES = [(0.06, 0.0, 5.0), (-0.06, 0.0, -4.0), (0.0, 0.06, 3.0), (0.0, -0.06, -6.0), (0.04, 0.03, 8.0)]


def changed(scene: Scene, index: int, move: tuple[float, float, float] | None) -> Scene:
    """``scene`` with object ``index`` picked (``move`` None) or moved and turned by ``move``."""
    objects = list(scene.objects)
    if move is None:
        del objects[index]
    else:
        o = objects[index]
        objects[index] = replace(o, position_m=(o.position_m[0] + move[0], o.position_m[1] + move[1]),
                                 yaw_deg=o.yaw_deg + move[2])
    return load_scene(replace(scene, objects=tuple(objects)))


def timed_update(prepared, scene: Scene, after: Scene, params: CarvingParams, repeats: int):
    pose = overview_pose(after, also=(scene,))
    view = render_view(after, scene_intrinsics(after), pose)
    best, carved = np.inf, None
    for _ in range(repeats):
        started = time.perf_counter()
        carved = carve_prepared(prepared, view.depth_m, view.rgb, scene_intrinsics(after), pose, params)
        best = min(best, time.perf_counter() - started)
    return carved, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", nargs="+", default=["bin", "bin_clutter", "two_mugs"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    on, off = CarvingParams(), CarvingParams(carry=CarryParams(enabled=False))
    report = {}
    for name in args.scene:
        scene = load_scene(name)
        prepared = ideal_prepared(scene)
        picks = {"picks": 0, "carried": 0, "update_s_carry_on": [], "update_s_carry_off": []}
        pushes = {"pushes": 0, "carried right": 0, "wrong": 0, "not carried": 0, "update_s_carried": []}
        for index, obj in enumerate(scene.objects):
            after = changed(scene, index, None)
            carved, with_carry = timed_update(prepared, scene, after, on, args.repeats)
            _, without = timed_update(prepared, scene, after, off, args.repeats)
            picks["picks"] += 1
            picks["carried"] += len(carved.carried)
            picks["update_s_carry_on"].append(with_carry)
            picks["update_s_carry_off"].append(without)
            for move in PUSHES:
                try:
                    after = changed(scene, index, move)
                except ValueError:  # into a neighbour or out of the scene: no push does that
                    continue
                carved, seconds = timed_update(prepared, scene, after, on, 1)
                pushes["pushes"] += 1
                truth = GroundTruthPoints.from_json(ground_truth(after, points_per_part=3000))
                surface = cKDTree(truth.points_m[truth.object_id == index])
                right = len(carved.carried) == 1 and np.mean(surface.query(
                    carved.prepared.cloud.points_m[carved.carried[0].rows])[0] <= LABEL_TOLERANCE_M) >= 0.9
                outcome = "not carried" if not carved.carried else "carried right" if right else "wrong"
                pushes[outcome] += 1
                if carved.carried:
                    pushes["update_s_carried"].append(seconds)
                print(f"{name} {obj.color} {obj.type} pushed {move}: {outcome} "
                      f"{[c.describe() for c in carved.carried]} {seconds * 1000:.0f} ms", flush=True)
        for part in (picks, pushes):
            for key in [k for k in part if k.startswith("update_s")]:
                values = np.array(part[key])
                part[key] = {"median": round(float(np.median(values)), 3), "max": round(float(values.max()), 3)} \
                    if len(values) else None
        report[name] = {"picks": picks, "pushes": pushes}
        print(json.dumps({name: report[name]}), flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
