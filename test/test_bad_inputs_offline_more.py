"""More bad inputs for the offline commands (no ROS), found by hunting past test_bad_inputs_datasets/fields/scenes:
the keys of transforms.json that nerfstudio reads and this package did not check, masks, cameras that never moved
or sit a light-year away, images nerfstudio reads differently from us, files that are not regular files, and
what followed from them (failures deep inside nerfstudio, a hang, a field trained on garbage that "succeeded")."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from bad_inputs import fit_refuses_broken, refused, run_cli
from PIL import Image

from dff_grasp_ros.dataset import TRANSFORMS, check_dataset
from dff_grasp_ros.synthetic import render_dataset

FIT = ("--teacher", "synthetic", "--method", "dff-tiny", "--device", "cpu", "--steps", "2")
BAD_FRAME = 4


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    return render_dataset("tiny", tmp_path_factory.mktemp("datasets"), name="tiny")


def _meta(change: Callable[[dict, Path], None]) -> Callable[[Path], None]:
    def edit(dataset: Path) -> None:
        meta = json.loads((dataset / TRANSFORMS).read_text())
        change(meta, dataset)
        (dataset / TRANSFORMS).write_text(json.dumps(meta))
    return edit


def _set(key: str, value) -> Callable[[Path], None]:
    return _meta(lambda meta, dataset: meta.__setitem__(key, value))


def _set_frame(key: str, value) -> Callable[[Path], None]:
    return _meta(lambda meta, dataset: meta["frames"][BAD_FRAME].__setitem__(key, value))


def _drop_frame_key(key: str) -> Callable[[Path], None]:
    return _meta(lambda meta, dataset: meta["frames"][BAD_FRAME].pop(key))


def _every_pose(change: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    """Replace every frame's transform_matrix by change(its matrix, frame 0's matrix)."""
    def edit(meta: dict, dataset: Path) -> None:
        first = np.array(meta["frames"][0]["transform_matrix"])
        for frame in meta["frames"]:
            frame["transform_matrix"] = change(np.array(frame["transform_matrix"]), first).tolist()
    return _meta(edit)


def _at_first_position(matrix: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The camera turned in place: every rotation kept, every position frame 0's."""
    matrix = matrix.copy()
    matrix[:3, 3] = first[:3, 3]
    return matrix


def _far_away(matrix: np.ndarray, first: np.ndarray) -> np.ndarray:
    matrix = matrix.copy()
    matrix[:3, 3] *= 1e30
    return matrix


def _masks(mode: str, empty: tuple[int, ...] = ()) -> Callable[[Path], None]:
    """A mask for every frame, in ``mode`` (nerfstudio reads only one-channel masks); the frames ``empty`` mask
    every pixel out."""
    def edit(meta: dict, dataset: Path) -> None:
        (dataset / "masks").mkdir()
        for index, frame in enumerate(meta["frames"]):
            name = Path(frame["file_path"]).name
            Image.new(mode, (128, 96), 0 if index in empty else "white" if mode != "1" else 1).save(
                dataset / "masks" / name)
            frame["mask_path"] = f"masks/{name}"
    return _meta(edit)


def _convert_image(mode: str, frames: tuple[int, ...] = (BAD_FRAME,)) -> Callable[[Path], None]:
    def edit(dataset: Path) -> None:
        for index in frames:
            path = dataset / "images" / f"frame_{index:05d}.png"
            Image.open(path).convert(mode).save(path)
    return edit


def _image_of(source: int, folder: str = "images") -> Callable[[Path], None]:
    """Frame BAD_FRAME's file_path names frame ``source``'s image file name, in ``folder``."""
    def edit(meta: dict, dataset: Path) -> None:
        name = f"frame_{source:05d}.png"
        (dataset / folder).mkdir(exist_ok=True)
        if folder != "images":
            shutil.copy(dataset / meta["frames"][BAD_FRAME]["file_path"], dataset / folder / name)
        meta["frames"][BAD_FRAME]["file_path"] = f"{folder}/{name}"
    return _meta(edit)


def fifo_that_cannot_hang(path: Path, after_s: float = 20.0) -> Path:
    """A FIFO at ``path``; should a reader open it (the bug these tests guard against), a writer opens and closes
    it after ``after_s`` so that the test fails instead of hanging."""
    import threading
    import time

    os.mkfifo(path)

    def release() -> None:
        time.sleep(after_s)
        with contextlib.suppress(OSError):  # ENXIO when no reader waits: nothing to do
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    threading.Thread(target=release, daemon=True).start()
    return path


def _fifo(dataset: Path) -> None:
    image = dataset / "images" / f"frame_{BAD_FRAME:05d}.png"
    image.unlink()
    fifo_that_cannot_hang(image)


