"""Queries on real trained fields' clouds (crops of CPU-trained tabletop fields; test/data/).

Their features are as blurred as a 300-step CPU field makes them. In the first, the knife's blade and handle
differ by little, and "knife blade" relevancy against "knife" is above chance on much of the handle too. In the
second (the field of a `make demo` run), "knife blade" scores alike along the whole knife.
"""
from pathlib import Path

import numpy as np
import pytest

from dff_grasp_ros.query.pipeline import plan_query
from dff_grasp_ros.scene_cloud import SceneCloud
from dff_grasp_ros.synthetic import ground_truth, vocabulary
from dff_grasp_ros.synthetic.judge import EVALUATION_POINTS_PER_PART, GroundTruthPoints

DATA = Path(__file__).parent / "data"
KNIFE_CROP = DATA / "tabletop_knife_cpu_field.npz"
DEMO_FIELD_CROP = DATA / "tabletop_knife_screwdriver_demo_field.npz"
SECOND_DEMO_FIELD_CROP = DATA / "tabletop_screwdriver_demo_field_2.npz"
PAN_DEMO_FIELD_CROP = DATA / "tabletop_pan_demo_field_3.npz"


encode = vocabulary.embed_phrases


@pytest.fixture(scope="module")
def truth():
    return GroundTruthPoints.from_json(ground_truth("tabletop", points_per_part=EVALUATION_POINTS_PER_PART))


@pytest.fixture(scope="module")
def knife(truth):
    return SceneCloud.load(KNIFE_CROP), truth


@pytest.mark.parametrize("part", ["blade", "handle"])
def test_each_knife_part_is_grasped_on_that_part(knife, part):
    """Before parts were ranked within the object, "knife blade" took a region of 567 handle and 292 blade
    points and grasped the handle: a wrong-part grasp."""
    cloud, truth = knife
    result = plan_query(cloud, encode, f"knife {part}")
    assert result.success, result.message
    ids, parts = truth.label(result.grasp.contacts_m)
    assert parts.tolist() == [part, part], result.message
    _, region_parts = truth.label(cloud.points_m[result.part_mask])
    assert np.mean(region_parts == part) >= 0.8


def test_a_field_that_does_not_tell_blade_from_handle_refuses_the_blade(truth):
    """With the part contrast floor at 0.2 this field answered "knife blade" with a grasp on the handle (contrast
    0.26); a refusal is the right answer when the features cannot locate the part."""
    cloud = SceneCloud.load(DEMO_FIELD_CROP)
    blade = plan_query(cloud, encode, "knife blade")
    assert not blade.success and "no 'blade'" in blade.message and "stands out" in blade.message
    handle = plan_query(cloud, encode, "knife handle")
    assert handle.success, handle.message
    assert truth.label(handle.grasp.contacts_m)[1].tolist() == ["handle", "handle"]


def test_the_objects_body_never_refuses_a_large_part_as_its_rival(truth):
    """In the demo's field "screwdriver handle" was refused as "more clearly its 'body'": for a screwdriver the
    body is the handle."""
    cloud = SceneCloud.load(DEMO_FIELD_CROP)
    result = plan_query(cloud, encode, "screwdriver handle")
    assert result.success, result.message
    assert truth.label(result.grasp.contacts_m)[1].tolist() == ["handle", "handle"]


def test_a_handle_scored_as_handle_only_on_top_is_still_grasped_at_its_sides(truth):
    """In another demo run's field only the screwdriver handle's top scored above the object's average for
    "handle"; while contacts had to score above average, no grasp could reach the sides and the answer was
    "no collision-free grasp"."""
    cloud = SceneCloud.load(SECOND_DEMO_FIELD_CROP)
    result = plan_query(cloud, encode, "screwdriver handle")
    assert result.success, result.message
    assert truth.label(result.grasp.contacts_m)[1].tolist() == ["handle", "handle"]


def test_a_pan_whose_handle_end_scores_highest_is_still_grasped_near_the_pan_and_lifts():
    """In a demo run's field (2026-12-02) "pan handle" scored highest at the handle's end; with the short lever
    weighted 0.1 the grasp went there, 0.23 m from the 1 kg pan's body, and the pan tipped out of the pads
    (slipped, 5.6 cm up). The lever now outweighs that relevancy gap along the part."""
    from test_grasp_approach import assert_pan_handle_grasped_near_the_pan_and_lifted

    scene = ground_truth("tabletop", points_per_part=EVALUATION_POINTS_PER_PART)
    result = plan_query(SceneCloud.load(PAN_DEMO_FIELD_CROP), encode, "pan handle")
    assert_pan_handle_grasped_near_the_pan_and_lifted(scene, result)
