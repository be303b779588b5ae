"""A trained field as the query side sees it: a feature-carrying point cloud in the base frame.

The trainer writes a *field directory* atomically (see :mod:`dff_grasp_ros.atomic`)::

    field.json         metadata: base_frame, teacher settings (language + dino), normalisation, dataset, stats
    field.pt           the trained model's state (reloadable for rendering new views)
    scene_cloud.npz    SceneCloud below: surface points fused from rendered depth, with per-point features

The query node only needs ``field.json`` + ``scene_cloud.npz``; it never has to run the network per query.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dff_grasp_ros.atomic import atomic_write_bytes, is_partial
from dff_grasp_ros.errors import InputError, read_json_file

FIELD_META = "field.json"
FIELD_WEIGHTS = "field.pt"
SCENE_CLOUD = "scene_cloud.npz"
# Array name -> (columns, or None for "any feature width >= 1"; dtype accepted: "float" (any width) or "uint8").
CLOUD_ARRAYS: dict[str, tuple[int | None, str]] = {
    "points_m": (3, "float"), "normals": (3, "float"), "rgb": (3, "uint8"), "language": (None, "float"),
    "dino": (None, "float")}
MAX_COORDINATE_M = 1000.0  # a cell's scene lies within metres of its base; beyond a kilometre: not metres, or junk
NORMAL_LENGTH_TOLERANCE = 0.01  # normals are unit rows (zero where a point has none); float16 keeps 1e-3


class FieldFormatError(InputError):
    """A field directory cannot be served (its files are malformed or do not fit together); the message names
    the file and the fault."""


@dataclass
class SceneCloud:
    """Surface points of the scene in the base frame with distilled features (one row per point)."""

    points_m: np.ndarray  # (N, 3) float32, base frame, metres
    normals: np.ndarray  # (N, 3) float32, unit, pointing out of the surface (towards the cameras)
    rgb: np.ndarray  # (N, 3) uint8
    language: np.ndarray  # (N, Dl) float16/32, unit-normalised language (CLIP-space) features
    dino: np.ndarray  # (N, Dd) float16/32, unit-normalised DINO features (float16 as loaded from a field)

    def __post_init__(self) -> None:
        n = len(self.points_m)
        for name in ("normals", "rgb", "language", "dino"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"SceneCloud.{name} has {len(getattr(self, name))} rows, points have {n}")

    def __len__(self) -> int:
        return len(self.points_m)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, points_m=self.points_m.astype(np.float32), normals=self.normals.astype(np.float32),
                 rgb=self.rgb.astype(np.uint8), language=self.language.astype(np.float16),
                 dino=self.dino.astype(np.float16))
        return buffer.getvalue()

    def save(self, path: Path) -> None:
        atomic_write_bytes(Path(path), self.to_bytes())

    @staticmethod
    def load(path: Path) -> SceneCloud:
        """Read and check a scene cloud; FieldFormatError names the file and what is wrong with it.

        Checked: it is a complete npz, every array is there with the right shape, dtype and row count, there is
        at least one point and no NaN/inf anywhere (one bad row would poison every distance and every
        relevancy of a query).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"scene cloud {path} does not exist")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in CLOUD_ARRAYS if name in data.files}
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
            detail = " ".join(str(err).split()) or type(err).__name__
            raise FieldFormatError(f"scene cloud {path} is empty, truncated or not an npz file ({detail})") from None
        except MemoryError as err:  # an array header declaring more than memory holds (1e11 points: 1.1 TiB)
            raise FieldFormatError(f"scene cloud {path} declares arrays larger than this machine's memory "
                                   f"({' '.join(str(err).split())}); it is corrupt or not a scene cloud") from None
        check_cloud_arrays(arrays, str(path))
        return SceneCloud(points_m=arrays["points_m"], normals=arrays["normals"], rgb=arrays["rgb"],
                          language=_held_features(arrays["language"]), dino=_held_features(arrays["dino"]))


def _held_features(features: np.ndarray) -> np.ndarray:
    """Features as held in memory: float16 as saved (:meth:`SceneCloud.to_bytes`), any other float as float32.
    Widening float16 would gain no precision and double what every scene update copies; the query widens the
    rows it uses (``unit_rows``)."""
    return features if features.dtype == np.float16 else features.astype(np.float32)


