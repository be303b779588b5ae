"""A scene cloud prepared for queries: everything that does not depend on the prompt, computed once per field.

A query on a fused field cloud (~250k points) spent most of its time on work that is the same for every prompt:
finding usable rows, normalising features, thinning to one point per voxel, KD-trees, the DINO neighbour graph.
:func:`prepare_cloud` does it once (``serving.load_served_field`` calls it when a field is loaded); the result is
immutable, so concurrent queries share it. Anything that changes the cloud (a carved scene, a new field) builds
a new one from the new :class:`SceneCloud` with :func:`prepare_cloud`.

Three point sets, each indexing into the next larger one:

* *valid rows* (V): rows of the cloud with finite points, normals and features; relevancy is scored on all of them;
* *scene points* (S): one per ``voxel_m`` voxel, above the table band: where objects are grown, parts found and
  contacts placed (a point within ``table_band_m`` of the table never belongs to an object);
* *obstacles*: the scene points plus the voxels between the table clearance and the band (the hand must not
  touch them either); points lower than that are covered by the table plane test.

The valid rows in the table band are the *background*, the surface the objects stand on: a phrase that fits it
as well as anything on it names no object (query.pipeline, query.parts). An even sample of them is kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dff_grasp_ros.geometry import unit_rows
from dff_grasp_ros.grasp.collision import Obstacles
from dff_grasp_ros.query.downsample import strided_indices, voxel_representatives
from dff_grasp_ros.query.grouping import GroupingIndex, GroupingParams
from dff_grasp_ros.scene_cloud import SceneCloud

MAX_BACKGROUND_ROWS = 4096  # an even sample of the background is enough for its median


@dataclass(frozen=True)
class PreparationSettings:
    """The query parameters a prepared cloud depends on; a query with other values prepares the cloud anew."""

    voxel_m: float
    grouping: GroupingParams
    table_z_m: float | None
    table_band_m: float
    table_clearance_m: float


@dataclass(frozen=True, eq=False)
class PreparedCloud:
    """A SceneCloud with its prompt-independent query structures (see the module docstring)."""

    cloud: SceneCloud
    settings: PreparationSettings
    valid: np.ndarray  # (N,) bool: usable rows of the cloud
    language: np.ndarray  # (V, Dl) unit language features of the valid rows
    scene_rows: np.ndarray  # (S,) valid-row index of each scene point
    scene_of_valid: np.ndarray  # (V,) scene point of each valid row's voxel, -1 where it has none (table band)
    grouping: GroupingIndex  # over the scene points: their positions, DINO features, KD-tree, neighbour graph
    normals: np.ndarray  # (S, 3)
    obstacles: Obstacles
    background_rows: np.ndarray  # (<= MAX_BACKGROUND_ROWS,) valid rows in the table band (none without a table)

    @property
    def points_m(self) -> np.ndarray:
        """(S, 3) scene points."""
        return self.grouping.points_m

    @property
    def valid_count(self) -> int:
        return len(self.language)

    def on_valid(self, scene_mask: np.ndarray) -> np.ndarray:
        """A mask over scene points spread to every valid row of the same voxel (False in the table band)."""
        return np.r_[scene_mask, False][self.scene_of_valid]

    def scatter(self, values: np.ndarray) -> np.ndarray:
        """Values of the valid rows placed back into an array over all rows (0 / False elsewhere)."""
        out = np.zeros(len(self.valid), dtype=np.float32 if values.dtype != bool else bool)
        out[self.valid] = values
        return out


def valid_rows(cloud: SceneCloud) -> np.ndarray:
    """Rows with finite points, normals and features; NaNs from a bad fusion must not poison the whole query."""
    valid = np.isfinite(cloud.points_m).all(axis=1) & np.isfinite(cloud.normals).all(axis=1)
    valid &= np.isfinite(cloud.language).all(axis=1) & np.isfinite(cloud.dino).all(axis=1)
    return valid


def prepare_cloud(cloud: SceneCloud, settings: PreparationSettings) -> PreparedCloud:
    """Build the :class:`PreparedCloud` of ``cloud`` (about a second for a 250k-point field cloud)."""
    valid = valid_rows(cloud)
    rows = np.flatnonzero(valid)
    points = np.asarray(cloud.points_m[rows], dtype=np.float64)
    language = unit_rows(cloud.language[rows])
    reps, inverse = voxel_representatives(points, settings.voxel_m)
    rep_points = points[reps]
    if settings.table_z_m is None:
        above = np.ones(len(reps), dtype=bool)
        layer = np.zeros(len(reps), dtype=bool)
    else:
        above = rep_points[:, 2] > settings.table_z_m + settings.table_band_m
        layer = ~above & (rep_points[:, 2] >= settings.table_z_m + settings.table_clearance_m)
    scene_reps = np.flatnonzero(above)
    rep_to_scene = np.full(len(reps), -1, dtype=np.int64)
    rep_to_scene[scene_reps] = np.arange(len(scene_reps))
    scene_rows = reps[scene_reps]
    scene_points = rep_points[scene_reps]
    grouping = GroupingIndex.build(scene_points, cloud.dino[rows[scene_rows]], settings.grouping)
    layer_points = rep_points[layer]
    obstacles = Obstacles.from_points(np.vstack([scene_points, layer_points]),
                                      scene_index=np.r_[np.arange(len(scene_points)), np.full(len(layer_points), -1)])
    normals = np.asarray(cloud.normals[rows[scene_rows]], dtype=np.float64)
    scene_of_valid = rep_to_scene[inverse]
    background = np.flatnonzero(scene_of_valid < 0) if settings.table_z_m is not None else np.zeros(0, np.int64)
    background = background[strided_indices(len(background), MAX_BACKGROUND_ROWS)]
    return PreparedCloud(cloud, settings, valid, language, scene_rows, scene_of_valid, grouping, normals,
                         obstacles, background)
