"""bench/gpu_check.py runs wherever a GPU is lent; its non-GPU parts are checked here on the CPU."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from field_fixtures import ground_truth_field

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import gpu_check


def test_without_cuda_it_says_so_and_exits_2(capsys, monkeypatch):
    monkeypatch.setattr(gpu_check.torch.cuda, "is_available", lambda: False)
    assert gpu_check.main(["--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_query_latency_is_timed_and_judged_on_a_field(tmp_path):
    field = ground_truth_field(tmp_path / "fields", scene="tiny")
    query = gpu_check.query_latency(field, "tiny", "cpu", repeats=1)
    assert 0 < query["query_p50_s"] <= query["query_p95_s"]
    assert query["part_prompts_passed"] == "2/2" and query["absent_refused"] is True


def test_a_prepared_scan_carries_the_judges_truth_to_a_machine_without_open3d(tmp_path, monkeypatch):
    assert gpu_check.main(["--prepare", str(tmp_path / "scan"), "--scene", "tiny"]) == 0
    dataset = tmp_path / "scan" / "tiny"
    assert (dataset / "transforms.json").is_file() and (dataset / gpu_check.EVALUATION_TRUTH_FILE).is_file()
    field = ground_truth_field(tmp_path / "fields", scene="tiny")
    monkeypatch.setitem(sys.modules, "open3d", None)  # as on the GPU image: importing it fails
    monkeypatch.setattr(gpu_check, "ground_truth", lambda *a, **k: pytest.fail("the truth was computed again"))
    query = gpu_check.query_latency(field, "tiny", "cpu", repeats=1, dataset_dir=dataset)
    assert query["part_prompts_passed"] == "2/2" and query["absent_refused"] is True


def test_the_table_states_the_targets_and_which_run_was_ready():
    env = {"device_name": "NVIDIA H200", "torch": "2.14.1", "date": "2026-12-01", "command": "python x"}
    teachers = {"clip_features_s": 0.05, "dino_features_s": 0.1, "teacher_views": 48}
    fits = [{"steps": s, "fit_total_s": t, "setup_s": 1.0, "train_s": t - 2, "export_s": 1.0, "peak_gpu_mem_gib": 3.2,
             "heldout_language_cosine": c, "heldout_median_depth_error_mm": 4.0, "grasp_ready": c >= 0.9}
            for s, t, c in ((300, 6.0, 0.85), (600, 11.0, 0.93))]
    query = {"query_p50_s": 0.02, "query_p95_s": 0.04, "part_prompts_passed": "14/14", "absent_refused": True}
    table = gpu_check.markdown(env, teachers, fits, query, fits[1])
    assert "| 600 | 11.0 (1.0 / 9.0 / 1.0) | 3.2 | 0.93 | 4.0 | yes |" in table
    assert "Time to grasp-ready: 11.2 s (target <= 15 s)" in table and "p50 20.0 ms" in table
    assert "No run reached grasp-ready" in gpu_check.markdown(env, teachers, fits[:1], query, None)


@pytest.mark.slow
def test_teacher_forward_passes_are_timed_on_the_scan(tmp_path):
    split = gpu_check.prepare_split("tiny", tmp_path, holdout_every=12)
    assert split.holdout and split.train_dir.is_dir() and len(split.teacher_maps) == len(split.full.frames)
    seconds = gpu_check.teacher_seconds(split, "cpu", views=2)
    assert seconds["teacher_views"] == 2 and seconds["clip_features_s"] > 0 and seconds["dino_features_s"] > 0
