"""Object grouping as LERF-TOGO does it: flood fill from the most relevant point over DINO-similar neighbours.

Language relevancy is blurry at object borders (CLIP features are patch-sized); DINO features are crisp and
instance-specific, so the object mask grows over *spatial* neighbours whose DINO features match. Two tests
decide whether a neighbour joins: similar to the point it is reached from (edge test, follows gradual changes
across parts such as a mug's body and handle) and not too far from the seed's feature (reference test, stops
slow drift across a blurred border into the table or a touching object).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from dff_grasp_ros.geometry import unit_rows


@dataclass(frozen=True)
class GroupingParams:
    """Flood-fill settings; distances in metres, similarities are cosines of DINO features."""

    neighbour_radius_m: float = 0.012  # a few point spacings of a fused scene cloud
    # Sparse regions need a larger reach: a point's radius is at least this many times the distance to its
    # ``spacing_neighbours``-th nearest neighbour, so the fill crosses sparsely sampled surfaces too.
    spacing_factor: float = 2.0
    spacing_neighbours: int = 4
    seed_neighbours: int = 8  # the seed is the point whose k nearest neighbours are most relevant on average
    edge_min_cosine: float = 0.8
    seed_min_cosine: float = 0.5
    max_object_extent_m: float = 0.4  # nothing a parallel-jaw hand picks is larger; stops runaway fills

    def __post_init__(self) -> None:
        if self.neighbour_radius_m <= 0 or self.max_object_extent_m <= 0 or self.seed_neighbours < 1:
            raise ValueError(f"invalid grouping parameters: {self}")


def find_seed(tree: cKDTree, scores: np.ndarray, neighbours: int) -> tuple[int, np.ndarray]:
    """Index of the point whose ``neighbours`` nearest points have the highest mean score, and those points.

    Averaging over a neighbourhood keeps a single noisy point (a floater) from seeding the object.
    """
    k = min(neighbours, tree.n)
    # Only the best-scoring points can win; smoothing all N points would cost N * k look-ups per query.
    shortlist = np.argsort(scores)[::-1][: max(64, 4 * k)]
    _, neighbour_idx = tree.query(tree.data[shortlist], k=k)
    neighbour_idx = np.asarray(neighbour_idx).reshape(len(shortlist), k)
    smoothed = scores[neighbour_idx].mean(axis=1)
    best = int(np.argmax(smoothed))
    return int(shortlist[best]), neighbour_idx[best]


def adaptive_radius_m(tree: cKDTree, query_m: np.ndarray, params: GroupingParams) -> np.ndarray:
    """Neighbour radius (M,) per query point: the fixed radius, or more where the cloud is sparse."""
    k = min(params.spacing_neighbours + 1, tree.n)  # +1: the query point finds itself first
    distance, _ = tree.query(query_m, k=k)
    spacing = np.asarray(distance).reshape(len(query_m), k)[:, -1]
    return np.maximum(params.neighbour_radius_m, params.spacing_factor * spacing)


def grow_object(tree: cKDTree, dino: np.ndarray, seed_points: np.ndarray, params: GroupingParams) -> np.ndarray:
    """Boolean mask (N,) of the object that contains ``seed_points`` (indices), grown by breadth-first search."""
    points = tree.data
    dino = unit_rows(dino)
    reference = unit_rows(dino[seed_points].mean(axis=0, keepdims=True))[0]
    centre = points[seed_points].mean(axis=0)
    mask = np.zeros(len(points), dtype=bool)
    mask[seed_points] = True
    frontier = np.asarray(seed_points, dtype=np.int64)
    while len(frontier):
        lists = tree.query_ball_point(points[frontier], r=adaptive_radius_m(tree, points[frontier], params))
        counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        if counts.sum() == 0:
            break
        sources = np.repeat(frontier, counts)
        targets = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])
        fresh = ~mask[targets]
        sources, targets = sources[fresh], targets[fresh]
        edge_cos = np.einsum("ij,ij->i", dino[sources], dino[targets])
        accept = ((edge_cos >= params.edge_min_cosine)
                  & (dino[targets] @ reference >= params.seed_min_cosine)
                  & (np.linalg.norm(points[targets] - centre, axis=1) <= params.max_object_extent_m))
        frontier = np.unique(targets[accept])
        mask[frontier] = True
    return mask


def connected_regions(points: np.ndarray, radius_m: float, spacing_factor: float = 2.0,
                      spacing_neighbours: int = 4) -> np.ndarray:
    """Label (M,) of the spatially connected component of each point.

    Points closer than ``radius_m`` are connected, or than ``spacing_factor`` times the median distance to the
    ``spacing_neighbours``-th neighbour when the points are sparser than that.
    """
    if len(points) == 0:
        return np.zeros(0, dtype=np.int64)
    tree = cKDTree(points)
    if len(points) > spacing_neighbours:
        spacing = float(np.median(tree.query(points, k=spacing_neighbours + 1)[0][:, -1]))
        radius_m = max(radius_m, spacing_factor * spacing)
    pairs = tree.query_pairs(radius_m, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(points), len(points)))
    return connected_components(graph, directed=False)[1]


def best_region(points: np.ndarray, scores: np.ndarray, candidate: np.ndarray, radius_m: float,
                baseline: float = 0.5) -> np.ndarray:
    """Mask of the connected part of ``candidate`` with the largest total ``scores - baseline``.

    A sum, not a mean, so that a large well-matching region beats a few stray high points.
    """
    region = np.zeros(len(points), dtype=bool)
    index = np.flatnonzero(candidate)
    if len(index) == 0:
        return region
    labels = connected_regions(points[index], radius_m)
    totals = np.bincount(labels, weights=scores[index] - baseline)
    region[index[labels == int(np.argmax(totals))]] = True
    return region
