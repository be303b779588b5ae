"""A synthetic Scene plus a floating parallel-jaw hand as a MuJoCo model (built with MjSpec, compiled once per
scene and gripper, objects settled once).

- The table is a plane at z = 0, a tote's walls are static boxes.
- Each object is a free body in its own frame (``synthetic/objects.py``); its collision geometry is the convex
  pieces its primitives come with (``Mesh.convex_pieces``: a mug's wall is a ring of wedges, its handle a chain of
  tube segments), so a finger fits through a handle loop or into a bowl. No convex decomposition is needed, so
  nothing is cached on disk. Mass from :mod:`.materials`, spread uniformly over the pieces' volume.
- The tool is either a parallel-jaw hand or a suction tool. The hand is
  :class:`~dff_grasp_ros.grasp.gripper.ParallelJawGripper`'s palm and fingers, exactly the boxes of
  ``gripper.boxes()`` (the planner's collision check), its body frame the TCP frame. Each finger slides along its
  side of the closing axis, driven by a position servo whose force is capped at 70 N; the fingers are coupled
  (they move together, as a Franka hand's). The hand is a free body welded to a mocap body: moving the mocap
  body moves it kinematically, while contacts still act on it (and are recorded).
- The suction tool is :class:`~dff_grasp_ros.grasp.suction_cup.SuctionCup`'s cup, rod and body as cylinders (the
  planner checks the boxes around them), and a ring of small rubber beads under the cup's rim: the lip, which is
  what a held object is pressed against (:mod:`.suction` says how the vacuum acts). It floats like the hand.

Solver settings follow the MuJoCo 4.0 modelling guide's recommendations for manipulation ("Tuning" section of
its modeling chapter): ``implicitfast``, elliptic friction cones with ``impratio`` 100 against slow slippage,
crisper contacts (``solref`` 0.004 s, ``solimp`` 0.95), condim 4 (torsional friction) on the
pads, position servos with ``dampratio`` 1 and a force range, armature on the finger joints, and sleeping for
resting clutter.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.spatial import ConvexHull

from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.suction_cup import SuctionCup
from dff_grasp_ros.synthetic.catalog import load_scene, tote_walls
from dff_grasp_ros.synthetic.objects import build_object
from dff_grasp_ros.synthetic.physics import materials
from dff_grasp_ros.synthetic.spec import Scene

TIMESTEP_S = 0.002
SETTLE_S = 0.5
PARK_POSITION_M = (0.0, 0.0, 3.0)  # where the hand waits while the objects settle, far above everything
FINGER_SERVO_KP = 20000.0  # N/m: with the target 1 cm past closed, a blocked finger presses with the full 70 N
FINGER_CLOSED_TARGET_M = -0.01
FINGER_ARMATURE_KG = 0.1  # reflected drive inertia; keeps the stiff servo stable at 2 ms steps
HAND_WELD_SOLREF = (0.01, 1.0)  # stiff weld: the hand follows the mocap target within a few millimetres
# Contacts and limits: MuJoCo's soft constraints are mass-scaled, so a 70 N squeeze on a 0.1 kg screwdriver sinks
# the pads centimetres into it at the default (0.02 s, solimp 0.9): the guide's crisper values keep it below ~1 mm.
CONTACT_SOLREF = (0.004, 1.0)
# Soft contacts creep under a steady load even inside the friction cone (the guide's "slow slippage"): at the
# guide's impratio 10 for manipulation a screwdriver held by its 7 mm shaft sank 2 cm in 3 s, where a rubber pad
# sticks. 100 (the top of the range it gives for legged robots) stops that; its other remedy, NoSlip iterations,
# flung a spatula pinched at its 3 mm edge out of the hand (the instability the guide warns of).
IMPRATIO = 100.0
CONTACT_SOLIMP = (0.95, 0.99, 0.001, 0.5, 2.0)
# The lip: beads of this radius whose outer edge is the cup's rim, touching each other all around it. Enough
# beads that an object pressed on the lip touches several (it rests on a ring, not on one point).
LIP_BEAD_RADIUS_M = 0.0015
LIP_BEADS = 16
# The vacuum presses a light object onto the lip with many times its weight (18.8 N on an 80 g knife: 24 g), and
# MuJoCo's soft contacts give way in proportion to acceleration: at the default impedance a knife's blade sank
# through the beads into the cup. A lip contact takes the lip's stiffer impedance (solmix: its parameters win).
LIP_SOLIMP = (0.99, 0.999, 0.001, 0.5, 2.0)
LIP_SOLMIX = 1000.0

Tool = ParallelJawGripper | SuctionCup


@dataclass(frozen=True)
class PhysicsScene:
    """A compiled model with the ids the protocol needs and the objects' settled state."""

    scene: Scene
    gripper: Tool  # the hand's or the suction tool's dimensions
    model: object  # mujoco.MjModel
    object_bodies: tuple[int, ...]  # body id of object i
    hand_body: int  # the floating tool's body (hand or suction tool)
    hand_geoms: tuple[int, ...]  # hand: palm, left finger, right finger; suction tool: all of its geoms
    finger_joints: tuple[int, ...]  # left, right (none on the suction tool)
    finger_actuators: tuple[int, ...]
    mocap_index: int
    template_data: object  # mujoco.MjData: objects at rest after SETTLE_S (asleep), hand parked; copy it per run
    settle_displacement_m: np.ndarray  # (N,) how far each object's centre of mass moved while settling

    @property
    def hand_qpos_address(self) -> int:
        return int(self.model.jnt_qposadr[self.model.body_jntadr[self.hand_body]])

    @property
    def hand_qvel_address(self) -> int:
        return int(self.model.jnt_dofadr[self.model.body_jntadr[self.hand_body]])


