"""`ns-train dff-tiny` runs through nerfstudio's own CLI and Trainer, offline, on CPU."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dff_grasp_ros.synthetic import render_dataset


def test_ns_train_dff_tiny_runs_offline(tmp_path):
    dataset = render_dataset("tiny", tmp_path / "datasets", name="tiny")
    torch_home = tmp_path / "torch_home"
    torch_home.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TORCH_HOME": str(torch_home), "OMP_NUM_THREADS": "1"}
    env.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)
    ns_train = Path(sys.executable).parent / "ns-train"
    result = subprocess.run(
        [str(ns_train), "dff-tiny", "--data", str(dataset), "--output-dir", str(tmp_path / "runs"),
         "--vis", "tensorboard", "--max-num-iterations", "4", "--machine.device-type", "cpu",
         "--pipeline.datamanager.language-teacher", "synthetic",
         "--pipeline.datamanager.dino-teacher", "synthetic_dino"],
        env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    checkpoints = list((tmp_path / "runs").rglob("step-*.ckpt"))
    assert len(checkpoints) == 1, "nerfstudio's Trainer saves a checkpoint at the end of training"
    assert list(torch_home.rglob("*")) == [], "nothing may be downloaded (LPIPS/AlexNet weights)"
