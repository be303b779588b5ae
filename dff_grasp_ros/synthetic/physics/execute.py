"""Execute one grasp in physics and say what happened (GaussianGrasper's protocol, a floating hand).

The hand starts at the pre-grasp pose with its fingers opened to the answer's opening, moves straight along its
approach axis (+z of the TCP frame) to the grasp pose, closes (force-limited, 70 N per finger), lifts 10 cm and
holds for 3 s. The outcome is one of:

- ``collided``: before closing, the hand touched anything but the asked object (a neighbour, the table, a tote
  wall), or pushed the asked object more than 2 cm; the run stops there, as a robot's collision guard would;
- ``lifted``: at the end the asked object's centre of mass is >= 8 cm above where it rested, and no other object is;
- ``lifted_other``: some other object is >= 8 cm up at the end;
- ``slipped``: the closed fingers held the asked object (touching both pads), but it is not 8 cm up at the end;
- ``missed``: the fingers never held the asked object.

The asked object is given by the caller (from the scene's ground truth and the prompt: :func:`execute_answer`),
never guessed from where the grasp is.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from scipy.spatial.transform import Rotation

from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.suction_cup import PARALLEL_JAW, SUCTION, SuctionCup
from dff_grasp_ros.synthetic.catalog import load_scene, nearest_object
from dff_grasp_ros.synthetic.ground_truth import ground_truth
from dff_grasp_ros.synthetic.judge import (
    AmbiguousTarget,
    answer_end_effector,
    answer_pose,
    answer_pre_grasp,
    asked_target,
    pre_grasp_problem,
)
from dff_grasp_ros.synthetic.physics.model import FINGER_CLOSED_TARGET_M, TIMESTEP_S, PhysicsScene, physics_scene
from dff_grasp_ros.synthetic.spec import Scene

OUTCOMES = ("lifted", "slipped", "missed", "collided", "lifted_other")
APPROACH_SPEED_M_S = 0.1  # a careful final approach of an arm
FINGER_SPEED_M_S = 0.05  # per finger, about a Franka hand's closing speed
SQUEEZE_S = 0.2  # after the finger target reaches closed: the grip force builds up
LIFT_M = 0.10
LIFT_SPEED_M_S = 0.1
HOLD_S = 3.0
LIFTED_M = 0.08  # rise of the centre of mass that counts as lifted
PUSH_LIMIT_M = 0.02  # the asked object moved further than this before closing: a collision
DEFAULT_STANDOFF_M = 0.10


@dataclass(frozen=True)
class Snapshot:
    """The world at one moment, for pictures: every object's pose and the hand's."""

    label: str
    time_s: float  # since the hand started at the pre-grasp pose
    object_to_base: np.ndarray  # (N, 4, 4)
    hand_to_base: np.ndarray  # (4, 4) TCP frame
    opening_m: float  # distance between the fingers' inner faces


@dataclass(frozen=True)
class Execution:
    """What happened when one grasp was executed."""

    outcome: str
    asked_object_id: int
    message: str
    rise_m: tuple[float, ...]  # per object, centre-of-mass height at the end minus at rest
    asked_push_m: float  # how far the asked object moved before closing
    touched_before_closing: tuple[str, ...]  # what the hand touched before closing, besides the asked object
    held_after_closing: bool
    closed_opening_m: float  # finger gap when closed (0 = closed on nothing)
    sim_time_s: float
    wall_time_s: float
    snapshots: tuple[Snapshot, ...] = field(default=(), repr=False)
    # What executed it; with a suction cup, "closing" is the vacuum coming on, "held" a sealed lip, the opening 0.
    end_effector: str = PARALLEL_JAW

    @property
    def lifted(self) -> bool:
        return self.outcome == "lifted"

    def to_json(self) -> dict[str, Any]:
        return {"success": True, "outcome": self.outcome, "message": self.message,
                "asked_object_id": self.asked_object_id, "rise_m": [round(r, 4) for r in self.rise_m],
                "asked_push_m": round(self.asked_push_m, 4),
                "touched_before_closing": list(self.touched_before_closing),
                "held_after_closing": self.held_after_closing, "closed_opening_m": round(self.closed_opening_m, 4),
                "sim_time_s": round(self.sim_time_s, 3), "wall_time_s": round(self.wall_time_s, 3),
                "end_effector": self.end_effector}


def _pose(rotation: np.ndarray, position_m: np.ndarray) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = rotation, position_m
    return pose


def _wxyz(rotation: np.ndarray) -> np.ndarray:
    x, y, z, w = Rotation.from_matrix(rotation).as_quat()
    return np.array([w, x, y, z])


class Run:
    """One execution's MjData and bookkeeping."""

    def __init__(self, physics: PhysicsScene, object_id: int, record: bool) -> None:
        self.physics, self.model, self.record, self.object_id = physics, physics.model, record, object_id
        self.started = time.monotonic()
        self.data = copy.copy(physics.template_data)
        self.asked_body = physics.object_bodies[object_id]
        self.hand_geoms = np.asarray(physics.hand_geoms)
        self.finger_geoms = self.hand_geoms[1:]
        self.snapshots: list[Snapshot] = []
        self.rest_com = self.com()
        self.start_time_s = float(self.data.time)  # the template's clock has run through the settling
        self.before_step: Callable[[], None] | None = None  # e.g. the vacuum's force, set anew every step

    @property
    def time_s(self) -> float:
        """Seconds since the hand started at the pre-grasp pose."""
        return float(self.data.time) - self.start_time_s

    def com(self) -> np.ndarray:
        return self.data.xipos[list(self.physics.object_bodies)].copy()

    def place_hand(self, rotation: np.ndarray, position_m: np.ndarray, half_opening_m: float) -> None:
        import mujoco

        quat = _wxyz(rotation)
        address = self.physics.hand_qpos_address
        self.data.qpos[address:address + 3], self.data.qpos[address + 3:address + 7] = position_m, quat
        self.data.qvel[self.physics.hand_qvel_address:self.physics.hand_qvel_address + 6] = 0.0
        self.data.mocap_pos[self.physics.mocap_index], self.data.mocap_quat[self.physics.mocap_index] = position_m, quat
        for joint, actuator in zip(self.physics.finger_joints, self.physics.finger_actuators):
            self.data.qpos[self.model.jnt_qposadr[joint]] = half_opening_m
            self.data.ctrl[actuator] = half_opening_m
        mujoco.mj_forward(self.model, self.data)

    def step(self, count: int = 1) -> None:
        import mujoco

        if self.before_step is None:
            mujoco.mj_step(self.model, self.data, nstep=count)
            return
        for _ in range(count):
            self.before_step()
            mujoco.mj_step(self.model, self.data)

    def wall_s(self) -> float:
        """Wall-clock seconds since the run was set up."""
        return time.monotonic() - self.started

    def object_poses(self) -> np.ndarray:
        """(N, 4, 4) every object's frame in the base frame now."""
        bodies = list(self.physics.object_bodies)
        poses = np.tile(np.eye(4), (len(bodies), 1, 1))
        poses[:, :3, :3] = self.data.xmat[bodies].reshape(-1, 3, 3)
        poses[:, :3, 3] = self.data.xpos[bodies]
        return poses

    def push_m(self) -> float:
        """How far the asked object's centre of mass is from where it rested."""
        return float(np.linalg.norm(self.com()[self.object_id] - self.rest_com[self.object_id]))

    def execution(self, outcome: str, message: str, push_m: float, touched: list[str], held: bool,
                  closed_m: float) -> Execution:
        rise = self.com()[:, 2] - self.rest_com[:, 2]
        return Execution(outcome, self.object_id, message, tuple(float(r) for r in rise), push_m, tuple(touched),
                         held, closed_m, self.time_s, self.wall_s(), tuple(self.snapshots),
                         SUCTION if isinstance(self.physics.gripper, SuctionCup) else PARALLEL_JAW)

    def approach(self, pre: np.ndarray, position_m: np.ndarray, closing: str) -> Execution | None:
        """Straight from the pre-grasp pose to the grasp pose: the collided Execution at the first touch of
        anything but the asked object (or a push of it past PUSH_LIMIT_M), None when it arrives cleanly."""
        distance = float(np.linalg.norm(position_m - pre))
        steps = steps_for(distance / APPROACH_SPEED_M_S)
        for k in range(steps + 1):
            if k:
                self.data.mocap_pos[self.physics.mocap_index] = pre + (position_m - pre) * (k / steps)
                self.step()
            touched, push = self.touched_other(), self.push_m()
            if touched or push > PUSH_LIMIT_M:
                self.snapshot("approach")
                why = (f"touched {', '.join(touched)} before {closing}" if touched
                       else f"pushed the asked object {push * 100:.1f} cm before {closing}")
                return self.execution("collided", why, push, touched, False, self.opening_m())
        self.snapshot("approach")
        return None

    def lift_and_judge(self, push_m: float, held: bool, closed_m: float, how: str, missed: str) -> Execution:
        """Lift LIFT_M, hold HOLD_S, and say what rose; ``how`` says how it held ("closed on", "sealed on"),
        ``missed`` why it did not."""
        grasp_at = self.data.mocap_pos[self.physics.mocap_index].copy()
        lift_steps = steps_for(LIFT_M / LIFT_SPEED_M_S)
        for k in range(1, lift_steps + 1):
            self.data.mocap_pos[self.physics.mocap_index] = grasp_at + [0.0, 0.0, LIFT_M * k / lift_steps]
            self.step()
        self.step(steps_for(HOLD_S))
        self.snapshot("lifted")

        rise = self.com()[:, 2] - self.rest_com[:, 2]
        asked = self.object_id
        others = [i for i in range(len(rise)) if i != asked and rise[i] >= LIFTED_M]
        if others:
            names = ", ".join(self.physics.scene.object_label(i) for i in others)
            return self.execution("lifted_other", f"lifted {names} (asked object rose {rise[asked] * 100:.1f} cm)",
                                  push_m, [], held, closed_m)
        if rise[asked] >= LIFTED_M:
            return self.execution("lifted", f"held the asked object {rise[asked] * 100:.1f} cm up for {HOLD_S:.0f} s",
                                  push_m, [], held, closed_m)
        if held:
            return self.execution("slipped", f"{how} the asked object, but it ended {rise[asked] * 100:.1f} cm up",
                                  push_m, [], held, closed_m)
        return self.execution("missed", missed, push_m, [], held, closed_m)

    def set_fingers(self, target_m: float) -> None:
        self.data.ctrl[list(self.physics.finger_actuators)] = target_m

    def hand_contacts(self) -> list[tuple[int, int]]:
        """(hand geom, other geom) of every contact of the hand."""
        count = self.data.ncon
        if count == 0:
            return []
        pairs = np.asarray(self.data.contact.geom[:count])
        out = []
        for first, second in pairs:
            if first in self.hand_geoms and second not in self.hand_geoms:
                out.append((int(first), int(second)))
            elif second in self.hand_geoms and first not in self.hand_geoms:
                out.append((int(second), int(first)))
        return out

    def touched_other(self) -> list[str]:
        """Names of what the hand touches besides the asked object: "table", "tote wall", "#3 green bottle"."""
        names = []
        for _, other in self.hand_contacts():
            body = int(self.model.geom_bodyid[other])
            if body != self.asked_body:
                names.append(thing_name(self.physics, other))
        return sorted(set(names))

    def holds_asked(self) -> bool:
        fingers = {hand for hand, other in self.hand_contacts()
                   if hand in self.finger_geoms and int(self.model.geom_bodyid[other]) == self.asked_body}
        return len(fingers) == 2

    def opening_m(self) -> float:
        return float(sum(self.data.qpos[self.model.jnt_qposadr[j]] for j in self.physics.finger_joints))

    def snapshot(self, label: str) -> None:
        if not self.record:
            return
        hand = _pose(self.data.xmat[self.physics.hand_body].reshape(3, 3), self.data.xpos[self.physics.hand_body])
        self.snapshots.append(Snapshot(label, self.time_s, self.object_poses(), hand, self.opening_m()))


