"""The query node computes on one thread: numpy's BLAS with two threads took a query on a trained tabletop field
from p50 69-82 ms to 168-190 ms while another process kept a core busy (issue 15)."""
import json
import os
import subprocess
import sys

PROBE = """
import json, sys
import numpy, torch
from threadpoolctl import threadpool_info
from dff_grasp_ros.resources import limit_cpu_threads
before = [p["num_threads"] for p in threadpool_info()] + [torch.get_num_threads()]
most = limit_cpu_threads(int(sys.argv[1]))
after = [p["num_threads"] for p in threadpool_info()] + [torch.get_num_threads()]
print(json.dumps({"before": before, "after": after, "most": most}))
"""


def probe(threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", PROBE, str(threads)], env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_pool_of_the_process_computes_on_the_threads_given():
    limited = probe(1)
    assert max(limited["before"]) == 2, limited  # BLAS and torch started on two threads
    assert set(limited["after"]) == {1} and limited["most"] == 1


def test_zero_leaves_the_libraries_their_threads():
    kept = probe(0)
    assert kept["after"] == kept["before"] and kept["most"] == 2
