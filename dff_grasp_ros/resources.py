"""What this machine has free now (memory, disk): the pre-flights of renders and training compare their needs
with it, so that a job too big for the machine is one line before any work, not an out-of-memory kill. And how
many CPU threads a process computes with (:func:`limit_cpu_threads`)."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from dff_grasp_ros.errors import InputError

# Device nodes through which a process reaches a GPU: NVIDIA's driver, WSL2's, AMD's (ROCm builds of torch).
GPU_DEVICE_NODES = ("/dev/nvidiactl", "/dev/dxg", "/dev/kfd")
# Use at most this share of the memory available now: the estimates are estimates, and others run on the machine.
MEMORY_HEADROOM = 0.8


def available_memory_bytes() -> int:
    """MemAvailable of /proc/meminfo (what can be allocated without swapping), else the free physical pages."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def gpu_device_present() -> bool:
    """Whether this machine lets a process reach a GPU at all (one of :data:`GPU_DEVICE_NODES` exists; elsewhere
    than on Linux: assumed). Without one torch sees no GPU, and asking it means importing it (~3 s of CPU)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.path.exists(node) for node in GPU_DEVICE_NODES)


def free_disk_bytes(path: Path) -> int:
    """Free bytes on the filesystem that holds ``path`` (or its nearest existing parent)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def readable_bytes(count: float) -> str:
    """``count`` bytes for a message: GB, MB or kB."""
    if count >= 1e8:
        return f"{count / 1e9:.1f} GB"
    return f"{count / 1e6:.1f} MB" if count >= 1e5 else f"{count / 1e3:.0f} kB"


def require_memory(need_bytes: int, job: str, advice: str) -> int:
    """Refuse (InputError, one line) a ``job`` ("<what> needs") whose ``need_bytes`` exceed ``MEMORY_HEADROOM`` of
    the memory available now, with ``advice`` on how to ask for less; ``need_bytes`` otherwise."""
    memory = available_memory_bytes()
    if need_bytes > MEMORY_HEADROOM * memory:
        raise InputError(f"{job} needs about {readable_bytes(need_bytes)} of memory, {readable_bytes(memory)} is "
                         f"available; {advice}")
    return need_bytes


def limit_cpu_threads(threads: int) -> int:
    """Compute on at most ``threads`` threads in this process: numpy's and scipy's BLAS, OpenMP and torch, if
    loaded (0: the libraries' own counts). Returns the most threads any of them now uses.

    Multi-threaded BLAS waits for its threads at every call: with another busy process on the two cores, queries on
    a trained tabletop field took p50 168-190 ms with the libraries' two threads, 69-82 ms with one (2026-12-03)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    torch = sys.modules.get("torch")
    if threads > 0:
        threadpool_limits(limits=threads)  # called, not entered: the limits stay for the process
        if torch is not None:
            torch.set_num_threads(threads)
    counts = [int(pool["num_threads"]) for pool in threadpool_info()]
    if torch is not None:
        counts.append(torch.get_num_threads())
    return max(counts, default=1)