def _png_header(width: int, height: int) -> bytes:
    """The start of a PNG declaring ``width`` x ``height`` RGB pixels (PIL reads the size from it alone)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


def npy_declaring(shape: tuple[int, ...]) -> bytes:
    """An .npy file whose header declares ``shape`` (float32) but holds 1 kB of data."""
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + bytes(1000)


FRAME = f"frame {BAD_FRAME}"
IMAGE = f"images/frame_{BAD_FRAME:05d}.png"
# case id -> (how to break a copy of the tiny dataset, what the one line must say besides the dataset's path),
# and what happened before 2026-12-02 (dff-grasp fit --steps 2 on the tiny dataset)
BROKEN: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    # "could not convert string to float: 'x'", naming neither file nor key
    "applied_scale text": (_set("applied_scale", "x"), ("'applied_scale' must be a positive finite number",)),
    # "TypeError: ufunc 'isfinite' not supported for the input types (unexpected ...)": a JSON integer past float
    "applied_scale huge integer": (_set("applied_scale", 10**400), ("'applied_scale' must be a positive finite",)),
    # "TypeError: new(): invalid data type 'str' (unexpected ...)"
    "applied_transform text": (_set("applied_transform", "x"), ("'applied_transform' must be a 3x4 matrix",)),
    "applied_transform 4x4": (_set("applied_transform", np.eye(4).tolist()), ("'applied_transform' must be a 3x4",)),
    # "Unknown value for method: bogus"
    "orientation_override unknown": (_set("orientation_override", "bogus"), ("'orientation_override'", "'bogus'")),
    # "IndexError: index 2 is out of bounds for dimension 1 with size 2 (unexpected ...)"
    "distortion_params short": (_set("distortion_params", [0.1, 0.0]), ("'distortion_params' must be a list of 6",)),
    # "could not convert string to float: 'x'"
    "k3 text": (_set("k3", "x"), ("'k3' must be a finite number",)),
    "frame k1 text": (_set_frame("k1", "x"), (FRAME, "k1 must be a finite number")),
    "frame distortion_params text": (_set_frame("distortion_params", "x"), (FRAME, "'distortion_params'")),
    # "RuntimeError: Some filenames for split train were not found: {...} (unexpected ...)"
    "train_filenames unknown": (_set("train_filenames", ["nope.png"]), ("train_filenames names 'nope.png'",)),
    "val_filenames only": (_set("val_filenames", [IMAGE]), ("val_filenames is given without train_filenames",)),
    # before 2026-12-03: "RuntimeError: The dataset's list of filenames for split val is missing. (unexpected ...)"
    # after the teacher features and nerfstudio's setup
    "train_filenames only": (_set("train_filenames", [IMAGE]), ("train_filenames is given without val_filenames",)),
    "test_filenames only": (_set("test_filenames", [IMAGE]), ("test_filenames is given without train_filenames",)),
    # "AssertionError: Different number of image and depth filenames ... (unexpected ...)"
    "depth on some frames": (_drop_frame_key("depth_file_path"), ("depth_file_path is given for 23 of 24 frames",
                                                                  FRAME)),
    # "AssertionError: Different number of image and mask filenames ... (unexpected ...)"
    "mask on one frame": (_set_frame("mask_path", "masks/x.png"), ("mask_path is given for 1 of 24 frames",)),
    # "No such file or directory: .../masks/frame_00019.png" after the teacher features were computed
    "masks missing": (_meta(lambda m, d: [f.__setitem__("mask_path", "masks/" + Path(f["file_path"]).name)
                                          for f in m["frames"]]), ("frame 0", "mask masks/frame_00000.png",
                                                                   "does not exist")),
    "masks rgb": (_masks("RGB"), ("frame 0", "mask masks/frame_00000.png has pixel mode RGB")),
    # before 2026-12-03: "Sample larger than population or is negative" from nerfstudio's pixel sampler, after the
    # teacher features and setup
    "masks all zero": (_masks("L", tuple(range(24))), ("frame 0", "mask masks/frame_00000.png masks out every pixel")),
    "one mask zero": (_masks("1", (BAD_FRAME,)), (FRAME, f"mask masks/frame_{BAD_FRAME:05d}.png masks out every")),
    # trained and "succeeded": nerfstudio divides by the cameras' spread (1e-8 here: a field scaled by 1e8)
    "camera never moved": (_every_pose(lambda m, first: first), ("every camera is within 0.0 mm of the same place",)),
    "camera turned in place": (_every_pose(_at_first_position), ("within 0.0 mm of the same place",)),
    # trained and "succeeded" on cameras 1e29 m away
    "cameras a light-year away": (_every_pose(_far_away), ("frame 0", "more than 1000 m from the base frame")),
    # 1e-300 px: a 180 degree view, every ray NaN: "loss is not finite" after the teacher features and setup
    "focal length 1e-300": (_set("fl_x", 1e-300), ("focal length fx 1e-300 px gives a 180 degree field of view",)),
    "focal length 1e300": (_set("fl_y", 1e300), ("focal length fy 1e+300 px gives a 5.5e-297 degree field of view",)),
    # "RuntimeError: stack expects each tensor to be equal size, but got [96, 128, 3] ... [96, 128, 4]"
    "one image rgba": (_convert_image("RGBA"), (FRAME, IMAGE, "is RGBA but frame 0's is RGB")),
    # trained: nerfstudio read the palette indices as grey levels (our teachers saw the colours)
    "palette image": (_convert_image("P"), (FRAME, IMAGE, "pixel mode P")),
    # trained one frame with another's teacher features (they are found by file name)
    "one image for two frames": (_image_of(3), (f"frames 3 and {BAD_FRAME}", "'frame_00003.png'")),
    "same file name in two folders": (_image_of(3, "more"), (f"frames 3 and {BAD_FRAME}", "more/frame_00003.png")),
    # hung for ever in the dataset check (opening a FIFO waits for a writer)
    "image is a fifo": (_fifo, (FRAME, IMAGE, "is not a regular file")),
    "image is a folder": (lambda d: (d / IMAGE).unlink() or (d / IMAGE).mkdir(), (FRAME, IMAGE, "not a regular file")),
    # "File name too long: <path>", naming no frame
    "file name too long": (_set_frame("file_path", "images/" + "a" * 5000 + ".png"),
                           (FRAME, "image images/aaaa", "cannot be read (File name too long)")),
    # "DecompressionBombError: Image size (400000000 pixels) exceeds limit ... (unexpected ...)"
    "image header of 20000x20000": (lambda d: (d / IMAGE).write_bytes(_png_header(20000, 20000)),
                                    (FRAME, IMAGE, "cannot be decoded", "decompression bomb")),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_fit_refuses_a_bad_dataset_before_training(capsys, tmp_path: Path, tiny_dataset: Path, case: str):
    break_it, says = BROKEN[case]
    fit_refuses_broken(capsys, tmp_path, tiny_dataset, break_it, says, FIT,
                       read_back=case != "image is a fifo")  # reading a FIFO would wait


GOOD: dict[str, Callable[[Path], None]] = {
    "nerfstudio's own keys": _meta(lambda m, d: m.update(
        applied_transform=np.eye(4)[:3].tolist(), applied_scale=1.0, orientation_override="none",
        distortion_params=[0.0] * 6, train_filenames=[f["file_path"] for f in m["frames"]], val_filenames=[])),
    "one-channel masks": _masks("L"),
    "grey images": _convert_image("L", tuple(range(24))),
    "every image rgba": _convert_image("RGBA", tuple(range(24))),
}


@pytest.mark.parametrize("case", list(GOOD))
def test_the_checks_accept_what_nerfstudio_trains_on(tmp_path: Path, tiny_dataset: Path, case: str):
    dataset = tmp_path / "dataset"
    shutil.copytree(tiny_dataset, dataset)
    GOOD[case](dataset)
    assert len(check_dataset(dataset).frames) == 24


def test_distortion_params_are_the_intrinsics_distortion(tmp_path: Path, tiny_dataset: Path):
    """nerfstudio uses distortion_params [k1, k2, k3, k4, p1, p2] instead of the k1.. keys when given: so must we
    (the scene-cloud export renders with our intrinsics)."""
    dataset = tmp_path / "dataset"
    shutil.copytree(tiny_dataset, dataset)
    _set("distortion_params", [0.1, 0.02, 0.0, 0.0, 0.003, 0.004])(dataset)
    assert check_dataset(dataset).intrinsics.distortion == (0.1, 0.02, 0.003, 0.004)


# --- scenes (`dff-grasp sim render`, and every command that loads a scene) -------------------------------------

def _scene(objects: list[dict], **scan) -> dict:
    return {"name": "many", "objects": objects, "camera": {"width": 64, "height": 48, "fx": 60, "fy": 60},
            "scan": {"views": 3, "radius_m": 5.0, "elevation_deg": [50, 60], "center_m": [0, 0, 0], **scan}}


def _mug_grid(count: int, spacing_m: float = 0.2) -> list[dict]:
    side = int(np.ceil(np.sqrt(count)))
    return [{"type": "mug", "position_m": [round((i % side) * spacing_m, 3), round((i // side) * spacing_m, 3)],
             "color": "red"} for i in range(count)]


def test_render_refuses_a_scene_with_too_many_objects(capsys, tmp_path: Path):
    """Before 2026-12-02 no count was checked: 2,500 mugs took 15 s to check and 65 s and 1.4 GB to render three
    64x48 views (and more than 300 s before the overlap test skipped far-apart pairs)."""
    from dff_grasp_ros.synthetic.spec import MAX_SCENE_OBJECTS

    scene = tmp_path / "many.yaml"
    scene.write_text(json.dumps(_scene(_mug_grid(MAX_SCENE_OBJECTS + 1, spacing_m=0.0))))  # JSON is YAML
    refused(capsys, "sim", "render", "--scene", scene, "--out", tmp_path / "datasets",
            names=(str(scene), f"{MAX_SCENE_OBJECTS + 1} objects", f"at most {MAX_SCENE_OBJECTS}"))
    assert not (tmp_path / "datasets").exists()


def test_the_overlap_test_compares_only_neighbours(monkeypatch):
    """A grid of 144 mugs 20 cm apart: no two are near, so no exact test is needed (before: all 10,296 pairs,
    about 1.5 ms each)."""
    import dff_grasp_ros.synthetic.placement as placement
    from dff_grasp_ros.synthetic import load_scene

    exact = []
    real = placement.footprint_overlap_m
    monkeypatch.setattr(placement, "footprint_overlap_m", lambda a, b: exact.append(1) or real(a, b))
    assert len(load_scene(_scene(_mug_grid(144))).objects) == 144
    assert exact == []


def test_the_overlap_test_still_finds_the_first_overlapping_pair():
    from dff_grasp_ros.synthetic import load_scene

    objects = _mug_grid(16)
    objects[9]["position_m"] = [objects[5]["position_m"][0] + 0.02, objects[5]["position_m"][1]]
    with pytest.raises(ValueError, match=r"objects overlap: #5 red mug and #9 red mug interpenetrate"):
        load_scene(_scene(objects))


def test_a_scan_that_sees_the_horizon_is_refused_before_any_mesh_is_built(monkeypatch):
    """Before 2026-12-02 every object's mesh and the overlap test came first: 400 mugs took 54 s to be told
    that the views see the horizon."""
    import dff_grasp_ros.synthetic.catalog as catalog

    def no_meshes(scene):
        raise AssertionError("meshes built before the views were checked")

    monkeypatch.setattr(catalog, "scene_parts", no_meshes)
    with pytest.raises(ValueError, match="sees \\(nearly\\) the horizon"):
        catalog.load_scene(_scene(_mug_grid(4), elevation_deg=[1, 2]))


# --- calibrate: flags that set a hand_eye parameter, and the simulator's ------------------------------------

@pytest.fixture()
def blank_views(tmp_path: Path) -> Path:
    """A views folder of three grey images (no board in view): readable, and calibrates to "0 usable views"."""
    from dff_grasp_ros.calibration.camera import PinholeCamera
    from dff_grasp_ros.calibration.views import write_views_folder

    camera = PinholeCamera(64, 48, (50.0, 0.0, 32.0, 0.0, 50.0, 24.0, 0.0, 0.0, 1.0), ())
    views = [(f"view_{k}.png", np.full((48, 64), 128, np.uint8), np.eye(4)) for k in range(3)]
    folder = tmp_path / "views"
    write_views_folder(folder, camera, views, "base_link", "tool0")
    return folder


BAD_CALIBRATE_FLAGS = [  # before 2026-12-02 the first six calibrated (the check off, or no child frame)
    ("--min-corners", "-5", "--min-corners must be >= 4, got -5 (the hand_eye parameter min_board_corners)"),
    ("--min-corners", "0", "--min-corners must be >= 4"),
    ("--min-rotation-deg", "nan", "--min-rotation-deg must be finite"),
    ("--min-rotation-deg", "-5", "--min-rotation-deg must be >= 0.0"),
    ("--camera-frame", "", "--camera-frame must be a frame id without spaces"),
    ("--camera-frame", "camera frame", "--camera-frame must be a frame id"),
    ("--still-time", "inf", "--still-time must be finite"),
    ("--tool-pose-topic", "tool pose", "--tool-pose-topic must be a ROS topic name"),
    ("--min-views", "1000000", "--min-views must be <= 1000"),
]


@pytest.mark.parametrize(("flag", "value", "says"), BAD_CALIBRATE_FLAGS, ids=[f"{f} {v!r}" for f, v, _ in
                                                                               BAD_CALIBRATE_FLAGS])
@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["text", "json"])
def test_calibrate_refuses_a_bad_parameter_flag(capsys, tmp_path: Path, blank_views: Path, flag: str, value: str,
                                                says: str, json_flag: tuple[str, ...]):
    out = tmp_path / "hand_eye.yaml"
    # Flags only a bag reads go with --from-bag (with --views they are refused as unused, test_calibrate_flags.py).
    bag_only = flag in ("--still-time", "--tool-pose-topic")
    source = ("--from-bag", tmp_path / "bag") if bag_only else ("--views", blank_views)
    run = refused(capsys, "calibrate", *source, flag, value, "--out", out, *json_flag, names=(says,))
    if json_flag:
        assert run.json()["success"] is False and says in run.json()["message"]
    assert not out.exists()


@pytest.mark.parametrize(("flag", "value", "folder_frame"), [("--tool-frame", "flange", "tool_frame 'tool0'"),
                                                          ("--base-frame", "world", "base_frame 'base_link'")])
def test_calibrate_views_refuses_a_frame_flag_the_folder_contradicts(capsys, tmp_path: Path, blank_views: Path,
                                                                      flag: str, value: str, folder_frame: str):
    """Before 2026-12-03 (hunt-left) --views read the frames of its tool_poses.yaml and ignored the flag: the
    result was of another tool frame than asked, without a word (the hand_eye node then refuses that file)."""
    out = tmp_path / "hand_eye.yaml"
    run = refused(capsys, "calibrate", "--views", blank_views, flag, value, "--out", out, "--json",
                  names=(f"{flag} {value!r}", folder_frame, str(blank_views / "tool_poses.yaml")))
    assert run.json()["success"] is False and not out.exists()
    # The folder's own frame, given explicitly (a leading '/' as tf2 reads it), is no conflict.
    same = "/tool0" if flag == "--tool-frame" else "base_link"
    assert run_cli(capsys, "calibrate", "--views", blank_views, flag, same, "--out", out).code == 1  # 0 usable views


BAD_SIM_FLAGS = [  # before 2026-12-02: 50 s of rendering, then "scale < 0", "SVD did not converge", a temporary
    # tool_poses.yaml named as the culprit; 1001 views rendered for about an hour
    ("--sim-noise-mm", "-1", "--sim-noise-mm must be between 0 and 100, got -1.0"),
    ("--sim-noise-mm", "nan", "--sim-noise-mm must be between 0 and 100, got nan"),
    ("--sim-noise-deg", "inf", "--sim-noise-deg must be between 0 and 45, got inf"),
    ("--seed", "-1", "--seed must be between 0 and 4294967295, got -1"),
    ("--sim-views", "1001", "--sim-views must be between 1 and 1000, got 1001"),
    ("--out", "{tmp}", "is a folder"),
    ("--keep-views", "{tmp}", "already exists and is not an empty folder"),  # refused after the render before
    # before 2026-12-03 (hunt-left) ignored: the result was of the simulator's tool0 without a word
    ("--tool-frame", "flange", "--tool-frame 'flange' contradicts the simulator (sim_camera's frames), whose tool "
                               "poses are of tool_frame 'tool0'"),
]


@pytest.mark.parametrize(("flag", "value", "says"), BAD_SIM_FLAGS, ids=[f"{f} {v}" for f, v, _ in BAD_SIM_FLAGS])
def test_calibrate_sim_refuses_bad_flags_before_rendering(capsys, tmp_path: Path, monkeypatch, flag: str, value: str,
                                                          says: str):
    import dff_grasp_ros.synthetic.board as board

    rendered = []
    monkeypatch.setattr(board, "write_simulated_views", lambda *a, **k: rendered.append(a))
    (tmp_path / "older.png").write_bytes(b"an earlier session's view")
    keep = () if flag == "--keep-views" else ("--keep-views", tmp_path / "views")
    refused(capsys, "calibrate", "--sim", "tiny", flag, value.format(tmp=tmp_path), *keep, names=(says,))
    assert rendered == [] and not (tmp_path / "views").exists()


@pytest.mark.parametrize("render", ["fails", "writes nothing"])
def test_a_failed_calibrate_sim_removes_its_temporary_views_folder(capsys, tmp_path: Path, monkeypatch, render: str):
    """Before 2026-12-02 every `calibrate --sim` without --keep-views left a dff_grasp_calibration_sim_* folder in
    /tmp when it failed (a render that failed, views the calibration refused)."""
    import tempfile

    import numpy as np

    import dff_grasp_ros.synthetic.board as board

    def write_simulated_views(folder, *args, **kwargs):
        if render == "fails":
            raise OSError(28, "No space left on device", str(folder))
        return np.eye(4)

    monkeypatch.setattr(board, "write_simulated_views", write_simulated_views)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    refused(capsys, "calibrate", "--sim", "tiny", before_work=False,
            names=("no space left" if render == "fails" else "camera_info.yaml does not exist",))
    assert list(tmp_path.glob("dff_grasp_calibration_sim_*")) == []


# --- ns-train dff: nerfstudio's own command line on a bad dataset ----------------------------------------------

def _ns_train_refusal(tmp_path: Path, dataset: Path, *extra: str) -> str:
    """What ``ns-train dff-tiny`` exits with on ``dataset``: run in this process (a subprocess spends ~15 s
    importing nerfstudio's method registry; the ``ns-train dff`` run itself is tested as a subprocess in
    test_field_ns_train). A refusal is a SystemExit whose message Python prints as the one line on stderr, with
    exit status 1; any other exception fails the test with its traceback."""
    from nerfstudio.scripts import train

    argv = ["ns-train", "dff-tiny", "--data", str(dataset), "--output-dir", str(tmp_path / "runs"), "--vis",
            "tensorboard", "--max-num-iterations", "2", "--machine.device-type", "cpu",
            "--pipeline.datamanager.language-teacher", "synthetic", "--pipeline.datamanager.dino-teacher",
            "synthetic_dino", *extra]
    with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit) as exited:
        patch.setattr("sys.argv", argv)
        patch.setenv("HF_HUB_OFFLINE", "1")
        train.entrypoint()
    assert isinstance(exited.value.code, str), f"exit status {exited.value.code!r}, not a one-line refusal"
    return exited.value.code


def test_ns_train_refuses_a_bad_dataset_in_one_line(tmp_path: Path, tiny_dataset: Path):
    """Before 2026-12-02 ns-train ran no pre-flight: a traceback ending in nerfstudio's AssertionError ("Different
    number of image and depth filenames")."""
    dataset = tmp_path / "broken"
    shutil.copytree(tiny_dataset, dataset)
    _drop_frame_key("depth_file_path")(dataset)
    assert _ns_train_refusal(tmp_path, dataset) == (
        f"dff: {dataset / TRANSFORMS}: depth_file_path is given for 23 of 24 frames (not for frame {BAD_FRAME}); "
        f"give it for every frame or for none")
    assert not list((tmp_path / "runs").rglob("*.ckpt"))


