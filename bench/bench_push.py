"""Push the bin's orange screwdriver off the tote wall in physics (``synthetic.physics.execute_push``): the wall
time of one push, and which hand poses around the measured one still push it (for a push planner).

The bin as the clearing loop leaves it once the knife, the spatula and the white box are out (``--keep-white-box``:
with the box). The hand: fingers closed, closing axis along the base x, approach tilted ``tilt`` about x so the palm
leans over the screwdriver, off the wall; the stroke towards +y.

    python bench/bench_push.py                       # the measured pose, 10 timed runs, then the sweep
    python bench/bench_push.py --runs 3 --no-sweep
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dff_grasp_ros.synthetic.clearing import World
from dff_grasp_ros.synthetic.physics import execute_push, physics_scene

SCREWDRIVER, WHITE_BOX, KNIFE, SPATULA = 7, 4, 6, 8  # ids in bin.yaml
# The measured pose (test/test_physics_push.py builds it from the ground truth): TCP at the handle's middle along x,
# the tilted fingers 3 mm off the wall, their tips 7 mm above the floor.
BASE = {"tilt_deg": 25.0, "x_m": -0.0678, "y_m": -0.1437, "tip_m": 0.007, "speed_m_s": 0.05, "standoff_m": 0.04,
        "stroke_m": 0.06}
SWEEP = {"tilt_deg": (15, 20, 24, 26, 28, 30, 35), "y_m": (-0.1457, -0.1447, -0.1427, -0.1417),
         "tip_m": (0.002, 0.004, 0.010, 0.013, 0.016, 0.020), "x_m": (-0.10, -0.09, -0.08, -0.05, -0.04, -0.03),
         "speed_m_s": (0.02, 0.1, 0.2, 0.3), "standoff_m": (0.03, 0.05, 0.06, 0.10), "stroke_m": (0.03, 0.04, 0.08)}


def tilted_rotation(tilt_deg: float) -> np.ndarray:
    """TCP frame: closing axis (y) along the base x, approach (z) down and tilted towards -y (the wall)."""
    c, s = np.cos(np.radians(tilt_deg)), np.sin(np.radians(tilt_deg))
    return np.column_stack([(0.0, c, -s), (1.0, 0.0, 0.0), (0.0, -s, -c)])


def run_push(scene, object_id: int, tilt_deg: float, x_m: float, y_m: float, tip_m: float, speed_m_s: float,
             standoff_m: float, stroke_m: float):
    """One push from the parameters; (execution, rotation, pre, start, end)."""
    from dff_grasp_ros.grasp.gripper import ParallelJawGripper

    rotation = tilted_rotation(tilt_deg)
    start = np.array([x_m, y_m, tip_m - ParallelJawGripper().lowest_point_z_m(rotation, np.zeros(3), 0.0)])
    pre, end = start - standoff_m * rotation[:, 2], start + [0.0, stroke_m, 0.0]
    execution = execute_push(scene, object_id, rotation, pre, start, end, record=False, speed_m_s=speed_m_s)
    return execution, rotation, pre, start, end


def describe(execution, object_id: int) -> str:
    return (f"{execution.outcome:9s} moved {execution.moved_m[object_id] * 100:4.1f} cm, yaw "
            f"{execution.final_pose[object_id][2]:5.1f} deg, tilt {execution.asked_tilt_deg:4.1f} deg: "
            f"{execution.message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs of the measured pose")
    parser.add_argument("--no-sweep", action="store_true", help="skip the sweep around the measured pose")
    parser.add_argument("--keep-white-box", action="store_true", help="leave the white box in the tote")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    world = World("bin")
    world.remove([KNIFE, SPATULA] + ([] if args.keep_white_box else [WHITE_BOX]))
    scene, object_id = world.scene(), world.present.index(SCREWDRIVER)
    started = time.monotonic()
    physics_scene(scene)
    print(f"compile and settle the scene (once): {time.monotonic() - started:.3f} s")
    walls = []
    for _ in range(args.runs):
        started = time.monotonic()
        execution, rotation, pre, start, end = run_push(scene, object_id, **BASE)
        walls.append(time.monotonic() - started)
    print(f"one push: wall median {np.median(walls):.3f} s (min {min(walls):.3f}, max {max(walls):.3f}, "
          f"{args.runs} runs), simulated {execution.sim_time_s:.2f} s")
    print(f"rotation {np.round(rotation, 4).tolist()}\npre {np.round(pre, 4).tolist()} start "
          f"{np.round(start, 4).tolist()} end {np.round(end, 4).tolist()}")
    print("measured pose:", describe(execution, object_id))
    if args.no_sweep:
        return
    for name, values in SWEEP.items():
        for value in values:
            execution = run_push(scene, object_id, **{**BASE, name: value})[0]
            print(f"{name} = {value}: {describe(execution, object_id)}")


if __name__ == "__main__":
    main()
