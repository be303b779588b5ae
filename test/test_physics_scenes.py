"""The simulated world for physics and the tote: convex pieces that keep concavities, masses, settling of every
built-in scene, and the tote in the scene file, the renderer, the ground truth, the judge and ideal clouds."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.synthetic import builtin_scene_names, ground_truth, load_scene, render_view
from dff_grasp_ros.synthetic.cameras import look_at_optical, scene_intrinsics
from dff_grasp_ros.synthetic.catalog import tote_walls
from dff_grasp_ros.synthetic.ideal_cloud import scene_cloud_from_ground_truth
from dff_grasp_ros.synthetic.judge import OBSTACLE_ID, GroundTruthPoints, judge_grasp
from dff_grasp_ros.synthetic.objects import build_object, object_types
from dff_grasp_ros.synthetic.physics import physics_scene
from dff_grasp_ros.synthetic.physics.materials import OBJECT_MASS_KG
from dff_grasp_ros.synthetic.shapes import profile_slabs, revolve, sample_surface


def inside_depth_m(points: np.ndarray, pieces: tuple[np.ndarray, ...]) -> np.ndarray:
    """Per point, how deep it lies inside the union of the pieces' hulls (negative: outside, by that much)."""
    depth = np.full(len(points), -np.inf)
    for piece in pieces:
        hull = ConvexHull(piece)
        depth = np.maximum(depth, -(points @ hull.equations[:, :3].T + hull.equations[:, 3]).max(axis=1))
    return depth


@pytest.mark.parametrize("kind", object_types())
def test_convex_pieces_follow_each_part_within_a_millimetre(kind):
    rng = np.random.default_rng(0)
    for part in build_object(kind):
        assert part.mesh.convex_pieces, f"{kind} {part.name} has no convex pieces"
        points, _ = sample_surface(part.mesh, 2000, rng)
        assert np.abs(inside_depth_m(points, part.mesh.convex_pieces)).max() < 1e-3, f"{kind} {part.name}"


def test_convex_pieces_keep_the_holes_a_finger_goes_into():
    mug = {p.name: p.mesh for p in build_object("mug")}
    body_pieces = mug["body"].convex_pieces
    assert len(body_pieces) > 10  # a ring of wedges, not one hull
    inside_cup = np.array([[0.0, 0.0, 0.05], [0.03, 0.0, 0.08]])
    assert (inside_depth_m(inside_cup, body_pieces) < 0).all()
    # The middle of the handle loop (arc centre 28 mm out from the wall, at mid height) is free.
    loop_centre = np.array([[0.041 + 0.012, 0.0, 0.048]])
    assert inside_depth_m(loop_centre, mug["handle"].convex_pieces)[0] < -0.005
    bowl_inside = np.array([[0.0, 0.0, 0.04]])
    assert inside_depth_m(bowl_inside, build_object("bowl")[0].mesh.convex_pieces)[0] < -0.02
    # A solid profile on the axis is one piece; a wall is a ring.
    assert len(revolve([(0, 0), (0.03, 0), (0.03, 0.1), (0, 0.1)]).convex_pieces) == 1
    assert len(profile_slabs(np.array([(0, 0), (0.05, 0), (0.05, 0.1), (0.04, 0.1), (0.04, 0.01), (0, 0.01)]))) == 2


def test_every_object_type_has_a_realistic_mass():
    assert set(object_types()) <= set(OBJECT_MASS_KG)
    physics = physics_scene("tabletop")
    masses = {obj.type: float(physics.model.body_mass[b]) for obj, b in zip(physics.scene.objects,
                                                                            physics.object_bodies)}
    assert masses["mug"] == pytest.approx(0.35) and masses["pan"] == pytest.approx(1.0)
    assert masses["bottle"] == pytest.approx(0.5) and masses["knife"] == pytest.approx(0.08)


@pytest.mark.parametrize("scene_name", builtin_scene_names())
def test_objects_of_every_built_in_scene_rest_stably(scene_name):
    physics = physics_scene(scene_name)
    assert len(physics.settle_displacement_m) == len(physics.scene.objects)
    assert physics.settle_displacement_m.max() < 0.005, physics.settle_displacement_m


