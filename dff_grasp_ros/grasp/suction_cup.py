"""Suction tool model: a bellows cup on a slim rod, and the volumes it sweeps, in the TCP frame.

A bin-picking cell often carries a vacuum cup beside (or instead of) a parallel-jaw hand: it lifts what the jaws
cannot span (a box wider than the opening) and what they cannot reach around (a flat tool lying against a tote
wall), as long as a flat enough patch of it faces the cup.

TCP frame of a suction grasp (as for the jaws, :mod:`dff_grasp_ros.grasp.frames`): +z is the approach (tool ->
surface, along the surface normal into it), the origin is the centre of the cup's lip where it meets the surface;
the cup is round, so x and y only fix the tool's turn about its axis (y is kept as level as the approach allows).
Behind the lip (towards -z) lie the cup (``cup_height_m``), the rod (``rod_length_m``) and the tool body at the
wrist. :meth:`SuctionCup.boxes` gives each as the axis-aligned box around it: the collision check, the RViz
markers and the test bed's pictures use the same boxes, so what is drawn is what was checked.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# What a grasp is executed with: the name in answers (``end_effector`` of /query_object, the JSON of
# ``dff-grasp ask``) and in the query node's ``end_effectors`` parameter.
PARALLEL_JAW = "parallel_jaw"
SUCTION = "suction"
END_EFFECTORS = (PARALLEL_JAW, SUCTION)


def check_end_effector(name: str) -> str:
    """``name`` when it is one of END_EFFECTORS; ValueError naming it otherwise (never judged or drawn as the
    other tool)."""
    if name not in END_EFFECTORS:
        raise ValueError(f"unknown end effector {name!r}; the end effectors are {', '.join(END_EFFECTORS)}")
    return name


# No vacuum pulls harder than the air around the cup pushes: the standard atmosphere's pressure, kPa.
ATMOSPHERE_KPA = 101.325


@dataclass(frozen=True)
class SuctionCup:
    """Dimensions in metres, pressure in kPa; defaults: a 20 mm bellows cup on a 15 cm rod, 60 kPa of vacuum."""

    cup_radius_m: float = 0.010  # radius of the lip: where it seals on the surface
    # The lip and bellows conform to this much height difference of the surface along the lip (measured along the
    # approach): a curved or slightly stepped patch still seals; more, and air leaks in.
    lip_compliance_m: float = 0.003
    cup_height_m: float = 0.025  # from the lip back to the rod
    rod_radius_m: float = 0.008
    # A long slim rod keeps the wrist above the tote walls when the cup reaches a tool lying against one.
    rod_length_m: float = 0.15
    body_radius_m: float = 0.045  # tool body at the wrist (flange, vacuum generator)
    body_length_m: float = 0.08
    vacuum_kpa: float = 60.0  # pressure difference the vacuum generator holds under a sealed cup

    def __post_init__(self) -> None:
        values = list(vars(self).values())
        if any(not np.isfinite(v) or v <= 0 for v in values):
            raise ValueError(f"suction cup dimensions and vacuum must be finite and positive: {self}")
        if self.vacuum_kpa > ATMOSPHERE_KPA:  # physics flung an object held by 1e6 kPa 125 km up: "lifted"
            raise ValueError(f"vacuum_kpa {self.vacuum_kpa:g} is more than the atmosphere's {ATMOSPHERE_KPA:.1f} kPa, "
                             f"the most a vacuum pulls with")
        if self.rod_radius_m > self.body_radius_m:
            raise ValueError("rod_radius_m cannot exceed body_radius_m")

    @property
    def holding_force_n(self) -> float:
        """Most the sealed cup holds along its axis: the vacuum times the lip's area."""
        return self.vacuum_kpa * 1e3 * np.pi * self.cup_radius_m ** 2

    @property
    def length_m(self) -> float:
        """From the lip to the back of the tool body."""
        return self.cup_height_m + self.rod_length_m + self.body_length_m

    def boxes(self, opening_m: float = 0.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Axis-aligned boxes (lower corner, upper corner) around the cup, the rod and the body in the TCP frame.

        ``opening_m`` is ignored (a cup does not open); it is accepted so that anything drawing a gripper's
        ``boxes(opening_m)`` draws this tool too.
        """
        del opening_m
        parts = (("cup", self.cup_radius_m, 0.0, self.cup_height_m),
                 ("rod", self.rod_radius_m, self.cup_height_m, self.cup_height_m + self.rod_length_m),
                 ("body", self.body_radius_m, self.cup_height_m + self.rod_length_m, self.length_m))
        return {name: (np.array([-r, -r, -back]), np.array([r, r, -front])) for name, r, front, back in parts}
