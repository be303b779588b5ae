"""`dff-grasp ask --json` prints the documented answer shape, built by the same code as the query service."""
from __future__ import annotations

import json
from pathlib import Path

from field_fixtures import ground_truth_field

from dff_grasp_ros.cli import main


def ask_json(capsys, field: Path, prompt: str, *options: str) -> tuple[int, dict]:
    code = main(["ask", "--field", str(field), prompt, "--json", "--device", "cpu", *options])
    return code, json.loads(capsys.readouterr().out)


def test_ask_json_answer_has_the_documented_shape(tmp_path: Path, capsys):
    fields = tmp_path / "fields"
    ground_truth_field(fields, scene="tiny")
    code, answer = ask_json(capsys, fields, "mug handle")  # a fields directory: its newest field is used
    assert code == 0 and answer["success"] is True
    grasp = answer["grasp"]
    assert grasp["frame_id"] == "base_link" and len(grasp["position_m"]) == 3 and len(grasp["quaternion_xyzw"]) == 4
    assert 0 < grasp["width_m"] <= 0.08 and 0 < grasp["score"] <= 1 and len(grasp["pre_grasp_position_m"]) == 3
    assert grasp["end_effector"] == "parallel_jaw"  # the library's default tools: the jaws only
    assert answer["candidates"][0]["position_m"] == grasp["position_m"] and answer["relevancy_points"] > 1000
    assert answer["latency_s"] > 0 and "handle" in answer["message"]
    code, refused = ask_json(capsys, fields, "banana")
    assert code == 1 and refused["success"] is False and refused["grasp"] is None and refused["candidates"] == []
    assert "not found" in refused["message"]


def test_ask_text_prints_plain_numbers(tmp_path: Path, capsys):
    """Before 2026-12-03 the text answer showed numpy reprs: position_m=[np.float64(0.05432), ...]."""
    fields = tmp_path / "fields"
    ground_truth_field(fields, scene="tiny")
    assert main(["ask", "--field", str(fields), "mug handle", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "np." not in out and "position_m=[" in out, out
    position = out.split("position_m=")[1].split("]")[0] + "]"
    assert len(json.loads(position)) == 3  # plain floats: the list reads back as JSON


def test_ask_refuses_cuda_where_there_is_none_as_fit_does(tmp_path: Path, capsys, monkeypatch):
    """Before 2026-12-03 `ask --device cuda` on a machine without a GPU answered on the CPU (exit 0), while
    `fit --device cuda` refused."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    fields = tmp_path / "fields"
    ground_truth_field(fields, scene="tiny")
    assert main(["ask", "--field", str(fields), "mug handle", "--device", "cuda"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip().splitlines() == [
        "dff-grasp ask: device 'cuda' requested but CUDA is not available here"]


def test_ask_takes_the_cells_tools_and_refuses_an_unknown_one_before_loading(tmp_path: Path, capsys):
    """`ask` answered with the jaws only (no way to ask offline what a cell with a cup would get)."""
    fields = tmp_path / "fields"
    ground_truth_field(fields, scene="tiny")
    # The cup alone finds no flat patch on the mug's handle: refused, saying so; the cup first and then the jaws:
    # the jaws answer.
    code, cup = ask_json(capsys, fields, "mug handle", "--end-effectors", "suction")
    assert code == 1 and "for the 20 mm suction cup: no patch of it seals" in cup["message"], cup["message"]
    code, both = ask_json(capsys, fields, "mug handle", "--end-effectors", "suction", "parallel_jaw")
    assert code == 0 and both["grasp"]["end_effector"] == "parallel_jaw"
    code = main(["ask", "--field", str(tmp_path / "nowhere"), "mug", "--end-effectors", "vacuum"])
    assert code == 2 and capsys.readouterr().err.strip().splitlines() == [
        "dff-grasp ask: --end-effectors vacuum: must name only parallel_jaw, suction, got 'vacuum'"]
