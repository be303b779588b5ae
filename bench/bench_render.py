#!/usr/bin/env python3
"""Time the simulator: a full scan of a built-in scene, view by view and as a written dataset.

    python bench/bench_render.py                       # tabletop, 48 views of 640x480, prints the figures
    python bench/bench_render.py --write-results       # also updates "Rendering (sim)" in bench/RESULTS.md

Times are wall-clock seconds. "first view" includes building the scene's ray-casting structure (cached after).
The load average is printed because the figure depends on what else the cores are doing.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dff_grasp_ros.synthetic import load_scene, render_dataset, render_view, scan_poses, scene_intrinsics

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "Rendering (sim)"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def replace_section(text: str, heading: str, body: str) -> str:
    """``text`` with the markdown section ``## heading`` replaced by ``body`` (appended if absent)."""
    lines = text.splitlines()
    title = f"## {heading}"
    new = [title, "", *body.rstrip().splitlines(), ""]
    if title not in lines:
        prefix = lines + [""] if lines and lines[-1].strip() else lines
        return "\n".join(prefix + new) + "\n"
    start = lines.index(title)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[:start] + new + lines[end:]) + "\n"


def run(scene_name: str, views: int | None) -> dict[str, float | int | str]:
    scene = load_scene(scene_name)
    intrinsics = scene_intrinsics(scene)
    poses = scan_poses(scene)[:views]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    render_view(scene, intrinsics, poses[0])
    first = time.perf_counter() - start
    per_view = []
    for pose in poses:
        start = time.perf_counter()
        render_view(scene, intrinsics, pose)
        per_view.append(time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        render_dataset(scene, Path(tmp))
        dataset_s = time.perf_counter() - start
    return {"scene": scene.name, "views": len(poses), "width": intrinsics.width, "height": intrinsics.height,
            "first_view_s": first, "scan_render_s": sum(per_view), "median_view_s": statistics.median(per_view),
            "dataset_s": dataset_s, "dataset_views": scene.scan.views, "load_avg_1min": load}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", default="tabletop")
    parser.add_argument("--views", type=int, default=None, help="render only the first N scan views (timing)")
    parser.add_argument("--write-results", action="store_true", help=f"update '{SECTION}' in {RESULTS}")
    args = parser.parse_args()
    r = run(args.scene, args.views)
    machine = f"{cpu_name()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
    body = (
        f"Measured {time.strftime('%Y-%m-%d')} on {machine}; 1-min load average {r['load_avg_1min']:.1f} at start "
        f"(other jobs shared the cores).\n"
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python bench/bench_render.py --scene {r['scene']}"
        f"{f' --views {args.views}' if args.views else ''} --write-results`\n\n"
        f"| scene | views | image | first view (builds the scene) | render all views | median per view | "
        f"render_dataset (PNGs + ground truth) |\n|---|---|---|---|---|---|---|\n"
        f"| {r['scene']} | {r['views']} | {r['width']}x{r['height']} | {r['first_view_s']:.2f} s | "
        f"{r['scan_render_s']:.1f} s | {r['median_view_s']:.2f} s | {r['dataset_s']:.1f} s "
        f"({r['dataset_views']} views) |\n"
    )
    print(body)
    if args.write_results:
        text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
        RESULTS.write_text(replace_section(text, SECTION, body))
        print(f"updated {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
