"""Synthetic scenes and their renderer: the test bed (scene YAML -> RGB-D + labels + ground truth).

Public API::

    load_scene(name | path | dict) -> Scene            list_scenes() -> {name: description}
    scene_intrinsics(scene) -> CameraIntrinsics        scan_poses(scene) -> (N, 4, 4) camera_to_base (optical)
    overview_pose(scene) -> (4, 4) one view from above the workspace (after a pick)
    render_view(scene, intrinsics, camera_to_base) -> RenderedView(rgb, depth_m, object_id, part_id)
    render_dataset(scene, out_root, name=None, progress=None) -> dataset path
    label_names(scene) -> {label: LabelName(type, colour, part)}    ground_truth(scene) -> dict
    ray_errors_m(dataset_dir, scene=None, n_pixels=64) -> per-ray metres off the true surface (uses nerfstudio)
"""
from dff_grasp_ros.synthetic.cameras import overview_pose, scan_poses, scene_intrinsics
from dff_grasp_ros.synthetic.catalog import builtin_scene_names, list_scenes, load_scene
from dff_grasp_ros.synthetic.export import render_dataset
from dff_grasp_ros.synthetic.ground_truth import ground_truth
from dff_grasp_ros.synthetic.labels import LabelName, decode_labels, encode_labels, label_names
from dff_grasp_ros.synthetic.objects import OBJECT_PARTS
from dff_grasp_ros.synthetic.render import RenderedView, render_view
from dff_grasp_ros.synthetic.spec import Scene
from dff_grasp_ros.synthetic.verify import ray_errors_m

__all__ = [
    "LabelName", "OBJECT_PARTS", "RenderedView", "Scene", "builtin_scene_names", "decode_labels", "encode_labels",
    "ground_truth", "label_names", "list_scenes", "load_scene", "ray_errors_m", "render_dataset", "render_view",
    "overview_pose", "scan_poses", "scene_intrinsics",
]
