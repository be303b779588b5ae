"""Scene updates with a camera pose a little off: the view is laid onto the served scene before anything is carved."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from dff_grasp_ros.capture.selection import rotation_angles_deg
from dff_grasp_ros.carving import CarvingParams, carve_prepared
from dff_grasp_ros.geometry import near_box, within_m
from dff_grasp_ros.synthetic import ground_truth, load_scene, render_view, scene_intrinsics
from dff_grasp_ros.synthetic.cameras import overview_pose
from dff_grasp_ros.synthetic.clearing import World, ideal_prepared
from dff_grasp_ros.synthetic.judge import GroundTruthPoints
from dff_grasp_ros.view_alignment import AlignmentParams, ViewAlignment, align_view

SCENE = "bin"
BOWL = 0  # the yellow bowl, picked first below


@pytest.fixture(scope="module")
def bin_served():
    """The `bin` scene's served cloud, each row's object id (-1: table or tote), and the overview after the
    yellow bowl was picked (depth, rgb, the true camera pose, intrinsics)."""
    world = World(SCENE)
    prepared = ideal_prepared(world.scene())
    labels, _ = GroundTruthPoints.from_json(ground_truth(world.scene())).label(prepared.cloud.points_m)
    world.remove([BOWL])
    view, pose = world.overview()
    return prepared, labels, (view.depth_m, view.rgb, pose, scene_intrinsics(world.original))


def moved(pose: np.ndarray, shift_m=(0.0, 0.0, 0.0), turn_deg: float = 0.0) -> np.ndarray:
    out = pose.copy()
    out[:3, :3] = Rotation.from_rotvec(np.radians(turn_deg) * np.array([0.6, 0.8, 0.0])).as_matrix() @ out[:3, :3]
    out[:3, 3] += shift_m
    return out


def carve(bin_served, pose: np.ndarray, params: CarvingParams | None = None):
    prepared, _, (depth, rgb, _, intrinsics) = bin_served
    return carve_prepared(prepared, depth, rgb, intrinsics, pose, params)


def lost_points(bin_served, removed: np.ndarray) -> int:
    """Points of the objects that stayed which the update removed."""
    _, labels, _ = bin_served
    rows = np.arange(len(labels))
    return int(removed[rows][(labels >= 0) & (labels != BOWL)].sum())


def test_the_fit_of_a_correct_pose_moves_it_by_under_a_millimetre(bin_served):
    prepared, _, (depth, _, pose, intrinsics) = bin_served
    fit = align_view(prepared.surface, depth, intrinsics, pose, 0.05, 3.0)
    assert fit is not None and fit.shift_m < 0.001 and fit.rotation_deg < 0.1, fit


def test_a_fit_within_its_own_error_leaves_the_pose_as_given(bin_served):
    # A millimetre of fit error carved a band off a neighbouring mug's outline in `two_mugs`: a correct pose stays.
    _, _, (_, _, pose, _) = bin_served
    carved = carve(bin_served, pose)
    as_given = carve(bin_served, pose, CarvingParams(alignment=AlignmentParams(enabled=False)))
    assert carved.alignment is None and np.array_equal(carved.removed, as_given.removed)


@pytest.mark.parametrize("picked", [0, 1, 2])
def test_a_true_pose_on_a_bare_table_is_left_as_given(picked):
    # Two objects left on a table constrain the fit least. Fitted against the query's thinned cloud (its table
    # band sampled to 4096 rows), the true pose after the blue mug's pick was moved 13.9 mm, and the update removed
    # 2,982 points of the red mug and the spatula.
    world = World("two_mugs")
    prepared = ideal_prepared(world.scene())
    world.remove([picked])
    view, pose = world.overview()
    carved = carve_prepared(prepared, view.depth_m, view.rgb, scene_intrinsics(world.original), pose)
    assert carved.alignment is None, (carved.alignment.shift_m, carved.alignment.rotation_deg)



@pytest.mark.parametrize("picked, shift_m", [(1, (0.0, 0.0, 0.01)), (2, (0.0, 0.01, 0.0)), (1, (0.005, 0.0, 0.0))])
def test_with_two_objects_left_on_a_table_a_pose_off_carves_as_the_true_one(picked, shift_m):
    # Seen from above, surface facing sideways is a few percent of the view and the only part that fixes the camera
    # sideways. Sampled evenly with the rest, a camera 1 cm too high after the blue mug's pick was fitted 1.4 mm
    # off sideways and the update removed 1,326 points of the objects that stayed; 1 cm along y after the
    # spatula's, 1,713; 5 mm along x was not corrected at all (2,877).
    world = World("two_mugs")
    prepared = ideal_prepared(world.scene())
    labels, _ = GroundTruthPoints.from_json(ground_truth(world.scene())).label(prepared.cloud.points_m)
    world.remove([picked])
    view, pose = world.overview()
    intrinsics = scene_intrinsics(world.original)
    stayed = (labels >= 0) & (labels != picked)

    def lost(camera_to_base: np.ndarray) -> int:
        removed = carve_prepared(prepared, view.depth_m, view.rgb, intrinsics, camera_to_base).removed
        return int(removed[:len(labels)][stayed].sum())

    assert lost(moved(pose, shift_m)) <= lost(pose) + 20


def small_camera_view(scene_name: str, width: int, picked: int | None):
    """(view, pose, intrinsics) of the overview of ``scene_name`` seen by a camera ``width`` pixels wide (same
    field of view), without object ``picked``."""
    data = load_scene(scene_name).to_dict()
    scale = width / data["camera"]["width"]
    data["camera"] = {"width": width, "height": round(data["camera"]["height"] * scale),
                      "fx": data["camera"]["fx"] * scale, "fy": data["camera"]["fy"] * scale}
    if picked is not None:
        data["objects"] = [o for i, o in enumerate(data["objects"]) if i != picked]
    scene = load_scene(data)
    intrinsics, pose = scene_intrinsics(scene), overview_pose(scene)
    return render_view(scene, intrinsics, pose), pose, intrinsics


# Found by the update hunt: at its true pose, a 160x120 overview of the unchanged `two_mugs` was moved 21.2 mm
# (320x240: 14.7 mm and 0.88 deg) and the update removed 9,273 (8,390) points of objects that were all still
# there. After sideways-first sampling, the 160x120 overview after a pick (3 of its 4,273 points facing
# sideways) still slid 2.7 cm along the bare table and removed 5,300 points of the objects that stayed.
@pytest.mark.parametrize("width, picked", [(160, None), (320, None), (96, 0), (160, 0), (160, 1)])
def test_a_small_camera_at_its_true_pose_carves_nothing_that_stayed(width, picked):
    view, pose, intrinsics = small_camera_view("two_mugs", width, picked)
    prepared = ideal_prepared("two_mugs")
    labels, _ = GroundTruthPoints.from_json(ground_truth("two_mugs")).label(prepared.cloud.points_m)
    carved = carve_prepared(prepared, view.depth_m, view.rgb, intrinsics, pose)
    stayed = (labels >= 0) & (labels != (-1 if picked is None else picked))
    assert carved.alignment is None, (carved.alignment.shift_m, carved.alignment.rotation_deg)
    assert int(carved.removed[:len(labels)][stayed].sum()) == 0

# Found while measuring the update against pose errors: a camera 1 cm off sideways (hand-eye, a TF looked up while
# the arm settles) passed the view check, removed 12,000 points of the eight objects that stayed and kept the
# bowl's; 1 cm further along +y the view's tote wall also lay exactly on the served wall's far face, which held
# a fit with unsigned normals there.
@pytest.mark.parametrize("shift_m, turn_deg", [((0.0, 0.01, 0.0), 0.0), ((-0.015, 0.015, 0.0), 0.0),
                                               ((0.025, 0.0, 0.0), 0.0), ((0.0, 0.0, -0.02), 0.0),
                                               ((0.0, 0.0, 0.0), 1.0)])
def test_a_view_a_little_off_carves_as_the_true_one(bin_served, shift_m, turn_deg):
    _, labels, (_, _, pose, _) = bin_served
    truth = carve(bin_served, pose)
    off = carve(bin_served, moved(pose, shift_m, turn_deg))
    assert lost_points(bin_served, off.removed) <= lost_points(bin_served, truth.removed) + 20
    bowl = labels == BOWL
    assert off.removed[:len(labels)][bowl].mean() > 0.9
    assert np.linalg.norm(off.alignment.camera_to_base[:3, 3] - pose[:3, 3]) < 0.0015
    assert rotation_angles_deg(pose[:3, :3], off.alignment.camera_to_base[:3, :3])[0] < 0.1


def test_without_the_fit_a_view_1_cm_off_carves_objects_that_stayed(bin_served):
    # What the fit prevents (and what the test above would see without it).
    _, _, (_, _, pose, _) = bin_served
    as_given = CarvingParams(alignment=AlignmentParams(enabled=False))
    assert lost_points(bin_served, carve(bin_served, moved(pose, (0.0, 0.01, 0.0)), as_given).removed) > 5000


def test_a_view_that_fits_nowhere_near_its_pose_is_refused(bin_served):
    _, _, (_, _, pose, _) = bin_served
    with pytest.raises(ValueError, match="served scene is unchanged") as refused:
        carve(bin_served, moved(pose, (0.0, 0.0, -0.05)))  # 5 cm: beyond the fit's reach, the view check says why
    message = str(refused.value)
    assert len(message.splitlines()) == 1 and "sees through the table" in message, message
    strict = CarvingParams(alignment=AlignmentParams(max_correction_m=0.005))
    with pytest.raises(ValueError, match="served scene is unchanged") as refused:
        carve(bin_served, moved(pose, (0.0, 0.0, -0.02)), strict)
    assert "nowhere within 0.5 cm and 3 deg of its camera pose (the fit ended 2.0 cm" in str(refused.value)


def test_alignment_parameters_are_checked():
    for bad in ({"max_correction_m": 0.0}, {"max_pair_distance_m": (0.01, 0.02)}, {"search_step_m": -1.0},
                {"min_coverage_gain": 1.0}, {"sideways_share": 0.0}):
        with pytest.raises(ValueError, match="invalid alignment parameters"):
            AlignmentParams(**bad)


def test_tote_wall_normals_point_out_of_the_wall():
    # The served cloud's normals point out of the surface (towards the cameras that saw it); the ideal cloud's
    # tote walls had signs at random, and the wall's far face then looked like its near face.
    truth = ground_truth(SCENE)
    tote = truth["obstacles"][0]
    points, normals = np.asarray(tote["points"]), np.asarray(tote["normals"])
    inner_face = (np.abs(points[:, 1]) > 0.159) & (np.abs(points[:, 1]) < 0.161) & (np.abs(normals[:, 1]) > 0.9)
    assert inner_face.sum() > 20
    assert np.all(np.sign(normals[inner_face, 1]) == -np.sign(points[inner_face, 1]))  # towards the tote's middle


def test_near_box_keeps_every_point_within_the_margin_of_a_reference():
    rng = np.random.default_rng(3)
    points, reference = rng.uniform(-1, 1, (20000, 3)), rng.uniform(-0.3, 0.3, (50, 3))
    near = cKDTree(reference).query(points, distance_upper_bound=0.1)[0] <= 0.1
    kept = near_box(points, reference, 0.1)
    assert near.any() and not kept.all() and np.all(kept[near])
    assert not near_box(points, np.zeros((0, 3)), 0.1).any()


def test_within_m_is_a_nearest_neighbour_test_on_every_point():
    rng = np.random.default_rng(4)
    points, reference = rng.uniform(-1, 1, (20000, 3)), rng.uniform(-0.3, 0.3, (50, 3))
    near = cKDTree(reference).query(points, distance_upper_bound=0.1)[0] <= 0.1
    assert near.any() and not near.all()
    assert np.array_equal(within_m(points, reference, 0.1), near)
    assert np.array_equal(within_m(reference, points, 0.1), cKDTree(points).query(reference,
                                                                                   distance_upper_bound=0.1)[0] <= 0.1)
    assert not within_m(points, np.zeros((0, 3)), 0.1).any() and len(within_m(np.zeros((0, 3)), reference, 0.1)) == 0


@pytest.mark.parametrize("shift_m", [(0.0, 0.0, 0.0), (0.025, 0.0, 0.0), (0.0, 0.0, -0.02)])
def test_the_fit_around_the_view_equals_the_fit_on_the_whole_scene(bin_served, shift_m):
    # Only the served surface around the view is searched (a tree of the whole field's cost ~80 ms per update):
    # the fit must not change with it.
    prepared, _, (depth, _, pose, intrinsics) = bin_served
    fits = [align_view(prepared.surface, depth, intrinsics, moved(pose, shift_m), 0.05, 3.0,
                       AlignmentParams(target_margin_m=margin_m)) for margin_m in (AlignmentParams().target_margin_m,
                                                                                   10.0)]
    assert np.allclose(fits[0].camera_to_base, fits[1].camera_to_base, atol=1e-6)
    assert (fits[0].pairs, fits[0].covered) == (fits[1].pairs, fits[1].covered)


def test_a_fit_that_wandered_far_without_covering_more_does_not_refuse_the_view(bin_served, monkeypatch):
    # Found clearing random bins: with two objects left, the fit slid 6.8 cm along the table while covering less
    # of the view than the pose as given (0.771 -> 0.759), and the update was refused as "fits the served scene
    # nowhere within 3 cm" although the view fit as given.
    import dff_grasp_ros.carving as carving

    _, _, (_, _, pose, _) = bin_served
    wandered = moved(pose, (0.0, 0.068, 0.0))

    def far_fit(*args, **kwargs):
        return ViewAlignment(camera_to_base=wandered, shift_m=0.068, rotation_deg=0.0, pairs=5000, rms_m=0.001,
                             covered_as_given=0.771, covered=0.759, sideways_covered_as_given=0.4,
                             sideways_covered=0.39, depth_scale=1.0, image_scale=1.0)

    monkeypatch.setattr(carving, "align_view", far_fit)
    carved = carve(bin_served, pose)
    assert carved.alignment is None and carved.removed.sum() > 1000  # carved at the pose as given


# Found with the update's wrong views (2026-12-03): a depth 2-5% too long or a focal length 5% off still fits a
# pose (the fit moves the camera to lay the floor on the served floor), passed every check and removed thousands of
# points of objects that stayed. The fit's depth scale tells them: views as scanned fit 0.997-1.003.
@pytest.mark.parametrize("depth_scale", [1.02, 1.03, 0.97])
def test_a_view_whose_depth_is_scaled_against_the_scan_is_refused(bin_served, depth_scale):
    prepared, _, (depth, rgb, pose, intrinsics) = bin_served
    with pytest.raises(ValueError, match=r"off in scale against the served scene.*served scene is unchanged"):
        carve_prepared(prepared, depth * depth_scale, rgb, intrinsics, pose)


def test_the_depth_scale_of_views_as_scanned_is_one(bin_served):
    prepared, _, (depth, _, pose, intrinsics) = bin_served
    for shift_m, turn_deg in (((0.0, 0.0, 0.0), 0.0), ((0.0, 0.01, 0.0), 0.0), ((0.0, 0.0, -0.02), 0.0),
                              ((0.0, 0.0, 0.0), 1.0)):
        fit = align_view(prepared.surface, depth, intrinsics, moved(pose, shift_m, turn_deg), 0.05, 3.0)
        assert abs(fit.depth_scale - 1.0) < 0.003 and abs(fit.image_scale - 1.0) < 0.003, (shift_m, turn_deg, fit)
    scaled = align_view(prepared.surface, depth * 1.02, intrinsics, pose, 0.05, 3.0)
    assert abs(scaled.depth_scale - 1.0 / 1.02) < 0.003 and abs(scaled.image_scale - 1.0) < 0.003, scaled


@pytest.mark.parametrize("focal_scale", [1.05, 0.95])
def test_a_view_with_a_wrong_focal_length_is_refused(bin_served, focal_scale):
    # A CameraInfo 5% off in focal length laid the view onto the scene 4% too narrow or wide about the optical
    # axis, passed every check and removed up to 18,000 points of objects that stayed in `bin`.
    prepared, _, (depth, rgb, pose, intrinsics) = bin_served
    wrong = replace(intrinsics, fx=intrinsics.fx * focal_scale, fy=intrinsics.fy * focal_scale)
    with pytest.raises(ValueError, match=r"image is .* off in scale .*focal length.*served scene is unchanged"):
        carve_prepared(prepared, depth, rgb, wrong, pose)


def test_a_view_mostly_of_the_floor_fits_no_scale():
    # Found by the bin hunt (2026-12-04): in a tote with 3 cm walls, after its box and bottle were picked, the
    # overview is mostly the flat floor; fitted jointly, the depth and image scales traded against each other and the
    # camera's height (a direction such a view hardly constrains) and came to 0.990 and 1.011 on a true view, so
    # every later update was refused as "+1.0% off in scale".
    objects = [{"type": "box", "position_m": [0.1, 0.07], "yaw_deg": 0, "color": "brown"},
               {"type": "bottle", "position_m": [-0.001, 0.08], "yaw_deg": 0, "color": "green"},
               {"type": "mug", "position_m": [-0.1, 0.06], "yaw_deg": 30, "color": "red"},
               {"type": "knife", "position_m": [0.05, -0.05], "yaw_deg": 0, "color": "black"},
               {"type": "spatula", "position_m": [-0.1, -0.101], "yaw_deg": 180, "color": "purple"}]
    scene = load_scene({"name": "low_walls", "objects": objects, "camera": {"width": 640, "height": 480, "fx": 600,
                        "fy": 600}, "scan": {"views": 48, "radius_m": 0.65, "elevation_deg": [55, 80]},
                        "tote": {"center_m": [0, 0], "inner_size_m": [0.4, 0.3], "wall_height_m": 0.03}})
    prepared = ideal_prepared(scene)
    world = World(scene)
    world.remove([0, 1])
    view, pose = world.overview()
    fit = align_view(prepared.surface, view.depth_m, scene_intrinsics(scene), pose, 0.05, 3.0)
    assert abs(fit.depth_scale - 1.0) < 0.003 and abs(fit.image_scale - 1.0) < 0.003, fit
    carve_prepared(prepared, view.depth_m, view.rgb, scene_intrinsics(scene), pose)  # not refused
