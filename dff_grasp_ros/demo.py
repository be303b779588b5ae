"""``dff-grasp demo``: the whole product on a built-in synthetic scene, over ROS, with artifacts to look at.

Brings up sim_camera + capture + trainer + query as separate processes (exactly what ``dff-grasp bringup --sim``
starts), captures a scan through ``/capture_views``, trains through ``/train_field`` (GPU when present; the
synthetic teacher, because no CLIP weights exist offline and the scene is simulated), asks ``/query_object`` for
a few prompts and writes, under ``--out``: ``relevancy_<prompt>.ply``, ``query_<prompt>.png`` (a camera view with
the relevancy heat map and the gripper), ``grasps.json`` (every answer, checked against the scene's ground truth)
and the nodes' logs.
"""
from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from dff_grasp_ros.bringup import default_params_file, launch_plan, start

ABSENT_PROMPT = "banana"


def scene_prompts(scene: Any) -> list[str]:
    """A prompt per graspable part the scene has ("mug handle"), colour-qualified when a type repeats."""
    from collections import Counter

    from dff_grasp_ros.sim import OBJECT_PARTS

    counts = Counter(o.type for o in scene.objects)
    prompts = []
    for obj in scene.objects:
        for part in OBJECT_PARTS[obj.type]:
            if part == "body":
                continue
            prompt = f"{obj.color} {obj.type} {part}" if counts[obj.type] > 1 else f"{obj.type} {part}"
            if prompt not in prompts:
                prompts.append(prompt)
    return prompts


def nearest_ground_truth_part(ground_truth: dict, point_m: np.ndarray) -> dict[str, Any]:
    """Which object part of the ground truth lies nearest ``point_m``, and how far (metres)."""
    best: dict[str, Any] = {"distance_m": float("inf")}
    for obj in ground_truth["objects"]:
        for part, data in obj["parts"].items():
            distance = float(np.min(np.linalg.norm(np.asarray(data["points"]) - point_m, axis=1)))
            if distance < best["distance_m"]:
                best = {"object_id": obj["id"], "type": obj["type"], "color": obj["color"], "part": part,
                        "distance_m": round(distance, 4)}
    return best


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "prompt"