@pytest.mark.parametrize("case", ["no such folder", "train_filenames only", "cuda without a GPU"])
def test_ns_train_refuses_before_writing_its_config(tmp_path: Path, tiny_dataset: Path, monkeypatch, case: str):
    """Before 2026-12-03 the pre-flight ran in the data manager, after nerfstudio's train.main had written
    outputs/<name>/dff/<timestamp>/config.yml (left behind by every refusal); a dataset without val_filenames and
    the default --machine.device-type cuda without a GPU ended in tracebacks."""
    import torch

    dataset, extra = tmp_path / "broken", ()
    if case == "no such folder":
        says = f"dff: {dataset} is not a dataset folder"
    else:
        shutil.copytree(tiny_dataset, dataset)
    if case == "train_filenames only":
        _set("train_filenames", [IMAGE])(dataset)
        says = f"dff: {dataset / TRANSFORMS}: train_filenames is given without val_filenames"
    if case == "cuda without a GPU":
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        extra = ("--machine.device-type", "cuda")
        says = "dff: --machine.device-type cuda: device 'cuda' requested but CUDA is not available here"
    assert _ns_train_refusal(tmp_path, dataset, *extra).startswith(says)
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").rglob("*")) == []


def test_ns_train_refuses_a_bad_data_manager_setting_in_one_line(tmp_path: Path, tiny_dataset: Path):
    """Before 2026-12-02: a traceback ending in "ValueError: detail_ray_fraction must be in [0, 1), got 2.0", after
    the teacher features were computed."""
    assert _ns_train_refusal(tmp_path, tiny_dataset, "--pipeline.datamanager.detail-ray-fraction", "2") == (
        "dff: pipeline.datamanager: detail_ray_fraction must be in [0, 1), got 2.0")


