"""A tool no grasp reaches by a tote wall is pushed away from it, the scene is updated and it is asked for again
(the test bed's clearing loop with the query's push offer)."""
from __future__ import annotations

import json

from dff_grasp_ros.query.pipeline import QueryParams
from dff_grasp_ros.synthetic import load_scene, vocabulary
from dff_grasp_ros.synthetic.clearing import (
    CLEARING_END_EFFECTORS,
    OfflineCell,
    clear_report,
    clear_scene,
    ideal_prepared,
)

encoder = vocabulary.embed_phrases


def bin_with(*names: str):
    """The `bin` scene with only the objects named ("orange screwdriver"), where they lie there."""
    data = load_scene("bin").to_dict()
    data["objects"] = [o for o in data["objects"] if f"{o['color']} {o['type']}" in names]
    return load_scene(data)


def _clear(scene, push: bool, pictures=None):
    params = QueryParams(end_effectors=CLEARING_END_EFFECTORS)
    cell = OfflineCell(ideal_prepared(scene), encoder, params, log=lambda _: None)
    world, attempts = clear_scene(scene, cell.ask, cell.update, params.grasp.gripper, pictures, log=lambda _: None,
                                  cup=params.suction.cup, push=push)
    return world, attempts, clear_report(world, attempts, arm_motion_s=6.0)


def test_a_screwdriver_by_the_tote_wall_is_pushed_free_then_lifted(tmp_path):
    """The screwdriver's axis lies 4.5 cm from the 10 cm wall: the jaws' 20 cm palm meets the wall or the floor at
    every tilt and its round handle is too curved for the cup. Before pushes it was never cleared; now the refusal
    offers a push away from the wall, physics executes it, the served scene is updated from a fresh view (the
    screwdriver's features carried to where it lies now) and the next ask lifts it."""
    scene = bin_with("orange screwdriver")
    world, attempts, report = _clear(scene, push=True, pictures=tmp_path)
    assert report["cleared"] == 1 and report["wrong_object_lifts"] == 0, report["attempt_log"]
    first = attempts[0]
    assert not first.answer.success and "no collision-free grasp" in first.answer.message
    assert first.answer.push is not None and first.push is not None and first.push.pushed
    wall_y = -scene.tote.inner_size_m[1] / 2 + scene.tote.center_m[1]
    now_y = world.moved[0]["position_m"][1]
    assert now_y - scene.objects[0].position_m[1] >= 0.03 and now_y > wall_y
    assert attempts[1].outcome == "lifted" and attempts[1].attempt == 1 and first.update_s is not None
    assert report["pushes_executed"] == 1 and report["pushes_by_outcome"] == {"pushed": 1}
    assert json.loads(json.dumps(report))["attempt_log"][0]["push"]["outcome"] == "pushed"
    assert first.picture.startswith("push_01_") and (tmp_path / first.picture).is_file()


def test_without_pushes_the_screwdriver_by_the_wall_stays():
    world, attempts, report = _clear(bin_with("orange screwdriver"), push=False)
    assert report["cleared"] == 0 and report["pushes_executed"] == 0
    assert all(a.cause == "refused: no free grasp" for a in attempts) and len(attempts) == 2


def test_the_push_is_offered_only_with_the_jaws_among_the_tools_and_push_offer_on():
    from dataclasses import replace

    from dff_grasp_ros.grasp.suction_cup import SUCTION
    from dff_grasp_ros.nodes.params import QueryNodeParams
    from dff_grasp_ros.nodes.query import query_params
    from dff_grasp_ros.query.pipeline import plan_query

    prepared = ideal_prepared(bin_with("orange screwdriver"))
    offered = plan_query(prepared, encoder, "orange screwdriver", QueryParams(end_effectors=CLEARING_END_EFFECTORS))
    assert not offered.success and offered.push is not None and "a push would free it" in offered.message
    # The node's parameter: push_offer false asks for none, and the push descends from the pre-grasp standoff.
    assert query_params(replace(QueryNodeParams(), push_offer=False)).push is None
    assert query_params(replace(QueryNodeParams(), pre_grasp_standoff_m=0.07)).push.standoff_m == 0.07
    for params in (QueryParams(end_effectors=CLEARING_END_EFFECTORS, push=None), QueryParams(end_effectors=(SUCTION,))):
        refused = plan_query(prepared, encoder, "orange screwdriver", params)
        assert not refused.success and refused.push is None and "push" not in refused.message, refused.message