def _quat_wxyz_about_z(yaw_rad: float) -> list[float]:
    return [float(np.cos(yaw_rad / 2)), 0.0, 0.0, float(np.sin(yaw_rad / 2))]


def build_spec(scene: Scene, gripper: Tool):  # -> mujoco.MjSpec
    """The MjSpec of a scene and a tool (uncompiled): see the module docstring."""
    import mujoco

    spec = mujoco.MjSpec()
    spec.modelname = f"dff_grasp_{scene.name}"
    spec.option.timestep = TIMESTEP_S
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = IMPRATIO
    spec.option.enableflags |= int(mujoco.mjtEnableBit.mjENBL_SLEEP)
    spec.default.geom.solref = list(CONTACT_SOLREF)
    spec.default.geom.solimp = list(CONTACT_SOLIMP)
    spec.default.joint.solref_limit = list(CONTACT_SOLREF)
    spec.default.joint.solimp_limit = list(CONTACT_SOLIMP)
    world = spec.worldbody

    world.add_geom(name="table", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[2.0, 2.0, 0.01],
                   friction=[materials.TABLE_FRICTION, 0.005, 0.0001])
    for index, wall in enumerate(tote_walls(scene.tote)):
        low, high = wall.vertices.min(axis=0), wall.vertices.max(axis=0)
        world.add_geom(name=f"tote_wall_{index}", type=mujoco.mjtGeom.mjGEOM_BOX, pos=(low + high) / 2,
                       size=(high - low) / 2, friction=[materials.TABLE_FRICTION, 0.005, 0.0001])

    for index, obj in enumerate(scene.objects):
        body = world.add_body(name=f"object_{index}", pos=[obj.position_m[0], obj.position_m[1], 0.0],
                              quat=_quat_wxyz_about_z(np.radians(obj.yaw_deg)))
        body.add_freejoint()
        pieces = [(part.name, piece) for part in build_object(obj.type) for piece in part.mesh.convex_pieces]
        if not pieces:
            raise ValueError(f"object {scene.object_label(index)} has no convex pieces to collide with")
        volume_m3 = sum(ConvexHull(piece).volume for _, piece in pieces)
        density = materials.object_mass_kg(obj.type) / volume_m3
        for k, (part_name, piece) in enumerate(pieces):
            mesh_name = f"object_{index}_{part_name}_{k}"
            spec.add_mesh(name=mesh_name, uservert=np.asarray(piece, dtype=np.float64).ravel().tolist())
            body.add_geom(name=mesh_name, type=mujoco.mjtGeom.mjGEOM_MESH, meshname=mesh_name, density=density,
                          friction=[materials.OBJECT_FRICTION, 0.005, 0.0001])

    hand = _add_floating_tool(spec)
    if isinstance(gripper, SuctionCup):
        _add_suction_tool(hand, gripper)
    else:
        _add_hand(spec, hand, gripper)
    return spec


def _add_floating_tool(spec):  # (mujoco.MjSpec) -> mujoco.MjsBody
    """The tool's free body "hand" (its frame the TCP frame) welded to the mocap body "hand_target"."""
    import mujoco

    world = spec.worldbody
    world.add_body(name="hand_target", mocap=True, pos=list(PARK_POSITION_M))
    hand = world.add_body(name="hand", pos=list(PARK_POSITION_M), gravcomp=1.0)
    hand.add_freejoint()
    weld = spec.add_equality(type=mujoco.mjtEq.mjEQ_WELD, name1="hand_target", name2="hand",
                             objtype=mujoco.mjtObj.mjOBJ_BODY, solref=list(HAND_WELD_SOLREF))
    # Anchor at the TCP, hand pose = target pose (relative position 0, quaternion 1 0 0 0), torque scale 1. (The
    # MjSpec default is the connect constraint's anchor (0, 1, 0): a weld 1 m off the hand, soft as rubber.)
    weld.data = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    return hand


