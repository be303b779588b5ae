"""Proof of the pose/depth conventions with nerfstudio's own code, for any dataset of a simulated scene.

nerfstudio reads the dataset, re-orients and rescales it (its dataparser), and generates rays; each ray is
marched to the stored depth and mapped back to base_link. If poses, intrinsics, the depth unit and z-depth
are all what nerfstudio expects, every such point lies on the scene's true surface. Works the same on a
``dff-grasp sim render`` dataset and on one captured over ROS from the sim camera.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from dff_grasp_ros.dataset import load_dataset, png_units_to_depth_m
from dff_grasp_ros.synthetic.catalog import load_scene
from dff_grasp_ros.synthetic.spec import Scene
from dff_grasp_ros.synthetic.world import world_of


def ray_errors_m(dataset_dir: Path, scene: Scene | str | dict[str, Any] | None = None, n_pixels: int = 64,
                 seed: int = 0) -> np.ndarray:
    """Distances (m) from the scene's surfaces of depth-marched nerfstudio rays, ``n_pixels`` random pixels
    with depth per view. ``scene`` defaults to the one recorded in the dataset's transforms.json.

    A correct dataset gives errors below ~1 mm (depth PNGs hold whole millimetres).
    """
    import torch
    from nerfstudio.data.dataparsers.nerfstudio_dataparser import NerfstudioDataParserConfig
    from PIL import Image

    dataset_dir = Path(dataset_dir)
    if scene is None:
        scene = load_dataset(dataset_dir).metadata.get("scene")
        if scene is None:
            raise ValueError(f"{dataset_dir}: transforms.json records no scene; pass scene= explicitly")
    world = world_of(load_scene(scene))
    outputs = NerfstudioDataParserConfig(data=dataset_dir, eval_mode="all").setup().get_dataparser_outputs("train")
    depth_files = outputs.metadata.get("depth_filenames")
    if not depth_files:
        raise ValueError(f"{dataset_dir}: nerfstudio found no depth images (depth_file_path) in transforms.json")
    cameras = outputs.cameras
    to_nerfstudio = outputs.dataparser_transform.double().numpy()  # (3, 4): base -> oriented, before scaling
    scale = float(outputs.dataparser_scale)
    rng = np.random.default_rng(seed)
    errors = []
    for index, depth_file in enumerate(depth_files):
        depth_m = png_units_to_depth_m(np.asarray(Image.open(depth_file)))
        rows, cols = np.nonzero(np.isfinite(depth_m))
        if len(rows) == 0:
            continue
        pick = rng.choice(len(rows), size=min(n_pixels, len(rows)), replace=False)
        rows, cols = rows[pick], cols[pick]
        coords = cameras.get_image_coords(index=index)[torch.from_numpy(rows), torch.from_numpy(cols)]
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # nerfstudio's own list-indexing deprecation notes
            rays = cameras.generate_rays(camera_indices=index, coords=coords)
        # z-depth -> distance along the unit ray: times |direction| of the camera-frame ray whose z is 1.
        distance = depth_m[rows, cols] * scale * rays.metadata["directions_norm"][:, 0].double().numpy()
        points = rays.origins.double().numpy() + rays.directions.double().numpy() * distance[:, None]
        points_base = (points / scale - to_nerfstudio[:, 3]) @ to_nerfstudio[:, :3]  # inverse of R p + t
        errors.append(world.distance_to_surface_m(points_base))
    if not errors:
        raise ValueError(f"{dataset_dir}: no pixel of any view has depth")
    return np.concatenate(errors)
