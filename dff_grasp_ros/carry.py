"""Carry an object that moved on the table (pushed, or nudged by a neighbour's pick) to where one fresh view sees it.

A scene update (:mod:`dff_grasp_ros.carving`) removes what the view sees through and adds what it measures anew as
featureless obstacles: an object that moved leaves its old place (removed with its language features) and shows
up as new surface that no prompt matches. Here each removed object (a region of removed scene points) is fitted
to each cluster of new surface above the table nearby by a planar rigid motion (dx, dy, yaw about the vertical:
it slid or turned on the table), by ICP with the cluster as the data (one view sees only part of the object, so
distances run from the new points to the moved old ones). A fit is accepted only when

* nearly all of the cluster lies on the moved object (:attr:`CarryParams.min_fit_share`),
* the view agrees with the moved object (:func:`view_check` in the caller): of its points facing the camera, a
  fair share is matched by the cluster and hardly any is seen through,
* the fit is unique: every good fit from the other initial yaws puts the object at the same place (a symmetric
  object may turn either way: its place is the same), and no other object fits the same cluster, nor the object
  another cluster.

Otherwise nothing is carried: the new surface stays a featureless obstacle and a prompt for the object is
refused as not found, which is safe; a wrongly carried object would be grasped where nothing is, or under the
wrong name. Pure numpy and scipy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.spatial import cKDTree

from dff_grasp_ros.query.grouping import connected_regions


@dataclass(frozen=True)
class CarryParams:
    """When a removed object is carried to new surface (metres, degrees, shares of points)."""

    enabled: bool = True
    # A push moves an object 5-7 cm, a neighbour's pick nudges it by less; twice a push, and no farther: the
    # farther the search, the likelier a different object of the same shape fits instead.
    max_move_m: float = 0.15
    # A push turns an object by a few degrees; beyond this the fit is refused (a tool that spun round is more
    # likely another one). The ICP starts from each of ``initial_yaws_deg``.
    max_yaw_deg: float = 60.0
    initial_yaws_deg: tuple[float, ...] = (-40.0, -20.0, 0.0, 20.0, 40.0)
    icp_iterations: int = 25
    # A new point fits the moved object within this: the fused cloud's 4 mm voxels, plus a few mm of depth noise.
    fit_tolerance_m: float = 0.006
    # Share of the cluster's points that must lie on the moved object: the cluster is that object alone (another
    # thing touching it would be carried under its name otherwise); 10% allows the view's edge pixels.
    min_fit_share: float = 0.9
    # Share of the moved object's points facing the camera that the cluster must match: a small flat patch
    # (a neighbour's face the pick uncovered) fits many objects' faces, but covers little of any of them.
    min_coverage_share: float = 0.5
    # Share of those points the view may see through (nothing there): the object is not where the fit puts it.
    # Right fits in the test bed's pushes (6 cm, 3-10 deg; bin, bin_clutter, two_mugs) saw through up to 5%.
    max_contradiction_share: float = 0.07
    # Share of those points behind something nearer at their pixel: a fit that lays the object into a neighbour.
    # Right fits in the test bed's pushes: at most 5%; the wrong ones seen (a mug, a bowl): 21-30%.
    max_hidden_share: float = 0.1
    # The removed region must be this share of the object the query's grouping grows from it (DINO flood fill
    # without limits): the object left its old place whole, not a piece of it.
    min_left_share: float = 0.8
    # Good fits from different starts must place the object's centre within this of each other: else the view
    # does not tell where it lies (an elongated object seen at one end slides along itself).
    unique_m: float = 0.01

    def __post_init__(self) -> None:
        if not (self.max_move_m > 0 and self.fit_tolerance_m > 0 and self.icp_iterations >= 1
                and self.initial_yaws_deg and self.unique_m > 0):
            raise ValueError(f"invalid carry parameters: {self}")
        for name in ("min_fit_share", "min_coverage_share", "max_contradiction_share", "max_hidden_share",
                     "min_left_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


@dataclass(frozen=True)
class PlanarMotion:
    """A rigid motion on the table: turn by ``yaw_rad`` about the vertical through the origin, then shift."""

    yaw_rad: float
    shift_m: np.ndarray  # (2,) along x and y

    def rotation(self) -> np.ndarray:
        c, s = np.cos(self.yaw_rad), np.sin(self.yaw_rad)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def apply(self, points_m: np.ndarray) -> np.ndarray:
        return np.asarray(points_m, np.float64) @ self.rotation().T + np.r_[self.shift_m, 0.0]

    def turn(self, vectors: np.ndarray) -> np.ndarray:
        """Directions (normals) turned with the object."""
        return np.asarray(vectors, np.float64) @ self.rotation().T

    def moved_m(self, point_m: np.ndarray) -> float:
        """How far ``point_m`` (the object's centre) moves."""
        return float(np.linalg.norm(self.apply(point_m[None])[0] - point_m))


@dataclass(frozen=True)
class CarriedObject:
    """One object carried by a scene update."""

    source_rows: np.ndarray  # rows of the cloud before the update that moved
    rows: np.ndarray  # their rows in the updated cloud
    motion: PlanarMotion
    moved_m: float  # how far the object's centre moved
    fit_share: float  # of the new surface's cluster on the moved object
    coverage_share: float  # of the moved object's points facing the camera that the cluster matched

    def describe(self) -> str:
        return (f"carried {len(self.rows)} points moved {100 * self.moved_m:.1f} cm, turned "
                f"{np.degrees(self.motion.yaw_rad):.0f} deg")


@dataclass(frozen=True)
class Fit:
    motion: PlanarMotion
    fit_share: float


def planar_icp(data_m: np.ndarray, model_m: np.ndarray, model_tree: cKDTree, start: PlanarMotion,
               params: CarryParams, tolerance_m: float | None = None) -> Fit:
    """The planar motion that lays ``model_m`` (the object where it was) onto ``data_m`` (new surface), refined
    from ``start``; and the share of the data within ``tolerance_m`` (default ``fit_tolerance_m``) of the moved
    model.

    Distances are taken from each data point to the model (the data is a partial view of the object): the data
    is moved back by the inverse motion and looked up in the model's tree, built once."""
    motion = start
    tolerance_m = params.fit_tolerance_m if tolerance_m is None else tolerance_m
    reject_m = 4 * tolerance_m  # pairs farther apart are not the same surface (yet)
    for _ in range(params.icp_iterations):
        rotation = motion.rotation()
        back = (data_m - np.r_[motion.shift_m, 0.0]) @ rotation  # R^T (p - t), row-wise
        distance, index = model_tree.query(back, distance_upper_bound=reject_m)
        paired = np.isfinite(distance)
        if paired.sum() < 3:
            break
        new = _procrustes_2d(model_m[index[paired], :2], data_m[paired, :2])
        step = abs(new.yaw_rad - motion.yaw_rad) + float(np.linalg.norm(new.shift_m - motion.shift_m))
        motion = new
        reject_m = max(1.5 * tolerance_m, 0.7 * reject_m)  # tighten as the fit settles
        if step < 1e-5:
            break
    back = (data_m - np.r_[motion.shift_m, 0.0]) @ motion.rotation()
    distance, _ = model_tree.query(back, distance_upper_bound=tolerance_m)
    return Fit(motion, float(np.isfinite(distance).mean()))


def fit_tolerance_m(model_m: np.ndarray, model_tree: cKDTree, params: CarryParams) -> float:
    """How far a new point may lie from the moved object's points: ``fit_tolerance_m``, or the points' spacing
    where they are sparser (median distance to the 4th nearest: a surface point sampled that sparsely lies
    farther than that from every sample about 5% of the time)."""
    k = min(5, len(model_m))  # each point finds itself first
    spacing = float(np.median(np.asarray(model_tree.query(model_m, k=k)[0]).reshape(len(model_m), k)[:, -1]))
    return max(params.fit_tolerance_m, spacing)


def _procrustes_2d(source: np.ndarray, target: np.ndarray) -> PlanarMotion:
    """The rotation and shift in the plane that take ``source`` points closest to ``target`` (least squares)."""
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    h = (source - source_mean).T @ (target - target_mean)
    yaw = float(np.arctan2(h[0, 1] - h[1, 0], h[0, 0] + h[1, 1]))
    c, s = np.cos(yaw), np.sin(yaw)
    return PlanarMotion(yaw, target_mean - np.array([[c, -s], [s, c]]) @ source_mean)


def unique_fit(data_m: np.ndarray, model_m: np.ndarray, tree: cKDTree, tolerance_m: float, params: CarryParams
               ) -> Fit | None:
    """The best fit of ``model_m`` (its KD-tree ``tree``) onto ``data_m`` from every initial yaw, when it is good
    (``min_fit_share`` within ``tolerance_m``), within bounds, and every other good fit puts the object's centre
    at the same place; else None."""
    centre = model_m.mean(axis=0)
    good: list[Fit] = []
    for yaw_deg in params.initial_yaws_deg:
        yaw = np.radians(yaw_deg)
        c, s = np.cos(yaw), np.sin(yaw)
        # Start with the centres (in the plane) on each other: the view's part of the object is near its centre.
        shift = data_m[:, :2].mean(axis=0) - np.array([[c, -s], [s, c]]) @ centre[:2]
        fit = planar_icp(data_m, model_m, tree, PlanarMotion(yaw, shift), params, tolerance_m)
        yaw_off = abs((fit.motion.yaw_rad + np.pi) % (2 * np.pi) - np.pi)
        if (fit.fit_share >= params.min_fit_share and fit.motion.moved_m(centre) <= params.max_move_m
                and yaw_off <= np.radians(params.max_yaw_deg)):
            good.append(fit)
    if not good:
        return None
    places = np.array([fit.motion.apply(centre[None])[0] for fit in good])
    if np.linalg.norm(places - places.mean(axis=0), axis=1).max() > params.unique_m / 2:
        return None
    return max(good, key=lambda fit: fit.fit_share)


def clusters(points_m: np.ndarray, above_m: float, radius_m: float, min_points: int) -> list[np.ndarray]:
    """Index arrays of the connected clusters of ``points_m`` above height ``above_m`` with at least
    ``min_points`` points (new surface standing on the table: the table a moved object uncovered is not one)."""
    index = np.flatnonzero(points_m[:, 2] > above_m)
    if len(index) < min_points:
        return []
    labels = connected_regions(points_m[index], radius_m)
    counts = np.bincount(labels)
    return [index[labels == label] for label in np.flatnonzero(counts >= min_points)]


# (moved points, cluster, tolerance) -> masks over the moved points: facing the camera, seen through, hidden behind
# something nearer, within the tolerance of the cluster; the caller knows the view.
ViewCheck = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, ...]]


