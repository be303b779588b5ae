"""Procedural surface appearance: value noise fixed in world coordinates (so all views agree) and shading.

Photometric NeRF training needs texture to triangulate; a deterministic function of the 3D hit point gives
every view the same colour for the same surface point, unlike image-space noise.
"""
from __future__ import annotations

import itertools

import numpy as np

TABLE_ALBEDO = np.array([0.50, 0.36, 0.24])  # light wood
TABLE_CHECKER_M = 0.10
SKY_RGB = np.array([0.70, 0.75, 0.80])
LIGHT_DIRECTION = np.array([0.35, 0.25, 1.0]) / np.linalg.norm([0.35, 0.25, 1.0])  # towards the light
AMBIENT, DIFFUSE = 0.35, 0.65
_PRIMES = (np.uint32(0x9E3779B1), np.uint32(0x85EBCA77), np.uint32(0xC2B2AE3D))


def _hash01(lattice: np.ndarray, seed: int) -> np.ndarray:
    """A pseudo-random value in [0, 1] per integer lattice point (N, D): same point, same value, always."""
    with np.errstate(over="ignore"):  # uint32 arithmetic wraps by design
        h = np.full(len(lattice), np.uint32((seed * 0x27D4EB2F) & 0xFFFFFFFF))
        for axis in range(lattice.shape[1]):
            h ^= lattice[:, axis].astype(np.uint32) * _PRIMES[axis]
        for shift, mult in ((15, 0x2C1B3C6D), (12, 0x297A2D39), (15, 1)):
            h ^= h >> np.uint32(shift)
            h *= np.uint32(mult)
    return h.astype(np.float32) * np.float32(2.0**-32)


def value_noise(points_m: np.ndarray, cell_m: float, seed: int = 0) -> np.ndarray:
    """Smooth noise in [0, 1] over 2D or 3D points: random values on a grid of ``cell_m``, smoothly blended."""
    scaled = np.asarray(points_m, dtype=np.float64) / cell_m
    count, dims = scaled.shape
    base = np.floor(scaled)
    frac = scaled - base
    weight = frac * frac * (3 - 2 * frac)  # smoothstep: no creases at cell borders
    corners = np.array(list(itertools.product((0, 1), repeat=dims)))  # first axis varies slowest
    base = base.astype(np.int64)
    values = _corner_values(base, corners, seed).reshape((count,) + (2,) * dims)
    weight = weight.astype(np.float32)
    for axis in range(dims):  # blend away one axis at a time, first to last
        w = weight[:, axis].reshape((count,) + (1,) * (dims - axis - 1))
        values = values[:, 0] * (1 - w) + values[:, 1] * w
    return values


def _corner_values(base: np.ndarray, corners: np.ndarray, seed: int) -> np.ndarray:
    """:func:`_hash01` of every point's cell corners (N, 2**D), the same values either way: hashed once per
    lattice point of the points' bounding grid when that grid is small (a view's table holds ~300k pixels over a
    few thousand lattice points: a 640x480 render took ~11 % less, measured), else per point and corner."""
    count, dims = base.shape
    if count:
        low = base.min(axis=0)
        extent = base.max(axis=0) - low + 2
        if np.prod(extent.astype(np.float64)) <= max(4 * count, 1 << 16):
            axes = [np.arange(lo, lo + n) for lo, n in zip(low, extent)]
            grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dims)
            table = _hash01(grid, seed).reshape(tuple(extent))
            local = base - low
            return np.stack([table[tuple((local + corner).T)] for corner in corners], axis=1)
    lattice = (base[:, None, :] + corners[None]).reshape(-1, dims)
    return _hash01(lattice, seed)


def table_albedo(points_m: np.ndarray) -> np.ndarray:
    """(N, 3) albedo of table points: wood-like grain noise over a faint 10 cm checker."""
    xy = np.asarray(points_m)[:, :2]
    grain = 0.6 * value_noise(xy * [1.0, 4.0], 0.08, seed=1) + 0.4 * value_noise(xy, 0.012, seed=2)
    checker = (np.floor(xy[:, 0] / TABLE_CHECKER_M) + np.floor(xy[:, 1] / TABLE_CHECKER_M)) % 2
    return TABLE_ALBEDO * (0.55 + 0.7 * grain + 0.15 * checker)[:, None]


def object_albedo(points_m: np.ndarray, base_albedo: np.ndarray) -> np.ndarray:
    """(N, 3) albedo of object points: their part's colour with a mild mottle (+-20 %)."""
    mottle = 0.8 + 0.4 * value_noise(np.asarray(points_m), 0.012, seed=3)
    return np.asarray(base_albedo) * mottle[:, None]


def shade(albedo: np.ndarray, normals: np.ndarray, lit: np.ndarray) -> np.ndarray:
    """Lambertian shading under one distant light plus ambient, to sRGB uint8. ``lit`` = not in shadow."""
    cosine = np.clip(normals @ LIGHT_DIRECTION, 0.0, None) * lit
    linear = np.clip(albedo * (AMBIENT + DIFFUSE * cosine)[:, None], 0.0, 1.0)
    return np.round(255.0 * linear ** (1 / 2.2)).astype(np.uint8)


def sky(count: int) -> np.ndarray:
    """Colour of rays that hit nothing."""
    return np.broadcast_to(np.round(255.0 * SKY_RGB ** (1 / 2.2)).astype(np.uint8), (count, 3)).copy()
