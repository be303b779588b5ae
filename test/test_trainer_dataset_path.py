"""Where the trainer looks for a goal's dataset: a name lies under its datasets_dir, and the client sends a local
folder as an absolute path. Apart from the ROS file of bad inputs (test_bad_inputs_ros_more.py): importing the
trainer node imports nerfstudio, seconds that file's nodes do not need."""
from __future__ import annotations

from pathlib import Path

import pytest


def test_a_training_goal_naming_a_dataset_finds_it_under_datasets_dir(tmp_path: Path, monkeypatch):
    """The capture answers with the dataset's path and logs its name; a goal with the name (`ros2 action send_goal
    /train_field ... "{dataset_path: scan_...}"`) was looked for in the trainer's working directory ("does not
    exist"), and `dff-grasp train --dataset datasets/scan_...` from a shell in another folder than the node's too."""
    from dff_grasp_ros import clients
    from dff_grasp_ros.dataset import TRANSFORMS
    from dff_grasp_ros.nodes.trainer import resolve_dataset

    datasets = tmp_path / "datasets"
    (datasets / "scan_a").mkdir(parents=True)
    (datasets / "scan_a" / TRANSFORMS).write_text("{}")
    assert resolve_dataset("scan_a", str(datasets)) == datasets / "scan_a"
    with pytest.raises(FileNotFoundError, match=f"dataset {datasets / 'scan_b'} does not exist"):
        resolve_dataset("scan_b", str(datasets))
    sent = []
    monkeypatch.setattr(clients, "run_action", lambda action, name, goal, **kwargs: sent.append(goal))
    monkeypatch.chdir(tmp_path)
    clients.train_field(dataset_path="datasets/scan_a", quiet=True)  # a folder here: sent as this shell means it
    clients.train_field(dataset_path="scan_a", quiet=True)  # not here: a name for the trainer to resolve
    assert [goal.dataset_path for goal in sent] == [str(datasets / "scan_a"), "scan_a"]


def test_a_cancelled_first_training_does_not_claim_a_previous_field(tmp_path: Path):
    """The bad-input hunt cancelled the very first training and was told "the previous field is still served"."""
    from dff_grasp_ros.nodes.trainer import stopped_message
    from dff_grasp_ros.scene_cloud import FIELD_META, SCENE_CLOUD

    assert stopped_message(tmp_path / "fields", cancelled=True) == (
        "training cancelled; nothing was written, no field exists yet")
    field = tmp_path / "fields" / "field_scan_a"
    field.mkdir(parents=True)
    (field / FIELD_META).write_text("{}")
    (field / SCENE_CLOUD).write_bytes(b"")
    assert stopped_message(tmp_path / "fields", cancelled=False) == (
        "training stopped: the trainer is shutting down; nothing was written, the field trained before "
        "(field_scan_a) is still the newest")
