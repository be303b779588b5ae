"""Bad input on the suction cup's surfaces (the planner, the answers `sim execute` runs, the benches' and the CLI's
`--end-effectors`): a refusal in one line naming the value at fault, never an exception, a traceback or a grasp
judged on a motion no answer of the planner makes."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import refused, run_cli
from field_fixtures import ground_truth_field
from scipy.spatial.transform import Rotation
from test_grasp_suction import outward_box, plan, scene

from dff_grasp_ros.grasp.suction_cup import SUCTION, SuctionCup
from dff_grasp_ros.nodes.params import QueryNodeParams, specs_of
from dff_grasp_ros.query.pipeline import QueryParams, plan_query
from dff_grasp_ros.synthetic import vocabulary
from dff_grasp_ros.synthetic.clearing import ideal_prepared
from dff_grasp_ros.synthetic.judge import answer_pose
from dff_grasp_ros.synthetic.physics import execute_with_tool

BENCH = Path(__file__).resolve().parents[1] / "bench"


encode = vocabulary.embed_phrases


@pytest.fixture(scope="module")
def bin_cloud():
    return ideal_prepared("bin")


@pytest.fixture(scope="module")
def box_answer(bin_cloud) -> dict:
    """The planner's suction answer for the bin's brown box, as `dff-grasp ask --json` writes it."""
    result = plan_query(bin_cloud, encode, "brown box", QueryParams(end_effectors=(SUCTION,)))
    assert result.success, result.message
    g = result.grasp
    return {"success": True, "prompt": "brown box",
            "grasp": {"position_m": g.position_m.tolist(), "end_effector": SUCTION, "width_m": 0.0, "opening_m": 0.0,
                      "quaternion_xyzw": Rotation.from_matrix(g.rotation).as_quat().tolist(),
                      "pre_grasp_position_m": g.pre_grasp_position_m.tolist(), "frame_id": "base_link"}}


def _with_pre_grasp(answer: dict, pre_m) -> dict:
    changed = json.loads(json.dumps(answer))
    changed["grasp"]["pre_grasp_position_m"] = [float(v) for v in pre_m]
    return changed


def _approach(answer: dict) -> np.ndarray:
    return Rotation.from_quat(answer["grasp"]["quaternion_xyzw"]).as_matrix()[:, 2]


def test_a_pre_grasp_ahead_of_the_lip_is_refused_naming_it(box_answer, tmp_path: Path, capsys):
    """A pre-grasp 3 cm ahead of the lip along the approach (inside the box): before 2026-12-03 `sim execute` put
    the tool inside the box, moved it backwards out to the lip and answered "lifted"."""
    position = np.asarray(box_answer["grasp"]["position_m"])
    inside = tmp_path / "inside.json"
    inside.write_text(json.dumps(_with_pre_grasp(box_answer, position + 0.03 * _approach(box_answer))))
    run = refused(capsys, "sim", "execute", "--scene", "bin", "--answer", inside,
                  names=(str(inside), "pre_grasp_position_m", "ahead"))
    assert run.json()["success"] is False


def test_a_pre_grasp_ahead_of_the_lip_is_refused_by_the_execution_itself(box_answer):
    """The benches and the clearing loop execute without answer files: the same refusal, for either tool."""
    rotation, position, _ = answer_pose(box_answer)
    ahead = position + 0.03 * rotation[:, 2]
    for tool, opening in ((SUCTION, 0.0), ("parallel_jaw", 0.05)):
        with pytest.raises(ValueError, match="pre_grasp_position_m .* ahead"):
            execute_with_tool("bin", 1, tool, rotation, position, opening, ahead, record=False)


def test_the_planners_pre_grasps_and_one_at_the_grasp_still_pass(box_answer):
    """Good input unchanged: the planner's pre-grasp (standoff back along the approach), none, and one at the grasp
    itself (pre_grasp_standoff_m 0, which the query node allows)."""
    position = np.asarray(box_answer["grasp"]["position_m"])
    answer_pose(box_answer)
    answer_pose(_with_pre_grasp(box_answer, position))
    without = json.loads(json.dumps(box_answer))
    del without["grasp"]["pre_grasp_position_m"]
    answer_pose(without)


@pytest.mark.parametrize("bench", ["bench_random_scenes", "bench_grasp_success"])
@pytest.mark.parametrize("names, says", [(["vacuum"], "got 'vacuum'"), (["suction", "Suction"], "got 'Suction'"),
                                         (["suction", "suction"], "at most once")])
def test_the_benches_refuse_a_bad_end_effector_in_one_line(bench, names, says, monkeypatch, capsys):
    """Before 2026-12-03 both ended in a traceback (exit 1) from QueryParams; now one line, exit 2, before work."""
    monkeypatch.syspath_prepend(str(BENCH))
    module = __import__(bench)

    def no_work(*args, **kwargs):
        raise AssertionError("work started")

    for name in ("random_scenes", "ground_truth"):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, no_work)
    monkeypatch.setattr(sys, "argv", [f"{bench}.py", "--end-effectors", *names])
    with pytest.raises(SystemExit) as exited:
        module.main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"{bench}: --end-effectors {' '.join(names)}: ") and says in err, err


def _box():
    return outward_box([-0.03, -0.03, 0.0], [0.03, 0.03, 0.04])


def _degenerate_clouds():
    points, normals = _box()
    line = np.column_stack([np.linspace(-0.05, 0.05, 40), np.zeros(40), np.full(40, 0.03)])
    yy, zz = np.meshgrid(np.arange(-0.03, 0.03, 0.003), np.arange(0.01, 0.06, 0.003))
    wall = np.column_stack([np.zeros(yy.size), yy.ravel(), zz.ravel()])
    return {
        "one point": (points[:1] + [0, 0, 0.05], normals[:1]),
        "five points": (points[:5] + [0, 0, 0.05], normals[:5]),
        "collinear": (line, np.tile([0.0, 0.0, 1.0], (len(line), 1))),
        "a vertical plane": (wall, np.tile([1.0, 0.0, 0.0], (len(wall), 1))),
        "zero normals": (points, np.zeros_like(normals)),
        "NaN normals": (points, np.full_like(normals, np.nan)),
        "one point 50 times": (np.tile([0.0, 0.0, 0.03], (50, 1)), np.tile([0.0, 0.0, 1.0], (50, 1))),
        "below the table": (points - [0, 0, 0.1], normals),
    }


@pytest.mark.parametrize("name", list(_degenerate_clouds()))
def test_the_suction_planner_refuses_degenerate_objects_with_a_reason(name):
    points, normals, masks = scene(_degenerate_clouds()[name])
    grasps = plan(points, normals, masks[0])
    assert not grasps and grasps.reason


def test_the_suction_planner_refuses_an_empty_target_or_one_off_the_object():
    points, normals, masks = scene(_box())
    for target in (np.zeros(len(points), dtype=bool), ~masks[0]):
        grasps = plan(points, normals, masks[0], target=target)
        assert not grasps and grasps.reason == "nothing to grasp"


@pytest.mark.parametrize("fill", [0.0, np.nan])
def test_unknown_normals_on_the_asked_object_refuse_the_cup_naming_it(bin_cloud, fill):
    """Normals a scene update leaves unknown (zero), or broken (NaN), on every point: the cup finds no seal and
    says so per tool; the jaws, which need none there, may still answer, never on another object."""
    normals = bin_cloud.normals.copy()
    try:
        bin_cloud.normals[:] = fill
        alone = plan_query(bin_cloud, encode, "brown box", QueryParams(end_effectors=(SUCTION,)))
        both = plan_query(bin_cloud, encode, "red mug", QueryParams(end_effectors=("parallel_jaw", SUCTION)))
    finally:
        bin_cloud.normals[:] = normals
    assert not alone.success and "for the 20 mm suction cup: no patch of it seals" in alone.message
    if both.success:  # on the mug it found: the grasp's centre within a centimetre of its points
        mug = bin_cloud.cloud.points_m[both.object_mask]
        assert np.linalg.norm(mug - both.grasp.position_m, axis=1).min() < 0.01


def test_ask_with_only_the_cup_on_a_field_where_nothing_seals_says_why_per_tool(tmp_path: Path, capsys):
    field = ground_truth_field(tmp_path)
    run = run_cli(capsys, "ask", "--field", field, "red mug", "--device", "cpu", "--json", "--end-effectors", SUCTION)
    assert run.code == 1 and run.json()["success"] is False
    assert "for the 20 mm suction cup: no patch of it seals under the 20 mm cup (200 lip centres tried:" in run.line
    for argv, says in ([[], "expected at least one argument"], [[SUCTION, SUCTION], "at most once"],
                       [["Suction"], "got 'Suction'"]):
        refused(capsys, "ask", "--field", field, "red mug", "--device", "cpu", "--end-effectors", *argv,
                names=("--end-effectors", says))


@pytest.mark.parametrize("vacuum_kpa", [101.4, 1e6])
def test_a_vacuum_beyond_the_atmospheres_pressure_is_refused_naming_it(vacuum_kpa):
    """No vacuum pulls harder than the air around it pushes (101.3 kPa at sea level). Before 2026-12-03 a cup of
    1e6 kPa passed: physics flung the brown box 125 km up in the hold and judged it "lifted"."""
    with pytest.raises(ValueError, match=re.escape(f"vacuum_kpa {vacuum_kpa:g}") + ".*101.3"):
        SuctionCup(vacuum_kpa=vacuum_kpa)
    SuctionCup(vacuum_kpa=100.0)  # the query node's largest


@pytest.mark.parametrize("radius, says", [("nan", "--cup-radius-m nan: must be finite"),
                                          ("inf", "--cup-radius-m inf: must be finite"),
                                          ("0", "--cup-radius-m 0: must be >= 0.002"),
                                          ("-1", "--cup-radius-m -1: must be >= 0.002"),
                                          ("5", "--cup-radius-m 5: must be <= 0.1")])
def test_the_clearing_bench_refuses_a_cup_radius_naming_the_option(radius, says, monkeypatch, capsys):
    """Before 2026-12-03 the line named no option (the whole SuctionCup's fields), and a 10 m cup the query node
    refuses was planned with."""
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_clear_bin

    monkeypatch.setattr(bench_clear_bin, "clear_offline", lambda *a: pytest.fail("work started"))
    monkeypatch.setattr(sys, "argv", ["bench_clear_bin.py", "--scene", "bin", "--cup-radius-m", radius])
    assert bench_clear_bin.main() == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"bench_clear_bin: {says}"), err


def test_an_empty_end_effectors_override_is_named_as_empty():
    """`-p end_effectors:=[]` reaches the node as no value (rcl keeps no type for an empty list): before
    2026-12-03 the node said "must be a list of strings, got NoneType None" to a user who gave one."""
    spec = next(s for s in specs_of(QueryNodeParams) if s.name == "end_effectors")
    for empty in (None, []):
        assert spec.check(empty).startswith("must name at least one")


def test_the_point_judge_refuses_an_unknown_end_effector_as_the_execution_does(box_answer):
    """Before 2026-12-03 judge_with_tool judged any name but 'suction' ("Suction", "vacuum") as the jaws, silently,
    where execute_with_tool refused it."""
    from dff_grasp_ros.grasp.gripper import ParallelJawGripper
    from dff_grasp_ros.synthetic import ground_truth
    from dff_grasp_ros.synthetic.judge import GroundTruthPoints, judge_with_tool

    truth = GroundTruthPoints.from_json(ground_truth("bin", points_per_part=50))
    rotation, position, _ = answer_pose(box_answer)
    for name in ("Suction", "vacuum"):
        with pytest.raises(ValueError, match=f"unknown end effector '{name}'"):
            judge_with_tool(truth, name, rotation, position, 0.0, ParallelJawGripper(), SuctionCup(), 1, None)
        with pytest.raises(ValueError, match=f"unknown end effector '{name}'"):
            execute_with_tool("bin", 1, name, rotation, position, 0.0, None, record=False)


@pytest.mark.parametrize("argv, says", [
    (["--scene", "bin", "--object", "99"], "bench_hand_tilts: --object 99: scene 'bin' has objects 0-8"),
    (["--scene", "bin", "--object", "-1"], "bench_hand_tilts: --object -1: scene 'bin' has objects 0-8"),
    (["--scene", "nope", "--object", "1"], "bench_hand_tilts: --scene nope: no scene file or built-in scene"),
])
def test_the_hand_tilt_bench_refuses_a_bad_scene_or_object_in_one_line(argv, says, monkeypatch, capsys):
    """Written with its bench: a wrong index or scene is one line before any work (a KeyError's traceback first)."""
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_hand_tilts

    monkeypatch.setattr(bench_hand_tilts, "tilt_table", lambda *a: pytest.fail("work started"))
    monkeypatch.setattr(sys, "argv", ["bench_hand_tilts.py", *argv])
    assert bench_hand_tilts.main() == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(says), err


@pytest.mark.parametrize("folder, says", [("missing", "is not a folder"), (".", "field.json")])
def test_the_part_word_bench_refuses_a_folder_that_is_no_field_in_one_line(folder, says, tmp_path: Path,
                                                                           monkeypatch, capsys):
    """Written with its bench: a folder that holds no field is one line naming it (a traceback first)."""
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_part_words

    monkeypatch.setattr(sys, "argv", ["bench_part_words.py", "--field", str(tmp_path / folder)])
    assert bench_part_words.main() == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("bench_part_words: --field") and says in err, err
