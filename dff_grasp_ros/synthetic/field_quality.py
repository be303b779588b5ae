"""Held-out evaluation of a trained field against its teacher and the dataset's depth (tests, benchmarks)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from dff_grasp_ros.dataset import Dataset, DatasetWriter
from dff_grasp_ros.field.rendering import TrainedField, render_view

# A field is "grasp-ready" when held-out views agree with the teacher and the depth camera this well.
MIN_LANGUAGE_COSINE = 0.9
MAX_MEDIAN_DEPTH_ERROR_M = 0.01


def holdout_indices(num_views: int, every: int) -> list[int]:
    """Every ``every``-th view, starting mid-stride so that held-out views sit between training views."""
    return [i for i in range(num_views) if i % every == every // 2]


def copy_views(source: Dataset, indices: Sequence[int], root: Path, name: str) -> Path:
    """A new dataset with only some views of ``source``; extra images (labels) and metadata come along."""
    from PIL import Image

    carried = {k: v for k, v in source.metadata.items()
               if k not in ("base_frame", "pose_source", "created_unix_s", "num_views")}
    with DatasetWriter(root, name, source.intrinsics, base_frame=source.base_frame,
                       pose_source=source.pose_source, metadata=carried) as writer:
        for i in indices:
            frame = source.frames[i]
            extra = {key[:-len("_path")]: np.asarray(Image.open(source.root / path))
                     for key, path in frame.extra.items()}
            writer.add_view(source.load_rgb(frame), source.load_depth_m(frame), frame.camera_to_base,
                            frame.stamp_ns, extra_images=extra)
        return writer.commit()


def pool_to_grid(features: np.ndarray, grid_hw: tuple[int, int]) -> np.ndarray:
    """Average (H, W, D) features over a teacher's patch cells, then unit-normalise: (h, w, D)."""
    pooled = torch.nn.functional.adaptive_avg_pool2d(torch.as_tensor(features).permute(2, 0, 1), grid_hw)
    return torch.nn.functional.normalize(pooled.permute(1, 2, 0), dim=-1).numpy()


def held_out_quality(field: TrainedField, dataset: Dataset, indices: Sequence[int],
                     teacher_maps: np.ndarray) -> dict[str, float]:
    """Mean language cosine to ``teacher_maps`` (N, h, w, D) and median |depth error| at the given views."""
    cosines, depth_errors_m = [], []
    for index in indices:
        frame = dataset.frames[index]
        view = render_view(field, dataset.intrinsics, frame.camera_to_base)
        rendered = pool_to_grid(view["language"], teacher_maps.shape[1:3])
        cosines.append(np.sum(rendered * teacher_maps[index], axis=-1).ravel())
        truth_m = dataset.load_depth_m(frame)
        if truth_m is not None:
            valid = np.isfinite(truth_m)
            depth_errors_m.append(np.abs(view["depth_m"][valid] - truth_m[valid]))
    return {
        "language_cosine": float(np.mean(np.concatenate(cosines))),
        "median_depth_error_m": float(np.median(np.concatenate(depth_errors_m))) if depth_errors_m else float("nan"),
    }


def is_grasp_ready(quality: dict[str, float]) -> bool:
    return (quality["language_cosine"] >= MIN_LANGUAGE_COSINE
            and quality["median_depth_error_m"] <= MAX_MEDIAN_DEPTH_ERROR_M)