def carry_candidates(objects: list[np.ndarray], new_clusters: list[np.ndarray], view_check: ViewCheck,
                     params: CarryParams) -> list[tuple[int, tuple[int, ...], Fit, float]]:
    """(object, clusters, fit, coverage share) of each removed object (points where it was) that fits exactly
    one set of clusters of new surface (points), and is the only object that fits any of them (see the module
    docstring).

    An object may show as several clusters: from above, a screwdriver's handle top and its shaft lie 13 mm apart
    in height at the handle's end face, which no camera above sees. A fit to one piece is extended by every other
    cluster that nearly all lies on the object moved by it, and refitted to them all: fitted to the handle
    alone, nothing held its far end and the fit slid 1.5 cm along the axis, and the view refused it."""
    found: dict[tuple[int, tuple[int, ...]], tuple[Fit, float]] = {}
    for i, model in enumerate(objects):
        tree = cKDTree(model)
        tolerance = fit_tolerance_m(model, tree, params)
        centre, reach = model[:, :2].mean(axis=0), np.linalg.norm(model[:, :2] - model[:, :2].mean(axis=0), axis=1)
        near = [j for j, data in enumerate(new_clusters)
                # Cheap refusals first: a cluster whose centre lies beyond the move plus the object's reach, or one
                # that is wider than the object, cannot be it (most pairs after a plain pick end here).
                if np.linalg.norm(data[:, :2].mean(axis=0) - centre) <= params.max_move_m + reach.max()
                and np.ptp(data[:, :2], axis=0).max() <= 2 * reach.max() + 2 * tolerance]
        for j in near:
            fit = unique_fit(new_clusters[j], model, tree, tolerance, params)
            if fit is None:
                continue
            moved_tree = cKDTree(fit.motion.apply(model))
            pieces = tuple(k for k in near if k == j or np.mean(
                moved_tree.query(new_clusters[k], distance_upper_bound=tolerance)[0] < tolerance)
                >= params.min_fit_share)
            data = np.vstack([new_clusters[k] for k in pieces])
            if len(pieces) > 1:
                fit = planar_icp(data, model, tree, fit.motion, params, tolerance)
                if fit.fit_share < params.min_fit_share or fit.motion.moved_m(model.mean(axis=0)) > params.max_move_m:
                    continue
            facing, through, hidden, matched = view_check(fit.motion.apply(model), data, tolerance)
            shown = max(int(facing.sum()), 1)
            coverage = float((facing & matched).sum()) / shown
            if (coverage >= params.min_coverage_share
                    and (facing & through).sum() / shown <= params.max_contradiction_share
                    and (facing & hidden).sum() / shown <= params.max_hidden_share):
                found[(i, pieces)] = (fit, coverage)  # the same pieces from another start: one entry
    objects_hit = np.bincount([i for i, _ in found], minlength=len(objects))
    clusters_hit = np.bincount([k for _, pieces in found for k in pieces], minlength=len(new_clusters))
    # An object fitting two sets of clusters, or a cluster fitting two objects (twins): the view does not say which.
    return [(i, pieces, fit, coverage) for (i, pieces), (fit, coverage) in found.items()
            if objects_hit[i] == 1 and all(clusters_hit[k] == 1 for k in pieces)]
