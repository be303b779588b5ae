"""The random-scene bench's own judgement (bench/bench_random_scenes.py)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import bench_random_scenes


def test_lifting_another_object_the_prompt_allows_is_no_wrong_object():
    """'mug' with two mugs: physics is told to lift mug 0 and reports the other mug as "lifted_other"; the
    phrasing family counted that a wrong object (29 of them in seed 7, all of an allowed type)."""
    rise_m = (0.0, 0.10, 0.0)  # object 1 rose 10 cm
    assert bench_random_scenes.lifted_outside(rise_m, allowed=(0, 1)) == []
    assert bench_random_scenes.lifted_outside(rise_m, allowed=(0,)) == [1]
    assert bench_random_scenes.lifted_outside((0.10, 0.0, 0.09), allowed=(0,)) == [2]


def test_the_hunt3_family_allows_no_object_of_another_colour_or_for_a_part_it_lacks():
    """The hunt3 family's allowed sets decide what counts as a wrong object: a prompt with a colour no object of the
    type has, or a part the type lacks, allows none; a shade or a part word asked as a name allows only objects of
    that colour."""
    import numpy as np

    from dff_grasp_ros.synthetic import load_scene
    from dff_grasp_ros.synthetic.objects import OBJECT_PARTS

    scene = load_scene("two_mugs")  # a red and a blue mug, a green spatula
    rows = bench_random_scenes.hunt3_of(scene, np.random.default_rng(0))
    assert {category for _, category, *_ in rows} == set(bench_random_scenes.HUNT3_CATEGORIES)
    for prompt, category, allowed, _, part in rows:
        if bench_random_scenes.HUNT3_SHOULD[category] == "refuse":
            assert allowed == (), prompt
        if category in ("shade", "part as name"):
            words = prompt.replace("-", " ").split()  # "reddish", "red-ish" and "crimson" are reds
            asked_colours = {c for c, names in bench_random_scenes.COLOUR_NAMES.items()
                             if any(w.startswith(c) or w in names for w in words)}
            assert not asked_colours or {scene.objects[i].color for i in allowed} <= asked_colours, prompt
        if part is not None:
            assert all(part in OBJECT_PARTS[scene.objects[i].type] for i in allowed), prompt
