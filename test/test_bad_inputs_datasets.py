"""Bad datasets and output folders for training: refused by the pre-flight before any training, in one line naming
the dataset and the frame; nothing is written under --out and the dataset is left as it was."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml
from bad_inputs import fit_refuses_broken, partials, refused
from PIL import Image

from dff_grasp_ros.dataset import MIN_TRAINING_VIEWS, TRANSFORMS, check_dataset
from dff_grasp_ros.synthetic import render_dataset

FIT = ("--teacher", "synthetic", "--method", "dff-tiny", "--device", "cpu", "--steps", "5")
BAD_FRAME = 4


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    return render_dataset("tiny", tmp_path_factory.mktemp("datasets"), name="tiny")


def _transforms(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(dataset: Path) -> None:
        meta = json.loads((dataset / TRANSFORMS).read_text())
        change(meta)
        (dataset / TRANSFORMS).write_text(json.dumps(meta))
    return edit


def _frame(key: str, value) -> Callable[[Path], None]:
    def change(meta: dict) -> None:
        if value is None:
            del meta["frames"][BAD_FRAME][key]
        else:
            meta["frames"][BAD_FRAME][key] = value
    return _transforms(change)


def _pose(make: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    def change(meta: dict) -> None:
        matrix = np.array(meta["frames"][BAD_FRAME]["transform_matrix"])
        meta["frames"][BAD_FRAME]["transform_matrix"] = make(matrix).tolist()
    return _transforms(change)


def _image(kind: str, write: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda dataset: write(dataset / kind / f"frame_{BAD_FRAME:05d}.png")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _resize(path: Path) -> None:
    image = Image.open(path)
    image.resize((image.width // 2, image.height // 2)).save(path)


def _every_depth(edit: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda dataset: [edit(path) for path in (dataset / "depth").glob("*.png")]


def _zero_all_depth(dataset: Path) -> None:
    _every_depth(lambda path: Image.fromarray(np.zeros((96, 128), np.uint16)).save(path))(dataset)


def _rescale_all_depth(factor: float) -> Callable[[Path], None]:
    """Every depth PNG as if written in another unit (metres: factor 1e-3; micrometres: 1e3, saturating)."""
    def rescale(dataset: Path) -> None:
        for path in (dataset / "depth").glob("*.png"):
            units = np.asarray(Image.open(path)).astype(np.float64) * factor
            Image.fromarray(np.clip(np.round(units), 0, 65535).astype(np.uint16)).save(path)
    return rescale


def _set(key: str, value) -> Callable[[dict], None]:
    return lambda meta: meta.__setitem__(key, value)


FRAME = f"frame {BAD_FRAME}"
IMAGE = f"images/frame_{BAD_FRAME:05d}.png"
DEPTH = f"depth/frame_{BAD_FRAME:05d}.png"
# case id -> (how to break a copy of the tiny dataset, what the one line must say besides the dataset's path)
BROKEN: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "no transforms.json": (lambda d: (d / TRANSFORMS).unlink(), ("no transforms.json",)),
    "transforms not json": (lambda d: (d / TRANSFORMS).write_text("{frames: ["), ("not valid JSON", "line 1")),
    "transforms is a list": (lambda d: (d / TRANSFORMS).write_text("[]"), ("expected a JSON object",)),
    "transforms empty": (lambda d: (d / TRANSFORMS).write_text(""), ("is empty",)),
    "transforms nested too deep": (lambda d: (d / TRANSFORMS).write_text("[" * 100_000), ("nested too deeply",)),
    "duplicate key": (lambda d: (d / TRANSFORMS).write_text(
        (d / TRANSFORMS).read_text().replace('"w":', '"w": 64, "w":')), ("'w' twice",)),
    "no width": (_transforms(lambda m: m.pop("w")), ("'w' is missing",)),
    "width is text": (_transforms(_set("w", "wide")), ("'w' must be a finite number",)),
    "negative focal length": (_transforms(_set("fl_x", -5.0)), ("focal lengths",)),
    "principal point outside": (_transforms(_set("cx", -5000.0)), ("principal point", "128x96", "-5000")),
    "fisheye camera": (_transforms(_set("camera_model", "OPENCV_FISHEYE")), ("camera_model 'OPENCV_FISHEYE'",)),
    "camera model a list": (_transforms(_set("camera_model", ["OPENCV"])), ("camera_model ['OPENCV']",)),
    "depth in metres": (_rescale_all_depth(1e-3), ("median is 0", "must hold millimetres")),
    "depth in micrometres": (_rescale_all_depth(1e3), ("median is 65.5 m", "must hold millimetres")),
    "frames not a list": (_transforms(_set("frames", {"0": {}})), ("'frames' must be a list",)),
    "too few frames": (_transforms(lambda m: m.__setitem__("frames", m["frames"][:MIN_TRAINING_VIEWS - 1])),
                       (f"has {MIN_TRAINING_VIEWS - 1} views", f"at least {MIN_TRAINING_VIEWS}")),
    "frame without file_path": (_frame("file_path", None), (FRAME, "'file_path' is missing")),
    "frame file_path empty": (_frame("file_path", ""), (FRAME, "file_path must be a non-empty path")),
    "stamp is text": (_frame("stamp_ns", "noon"), (FRAME, "stamp_ns must be an integer")),
    "pose 3x4": (_pose(lambda m: m[:3]), (FRAME, "transform_matrix must be a 4x4 matrix of numbers")),
    "pose of text": (_frame("transform_matrix", [["a"] * 4] * 4), (FRAME, "transform_matrix[0][0] must be a finite "
                                                                          "number, got 'a'")),
    # an integer past a float's range: "OverflowError: int too large to convert to float" named no file
    "pose with a 400-digit integer": (_frame("transform_matrix", [[10**400, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0],
                                                                          [0, 0, 0, 1]]),
                                      (FRAME, "transform_matrix[0][0] must be a finite number, got an integer of "
                                              "401 digits")),
    "pose nan": (_pose(lambda m: m * np.nan), (FRAME, "transform_matrix[0][0] must be a finite number, got nan")),
    # before 2026-12-03: "TypeError: ufunc 'isfinite' not supported for the input types (unexpected ...)"
    "focal length integer too large": (_transforms(_set("fl_x", 10 ** 400)), ("'fl_x' must be a finite number",)),
    "pose all zero": (_pose(np.zeros_like), (FRAME, "bottom row")),
    "pose scaled": (_pose(lambda m: np.diag([2.0, 2.0, 2.0, 1.0]) @ m), (FRAME, "not a rotation")),
    "pose mirrored": (_pose(lambda m: np.diag([-1.0, 1.0, 1.0, 1.0]) @ m), (FRAME, "not a rotation")),
    "image missing": (_image("images", Path.unlink), (FRAME, IMAGE, "does not exist")),
    "image truncated": (_image("images", _truncate), (FRAME, IMAGE, "cannot be decoded")),
    "image not a png": (_image("images", lambda p: p.write_text("hello")), (FRAME, IMAGE, "cannot be decoded")),
    "image wrong size": (_image("images", _resize), (FRAME, IMAGE, "is 64x48 pixels, the intrinsics say 128x96")),
    "image 16 bit": (_image("images", lambda p: Image.fromarray(np.ones((96, 128), np.uint16)).save(p)),
                     (FRAME, IMAGE, "pixel mode I;16")),
    "depth truncated": (_image("depth", _truncate), (FRAME, DEPTH, "cannot be decoded")),
    "depth wrong size": (_image("depth", _resize), (FRAME, DEPTH, "is 64x48 pixels")),
    "depth 8 bit": (_image("depth", lambda p: Image.fromarray(np.ones((96, 128), np.uint8)).save(p)),
                    (FRAME, DEPTH, "pixel mode L")),
    "depth all zero": (_zero_all_depth, ("every depth image is empty",)),
    # before 2026-12-03: a numpy RuntimeWarning ("Mean of empty slice") and "the depth images' median is nan m"
    "depth all negative": (_every_depth(lambda p: Image.fromarray(np.full((96, 128), -500, np.int32)).save(
        p, format="TIFF")),  # PIL writes no 32-bit PNG; the TIFF under the .png name decodes as one
                           ("frame 0: depth depth/frame_00000.png has no valid (positive) pixel", "-500")),
    "depth partly negative": (_image("depth", lambda p: Image.fromarray(np.where(
        np.arange(96)[:, None] < 48, -5, np.asarray(Image.open(p)).astype(np.int32))).save(p, format="TIFF")),
        (f"{FRAME}: depth {DEPTH} has negative pixels (down to -5)",)),
    "our block not an object": (_transforms(_set("dff_grasp", [1])), ("'dff_grasp' must be an object",)),
    "base frame a list": (_transforms(lambda m: m["dff_grasp"].__setitem__("base_frame", [1])),
                          ("dff_grasp.base_frame must be a non-empty frame name, got [1]",)),
}
# What the synthetic teachers cannot compute features of (they label the views from the recorded scene).
UNUSABLE_FOR_THE_TEACHERS = {
    "recorded scene a list": (_transforms(lambda m: m["dff_grasp"].__setitem__("scene", [1])),
                              ("the recorded scene is invalid",)),
    "recorded scene without objects": (_transforms(lambda m: m["dff_grasp"]["scene"].__setitem__("objects", [])),
                                       ("the recorded scene is invalid", "'objects' must be a non-empty list")),
    "no recorded scene": (_transforms(lambda m: m["dff_grasp"].pop("scene")), ("is not a simulated dataset",)),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_fit_refuses_a_bad_dataset_before_training(capsys, tmp_path: Path, tiny_dataset: Path, case: str):
    break_it, says = BROKEN[case]
    fit_refuses_broken(capsys, tmp_path, tiny_dataset, break_it, says, FIT)


@pytest.mark.parametrize("case", list(UNUSABLE_FOR_THE_TEACHERS))
def test_fit_refuses_a_dataset_its_teachers_cannot_use_before_setting_up(capsys, tmp_path: Path,
                                                                         tiny_dataset: Path, monkeypatch, case: str):
    """Before 2026-12-03 (third bad-input hunt) the synthetic teachers refused these from inside the training's
    setup, after nerfstudio had printed its lines and the data loader its warnings."""
    import dff_grasp_ros.field.fit as fit_module

    monkeypatch.setattr(fit_module, "_train_and_export", _never_set_up)
    break_it, says = UNUSABLE_FOR_THE_TEACHERS[case]
    fit_refuses_broken(capsys, tmp_path, tiny_dataset, break_it, says, FIT)


@pytest.mark.parametrize("when", ["after the check", "while training"])
def test_a_dataset_changed_after_its_check_is_named_not_unexpected(capsys, tmp_path: Path, tiny_dataset: Path,
                                                                  monkeypatch, when: str):
    """Before 2026-12-03 (third bad-input hunt) an image truncated between the pre-flight and the setup, or a depth
    image truncated while training (the scene cloud's export reads them again), ended fit in "OSError: image file
    is truncated (unexpected)", naming no file."""
    import dff_grasp_ros.field.fit as fit_module

    dataset = tmp_path / "datasets" / "changing"
    shutil.copytree(tiny_dataset, dataset)
    spoilt = dataset / ("images" if when == "after the check" else "depth") / f"frame_{BAD_FRAME:05d}.png"
    step = "check_memory_for" if when == "after the check" else "run_training"
    original = getattr(fit_module, step)

    def then_truncate(*args, **kwargs):
        result = original(*args, **kwargs)
        _truncate(spoilt)
        return result

    monkeypatch.setattr(fit_module, step, then_truncate)
    run = refused(capsys, "fit", "--dataset", dataset, "--out", tmp_path / "fields", *FIT, before_work=False,
                  names=(f"dataset {dataset}", "changed after it was checked"))
    assert "unexpected" not in run.line and list((tmp_path / "fields").iterdir()) == []


def _never_set_up(*args, **kwargs):
    raise AssertionError("training was set up")


@pytest.mark.parametrize("case", ["missing", "a file"])
def test_fit_refuses_a_dataset_path_that_is_not_a_folder(capsys, tmp_path: Path, case: str):
    dataset = tmp_path / "dataset"
    if case == "a file":
        dataset.write_text("x")
    refused(capsys, "fit", "--dataset", dataset, "--out", tmp_path / "fields", *FIT,
            names=(str(dataset), "not a dataset folder"))
    assert not (tmp_path / "fields").exists()


@pytest.mark.parametrize("case", ["out is a file", "a parent of out is a file"])
def test_fit_checks_the_output_folder_before_training(capsys, tmp_path: Path, tiny_dataset: Path, case: str):
    (tmp_path / "taken").write_text("precious")
    out = tmp_path / "taken" if case == "out is a file" else tmp_path / "taken" / "fields"
    refused(capsys, "fit", "--dataset", tiny_dataset, "--out", out, *FIT, names=(str(out), "is a file"))
    assert (tmp_path / "taken").read_text() == "precious" and partials(tmp_path) == []


def test_the_pre_flight_accepts_a_good_dataset(tiny_dataset: Path):
    assert len(check_dataset(tiny_dataset).frames) == 24


@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["text", "json"])
@pytest.mark.parametrize(("broken", "says"), [(b"views: [\xff]\n", "is not UTF-8 text (byte 8)"),
                                               (b"views: []\nviews: []\n", "the key 'views' is given twice")])
