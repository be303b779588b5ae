"""The demo's environment: every run gets its own data folder, so no earlier field answers its queries."""
from pathlib import Path

import pytest

from dff_grasp_ros.demo import demo_environment, demo_plan


def test_each_demo_run_has_its_own_data_folder(tmp_path: Path):
    first, second = demo_environment(tmp_path), demo_environment(tmp_path)
    assert first["DFF_GRASP_HOME"] != second["DFF_GRASP_HOME"]
    for env in (first, second):
        home = Path(env["DFF_GRASP_HOME"])
        assert home.is_dir() and home.parent == tmp_path / "data" and not any(home.iterdir())
    assert first["ROS_AUTOMATIC_DISCOVERY_RANGE"] and first["ROS_DOMAIN_ID"].isdigit()


def test_the_demos_trainer_chooses_its_threads_as_it_trains():
    """The demo's trainer left a core to the other nodes (cpu_threads cores - 1) even when they were idle; it now
    probes (``field.cpu_threads``): two threads on free cores, one while another process is busy (issue 15)."""
    trainer = demo_plan("tabletop", "cpu", "dff-tiny")["trainer"]
    assert "cpu_threads:=0" in trainer and "method:=dff-tiny" in trainer


def test_the_demo_asks_torch_about_a_gpu_only_where_one_could_be(monkeypatch):
    """Importing torch to learn that a machine without any GPU device has no GPU held the demo's nodes back ~3 s
    (issue 15); where a GPU device exists, torch decides."""
    import torch

    from dff_grasp_ros import demo, resources

    def asked() -> bool:
        raise AssertionError("torch was asked")

    monkeypatch.setattr(torch.cuda, "is_available", asked)
    monkeypatch.setattr(resources, "GPU_DEVICE_NODES", ("/nonexistent/nvidiactl",))
    assert demo._pick_method("auto", None, None) == ("cpu", "dff-tiny")
    assert demo._pick_method("cpu", "dff", None) == ("cpu", "dff")
    monkeypatch.setattr(resources, "GPU_DEVICE_NODES", ("/dev/null",))  # a device node exists: torch is asked
    with pytest.raises(AssertionError, match="torch was asked"):
        demo._pick_method("auto", None, None)
