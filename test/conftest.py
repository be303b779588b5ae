"""Test-wide hygiene: a private ROS domain per test process, localhost-only discovery, no network, no leftovers."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_DOMAIN_LOCKS: list = []  # held open: a claimed domain stays claimed as long as its handle is open


def _claim_domain_id() -> int:
    """A ROS_DOMAIN_ID no other test process on this machine holds (file locks die with their process)."""
    lock_dir = Path("/tmp/dff_grasp_test_domains")
    lock_dir.mkdir(exist_ok=True)
    for domain in range(10 + os.getpid() % 50, 10 + os.getpid() % 50 + 100):
        domain = 10 + domain % 100  # valid ids 10..109 keep clear of the default 0 and of ROS's upper limit
        handle = open(lock_dir / f"{domain}.lock", "w")  # noqa: SIM115 - held open: the lock lives as long as the process
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _DOMAIN_LOCKS.append(handle)
        return domain
    raise RuntimeError("no free ROS_DOMAIN_ID for this test process")


@pytest.fixture
def another_domain_id() -> int:
    """A second ROS_DOMAIN_ID that no test process holds, claimed for this test: a node made there can reach no
    other worker's nodes (the next id after this process's own is usually the other worker's: their pids are
    adjacent)."""
    domain = _claim_domain_id()
    yield domain
    handle = _DOMAIN_LOCKS.pop()
    handle.close()


def _shm_files() -> set[str]:
    shm = Path("/dev/shm")
    return {p.name for p in shm.iterdir() if "fastdds" in p.name or "fastrtps" in p.name or "datasharing" in p.name} \
        if shm.is_dir() else set()


_SHM_AT_START: set[str] = set()


def pytest_configure(config: pytest.Config) -> None:
    global _SHM_AT_START
    os.environ["ROS_DOMAIN_ID"] = str(_claim_domain_id())
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    _SHM_AT_START = _shm_files()


def shm_files_in_use(ignore_pid: int | None = None) -> set[str]:
    """Names of /dev/shm files some live process (other than ``ignore_pid``) has mapped."""
    in_use: set[str] = set()
    for maps in Path("/proc").glob("[0-9]*/maps"):
        if maps.parent.name == str(ignore_pid):
            continue
        try:
            in_use.update(line.split()[-1].removeprefix("/dev/shm/") for line in maps.read_text().splitlines()
                          if "/dev/shm/" in line)
        except OSError:
            continue
    return in_use


def shm_owner(name: str) -> str:
    """The shared-memory segment a Fast DDS file belongs to: a port's lock files (``fastdds_port7003_el``) and
    semaphore (``sem.fastdds_port7003_mutex``) belong to its segment (``fastdds_port7003``)."""
    base = name.removeprefix("sem.")
    for suffix in ("_mutex", "_el", "_sl"):
        base = base.removesuffix(suffix)
    return base


def orphan_shm_files(files: set[str], keep: set[str], in_use: set[str]) -> list[str]:
    """Of ``files``, those not in ``keep`` whose segment no live process has mapped.

    A port's lock files are never mapped, only locked: deleting those of a live participant made the next process
    that wrote to the port take it for a dead one's and recreate it, and the live listener heard nothing more (a
    test run's cleanup silenced a demo's trainer mid-training this way, and a test process its own pooled nodes).
    """
    owners_in_use = {shm_owner(name) for name in in_use}
    return sorted(name for name in files - keep if shm_owner(name) not in owners_in_use)


def remove_orphan_shm_files(keep: set[str], ignore_pid: int | None = None) -> list[str]:
    """Delete Fast DDS files in /dev/shm that are not in ``keep`` and belong to no live participant.

    Fast DDS leaves port locks and segments behind when a participant's process dies without shutting down
    (the trainer test kills one with SIGKILL on purpose); ``fastdds shm clean`` removes only some of them.
    """
    orphans = orphan_shm_files(_shm_files(), keep, shm_files_in_use(ignore_pid))
    for name in orphans:
        (Path("/dev/shm") / name).unlink(missing_ok=True)
    return orphans


def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave /dev/shm as this run found it: files of dead test processes, and this process's own (its ROS
    contexts are shut down; unlinking a mapped file is safe, the mapping lives until exit)."""
    remove_orphan_shm_files(_SHM_AT_START, ignore_pid=os.getpid())


@pytest.fixture
def ros_env(tmp_path: Path) -> dict[str, str]:
    """Environment for ROS child processes of a test: same private domain, data under tmp_path."""
    return {"ROS_DOMAIN_ID": os.environ["ROS_DOMAIN_ID"], "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
            "HF_HUB_OFFLINE": "1", "DFF_GRASP_HOME": str(tmp_path / "dff_home")}


def files_with_ros_tests() -> set[str]:
    """Test files (as node ids spell them) holding a test marked ``ros``, read from their source: xdist's
    controller schedules before any worker has collected a test, so it cannot ask the markers."""
    return {f"test/{path.name}" for path in sorted((REPO / "test").glob("test_*.py"))
            if "pytest.mark.ros" in path.read_text()}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the scheduler's file list honest: a ``ros`` test outside it would run beside another ROS test."""
    scheduled = files_with_ros_tests()
    unscheduled = sorted({item.nodeid.split("::")[0] for item in items if item.get_closest_marker("ros")}
                         - scheduled)
    if unscheduled:
        raise pytest.UsageError(f"tests marked ros in {unscheduled}, which files_with_ros_tests() does not list")


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``make test`` runs two pytest-xdist workers. Every file whose tests start ROS nodes goes to one worker,
    one test at a time as in a serial run (two such tests at once overload the node processes on 2 cores);
    every other file goes whole to one worker, so its module fixtures are built once."""
    from xdist.scheduler import LoadScopeScheduling

    if config.getvalue("dist") != "load":  # the default of -n; an explicit --dist keeps its own meaning
        return None
    ros_files = files_with_ros_tests()

    class RosFilesTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "ros tests" if path in ros_files else path

    return RosFilesTogether(config, log)