@pytest.mark.parametrize(("setting", "value", "says"), [
    ("detail_patch_fraction", 0.0, "detail_patch_fraction must be in (0, 1], got 0.0"),
    ("teacher_batch_size", 0, "teacher_batch_size must be >= 1, got 0"),
    ("language_teacher", "gpt", "unknown teacher 'gpt'"),
    ("dino_teacher", "", "unknown teacher ''"),
])
def test_the_data_manager_settings_are_checked_first(setting: str, value, says: str):
    from dataclasses import replace

    from dff_grasp_ros.field.datamanager import DffDataManagerConfig, SetupRefused, check_settings

    check_settings(DffDataManagerConfig())
    with pytest.raises(SetupRefused, match=re.escape(says)):
        check_settings(replace(DffDataManagerConfig(), **{setting: value}))


# --- ask: arguments refused before the field is loaded --------------------------------------------------------

@pytest.mark.parametrize(("argv", "says"), [
    (("--threshold", "nan"), "--threshold nan: relevancy_threshold must be in (0, 1), got nan"),
    (("--threshold", "-1"), "--threshold -1: relevancy_threshold must be in (0, 1)"),
    (("--threshold", "1"), "--threshold 1: relevancy_threshold must be in (0, 1)"),
    (("--device", "bogus"), "argument --device: invalid choice: 'bogus'"),
])
def test_ask_refuses_a_bad_argument_before_loading_the_field(capsys, tmp_path: Path, monkeypatch, argv, says):
    """Before 2026-12-02 a bad --threshold loaded the field and answered "no grasp" (exit 1, as for an absent
    object), and --device bogus was accepted and ignored (a CLIP field then failed in torch)."""
    import dff_grasp_ros.answers as answers

    loaded = []
    monkeypatch.setattr(answers, "resolve_field", lambda path: loaded.append(path) or path)
    run = refused(capsys, "ask", "--field", tmp_path / "fields", "mug handle", "--json", *argv, names=(says,))
    assert loaded == [] and run.json()["success"] is False and run.json()["grasp"] is None


