"""Triangle meshes of primitive solids, in plain numpy (no open3d needed to build or check a scene).

All generators emit triangles wound counter-clockwise seen from outside, so face normals point out of the
solid; :func:`signed_volume_m3` is positive for a closed mesh wound that way (the tests rely on it).

Each generator also gives the solid as convex pieces (point sets whose convex hulls together make it up), so a
physics engine can collide with its concavities (a mug's hole, a bowl's inside, a handle loop) without a convex
decomposition: a revolved profile is cut into convex polygons, each turned into a ring of wedges (or one piece
when it lies on the axis); a tube along an arc is a chain of short straight segments. Pieces may
deviate from the triangle mesh by at most :data:`PIECE_TOLERANCE_M`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dff_grasp_ros.synthetic.placement import convex_hull_2d

# Largest distance between a convex piece's hull and the mesh it stands for (chords of arcs, filled notches).
PIECE_TOLERANCE_M = 5e-4
# Wedges per turn of a revolved solid's pieces: chords of a 24-gon lie within r (1 - cos 7.5 deg) = 0.0086 r of
# the circle (0.35 mm on a mug, 0.95 mm on a 22 cm pan): fine for contacts, and four times fewer pieces than the
# 64-gon a pan is drawn with.
PIECE_SEGMENTS = 24


@dataclass(frozen=True, eq=False)
class Mesh:
    """Vertices (N, 3) in metres and triangles (M, 3) as vertex indices, plus the solid as convex pieces (each
    (K, 3) points whose convex hull is one piece; empty for open surfaces such as the table)."""

    vertices: np.ndarray
    triangles: np.ndarray
    convex_pieces: tuple[np.ndarray, ...] = ()

    def transformed(self, transform: np.ndarray) -> Mesh:
        """The mesh (and its pieces) moved by a 4x4 rigid transform."""
        rotation, translation = transform[:3, :3], transform[:3, 3]
        return Mesh(self.vertices @ rotation.T + translation, self.triangles,
                    tuple(piece @ rotation.T + translation for piece in self.convex_pieces))

    def triangle_corners(self) -> np.ndarray:
        """(M, 3, 3): the three corner points of every triangle."""
        return self.vertices[self.triangles]

    def triangle_areas_m2(self) -> np.ndarray:
        a, b, c = np.moveaxis(self.triangle_corners(), 1, 0)
        return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def signed_volume_m3(mesh: Mesh) -> float:
    """Enclosed volume by the divergence theorem; negative if the winding points normals inwards."""
    a, b, c = np.moveaxis(mesh.triangle_corners(), 1, 0)
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def rigid_transform(yaw_rad: float = 0.0, translation_m: tuple[float, float, float] = (0.0, 0.0, 0.0),
                    pitch_rad: float = 0.0) -> np.ndarray:
    """4x4 transform: rotate about y by ``pitch_rad``, then about z by ``yaw_rad``, then translate."""
    cy, sy = np.cos(yaw_rad), np.sin(yaw_rad)
    cp, sp = np.cos(pitch_rad), np.sin(pitch_rad)
    yaw = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    pitch = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    transform = np.eye(4)
    transform[:3, :3] = yaw @ pitch
    transform[:3, 3] = translation_m
    return transform


def box(min_corner_m: tuple[float, float, float], max_corner_m: tuple[float, float, float]) -> Mesh:
    """Axis-aligned closed box between two corners."""
    lo, hi = np.asarray(min_corner_m, float), np.asarray(max_corner_m, float)
    if np.any(hi <= lo):
        raise ValueError(f"box corners must satisfy min < max, got {lo} and {hi}")
    bits = np.array([[(i >> 0) & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], dtype=float)
    vertices = lo + bits * (hi - lo)
    # Vertex index = x + 2y + 4z; each face listed counter-clockwise from outside.
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    triangles = [tri for a, b, c, d in quads for tri in ((a, b, c), (a, c, d))]
    return Mesh(vertices, np.array(triangles, dtype=np.int64), (vertices,))


def _grid_triangles(rows: int, cols: int) -> np.ndarray:
    """Two triangles per cell of a rows x cols vertex grid whose columns wrap around (a ring per row)."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols), indexing="ij")
    a = r * cols + c
    b = r * cols + (c + 1) % cols
    c_ = (r + 1) * cols + (c + 1) % cols
    d = (r + 1) * cols + c
    return np.concatenate([np.stack([a, b, c_], -1).reshape(-1, 3), np.stack([a, c_, d], -1).reshape(-1, 3)])


def _drop_degenerate(mesh: Mesh) -> Mesh:
    keep = mesh.triangle_areas_m2() > 1e-14
    return Mesh(mesh.vertices, mesh.triangles[keep], mesh.convex_pieces)


