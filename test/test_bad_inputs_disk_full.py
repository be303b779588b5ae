"""A full disk: one line naming what was being written, the staging folder removed, the previous output intact.

Run on a real, small tmpfs where this machine allows `mount -t tmpfs` (root: the test machines do); where it
does not, those tests skip and the simulated ones below (ENOSPC raised by the image writer) still cover the
same cleanup paths.
"""
from __future__ import annotations

import errno
import shutil
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import fill_disk, partials, read_only_dir, refused, run_cli, small_disk, snapshot
from PIL import Image
from rosbags.rosbag2 import StoragePlugin
from test_bad_inputs_bags import TOPIC_ARGS
from test_capture_bag import stream_with_a_bad_view, write_bag

import dff_grasp_ros.field.fit as fit_module
import dff_grasp_ros.synthetic.export as export
from dff_grasp_ros.scene_cloud import SceneCloud
from dff_grasp_ros.synthetic import render_dataset


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    return render_dataset("tiny", tmp_path_factory.mktemp("disk"), name="tiny")


@pytest.fixture
def disk(tmp_path: Path):
    """A 1 MiB tmpfs (about two tiny datasets' worth)."""
    with small_disk(tmp_path / "disk", 1024) as mounted:
        if not mounted:
            pytest.skip("this machine does not allow mounting a tmpfs; see the simulated ENOSPC tests")
        yield tmp_path / "disk"


def test_render_refused_up_front_when_the_disk_is_too_small(capsys, disk: Path):
    out = disk / "datasets"
    refused(capsys, "sim", "render", "--scene", "tiny", "--out", out, names=("on disk", str(out), "free"))
    assert not out.exists()


def test_render_that_fills_the_disk_keeps_the_previous_dataset(capsys, disk: Path, tiny_dataset: Path,
                                                                monkeypatch):
    out = disk / "datasets"
    shutil.copytree(tiny_dataset, out / "previous")
    before = snapshot(out)
    monkeypatch.setattr(export, "free_disk_bytes", lambda path: 10**12)  # pretend the estimate passed
    run = refused(capsys, "sim", "render", "--scene", "tiny", "--out", out,
                  names=("no space left on device writing", str(out / "sim_tiny_"), "earlier outputs are untouched"),
                  before_work=False)
    assert ".png" in run.line or "transforms.json" in run.line
    assert snapshot(out) == before and partials(out) == []


def test_bag_import_onto_a_full_disk(capsys, disk: Path, tmp_path: Path):
    write_bag(tmp_path / "bag", stream_with_a_bad_view(), StoragePlugin.MCAP)
    out = disk / "datasets"
    out.mkdir()
    (out / "previous.txt").write_text("an earlier capture")
    fill_disk(disk, leave_bytes=8 * 1024)
    before = snapshot(out)
    refused(capsys, "capture", "--from-bag", tmp_path / "bag", "--out", out, *TOPIC_ARGS,
            names=("writing the dataset under", str(out), "No space left on device"))
    assert snapshot(out) == before and partials(out) == []


def test_fit_that_cannot_write_its_field_keeps_the_previous_field(capsys, disk: Path, tiny_dataset: Path,
                                                                 monkeypatch):
    out = disk / "fields"
    (out / "field_previous").mkdir(parents=True)
    (out / "field_previous" / "field.json").write_text('{"language_teacher": {"name": "synthetic"}}')
    fill_disk(disk, leave_bytes=64 * 1024)
    before = snapshot(out)
    # Training itself is not under test: a trained field whose files are bigger than what is left.
    monkeypatch.setattr(fit_module, "_train_and_export", lambda *args: (None, None))
    monkeypatch.setattr(fit_module, "write_field_files",
                        lambda staging, field, cloud: (staging / "field.pt").write_bytes(b"\0" * 2**20))
    refused(capsys, "fit", "--dataset", tiny_dataset, "--out", out, "--teacher", "synthetic", "--method",
            "dff-tiny", "--device", "cpu", names=("no space left on device writing", str(out / "field_tiny")))
    assert snapshot(out) == before and partials(out) == []


def test_atomic_file_write_on_a_full_disk_keeps_the_old_file(disk: Path):
    path = disk / "scene_cloud.npz"
    small = _cloud(10)
    small.save(path)
    before = path.read_bytes()
    fill_disk(disk, leave_bytes=0)
    with pytest.raises(OSError) as raised:
        _cloud(20000).save(path)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(path)
    assert path.read_bytes() == before and partials(disk) == []


def _cloud(n: int) -> SceneCloud:
    rng = np.random.default_rng(0)
    return SceneCloud(rng.random((n, 3), np.float32), np.tile([0, 0, 1], (n, 1)).astype(np.float32),
                      np.zeros((n, 3), np.uint8), rng.random((n, 64), np.float32), rng.random((n, 64), np.float32))


# --- simulated ENOSPC: runs on every machine ---------------------------------------------------------------------