@pytest.mark.parametrize("name", ["a/b", "../../escape", "x" * 300, "tab\there", "..", "nul\x00x", "-rf"],
                         ids=["slash", "dotdot", "300 chars", "tab", "dots", "nul", "dash"])
def test_render_refuses_a_scene_name_that_cannot_name_a_folder(capsys, tmp_path: Path, name: str):
    """The name becomes the dataset's folder name (sim_<name>_<time>): before 2026-12-02 'a/b' and '../../escape'
    failed with "No such file or directory: <hidden staging path>", 300 characters with "File name too long", a NUL
    with "embedded null character" (naming nothing), and a tab or '..' made such a folder."""
    from dff_grasp_ros.synthetic import load_scene

    scene = tmp_path / "scene.yaml"
    scene.write_text(json.dumps({**load_scene("tiny").to_dict(), "name": name}))
    refused(capsys, "sim", "render", "--scene", scene, "--out", tmp_path / "out",
            names=(str(scene), "'name' must be 1-64 letters, digits"))
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


# --- the teacher feature cache next to a dataset --------------------------------------------------------------

def test_a_teacher_cache_entry_holding_nan_is_recomputed(tmp_path: Path, tiny_dataset: Path, monkeypatch):
    """A cache entry of the right shape and dtype holding NaN (a bit flip, another tool's write) was used as it
    was: training then stopped with "loss is not finite" after minutes, every run, until the cache was deleted."""
    from test_teachers_cache import counting

    from dff_grasp_ros.dataset import load_dataset
    from dff_grasp_ros.teachers import make_teacher
    from dff_grasp_ros.teachers.cache import CACHE_DIRNAME, dataset_features

    shutil.copytree(tiny_dataset, tmp_path / "dataset")
    dataset = load_dataset(tmp_path / "dataset")
    teacher = make_teacher("synthetic_dino", device="cpu")
    first = dataset_features(dataset, teacher)
    entry = sorted((dataset.root / CACHE_DIRNAME / teacher.name).glob("*.npy"))[0]
    np.save(entry, np.full_like(np.load(entry), np.nan))
    calls = counting(teacher, monkeypatch)
    with pytest.warns(UserWarning, match="NaN or infinite"):
        again = dataset_features(dataset, teacher)
    assert calls == [1] and torch.isfinite(again).all()
    torch.testing.assert_close(again, first)
    assert np.isfinite(np.load(entry)).all()


