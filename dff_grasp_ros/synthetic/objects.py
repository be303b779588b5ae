"""The object catalogue: each type as named parts built from primitives, in the object's own frame.

Object frame: origin on the table under the object's middle, +z up, +x towards the handle (or along the
object's length for lying tools). Sizes are those of real kitchen/workshop items; the mug handle is a loop
whose 13 mm bar fits a Franka hand (max opening 80 mm) with room for a finger between bar and body.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from dff_grasp_ros.synthetic.shapes import Mesh, arc_tube, box, cylinder, revolve, rigid_transform
from dff_grasp_ros.synthetic.vocabulary import COLOURS, OBJECT_TYPES, PART_NAMES

# Linear-RGB albedo of every colour word the vocabulary knows.
COLOUR_ALBEDO: dict[str, tuple[float, float, float]] = {
    "red": (0.70, 0.08, 0.06), "blue": (0.08, 0.20, 0.70), "green": (0.10, 0.50, 0.15),
    "yellow": (0.85, 0.70, 0.08), "black": (0.06, 0.06, 0.06), "white": (0.85, 0.85, 0.82),
    "orange": (0.90, 0.40, 0.06), "purple": (0.40, 0.12, 0.55), "grey": (0.40, 0.40, 0.40),
    "brown": (0.35, 0.20, 0.10),
}
METAL_ALBEDO = (0.62, 0.63, 0.66)
assert set(COLOUR_ALBEDO) == set(COLOURS), "every vocabulary colour needs an albedo"


@dataclass(frozen=True)
class PartShape:
    """One part of an object: its name, mesh in the object frame, and whether it is bare metal."""

    name: str
    mesh: Mesh
    metal: bool = False


def part_albedo(colour: str, metal: bool) -> np.ndarray:
    """Albedo of a part: its object's colour, or brushed metal faintly tinted by that colour."""
    colour_rgb = np.asarray(COLOUR_ALBEDO[colour])
    return 0.85 * np.asarray(METAL_ALBEDO) + 0.15 * colour_rgb if metal else colour_rgb


def _mug() -> list[PartShape]:
    radius, height, wall, floor = 0.041, 0.090, 0.004, 0.006
    body = revolve([(0, 0), (radius, 0), (radius, height), (radius - wall, height), (radius - wall, floor),
                    (0, floor)])
    # A loop slightly more than a half circle, so the tube ends sink into the wall (hidden).
    loop = arc_tube(0.028, 0.0065, np.radians(-95), np.radians(95))
    handle = loop.transformed(rigid_transform(translation_m=(radius, 0.0, height / 2 + 0.003)))
    return [PartShape("body", body), PartShape("handle", handle)]


def _pan() -> list[PartShape]:
    radius, height, wall, floor = 0.11, 0.045, 0.004, 0.005
    body = revolve([(0, 0), (radius, 0), (radius, height), (radius - wall, height), (radius - wall, floor),
                    (0, floor)], segments=64)
    handle = box((radius - 0.002, -0.014, 0.028), (radius + 0.18, 0.014, 0.042))
    shift = rigid_transform(translation_m=(-0.09, 0.0, 0.0))  # centre the footprint (pan + handle)
    return [PartShape("body", body.transformed(shift)), PartShape("handle", handle.transformed(shift))]


def _knife() -> list[PartShape]:
    handle = box((-0.12, -0.011, 0.0), (-0.02, 0.011, 0.020))
    blade = box((-0.025, -0.013, 0.0085), (0.12, 0.013, 0.0115))  # 3 mm thick, 5 mm inside the handle
    return [PartShape("blade", blade, metal=True), PartShape("handle", handle)]


def _screwdriver() -> list[PartShape]:
    along_x = rigid_transform(pitch_rad=np.pi / 2, translation_m=(0.0, 0.0, 0.016))
    handle = cylinder(0.016, -0.10, 0.0, segments=24).transformed(along_x)
    shaft = cylinder(0.0035, -0.005, 0.11, segments=12).transformed(along_x)
    return [PartShape("shaft", shaft, metal=True), PartShape("handle", handle)]


def _spatula() -> list[PartShape]:
    handle = box((-0.17, -0.012, 0.0), (-0.01, 0.012, 0.014))
    head = box((-0.015, -0.038, 0.005), (0.085, 0.038, 0.008))
    return [PartShape("head", head), PartShape("handle", handle)]


def _bottle() -> list[PartShape]:
    body = revolve([(0, 0), (0.035, 0), (0.035, 0.15), (0.014, 0.185), (0.014, 0.20), (0, 0.20)])
    cap = cylinder(0.0165, 0.195, 0.22, segments=32)
    return [PartShape("body", body), PartShape("cap", cap)]


def _bowl() -> list[PartShape]:
    s = np.linspace(0.0, 1.0, 9)
    outer = [(0.035 + 0.040 * (1 - (1 - t) ** 2), 0.065 * t) for t in s]
    inner = [(r - 0.004, max(z, 0.006)) for r, z in reversed(outer)]
    body = revolve([(0.0, 0.0)] + outer + inner + [(0.0, 0.006)], segments=64)
    return [PartShape("body", body)]


def _box() -> list[PartShape]:
    return [PartShape("body", box((-0.06, -0.04, 0.0), (0.06, 0.04, 0.07)))]


_BUILDERS: dict[str, Callable[[], list[PartShape]]] = {
    "mug": _mug, "pan": _pan, "knife": _knife, "screwdriver": _screwdriver, "spatula": _spatula,
    "bottle": _bottle, "bowl": _bowl, "box": _box,
}
assert set(_BUILDERS) <= set(OBJECT_TYPES)

# Part names per type, in part-index order (the order the label encoding uses).
OBJECT_PARTS: dict[str, tuple[str, ...]] = {kind: tuple(p.name for p in build()) for kind, build in _BUILDERS.items()}
assert all(name in PART_NAMES for parts in OBJECT_PARTS.values() for name in parts)


def object_types() -> tuple[str, ...]:
    """Types the simulator can build."""
    return tuple(_BUILDERS)


def build_object(kind: str) -> list[PartShape]:
    """The parts of an object of type ``kind`` in its own frame."""
    if kind not in _BUILDERS:
        raise ValueError(f"unknown object type {kind!r}; known: {', '.join(_BUILDERS)}")
    return _BUILDERS[kind]()


def placed_parts(kind: str, position_m: tuple[float, float], yaw_deg: float) -> list[PartShape]:
    """The parts of an object standing on the table at ``position_m`` (x, y), turned by ``yaw_deg`` about z."""
    object_to_base = rigid_transform(np.radians(yaw_deg), (position_m[0], position_m[1], 0.0))
    return [PartShape(p.name, p.mesh.transformed(object_to_base), p.metal) for p in build_object(kind)]