def test_the_hand_is_the_planners_gripper():
    gripper = ParallelJawGripper()
    physics = physics_scene("tiny", gripper)
    model = physics.model
    boxes = gripper.boxes(0.0)
    for name in ("palm", "finger_left", "finger_right"):
        geom = model.geom(name)
        lower, upper = boxes[name]
        np.testing.assert_allclose(geom.size, (upper - lower) / 2, atol=1e-9)
    left = model.joint("finger_left")
    assert left.range[1] == pytest.approx(gripper.max_opening_m / 2)
    assert np.abs(model.actuator("finger_left").forcerange).max() == pytest.approx(70.0)


def bin_dict() -> dict:
    return load_scene("bin").to_dict()


def test_the_bin_scene_has_a_tote_and_reads_back():
    scene = load_scene("bin")
    assert scene.tote is not None and scene.tote.wall_height_m == pytest.approx(0.10)
    assert 8 <= len(scene.objects) <= 10
    assert load_scene(scene.to_dict()) == scene
    assert "tote" not in load_scene("tabletop").to_dict()


@pytest.mark.parametrize("change, message", [
    (lambda d: d["objects"][0].update(position_m=[0.30, 0.0]), "into or past the tote's walls"),
    (lambda d: d["tote"].update(center_m=[3.0, 0.0]), "into or past the tote's walls"),
    (lambda d: d["tote"].update(inner_size_m=[0.42]), "inner_size_m must be a list of 2 numbers"),
    (lambda d: d["tote"].update(wall_height_m=2.0), "wall_height_m must be in"),
    (lambda d: d["tote"].update(colour="red"), "unknown key"),
])
def test_a_bad_tote_is_refused_in_one_line(change, message):
    data = bin_dict()
    change(data)
    with pytest.raises(ValueError, match=message) as raised:
        load_scene(data)
    assert "\n" not in str(raised.value)


def test_walls_off_the_table_are_refused():
    data = bin_dict()
    for obj in data["objects"]:
        obj["position_m"] = [obj["position_m"][0] + 2.0, obj["position_m"][1]]
    data["tote"]["center_m"] = [2.0, 0.0]
    data["scan"]["center_m"] = [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="hang"):
        load_scene(data)


def test_the_tote_is_drawn_as_background_and_seen_into():
    scene = load_scene("bin")
    wall = tote_walls(scene.tote)[2]  # the +x wall
    top = wall.vertices.mean(axis=0) + [0.0, 0.0, scene.tote.wall_height_m / 2]
    camera = look_at_optical(top + [0.0, 0.0, 0.5] + [0.01, 0.0, 0.0], top)
    view = render_view(scene, scene_intrinsics(scene), camera)
    centre = view.depth_m.shape[0] // 2, view.depth_m.shape[1] // 2
    assert view.object_id[centre] == -1 and view.labels()[centre] == 0
    assert view.depth_m[centre] == pytest.approx(np.linalg.norm([0.5, 0.01]), abs=0.01)
    # From the scan's first pose every object shows.
    from dff_grasp_ros.synthetic import scan_poses

    seen = render_view(scene, scene_intrinsics(scene), scan_poses(scene)[0]).object_id
    assert set(np.unique(seen)) >= set(range(len(scene.objects)))


def test_the_tote_is_an_obstacle_in_ground_truth_the_judge_and_ideal_clouds():
    scene = load_scene("bin")
    truth = ground_truth(scene)
    walls = np.asarray(truth["obstacles"][0]["points"])
    assert len(walls) > 1000 and walls[:, 2].max() == pytest.approx(0.10, abs=1e-3)
    points = GroundTruthPoints.from_json(truth)
    assert (points.object_id == OBSTACLE_ID).sum() == len(walls)
    # A top-down grasp straddling the +x wall: a wall between the fingers is a collision, not a grasp.
    wall_x = scene.tote.center_m[0] + scene.tote.inner_size_m[0] / 2 + scene.tote.wall_thickness_m / 2
    top_down = np.column_stack([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    verdict = judge_grasp(points, top_down, np.array([wall_x, 0.0, 0.09]), 0.05, ParallelJawGripper(), 0, None)
    assert verdict.colliding_points > 0 and verdict.label == "collides"
    cloud = scene_cloud_from_ground_truth(truth)
    near_wall = np.abs(cloud.points_m[:, 0] - wall_x) < 0.01
    assert (cloud.points_m[near_wall, 2] > 0.05).sum() > 50