def test_calibrate_names_a_bad_tool_poses_file(capsys, tmp_path: Path, broken: bytes, says: str, json_flag):
    """A calibration views folder is read through the same YAML reader: before 2026-12-02 a non-UTF-8
    tool_poses.yaml was "'utf-8' codec can't decode byte 0xff in position 8", naming no file, and with --json
    there was no line on stderr."""
    views = tmp_path / "views"
    views.mkdir()
    (views / "camera_info.yaml").write_text(yaml.safe_dump({
        "image_width": 128, "image_height": 96, "camera_matrix": {"data": [100, 0, 64, 0, 100, 48, 0, 0, 1]}}))
    (views / "tool_poses.yaml").write_bytes(broken)
    run = refused(capsys, "calibrate", "--views", views, *json_flag, names=(str(views / "tool_poses.yaml"), says))
    if json_flag:
        assert run.json()["success"] is False and says in run.json()["message"]


@pytest.mark.parametrize(("model", "says"), [("equidistant", "unsupported distortion model 'equidistant'"),
                                             (["plumb_bob"], "distortion_model must be a string, got ['plumb_bob']")])
def test_calibrate_refuses_a_camera_file_whose_distortion_model_it_cannot_use(capsys, tmp_path: Path, model, says):
    """Before 2026-12-03 (third bad-input hunt) camera_info.yaml's distortion_model was not read: a fisheye
    camera's k1-k4 were calibrated with as plumb_bob's k1 k2 p1 p2 without a word (a bag's or the live camera's
    CameraInfo of that model is refused)."""
    views = tmp_path / "views"
    views.mkdir()
    (views / "camera_info.yaml").write_text(yaml.safe_dump({
        "image_width": 128, "image_height": 96, "distortion_model": model,
        "camera_matrix": {"data": [100, 0, 64, 0, 100, 48, 0, 0, 1]},
        "distortion_coefficients": {"data": [0.1, 0.05, 0.01, 0.002]}}))
    (views / "tool_poses.yaml").write_text("base_frame: base_link\ntool_frame: tool0\nviews: []\n")
    refused(capsys, "calibrate", "--views", views, names=(str(views / "camera_info.yaml"), says))


