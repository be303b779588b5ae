"""`make test` runs two pytest-xdist workers: every test that starts ROS nodes on one of them, one at a time, and
every other file whole on one worker (test/conftest.py)."""
from __future__ import annotations

from types import SimpleNamespace

from conftest import files_with_ros_tests, pytest_xdist_make_scheduler


def test_the_files_that_start_ros_nodes_are_found_from_their_markers():
    ros_files = files_with_ros_tests()
    assert {"test/test_ros_trainer.py", "test/test_bringup.py", "test/test_bad_inputs_parameters.py"} <= ros_files
    assert "test/test_grasp_geometry.py" not in ros_files and "test/test_suite_schedule.py" not in ros_files


def test_ros_files_share_one_work_unit_and_other_files_keep_their_own():
    config = SimpleNamespace(getvalue={"dist": "load", "tx": ["2*popen"]}.get)  # what `-n 2` sets
    scheduler = pytest_xdist_make_scheduler(config, None)
    units = {node_id: scheduler._split_scope(node_id) for node_id in (
        "test/test_ros_trainer.py::test_train_field_goal_feedback_result_and_field_ready",
        "test/test_bringup.py::test_sigterm_stops_every_node_and_leaves_no_orphans",
        "test/test_field_training.py::test_held_out_views_match_teacher_and_depth",
        "test/test_field_training.py::test_cancellation_publishes_nothing")}
    assert len(set(units.values())) == 2
    assert units["test/test_ros_trainer.py::test_train_field_goal_feedback_result_and_field_ready"] == \
        units["test/test_bringup.py::test_sigterm_stops_every_node_and_leaves_no_orphans"]


def test_an_explicit_distribution_mode_is_left_to_xdist():
    config = SimpleNamespace(getvalue={"dist": "each", "tx": ["2*popen"]}.get)
    assert pytest_xdist_make_scheduler(config, None) is None
