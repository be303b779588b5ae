"""Scene update without retraining: a fresh view carves away what was picked and adds what appeared."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dff_grasp_ros.carving import CarvingParams, carve_scene
from dff_grasp_ros.query.pipeline import QueryParams, plan_query
from dff_grasp_ros.synthetic import ground_truth, load_scene, render_view, scene_intrinsics
from dff_grasp_ros.synthetic.cameras import look_at_optical
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth
from dff_grasp_ros.synthetic.judge import GroundTruthPoints
from dff_grasp_ros.teachers import make_teacher

SCENE = "two_mugs"


def scene_without(index: int) -> dict:
    data = load_scene(SCENE).to_dict()
    data["objects"] = [o for i, o in enumerate(data["objects"]) if i != index]
    return data


def overhead_view(scene) -> tuple[np.ndarray, np.ndarray, np.ndarray, object]:
    """A view from above the workspace, as the arm would take after a pick (depth, rgb, pose, intrinsics)."""
    scene = load_scene(scene)
    intrinsics = scene_intrinsics(scene)
    centre = np.array(scene.scan.center_m)
    pose = look_at_optical(centre + np.array([0.25, 0.05, 0.55]), centre)
    view = render_view(scene, intrinsics, pose)
    return view.depth_m, view.rgb, pose, intrinsics


@pytest.fixture(scope="module")
def served():
    truth = ground_truth(SCENE, points_per_part=3000)  # as dense as a fused scan: new surface is really new
    return scene_cloud_from_ground_truth(truth, table_spacing_m=0.004), GroundTruthPoints.from_json(truth)


def test_a_picked_object_is_carved_away_and_its_neighbours_stay(served):
    cloud, truth = served
    labels, _ = truth.label(cloud.points_m)
    depth, rgb, pose, intrinsics = overhead_view(scene_without(0))  # the red mug was picked
    result = carve_scene(cloud, depth, rgb, intrinsics, pose)
    red_mug, blue_mug, spatula = (labels == 0), (labels == 1), (labels == 2)
    # What the camera can see of the picked mug is gone; its far side, hidden behind nothing now, too.
    assert result.removed[red_mug].mean() > 0.8
    assert result.removed[blue_mug].mean() < 0.02 and result.removed[spatula].mean() < 0.02
    table = labels < 0
    assert result.removed[table].mean() < 0.02
    # The table under the mug, never seen before, comes in as new obstacle surface without language features.
    added = slice(len(result.cloud) - result.added, None)
    assert np.all(result.cloud.language[added] == 0) and np.all(result.cloud.dino[added] == 0)
    mug_xy = np.asarray(load_scene(SCENE).objects[0].position_m)
    under_mug = np.linalg.norm(result.cloud.points_m[added][:, :2] - mug_xy, axis=1) < 0.035
    assert under_mug.sum() > 20 and np.abs(result.cloud.points_m[added][under_mug, 2]).max() < 0.005


def test_a_view_of_the_same_scene_changes_nothing(served):
    cloud, _ = served
    depth, rgb, pose, intrinsics = overhead_view(SCENE)
    result = carve_scene(cloud, depth, rgb, intrinsics, pose)
    assert result.removed.mean() < 0.01
    # The ideal cloud's table stops 8 cm beyond the objects; the wider view adds table, and nothing above it.
    added = result.cloud.points_m[len(result.cloud) - result.added:]
    assert (added[:, 2] > 0.005).sum() < 0.002 * len(cloud)


def test_a_query_after_the_update_never_grasps_the_removed_object(served):
    cloud, truth = served
    encoder = make_teacher("synthetic").encode_text
    before = plan_query(cloud, lambda p: encoder(p).numpy(), "red mug handle")
    assert before.success
    depth, rgb, pose, intrinsics = overhead_view(scene_without(0))
    after = plan_query(carve_scene(cloud, depth, rgb, intrinsics, pose).cloud,
                       lambda p: encoder(p).numpy(), "red mug handle")
    if after.success:  # whatever it found, it must not be where the red mug was
        ids, _ = truth.label(after.grasp.contacts_m)
        assert not np.any(ids == 0), after.message
    blue = plan_query(carve_scene(cloud, depth, rgb, intrinsics, pose).cloud, lambda p: encoder(p).numpy(),
                      "blue mug handle")
    assert blue.success, blue.message


def test_bad_views_are_refused(served):
    cloud, _ = served
    depth, rgb, pose, intrinsics = overhead_view(SCENE)
    with pytest.raises(ValueError, match="depth image"):
        carve_scene(cloud, depth[:-1], rgb[:-1], intrinsics, pose)
    with pytest.raises(ValueError, match="camera_to_base has NaN or infinite"):
        carve_scene(cloud, depth, rgb, intrinsics, np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="invalid carving"):
        CarvingParams(see_through_margin_m=0.0)


# Found by a bad-input hunt on /dff/update_scene: a 16UC1 depth three times too large (median 0.39 m read as
# 1.2 m, inside every range check) carved 72% of the served scene away, and every query failed after it.
@pytest.mark.parametrize("scale, fault", [(3.0, "sees through the table"), (0.5, "in front of the served scene")])
def test_a_depth_in_the_wrong_scale_is_refused(served, scale, fault):
    cloud, _ = served
    depth, rgb, pose, intrinsics = overhead_view(scene_without(0))  # a genuine pick, measured in the wrong unit
    with pytest.raises(ValueError, match=fault) as refused:
        carve_scene(cloud, depth * scale, rgb, intrinsics, pose)
    message = str(refused.value)
    assert len(message.splitlines()) == 1 and "(depth scale" in message, message


def test_a_wrong_scale_is_refused_without_a_known_table_too(served):
    cloud, _ = served
    depth, rgb, pose, intrinsics = overhead_view(scene_without(0))
    no_table = replace(QueryParams().preparation, table_z_m=None)
    with pytest.raises(ValueError, match="behind the served scene"):
        carve_scene(cloud, depth * 3.0, rgb, intrinsics, pose, settings=no_table)


def test_a_camera_pose_5_cm_too_low_is_refused(served):
    # A stale TF or a wrong hand-eye calibration: the view is right, the pose it is carved from is not.
    cloud, _ = served
    depth, rgb, pose, intrinsics = overhead_view(scene_without(0))
    low = pose.copy()
    low[2, 3] -= 0.05
    with pytest.raises(ValueError, match="sees through the table"):
        carve_scene(cloud, depth, rgb, intrinsics, low)


def test_a_view_that_does_not_look_at_the_scene_is_refused(served):
    # A real camera looking away still measures something (a wall 1.5 m off): carving would remove nothing and
    # add the wall as obstacles, and report success.
    cloud, _ = served
    _, rgb, _, intrinsics = overhead_view(SCENE)
    centre = np.array(load_scene(SCENE).scan.center_m)
    away = look_at_optical(centre + np.array([0.0, 0.0, 0.5]), centre + np.array([2.0, 0.0, 0.5]))
    wall = np.full((intrinsics.height, intrinsics.width), 1.5)
    with pytest.raises(ValueError, match="does not look at the served scene"):
        carve_scene(cloud, wall, rgb, intrinsics, away)


def test_the_view_check_accepts_a_pick_and_its_thresholds_are_checked(served):
    cloud, truth = served
    labels, _ = truth.label(cloud.points_m)
    depth, rgb, pose, intrinsics = overhead_view(scene_without(1))  # the blue mug was picked
    result = carve_scene(cloud, depth, rgb, intrinsics, pose)
    assert result.removed[labels == 1].mean() > 0.8
    assert result.removed[labels != 1].mean() < 0.01  # the red mug, the spatula and the table stay
    for bad in ({"consistency_tolerance_m": 0.0}, {"max_table_see_through_share": 0.0},
                {"max_scene_change_share": 1.5}, {"min_scene_view_share": 1.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            CarvingParams(**bad)


# Found by the update hunt (issue 12): carve_scene / FieldServer.update_scene, the offline entries, never checked the
# intrinsics they were given (the ROS path checks CameraInfo). fx = inf was carved and added 561 obstacle points on
# the optical axis; fx = 0 or NaN, or a NaN distortion term, was refused as "the view does not look at the served
# scene", naming no value.
@pytest.mark.parametrize("bad", [{"fx": np.inf}, {"fx": 1e12}, {"fy": 0.0}, {"fx": -600.0}, {"cx": np.nan},
                                 {"distortion": (np.nan, 0.0, 0.0, 0.0)}])
def test_impossible_intrinsics_are_refused_naming_them(served, bad):
    cloud, _ = served
    depth, rgb, pose, intrinsics = overhead_view(SCENE)
    with pytest.raises(ValueError, match=r"intrinsics: (focal length|principal point|distortion)") as refused:
        carve_scene(cloud, depth, rgb, replace(intrinsics, **bad), pose)
    assert len(str(refused.value).splitlines()) == 1


def distorted(image: np.ndarray, intrinsics, distortion: tuple[float, float, float, float]) -> np.ndarray:
    """What a camera with OpenCV's ``distortion`` (k1, k2, p1, p2) and the same K measures of the pinhole
    ``image``: each distorted pixel samples the pinhole pixel its ray lands on (nearest, NaN outside)."""
    import cv2

    k = intrinsics.matrix()
    k[:2, 2] -= 0.5  # OpenCV centres pixels on integers
    cols, rows = np.meshgrid(np.arange(intrinsics.width, dtype=np.float64),
                             np.arange(intrinsics.height, dtype=np.float64))
    pixels = np.stack([cols.ravel(), rows.ravel()], axis=1)[:, None, :]
    ideal = cv2.undistortPoints(pixels, k, np.array([*distortion, 0.0]), P=k).reshape(intrinsics.height,
                                                                                      intrinsics.width, 2)
    fill = np.nan if image.dtype.kind == "f" else 0
    return cv2.remap(image, ideal[..., 0].astype(np.float32), ideal[..., 1].astype(np.float32), cv2.INTER_NEAREST,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


# Found by the update hunt (issue 12): CameraInfo with plumb_bob k1 = +-0.1 is accepted, but carving projected the
# served points as a pinhole: the unchanged scene lost 1,187 (k1 = 0.1) and 2,273 (k1 = -0.1) of 28,273 points of
# the ideal two_mugs cloud in its overview (the objects' edges towards the image border).
@pytest.mark.parametrize("k1", [0.1, -0.1])
def test_a_view_through_a_distorting_lens_is_carved_as_the_lens_saw_it(served, k1):
    cloud, truth = served
    labels, _ = truth.label(cloud.points_m)
    depth, rgb, pose, intrinsics = overhead_view(SCENE)
    lens = replace(intrinsics, distortion=(k1, 0.0, 0.0, 0.0))
    same = carve_scene(cloud, distorted(depth, intrinsics, lens.distortion),
                       distorted(rgb, intrinsics, lens.distortion), lens, pose)
    # The pinhole view removes none; the lens taken as none removed 144 (k1 = 0.1) and 1,256 (k1 = -0.1) points here.
    assert same.removed.sum() <= 0.001 * len(cloud), same.removed.sum()
    added = same.cloud.points_m[len(same.cloud) - same.added:]
    assert (added[:, 2] > 0.005).sum() < 0.002 * len(cloud)  # table beyond the ideal cloud's, nothing above it
    depth, rgb, pose, _ = overhead_view(scene_without(0))
    picked = carve_scene(cloud, distorted(depth, intrinsics, lens.distortion),
                         distorted(rgb, intrinsics, lens.distortion), lens, pose)
    assert picked.removed[labels == 0].mean() > 0.8 and picked.removed[labels != 0].mean() < 0.02