def test_fit_refuses_missing_teacher_weights_before_any_setup(capsys, tmp_path: Path, tiny_dataset: Path,
                                                              monkeypatch):
    """Before 2026-12-03 the default teacher (clip) without its weights was refused from inside nerfstudio's
    setup: its dataparser logs and a DataLoader warning came first (the teachers were built after it)."""
    from huggingface_hub import constants

    import dff_grasp_ros.field.fit as fit_module

    def set_up(*args, **kwargs):
        raise AssertionError("the training was set up before the teachers' weights were checked")

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty hub cache"))
    monkeypatch.setattr(fit_module, "_train_and_export", set_up)
    out = tmp_path / "fields"
    refused(capsys, "fit", "--dataset", tiny_dataset, "--out", out, "--method", "dff-tiny", "--device", "cpu",
            names=("clip: pretrained weights not found", "empty hub cache"))
    assert not out.exists() or list(out.iterdir()) == []


def test_a_fit_refusal_is_one_line_in_a_fresh_process(tmp_path: Path):
    """Before 2026-12-03 2-6 lines of torch and nerfstudio FutureWarnings (``torch.jit.script``, ``custom_fwd``)
    came first: they are printed once per process, so only a fresh one shows them."""
    import os
    import subprocess
    import sys

    dataset = tmp_path / "nonexist"
    env = {**os.environ, "PYTHONWARNINGS": ""}
    done = subprocess.run([sys.executable, "-m", "dff_grasp_ros.cli", "fit", "--dataset", str(dataset), "--out",
                           str(tmp_path / "fields"), *FIT], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 2 and done.stderr.splitlines() == [
        f"dff-grasp fit: {dataset} is not a dataset folder"], done.stderr