def thing_name(physics: PhysicsScene, geom: int) -> str:
    model = physics.model
    body = int(model.geom_bodyid[geom])
    if body in physics.object_bodies:
        return physics.scene.object_label(physics.object_bodies.index(body))
    name = model.geom(geom).name
    return "tote wall" if name.startswith("tote_wall") else name or "world"


def steps_for(duration_s: float) -> int:
    return max(1, int(round(duration_s / TIMESTEP_S)))


def execute_grasp(scene: Scene | str, object_id: int, rotation: np.ndarray, position_m: np.ndarray,
                  opening_m: float, pre_grasp_position_m: np.ndarray | None = None,
                  gripper: ParallelJawGripper | None = None, record: bool = True) -> Execution:
    """Execute a grasp (TCP pose in base_link, opening) on object ``object_id`` of ``scene``; see the module.

    ``gripper``: the hand's dimensions (default: the query node's defaults, a Franka-like hand); ``record``: keep
    snapshots for pictures.
    """
    gripper = gripper or ParallelJawGripper()
    scene = load_scene(scene)
    rotation, position_m, pre = checked_pose(scene, object_id, rotation, position_m, pre_grasp_position_m)
    half_opening = float(np.clip(opening_m / 2, 0.0, gripper.max_opening_m / 2))
    run = Run(physics_scene(scene, gripper), object_id, record)

    # Approach: straight from the pre-grasp pose to the grasp pose, fingers open; any touch but the asked object's
    # (or pushing it) ends the run.
    run.place_hand(rotation, pre, half_opening)
    collided = run.approach(pre, position_m, "closing")
    if collided is not None:
        return collided
    push = run.push_m()

    # Close: the finger target runs to past closed at finger speed, then the grip force builds up.
    close_steps = steps_for((half_opening - FINGER_CLOSED_TARGET_M) / FINGER_SPEED_M_S)
    for k in range(1, close_steps + 1):
        run.set_fingers(half_opening + (FINGER_CLOSED_TARGET_M - half_opening) * k / close_steps)
        run.step()
    run.step(steps_for(SQUEEZE_S))
    held, closed_m = run.holds_asked(), run.opening_m()
    run.snapshot("closed")
    return run.lift_and_judge(push, held, closed_m, "closed on",
                              f"the fingers closed to {closed_m * 1000:.0f} mm without holding the asked object")


