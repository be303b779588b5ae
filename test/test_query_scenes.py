"""Every built-in sim scene, queried on an ideal cloud built from its ground truth (query logic alone, no field).

Each object-with-part prompt must be answered with a grasp whose contacts lie on the asked part, that touches no
ground-truth point and clears the table, with object relevancy AUROC >= 0.95; absent objects must be "not found".
Ground truth is dense (EVALUATION_POINTS_PER_PART), so a finger cannot slip between its points unnoticed.

One known limit, asserted rather than hidden so that a change shows up: in ``bin_clutter`` the knife lies between
the screwdriver and the scene's -y edge, 1-2 mm from the screwdriver, and the screwdriver touches the box. A grasp
across either handle or the blade needs the hand's closing axis across them, which lays the Franka-like palm
(200 mm along the closing axis, from 45 mm above the fingertips) over the 70 mm box, the 100 mm mug or the 200 mm
bottle; tilting the hand to swing the palm clear brings the fingertips into the table. There the answer must be
"no collision-free grasp", never a wrong or colliding one. Re-measured with approaches in a cone around the
vertical (tilted cross-sections, side approaches) and the palm checked against every seen point: still these
three parts, so the limit is the palm's span, not the search. The same holds in ``bin`` for the knife, the
screwdriver and the spatula lying side by side along the tote's wall.
"""
import pytest

from dff_grasp_ros.synthetic import builtin_scene_names, ground_truth, vocabulary
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth
from dff_grasp_ros.synthetic.judge import EVALUATION_POINTS_PER_PART, check_scene

BLOCKED_BY_NEIGHBOURS = {"bin_clutter": {"knife blade", "knife handle", "screwdriver handle"},
                         # The tools lying flat along the tote's -y wall, side by side (bin picking, issue 12).
                         "bin": {"knife blade", "knife handle", "screwdriver shaft", "screwdriver handle",
                                 "spatula head", "spatula handle"}}
NO_GRASP = "no collision-free grasp"


encode = vocabulary.embed_phrases


def without_colour(prompt: str) -> str:
    return " ".join(prompt.split()[-2:])


@pytest.mark.parametrize("scene_name", builtin_scene_names())
def test_scene_prompts_grasp_the_asked_part(scene_name):
    truth = ground_truth(scene_name, points_per_part=EVALUATION_POINTS_PER_PART)
    checks = check_scene(scene_cloud_from_ground_truth(truth), truth, encode)
    assert any(c.object_id is not None for c in checks) and any(c.object_id is None for c in checks)
    blocked = BLOCKED_BY_NEIGHBOURS.get(scene_name, set())
    for check in checks:
        if check.object_id is not None and without_colour(check.prompt) in blocked:
            assert not check.result.success and NO_GRASP in check.result.message, check.describe()
            assert check.auroc is not None and check.auroc >= 0.95, check.describe()
        else:
            assert check.passed, check.describe()