def _enospc_on_save(monkeypatch, after: int) -> None:
    """PIL's writer fails with ENOSPC (no file name, like a real full disk at write time) after ``after`` saves."""
    original, calls = Image.Image.save, []

    def save(self, fp, *args, **kwargs):
        calls.append(fp)
        if len(calls) > after:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)


def test_simulated_full_disk_during_render(capsys, tmp_path: Path, tiny_dataset: Path, monkeypatch):
    out = tmp_path / "datasets"
    shutil.copytree(tiny_dataset, out / "previous")
    before = snapshot(out)
    _enospc_on_save(monkeypatch, after=7)
    run = refused(capsys, "sim", "render", "--scene", "tiny", "--out", out,
                  names=("no space left on device writing", str(out / "sim_tiny_")), before_work=False)
    assert "frame_00002.png" in run.line  # views 0 and 1 (3 images each) were written, view 2's depth failed
    assert snapshot(out) == before and partials(out) == []


def test_simulated_full_disk_during_bag_import(capsys, tmp_path: Path, monkeypatch):
    write_bag(tmp_path / "bag", stream_with_a_bad_view(), StoragePlugin.SQLITE3)
    _enospc_on_save(monkeypatch, after=2)
    out = tmp_path / "datasets"
    refused(capsys, "capture", "--from-bag", tmp_path / "bag", "--out", out, *TOPIC_ARGS,
            names=("writing the dataset under", "No space left on device", str(out)))
    assert partials(out) == [] and list(out.iterdir()) == []


def test_the_one_line_of_a_full_disk_names_the_file_being_written(capsys, tmp_path: Path, monkeypatch):
    from dff_grasp_ros.errors import one_line

    err = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.png"))
    assert one_line(err) == (f"no space left on device writing {tmp_path / 'x.png'}; nothing was published, "
                             "earlier outputs are untouched")
    run = run_cli(capsys, "scenes")
    assert run.code == 0  # the machinery above does not disturb a plain command


def test_simulated_full_disk_while_keeping_calibration_views(tmp_path: Path, monkeypatch):
    """Before 2026-12-02 the views folder was written in place: a full disk at tool_poses.yaml left images and
    camera_info.yaml that `calibrate --views` would then read as a folder without poses."""
    from dff_grasp_ros.calibration.camera import PinholeCamera
    from dff_grasp_ros.calibration.views import TOOL_POSES_FILE, write_views_folder
    from dff_grasp_ros.errors import one_line

    camera = PinholeCamera(64, 48, (50.0, 0.0, 32.0, 0.0, 50.0, 24.0, 0.0, 0.0, 1.0), ())
    views = [(f"view_{k}.png", np.full((48, 64), 128, np.uint8), np.eye(4)) for k in range(3)]
    original = Path.write_text

    def write_text(self, *args, **kwargs):
        if self.name == TOOL_POSES_FILE:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    folder = tmp_path / "calibration" / "views_1"
    with pytest.raises(OSError) as raised:
        write_views_folder(folder, camera, views, "base_link", "tool0")
    assert one_line(raised.value).startswith(f"no space left on device writing {folder / TOOL_POSES_FILE}")
    assert not folder.exists() and partials(tmp_path) == []
    monkeypatch.undo()
    (folder / "older.png").parent.mkdir(parents=True)
    (folder / "older.png").write_bytes(b"an earlier session's view")
    with pytest.raises(FileExistsError, match="not empty"):  # never mixed into or over another session's views
        write_views_folder(folder, camera, views, "base_link", "tool0")
    assert [p.name for p in folder.iterdir()] == ["older.png"]


@pytest.mark.parametrize("command", ["fit", "capture", "board"])
def test_an_output_folder_on_a_read_only_filesystem_is_refused_before_work(capsys, tmp_path: Path,
                                                                           tiny_dataset: Path, command: str):
    """Before 2026-12-02 fit set its teachers up first and then failed, and an atomic file write named its hidden
    temporary file ('Read-only file system: .../.partial-p123-x')."""
    with read_only_dir(tmp_path / "ro") as mounted:
        if not mounted:
            pytest.skip("this machine does not allow mounting a read-only tmpfs")
        argv, says = {
            "fit": (["fit", "--dataset", tiny_dataset, "--out", tmp_path / "ro" / "fields", "--teacher", "synthetic",
                     "--device", "cpu"], f"output folder {tmp_path / 'ro' / 'fields'} cannot be created: "
                                         f"{tmp_path / 'ro'} is read-only"),
            "capture": (["capture", "--from-bag", tmp_path / "no_bag", "--out", tmp_path / "ro"],
                        f"output folder {tmp_path / 'ro'} is read-only"),
            "board": (["calibrate", "--write-board", tmp_path / "ro" / "board.png"],
                      f"output folder {tmp_path / 'ro'} is read-only"),  # checked before the board is drawn
        }[command]
        if command == "capture":
            (tmp_path / "no_bag").write_bytes(b"")  # the output is checked before the bag is read
        refused(capsys, *argv, names=(says,))
