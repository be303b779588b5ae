"""Execute a suction grasp in physics and say what happened (the jaws' protocol, :mod:`.execute`, with a cup).

The suction tool (:class:`~dff_grasp_ros.grasp.suction_cup.SuctionCup`: cup, rod, body; :mod:`.model`) starts at
the pre-grasp pose, moves straight along its approach (+z of the TCP frame) to the grasp pose, the vacuum comes
on (VACUUM_ON_S), it lifts 10 cm and holds for 3 s. Outcomes as for the jaws: ``collided`` (before the vacuum is
on, the tool touched anything but the asked object, or pushed it more than 2 cm), ``missed`` (the cup does not
seal), ``slipped`` (it sealed, but the object is not 8 cm up at the end), ``lifted``, ``lifted_other``.

Seal, from the true geometry when the vacuum comes on, whatever the planner thought: SEAL_RAYS rays along the
approach from points of the lip circle (radius ``cup_radius_m``, in the TCP x-y plane), cast from RAY_BACK_M
behind the lip through everything but the tool. It seals when every ray first meets the asked object (not a
neighbour, the table or a wall: the lip would overhang), the surface's height along the lip varies by at most
``lip_compliance_m`` (the lip conforms that much), and the farthest point is at most ``lip_compliance_m`` beyond
the lip plane (the bellows reach it: a cup stopped a centimetre above the surface does not seal).

Hold: a sealed cup is pushed onto the object by the air around it. The vacuum times the lip's area
(``SuctionCup.holding_force_n``, rising over VACUUM_RISE_S) acts on the object at the centre of the sealed patch,
along the cup's axis towards the tool, every step, and the object rests against the lip (a ring of rubber beads,
:mod:`.model`). Nothing else holds it: a load beyond that force pulls the object off the lip, a sideways load
beyond the lip's friction slides it, a moment beyond the pull less the load at the ring's radius tips it about the
lip's edge. The seal breaks, and the force stops for good, when

- a point of the sealed patch lies more than ``lip_compliance_m`` beyond the lip plane (air leaks in there; the
  same reach as at the seal check), or
- the lip peels: once the pull is full and the object touches nothing but the tool, the wrench the tool exerts
  on it (MuJoCo's contact forces on the object, ``cfrc_ext`` less the vacuum's own) has a moment across the axis,
  about the patch's centre, above the force pressing it onto the lip times half the ring's radius, for
  PEEL_STEPS steps. A rubber lip's pressure varies about linearly around the ring; such a moment unloads its far
  side, which lifts. (A rigid ring, what the beads alone are, would hold twice that: MuJoCo cannot tell how the
  load spreads over many rigid contacts, so the peel is judged from the total, which it computes reliably.)
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from dff_grasp_ros.grasp.suction_cup import SuctionCup
from dff_grasp_ros.synthetic.catalog import load_scene
from dff_grasp_ros.synthetic.physics.execute import Execution, Run, checked_pose, steps_for, thing_name
from dff_grasp_ros.synthetic.physics.model import LIP_BEAD_RADIUS_M, physics_scene
from dff_grasp_ros.synthetic.spec import Scene

SEAL_RAYS = 36  # 1 cm radius: a ray every 1.7 mm of lip
RAY_BACK_M = 0.01  # rays start this far behind the lip: a cup pressed a little into a surface still finds it
RAY_REACH_M = 0.05  # beyond this past the lip, a ray meets nothing the lip could seal on
# MuJoCo's ray misses a mesh when it runs exactly along an edge between two triangles (a ray straight down a lying
# cylinder's crest met the floor under it): each lip point casts two rays this far apart across each other, the
# nearer hit counts.
EDGE_NUDGE_M = 1e-6
# The arm comes to rest at the grasp pose (the tool trails the moving target by ~2 mm) before the vacuum comes on
# and the seal is judged.
ARRIVE_S = 0.1
# An ejector evacuates a 20 mm cup in well under 0.1 s (Schmalz, Piab data sheets): the pull rises over
# VACUUM_RISE_S (at once, it lifted a knife's blade 3 mm into the lip within one step, before any contact held it),
# and the arm waits VACUUM_ON_S before lifting.
VACUUM_RISE_S = 0.1
VACUUM_ON_S = 0.2
PEEL_STEPS = 5


@dataclass(frozen=True)
class Seal:
    """Where the lip lands: each ray's first hit and its height beyond the lip plane, and the verdict."""

    sealed: bool
    message: str  # why not, in one line ("" when sealed)
    points_m: np.ndarray  # (SEAL_RAYS, 3) first hit of each ray in base_link (NaN where none)
    beyond_m: np.ndarray  # (SEAL_RAYS,) height of each hit beyond the lip plane (inf where none)


