"""Malformed fields: field.json against its schema, scene_cloud.npz arrays (keys, shapes, dtypes, finite; empty or
truncated files). `ask` answers one line naming the file; a hot reload of a broken field keeps the last good one."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from bad_inputs import refused, snapshot
from field_fixtures import ground_truth_field

from dff_grasp_ros.scene_cloud import FIELD_META, SCENE_CLOUD, FieldFormatError, SceneCloud, read_field_meta
from dff_grasp_ros.serving import FieldServer


@pytest.fixture(scope="module")
def good_field(tmp_path_factory) -> Path:
    return ground_truth_field(tmp_path_factory.mktemp("good") / "fields", scene="tiny")


def _meta(text: str) -> Callable[[Path], None]:
    return lambda field: (field / FIELD_META).write_text(text)


def _meta_edit(**changes) -> Callable[[Path], None]:
    def edit(field: Path) -> None:
        meta = json.loads((field / FIELD_META).read_text())
        for key, value in changes.items():
            if value is _DROP:
                meta.pop(key, None)
            else:
                meta[key] = value
        (field / FIELD_META).write_text(json.dumps(meta))
    return edit


_DROP = object()


def _cloud_edit(change: Callable[[dict[str, np.ndarray]], None]) -> Callable[[Path], None]:
    def edit(field: Path) -> None:
        with np.load(field / SCENE_CLOUD) as data:
            arrays = {k: data[k] for k in data.files}
        change(arrays)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        (field / SCENE_CLOUD).write_bytes(buffer.getvalue())
    return edit


def _set(name: str, make: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict], None]:
    def change(arrays: dict) -> None:
        arrays[name] = make(arrays[name])
    return change


def _nan_row(a: np.ndarray, value: float = np.nan) -> np.ndarray:
    a = a.astype(np.float32)
    a[5] = value
    return a


def _truncate(field: Path) -> None:
    data = (field / SCENE_CLOUD).read_bytes()
    (field / SCENE_CLOUD).write_bytes(data[: len(data) // 2])


def _replace_cloud_with_dir(field: Path) -> None:
    (field / SCENE_CLOUD).unlink()
    (field / SCENE_CLOUD).mkdir()


# case id -> (how to break a copy of a good field, the file the line must name, what it must say)
BROKEN = {
    "meta is a list": (_meta("[1, 2]"), FIELD_META, "expected a JSON object, got list"),
    "meta is null": (_meta("null"), FIELD_META, "got NoneType"),
    "meta is a string": (_meta('"field"'), FIELD_META, "got str"),
    "meta is not json": (_meta("{'base_frame': 1"), FIELD_META, "not valid JSON"),
    "meta is empty": (_meta(""), FIELD_META, "is empty"),
    "meta is binary": (lambda f: (f / FIELD_META).write_bytes(b"\xff\xfe\x00"), FIELD_META, "not UTF-8"),
    "meta nested too deep": (_meta("[" * 100_000 + "]" * 100_000), FIELD_META, "nested too deeply"),
    "meta duplicate key": (lambda f: (f / FIELD_META).write_text(
        (f / FIELD_META).read_text().replace("{", '{"base_frame": "map", ', 1)), FIELD_META, "'base_frame' twice"),
    "no language teacher": (_meta_edit(language_teacher=_DROP), FIELD_META, "language_teacher"),
    "teacher without name": (_meta_edit(language_teacher={"noise_std": 0.1}), FIELD_META, "'name'"),
    "teacher setting of the wrong type": (_meta_edit(language_teacher={"name": "synthetic", "noise_std": "x"}),
                                          FIELD_META, "setting noise_std must be a finite number, got 'x'"),
    "unknown teacher": (_meta_edit(language_teacher={"name": "gpt"}), FIELD_META, "unknown teacher 'gpt'"),
    "base frame not a string": (_meta_edit(base_frame=5), FIELD_META, "base_frame"),
    "feature dims not ints": (_meta_edit(feature_dims={"language": "wide"}), FIELD_META, "feature_dims"),
    "feature dims disagree": (_meta_edit(feature_dims={"language": 7}), SCENE_CLOUD, "says 7"),
    "cloud empty file": (lambda f: (f / SCENE_CLOUD).write_bytes(b""), SCENE_CLOUD, "truncated or not an npz"),
    "cloud truncated": (_truncate, SCENE_CLOUD, "truncated"),
    "cloud not npz": (lambda f: (f / SCENE_CLOUD).write_text("points"), SCENE_CLOUD, "not an npz"),
    "cloud is a folder": (_replace_cloud_with_dir, "", "no trained field at or under"),
    "cloud lacks dino": (_cloud_edit(lambda a: a.pop("dino")), SCENE_CLOUD, "lacks array(s) ['dino']"),
    "points 2 columns": (_cloud_edit(_set("points_m", lambda a: a[:, :2])), SCENE_CLOUD, "points_m has shape"),
    "rows disagree": (_cloud_edit(_set("rgb", lambda a: a[:-3])), SCENE_CLOUD, "rgb has shape"),
    "nan points": (_cloud_edit(_set("points_m", _nan_row)), SCENE_CLOUD, "NaN or infinite values (first at point 5)"),
    "inf language": (_cloud_edit(_set("language", lambda a: _nan_row(a, np.inf))), SCENE_CLOUD, "language"),
    "rgb is float": (_cloud_edit(_set("rgb", lambda a: a.astype(np.float32))), SCENE_CLOUD, "rgb has dtype"),
    "rgb is 16 bit": (_cloud_edit(_set("rgb", lambda a: a.astype(np.uint16) * 257)), SCENE_CLOUD,
                      "rgb has dtype uint16, expected uint8"),
    "normals not unit": (_cloud_edit(_set("normals", lambda a: a * 1000)), SCENE_CLOUD, "normals must be unit"),
    "points far away": (_cloud_edit(_set("points_m", lambda a: a * 1e30)), SCENE_CLOUD, "not a scene in metres"),
    "no points": (_cloud_edit(lambda a: a.update({k: v[:0] for k, v in a.items()})), SCENE_CLOUD, "no points"),
    "object array": (_cloud_edit(_set("dino", lambda a: np.array([None] * len(a), dtype=object))), SCENE_CLOUD,
                     "not an npz"),
    "language too narrow": (_cloud_edit(_set("language", lambda a: a[:, :4])), SCENE_CLOUD,
                            "the synthetic text encoder gives"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_ask_on_a_broken_field_is_one_line_naming_the_file(capsys, tmp_path: Path, good_field: Path, case: str):
    break_it, file_name, says = BROKEN[case]
    field = tmp_path / "fields" / "broken"
    shutil.copytree(good_field, field)
    break_it(field)
    before = snapshot(tmp_path)
    run = refused(capsys, "ask", "--field", field, "mug handle", "--json", "--device", "cpu",
                  names=(says, str(field / file_name)))
    answer = run.json()
    assert answer["success"] is False and answer["grasp"] is None and says in answer["message"]
    assert snapshot(tmp_path) == before  # nothing written, nothing "repaired"


def test_ask_on_a_field_that_is_a_file(capsys, tmp_path: Path):
    (tmp_path / "field").write_text("not a field")
    refused(capsys, "ask", "--field", tmp_path / "field", "mug", names=(str(tmp_path / "field"),))


def test_hot_reload_of_a_broken_field_keeps_serving_the_previous_one(tmp_path: Path, good_field: Path):
    """The query node's reload path: FieldServer.load raises one line and the last good field keeps answering."""
    server = FieldServer(device="cpu")
    server.load(good_field)
    broken = tmp_path / "broken"
    shutil.copytree(good_field, broken)
    BROKEN["language too narrow"][0](broken)  # loads as an npz; only checking the widths catches it
    with pytest.raises(FieldFormatError, match="text encoder"):
        server.load(broken)
    assert server.current is not None and server.current.path == good_field
    result, served = server.ask("mug handle")
    assert result.success and served.path == good_field


def test_newest_broken_field_is_refused_and_the_good_one_still_served(tmp_path: Path, good_field: Path):
    fields = tmp_path / "fields"
    shutil.copytree(good_field, fields / "a_good")
    server = FieldServer(fields, device="cpu")
    assert server.load_newest().path == fields / "a_good"
    shutil.copytree(good_field, fields / "b_newer")
    (fields / "b_newer" / FIELD_META).write_text("[]")
    with pytest.raises(FieldFormatError, match="b_newer"):
        server.load_newest()
    assert server.current.path == fields / "a_good" and server.ask("mug handle")[0].success


def test_the_loaders_accept_what_the_trainer_writes(good_field: Path):
    assert read_field_meta(good_field)["language_teacher"]["name"] == "synthetic"
    assert len(SceneCloud.load(good_field / SCENE_CLOUD)) > 1000
