#!/usr/bin/env bash
# Prepare everything bench/gpu_check.py needs on a GPU machine whose image has torch (Python 3.12) but not
# this project's other dependencies, no open3d and no network. Run it here, from the repository root, after
# `make setup`; it fills two git-ignored folders, both to be carried to the GPU machine (about 62 MB with the
# tracked tree):
#   .whl/      Python 3.12 wheels of what the check imports and that image lacks, at this lock's versions
#   .gpu_scan/ the scan rendered here (open3d) with the judge's ground truth, and dff_grasp_ros's entry points
#              (the synthetic teacher is a plugin found through them)
# Then, there:
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && cp -r .gpu_scan/site/* /tmp/site/
#   PYTHONPATH=/tmp/site:$PWD python3 bench/gpu_check.py --scene .gpu_scan/tabletop --json OUT.json
set -euo pipefail
SCENE=${1:-tabletop}
PY=.venv/bin/python
# torch, numpy, opencv, timm, transformers, scipy, ... are on the GPU image; these are not.
PACKAGES="nerfstudio nerfacc gsplat tyro docstring_parser typeguard msgspec lz4 rawpy pyquaternion pytorch-msssim
splines tensorly dill appdirs viser websockets open_clip_torch ftfy wcwidth"
pins=()
for name in $PACKAGES; do
  pins+=("$name==$($PY -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")")
done
mkdir -p .whl
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${pins[@]}"
rm -rf ".gpu_scan/$SCENE"
$PY bench/gpu_check.py --prepare .gpu_scan --scene "$SCENE"
rm -rf .gpu_scan/site
$PY - <<'PY'
import importlib.metadata
from pathlib import Path

dist = importlib.metadata.distribution("dff_grasp_ros")
info = Path(".gpu_scan/site") / f"dff_grasp_ros-{dist.version}.dist-info"
info.mkdir(parents=True)
for name in ("METADATA", "entry_points.txt"):
    (info / name).write_text(dist.read_text(name))
PY
du -sh .whl .gpu_scan
