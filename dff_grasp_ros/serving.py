"""The query side's state: the field being served, hot-swapped when a newer one is published.

Shared by the ``query`` node, ``dff-grasp ask`` and the web viewer, so all three answer a prompt the same way.
A reload builds the new state completely (scene cloud + text encoder) before one reference assignment swaps
it in; a query in flight keeps the reference it started with, so no request is dropped or sees a half-loaded
field. A failed reload keeps serving the last good field.

A scene update (:meth:`FieldServer.update_scene`: one fresh RGB-D view after a pick, :mod:`dff_grasp_ros.carving`)
is swapped in the same way: the carved cloud is built from the served one, incrementally, then assigned. A new
field (retrained) replaces every update; reloading the same field keeps them.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dff_grasp_ros import names
from dff_grasp_ros.carry import CarriedObject
from dff_grasp_ros.carving import CarvingParams, carve_prepared
from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.errors import one_line
from dff_grasp_ros.query.pipeline import QueryParams, QueryResult, plan_query, prepare_query_cloud
from dff_grasp_ros.query.prepared import PreparedCloud
from dff_grasp_ros.scene_cloud import (
    FIELD_META,
    SCENE_CLOUD,
    FieldFormatError,
    SceneCloud,
    newest_field,
    read_field_meta,
)

NO_FIELD_MESSAGE = "no trained field yet: capture views and train one (/capture_views, /train_field)"


@dataclass(frozen=True)
class ServedField:
    """Everything one query needs, immutable once built."""

    path: Path
    meta: dict[str, Any]
    cloud: SceneCloud
    encode_text: Callable[[list[str]], np.ndarray]
    base_frame: str
    # The cloud's prompt-independent query structures, built once at load (query.prepared); queries share it.
    prepared: PreparedCloud

    @property
    def updates(self) -> int:
        """Scene updates applied since the field was loaded."""
        return self.prepared.updates


@dataclass(frozen=True)
class SceneUpdate:
    """What one scene update changed."""

    served: ServedField  # now served
    points_removed: int
    points_added: int
    latency_s: float  # carving and preparing, not counting the wait for the view
    pose_correction: tuple[float, float] | None = None  # (m, deg) the view's camera was moved and turned (None: not)
    carried: tuple[CarriedObject, ...] = ()  # objects that moved, carried with their features (carving.carry)

    @property
    def message(self) -> str:
        carried_points = sum(len(c.rows) for c in self.carried)
        before = len(self.served.cloud) - self.points_added - carried_points + self.points_removed
        corrected = ("" if self.pose_correction is None else
                     f"; the view's camera pose was corrected by {1000 * self.pose_correction[0]:.1f} mm and "
                     f"{self.pose_correction[1]:.2f} deg to fit the served scene")
        carried = "".join(f"; {c.describe()}" for c in self.carried)
        return (f"scene updated: removed {self.points_removed} of {before} points (what the view sees through, "
                f"and what joins it), added {self.points_added} featureless obstacle points{carried}; "
                f"{len(self.served.cloud)} points served, update {self.served.updates} since the field was loaded, "
                f"{self.latency_s * 1000:.0f} ms{corrected}")


def language_teacher_settings(meta: dict[str, Any]) -> dict[str, Any]:
    settings = meta.get("language_teacher")
    if not isinstance(settings, dict) or "name" not in settings:
        raise ValueError("field.json records no language teacher; retrain the field with this version")
    return dict(settings)


def make_text_encoder(settings: dict[str, Any], device: str = "auto") -> Callable[[list[str]], np.ndarray]:
    """The language teacher's text tower (cached per phrase: the canonical negatives repeat every query)."""
    from dff_grasp_ros.teachers import make_teacher

    teacher = make_teacher(**settings, device=device)
    lock = threading.Lock()  # text towers are not guaranteed re-entrant; queries may run concurrently

    @lru_cache(maxsize=4096)
    def encode_one(phrase: str) -> np.ndarray:
        with lock:
            vector = teacher.encode_text([phrase])
        vector = vector.detach().float().cpu().numpy() if hasattr(vector, "detach") else np.asarray(vector)
        return np.asarray(vector, dtype=np.float32).reshape(-1)

    def encode(phrases: list[str]) -> np.ndarray:
        return np.stack([encode_one(p) for p in phrases])

    return encode


