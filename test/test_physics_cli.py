"""``dff-grasp sim execute``: an answer's JSON in, the physics outcome as JSON out (also on failure)."""
from __future__ import annotations

import json

from scipy.spatial.transform import Rotation

from dff_grasp_ros.cli import main
from dff_grasp_ros.query.pipeline import QueryParams, plan_query
from dff_grasp_ros.synthetic import ground_truth, vocabulary
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth


def answer_json(prompt: str) -> dict:
    """What ``dff-grasp ask --json`` prints for ``prompt`` on an ideal cloud of two_mugs (same keys)."""
    truth = ground_truth("two_mugs")
    result = plan_query(scene_cloud_from_ground_truth(truth),
                        vocabulary.embed_phrases, prompt, QueryParams())
    g = result.grasp
    return {"success": True, "message": result.message,
            "grasp": {"position_m": g.position_m.tolist(),
                      "quaternion_xyzw": Rotation.from_matrix(g.rotation).as_quat().tolist(),
                      "width_m": g.width_m, "opening_m": g.opening_m, "score": 1.0,
                      "pre_grasp_position_m": (g.position_m - 0.1 * g.rotation[:, 2]).tolist(),
                      "frame_id": "base_link"},
            "candidates": [], "relevancy_points": 0, "latency_s": 0.1}


def run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["sim", "execute", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_execute_prints_the_outcome(tmp_path, capsys):
    path = tmp_path / "answer.json"
    path.write_text(json.dumps({**answer_json("blue mug handle"), "prompt": "blue mug handle"}))
    code, out = run(capsys, "--scene", "two_mugs", "--answer", str(path))
    assert code == 0 and out["success"] and out["outcome"] == "lifted", out
    assert out["asked_object_id"] == 1 and out["rise_m"][1] >= 0.08
    # The same grasp, said to be for the red mug, lifts the wrong one: the object comes from the prompt.
    code, out = run(capsys, "--scene", "two_mugs", "--answer", str(path), "--prompt", "red mug")
    assert code == 0 and out["outcome"] == "lifted_other", out


def test_execute_fails_in_json_with_a_message(tmp_path, capsys):
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(answer_json("blue mug handle")))  # no "prompt" in it
    code, out = run(capsys, "--scene", "two_mugs", "--answer", str(answer))
    assert code == 2 and out == {"success": False, "message": out["message"]} and "--prompt" in out["message"]
    code, out = run(capsys, "--scene", "two_mugs", "--answer", str(tmp_path / "missing.json"), "--prompt", "mug")
    assert code == 2 and not out["success"] and "missing.json" in out["message"]
    (tmp_path / "bad.json").write_text("{not json")
    code, out = run(capsys, "--scene", "two_mugs", "--answer", str(tmp_path / "bad.json"), "--prompt", "mug")
    assert code == 2 and "bad.json" in out["message"]
    code, out = run(capsys, "--scene", "two_mugs", "--answer", str(answer), "--prompt", "mug handle")
    assert code == 2 and "matches 2 objects" in out["message"]
    code, out = run(capsys, "--scene", "no_such_scene", "--answer", str(answer), "--prompt", "red mug")
    assert code == 2 and "no_such_scene" in out["message"]


def test_a_failure_is_also_the_one_line_on_stderr(tmp_path, capsys):
    """Every command's failure contract (README "Errors"): before 2026-12-02 `sim execute` printed only the JSON,
    and an answer nested too deeply for the JSON parser was an 'unexpected' RecursionError."""
    (tmp_path / "deep.json").write_text("[" * 100_000)
    code = main(["sim", "execute", "--scene", "two_mugs", "--answer", str(tmp_path / "deep.json"), "--prompt", "mug"])
    captured = capsys.readouterr()
    message = json.loads(captured.out)["message"]
    assert code == 2 and "deep.json is nested too deeply" in message
    assert captured.err.splitlines() == [f"dff-grasp sim: {message}"]


def test_an_answer_out_of_reach_is_refused_not_executed(tmp_path, capsys):
    """Before 2026-12-02 an opening of 1e300 m "lifted" the mug, a position 1e300 m away made MuJoCo print
    instability warnings and answered success, a 2-number pre-grasp was "cannot reshape array of size 2"; a grasp
    in frame "map" was executed as if in base_link (the simulated world's frame)."""
    good = answer_json("blue mug handle")
    for change, says in [({"opening_m": 1e300}, "out of reach"), ({"position_m": [1e300, 0.0, 0.0]}, "out of reach"),
                         ({"pre_grasp_position_m": [1.0, 2.0]}, "pre_grasp_position_m must be a list of 3 numbers"),
                         ({"frame_id": "map"}, "the answer's grasp is in frame 'map', the simulated world's is "
                                               "'base_link'"),
                         ({"frame_id": 7}, "the answer's grasp is in frame 7")]:
        path = tmp_path / "answer.json"
        path.write_text(json.dumps({**good, "grasp": {**good["grasp"], **change}}))
        code = main(["sim", "execute", "--scene", "two_mugs", "--answer", str(path), "--prompt", "blue mug"])
        captured = capsys.readouterr()
        assert code == 2 and says in json.loads(captured.out)["message"], captured
        assert len(captured.err.splitlines()) == 1, captured.err


