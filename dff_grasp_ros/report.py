"""Pictures and files a person looks at: relevancy heat map + gripper over a camera view, PLY clouds."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.field.fusion import project_points

# Edges of a box given its 8 corners ordered by (x, y, z) bits.
_BOX_EDGES = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7)]


def heat_colours(values: np.ndarray) -> np.ndarray:
    """(N,) values in [0, 1] -> (N, 3) uint8 turbo colours."""
    from matplotlib import colormaps

    return (colormaps["turbo"](np.clip(values, 0, 1))[:, :3] * 255).astype(np.uint8)


def box_corners(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    return np.array([[(lower, upper)[bx][0], (lower, upper)[by][1], (lower, upper)[bz][2]]
                     for bx in (0, 1) for by in (0, 1) for bz in (0, 1)])


def draw_query_png(path: Path, rgb: np.ndarray, intrinsics: CameraIntrinsics, camera_to_base: np.ndarray,
                   points_m: np.ndarray, relevancy: np.ndarray, *, title: str,
                   tcp_to_base: np.ndarray | None = None, gripper_boxes: dict | None = None,
                   min_relevancy: float = 0.3) -> None:
    """Camera image with the relevant points as a heat map and the gripper's boxes as wire frames."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height, width = rgb.shape[:2]
    fig = plt.figure(figsize=(width / 100, height / 100 + 0.4), dpi=100)
    ax = fig.add_axes([0, 0, 1, height / (height + 40)])
    ax.imshow(rgb)
    pixels, depth = project_points(points_m, intrinsics, camera_to_base)
    shown = (depth > 0) & (relevancy >= min_relevancy)
    order = np.argsort(relevancy[shown])
    ax.scatter(pixels[shown][order, 0], pixels[shown][order, 1], s=3, c=heat_colours(relevancy[shown][order]) / 255,
               alpha=0.6, linewidths=0)
    if tcp_to_base is not None and gripper_boxes:
        for name, (lower, upper) in gripper_boxes.items():
            if name == "closing":
                continue
            corners = box_corners(np.asarray(lower), np.asarray(upper)) @ tcp_to_base[:3, :3].T + tcp_to_base[:3, 3]
            uv, z = project_points(corners, intrinsics, camera_to_base)
            if np.any(z <= 0):
                continue
            for a, b in _BOX_EDGES:
                ax.plot(uv[[a, b], 0], uv[[a, b], 1], color="lime", linewidth=1.5)
        centre, _ = project_points(tcp_to_base[None, :3, 3], intrinsics, camera_to_base)
        ax.plot(centre[0, 0], centre[0, 1], marker="+", color="white", markersize=10)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    fig.text(0.01, 0.99, title, va="top", fontsize=10)
    fig.savefig(path)
    plt.close(fig)


def write_ply(path: Path, points_m: np.ndarray, rgb: np.ndarray) -> None:
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points_m, dtype=np.float64)))
    cloud.colors = o3d.utility.Vector3dVector(np.asarray(rgb, dtype=np.float64) / 255.0)
    if not o3d.io.write_point_cloud(str(path), cloud):
        raise OSError(f"could not write {path}")