def load_served_field(field_dir: Path, device: str = "auto", params: QueryParams | None = None) -> ServedField:
    """Load and check a field for serving queries with ``params`` (the cloud is prepared for them once here);
    anything malformed raises one line naming the file, and nothing is served.

    Beyond the files' own checks (:func:`read_field_meta`, :meth:`SceneCloud.load`), the parts must fit
    together: the cloud's feature widths match field.json's ``feature_dims`` and the text encoder's output, so
    a field that loads is one every later query can use.
    """
    field_dir = Path(field_dir)
    if not field_dir.is_dir():
        raise FileNotFoundError(f"field {field_dir} is not a folder")
    meta = read_field_meta(field_dir)
    cloud = SceneCloud.load(field_dir / SCENE_CLOUD)
    for name, width in meta.get("feature_dims", {}).items():
        found = getattr(cloud, name, None)
        if found is not None and found.shape[1] != width:
            raise FieldFormatError(f"{field_dir / SCENE_CLOUD}: {name} features are {found.shape[1]} wide, "
                                   f"{FIELD_META} says {width}")
    try:
        encoder = make_text_encoder(language_teacher_settings(meta), device)
        text_width = encoder(["object"]).shape[1]
    except Exception as err:  # an unknown teacher or setting in field.json, or its weights missing here
        raise FieldFormatError(f"{field_dir / FIELD_META}: its language teacher cannot be built: "
                               f"{one_line(err)}") from err
    if text_width != cloud.language.shape[1]:
        raise FieldFormatError(f"{field_dir / SCENE_CLOUD}: language features are {cloud.language.shape[1]} wide, "
                               f"the {meta['language_teacher']['name']} text encoder gives {text_width}")
    prepared = prepare_query_cloud(cloud, params)
    return ServedField(field_dir, meta, cloud, encoder, str(meta.get("base_frame", "base_link")), prepared)


def frame_problem(served: ServedField, pose_frame: str) -> str | None:
    """Why a camera pose in ``pose_frame`` cannot carve ``served`` (its points lie in another frame, and carving
    would remove points that are there), or None when the frames are one."""
    if names.frame_name(served.base_frame) == names.frame_name(pose_frame):
        return None
    return (f"the served field {served.path} is in frame {served.base_frame!r}, the camera pose in {pose_frame!r} "
            f"(the query node's base_frame: set it to the field's)")


class FieldServer:
    """Holds the served field and answers queries against it; thread-safe."""

    def __init__(self, fields_dir: Path | None = None, params: QueryParams | None = None,
                 device: str = "auto") -> None:
        self.fields_dir = Path(fields_dir) if fields_dir else None
        self.params = params or QueryParams()
        self.device = device
        self.current: ServedField | None = None
        self._reload_lock = threading.Lock()

    def load(self, field_dir: Path) -> ServedField:
        """Load ``field_dir`` and serve it; on failure raise and keep the previous field."""
        with self._reload_lock:
            served = load_served_field(field_dir, self.device, self.params)
            self.current = served
            return served

    def load_newest(self) -> ServedField | None:
        if self.fields_dir is None:
            return None
        newest = newest_field(self.fields_dir)
        if newest is None or (self.current is not None and self.current.path == newest):
            return self.current
        return self.load(newest)

    def update_scene(self, depth_m: np.ndarray, rgb: np.ndarray, intrinsics: CameraIntrinsics,
                     camera_to_base: np.ndarray, params: CarvingParams | None = None,
                     pose_frame: str | None = None) -> SceneUpdate:
        """Carve the served cloud with one fresh view and serve the result (see the module docstring).
        ``pose_frame``: the frame ``camera_to_base`` is in, checked against the field served when it is carved
        (:func:`frame_problem`; None: not checked).

        Raises ValueError (one line) when no field is served or the view does not fit; the served field is then
        unchanged. Queries in flight keep the cloud they started with.
        """
        with self._reload_lock:  # a reload and an update never interleave: neither loses the other's result
            served = self.current
            if served is None:
                raise ValueError(NO_FIELD_MESSAGE)
            # Checked here, under the lock: a field loaded while the caller waited for its view is the one carved.
            problem = frame_problem(served, pose_frame) if pose_frame is not None else None
            if problem:
                raise ValueError(problem)
            started = time.perf_counter()
            carved = carve_prepared(served.prepared, depth_m, rgb, intrinsics, camera_to_base, params)
            updated = replace(served, cloud=carved.prepared.cloud, prepared=carved.prepared)
            latency_s = time.perf_counter() - started
            self.current = updated
        fit = carved.alignment
        correction = None if fit is None else (fit.shift_m, fit.rotation_deg)
        return SceneUpdate(updated, int(carved.removed.sum()), carved.added, latency_s, correction, carved.carried)

    def ask(self, prompt: str | bytes, relevancy_threshold: float = 0.0) -> tuple[QueryResult, ServedField | None]:
        served = self.current  # one read: a concurrent reload cannot change the field under this query
        if served is None:
            return QueryResult(False, NO_FIELD_MESSAGE), None
        try:
            params = self.params.with_threshold(relevancy_threshold)
        except ValueError as err:
            return QueryResult(False, f"bad relevancy_threshold: {err}"), served
        return plan_query(served.prepared, served.encode_text, prompt, params), served
