"""The demo's answer path executes each answer in physics, draws the strip and reports the outcome (no ROS here:
the answer JSON is what ``/query_object`` gives, built from a planned grasp on an ideal cloud)."""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.spatial.transform import Rotation

from dff_grasp_ros.demo import execute_and_draw, print_answer
from dff_grasp_ros.query.pipeline import QueryParams, plan_query
from dff_grasp_ros.synthetic import ground_truth, load_scene, vocabulary
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth


def test_an_answer_is_executed_drawn_and_printed(tmp_path, capsys):
    scene = load_scene("tiny")
    truth = ground_truth(scene)
    result = plan_query(scene_cloud_from_ground_truth(truth),
                        vocabulary.embed_phrases, "mug handle", QueryParams())
    g = result.grasp
    answer = {"success": True, "message": result.message, "prompt": "mug handle", "correct": None,
              "grasp": {"position_m": g.position_m.tolist(),
                        "quaternion_xyzw": Rotation.from_matrix(g.rotation).as_quat().tolist(),
                        "width_m": g.width_m, "opening_m": g.opening_m, "score": g.score,
                        "pre_grasp_position_m": g.pre_grasp_position_m.tolist(), "frame_id": "base_link"}}
    png = tmp_path / "execute_mug_handle.png"
    answer["executed"] = execute_and_draw(scene, answer, truth, png, QueryParams())
    assert answer["executed"]["outcome"] == "lifted", answer["executed"]
    strip = np.asarray(Image.open(png))
    assert strip.shape[1] > 2 * strip.shape[0]  # three panels side by side
    print_answer(answer)
    assert "physics: LIFTED" in capsys.readouterr().out
    # A prompt that names no object of the scene is reported, not executed.
    refused = execute_and_draw(scene, {**answer, "prompt": "banana"}, truth, tmp_path / "x.png", QueryParams())
    assert refused["success"] is False and "banana" in refused["message"] and not (tmp_path / "x.png").exists()
