"""The test run's /dev/shm cleanup removes what dead DDS participants left, never a live participant's files:
deleting a live port's lock file silenced the participant (a demo's trainer stopped reaching its client)."""
from conftest import orphan_shm_files, shm_owner


def test_a_port_and_its_lock_files_belong_together():
    assert {shm_owner(n) for n in ("fastdds_port7003", "fastdds_port7003_el", "fastdds_port7003_sl",
                                   "sem.fastdds_port7003_mutex")} == {"fastdds_port7003"}


def test_the_lock_files_of_a_live_port_are_kept_and_a_dead_ports_removed():
    files = {"fastdds_port7003", "fastdds_port7003_el", "sem.fastdds_port7003_mutex",  # live: segment mapped
             "fastdds_port7005", "fastdds_port7005_el", "sem.fastdds_port7005_mutex",  # dead: mapped by nobody
             "fastdds_port7007_el"}  # there before the run
    orphans = orphan_shm_files(files, keep={"fastdds_port7007_el"}, in_use={"fastdds_port7003"})
    assert orphans == ["fastdds_port7005", "fastdds_port7005_el", "sem.fastdds_port7005_mutex"]
