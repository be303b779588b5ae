"""Scene files: built-ins load, bad content fails with a message that names the problem."""
from __future__ import annotations

from pathlib import Path

import pytest

from dff_grasp_ros.synthetic.catalog import builtin_scene_names, list_scenes, load_scene, scene_parts
from dff_grasp_ros.synthetic.placement import TOUCH_TOLERANCE_M, convex_hull_2d, footprint_overlap_m


def _minimal(**changes) -> dict:
    scene = {
        "name": "test",
        "objects": [{"type": "mug", "position_m": [0.0, 0.0], "yaw_deg": 0, "color": "red"},
                    {"type": "box", "position_m": [0.2, 0.0], "yaw_deg": 0, "color": "blue"}],
        "camera": {"width": 64, "height": 48, "fx": 60, "fy": 60},
        "scan": {"views": 4, "radius_m": 0.5, "elevation_deg": [40, 60]},
        "seed": 0,
    }
    scene.update(changes)
    return scene


def test_builtin_scenes_load_with_their_promised_content() -> None:
    assert set(builtin_scene_names()) >= {"tiny", "tabletop", "bin_clutter", "two_mugs"}
    descriptions = list_scenes()
    assert all(descriptions[name] for name in builtin_scene_names())
    for name in ("tabletop", "bin_clutter", "two_mugs"):
        scene = load_scene(name)
        assert (scene.camera.width, scene.camera.height, scene.scan.views) == (640, 480, 48)
    tiny = load_scene("tiny")
    assert tiny.camera.width <= 160 and tiny.scan.views <= 24 and "mug" in [o.type for o in tiny.objects]
    assert {"mug", "pan", "knife", "bottle"} <= {o.type for o in load_scene("tabletop").objects}
    mugs = [o.color for o in load_scene("two_mugs").objects if o.type == "mug"]
    assert sorted(mugs) == ["blue", "red"]


def test_bin_clutter_is_packed_with_some_objects_touching() -> None:
    scene = load_scene("bin_clutter")
    assert len(scene.objects) >= 6
    hulls = [[convex_hull_2d(p.mesh.vertices[:, :2]) for p in parts] for parts in scene_parts(scene)]
    depths = [footprint_overlap_m(hulls[i], hulls[j]) for i in range(len(hulls)) for j in range(i + 1, len(hulls))]
    assert max(depths) <= TOUCH_TOLERANCE_M
    assert sum(d > -0.002 for d in depths) >= 2  # touching pairs


DESIGN_EXAMPLE = """
name: mugs_and_pan
objects:                      # on a table at z = 0 in base_link; x, y in metres; yaw in degrees
  - {type: mug, position_m: [0.10, -0.05], yaw_deg: 30, color: red}
  - {type: pan, position_m: [-0.15, 0.10], yaw_deg: -60, color: black}
camera: {width: 640, height: 480, fx: 600, fy: 600}
scan: {views: 48, radius_m: 0.55, elevation_deg: [35, 70]}
seed: 0
"""


def test_the_design_documents_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "mugs_and_pan.yaml"
    path.write_text(DESIGN_EXAMPLE)
    scene = load_scene(path)
    assert [(o.type, o.color) for o in scene.objects] == [("mug", "red"), ("pan", "black")]
    assert scene.objects[1].yaw_deg == -60 and scene.scan.elevation_deg == (35, 70)


def test_scene_round_trips_through_its_dict_and_a_yaml_file(tmp_path: Path) -> None:
    import yaml

    scene = load_scene("two_mugs")
    assert load_scene(scene.to_dict()) == scene
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(_minimal(name="mine")))
    loaded = load_scene(path)
    assert loaded.name == "mine" and (loaded.camera.cx, loaded.camera.cy) == (32, 24)
    assert loaded.scan.center_m == (0.1, 0.0, 0.0)  # middle of the objects by default


@pytest.mark.parametrize("changes, message", [
    ({"objects": [{"type": "teapot", "position_m": [0, 0], "yaw_deg": 0, "color": "red"}]}, "unknown object type"),
    ({"objects": [{"type": "mug", "position_m": [0, 0], "yaw_deg": 0, "color": "mauve"}]}, "unknown colour"),
    ({"objects": [{"type": "mug", "position_m": [0, 0], "color": "red", "size": 2}]}, "unknown key"),
    ({"objects": [{"type": "mug", "position_m": [0], "color": "red"}]}, "position_m"),
    ({"objects": []}, "non-empty list"),
    ({"camera": {"width": 64, "height": 48, "fx": -5, "fy": 60}}, "positive"),
    ({"camera": {"width": 0, "height": 48, "fx": 60, "fy": 60}}, "width"),
    ({"camera": {"width": 64, "height": 48, "fx": 60}}, "'fy' is required"),
    ({"camera": {"width": 64, "height": 48, "fx": 60, "fy": 60, "cx": 99}}, "principal point"),
    ({"camera": {"width": 64, "height": 48, "fx": 10, "fy": 10}}, "horizon"),
    ({"scan": {"views": 0, "radius_m": 0.5, "elevation_deg": [40, 60]}}, "views"),
    ({"scan": {"views": 4, "radius_m": 0.5, "elevation_deg": [60, 40]}}, "elevation_deg"),
    ({"scan": {"views": 4, "radius_m": 0.5, "elevation_deg": [40, 90]}}, "elevation_deg"),
    ({"seed": -1}, "seed"),
])
def test_bad_scene_content_is_rejected_with_a_clear_message(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_scene(_minimal(**changes))


def test_overlapping_objects_are_rejected_and_touching_ones_accepted() -> None:
    objects = [{"type": "box", "position_m": [0.0, 0.0], "yaw_deg": 0, "color": "blue"},
               {"type": "box", "position_m": [0.11, 0.0], "yaw_deg": 0, "color": "red"}]
    with pytest.raises(ValueError, match=r"#0 blue box and #1 red box interpenetrate by 10 mm"):
        load_scene(_minimal(objects=objects))
    objects[1]["position_m"] = [0.12, 0.0]  # the 12 cm boxes now share a face
    assert len(load_scene(_minimal(objects=objects)).objects) == 2
    # A handle counts: the mug's handle (+x, reaching 7.6 cm) would go into a box 10 cm away.
    objects = [{"type": "mug", "position_m": [0.0, 0.0], "yaw_deg": 0, "color": "red"},
               {"type": "box", "position_m": [0.13, 0.0], "yaw_deg": 0, "color": "blue"}]
    with pytest.raises(ValueError, match="interpenetrate"):
        load_scene(_minimal(objects=objects))
    objects[0]["yaw_deg"] = 180
    load_scene(_minimal(objects=objects))


def test_unknown_name_bad_yaml_and_wrong_types_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="built-in scenes: .*tabletop"):
        load_scene("no_such_scene")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_scene(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match="list.yaml: scene: expected a mapping"):
        load_scene(listed)
    with pytest.raises(ValueError, match="expects a scene name"):
        load_scene(42)  # type: ignore[arg-type]