def checked_pose(scene: Scene, object_id: int, rotation: np.ndarray, position_m: np.ndarray,
                 pre_grasp_position_m: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rotation, position, pre-grasp position) as arrays, the pre-grasp DEFAULT_STANDOFF_M back along the approach
    when not given; ValueError for an object id not in the scene, a pose that is not finite or a pre-grasp ahead of
    the grasp (:func:`~dff_grasp_ros.synthetic.judge.pre_grasp_problem`)."""
    if not 0 <= object_id < len(scene.objects):
        raise ValueError(f"object id {object_id} is not in scene {scene.name!r} ({len(scene.objects)} objects)")
    rotation = np.asarray(rotation, dtype=np.float64).reshape(3, 3)
    position_m = np.asarray(position_m, dtype=np.float64).reshape(3)
    pre = (position_m - DEFAULT_STANDOFF_M * rotation[:, 2] if pre_grasp_position_m is None
           else np.asarray(pre_grasp_position_m, dtype=np.float64).reshape(3))
    if not (np.isfinite(rotation).all() and np.isfinite(position_m).all() and np.isfinite(pre).all()):
        raise ValueError("the grasp pose must be finite")
    problem = pre_grasp_problem(rotation, position_m, pre)
    if problem:
        raise ValueError(problem)
    return rotation, position_m, pre


def execute_answer(scene: Scene | str, answer: dict[str, Any], prompt: str | None = None,
                   truth: dict[str, Any] | None = None, gripper: ParallelJawGripper | None = None,
                   record: bool = True, cup: SuctionCup | None = None) -> Execution:
    """Execute the grasp of an answer's JSON (``dff-grasp ask/query --json``) on the object its prompt names, with
    the end effector it names (``gripper`` or ``cup``: their dimensions, default the query node's).

    The prompt is ``prompt``, else the answer's ``"prompt"`` (the demo writes it); the asked object comes from the
    scene's ground truth (``truth``, computed when not given) and the prompt, never from where the grasp is.
    Raises ValueError with one line when the answer has no grasp, the prompt is missing, names no object of the
    scene, or names several, or an end effector that is neither a parallel-jaw hand nor a suction cup.
    """
    scene = load_scene(scene)
    prompt = prompt or (answer.get("prompt") if isinstance(answer, dict) else None)
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("no prompt to say which object is asked for: the answer JSON has no 'prompt'; pass --prompt")
    rotation, position_m, opening_m = answer_pose(answer)
    try:
        object_id, _ = asked_target(truth if truth is not None else ground_truth(scene, points_per_part=1), prompt)
    except AmbiguousTarget as err:
        if not err.twins:
            raise
        object_id = nearest_object(scene, err.object_ids, position_m)  # objects alike: the one it holds is asked
    if object_id is None:
        raise ValueError(f"{prompt!r} names no object of scene {scene.name!r}: there is nothing to lift")
    from dff_grasp_ros.synthetic.physics.tools import execute_with_tool  # it builds on this module

    return execute_with_tool(scene, object_id, answer_end_effector(answer), rotation, position_m, opening_m,
                             answer_pre_grasp(answer), gripper, cup, record)
