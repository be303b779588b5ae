"""`dff-grasp demo --out DIR` into a folder an earlier run wrote: DIR shows one run's outputs, never a mix, and
nothing the demo did not write is touched. The nodes are replaced by stand-ins (no ROS): only the output handling
runs. Before 2026-12-03 the earlier run's pictures stayed beside the new report (a prompt asked before, or refused
now, kept its old PNG and PLY), and a failed run left the earlier run's grasps.json ("all_correct": true) as if
it were its own."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from bad_inputs import refused, run_cli

import dff_grasp_ros.demo as demo
from dff_grasp_ros.atomic import PARTIAL_PREFIX
from dff_grasp_ros.cli import EXIT_ANSWERED_NO, EXIT_INTERRUPTED, EXIT_OK

EARLIER_REPORT = {"answers": [{"prompt": "mug handle", "success": True}], "all_correct": True, "lifted": "1/1"}


def earlier_run(out: Path) -> dict[str, bytes]:
    """``out`` as an earlier demo run left it (with its data folder); its files and their contents."""
    files = {"grasps.json": json.dumps(EARLIER_REPORT).encode(), "query_mug_handle.png": b"earlier png",
             "execute_mug_handle.png": b"earlier strip", "relevancy_mug_handle.ply": b"earlier ply",
             "logs/trainer.log": b"earlier log", "data/run_earlier/fields/f/field.json": b"{}"}
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    return files


def contents(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture
def nodes(monkeypatch) -> SimpleNamespace:
    """Stand-ins for the nodes: bring_up writes a log where the demo says, the scan "captures" and answer_prompts
    draws a PNG per prompt into the folder it is given; ``fail_with`` makes the scan raise."""
    state = SimpleNamespace(started=[], fail_with=None, params=[])

    def bring_up(*args, log_dir: Path | None = None, **kwargs):
        log_dir = log_dir or args[4] / "logs"  # the demo before 2026-12-03 passed --out
        state.started.append(log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / "capture.log").write_text("this run's log\n")
        return SimpleNamespace(stop=lambda: None)

    def scan_and_train(scene_obj, steps):
        if state.fail_with is not None:
            raise state.fail_with
        return (SimpleNamespace(dataset_path="/data/ds"),
                SimpleNamespace(checkpoint_path="/data/field", training_time_s=1.0))

    def answer_prompts(asked, dataset_dir, truth, out_dir, params=None):
        state.params.append(params)
        for prompt, _, _ in asked:
            (out_dir / f"query_{demo.slug(prompt)}.png").write_bytes(b"this run's png")
        return {"answers": [{"prompt": p} for p, _, _ in asked], "all_correct": True, "lifted": "0/0"}

    monkeypatch.setattr(demo, "bring_up", bring_up)
    monkeypatch.setattr(demo, "scan_and_train", scan_and_train)
    monkeypatch.setattr(demo, "answer_prompts", answer_prompts)
    return state


def run_demo(capsys, out: Path):
    return run_cli(capsys, "demo", "--scene", "tabletop", "--device", "cpu", "--out", out, "--prompt", "pan handle")


def test_a_second_run_replaces_the_first_runs_outputs(capsys, tmp_path: Path, nodes):
    out = tmp_path / "demo"
    earlier = earlier_run(out)
    assert run_demo(capsys, out).code == EXIT_OK
    after = contents(out)
    assert json.loads(after.pop("grasps.json"))["answers"] == [{"prompt": "pan handle"}]
    assert after == {"data/run_earlier/fields/f/field.json": earlier["data/run_earlier/fields/f/field.json"],
                     "logs/capture.log": b"this run's log\n", "query_pan_handle.png": b"this run's png"}
    assert not [p for p in out.iterdir() if p.name.startswith(PARTIAL_PREFIX)]


def test_a_failed_run_leaves_no_earlier_report_as_its_own(capsys, tmp_path: Path, nodes):
    out = tmp_path / "demo"
    earlier_run(out)
    nodes.fail_with = RuntimeError("capture failed: the sim camera sent no view")
    run = run_demo(capsys, out)
    assert run.code == EXIT_ANSWERED_NO, run.err
    report = json.loads((out / "grasps.json").read_text())
    assert report["success"] is False and "the sim camera sent no view" in report["message"], report
    assert sorted(p.name for p in out.iterdir()) == ["data", "grasps.json", "logs"]  # its logs: why it failed
    assert (out / "logs" / "capture.log").read_text() == "this run's log\n"


def test_an_interrupted_run_leaves_the_earlier_run_as_it_was(capsys, tmp_path: Path, nodes):
    out = tmp_path / "demo"
    earlier = earlier_run(out)
    nodes.fail_with = KeyboardInterrupt()
    assert run_demo(capsys, out).code == EXIT_INTERRUPTED
    assert contents(out) == earlier
    assert sorted(p.name for p in out.iterdir() if p.name != "data") == sorted(
        {name.split("/")[0] for name in earlier} - {"data"})  # no staging left either


@pytest.mark.parametrize("foreign", ["notes.txt", "logs/my_notes.md"])
def test_a_folder_holding_what_the_demo_did_not_write_is_refused(capsys, tmp_path: Path, nodes, foreign: str):
    out = tmp_path / "demo"
    earlier_run(out)
    (out / foreign).write_text("the user's\n")
    before = contents(out)
    refused(capsys, "demo", "--device", "cpu", "--out", out, names=(str(out / foreign), "--out"))
    assert contents(out) == before and nodes.started == []


def test_a_clear_run_replaces_an_earlier_demo_runs_outputs(capsys, tmp_path: Path, nodes, monkeypatch):
    import dff_grasp_ros.synthetic.clearing as clearing

    out = tmp_path / "demo"
    earlier_run(out)

    def clear_scene(scene_obj, ask, update, pictures: Path, log, **tools):
        (pictures / "pick_01_red_mug.png").write_bytes(b"this run's pick")
        return None, []

    monkeypatch.setattr(clearing, "clear_scene", clear_scene)
    monkeypatch.setattr(clearing, "clear_report", lambda world, attempts, arm_s: {"objects": 1, "cleared": 1,
                                                                                  "wrong_object_lifts": 0})
    monkeypatch.setattr(clearing, "print_report", lambda report: None)
    assert run_cli(capsys, "demo", "--scene", "bin", "--clear", "--device", "cpu", "--out", out).code == EXIT_OK
    assert sorted(p.name for p in out.iterdir()) == ["clear.json", "data", "logs", "pick_01_red_mug.png"]


def test_the_swap_never_renames_onto_what_it_was_not_told_to_replace(tmp_path: Path):
    """os.rename replaces a file silently: a name taken by something not among the earlier outputs stops the
    swap before anything moved."""
    from dff_grasp_ros.atomic import swap_in_entries

    root, staging = tmp_path / "out", tmp_path / "out" / f"{PARTIAL_PREFIX}demo-p1-x"
    staging.mkdir(parents=True)
    (staging / "grasps.json").write_text("new")
    (staging / "query_a.png").write_text("new")
    (root / "grasps.json").write_text("someone else's")
    with pytest.raises(FileExistsError, match="grasps.json"):
        swap_in_entries(staging, root, earlier=[], last=("grasps.json",))
    assert (root / "grasps.json").read_text() == "someone else's" and not (root / "query_a.png").exists()


def shop_params_file(tmp_path: Path) -> Path:
    """The shipped parameter file as a cell with a wider hand and a bigger cup would set it."""
    from dff_grasp_ros.bringup import default_params_file

    text = default_params_file().read_text()
    text = text.replace("gripper_max_opening_m: 0.08", "gripper_max_opening_m: 0.085")
    text = text.replace("suction_cup_radius_m: 0.01", "suction_cup_radius_m: 0.0125")
    path = tmp_path / "cell.yaml"
    path.write_text(text)
    return path


def test_the_demo_judges_and_executes_with_the_parameter_files_tools(capsys, tmp_path: Path, nodes, monkeypatch):
    """The query node plans for the parameter file's hand and cup; the demo judged and executed its answers with
    the library's defaults (a 0.085 m opening planned, a 0.08 m hand executed)."""
    import dff_grasp_ros.synthetic.clearing as clearing

    monkeypatch.setattr(demo, "default_params_file", lambda: shop_params_file(tmp_path))
    tools = []

    def clear_scene(scene_obj, ask, update, pictures: Path, log, gripper=None, cup=None):
        tools.append((gripper, cup))
        return None, []

    monkeypatch.setattr(clearing, "clear_scene", clear_scene)
    monkeypatch.setattr(clearing, "clear_report", lambda world, attempts, arm_s: {"objects": 1, "cleared": 1,
                                                                                  "wrong_object_lifts": 0})
    monkeypatch.setattr(clearing, "print_report", lambda report: None)
    assert run_cli(capsys, "demo", "--scene", "bin", "--clear", "--device", "cpu", "--out", tmp_path / "c").code == 0
    [(gripper, cup)] = tools
    assert gripper.max_opening_m == 0.085 and cup.cup_radius_m == 0.0125

    assert run_demo(capsys, tmp_path / "d").code == EXIT_OK
    [params] = nodes.params
    assert params.grasp.gripper.max_opening_m == 0.085 and params.suction.cup.cup_radius_m == 0.0125


def test_the_query_nodes_values_are_read_from_a_parameter_file_as_rcl_applies_them(tmp_path: Path):
    from dff_grasp_ros.nodes.param_file import node_values

    path = tmp_path / "p.yaml"
    path.write_text("/**:\n  ros__parameters:\n    base_frame: world\n    gripper_max_opening_m: 0.07\n"
                    "query:\n  ros__parameters:\n    gripper_max_opening_m: 5\n    end_effectors: [suction]\n"
                    "trainer:\n  ros__parameters:\n    steps: 10\n")
    assert node_values(path, "query") == {"base_frame": "world", "gripper_max_opening_m": 5,
                                          "end_effectors": ["suction"]}
