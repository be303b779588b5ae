# The README's two commands. Each sets up .venv itself (idempotent; see tools/setup_env.py).
PYTHON ?= python3
# Let Python cache compiled modules in .venv (set-up installs with --no-compile): with PYTHONDONTWRITEBYTECODE set,
# as in some container images, every process compiled torch, nerfstudio, ... from source again (`import torch`
# 8.6 s instead of ~2 s; `make test` took 14.5 min instead of ~7).
unexport PYTHONDONTWRITEBYTECODE
OUT ?= out/demo

.PHONY: demo test setup
setup:
	$(PYTHON) tools/setup_env.py

demo: setup
	.venv/bin/dff-grasp demo --out $(OUT)

# Two pytest-xdist workers (at most the cores there are), one OpenMP thread each: 6 min instead of 10.5 on 2 cores.
# test/conftest.py keeps every test that starts ROS nodes on one worker, one at a time, and each file whole.
test: setup
	.venv/bin/ruff check .
	OMP_NUM_THREADS=1 .venv/bin/python -m pytest -n auto --maxprocesses 2