def _add_suction_tool(tool, cup: SuctionCup) -> None:  # tool: mujoco.MjsBody
    import mujoco

    other = [materials.OBJECT_FRICTION, 0.005, 0.0001]
    # Cylinders along the approach (TCP z): the cup's body ends at the beads' centres, so the lip stands proud.
    for name, radius, front, back, mass in (
            ("cup", cup.cup_radius_m, LIP_BEAD_RADIUS_M, cup.cup_height_m, materials.SUCTION_CUP_MASS_KG),
            ("rod", cup.rod_radius_m, cup.cup_height_m, cup.cup_height_m + cup.rod_length_m,
             materials.SUCTION_ROD_MASS_KG),
            ("body", cup.body_radius_m, cup.cup_height_m + cup.rod_length_m, cup.length_m,
             materials.SUCTION_BODY_MASS_KG)):
        tool.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_CYLINDER, pos=[0.0, 0.0, -(front + back) / 2],
                      size=[radius, (back - front) / 2, 0.0], mass=mass, friction=other)
    ring_m = cup.cup_radius_m - LIP_BEAD_RADIUS_M
    for k, angle in enumerate(np.linspace(0.0, 2 * np.pi, LIP_BEADS, endpoint=False)):
        tool.add_geom(name=f"lip_{k}", type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[LIP_BEAD_RADIUS_M, 0.0, 0.0],
                      pos=[ring_m * np.cos(angle), ring_m * np.sin(angle), -LIP_BEAD_RADIUS_M], mass=0.001,
                      friction=[materials.LIP_FRICTION, materials.LIP_TORSION_M, 0.0001], condim=4,
                      solimp=list(LIP_SOLIMP), solmix=LIP_SOLMIX)


def _add_hand(spec, hand, gripper: ParallelJawGripper) -> None:  # spec: mujoco.MjSpec, hand: mujoco.MjsBody
    import mujoco

    boxes = gripper.boxes(0.0)

    def box_geom(body, name: str, lower: np.ndarray, upper: np.ndarray, mass_kg: float, pad: bool) -> None:
        friction = ([materials.PAD_FRICTION, materials.PAD_TORSION_M, 0.0001] if pad
                    else [materials.OBJECT_FRICTION, 0.005, 0.0001])
        body.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_BOX, pos=(lower + upper) / 2, size=(upper - lower) / 2,
                      mass=mass_kg, friction=friction, condim=4 if pad else 3)

    box_geom(hand, "palm", *boxes["palm"], materials.HAND_MASS_KG, pad=False)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        finger = hand.add_body(name=f"finger_{side}", gravcomp=1.0)
        # At joint position q the finger's inner face is q from the TCP: q = opening / 2.
        finger.add_joint(name=f"finger_{side}", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[0.0, sign, 0.0],
                         range=[0.0, gripper.max_opening_m / 2], limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                         armature=FINGER_ARMATURE_KG)
        box_geom(finger, f"finger_{side}", *boxes[f"finger_{side}"], materials.FINGER_MASS_KG, pad=True)
        actuator = spec.add_actuator(name=f"finger_{side}", target=f"finger_{side}",
                                     trntype=mujoco.mjtTrn.mjTRN_JOINT)
        actuator.set_to_position(kp=FINGER_SERVO_KP, dampratio=1.0)
        actuator.ctrlrange = [FINGER_CLOSED_TARGET_M, gripper.max_opening_m / 2]
        actuator.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        actuator.forcerange = [-materials.FINGER_FORCE_N, materials.FINGER_FORCE_N]
        actuator.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    spec.add_exclude(bodyname1="finger_left", bodyname2="finger_right")
    spec.add_equality(type=mujoco.mjtEq.mjEQ_JOINT, name1="finger_right", name2="finger_left",
                      objtype=mujoco.mjtObj.mjOBJ_JOINT)


def physics_scene(scene: Scene | str, gripper: Tool | None = None) -> PhysicsScene:
    """The compiled model of ``scene`` with ``gripper`` (a hand or a suction cup; default: the query node's hand),
    its objects settled for SETTLE_S; cached per (scene, tool), both frozen."""
    return _physics_scene(load_scene(scene), gripper or ParallelJawGripper())


@lru_cache(maxsize=4)
def _physics_scene(scene: Scene, gripper: Tool) -> PhysicsScene:
    import mujoco

    model = build_spec(scene, gripper).compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    object_bodies = tuple(model.body(f"object_{i}").id for i in range(len(scene.objects)))
    start = data.xipos[list(object_bodies)].copy()
    mujoco.mj_step(model, data, nstep=int(round(SETTLE_S / TIMESTEP_S)))
    moved = np.linalg.norm(data.xipos[list(object_bodies)] - start, axis=1)
    hand = model.body("hand").id
    fingers = () if isinstance(gripper, SuctionCup) else ("finger_left", "finger_right")
    tool_geoms = (tuple(np.flatnonzero(model.geom_bodyid == hand).tolist()) if isinstance(gripper, SuctionCup)
                  else tuple(model.geom(name).id for name in ("palm", *fingers)))
    return PhysicsScene(
        scene=scene, gripper=gripper, model=model, object_bodies=object_bodies, hand_body=hand,
        hand_geoms=tool_geoms, finger_joints=tuple(model.joint(name).id for name in fingers),
        finger_actuators=tuple(model.actuator(name).id for name in fingers),
        mocap_index=int(model.body_mocapid[model.body("hand_target").id]),
        template_data=data, settle_displacement_m=moved)
