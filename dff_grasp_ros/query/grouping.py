"""Object grouping as LERF-TOGO does it: flood fill from the most relevant point over DINO-similar neighbours.

Language relevancy is blurry at object borders (CLIP features are patch-sized); DINO features are crisp and
instance-specific, so the object mask grows over *spatial* neighbours whose DINO features match. Two tests
decide whether a neighbour joins: similar to the point it is reached from (edge test, follows gradual changes
across parts such as a mug's body and handle) and not too far from the seed's feature (reference test, stops
slow drift across a blurred border into the table or a touching object).

The edge test does not depend on the prompt, so :class:`GroupingIndex` keeps, once per cloud, the graph of
neighbours that pass it (compressed rows); a query only walks that graph and applies the reference test.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from dff_grasp_ros.geometry import gather_ranges, unit_rows


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


@dataclass(frozen=True, eq=False)
class GroupingIndex:
    """The prompt-independent part of grouping over one cloud: unit DINO rows, a KD-tree, the edge-test graph.

    Immutable once built, so concurrent queries may share it.
    """

    points_m: np.ndarray  # (N, 3)
    dino: np.ndarray  # (N, D) unit rows
    tree: cKDTree
    indptr: np.ndarray  # (N + 1,) edges of point i are indices[indptr[i]:indptr[i + 1]]
    indices: np.ndarray  # (E,) neighbours that pass the edge test
    params: GroupingParams

    @staticmethod
    def build(points_m: np.ndarray, dino: np.ndarray, params: GroupingParams) -> GroupingIndex:
        points_m = np.asarray(points_m, dtype=np.float64)
        dino = unit_rows(dino)
        n = len(points_m)
        tree = cKDTree(points_m)
        if n == 0:
            return GroupingIndex(points_m, dino, tree, np.zeros(1, np.int64), np.zeros(0, np.int64), params)
        # Every point's reach: the fixed radius, or more where the cloud is sparse (see GroupingParams).
        k = min(params.spacing_neighbours + 1, n)  # +1: each point finds itself first
        spacing = np.asarray(tree.query(points_m, k=k)[0]).reshape(n, k)[:, -1]
        radius = np.maximum(params.neighbour_radius_m, params.spacing_factor * spacing)
        pairs = tree.query_pairs(params.neighbour_radius_m, output_type="ndarray").astype(np.int64)
        # Within the fixed radius both directions are edges; the edge test is symmetric, so test each pair once.
        pairs = pairs[np.einsum("ij,ij->i", dino[pairs[:, 0]], dino[pairs[:, 1]]) >= params.edge_min_cosine]
        sources, targets = [pairs[:, 0], pairs[:, 1]], [pairs[:, 1], pairs[:, 0]]
        wide = np.flatnonzero(radius > params.neighbour_radius_m)
        if len(wide):  # sparse points reach further, in their own direction only
            lists = tree.query_ball_point(points_m[wide], r=radius[wide])
            counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
            far_sources = np.repeat(wide, counts)
            far_targets = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])
            beyond = (np.linalg.norm(points_m[far_targets] - points_m[far_sources], axis=1)
                      > params.neighbour_radius_m)
            far_sources, far_targets = far_sources[beyond], far_targets[beyond]
            similar = np.einsum("ij,ij->i", dino[far_sources], dino[far_targets]) >= params.edge_min_cosine
            sources.append(far_sources[similar])
            targets.append(far_targets[similar])
        sources, targets = np.concatenate(sources), np.concatenate(targets)
        order = np.argsort(sources, kind="stable")
        indptr = np.r_[0, np.cumsum(np.bincount(sources, minlength=n))].astype(np.int64)
        return GroupingIndex(points_m, dino, tree, indptr, targets[order], params)

    def __len__(self) -> int:
        return len(self.points_m)

    def subset(self, keep: np.ndarray) -> GroupingIndex:
        """The index of the ``keep`` points (mask) alone, without building the neighbour graph again: the edges
        between kept points stay, renumbered (a scene update removes a few objects' points). A kept point's reach
        was set by its neighbours before the removal; the edge test itself does not depend on the others."""
        keep = np.asarray(keep, dtype=bool)
        new_index = np.cumsum(keep) - 1
        sources = np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.indptr))
        kept_edge = keep[sources] & keep[self.indices]
        sources, targets = new_index[sources[kept_edge]], new_index[self.indices[kept_edge]]  # still sorted
        count = int(keep.sum())
        indptr = np.r_[0, np.cumsum(np.bincount(sources, minlength=count))].astype(np.int64)
        points = self.points_m[keep]
        return GroupingIndex(points, self.dino[keep], cKDTree(points), indptr, targets, self.params)

    def extended(self, points_m: np.ndarray, dino: np.ndarray) -> GroupingIndex:
        """This index with ``points_m`` (their DINO rows ``dino``) appended, without building the old points' graph
        again (a scene update carries a moved object's points to its new place). The new points get the edges
        :meth:`build` would give them: both directions within ``neighbour_radius_m`` (edge test), and their own
        wider reach where they are sparse. An old point's reach stays what its neighbours set before, as in
        :meth:`subset`."""
        params, old = self.params, len(self)
        added = np.asarray(points_m, dtype=np.float64).reshape(-1, 3)
        if len(added) == 0:
            return self
        points = np.vstack([self.points_m, added])
        dino = np.vstack([self.dino, unit_rows(dino)])
        tree = cKDTree(points)
        new = np.arange(old, len(points), dtype=np.int64)
        k = min(params.spacing_neighbours + 1, len(points))
        spacing = np.asarray(tree.query(points[new], k=k)[0]).reshape(len(new), k)[:, -1]
        radius = np.maximum(params.neighbour_radius_m, params.spacing_factor * spacing)
        lists = tree.query_ball_point(points[new], r=radius)
        counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        sources = np.repeat(new, counts)
        targets = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])
        similar = (targets != sources) & (np.einsum("ij,ij->i", dino[sources], dino[targets])
                                          >= params.edge_min_cosine)
        sources, targets = sources[similar], targets[similar]
        near = np.linalg.norm(points[targets] - points[sources], axis=1) <= params.neighbour_radius_m
        # Within the fixed radius an edge goes both ways; between two new points each finds the other itself.
        back = near & (targets < old)
        all_sources = np.concatenate([np.repeat(np.arange(old, dtype=np.int64), np.diff(self.indptr)), sources,
                                      targets[back]])
        all_targets = np.concatenate([self.indices, targets, sources[back]])
        order = np.argsort(all_sources, kind="stable")
        indptr = np.r_[0, np.cumsum(np.bincount(all_sources, minlength=len(points)))].astype(np.int64)
        return GroupingIndex(points, dino, tree, indptr, all_targets[order], params)

    def components(self, points: np.ndarray) -> np.ndarray:
        """Label (len(points),) of the connected piece of the neighbour graph among ``points`` (indices) that each
        belongs to: the objects among them, as far as their DINO features tell them apart."""
        points = np.asarray(points, dtype=np.int64)
        inside = np.full(len(self), -1, dtype=np.int64)
        inside[points] = np.arange(len(points))
        starts = self.indptr[points]
        counts = self.indptr[points + 1] - starts
        targets = inside[self.indices[gather_ranges(starts, counts)]]
        sources = np.repeat(np.arange(len(points)), counts)
        kept = targets >= 0
        graph = coo_matrix((np.ones(int(kept.sum())), (sources[kept], targets[kept])), shape=(len(points),) * 2)
        return connected_components(graph, directed=False)[1]

    def find_seed(self, scores: np.ndarray, excluded: np.ndarray | None = None) -> tuple[int, np.ndarray]:
        """Index of the point whose ``seed_neighbours`` nearest points have the highest mean score, and those points.

        Averaging over a neighbourhood keeps a single noisy point (a floater) from seeding the object.
        ``excluded`` points (an object found before) score as the lowest score minus one, so a seed next to
        them is unlikely and never one of them.
        """
        scores = np.asarray(scores, dtype=np.float64)
        if excluded is not None and excluded.any():
            scores = np.where(excluded, scores.min() - 1.0, scores)
        k = min(self.params.seed_neighbours, len(self))
        # Only the best-scoring points can win; smoothing all N points would cost N * k look-ups per query.
        shortlist = largest_first(scores, max(64, 4 * k))
        _, neighbour_idx = self.tree.query(self.points_m[shortlist], k=k)
        neighbour_idx = np.asarray(neighbour_idx).reshape(len(shortlist), k)
        smoothed = scores[neighbour_idx].mean(axis=1)
        if excluded is not None:
            smoothed = np.where(excluded[shortlist], -np.inf, smoothed)
        best = int(np.argmax(smoothed))
        return int(shortlist[best]), neighbour_idx[best]

    def grow(self, seed_points: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask (N,) of the object that contains ``seed_points`` (indices), grown by breadth-first search.

        Only ``allowed`` points (default: all) may join.
        """
        params = self.params
        seed_points = np.asarray(seed_points, dtype=np.int64)
        if allowed is not None:
            seed_points = seed_points[allowed[seed_points]]
        mask = np.zeros(len(self), dtype=bool)
        if len(seed_points) == 0:
            return mask
        reference = unit_rows(self.dino[seed_points].mean(axis=0, keepdims=True))[0]
        centre = self.points_m[seed_points].mean(axis=0)
        mask[seed_points] = True
        frontier = seed_points
        reached = np.zeros(len(self), dtype=bool)  # scratch, cleared after each step
        while len(frontier):
            starts = self.indptr[frontier]
            targets = self.indices[gather_ranges(starts, self.indptr[frontier + 1] - starts)]
            fresh = ~mask[targets] if allowed is None else ~mask[targets] & allowed[targets]
            # The distinct targets in ascending order (np.unique's answer), marked and read back: a pass over N
            # booleans costs less than hashing and sorting the targets at every step.
            reached[targets[fresh]] = True
            targets = np.flatnonzero(reached)
            reached[targets] = False
            if len(targets) == 0:
                break
            accept = ((self.dino[targets] @ reference >= params.seed_min_cosine)
                      & (np.linalg.norm(self.points_m[targets] - centre, axis=1) <= params.max_object_extent_m))
            frontier = targets[accept]
            mask[frontier] = True
        return mask

    def within(self, region: np.ndarray, distance_m: float) -> np.ndarray:
        """Mask of the points within ``distance_m`` of any point of ``region`` (mask)."""
        near = np.zeros(len(self), dtype=bool)
        if region.any():
            lists = self.tree.query_ball_point(self.points_m[region], r=distance_m)
            near[np.fromiter(chain.from_iterable(lists), dtype=np.int64)] = True
        return near


def largest_first(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` largest ``scores``, largest first: ``np.argsort(scores)[::-1][:count]``, the same
    indices in the same order, without sorting all of them (a query's scores cover every scene point).

    Partitioned first; where the ``count + 1`` largest are all distinct, their order is the only one any sort
    gives. Ties (or NaN) among them are left to the full sort, whose order among equal scores is its own.
    """
    scores = np.asarray(scores)
    if count + 1 >= len(scores) or count <= 0:
        return np.argsort(scores)[::-1][:count]
    top = np.argpartition(scores, len(scores) - count - 1)[len(scores) - count - 1:]
    values = scores[top]
    order = np.argsort(values)
    ranked = values[order]
    if np.isnan(ranked).any() or (ranked[1:] == ranked[:-1]).any():
        return np.argsort(scores)[::-1][:count]
    return top[order[::-1][:count]]


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
