"""Bad bags for `dff-grasp capture --from-bag`: unreadable, empty, truncated, wrong topics -> one line naming the
bag, nothing written; messages that cannot be decoded are counted and reported in the import summary."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest
from bad_inputs import partials, refused, run_cli, snapshot
from rclpy.serialization import serialize_message
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore
from test_capture_bag import TOPICS, TYPES, stream_with_a_bad_view, write_bag

from dff_grasp_ros.dataset import load_dataset

TOPIC_ARGS = ("--image-topic", TOPICS["image"], "--depth-topic", TOPICS["depth"], "--camera-info-topic",
              TOPICS["camera_info"], "--pose-topic", TOPICS["pose"])


@pytest.fixture(scope="module")
def good_bags(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bags")
    messages = stream_with_a_bad_view()
    bags = {}
    for storage in (StoragePlugin.SQLITE3, StoragePlugin.MCAP):
        write_bag(root / storage.name.lower(), messages, storage)
        bags[storage.name.lower()] = root / storage.name.lower()
    return bags


def _only_file(folder: Path, suffix: str) -> Path:
    return next(folder.glob(f"*{suffix}"))


def _cut(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _zero_mcap(root: Path, bags: dict[str, Path]) -> Path:
    (root / "zero.mcap").write_bytes(b"")
    return root / "zero.mcap"


def _garbage(root: Path, bags: dict[str, Path]) -> Path:
    (root / "garbage.mcap").write_bytes(b"not a bag at all " * 64)
    return root / "garbage.mcap"


def _empty_folder(root: Path, bags: dict[str, Path]) -> Path:
    (root / "empty").mkdir()
    return root / "empty"


def _copy_and(storage: str, damage: Callable[[Path], None]) -> Callable[[Path, dict[str, Path]], Path]:
    def make(root: Path, bags: dict[str, Path]) -> Path:
        bag = root / f"damaged_{storage}"
        shutil.copytree(bags[storage], bag)
        damage(bag)
        return bag
    return make


def _no_camera_topics(root: Path, bags: dict[str, Path]) -> Path:
    """A valid bag that recorded the topics but no message on them."""
    typestore = get_typestore(Stores.ROS2_KILTED)
    with Writer(root / "silent", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        for stream in TOPICS:
            writer.add_connection(TOPICS[stream], TYPES[stream], typestore=typestore)
    return root / "silent"


# case id -> (how to make the bad bag, what the one line must say besides the bag's path)
BAD_BAGS = {
    "empty mcap file": (_zero_mcap, ("cannot be read", "empty")),
    "not a bag": (_garbage, ("cannot be read", "magic")),
    "empty folder": (_empty_folder, ("cannot be read", "metadata")),
    "truncated mcap": (_copy_and("mcap", lambda b: _cut(_only_file(b, ".mcap"))), ("cannot be read",)),
    "truncated sqlite": (_copy_and("sqlite3", lambda b: _cut(_only_file(b, ".db3"))), ("cannot be read",)),
    "corrupt metadata": (_copy_and("sqlite3", lambda b: (b / "metadata.yaml").write_text("::: [")),
                         ("cannot be read", "metadata.yaml")),
    "missing bag": (lambda root, bags: root / "nothing_here", ("no bag at",)),
    "no messages": (_no_camera_topics, ("holds no messages",)),
}


@pytest.mark.parametrize("case", list(BAD_BAGS))
def test_an_unreadable_bag_is_one_line_and_writes_nothing(capsys, tmp_path: Path, good_bags, case: str):
    make, says = BAD_BAGS[case]
    bag = make(tmp_path, good_bags)
    out = tmp_path / "datasets"
    refused(capsys, "capture", "--from-bag", bag, "--out", out, *TOPIC_ARGS, names=(str(bag), *says))
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize(("topic_args", "says"), [
    (("--pose-topic", "/tf"), ("'/tf'", "not in bag")),
    (("--camera-info-topic", TOPICS["pose"], "--pose-topic", TOPICS["camera_info"]), ("has type", "needs one of")),
    (("--depth-topic", TOPICS["image"]), ("given for both",)),
])
def test_wrong_topics_are_one_line(capsys, tmp_path: Path, good_bags, topic_args, says):
    out = tmp_path / "datasets"
    refused(capsys, "capture", "--from-bag", good_bags["mcap"], "--out", out, *TOPIC_ARGS, *topic_args, names=says)
    assert not out.exists() or list(out.iterdir()) == []


def test_out_that_is_a_file_is_refused_before_reading(capsys, tmp_path: Path, good_bags):
    (tmp_path / "out").write_text("keep me")
    refused(capsys, "capture", "--from-bag", good_bags["mcap"], "--out", tmp_path / "out", *TOPIC_ARGS,
            names=(str(tmp_path / "out"), "is a file"))
    assert (tmp_path / "out").read_text() == "keep me"


def _bag_with_undecodable(path: Path, bad_depth: int, bad_stream: str = "depth") -> None:
    """The good stream, with the payload of the first ``bad_depth`` messages of ``bad_stream`` replaced by garbage."""
    typestore = get_typestore(Stores.ROS2_KILTED)
    seen = 0
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connections = {s: writer.add_connection(TOPICS[s], TYPES[s], typestore=typestore) for s in TOPICS}
        for index, (stream, msg) in enumerate(stream_with_a_bad_view()):
            raw = serialize_message(msg)
            if stream == bad_stream and seen < bad_depth:
                seen += 1
                raw = b"\x00\x01\x00\x00" + b"\xff" * 7  # a CDR header, then nothing an Image can be read from
            writer.write(connections[stream], 1_000 + index, raw)


def test_undecodable_messages_are_counted_and_reported(capsys, tmp_path: Path):
    _bag_with_undecodable(tmp_path / "bag", bad_depth=2)
    run = run_cli(capsys, "capture", "--from-bag", tmp_path / "bag", "--out", tmp_path / "datasets", *TOPIC_ARGS)
    assert run.code == 0, run.err
    dataset = load_dataset(Path(run.out.strip()))
    assert dataset.metadata["bag_undecodable"] == {TOPICS["depth"]: 2}
    summary = [line for line in run.err.splitlines() if line.startswith("imported")]
    assert len(summary) == 1 and f"2 messages could not be decoded ({TOPICS['depth']}: 2)" in summary[0]
    assert len(dataset.frames) == 3  # 5 views; views 0 and 1 have no decodable depth (1 also has the wrong frame)


def test_a_bag_of_only_undecodable_messages_says_so(capsys, tmp_path: Path):
    _bag_with_undecodable(tmp_path / "bag", bad_depth=5)
    out = tmp_path / "datasets"
    refused(capsys, "capture", "--from-bag", tmp_path / "bag", "--out", out, *TOPIC_ARGS,
            names=("no views kept", "5 messages could not be decoded"))
    assert not out.exists() or list(out.iterdir()) == []


def test_a_failed_import_leaves_earlier_datasets_alone(capsys, tmp_path: Path, good_bags):
    out = tmp_path / "datasets"
    run = run_cli(capsys, "capture", "--from-bag", good_bags["sqlite3"], "--out", out, *TOPIC_ARGS)
    assert run.code == 0
    before = snapshot(out)
    bag = _copy_and("mcap", lambda b: _cut(_only_file(b, ".mcap"), 0.9))(tmp_path, good_bags)
    refused(capsys, "capture", "--from-bag", bag, "--out", out, *TOPIC_ARGS, names=(str(bag),))
    assert snapshot(out) == before and partials(out) == []


# --- the same bags for calibration (calibrate --from-bag reads bags through the same wording) ----------------

def _deep_metadata(root: Path, bags: dict[str, Path]) -> Path:
    bag = _copy_and("mcap", lambda b: (b / "metadata.yaml").write_text("[" * 1200))(root, bags)
    return bag


CALIBRATION_TOPICS = ("--image-topic", TOPICS["image"], "--camera-info-topic", TOPICS["camera_info"],
                      "--tool-pose-topic", TOPICS["pose"])


@pytest.mark.parametrize("case", ["empty mcap file", "not a bag", "empty folder", "truncated mcap", "deep metadata"])
def test_calibrate_from_an_unreadable_bag_is_one_line(capsys, tmp_path: Path, good_bags, case: str):
    """Before 2026-12-02: "AnyReaderError: File magic is invalid. (unexpected ...)", a metadata.yaml nested
    too deeply a RecursionError (in capture's import too)."""
    make, _ = BAD_BAGS.get(case, (_deep_metadata, ()))
    bag = make(tmp_path, good_bags)
    run = refused(capsys, "calibrate", "--from-bag", bag, *CALIBRATION_TOPICS, "--keep-views", tmp_path / "views",
                  "--json", names=(f"bag {bag} cannot be read",))
    assert run.json()["success"] is False and not (tmp_path / "views").exists()
    if case == "deep metadata":
        refused(capsys, "capture", "--from-bag", bag, "--out", tmp_path / "datasets", *TOPIC_ARGS,
                names=(f"bag {bag} cannot be read", "RecursionError"))


def test_calibrate_counts_undecodable_images_as_rejected_views(capsys, tmp_path: Path):
    """One bad record ends neither a capture import nor a calibration (it ended calibrate with an 'unexpected'
    error): each undecodable image is a rejected view with its reason."""
    _bag_with_undecodable(tmp_path / "bag", 5, bad_stream="image")
    run = run_cli(capsys, "calibrate", "--from-bag", tmp_path / "bag", *CALIBRATION_TOPICS,
                  "--keep-views", tmp_path / "views", "--json")
    answer = run.json()
    assert run.code == 1 and not answer["success"] and "Traceback" not in run.err
    reasons = [r["reason"] for r in answer["rejected"]]
    assert len(reasons) == 5 and all(r.startswith("cannot decode the image") for r in reasons), reasons