def demo_environment(out_dir: Path) -> dict[str, str]:
    """Data under the output folder; a private ROS domain unless the user chose one (to watch in RViz)."""
    env = {"DFF_GRASP_HOME": str(out_dir / "data"), "HF_HUB_OFFLINE": "1",
           "ROS_AUTOMATIC_DISCOVERY_RANGE": os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")}
    env["ROS_DOMAIN_ID"] = os.environ.get("ROS_DOMAIN_ID") or str(random.randint(50, 99))
    return env


def _pick_method(device: str, method: str | None) -> tuple[str, str]:
    import torch

    cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    return ("cuda" if cuda else "cpu"), (method or ("dff" if cuda else "dff-tiny"))


def run_demo(scene: str = "tabletop", device: str = "auto", out_dir: Path = Path("out/demo"),
             steps: int | None = None, method: str | None = None, prompts: list[str] | None = None) -> int:
    from dff_grasp_ros import clients
    from dff_grasp_ros.sim import load_scene

    started = time.monotonic()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    scene_obj = load_scene(scene)
    device, method = _pick_method(device, method)
    prompts = prompts or scene_prompts(scene_obj) + [ABSENT_PROMPT]
    env = demo_environment(out_dir)
    os.environ.update(env)  # our own clients must join the nodes' domain
    print(f"[demo] scene {scene_obj.name!r}, device {device}, method {method}, ROS_DOMAIN_ID {env['ROS_DOMAIN_ID']}"
          f" (nodes' logs in {out_dir / 'logs'})")
    plan = launch_plan(default_params_file(), sim_scene=str(scene), device=device, teacher="synthetic",
                       extra={"trainer": {"method": method}, "sim_camera": {"rate_hz": 10.0}})
    group = start(plan, env=env, log_dir=out_dir / "logs")
    try:
        capture = clients.capture_views(scene_obj.scan.views, timeout_s=300.0)
        if not capture.success:
            raise RuntimeError(f"capture failed: {capture.message}")
        trained = clients.train_field(max_steps=steps or 0)
        if not trained.success:
            raise RuntimeError(f"training failed: {trained.message}")
        wait_for_field(trained.checkpoint_path)
        report = answer_prompts(prompts, Path(capture.dataset_path), trained.checkpoint_path, scene_obj, out_dir)
    except Exception as err:  # noqa: BLE001 - report and exit non-zero; the finally stops every node
        print(f"[demo] FAILED: {err}", file=sys.stderr)
        return 1
    finally:
        group.stop()
    report.update({"scene": scene_obj.name, "device": device, "method": method,
                   "dataset": capture.dataset_path, "field": trained.checkpoint_path,
                   "training_time_s": round(trained.training_time_s, 1),
                   "total_time_s": round(time.monotonic() - started, 1)})
    (out_dir / "grasps.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"[demo] done in {report['total_time_s']:.0f} s; artifacts in {out_dir}")
    return 0 if report["all_on_asked_part"] else 3


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


def answer_prompts(prompts: list[str], dataset_dir: Path, field_path: str, scene: Any, out_dir: Path) -> dict:
    from dff_grasp_ros import clients
    from dff_grasp_ros.dataset import load_dataset
    from dff_grasp_ros.grasp.gripper import ParallelJawGripper
    from dff_grasp_ros.report import draw_query_png, heat_colours, write_ply
    from dff_grasp_ros.ros_io.pointcloud import pointcloud2_to_arrays
    from dff_grasp_ros.ros_io.pose import pose_to_matrix
    from dff_grasp_ros.sim import ground_truth

    truth = ground_truth(scene)
    dataset = load_dataset(dataset_dir)
    view = dataset.frames[0]
    rgb = dataset.load_rgb(view)
    answers = []
    for prompt in prompts:
        response = clients.query_object(prompt)
        answer = clients.response_to_json(response)
        answer["prompt"] = prompt
        name = slug(prompt)
        if response.relevancy_cloud.width:
            cloud = pointcloud2_to_arrays(response.relevancy_cloud)
            write_ply(out_dir / f"relevancy_{name}.ply", cloud.points_m, heat_colours(cloud.relevancy))
            tcp = pose_to_matrix(response.grasp_pose.pose) if response.success else None
            boxes = ParallelJawGripper().boxes(response.grasp_width_m + 0.01) if response.success else None
            draw_query_png(out_dir / f"query_{name}.png", rgb, dataset.intrinsics, view.camera_to_base,
                           cloud.points_m, cloud.relevancy, title=f"{prompt!r}: {response.message}",
                           tcp_to_base=tcp, gripper_boxes=boxes)
        if response.success:
            answer["ground_truth"] = nearest_ground_truth_part(truth, np.asarray(answer["grasp"]["position_m"]))
        answers.append(answer)
        print_answer(answer)
    return {"answers": answers, "all_on_asked_part": all(on_asked_part(a) for a in answers)}


def on_asked_part(answer: dict) -> bool:
    """Present objects must be grasped on the asked part; the absent one must be refused."""
    words = set(answer["prompt"].split())
    if answer["prompt"] == ABSENT_PROMPT:
        return not answer["success"]
    if not answer["success"]:
        return False
    hit = answer["ground_truth"]
    return hit["type"] in words and hit["part"] in words and (hit["color"] in words or not words - {hit["type"],
                                                                                                   hit["part"]})


def print_answer(answer: dict) -> None:
    if not answer["success"]:
        print(f"[demo] {answer['prompt']!r}: no grasp ({answer['message']})")
        return
    g, hit = answer["grasp"], answer["ground_truth"]
    print(f"[demo] {answer['prompt']!r}: grasp at {np.round(g['position_m'], 3).tolist()} m, width "
          f"{g['width_m'] * 100:.1f} cm, score {g['score']:.2f} -> on the {hit['color']} {hit['type']}'s "
          f"{hit['part']} ({hit['distance_m'] * 1000:.0f} mm from its surface)")
