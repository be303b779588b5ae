"""``dff-grasp demo``: the whole product on a built-in synthetic scene, over ROS, with artifacts to look at.

Brings up sim_camera + capture + trainer + query as separate processes (exactly what ``dff-grasp bringup --sim``
starts), captures a scan through ``/capture_views``, trains through ``/train_field`` (GPU when present; the
synthetic teacher, because no CLIP weights exist offline and the scene is simulated), asks ``/query_object`` for
a few prompts and writes, under ``--out``: ``relevancy_<prompt>.ply``, ``query_<prompt>.png`` (a camera view with
the relevancy heat map and the gripper), ``execute_<prompt>.png`` (the grasp executed in physics: approach, closed,
lifted), ``grasps.json`` (every answer, checked against the scene's ground truth and executed in physics) and the
nodes' logs. Physics runs here, after each answer; the query node never calls it.

``--out`` shows one run: the run writes into a hidden folder there and its outputs then take the place of the
earlier run's (:class:`RunOutputs`; a failed run's report says why it failed, an interrupted run leaves the earlier
one as it was). A folder holding anything the demo does not write is refused, so nothing of the user's is removed.

``dff-grasp demo --scene bin --clear`` (:func:`run_clear`) clears the scene instead, over the same nodes: scan and
train once, then for each object ask ``/query_object`` for it by colour and name, execute the answer in physics
on the current world, take what was lifted out of the simulated world (``/sim_camera/set_scene``), let the sim
camera show the new scene from above, call ``/dff/update_scene``, and go on; a failed object is asked for once
more after the others (the loop, world and report: :mod:`dff_grasp_ros.synthetic.clearing`). Writes
``clear.json`` and a picture strip per pick.
"""
from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dff_grasp_ros.atomic import PARTIAL_PREFIX, check_output_root, discard_dir, make_staging_dir, swap_in_entries
from dff_grasp_ros.bringup import default_params_file, launch_plan, start
from dff_grasp_ros.errors import InputError, one_line

ABSENT_PROMPT = "banana"
UNJUDGED = -2  # object id of a prompt whose right answer is unknown
DEMO_NODES = ("capture", "trainer", "query")  # no hand_eye: the simulated camera's mount is known
SIM_RATE_HZ = 8.0  # views are rendered ahead from the start (~0.25 s each at 640x480); a frame waits for its view
CAPTURE_TIMEOUT_S = 150.0


# The parts a 300-step CPU field located on every training run measured (seven tabletop fields, bench/RESULTS.md).
# The knife blade, bottle cap and screwdriver shaft were refused on some runs ("no part of it stands out"):
# asking for them would make the demo's verdict depend on the run. Ask yourself: --prompt "knife blade".
DEMO_PARTS = ("handle",)


def demo_prompts(truth: dict) -> list[tuple[str, int | None, str | None]]:
    """(prompt, object id, part): one prompt per graspable part of the scene, then an absent object."""
    from dff_grasp_ros.synthetic.judge import scene_prompts

    seen, prompts = set(), []
    for prompt, object_id, part in scene_prompts(truth, absent=(ABSENT_PROMPT,)):
        if object_id is None and prompt != ABSENT_PROMPT:
            continue  # other absent catalogue types: one absent prompt shows the refusal
        if object_id is not None and (part not in DEMO_PARTS or (object_id, part) in seen):
            continue
        seen.add((object_id, part))
        prompts.append((prompt, object_id, part))
    return prompts


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "prompt"


