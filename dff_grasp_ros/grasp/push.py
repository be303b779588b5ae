"""Push an object away from what blocks every grasp on it (a tote wall, a neighbour): the closed fingers as a
pusher, a straight horizontal stroke. Pure geometry on the seen cloud; no ROS.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PushPlan:
    """One push, all in the base frame (metres): the TCP (fingers closed) descends straight along its +z from
    ``pre_push_position_m`` to ``start_position_m`` beside the object, moves straight to ``end_position_m``,
    and backs out along -z."""

    rotation: np.ndarray  # (3, 3) TCP orientation, columns x, y (closing axis), z (approach)
    pre_push_position_m: np.ndarray  # (3,)
    start_position_m: np.ndarray  # (3,)
    end_position_m: np.ndarray  # (3,)
    distance_m: float  # |end - start|: the stroke
    away_from: str  # what the object is pushed away from, for the message ("the seen surface 2.9 cm to -y")
