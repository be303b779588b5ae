"""Suction grasps on a seen cloud: where a vacuum cup seals on the asked object, and reaches it without touching
anything else.

A cup seals where the surface under its whole lip is the asked object's and flat enough: along the lip, the
surface's height (along the approach) varies by at most the lip's compliance. It approaches along the surface's
normal, within a cone around straight down, from a pre-grasp pose ``standoff_m`` back; the cup, rod and tool body
(:class:`~dff_grasp_ros.grasp.suction_cup.SuctionCup`) swept along that approach touch no seen point but the
sealed patch, and stay above the table. Only what was seen is an obstacle, as for the jaws
(:mod:`dff_grasp_ros.grasp.collision`).

Candidates are ranked by the asked part's relevancy under the lip first, then how well the lip seals, how
close to the object's middle it holds (a short lever peels less), how near to straight down it approaches and the
clearance of the tool.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dff_grasp_ros.grasp.suction_cup import SuctionCup


@dataclass(frozen=True)
class SuctionScoreWeights:
    """Weights of the score terms; relevancy leads."""

    relevancy: float = 0.55
    seal: float = 0.15
    short_lever: float = 0.15
    from_above: float = 0.1
    clearance: float = 0.05


@dataclass(frozen=True)
class SuctionParams:
    """Suction grasp search settings; distances in metres, angles in radians."""

    cup: SuctionCup = field(default_factory=SuctionCup)
    # Approaches further than this from straight down are never tried (a cup on a box's side face: 90 degrees).
    max_approach_tilt_rad: float = float(np.radians(90.0))
    candidate_samples: int = 200  # lip centres tried on the asked region
    lip_sectors: int = 12  # the lip is checked in this many sectors around it: each must lie on the object
    standoff_m: float = 0.10
    min_clearance_m: float = 0.001  # the tool passes no seen point closer than this (but the sealed patch)
    clearance_cap_m: float = 0.01  # clearance beyond this scores fully
    lever_cap_m: float = 0.1  # a lip this far (horizontally) from the object's centroid scores no short lever
    table_z_m: float | None = 0.0
    table_clearance_m: float = 0.003
    nms_distance_m: float = 0.015
    nms_angle_rad: float = 0.5
    max_grasps: int = 10
    weights: SuctionScoreWeights = field(default_factory=SuctionScoreWeights)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.candidate_samples < 1 or self.lip_sectors < 3 or self.max_grasps < 1:
            raise ValueError(f"sample counts must be positive (at least 3 lip sectors): {self}")
        if not 0.0 <= self.max_approach_tilt_rad <= np.pi:
            raise ValueError(f"max_approach_tilt_rad must be in [0, pi], got {self.max_approach_tilt_rad}")