def demo_environment(out_dir: Path) -> dict[str, str]:
    """Data in a new folder per run under the output folder (a field left by an earlier run must not answer this
    run's queries); a private ROS domain unless the user chose one (to watch in RViz)."""
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    run_dir = tempfile.mkdtemp(prefix=time.strftime("run_%Y%m%d_%H%M%S_"), dir=out_dir / "data")
    env = {"DFF_GRASP_HOME": run_dir, "HF_HUB_OFFLINE": "1",
           "ROS_AUTOMATIC_DISCOVERY_RANGE": os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")}
    env["ROS_DOMAIN_ID"] = os.environ.get("ROS_DOMAIN_ID") or str(random.randint(50, 99))
    return env


# What a run writes at the top of --out, besides logs/ (the nodes' *.log) and data/ (every run's datasets and
# fields, each in its own folder: kept, since reports name them).
REPORTS = ("grasps.json", "clear.json")
OUTPUT_PATTERNS = (*REPORTS, "relevancy_*.ply", "query_*.png", "execute_*.png", "pick_[0-9][0-9]_*.png")
LOGS, DATA = "logs", "data"


def _not_the_demos(path: Path) -> Path | None:
    """``path`` (or, in logs/, the first entry) when the demo did not write it; None for an earlier run's output."""
    if path.name == LOGS and path.is_dir():
        return next((entry for entry in sorted(path.iterdir()) if not (entry.is_file() and entry.suffix == ".log")),
                    None)
    return None if path.is_file() and any(fnmatch.fnmatchcase(path.name, p) for p in OUTPUT_PATTERNS) else path


def earlier_outputs(out_dir: Path, refuse_others: bool = True) -> list[Path]:
    """The outputs an earlier run left at the top of ``out_dir`` (data/ and staging folders aside); with
    ``refuse_others``, InputError naming the first entry the demo did not write (else such entries are left)."""
    outputs = []
    for path in sorted(out_dir.iterdir()) if out_dir.is_dir() else []:
        if path.name.startswith(PARTIAL_PREFIX) or (path.name == DATA and path.is_dir()):
            continue
        foreign = _not_the_demos(path)
        if foreign is None:
            outputs.append(path)
        elif refuse_others:
            raise InputError(f"--out {out_dir}: {foreign} was not written by the demo, which replaces an earlier "
                             f"run's outputs there; give it a new or empty folder")
    return outputs


class RunOutputs:
    """One run's outputs under ``--out``: written into a hidden staging folder there (``dir``), then put in place of
    the earlier run's by :meth:`publish` (the report leaves first and arrives last: a report is only ever beside its
    own run's files). Leaving the ``with`` block unpublished (Ctrl-C, a node that cannot start) removes the
    staging folder and leaves the earlier run as it was."""

    def __init__(self, out_dir: Path, report_name: str) -> None:
        self.out_dir = check_output_root(Path(out_dir).resolve())
        earlier_outputs(self.out_dir)  # refuse a folder of the user's before any node starts
        self.report_name = report_name
        self.dir = make_staging_dir(self.out_dir, "demo")

    def __enter__(self) -> RunOutputs:
        return self

    def __exit__(self, *exc: object) -> None:
        discard_dir(self.dir)  # nothing left once published

    def publish(self, report: dict) -> None:
        (self.dir / self.report_name).write_text(json.dumps(report, indent=2) + "\n")
        swap_in_entries(self.dir, self.out_dir, earlier_outputs(self.out_dir, refuse_others=False), last=REPORTS)


def _pick_method(device: str, method: str | None, steps: int | None) -> tuple[str, str]:
    """(device, method) for the run; InputError before any node starts for what would fail only later (the
    training steps are sent after the whole scan; a trainer told to use a missing GPU stops at start). torch is
    asked only when the machine has a GPU device at all: importing it held the nodes' start back ~3 s."""
    from dff_grasp_ros.errors import InputError
    from dff_grasp_ros.goals import check_train_request
    from dff_grasp_ros.resources import gpu_device_present

    check_train_request(steps or 0)
    if device == "cpu" or (device == "auto" and not gpu_device_present()):
        return "cpu", method or "dff-tiny"
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda, but torch sees no CUDA GPU here; use --device auto or cpu")
    cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    return ("cuda" if cuda else "cpu"), (method or ("dff" if cuda else "dff-tiny"))


def _checked_run(scene: str, device: str, method: str | None, steps: int | None,
                 end_effectors: list[str] | None = None) -> tuple[str, str, dict[str, list[str]]]:
    """(device, method, the nodes' plan): :func:`_pick_method`, then the plan made (every parameter, --method and
    --end-effectors among them, checked) before --out is touched: --method nope was refused only once --out held a
    new data/run_* folder. The nodes are started from this plan."""
    device, method = _pick_method(device, method, steps)
    return device, method, demo_plan(scene, device, method, end_effectors=end_effectors)


def demo_end_effectors(asked: list[str] | None, clear: bool) -> list[str] | None:
    """The query node's ``end_effectors`` for a demo run: ``--end-effectors`` when given, else the clearing demo's
    (``synthetic.clearing.CLEARING_END_EFFECTORS``: the jaws first, the suction cup for what they cannot take),
    else None (the parameter file's: the plain demo keeps the jaws only)."""
    if asked is not None:
        return list(asked)
    if not clear:
        return None
    from dff_grasp_ros.synthetic.clearing import CLEARING_END_EFFECTORS  # what run_clear imports anyway

    return list(CLEARING_END_EFFECTORS)


def run_demo(scene: str = "tabletop", device: str = "auto", out_dir: Path = Path("out/demo"),
             steps: int | None = None, method: str | None = None, prompts: list[str] | None = None,
             end_effectors: list[str] | None = None) -> int:
    from dff_grasp_ros.synthetic import ground_truth, load_scene
    from dff_grasp_ros.synthetic.judge import EVALUATION_POINTS_PER_PART

    started = time.monotonic()
    scene_obj = load_scene(scene)
    device, method, plan = _checked_run(scene, device, method, steps, demo_end_effectors(end_effectors, False))

    def prepare() -> Callable[[Any], Any]:
        truth = ground_truth(scene_obj, EVALUATION_POINTS_PER_PART)  # dense: a finger must not slip between points
        # The user's own prompts have no known answer: they are reported, not judged.
        asked = [(p, UNJUDGED, None) for p in prompts] if prompts else demo_prompts(truth)
        params = cell_query_params()
        return lambda capture: answer_prompts(asked, Path(capture.dataset_path), truth, outputs.dir, params)

    with RunOutputs(out_dir, "grasps.json") as outputs:
        done = _on_nodes(outputs, plan, scene_obj, device, method, steps, prepare)
        if done is None:
            return 1
        capture, trained, report = done
        report.update({"success": True, "scene": scene_obj.name, "device": device, "method": method,
                       "dataset": capture.dataset_path, "field": trained.checkpoint_path,
                       "training_time_s": round(trained.training_time_s, 1),
                       "total_time_s": round(time.monotonic() - started, 1)})
        outputs.publish(report)
    print(f"[demo] done in {report['total_time_s']:.0f} s; artifacts in {outputs.out_dir}")
    return 0 if report["all_correct"] else 3


def _on_nodes(outputs: RunOutputs, plan: dict[str, list[str]], scene_obj: Any, device: str, method: str,
              steps: int | None, prepare: Callable[[], Callable[[Any], Any]]) -> tuple[Any, Any, Any] | None:
    """Bring the nodes of ``plan`` up, scan, train and run ``work(capture result)``, ``work`` being what
    ``prepare()`` returns, then stop the nodes; (capture, training, work's) results, or None when a step failed:
    said, and published as the run's report with its logs (and what it drew), so that the earlier run's report is
    not left in --out as if it were this run's. ``prepare`` runs while the nodes start (the demo's ground truth
    took 1.4 s before they did)."""
    group = bring_up(plan, scene_obj.name, device, method, outputs.out_dir, log_dir=outputs.dir / LOGS)
    try:
        work = prepare()
        capture, trained = scan_and_train(scene_obj, steps)
        return capture, trained, work(capture)
    except Exception as err:
        failure = err
    finally:
        group.stop()  # before a failure is published: the logs are complete
    print(f"[demo] FAILED: {failure}", file=sys.stderr)
    outputs.publish({"success": False, "message": one_line(failure), "scene": scene_obj.name, "device": device,
                     "method": method})
    return None


def trainer_cpu_threads(cores: int | None = None) -> int:
    """CPU threads for the demo's trainer: one per core this process may use, but one (``cores``: that count, else
    asked of the system). Fixed, not chosen as it trains (the trainer's default, ``field.cpu_threads``): the
    threads change a field's float rounding, and the choice varied between runs on an idle machine (three demos
    on 2026-12-03 15:20: two threads in one, 55 ms per step against 67 on one; one thread in the others, 80-81 ms
    against 81-92 on two). Fixed, the demo trains the same field every run, for ~4 s more training at most."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores - 1)


def bring_up(plan: dict[str, list[str]], scene_name: str, device: str, method: str, out_dir: Path, *,
             log_dir: Path) -> Any:
    """The nodes of ``plan`` (:func:`demo_plan`) as processes on a private ROS domain (our own clients join it),
    their data in a new folder under ``out_dir/data`` and their logs in ``log_dir``; the started group."""
    env = demo_environment(out_dir)
    os.environ.update(env)  # our own clients must join the nodes' domain
    print(f"[demo] scene {scene_name!r}, device {device}, method {method}, ROS_DOMAIN_ID {env['ROS_DOMAIN_ID']}"
          f" (nodes' logs in {log_dir}, then in {out_dir / LOGS})")
    return start(plan, env=env, log_dir=log_dir)


def demo_plan(scene: str, device: str, method: str, cores: int | None = None,
              end_effectors: list[str] | None = None) -> dict[str, list[str]]:
    """The demo's nodes and their command lines (``cores``: see :func:`trainer_cpu_threads`; ``end_effectors``:
    the query node's, None for the parameter file's)."""
    return launch_plan(default_params_file(), sim_scene=str(scene), device=device, teacher="synthetic",
                       end_effectors=end_effectors,
                       extra={"trainer": {"method": method, "cpu_threads": trainer_cpu_threads(cores)},
                              "sim_camera": {"rate_hz": SIM_RATE_HZ}},
                       nodes=DEMO_NODES)


def scan_and_train(scene_obj: Any, steps: int | None) -> tuple[Any, Any]:
    """Capture the scan and train a field over ROS; (capture result, training result) once the query node
    answers from the new field."""
    from dff_grasp_ros import clients

    # Ask for every view of the scan and stop when the sim camera says its scan is done (ScanStatus): no
    # waiting for views that cannot come. The timeout is only a safety net.
    capture = clients.capture_views(scene_obj.scan.views, timeout_s=CAPTURE_TIMEOUT_S, until_scan_done=True)
    if not capture.success:
        raise RuntimeError(f"capture failed: {capture.message}")
    trained = clients.train_field(max_steps=steps or 0)
    if not trained.success:
        raise RuntimeError(f"training failed: {trained.message}")
    wait_for_field(trained.checkpoint_path)
    return capture, trained


def wait_for_field(field_path: str, timeout_s: float = 60.0) -> None:
    """The query node loads the new field in the background; wait until it answers from it."""
    from dff_grasp_ros import clients

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = clients.query_object("object")
        if "no trained field" not in response.message:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the query node did not load {field_path} within {timeout_s:.0f} s")


def cell_query_params() -> Any:
    """The query node's settings as the parameter file the demo starts it with sets them: each answer is judged,
    drawn and executed with the hand or cup the node planned it for (not the library's defaults)."""
    from dff_grasp_ros.nodes.param_file import node_values
    from dff_grasp_ros.nodes.params import QueryNodeParams, params_from_values
    from dff_grasp_ros.nodes.query import query_params

    values = node_values(default_params_file(), "query")
    return query_params(params_from_values(QueryNodeParams, "query", values))


def answer_prompts(prompts: list[tuple[str, int | None, str | None]], dataset_dir: Path, truth: dict,
                   out_dir: Path, params: Any) -> dict:
    """Ask each prompt over ROS; write its PLY and PNG; judge it against the ground truth, with the query node's
    tools (``params``: :func:`cell_query_params`)."""
    from dff_grasp_ros import clients
    from dff_grasp_ros.dataset import load_dataset
    from dff_grasp_ros.end_effectors import tool_model
    from dff_grasp_ros.grasp.suction_cup import SUCTION
    from dff_grasp_ros.report import draw_query_png, heat_colours, write_ply
    from dff_grasp_ros.ros_io.pointcloud import pointcloud2_to_arrays
    from dff_grasp_ros.ros_io.pose import pose_to_matrix
    from dff_grasp_ros.synthetic.judge import GroundTruthPoints, judge_answer
    from dff_grasp_ros.synthetic.labels import dataset_scene

    points = GroundTruthPoints.from_json(truth)
    dataset = load_dataset(dataset_dir)
    scene = dataset_scene(dataset)
    answers = []
    for prompt, object_id, part in prompts:
        response = clients.query_object(prompt)
        answer = clients.response_to_json(response)
        answer["prompt"] = prompt
        name = slug(prompt)
        if response.relevancy_cloud.width:
            cloud = pointcloud2_to_arrays(response.relevancy_cloud)
            write_ply(out_dir / f"relevancy_{name}.ply", cloud.points_m, heat_colours(cloud.relevancy))
            tcp = pose_to_matrix(response.grasp_pose.pose) if response.success else None
            tool = tool_model(response.end_effector, params) if response.success else None
            boxes = tool.boxes(response.grasp_opening_m) if tool is not None else None
            view = facing_view(dataset, tcp[:3, 3] if tcp is not None else np.median(cloud.points_m, axis=0))
            draw_query_png(out_dir / f"query_{name}.png", dataset.load_rgb(view), dataset.intrinsics,
                           view.camera_to_base,
                           cloud.points_m, cloud.relevancy, title=f"{prompt!r}: {response.message}",
                           tcp_to_base=tcp, gripper_boxes=boxes)
        answer["expected"] = {"object_id": object_id, "part": part}
        if response.success and object_id not in (None, UNJUDGED):
            verdict = judge_answer(points, answer, params.grasp.gripper, tool_model(SUCTION, params), object_id, part,
                                   table_z_m=0.0)
            answer["judged"] = _verdict_json(verdict, truth)
        if response.success:
            answer["executed"] = execute_and_draw(scene, answer, truth, out_dir / f"execute_{name}.png", params)
        if object_id == UNJUDGED:
            answer["correct"] = None
        elif object_id is None:
            answer["correct"] = not response.success
        else:
            answer["correct"] = bool(response.success and answer["judged"]["verdict"] == "correct")
        answers.append(answer)
        print_answer(answer)
    executed = [a["executed"] for a in answers if "executed" in a]
    lifted = f"{sum(e.get('outcome') == 'lifted' for e in executed)}/{len(executed)}"
    print(f"[demo] grasps lifted in physics: {lifted}")
    return {"answers": answers, "all_correct": all(a["correct"] is not False for a in answers), "lifted": lifted}


def execute_and_draw(scene: Any, answer: dict, truth: dict, png_path: Path, params: Any) -> dict:
    """Execute an answer's grasp in physics on the object its prompt names, with the tool it is for (``params``:
    the query node's); draw the strip; the outcome's JSON (``{"success": false, "message": ...}`` when it cannot be
    executed, e.g. a prompt naming no object)."""
    from dff_grasp_ros.end_effectors import tool_model
    from dff_grasp_ros.synthetic.physics import draw_execution_strip, execute_answer

    try:
        execution = execute_answer(scene, answer, truth=truth, gripper=params.grasp.gripper, cup=params.suction.cup)
    except ValueError as err:
        return {"success": False, "message": str(err)}
    draw_execution_strip(png_path, scene, execution, answer["prompt"], tool_model(execution.end_effector, params))
    return execution.to_json()


def _verdict_json(verdict: Any, truth: dict) -> dict:
    """The judge's verdict with the objects the fingers meet named as a person would ("red mug")."""
    names = {int(o["id"]): f"{o['color']} {o['type']}" for o in truth["objects"]}
    return {"verdict": verdict.label, "colliding_points": verdict.colliding_points,
            "contacts": [{"object": names.get(i, "nothing"), "object_id": i, "part": p or None}
                         for i, p in zip(verdict.contact_object_ids, verdict.contact_parts)]}


def facing_view(dataset: Any, target_m: np.ndarray) -> Any:
    """The captured view whose optical axis points most directly at ``target_m``."""
    def alignment(frame: Any) -> float:
        pose = np.asarray(frame.camera_to_base)
        to_target = target_m - pose[:3, 3]
        return float(pose[:3, 2] @ to_target / max(np.linalg.norm(to_target), 1e-9))

    return max(dataset.frames, key=alignment)


def print_answer(answer: dict) -> None:
    if not answer["success"]:
        verdict = {None: "", True: " (correct)", False: " (WRONG: expected a grasp)"}[answer["correct"]]
        print(f"[demo] {answer['prompt']!r}: no grasp ({answer['message']}){verdict}")
        return
    g = answer["grasp"]
    judged = answer.get("judged")
    if judged is None:
        verdict = "WRONG: should have been refused" if answer["correct"] is False else "not judged"
    else:
        touched = " / ".join(f"{c['object']} {c['part'] or ''}".strip() for c in judged["contacts"])
        word = judged["verdict"]
        verdict = f"fingers close on: {touched} -> {word if word == 'correct' else word.upper()}"
    executed = answer.get("executed")
    if executed is not None:
        physics = executed["outcome"].upper() if executed["success"] else "not executed"
        verdict += f"; physics: {physics} ({executed['message']})"
    tool = "suction cup" if g.get("end_effector") == "suction" else f"width {g['width_m'] * 100:.1f} cm"
    print(f"[demo] {answer['prompt']!r}: grasp at {np.round(g['position_m'], 3).tolist()} m, {tool}, "
          f"score {g['score']:.2f}; {verdict}")


# --- clear the bin (dff-grasp demo --clear) -----------------------------------------------------------------
SET_SCENE_TIMEOUT_S = 30.0
UPDATE_VIEW_WAIT_S = 10.0  # /dff/update_scene: the wait for the sim camera's next view (the node's default)


def run_clear(scene: str = "bin", device: str = "auto", out_dir: Path = Path("out/demo"), steps: int | None = None,
              method: str | None = None, arm_motion_s: float = 6.0, end_effectors: list[str] | None = None) -> int:
    """Clear the scene over ROS (see the module docstring); exit 0 when every object was cleared and nothing else
    was lifted, 3 otherwise (as the demo's "not all correct"), 1 when a step failed."""
    from dff_grasp_ros.synthetic import load_scene
    from dff_grasp_ros.synthetic.clearing import check_arm_motion_s, clear_report, clear_scene, print_report

    started = time.monotonic()
    check_arm_motion_s(arm_motion_s)
    scene_obj = load_scene(scene)
    device, method, plan = _checked_run(scene, device, method, steps, demo_end_effectors(end_effectors, True))

    def prepare() -> Callable[[Any], tuple[float, Any, Any]]:
        params = cell_query_params()  # while the nodes start

        def clear(capture: Any) -> tuple[float, Any, Any]:
            """(scan and training time, the world, the attempts)."""
            scanned_s = time.monotonic() - started
            return (scanned_s, *clear_scene(scene_obj, ask_over_ros, update_over_ros, pictures=outputs.dir,
                                            log=lambda line: print(line, flush=True), gripper=params.grasp.gripper,
                                            cup=params.suction.cup))
        return clear

    with RunOutputs(out_dir, "clear.json") as outputs:
        done = _on_nodes(outputs, plan, scene_obj, device, method, steps, prepare)
        if done is None:
            return 1
        capture, trained, (scanned_s, world, attempts) = done
        report = clear_report(world, attempts, arm_motion_s)
        report.update({"success": True, "device": device, "method": method, "dataset": capture.dataset_path,
                       "field": trained.checkpoint_path, "training_time_s": round(trained.training_time_s, 1),
                       "scan_and_train_s": round(scanned_s, 1),
                       "total_time_s": round(time.monotonic() - started, 1)})
        outputs.publish(report)
    print_report(report)
    print(f"[demo] done in {report['total_time_s']:.0f} s; clear.json and a picture per pick in {outputs.out_dir}")
    return 0 if report["cleared"] == report["objects"] and not report["wrong_object_lifts"] else 3


def ask_over_ros(prompt: str) -> Any:
    """``/query_object`` for ``prompt`` as the clearing loop's Answer (compute time: the service's own latency;
    the CLI client's node start-up and discovery are not the cell's)."""
    from dff_grasp_ros import clients
    from dff_grasp_ros.synthetic.clearing import Answer
    from dff_grasp_ros.synthetic.judge import answer_pose, answer_pre_grasp

    response = clients.query_object(prompt)
    answer = clients.response_to_json(response)
    if not response.success:
        return Answer(False, response.message, compute_s=float(response.latency_s), push=clients.push_plan(response))
    rotation, position, opening = answer_pose(answer)
    return Answer(True, response.message, rotation, position, opening, answer_pre_grasp(answer),
                  float(response.latency_s), answer["grasp"]["end_effector"])


def update_over_ros(world: Any) -> float:
    """Tell the sim camera the world changed, wait until it shows it, then ``/dff/update_scene``; the carving time
    the service reports."""
    from dff_grasp_ros import clients

    set_sim_scene(world.scene_dict())
    # An explicit view wait (the sim camera streams at rate_hz): a lost answer is then asked again after it,
    # not after the longest wait the node may be set to.
    response = clients.update_scene(timeout_s=UPDATE_VIEW_WAIT_S)
    if not response.success:  # refused, the served scene unchanged: the clearing loop counts it and goes on
        raise ValueError(f"scene update refused: {response.message}")
    print(f"[clear] {response.message}", flush=True)
    return float(response.latency_s)


def set_sim_scene(scene: dict, timeout_s: float = SET_SCENE_TIMEOUT_S) -> None:
    """Publish the changed world on ``/sim_camera/set_scene`` and wait until the sim camera latches it back on
    ``/sim_camera/scene`` (after that, every frame it publishes shows it)."""
    from rclpy.executors import SingleThreadedExecutor
    from std_msgs.msg import String

    from dff_grasp_ros import names
    from dff_grasp_ros.clients import RosCallError, ros_node
    from dff_grasp_ros.nodes.common import latched_qos

    wanted = json.loads(json.dumps(scene))["objects"]
    seen: list[bool] = []

    def on_scene(msg: Any) -> None:
        with contextlib.suppress(ValueError):  # an unreadable latch is not the answer
            seen.append(json.loads(msg.data).get("objects") == wanted)

    with ros_node("dff_grasp_set_scene") as node:
        node.create_subscription(String, names.SIM_SCENE_TOPIC, on_scene, latched_qos())
        node.create_publisher(String, names.SIM_SET_SCENE_TOPIC, latched_qos()).publish(
            String(data=json.dumps(scene)))
        executor = SingleThreadedExecutor(context=node.context)
        executor.add_node(node)
        deadline = time.monotonic() + timeout_s
        while not any(seen):
            if time.monotonic() > deadline:
                raise RosCallError(f"the sim camera did not show the changed scene within {timeout_s:.0f} s")
            executor.spin_once(timeout_sec=0.1)
        executor.remove_node(node)
