"""`dff-grasp calibrate` refuses a flag its source does not use, naming it, before any work.

Before 2026-12-04 such flags were ignored without a word: `calibrate --live --square-length-m 0.03` calibrated
with the hand_eye node's own board size (a wrong square size scales the camera's offset from the tool), and
`--views DIR --keep-views K` wrote no K."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from bad_inputs import refused

import dff_grasp_ros.clients as clients


def _never_sent(*args, **kwargs):
    raise AssertionError("the goal was sent")


@pytest.mark.parametrize(("flags", "says"), [
    (["--square-length-m", "0.03"], ("--square-length-m", "--live", "board_square_length_m")),
    (["--min-views", "4"], ("--min-views", "--live", "min_views")),
    (["--camera-frame", "cam"], ("--camera-frame", "--live", "camera_frame")),
    (["--sim-views", "5"], ("--sim-views", "--live")),
    (["--keep-views", "kept"], ("--keep-views", "--live")),
])
def test_live_refuses_an_offline_flag_before_sending(capsys, monkeypatch, flags, says):
    monkeypatch.setattr(clients, "run_action", _never_sent)
    refused(capsys, "calibrate", "--live", *flags, names=says)


def test_live_sends_the_flags_it_uses(capsys, monkeypatch, tmp_path: Path):
    sent = []

    def calibrate(num_views, timeout_s, output_path, quiet=False):
        sent.append((num_views, timeout_s, output_path))
        raise clients.RosCallError("no hand_eye node")

    monkeypatch.setattr(clients, "calibrate_hand_eye", calibrate)
    refused(capsys, "calibrate", "--live", "--num-views", "12", "--timeout", "30", "--out", tmp_path / "r.yaml",
            names=("no hand_eye node",))
    assert sent == [(12, 30.0, str(tmp_path / "r.yaml"))]


@pytest.mark.parametrize(("source", "flags", "says"), [
    (["--views", "{tmp}/views"], ["--num-views", "5"], ("--num-views", "--views")),
    (["--views", "{tmp}/views"], ["--keep-views", "{tmp}/kept"], ("--keep-views", "--views")),
    (["--views", "{tmp}/views"], ["--sim-noise-mm", "2"], ("--sim-noise-mm", "--views")),
    (["--from-bag", "{tmp}/bag"], ["--timeout", "10"], ("--timeout", "--from-bag")),
    (["--write-board", "{tmp}/board.png"], ["--out", "{tmp}/r.yaml"], ("--out", "--write-board")),
    (["--write-board", "{tmp}/board.png"], ["--min-corners", "11"], ("--min-corners", "--write-board")),
    (["--sim"], ["--still-time", "2"], ("--still-time", "--sim")),
])
def test_an_offline_source_refuses_a_flag_it_does_not_use(capsys, tmp_path: Path, source, flags, says):
    argv = [a.format(tmp=tmp_path) for a in [*source, *flags]]
    refused(capsys, "calibrate", *argv, names=says)
    assert not (tmp_path / "board.png").exists() and not (tmp_path / "kept").exists()


def test_sim_renders_the_board_its_flags_describe(capsys):
    """Before 2026-12-04 `--sim` rendered the default 40 mm board and detected it as the flags' 30 mm one: the
    result was "poor", 110 mm off the true mount."""
    from dff_grasp_ros.cli import main

    code = main(["calibrate", "--sim", "--sim-views", "12", "--square-length-m", "0.03", "--marker-length-m",
                 "0.022", "--json"])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and answer["success"], answer["message"]
    assert answer["board"]["square_length_m"] == 0.03
    assert answer["error_to_truth"]["translation_mm"] < 1.0
