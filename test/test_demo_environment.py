"""The demo's environment: every run gets its own data folder, so no earlier field answers its queries."""
from pathlib import Path

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
