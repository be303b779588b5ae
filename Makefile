# The README's two commands. Each sets up .venv itself (idempotent; see tools/setup_env.py).
PYTHON ?= python3
OUT ?= out/demo

.PHONY: demo test setup
setup:
	$(PYTHON) tools/setup_env.py

demo: setup
	.venv/bin/dff-grasp demo --out $(OUT)

test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest
