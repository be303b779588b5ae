"""Queries on a real trained field's cloud (a crop of a CPU-trained tabletop field; see test/data/).

Its features are as blurred as a 300-step CPU field makes them: the knife's blade and handle differ by little,
and "knife blade" relevancy against "knife" is above chance on much of the handle too.
"""
from pathlib import Path

import numpy as np
import pytest

from dff_grasp_ros.query.evaluation import EVALUATION_POINTS_PER_PART, GroundTruthPoints
from dff_grasp_ros.query.pipeline import plan_query
from dff_grasp_ros.scene_cloud import SceneCloud
from dff_grasp_ros.sim import ground_truth
from dff_grasp_ros.teachers import vocabulary

KNIFE_CROP = Path(__file__).parent / "data" / "tabletop_knife_cpu_field.npz"


def encode(phrases):
    return np.stack([vocabulary.embed_phrase(p) for p in phrases])


@pytest.fixture(scope="module")
def knife():
    truth = GroundTruthPoints.from_json(ground_truth("tabletop", points_per_part=EVALUATION_POINTS_PER_PART))
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