def revolve(profile_rz_m: list[tuple[float, float]], segments: int = 48) -> Mesh:
    """Surface of revolution about +z of a polyline of (radius, height) points.

    Walk the profile with the solid on the left (e.g. outwards along the bottom, up the outside) so that the
    normals point out. Points with radius 0 close the surface at the axis.
    """
    profile = np.asarray(profile_rz_m, dtype=float)
    if profile.ndim != 2 or profile.shape[1] != 2 or len(profile) < 2 or np.any(profile[:, 0] < 0):
        raise ValueError("profile must be at least two (radius >= 0, height) points")
    angles = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    rings = np.stack([profile[:, :1] * np.cos(angles), profile[:, :1] * np.sin(angles),
                      np.broadcast_to(profile[:, 1:], (len(profile), segments))], axis=-1)
    pieces = revolved_pieces(profile, min(segments, PIECE_SEGMENTS))
    return _drop_degenerate(Mesh(rings.reshape(-1, 3), _grid_triangles(len(profile), segments), pieces))


def cylinder(radius_m: float, z_min_m: float, z_max_m: float, segments: int = 48) -> Mesh:
    """Closed cylinder about +z."""
    return revolve([(0.0, z_min_m), (radius_m, z_min_m), (radius_m, z_max_m), (0.0, z_max_m)], segments)