def test_an_answer_with_an_integer_past_a_float_is_refused_naming_the_entry(tmp_path, capsys):
    """Before 2026-12-03 a position of 10**400 (JSON allows it) was "OverflowError: int too large to convert to
    float (unexpected...)", naming neither the file nor the field."""
    good = answer_json("blue mug handle")
    for change, says in [({"position_m": [10**400, 0.0, 0.0]}, "position_m[0] must be a finite number, got an "
                                                               "integer of 401 digits"),
                         ({"opening_m": 10**400}, "opening_m must be a finite number, got an integer of 401 digits"),
                         ({"pre_grasp_position_m": [0.0, 0.0, 10**400]}, "pre_grasp_position_m[2] must be a finite "
                                                                          "number")]:
        path = tmp_path / "answer.json"
        path.write_text(json.dumps({**good, "grasp": {**good["grasp"], **change}}))
        code = main(["sim", "execute", "--scene", "two_mugs", "--answer", str(path), "--prompt", "blue mug"])
        captured = capsys.readouterr()
        assert code == 2 and says in json.loads(captured.out)["message"], (change, captured)
        assert captured.err.splitlines() == [f"dff-grasp sim: {json.loads(captured.out)['message']}"]


def test_each_malformed_answer_gets_its_own_reason_naming_the_file(tmp_path, capsys):
    """Before 2026-12-03 a position [[1], [2], [3]] or [true, false, true] was executed (exit 0, "missed"), a
    negative opening was called "non-finite", a NaN or zero quaternion was scipy's "Found zero norm quaternions",
    an answer saying success false was executed all the same, and no message named the answer's file."""
    good = answer_json("blue mug handle")
    grasp = good["grasp"]
    path = tmp_path / "answer.json"
    for answer, says in [
            ({**good, "grasp": {**grasp, "position_m": [[1], [2], [3]]}},
             "position_m must be a list of 3 numbers, got [[1], [2], [3]]"),
            ({**good, "grasp": {**grasp, "position_m": [True, False, True]}},
             "position_m[0] must be a finite number, got True"),
            ({**good, "grasp": {**grasp, "opening_m": -1}}, "opening_m must be positive, got -1"),
            ({**good, "grasp": {**grasp, "quaternion_xyzw": [float("nan"), 1, 0, 0]}},
             "quaternion_xyzw[0] must be a finite number, got nan"),
            ({**good, "grasp": {**grasp, "quaternion_xyzw": [0, 0, 0, 0]}},
             "quaternion_xyzw: quaternion [0.0, 0.0, 0.0, 0.0] has norm 0.000000"),
            ({**good, "success": False}, "says success false: it is no grasp to execute"),
            ({**good, "success": "yes"}, "'success' must be true or false, got 'yes'")]:
        path.write_text(json.dumps(answer))
        code = main(["sim", "execute", "--scene", "two_mugs", "--answer", str(path), "--prompt", "blue mug"])
        captured = capsys.readouterr()
        message = json.loads(captured.out)["message"]
        assert code == 2 and message.startswith(f"answer {path}: ") and says in message, (says, message)
        assert captured.err.splitlines() == [f"dff-grasp sim: {message}"]


def test_an_answer_for_one_of_two_identical_objects_is_judged_on_the_one_it_holds(tmp_path, capsys):
    """Two red mugs: "red mug" names both and either is right. Before: refused, "'red mug' matches 2 objects of the
    scene; name a colour" (the prompt names one). Now physics judges it on the red mug nearest to the grasp."""
    from dff_grasp_ros.synthetic import load_scene

    data = load_scene("two_mugs").to_dict()
    data["objects"][0]["color"] = "blue"  # the grasp below holds mug 1: the twin listed second
    scene = tmp_path / "twins.yaml"
    scene.write_text(json.dumps({**data, "name": "twins"}))
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(answer_json("blue mug handle")))
    code, out = run(capsys, "--scene", str(scene), "--answer", str(path), "--prompt", "blue mug")
    assert code == 0 and out["outcome"] == "lifted" and out["asked_object_id"] == 1, out
