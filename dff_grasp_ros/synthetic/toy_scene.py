"""Hand-made ground truth (``ground_truth.json`` format of ``sim render``) for tests and benchmarks of the query.

Surface points of a few analytic shapes, enough to exercise relevancy, grouping and grasping without the
renderer: a mug (open cylinder with a wall, bottom, and a loop handle), a lying knife (box handle + thin blade).
"""
from __future__ import annotations

from typing import Any

import numpy as np

_MUG_RADIUS_M, _MUG_HEIGHT_M, _MUG_WALL_M = 0.041, 0.09, 0.004
_HANDLE_ARC_RADIUS_M, _HANDLE_TUBE_RADIUS_M = 0.028, 0.0065


def _cylinder_wall(rng: np.random.Generator, radius_m: float, z_range_m: tuple[float, float], count: int) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi, count)
    return np.column_stack([radius_m * np.cos(angle), radius_m * np.sin(angle), rng.uniform(*z_range_m, count)])


def _annulus(rng: np.random.Generator, radii_m: tuple[float, float], z_m: float, count: int) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi, count)
    radius = np.sqrt(rng.uniform(radii_m[0] ** 2, radii_m[1] ** 2, count))  # uniform over the area
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle), np.full(count, z_m)])


def _box_surface(rng: np.random.Generator, lower_m: np.ndarray, upper_m: np.ndarray, count: int) -> np.ndarray:
    size = np.asarray(upper_m) - np.asarray(lower_m)
    areas = np.array([size[1] * size[2], size[0] * size[2], size[0] * size[1]])
    axis = rng.choice(3, size=count, p=areas / areas.sum())
    points = np.asarray(lower_m) + rng.uniform(size=(count, 3)) * size
    side = rng.integers(0, 2, count)
    points[np.arange(count), axis] = np.where(side == 1, np.asarray(upper_m)[axis], np.asarray(lower_m)[axis])
    return points


def _place(points: np.ndarray, position_xy_m: tuple[float, float], yaw_deg: float) -> np.ndarray:
    yaw = np.radians(yaw_deg)
    rotation = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
    return points @ rotation.T + np.array([position_xy_m[0], position_xy_m[1], 0.0])


def mug_parts(rng: np.random.Generator, points_per_cm2: float = 4.0) -> dict[str, np.ndarray]:
    """Body (outer and inner wall, rim, bottom) and a loop handle on +x, object frame (table at z = 0)."""
    r, h, wall = _MUG_RADIUS_M, _MUG_HEIGHT_M, _MUG_WALL_M
    per_m2 = points_per_cm2 * 1e4
    body = np.vstack([
        _cylinder_wall(rng, r, (0, h), int(2 * np.pi * r * h * per_m2)),
        _cylinder_wall(rng, r - wall, (0.006, h), int(2 * np.pi * (r - wall) * h * per_m2)),
        _annulus(rng, (r - wall, r), h, int(np.pi * (r ** 2 - (r - wall) ** 2) * per_m2) + 8),
        _annulus(rng, (0, r - wall), 0.006, int(np.pi * (r - wall) ** 2 * per_m2)),
    ])
    arc, tube = _HANDLE_ARC_RADIUS_M, _HANDLE_TUBE_RADIUS_M
    count = int(np.pi * arc * 2 * np.pi * tube * per_m2 * 1.5)
    along = rng.uniform(np.radians(-90), np.radians(90), count)
    around = rng.uniform(0, 2 * np.pi, count)
    ring = arc + tube * np.cos(around)
    handle = np.column_stack([r + ring * np.cos(along), tube * np.sin(around), h / 2 + ring * np.sin(along)])
    return {"body": body, "handle": handle[np.hypot(handle[:, 0], handle[:, 1]) > r + 0.001]}


def knife_parts(rng: np.random.Generator, points_per_cm2: float = 4.0) -> dict[str, np.ndarray]:
    """Handle (box) and blade (thin box) lying along +x on the table, object frame."""
    per_m2 = points_per_cm2 * 1e4
    handle_lo, handle_hi = np.array([-0.11, -0.011, 0.0]), np.array([0.0, 0.011, 0.022])
    blade_lo, blade_hi = np.array([0.0, -0.014, 0.008]), np.array([0.13, 0.014, 0.010])
    return {"handle": _box_surface(rng, handle_lo, handle_hi, int(0.11 * 0.09 * per_m2)),
            "blade": _box_surface(rng, blade_lo, blade_hi, int(0.13 * 0.06 * per_m2))}


_BUILDERS = {"mug": mug_parts, "knife": knife_parts}


def toy_ground_truth(objects: list[dict[str, Any]], seed: int = 0, points_per_cm2: float = 4.0) -> dict[str, Any]:
    """Ground truth for ``objects`` = [{"type": "mug"|"knife", "color": str, "position_m": [x, y], "yaw_deg": a}]."""
    rng = np.random.default_rng(seed)
    out = []
    for index, spec in enumerate(objects):
        parts = _BUILDERS[spec["type"]](rng, points_per_cm2)
        out.append({"id": index, "type": spec["type"], "color": spec.get("color"),
                    "parts": {name: {"points": _place(p, spec["position_m"], spec.get("yaw_deg", 0.0)).tolist()}
                              for name, p in parts.items()}})
    return {"frame_id": "base_link", "objects": out}
