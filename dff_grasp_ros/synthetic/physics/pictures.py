"""A picture strip of one execution (approach, closed or vacuum on, lifted), drawn by the test bed's own ray caster
at the poses physics gave the objects and the tool (the hand or the suction tool drawn as exactly the boxes the
planner checks)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.suction_cup import SUCTION, SuctionCup
from dff_grasp_ros.synthetic.cameras import look_at_optical
from dff_grasp_ros.synthetic.physics.execute import Execution, Snapshot
from dff_grasp_ros.synthetic.render import render_view
from dff_grasp_ros.synthetic.shapes import Mesh, box
from dff_grasp_ros.synthetic.spec import Scene
from dff_grasp_ros.synthetic.world import posed_world

STRIP_INTRINSICS = CameraIntrinsics(320, 240, 300.0, 300.0, 160.0, 120.0)
VIEW_DISTANCE_M = 0.5
VIEW_ELEVATION_DEG = 12.0  # low enough to see the fingers under the palm
TOTE_VIEW_ELEVATION_DEG = 55.0  # over a tote's walls


def gripper_meshes(gripper: ParallelJawGripper | SuctionCup, opening_m: float,
                   hand_to_base: np.ndarray) -> list[Mesh]:
    """Palm and fingers at an opening (or a suction tool's cup, rod and body), as box meshes in base_link."""
    boxes = gripper.boxes(max(opening_m, 0.0))
    return [box(tuple(lower), tuple(upper)).transformed(hand_to_base)
            for name, (lower, upper) in boxes.items() if name != "closing"]


def strip_camera(scene: Scene, hand_to_base: np.ndarray) -> np.ndarray:
    """camera_to_base of a view of the grasp from the side, across the closing axis (both fingers in sight),
    from outside the scene looking in (from above a tote's walls), aimed 5 cm above the grasp (mid-lift)."""
    closing = hand_to_base[:3, 1]
    across = np.array([-closing[1], closing[0], 0.0])
    across = across / np.linalg.norm(across) if np.linalg.norm(across) > 1e-3 else np.array([1.0, 0.0, 0.0])
    target = hand_to_base[:3, 3] + [0.0, 0.0, 0.05]
    outwards = target[:2] - np.asarray(scene.scan.center_m[:2])
    if across[:2] @ outwards < 0:
        across = -across
    elevation = np.radians(TOTE_VIEW_ELEVATION_DEG if scene.tote is not None else VIEW_ELEVATION_DEG)
    eye = target + VIEW_DISTANCE_M * (np.cos(elevation) * across + np.sin(elevation) * np.array([0.0, 0.0, 1.0]))
    return look_at_optical(eye, target)


def render_snapshot(scene: Scene, snapshot: Snapshot, gripper: ParallelJawGripper | SuctionCup,
                    camera_to_base: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 view of one snapshot."""
    world = posed_world(scene, snapshot.object_to_base,
                        gripper_meshes(gripper, snapshot.opening_m, snapshot.hand_to_base))
    return render_view(scene, STRIP_INTRINSICS, camera_to_base, world=world).rgb


def execution_tool(execution: Execution,
                   gripper: ParallelJawGripper | SuctionCup | None = None) -> ParallelJawGripper | SuctionCup:
    """The tool that ran ``execution``: ``gripper`` when it is of that kind (a caller drawing every answer passes
    its hand, also for a suction answer's execution), else the query node's default of the kind."""
    suction = execution.end_effector == SUCTION
    if gripper is not None and isinstance(gripper, SuctionCup) == suction:
        return gripper
    return SuctionCup() if suction else ParallelJawGripper()


def draw_execution_strip(path: Path, scene: Scene, execution: Execution, title: str,
                         gripper: ParallelJawGripper | SuctionCup | None = None) -> None:
    """Write a PNG with one panel per snapshot (approach, closed or vacuum on, lifted) and the outcome as its
    title; ``gripper``: the tool's dimensions (see :func:`execution_tool`)."""
    gripper = execution_tool(execution, gripper)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not execution.snapshots:
        raise ValueError("the execution was run without recording snapshots (record=False)")
    camera = strip_camera(scene, execution.snapshots[0].hand_to_base)
    width, height = STRIP_INTRINSICS.width, STRIP_INTRINSICS.height
    fig, axes = plt.subplots(1, 3, figsize=(3 * width / 100, height / 100 + 0.7), dpi=100, squeeze=False)
    for axis, index in zip(axes[0], range(3)):
        axis.axis("off")
        if index >= len(execution.snapshots):
            continue
        snapshot = execution.snapshots[index]
        axis.imshow(render_snapshot(scene, snapshot, gripper, camera))
        # A finger pressed past closed reads a hair below 0: shown as 0, not "-0".
        fingers = "" if isinstance(gripper, SuctionCup) else f", fingers {max(snapshot.opening_m, 0.0) * 1000:.0f} mm"
        axis.set_title(f"{snapshot.label} (t = {snapshot.time_s:.1f} s{fingers})", fontsize=8)
    fig.suptitle(f"{title}: {execution.outcome.upper()}, {execution.message}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
