"""Clear a scene as a bin-picking cell would: ask for every object by colour and name, execute each answer in
physics, take what was lifted out of the world, look again, update the scene, go on (the test bed).

The same loop runs over ROS (``dff-grasp demo --scene bin --clear``: the query node answers and carves, the sim
camera shows the changed world) and offline (``bench/bench_clear_bin.py``: :func:`plan_query` and
:func:`carve_prepared` on a prepared cloud). Who answers and who updates is passed in; the world, physics and the
bookkeeping are here.

The world: the scene less the objects taken out. Each grasp is executed in physics on it (``synthetic/physics``),
with the remaining objects at their rest poses: the scene YAML's poses, since a scene holds no other pose (a
neighbour a pick nudged is back in place for the next pick, and the camera renders it there too). Whatever
physics lifted is taken out: the asked object (cleared), or another one (a wrong-object lift, counted, and taken
out too, as a cell would drop it in the output bin). An object whose pick failed is asked for once more after the
others (``retry``), when its neighbours may be gone; not one refused as too wide for the hand. Objects of one type
and colour (twins) share their prompt: a lift of either is a clear, and the other is still asked for.

A scene update that is refused (the view does not fit the served scene: the served scene is unchanged) is counted
and the loop goes on, as a cell would: the served scene still holds what was taken out (an obstacle, never another
object's match), and the next update, after the next lift, looks at the world as it is then.

Picks per hour: the cleared objects over the time of every attempt, each the measured query and scene-update
compute time plus ``arm_motion_s`` per executed grasp (approach, lift, place, back to the overview pose: a
stated assumption, not measured). A refusal costs its query time only.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dff_grasp_ros.carving import carve_prepared
from dff_grasp_ros.errors import one_line
from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.planner import TOO_WIDE
from dff_grasp_ros.grasp.push import PushPlan
from dff_grasp_ros.grasp.suction_cup import PARALLEL_JAW, SUCTION, SuctionCup
from dff_grasp_ros.query.pipeline import SUCTION_TRIED, QueryParams, TextEncoder, plan_query, prepare_query_cloud
from dff_grasp_ros.query.prepared import PreparedCloud
from dff_grasp_ros.synthetic.cameras import overview_pose, scene_intrinsics
from dff_grasp_ros.synthetic.catalog import load_scene, nearest_object
from dff_grasp_ros.synthetic.ground_truth import ground_truth
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth
from dff_grasp_ros.synthetic.judge import EVALUATION_POINTS_PER_PART
from dff_grasp_ros.synthetic.physics import execute_with_tool
from dff_grasp_ros.synthetic.physics.execute import LIFTED_M, Execution
from dff_grasp_ros.synthetic.physics.push import PushExecution, execute_push, pushed_scene
from dff_grasp_ros.synthetic.render import RenderedView, render_view
from dff_grasp_ros.synthetic.spec import Scene

DEFAULT_ARM_MOTION_S = 6.0
# A bin-picking cell's tools, as the clearing demo and bench give them to the query: the jaws first, the suction
# cup where they have no grasp (a box wider than they open, a flat tool against a tote wall).
CLEARING_END_EFFECTORS = (PARALLEL_JAW, SUCTION)
# Failure causes, as the report counts them; each attempt has one (or "" when the asked object was lifted).
TOO_WIDE_CAUSE = "refused: too wide for the hand"  # no pick of another object can change it: not asked again
CAUSES = (TOO_WIDE_CAUSE, "refused: no free grasp", "refused: not found", "refused: other",
          "collided", "slipped", "missed", "lifted_other")


@dataclass(frozen=True)
class Answer:
    """What the cell got for one prompt: a grasp (TCP pose in the base frame) or a refusal."""

    success: bool
    message: str
    rotation: np.ndarray | None = None  # (3, 3)
    position_m: np.ndarray | None = None  # (3,)
    opening_m: float = 0.0
    pre_grasp_position_m: np.ndarray | None = None
    compute_s: float = 0.0  # measured: the query as the cell saw it
    end_effector: str = PARALLEL_JAW  # which of the cell's tools the grasp is for
    push: PushPlan | None = None  # a refusal's offer: the push that would free the object (fingers closed)


@dataclass
class Attempt:
    """One prompt asked, and what happened."""

    object_id: int  # in the original scene
    prompt: str
    attempt: int  # 1, or 2 for the retry
    answer: Answer
    outcome: str  # physics outcome, or "refused"
    cause: str  # "" when the asked object was lifted, else one of CAUSES
    lifted: list[int] = field(default_factory=list)  # original ids taken out of the world after this attempt
    execution: Execution | None = None
    update_s: float | None = None  # measured scene-update compute time after this attempt (None: no update)
    update_refused: str | None = None  # why the scene update after this attempt was refused (scene unchanged)
    picture: str | None = None
    push: PushExecution | None = None  # the push offered with a refusal, executed (then the object is asked again)

    def to_json(self) -> dict[str, Any]:
        out = {"object_id": self.object_id, "prompt": self.prompt, "attempt": self.attempt,
               "answered": self.answer.success, "message": self.answer.message, "outcome": self.outcome,
               "cause": self.cause or None, "lifted": self.lifted, "query_s": round(self.answer.compute_s, 3),
               "update_s": None if self.update_s is None else round(self.update_s, 3),
               "update_refused": self.update_refused, "picture": self.picture}
        if self.answer.success:
            out["grasp"] = {"position_m": np.round(self.answer.position_m, 4).tolist(),
                            "opening_m": round(float(self.answer.opening_m), 4),
                            "end_effector": self.answer.end_effector}
        if self.execution is not None:
            out["physics"] = self.execution.message
        if self.push is not None:
            out["push"] = {"outcome": self.push.outcome, "physics": self.push.message,
                           "distance_m": round(float(self.answer.push.distance_m), 4)}
        return out


class World:
    """The simulated world of a clearing run: the original scene less the objects taken out."""

    def __init__(self, scene: Scene | str) -> None:
        self.original = load_scene(scene)
        self.present = list(range(len(self.original.objects)))  # original ids still in the world
        # Where a push left an object (original id -> its scene entry's position_m and yaw_deg); the rest lie as the
        # original scene has them.
        self.moved: dict[int, dict[str, Any]] = {}

    @property
    def empty(self) -> bool:
        return not self.present

    def scene(self) -> Scene:
        """The current world as a scene (the original's camera, scan and tote; its remaining objects)."""
        data = self.original.to_dict()
        data["objects"] = [{**data["objects"][i], **self.moved.get(i, {})} for i in self.present]
        return load_scene(data)

    def scene_dict(self) -> dict[str, Any]:
        return self.scene().to_dict()

    def execute(self, object_id: int, answer: Answer, gripper: ParallelJawGripper,
                cup: SuctionCup | None = None) -> tuple[Execution, list[int]]:
        """Execute ``answer``'s grasp on original object ``object_id`` with the tool it is for (the jaws of
        ``gripper`` or the suction ``cup``); (the execution, original ids lifted)."""
        execution = execute_with_tool(self.scene(), self.present.index(object_id), answer.end_effector,
                                      answer.rotation, answer.position_m, answer.opening_m,
                                      answer.pre_grasp_position_m, gripper, cup, record=True)
        lifted = [self.present[i] for i, rise in enumerate(execution.rise_m) if rise >= LIFTED_M]
        return execution, lifted

    def held_twin(self, object_id: int, position_m: np.ndarray) -> int:
        """The object a grasp at ``position_m`` asked for as ``object_id`` is meant for: ``object_id``, or another
        present object of its type and colour (one prompt names both, either is right) whose surface is nearer to
        the grasp. Physics then judges the grasp on that one; an object of another type or colour is never it."""
        asked = self.original.objects[object_id]
        twins = [i for i in self.present
                 if (self.original.objects[i].type, self.original.objects[i].color) == (asked.type, asked.color)]
        return nearest_object(self.original, twins, position_m) if len(twins) > 1 else object_id

    def push(self, object_id: int, plan: PushPlan, gripper: ParallelJawGripper) -> PushExecution:
        """Execute ``plan`` on original object ``object_id`` with the jaws' fingers closed; when it was pushed,
        every object lies where physics left it from now on."""
        scene = self.scene()
        execution = execute_push(scene, self.present.index(object_id), plan.rotation, plan.pre_push_position_m,
                                 plan.start_position_m, plan.end_position_m, gripper=gripper, record=True)
        if not execution.pushed:
            return execution
        try:  # what settled less than a millimetre from rest stays where the scene has it
            after = pushed_scene(scene, execution, moved_at_least_m=0.001)
        except ValueError as err:  # e.g. it ended overlapping a neighbour: no scene can hold that world
            return replace(execution, outcome="disturbed", message=f"{execution.message}; {one_line(err)}")
        for index, (before, now) in enumerate(zip(scene.objects, after.objects)):
            if (before.position_m, before.yaw_deg) != (now.position_m, now.yaw_deg):
                self.moved[self.present[index]] = {"position_m": list(now.position_m), "yaw_deg": now.yaw_deg}
        return execution

    def remove(self, object_ids: list[int]) -> None:
        self.present = [i for i in self.present if i not in object_ids]

    def overview(self) -> tuple[RenderedView, np.ndarray]:
        """What the camera sees from the overview pose now, and that pose (camera_to_base): one pose for the whole
        run, which sees where every object of the original scene stood."""
        scene = self.scene()
        pose = overview_pose(scene, also=(self.original,))
        return render_view(scene, scene_intrinsics(scene), pose), pose


class OfflineCell:
    """The query and the scene update in process, for benches and tests: :func:`plan_query` on the served prepared
    cloud, :func:`carve_prepared` with the world's overview view (what the query node does over ROS)."""

    def __init__(self, prepared: PreparedCloud, encoder: TextEncoder, params: QueryParams | None = None,
                 log: Callable[[str], None] = print) -> None:
        self.prepared, self.encoder, self.params, self.log = prepared, encoder, params or QueryParams(), log
        self.update_s: list[float] = []

    def ask(self, prompt: str) -> Answer:
        result = plan_query(self.prepared, self.encoder, prompt, self.params)
        g = result.grasp
        if g is None:
            return Answer(False, result.message, compute_s=result.latency_s, push=result.push)
        return Answer(True, result.message, g.rotation, g.position_m, g.opening_m, g.pre_grasp_position_m,
                      result.latency_s, g.end_effector)

    def update(self, world: World) -> float:
        view, pose = world.overview()
        started = time.perf_counter()
        carved = carve_prepared(self.prepared, view.depth_m, view.rgb, scene_intrinsics(world.original), pose)
        seconds = time.perf_counter() - started
        self.prepared = carved.prepared
        self.update_s.append(seconds)
        carried = "".join(f", {c.describe()}" for c in carved.carried)
        self.log(f"[clear] update: removed {int(carved.removed.sum())}, added {carved.added} points{carried}, "
                 f"{seconds * 1000:.0f} ms ({len(carved.prepared.cloud)} points)")
        return seconds


def check_arm_motion_s(arm_motion_s: float) -> None:
    """ValueError unless ``arm_motion_s`` is a time a pick's motion can take (it enters every picks/h figure)."""
    if not (np.isfinite(arm_motion_s) and 0 <= arm_motion_s <= 600):
        raise ValueError(f"arm motion time must be between 0 and 600 s per pick, got {arm_motion_s!r}")


def object_prompts(scene: Scene) -> list[tuple[int, str]]:
    """(object id, "colour type") for every object; objects of one type and colour share their prompt (twins: an
    answer holding either is right)."""
    return [(i, f"{o.color} {o.type}") for i, o in enumerate(scene.objects)]


def failure_cause(answer: Answer, outcome: str) -> str:
    """One of CAUSES (or "" for a lift of the asked object)."""
    if answer.success:
        return "" if outcome == "lifted" else outcome
    if TOO_WIDE in answer.message and SUCTION_TRIED not in answer.message:
        return TOO_WIDE_CAUSE
    if "no collision-free grasp" in answer.message:
        return "refused: no free grasp"
    if "not found" in answer.message:
        return "refused: not found"
    return "refused: other"


AskFn = Callable[[str], Answer]
# The world changed: update the served scene and return its compute time; ValueError (one line) when the update
# was refused and the served scene is unchanged.
UpdateFn = Callable[["World"], float]


def clear_scene(scene: Scene | str, ask: AskFn, update: UpdateFn, gripper: ParallelJawGripper | None = None,
                pictures: Path | None = None, retry: bool = True, log: Callable[[str], None] = print,
                cup: SuctionCup | None = None, push: bool = True) -> tuple[World, list[Attempt]]:
    """Clear ``scene`` (see the module docstring); the final world and every attempt in order. ``gripper`` and
    ``cup``: the cell's tools, as the answers' query planned with them (defaults: the query's). ``push``: execute
    the push a refusal offers (once per object), update the scene and ask again at once."""
    from dff_grasp_ros.synthetic.physics import draw_execution_strip

    gripper = gripper or ParallelJawGripper()
    world = World(scene)
    queue = [(object_id, prompt, 1) for object_id, prompt in object_prompts(world.original)]
    attempts: list[Attempt] = []
    pushed: set[int] = set()  # original ids pushed once already: a second push would only repeat the first
    while queue:
        object_id, prompt, attempt_no = queue.pop(0)
        if object_id not in world.present:
            continue  # taken out by an earlier attempt (a wrong-object lift)
        answer = ask(prompt)
        attempt = Attempt(object_id, prompt, attempt_no, answer, "refused", failure_cause(answer, "refused"))
        if answer.success:
            scene_now = world.scene()
            held = world.held_twin(object_id, answer.position_m)
            execution, lifted = world.execute(held, answer, gripper, cup)
            attempt.execution, attempt.outcome, attempt.lifted = execution, execution.outcome, lifted
            attempt.cause = failure_cause(answer, execution.outcome)
            if held != object_id and execution.outcome == "lifted":
                # Its twin was lifted: from here on each carries the other's id (attempts and queue), so the
                # lifted one is cleared and the one still there is asked for with whatever asks were left.
                swap = {object_id: held, held: object_id}
                for earlier in attempts:
                    earlier.object_id = swap.get(earlier.object_id, earlier.object_id)
                queue = [(swap.get(i, i), p, n) for i, p, n in queue]
                attempt.object_id, object_id = held, held
            if pictures is not None:
                path = pictures / f"pick_{len(attempts) + 1:02d}_{'_'.join(prompt.split())}.png"
                tool = (cup or SuctionCup()) if answer.end_effector == SUCTION else gripper
                draw_execution_strip(path, scene_now, execution, f"{prompt} (attempt {attempt_no})", tool)
                attempt.picture = path.name
            if lifted:
                world.remove(lifted)
                if not world.empty:
                    _update(world, update, attempt, log)
        elif push and answer.push is not None and object_id not in pushed:
            pushed.add(object_id)
            scene_now = world.scene()
            attempt.push = world.push(world.held_twin(object_id, answer.push.start_position_m), answer.push,
                                      gripper)
            if pictures is not None:
                path = pictures / f"push_{len(attempts) + 1:02d}_{'_'.join(prompt.split())}.png"
                draw_execution_strip(path, scene_now, attempt.push, f"push {prompt} (attempt {attempt_no})", gripper)
                attempt.picture = path.name
            log(f"[clear] {prompt!r}: no free grasp, a {answer.push.distance_m * 100:.1f} cm push offered: "
                f"{attempt.push.outcome} ({attempt.push.message})")
            if attempt.push.pushed:
                _update(world, update, attempt, log)
                queue.insert(0, (object_id, prompt, attempt_no))  # asked again at once, where it lies now
        # Retried once after the others (a neighbour may have been in the way), unless no pick can change it.
        asked_again = attempt.push is not None and attempt.push.pushed
        if attempt.cause and attempt.cause != TOO_WIDE_CAUSE and attempt_no == 1 and retry and not asked_again:
            queue.append((object_id, prompt, 2))
        attempts.append(attempt)
        log(f"[clear] {prompt!r} (attempt {attempt_no}): {attempt.outcome}"
            f"{'' if not attempt.cause else ' -> ' + attempt.cause}: "
            f"{attempt.execution.message if attempt.execution else answer.message}")
    return world, attempts


def _update(world: World, update: UpdateFn, attempt: Attempt, log: Callable[[str], None]) -> None:
    """The world changed after ``attempt``: update the served scene, or count the refusal and go on."""
    try:
        attempt.update_s = update(world)
    except ValueError as err:  # before: the whole run ended in this traceback, its picks lost
        attempt.update_refused = one_line(err)
        log(f"[clear] scene update refused, the served scene is unchanged: {attempt.update_refused}")


def ideal_prepared(scene: Scene | str) -> PreparedCloud:
    """The query-ready ideal cloud of ``scene`` (ground-truth surface points and labels, as the judge samples them)."""
    truth = ground_truth(scene, points_per_part=EVALUATION_POINTS_PER_PART)
    return prepare_query_cloud(scene_cloud_from_ground_truth(truth))


def causes_alone(scene: Scene | str, encoder: TextEncoder, params: QueryParams | None = None,
                 gripper: ParallelJawGripper | None = None, object_ids: list[int] | None = None) -> dict[int, str]:
    """Each object alone in the scene (table and tote kept, every other object taken out), asked for by colour and
    name on the ideal cloud and the answer executed in physics: original id -> failure cause ("" when lifted).

    An object that fails alone fails in every order of a clearing run, with perfect features and nothing in the
    way but the tote: the ceiling of :func:`clear_scene` for this hand in this scene.
    """
    params = params or QueryParams()
    gripper = gripper or params.grasp.gripper
    world = World(scene)
    prompts = dict(object_prompts(world.original))
    causes = {}
    for object_id in range(len(world.original.objects)) if object_ids is None else object_ids:
        world.present = [object_id]
        cell = OfflineCell(ideal_prepared(world.scene()), encoder, params)
        answer = cell.ask(prompts[object_id])
        outcome = (world.execute(object_id, answer, gripper, params.suction.cup)[0].outcome if answer.success
                   else "refused")
        causes[object_id] = failure_cause(answer, outcome)
    return causes


def clear_report(world: World, attempts: list[Attempt], arm_motion_s: float) -> dict[str, Any]:
    """The clearing result: cleared / total, wrong-object lifts, failures by cause, picks per hour."""
    total = len(world.original.objects)
    cleared = sorted({a.object_id for a in attempts if a.outcome == "lifted"})
    wrong = [a for a in attempts if a.outcome == "lifted_other"]
    final = {a.object_id: a for a in attempts}  # each object's last attempt
    causes = Counter(a.cause for a in final.values() if a.cause and a.object_id not in cleared)
    executed = sum(a.answer.success for a in attempts)
    pushes = [a.push.outcome for a in attempts if a.push is not None]
    query_s = sum(a.answer.compute_s for a in attempts)
    update_s = sum(a.update_s or 0.0 for a in attempts)
    cycle_s = query_s + update_s + (executed + len(pushes)) * arm_motion_s
    return {
        "scene": world.original.name, "objects": total, "cleared": len(cleared),
        "cleared_share": round(len(cleared) / total, 3) if total else None,
        "wrong_object_lifts": len(wrong), "attempts": len(attempts), "grasps_executed": executed,
        "pushes_executed": len(pushes), "pushes_by_outcome": dict(Counter(pushes)),
        "updates_refused": sum(a.update_refused is not None for a in attempts),
        "failures_by_cause": {cause: causes.get(cause, 0) for cause in CAUSES},
        "failure_attempts_by_cause": dict(Counter(a.cause for a in attempts if a.cause)),
        "not_cleared": [world.original.object_label(i) for i in range(total) if i not in cleared],
        "compute_s": {"query_total": round(query_s, 2), "update_total": round(update_s, 2),
                      "per_attempt_query_mean": round(query_s / max(len(attempts), 1), 3),
                      "per_update_mean": round(update_s / max(sum(a.update_s is not None for a in attempts), 1), 3)},
        "arm_motion_s_per_grasp": arm_motion_s,
        "picks_per_hour": round(3600.0 * len(cleared) / cycle_s, 1) if cycle_s > 0 else None,
        "picks_per_hour_assumption": (f"{arm_motion_s:g} s of arm motion per executed grasp or push (approach, "
                                      f"lift, place, back to the overview pose; assumed, not measured) plus the "
                                      f"measured query and scene-update compute time of every attempt"),
        "attempt_log": [a.to_json() for a in attempts],
    }


def print_report(report: dict[str, Any], log: Callable[[str], None] = print) -> None:
    causes = ", ".join(f"{k} {v}" for k, v in report["failures_by_cause"].items() if v) or "none"
    log(f"[clear] {report['scene']}: cleared {report['cleared']}/{report['objects']}, wrong-object lifts "
        f"{report['wrong_object_lifts']}, failures by cause: {causes}; {report['attempts']} attempts, "
        f"{report['updates_refused']} scene updates refused, {report['pushes_executed']} pushes "
        f"{report['pushes_by_outcome'] or ''}, "
        f"{report['picks_per_hour']} picks/h ({report['picks_per_hour_assumption']})")