def arc_tube(arc_radius_m: float, tube_radius_m: float, start_rad: float, end_rad: float,
             arc_segments: int = 32, tube_segments: int = 16) -> Mesh:
    """A closed tube swept along an arc of a circle in the xz plane, centred at the origin (flat end caps).

    Angle 0 is +x, pi/2 is +z. Used for loop handles whose ends are buried in the body they attach to.
    """
    if not 0 < tube_radius_m < arc_radius_m:
        raise ValueError("arc_tube needs 0 < tube_radius_m < arc_radius_m")
    theta = np.linspace(start_rad, end_rad, arc_segments + 1)
    phi = np.linspace(0.0, 2 * np.pi, tube_segments, endpoint=False)
    centre = arc_radius_m * np.stack([np.cos(theta), np.zeros_like(theta), np.sin(theta)], -1)
    radial = centre / arc_radius_m  # in-plane normal N1
    side = np.broadcast_to([0.0, 1.0, 0.0], radial.shape)  # N2 = T x N1 (T the arc tangent): outward winding
    offsets = (np.cos(phi)[None, :, None] * radial[:, None, :] + np.sin(phi)[None, :, None] * side[:, None, :])
    rings = (centre[:, None, :] + tube_radius_m * offsets).reshape(-1, 3)
    first_centre, last_centre = len(rings), len(rings) + 1
    ring = np.arange(tube_segments)
    last_ring = (len(theta) - 1) * tube_segments + ring
    # The rings turn counter-clockwise about the arc tangent, so these fans face back (start) and ahead (end).
    start_cap = np.stack([np.full(tube_segments, first_centre), np.roll(ring, -1), ring], axis=1)
    end_cap = np.stack([np.full(tube_segments, last_centre), last_ring, np.roll(last_ring, -1)], axis=1)
    vertices = np.concatenate([rings, centre[[0, -1]]])
    # Pieces: hulls of runs of rings. A run's hull bridges the inner side of the bend; keep that bulge (the
    # sagitta of the run's arc at the tube's inner radius) within PIECE_TOLERANCE_M.
    step_rad = (end_rad - start_rad) / arc_segments
    inner_m = arc_radius_m - tube_radius_m
    max_run_rad = 2 * np.arccos(np.clip(1 - PIECE_TOLERANCE_M / inner_m, -1.0, 1.0))
    run = max(1, int(max_run_rad // abs(step_rad)))
    grid = rings.reshape(len(theta), tube_segments, 3)
    pieces = tuple(grid[i:i + run + 1].reshape(-1, 3) for i in range(0, arc_segments, run))
    return Mesh(vertices, np.concatenate([_grid_triangles(len(theta), tube_segments), start_cap, end_cap]), pieces)


def _hull_deviation_m(polygon: np.ndarray) -> float:
    """How far the polygon's convex hull reaches beyond it: the largest distance of a vertex from the hull's
    boundary (zero for a convex polygon)."""
    hull = convex_hull_2d(polygon)
    edges = np.roll(hull, -1, axis=0) - hull
    inward = np.stack([-edges[:, 1], edges[:, 0]], axis=1) / np.linalg.norm(edges, axis=1, keepdims=True)
    depth = np.einsum("vkd,kd->vk", polygon[:, None, :] - hull[None], inward)  # >= 0: inside that edge
    return float(depth.min(axis=1).max())


def _without_repeats(points: list[np.ndarray]) -> np.ndarray:
    out = [p for k, p in enumerate(points) if np.linalg.norm(p - points[k - 1]) > 1e-12]
    return np.array(out)


def profile_slabs(profile_rz_m: np.ndarray, tolerance_m: float = PIECE_TOLERANCE_M) -> list[np.ndarray]:
    """A revolve profile (a closed, counter-clockwise (r, z) polygon) as (nearly) convex polygons.

    The polygon is cut by a horizontal line through every vertex; within each slab it is a row of trapezoids
    (between pairs of edges crossing the slab). Trapezoids stacked on the same segment are merged upwards while
    the stack's convex hull reaches no further than ``tolerance_m`` beyond it. A piece that starts on the axis
    stays there, so it turns into one convex solid (a disc, a cylinder, a bottle's body) instead of a ring of
    wedges.
    """
    polygon = np.asarray(profile_rz_m, dtype=float)
    edges = [(polygon[k - 1], polygon[k]) for k in range(len(polygon))]
    levels = np.unique(polygon[:, 1])
    finished: list[np.ndarray] = []
    open_stacks: list[tuple[list[np.ndarray], list[np.ndarray]]] = []  # (right chain, left chain), bottom up
    for z0, z1 in zip(levels[:-1], levels[1:]):
        middle = 0.5 * (z0 + z1)

        def r_at(a: np.ndarray, b: np.ndarray, z: float) -> float:
            return float(a[0] + (b[0] - a[0]) * (z - a[1]) / (b[1] - a[1]))

        crossing = sorted(((a, b) for a, b in edges if min(a[1], b[1]) < middle < max(a[1], b[1])),
                          key=lambda edge: r_at(*edge, middle))
        still_open = []
        for (la, lb), (ra, rb) in zip(crossing[0::2], crossing[1::2]):
            left = [np.array([r_at(la, lb, z0), z0]), np.array([r_at(la, lb, z1), z1])]
            right = [np.array([r_at(ra, rb, z0), z0]), np.array([r_at(ra, rb, z1), z1])]
            below = next((s for s in open_stacks if np.allclose(s[0][-1], right[0], atol=1e-12)
                          and np.allclose(s[1][-1], left[0], atol=1e-12)), None)
            if below is not None:
                open_stacks.remove(below)
                grown = (below[0] + right[1:], below[1] + left[1:])
                if _hull_deviation_m(_stack_polygon(grown)) <= tolerance_m:
                    still_open.append(grown)
                    continue
                finished.append(_stack_polygon(below))
            still_open.append((right, left))
        finished += [_stack_polygon(s) for s in open_stacks]
        open_stacks = still_open
    return finished + [_stack_polygon(s) for s in open_stacks]


def _stack_polygon(stack: tuple[list[np.ndarray], list[np.ndarray]]) -> np.ndarray:
    """Counter-clockwise polygon of a stack: up the right chain, back down the left one."""
    right, left = stack
    return _without_repeats(right + left[::-1])


def revolved_pieces(profile_rz_m: np.ndarray, segments: int) -> tuple[np.ndarray, ...]:
    """Convex pieces of a revolved profile (see :func:`revolve`): each slab piece of the profile
    (:func:`profile_slabs`) turned through ``segments`` wedges, or kept whole when it lies on the axis."""
    profile = np.asarray(profile_rz_m, dtype=float)
    angles = np.linspace(0.0, 2 * np.pi, segments + 1)
    pieces = []
    for polygon in profile_slabs(profile):
        if polygon[:, 0].min() < 1e-9:  # a piece on the axis turns into one convex solid
            pieces.append(_turned(polygon, angles[:-1]))
        else:
            pieces += [_turned(polygon, angles[k:k + 2]) for k in range(segments)]
    return tuple(pieces)


def _turned(polygon_rz: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """The distinct 3D points of an (r, z) polygon turned to each of ``angles`` about +z."""
    r, z = polygon_rz[:, 0], polygon_rz[:, 1]
    points = np.stack([np.outer(np.cos(angles), r), np.outer(np.sin(angles), r),
                       np.broadcast_to(z, (len(angles), len(r)))], -1).reshape(-1, 3)
    return np.unique(points.round(12), axis=0)



def sample_surface(mesh: Mesh, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points uniformly distributed over the surface, with the outward unit normal of each."""
    areas = mesh.triangle_areas_m2()
    chosen = rng.choice(len(areas), size=count, p=areas / areas.sum())
    a, b, c = np.moveaxis(mesh.triangle_corners()[chosen], 1, 0)
    u, v = rng.random((2, count, 1))
    flip = (u + v) > 1  # reflect into the triangle so the density stays uniform
    u, v = np.where(flip, 1 - u, u), np.where(flip, 1 - v, v)
    normals = np.cross(b - a, c - a)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return a + u * (b - a) + v * (c - a), normals