def check_cloud_arrays(arrays: dict[str, np.ndarray], where: str) -> None:
    """FieldFormatError unless ``arrays`` hold a usable scene cloud (see :meth:`SceneCloud.load`)."""
    missing = [name for name in CLOUD_ARRAYS if name not in arrays]
    if missing:
        raise FieldFormatError(f"scene cloud {where} lacks array(s) {missing}; it has {sorted(arrays)}")
    rows = len(arrays["points_m"]) if arrays["points_m"].ndim else 0
    if rows == 0:
        raise FieldFormatError(f"scene cloud {where} has no points")
    for name, (columns, kinds) in CLOUD_ARRAYS.items():
        array = arrays[name]
        shape = f"(N, {columns})" if columns else "(N, D)"
        if array.ndim != 2 or len(array) != rows or (columns and array.shape[1] != columns) or array.shape[1] < 1:
            raise FieldFormatError(f"scene cloud {where}: {name} has shape {array.shape}, expected {shape} with "
                                   f"N = {rows} points")
        dtype_ok = array.dtype.kind == "f" if kinds == "float" else array.dtype == np.dtype(kinds)
        if not dtype_ok:
            raise FieldFormatError(f"scene cloud {where}: {name} has dtype {array.dtype}, expected {kinds}")
        if kinds == "float" and not np.all(np.isfinite(array)):
            bad = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
            raise FieldFormatError(f"scene cloud {where}: {name} has NaN or infinite values (first at point {bad})")
    far = np.abs(arrays["points_m"]).max(axis=1) > MAX_COORDINATE_M
    if far.any():
        bad = int(np.flatnonzero(far)[0])
        raise FieldFormatError(f"scene cloud {where}: points_m lie up to {np.abs(arrays['points_m']).max():.3g} m "
                               f"from the base frame (first at point {bad}); more than {MAX_COORDINATE_M:g} m is not "
                               f"a scene in metres")
    lengths = np.linalg.norm(arrays["normals"].astype(np.float64), axis=1)
    not_unit = (np.abs(lengths - 1.0) > NORMAL_LENGTH_TOLERANCE) & (lengths > NORMAL_LENGTH_TOLERANCE)
    if not_unit.any():
        bad = int(np.flatnonzero(not_unit)[0])
        raise FieldFormatError(f"scene cloud {where}: normals must be unit vectors (or zero where unknown); the one "
                               f"of point {bad} is {lengths[bad]:.4g} long")


def read_field_meta(field_dir: Path) -> dict[str, Any]:
    """field.json of a field directory, checked against what the query side relies on (FieldFormatError)."""
    path = Path(field_dir) / FIELD_META
    meta = read_json_file(path, "field metadata")
    check_field_meta(meta, path)
    return meta


def check_field_meta(meta: Any, path: Path | str) -> None:
    """The schema of field.json as far as serving a field needs it: an object naming its language teacher.

    ``language_teacher`` is ``{"name": str, ...settings}``; optional ``base_frame`` is a non-empty string and
    optional ``feature_dims`` maps ``language``/``dino`` to positive integers.
    """
    if not isinstance(meta, dict):
        raise FieldFormatError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    teacher = meta.get("language_teacher")
    if not isinstance(teacher, dict) or not isinstance(teacher.get("name"), str) or not teacher["name"]:
        raise FieldFormatError(f"{path}: 'language_teacher' must be an object with a 'name'; got {teacher!r:.80}")
    base_frame = meta.get("base_frame", "base_link")
    if not isinstance(base_frame, str) or not base_frame:
        raise FieldFormatError(f"{path}: 'base_frame' must be a non-empty string, got {base_frame!r:.80}")
    dims = meta.get("feature_dims", {})
    if not isinstance(dims, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in dims.values()):
        raise FieldFormatError(f"{path}: 'feature_dims' must map names to positive integers, got {dims!r:.80}")


def is_complete_field(path: Path) -> bool:
    path = Path(path)
    return (path.is_dir() and not is_partial(path) and (path / FIELD_META).is_file()
            and (path / SCENE_CLOUD).is_file())


def newest_field(root: Path) -> Path | None:
    """The most recently published complete field directory under ``root``."""
    root = Path(root)
    if not root.is_dir():
        return None
    found = [p for p in root.iterdir() if is_complete_field(p)]
    if not found:
        return None
    return max(found, key=lambda p: ((p / FIELD_META).stat().st_mtime, p.name))