def test_a_teacher_cache_entry_declaring_a_huge_array_is_recomputed(tmp_path: Path, tiny_dataset: Path):
    """Before 2026-12-02: "MemoryError: Unable to allocate 1.09 TiB ..." ended fit ('unexpected')."""
    from dff_grasp_ros.dataset import load_dataset
    from dff_grasp_ros.teachers import make_teacher
    from dff_grasp_ros.teachers.cache import CACHE_DIRNAME, dataset_features

    shutil.copytree(tiny_dataset, tmp_path / "dataset")
    dataset = load_dataset(tmp_path / "dataset")
    teacher = make_teacher("synthetic_dino", device="cpu")
    first = dataset_features(dataset, teacher)
    entry = sorted((dataset.root / CACHE_DIRNAME / teacher.name).glob("*.npy"))[0]
    entry.write_bytes(npy_declaring((10**11, 3)))
    with pytest.warns(UserWarning, match="unreadable"):
        torch.testing.assert_close(dataset_features(dataset, teacher), first)


# --- fields ---------------------------------------------------------------------------------------------------

def test_ask_on_a_scene_cloud_declaring_a_huge_array_is_one_line(capsys, tmp_path: Path):
    """Before 2026-12-02: "MemoryError: Unable to allocate 1.09 TiB for an array ... (unexpected; ...)"."""
    import zipfile

    from field_fixtures import ground_truth_field

    from dff_grasp_ros.scene_cloud import SCENE_CLOUD

    field = ground_truth_field(tmp_path / "fields", scene="tiny")
    with np.load(field / SCENE_CLOUD) as data:
        arrays = {name: data[name] for name in data.files}
    with zipfile.ZipFile(field / SCENE_CLOUD, "w") as archive:
        for name, array in arrays.items():
            if name == "points_m":
                archive.writestr(f"{name}.npy", npy_declaring((10**11, 3)))
            else:
                with archive.open(f"{name}.npy", "w") as member:
                    np.save(member, array)
    run = refused(capsys, "ask", "--field", field, "mug", "--json", "--device", "cpu",
                  names=(str(field / SCENE_CLOUD), "declares arrays larger than this machine's memory"))
    assert run.json()["success"] is False


# --- fit: a dataset too big for this machine's memory ---------------------------------------------------------

def test_fit_refuses_a_dataset_too_big_for_the_memory(capsys, tmp_path: Path, tiny_dataset: Path, monkeypatch):
    """Before 2026-12-02 nothing compared a dataset with the memory: fit set up its teachers and nerfstudio cached
    every image as float32 until the machine ran out (64 B per pixel measured, 3.2 GB for 24 views of 1280x960).
    Training keeps the same headroom as rendering (80 % of what is available): 1.3 GB of 1.5 GB was let through."""
    import dff_grasp_ros.resources as resources

    monkeypatch.setattr(resources, "available_memory_bytes", lambda: 1.5e9)
    out = tmp_path / "fields"
    refused(capsys, "fit", "--dataset", tiny_dataset, "--out", out, *FIT,
            names=(str(tiny_dataset), "training on 24 views of 128x96 needs about 1.3 GB of memory",
                   "1.5 GB is available"))
    assert not out.exists() or list(out.iterdir()) == []



