"""Execute one push in physics and say what happened: the parallel-jaw hand, fingers closed, as a pusher.

The hand starts at the pre-push pose with its fingers closed, moves straight along its approach axis (+z of the
TCP frame) to the start at the grasp approach's speed, moves the TCP straight to the end at PUSH_SPEED_M_S (unless
told another speed), backs out along -z as far as it descended, and the world settles for SETTLE_S. The outcome is
one of :data:`PUSH_OUTCOMES`:

- ``collided``: the hand touched anything but the asked object (the table, a tote wall, a neighbour) before or
  during the stroke, or pushed the asked object more than 2 cm while descending; the run stops there, as a
  robot's collision guard would. (The asked object pressing a neighbour is not the hand's touch.)
- ``toppled``: the asked object no longer lies as the scene can say (x, y, yaw): tilted more than TILT_LIMIT_DEG
  (an object in :data:`ROLL_AXIS_Z_M` may roll about its axis freely: rolled, its shape is the same);
- ``disturbed``: another object moved more than DISTURBED_M;
- ``pushed``: the asked object's centre of mass moved at least PUSHED_FRACTION of the stroke;
- ``missed``: it moved less.

:func:`pushed_scene` is the scene after a push: the moved objects at the poses physics left them in.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.suction_cup import PARALLEL_JAW
from dff_grasp_ros.synthetic.catalog import load_scene
from dff_grasp_ros.synthetic.physics.execute import Run, Snapshot, checked_pose, steps_for
from dff_grasp_ros.synthetic.physics.model import physics_scene
from dff_grasp_ros.synthetic.spec import Scene

PUSH_OUTCOMES = ("pushed", "missed", "toppled", "collided", "disturbed")
PUSH_SPEED_M_S = 0.05  # a slow, steady stroke: the object slides or rolls ahead of the fingers, never flies
SETTLE_S = 1.0  # after backing out: what still rolls comes to rest
PUSHED_FRACTION = 0.5  # of the stroke, the asked object's centre must move for "pushed"
DISTURBED_M = 0.01  # another object moved further: "disturbed"
TILT_LIMIT_DEG = 10.0  # the asked object tilted further from lying as the scene YAML can say: "toppled"
ORTHONORMAL_TOLERANCE = 1e-6
# Objects whose shape is the same turned about an axis parallel to their own x, at this height in their frame:
# they may roll about it and still lie as the scene says. The screwdriver's handle and shaft are coaxial cylinders
# along its x at z = 16 mm (synthetic/objects.py); a knife's blade or a spatula's head is flat, so not them.
ROLL_AXIS_Z_M: dict[str, float] = {"screwdriver": 0.016}


@dataclass(frozen=True)
class PushExecution:
    """What happened when one push was executed."""

    outcome: str
    asked_object_id: int
    message: str
    final_pose: tuple[tuple[float, float, float], ...]  # per object (x_m, y_m, yaw_deg) as a scene YAML holds it
    moved_m: tuple[float, ...]  # per object, how far its centre of mass is from where it rested
    asked_tilt_deg: float  # the asked object's tilt from lying as the scene can say
    touched: tuple[str, ...]  # what the hand touched besides the asked object (collided only)
    stroke_m: float  # |end - start|
    sim_time_s: float
    wall_time_s: float
    snapshots: tuple[Snapshot, ...] = field(default=(), repr=False)  # approach, pushed, settled
    end_effector: str = PARALLEL_JAW  # for draw_execution_strip

    @property
    def pushed(self) -> bool:
        return self.outcome == "pushed"

    def to_json(self) -> dict[str, Any]:
        return {"success": True, "outcome": self.outcome, "message": self.message,
                "asked_object_id": self.asked_object_id,
                "final_pose": [[round(x, 4), round(y, 4), round(yaw, 2)] for x, y, yaw in self.final_pose],
                "moved_m": [round(m, 4) for m in self.moved_m], "asked_tilt_deg": round(self.asked_tilt_deg, 2),
                "touched": list(self.touched), "stroke_m": round(self.stroke_m, 4),
                "sim_time_s": round(self.sim_time_s, 3), "wall_time_s": round(self.wall_time_s, 3),
                "end_effector": self.end_effector}


def lying_pose(kind: str, object_to_base: np.ndarray) -> tuple[tuple[float, float, float], float]:
    """((x_m, y_m, yaw_deg), tilt_deg) of an object of type ``kind`` at ``object_to_base`` (4, 4): the nearest pose
    a scene YAML can hold, and how far the object is tilted from it. An object of :data:`ROLL_AXIS_Z_M` is first
    turned back about its axis (its roll is no tilt), so the pose keeps its axis where physics left it."""
    rotation, position = object_to_base[:3, :3], object_to_base[:3, 3]
    yaw = float(np.arctan2(rotation[1, 0], rotation[0, 0]))
    if kind in ROLL_AXIS_Z_M:
        # Tilt: the axis's pitch out of the horizontal. Position: the axis point over the frame's origin, less
        # its height, in the unrolled (yaw-only) frame.
        tilt = float(np.degrees(np.arcsin(np.clip(abs(rotation[2, 0]), 0.0, 1.0))))
        axis_point = position + rotation @ np.array([0.0, 0.0, ROLL_AXIS_Z_M[kind]])
        position = axis_point - np.array([0.0, 0.0, ROLL_AXIS_Z_M[kind]])
    else:
        tilt = float(np.degrees(np.arccos(np.clip(rotation[2, 2], -1.0, 1.0))))
    return (float(position[0]), float(position[1]), float(np.degrees(yaw))), tilt


def checked_rotation(rotation: np.ndarray) -> np.ndarray:
    """``rotation`` as a (3, 3) array; ValueError unless it is finite, orthonormal and right-handed."""
    rotation = np.asarray(rotation, dtype=np.float64)
    if rotation.shape != (3, 3):
        raise ValueError(f"the push rotation must be a (3, 3) matrix, got shape {rotation.shape}")
    if not np.isfinite(rotation).all():
        raise ValueError("the push rotation must be finite")
    error = float(np.abs(rotation.T @ rotation - np.eye(3)).max())
    if error > ORTHONORMAL_TOLERANCE or np.linalg.det(rotation) < 0:
        raise ValueError(f"the push rotation is not a rotation (|R^T R - I| = {error:.2g}, det "
                         f"{np.linalg.det(rotation):.3f})")
    return rotation


def execute_push(scene: Scene | str, object_id: int, rotation: np.ndarray, pre_push_position_m: np.ndarray,
                 start_position_m: np.ndarray, end_position_m: np.ndarray,
                 gripper: ParallelJawGripper | None = None, record: bool = True,
                 speed_m_s: float = PUSH_SPEED_M_S) -> PushExecution:
    """Execute a push (TCP rotation and positions in base_link, fingers closed) of object ``object_id`` of
    ``scene``, the stroke and the way out at ``speed_m_s``; see the module. ValueError (one line) for an object id
    not in the scene, a pose that is not finite, a rotation that is none, a pre-push ahead of the start along +z,
    no stroke or a speed that is not positive."""
    if not (np.isfinite(speed_m_s) and speed_m_s > 0):
        raise ValueError(f"speed_m_s must be a positive number, got {speed_m_s}")
    gripper = gripper or ParallelJawGripper()
    scene = load_scene(scene)
    rotation = checked_rotation(rotation)
    rotation, start, pre = checked_pose(scene, object_id, rotation, start_position_m, pre_push_position_m)
    end = np.asarray(end_position_m, dtype=np.float64).reshape(3)
    if not np.isfinite(end).all():
        raise ValueError(f"end_position_m must be finite, got {end.tolist()}")
    stroke_m = float(np.linalg.norm(end - start))
    if stroke_m <= 0.0:
        raise ValueError("end_position_m equals start_position_m: a push needs a stroke")
    run = Run(physics_scene(scene, gripper), object_id, record)

    run.place_hand(rotation, pre, 0.0)
    collided = run.approach(pre, start, "pushing")
    if collided is not None:
        return _judged(run, scene, stroke_m, "collided", collided.message, list(collided.touched_before_closing))

    # The stroke, then out along -z as far as it came in; the collision guard watches both.
    for leg, label, (from_m, to_m) in (("the stroke", "pushed", (start, end)),
                                       ("backing out", "backed out", (end, end - (start - pre)))):
        touched, at_m = _guarded_move(run, from_m, to_m, speed_m_s)
        if touched:
            run.snapshot(label)
            return _judged(run, scene, stroke_m, "collided",
                           f"touched {', '.join(touched)} {at_m * 100:.1f} cm into {leg}", touched)
        if label == "pushed":
            run.snapshot(label)
    run.step(steps_for(SETTLE_S))
    run.snapshot("settled")
    return _judged(run, scene, stroke_m, "", "", [])


def _guarded_move(run: Run, from_m: np.ndarray, to_m: np.ndarray, speed_m_s: float) -> tuple[list[str], float]:
    """Move the TCP straight from ``from_m`` to ``to_m`` at ``speed_m_s``, stopping at the hand's first touch of
    anything but the asked object: (what it touched, how far it had moved), ([], distance) when it arrives."""
    distance_m = float(np.linalg.norm(to_m - from_m))
    steps = steps_for(distance_m / speed_m_s)
    for k in range(1, steps + 1):
        run.data.mocap_pos[run.physics.mocap_index] = from_m + (to_m - from_m) * (k / steps)
        run.step()
        touched = run.touched_other()
        if touched:
            return touched, distance_m * k / steps
    return [], distance_m


def push_outcome(moved_m: np.ndarray, asked: int, tilt_deg: float, stroke_m: float,
                 labels: list[str]) -> tuple[str, str]:
    """(outcome, message) of a push the hand finished without a collision: per object how far it moved
    (``moved_m``), the asked object's tilt, the stroke, and the objects' labels for the message."""
    others = [i for i in range(len(moved_m)) if i != asked and moved_m[i] > DISTURBED_M]
    if tilt_deg > TILT_LIMIT_DEG:
        return "toppled", f"the asked object tilted {tilt_deg:.0f} deg (limit {TILT_LIMIT_DEG:.0f})"
    if others:
        return "disturbed", "moved " + ", ".join(f"{labels[i]} {moved_m[i] * 100:.1f} cm" for i in others)
    moved = f"the asked object moved {moved_m[asked] * 100:.1f} cm"
    if moved_m[asked] >= PUSHED_FRACTION * stroke_m:
        return "pushed", f"{moved} ({stroke_m * 100:.1f} cm stroke)"
    return "missed", f"{moved}, under {PUSHED_FRACTION:.0%} of the {stroke_m * 100:.1f} cm stroke"


def _judged(run: Run, scene: Scene, stroke_m: float, outcome: str, message: str,
            touched: list[str]) -> PushExecution:
    """The PushExecution of the world as it is now: ``outcome`` when given (collided), else judged."""
    lying = [lying_pose(obj.type, pose) for obj, pose in zip(scene.objects, run.object_poses())]
    moved = np.linalg.norm(run.com() - run.rest_com, axis=1)
    tilt = lying[run.object_id][1]
    if not outcome:
        labels = [scene.object_label(i) for i in range(len(scene.objects))]
        outcome, message = push_outcome(moved, run.object_id, tilt, stroke_m, labels)
    return PushExecution(outcome, run.object_id, message, tuple(pose for pose, _ in lying),
                         tuple(float(m) for m in moved), tilt, tuple(touched), stroke_m, run.time_s, run.wall_s(),
                         tuple(run.snapshots))


def pushed_scene(scene: Scene | str, execution: PushExecution, moved_at_least_m: float = 0.0) -> Scene:
    """``scene`` after a "pushed" ``execution`` (a checked Scene): every object that moved more than
    ``moved_at_least_m`` at the (x, y, yaw) physics left it in; ValueError for any other outcome or an execution of
    another scene."""
    scene = load_scene(scene)
    if execution.outcome != "pushed":
        raise ValueError(f"the push {execution.outcome}: only a pushed execution changes the scene")
    if len(execution.final_pose) != len(scene.objects):
        raise ValueError(f"the execution has {len(execution.final_pose)} objects, scene {scene.name!r} "
                         f"{len(scene.objects)}: it ran on another scene")
    objects = tuple(
        replace(obj, position_m=(pose[0], pose[1]), yaw_deg=pose[2]) if moved > moved_at_least_m else obj
        for obj, pose, moved in zip(scene.objects, execution.final_pose, execution.moved_m))
    return load_scene(replace(scene, objects=objects).to_dict())