def lip_circle(cup: SuctionCup, rays: int = SEAL_RAYS) -> np.ndarray:
    """(rays, 3) points of the lip circle in the TCP frame (z = 0)."""
    angles = np.linspace(0.0, 2 * np.pi, rays, endpoint=False)
    return np.column_stack([cup.cup_radius_m * np.cos(angles), cup.cup_radius_m * np.sin(angles),
                            np.zeros(rays)])


def seal(run: Run, cup: SuctionCup) -> Seal:
    """Cast the lip's rays in the run's current state from the tool's actual pose (module docstring)."""
    import mujoco

    model, data = run.model, run.data
    rotation = data.xmat[run.physics.hand_body].reshape(3, 3)
    axis = np.ascontiguousarray(rotation[:, 2])
    starts = data.xpos[run.physics.hand_body] + (lip_circle(cup) - [0.0, 0.0, RAY_BACK_M]) @ rotation.T
    geom = np.full(1, -1, dtype=np.int32)
    hits, beyond = np.full((len(starts), 3), np.nan), np.full(len(starts), np.inf)
    on_asked, others = np.zeros(len(starts), dtype=bool), set()
    for k, start in enumerate(starts):
        distance, nearest = -1.0, -1
        for nudge in rotation[:, :2].T * EDGE_NUDGE_M:
            found = mujoco.mj_ray(model, data, start + nudge, axis, None, 1, run.physics.hand_body, geom)
            if found >= 0 and (distance < 0 or found < distance):
                distance, nearest = found, int(geom[0])
        if distance < 0 or distance > RAY_BACK_M + RAY_REACH_M:
            continue
        hits[k], beyond[k] = start + distance * axis, distance - RAY_BACK_M
        body = int(model.geom_bodyid[nearest])
        on_asked[k] = body == run.asked_body
        if not on_asked[k] and body in run.physics.object_bodies and beyond[k] <= cup.lip_compliance_m:
            others.add(thing_name(run.physics, nearest))
    off = int((~on_asked).sum())
    if others:
        why = f"the lip lies on {', '.join(sorted(others))}"
    elif off and off < len(starts):
        why = f"the lip overhangs the asked object's edge ({off} of {len(starts)} lip points are off it)"
    elif off:
        why = "the lip is not on the asked object"
    elif beyond.max() - beyond.min() > cup.lip_compliance_m:
        why = (f"the surface under the lip varies {(beyond.max() - beyond.min()) * 1000:.1f} mm "
               f"(> {cup.lip_compliance_m * 1000:.1f} mm)")
    elif beyond.max() > cup.lip_compliance_m:
        why = f"the cup stopped {beyond.min() * 1000:.0f} mm short of the surface"
    else:
        why = ""
    return Seal(not why, why, hits, beyond)