def test_fit_shows_the_teachers_progress_then_the_training(capsys, tmp_path: Path, tiny_dataset: Path):
    """Before 2026-12-02 `fit` drew nothing while the teachers ran (minutes for CLIP and DINO on a CPU)."""
    run = run_cli(capsys, "fit", "--dataset", tiny_dataset, "--out", tmp_path / "fields", *FIT)
    assert run.code == 0, run.err
    assert "teacher features: 100%" in run.err and "24/24" in run.err
    assert run.err.rindex("teacher features") < run.err.index("train field")  # closed before training began


# --- outputs that are not regular files -----------------------------------------------------------------------

def _fifo_at(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("argv", [("--views", "{views}", "--out", "{fifo}"), ("--write-board", "{fifo}")],
                         ids=["result", "board"])
def test_calibrate_refuses_an_output_that_is_not_a_regular_file(capsys, tmp_path: Path, blank_views: Path, argv):
    """The atomic writer renames a finished file onto the output path: before 2026-12-02 that replaced a FIFO or
    a device with a plain file (run as root, `calibrate --out /dev/null` replaced /dev/null)."""
    import stat

    fifo = _fifo_at(tmp_path / "out.png")
    argv = [a.format(views=blank_views, fifo=fifo) for a in argv]
    refused(capsys, "calibrate", *argv, names=(str(fifo), "is not a regular file"))
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_the_atomic_writer_never_replaces_a_fifo(tmp_path: Path):
    import stat

    from dff_grasp_ros.atomic import atomic_write_bytes
    from dff_grasp_ros.errors import InputError

    fifo = _fifo_at(tmp_path / "scene_cloud.npz")
    with pytest.raises(InputError, match="not a regular file"):
        atomic_write_bytes(fifo, b"data")
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and os.listdir(tmp_path) == ["scene_cloud.npz"]


def _edit_tool_poses(views: Path, change: Callable[[dict], None]) -> Path:
    """Change tool_poses.yaml of a views folder in place; its path."""
    import yaml

    path = views / "tool_poses.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


BAD_TOOL_POSES = {  # before 2026-12-03 each of these failed naming neither the file nor the view
    "translation a 400-digit integer": (lambda d: d["views"][2].__setitem__("translation_m", [10**400, 0, 0]),
                                        "views[2] translation_m[0] must be a finite number, got an integer of 401 "
                                        "digits"),
    "translation text": (lambda d: d["views"][2].__setitem__("translation_m", [0, "a", 0]),
                         "views[2] translation_m[1] must be a finite number, got 'a'"),
    # before 2026-12-03 (hunt-left) 1e300 overflowed the solver: "array must not contain infs or NaNs"
    "translation 1e300 m": (lambda d: d["views"][2].__setitem__("translation_m", [1e300, 0, 0]),
                            "views[2] translation_m [1e+300, 0.0, 0.0] lies more than 1000 m from the base frame"),
    "quaternion text": (lambda d: d["views"][2].__setitem__("quaternion_xyzw", [0, 0, 0, "a"]),
                        "views[2] quaternion_xyzw[3] must be a finite number, got 'a'"),
    # frames: '' calibrated and wrote "--frame-id  --child-frame-id"; [1] became the frame "[1]"
    "tool frame empty": (lambda d: d.__setitem__("tool_frame", ""), "tool_frame must be a frame id without spaces"),
    "base frame a list": (lambda d: d.__setitem__("base_frame", [1]),
                          "base_frame must be a frame id (a string), got [1]"),
    # images: a NUL made cv2.imread read another file ('view'); 5, null and ['a'] were read as '5', 'None' and
    # "['a']", printing raw OpenCV warnings, and the calibration went on without the view
    "image with a NUL": (lambda d: d["views"][2].__setitem__("image", "view\0.png"),
                         "views[2] image must be a file name (a string without NUL), got 'view\\x00.png'"),
    "image a number": (lambda d: d["views"][2].__setitem__("image", 5), "views[2] image must be a file name"),
    "image null": (lambda d: d["views"][2].__setitem__("image", None), "views[2] image must be a file name"),
    "image a list": (lambda d: d["views"][2].__setitem__("image", ["a"]), "views[2] image must be a file name"),
}


@pytest.mark.parametrize("case", list(BAD_TOOL_POSES))
def test_calibrate_refuses_a_bad_tool_poses_file_naming_it_and_the_view(capsys, tmp_path: Path, blank_views: Path,
                                                                        case: str):
    change, says = BAD_TOOL_POSES[case]
    poses = _edit_tool_poses(blank_views, change)
    out = tmp_path / "hand_eye.yaml"
    refused(capsys, "calibrate", "--views", blank_views, "--out", out, names=(str(poses), says))
    assert not out.exists()


# --- inputs that are devices or FIFOs -------------------------------------------------------------------------

def test_a_device_given_as_a_json_input_is_refused_without_reading(capsys, tmp_path: Path):
    """Before 2026-12-02 `sim execute --answer /dev/zero` read until the kernel killed the process (out of memory,
    69 s); /dev/null was read as an empty file. Pipes (/dev/stdin) are still read."""
    run = refused(capsys, "sim", "execute", "--scene", "tiny", "--answer", "/dev/null", "--prompt", "mug",
                  names=("answer /dev/null is a device, not a JSON file",))
    assert run.json()["success"] is False


def test_a_calibration_view_that_is_a_fifo_is_rejected_not_waited_on(blank_views: Path):
    """Before 2026-12-02 cv2.imread waited for ever for a writer of a FIFO named in tool_poses.yaml."""
    from dff_grasp_ros.calibration.views import read_views_folder

    name = read_views_folder(blank_views).views[0][0]
    (blank_views / name).unlink()
    fifo_that_cannot_hang(blank_views / name)
    with pytest.raises(ValueError, match="not a regular file"):
        read_views_folder(blank_views).image(name)


@pytest.mark.parametrize(("camera", "says"), [({"fx": 1e9}, "focal length fx 1e+09 px gives a"),
                                              ({"fy": 1e9}, "focal length fy 1e+09 px gives a")])
def test_render_refuses_a_camera_that_training_would_refuse(capsys, tmp_path: Path, camera: dict, says: str):
    """Before 2026-12-02 a scene camera with a 0.00001 degree view rendered its scan (the dataset check refuses
    it since this branch: the intrinsics check is now the same for both)."""
    from dff_grasp_ros.synthetic import load_scene

    data = load_scene("tiny").to_dict()
    data["camera"].update(camera)
    scene = tmp_path / "scene.yaml"
    scene.write_text(json.dumps(data))
    refused(capsys, "sim", "render", "--scene", scene, "--out", tmp_path / "out", names=(str(scene), says))
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


# --- numbers Python will not parse ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["json", "yaml"])
def test_an_integer_too_long_to_parse_is_refused_naming_the_file(tmp_path: Path, kind: str):
    """Before 2026-12-03 Python's "Exceeds the limit (4300 digits) for integer string conversion" escaped both
    readers, so `fit`, `ask`, `sim render`, `calibrate --views` and `sim execute` answered without naming the file."""
    from dff_grasp_ros.errors import InputError, read_json_file, read_yaml_file

    path = tmp_path / f"big.{kind}"
    path.write_text('{"w": ' + "7" * 5000 + "}")  # JSON, and YAML too
    read = read_json_file if kind == "json" else read_yaml_file
    with pytest.raises(InputError, match=rf"^settings {re.escape(str(path))} holds an integer of more than 4300 "
                                         r"digits"):
        read(path, "settings")


@pytest.mark.parametrize("text", ["views: &v [*v, *v]\n", "&c {image_width: 64, camera_matrix: *c}\n",
                                  "a: [1, {b: &x [2, {c: *x}]}]\n"])
def test_a_yaml_alias_inside_its_own_anchor_is_refused_naming_the_file(tmp_path: Path, text: str):
    """Before 2026-12-03 (third bad-input hunt) such a file loaded as a list or mapping that contains itself: a
    parameter file ended bringup in "RecursionError (unexpected)", a tool_poses.yaml said "list indices must be
    integers or slices, not str"."""
    from dff_grasp_ros.errors import InputError, read_yaml_file

    path = tmp_path / "looped.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=rf"^settings {re.escape(str(path))} is not valid YAML \(line \d+, column "
                                         r"\d+\): the alias \*\w lies inside the anchor &\w it refers to"):
        read_yaml_file(path, "settings")


def test_yaml_aliases_outside_their_anchors_still_load(tmp_path: Path):
    from dff_grasp_ros.errors import read_yaml_file

    path = tmp_path / "shared.yaml"
    path.write_text("a: &x [1, 2]\nb: *x\nc: {d: *x}\n")
    assert read_yaml_file(path) == {"a": [1, 2], "b": [1, 2], "c": {"d": [1, 2]}}


def test_sim_execute_names_an_answer_holding_an_integer_too_long_to_parse(capsys, tmp_path: Path):
    answer = tmp_path / "answer.json"
    answer.write_text('{"success": true, "grasp": {"position_m": [' + "1" * 5001 + ", 0, 0]}}")
    refused(capsys, "sim", "execute", "--scene", "tiny", "--answer", answer, "--prompt", "mug",
            names=(f"answer {answer} holds an integer of more than 4300 digits",))


# --- a path starting with ~user of no such user ----------------------------------------------------------------

NO_SUCH_HOME = "~no_such_user_dff/x"


@pytest.mark.parametrize("argv", [["ask", "--field", NO_SUCH_HOME, "mug"], ["viewer", "--field", NO_SUCH_HOME],
                                  ["calibrate", "--write-board", NO_SUCH_HOME + ".png"],
                                  ["calibrate", "--sim", "--keep-views", NO_SUCH_HOME],
                                  ["calibrate", "--sim", "--out", NO_SUCH_HOME + ".yaml"]],
                         ids=lambda argv: " ".join(argv[:2]) + (f" {argv[2]}" if argv[2].startswith("--") else ""))
def test_a_home_of_no_such_user_is_named(capsys, argv: list[str]):
    """Before 2026-12-03 (third bad-input hunt) Path.expanduser's "RuntimeError: Could not determine home
    directory." ended these as unexpected, naming no path."""
    refused(capsys, *argv, names=(NO_SUCH_HOME, "no user 'no_such_user_dff'"))


def test_a_training_goal_naming_a_home_of_no_such_user_is_refused_in_one_line(tmp_path: Path):
    from dff_grasp.action import TrainField
    from dff_grasp_ros.nodes.trainer import goal_problem

    problem = goal_problem(TrainField.Goal(dataset_path=NO_SUCH_HOME), str(tmp_path))
    assert problem is not None and NO_SUCH_HOME in problem and "no user 'no_such_user_dff'" in problem


def test_calibrate_views_refuses_a_folder_of_more_views_than_a_goal_may_ask_for(capsys, tmp_path: Path,
                                                                                blank_views: Path):
    """A tool_poses.yaml listing 10,000 views was read and calibrated (53 s for 10,000 entries of one image); a
    calibration goal and --sim-views stop at MAX_CALIBRATION_VIEWS, and so does a folder now, before any image."""
    import yaml

    from dff_grasp_ros.goals import MAX_CALIBRATION_VIEWS

    poses = blank_views / "tool_poses.yaml"
    data = yaml.safe_load(poses.read_text())
    data["views"] = data["views"][:1] * (MAX_CALIBRATION_VIEWS + 1)
    poses.write_text(yaml.safe_dump(data))
    out = tmp_path / "hand_eye.yaml"
    run = refused(capsys, "calibrate", "--views", blank_views, "--out", out, "--json",
                  names=(str(poses), f"{MAX_CALIBRATION_VIEWS + 1} views", f"at most {MAX_CALIBRATION_VIEWS}"))
    assert run.json()["success"] is False and not out.exists()
