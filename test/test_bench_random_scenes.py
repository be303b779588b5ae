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