class _Vacuum:
    """The sealed cup's pull on the asked object, set before every step until the seal leaks (module docstring)."""

    def __init__(self, run: Run, cup: SuctionCup, sealed: Seal) -> None:
        self.run, self.cup = run, cup
        body = run.asked_body
        rotation, origin = run.data.xmat[body].reshape(3, 3), run.data.xpos[body]
        self.patch_local = (sealed.points_m - origin) @ rotation  # the sealed patch, in the object's frame
        self.centre_local = self.patch_local.mean(axis=0)
        self.leaked_at_s: float | None = None
        self.why = ""
        self.on_at_s = run.time_s
        self.peeling_steps = 0

    def lip_load(self, tool_rotation: np.ndarray) -> tuple[float, float] | None:
        """(force pressing the object onto the lip along the cup's axis, moment of the load about the lip's centre
        across the axis) from the step's contact forces on the asked object; None while it touches anything but
        the tool (then that carries load too)."""
        import mujoco

        run, data, model, body = self.run, self.run.data, self.run.model, self.run.asked_body
        bodies = model.geom_bodyid[data.contact.geom[:data.ncon]]
        if ((bodies == body).any(axis=1) & ~(bodies == run.physics.hand_body).any(axis=1)).any():
            return None
        mujoco.mj_rnePostConstraint(model, data)
        # cfrc_ext: (torque, force) at the object's centre of mass, the vacuum's included: the rest is the tool's.
        torque = data.cfrc_ext[body, :3] - data.xfrc_applied[body, 3:]
        force = data.cfrc_ext[body, 3:] - data.xfrc_applied[body, :3]
        centre = data.xmat[body].reshape(3, 3) @ self.centre_local + data.xpos[body]
        moment = torque + np.cross(data.xipos[body] - centre, force)
        axis = tool_rotation[:, 2]
        return float(force @ axis), float(np.linalg.norm(moment - (moment @ axis) * axis))

    def __call__(self) -> None:
        run, data, body = self.run, self.run.data, self.run.asked_body
        data.xfrc_applied[body] = 0.0
        if self.leaked_at_s is not None:
            return
        rotation, origin = data.xmat[body].reshape(3, 3), data.xpos[body]
        tool_rotation = data.xmat[run.physics.hand_body].reshape(3, 3)
        tool_at = data.xpos[run.physics.hand_body]
        beyond = ((origin + self.patch_local @ rotation.T) - tool_at) @ tool_rotation[:, 2]
        rise = min(1.0, (run.time_s - self.on_at_s) / VACUUM_RISE_S)
        # While the pull still rises the lip is still being pressed flat: its peel is judged under the full pull.
        load = self.lip_load(tool_rotation) if rise >= 1.0 else None
        ring_m = self.cup.cup_radius_m - LIP_BEAD_RADIUS_M
        # An elastic lip's pressure varies linearly around it: a moment beyond the pressing force times half the
        # ring's radius unloads its far side, which lifts (PEEL_STEPS in a row: not one step's jitter).
        peeling = load is not None and load[1] > max(load[0], 0.0) * ring_m / 2
        self.peeling_steps = self.peeling_steps + 1 if peeling else 0
        if beyond.max() > self.cup.lip_compliance_m or self.peeling_steps >= PEEL_STEPS:
            self.leaked_at_s = run.time_s
            self.why = (f"the lip peeled: a moment of {load[1]:.3f} N m on it, more than its pressing force "
                        f"{load[0]:.1f} N holds at half its radius" if load is not None and peeling
                        else f"the lip lifted {beyond.max() * 1000:.1f} mm off the surface")
            return
        force = -rise * self.cup.holding_force_n * tool_rotation[:, 2]  # towards the tool
        lever = origin + rotation @ self.centre_local - data.xipos[body]
        data.xfrc_applied[body, :3], data.xfrc_applied[body, 3:] = force, np.cross(lever, force)


def execute_suction(scene: Scene | str, object_id: int, rotation: np.ndarray, position_m: np.ndarray,
                    pre_grasp_position_m: np.ndarray | None = None, cup: SuctionCup | None = None,
                    record: bool = True) -> Execution:
    """Execute a suction grasp (TCP pose in base_link: lip centre, +z into the surface) on object ``object_id``
    of ``scene``; see the module. ``cup``: the tool's dimensions and vacuum (default: the query node's)."""
    cup = cup or SuctionCup()
    scene = load_scene(scene)
    rotation, position_m, pre = checked_pose(scene, object_id, rotation, position_m, pre_grasp_position_m)
    run = Run(physics_scene(scene, cup), object_id, record)
    run.place_hand(rotation, pre, 0.0)
    collided = run.approach(pre, position_m, "the vacuum came on")
    if collided is not None:
        return collided
    push = run.push_m()

    run.step(steps_for(ARRIVE_S))
    sealed = seal(run, cup)
    if not sealed.sealed:
        run.snapshot("vacuum on")
        return run.execution("missed", sealed.message, push, [], False, 0.0)
    vacuum = _Vacuum(run, cup, sealed)
    run.before_step = vacuum
    run.step(steps_for(VACUUM_ON_S))
    run.snapshot("vacuum on")
    execution = run.lift_and_judge(push, True, 0.0, "sealed on", "")
    if vacuum.leaked_at_s is None or execution.outcome == "lifted":
        return execution
    leaked = f"; the seal broke at t = {vacuum.leaked_at_s:.2f} s: {vacuum.why}"
    return replace(execution, message=execution.message + leaked)
