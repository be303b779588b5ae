"""Bad input to the running nodes that a robot integrator sends by mistake: parameters changed at run time,
a scene-update wait that never ends, a camera whose CameraInfo OpenCV cannot use, an output folder that became a
file, two capture goals at once. Each is one answer naming the value at fault, and the node serves the next good
request. One set of nodes (query, hand_eye, capture) serves the whole file: each start costs seconds."""
from __future__ import annotations

import math
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest
from field_fixtures import ground_truth_field
from ros_helpers import logs, publish_latched, start_nodes, wait_until

from dff_grasp_ros import names
from dff_grasp_ros.process_group import ProcessGroup

pytestmark = pytest.mark.ros


class Nodes:
    """The running nodes of this file, their folders and their logs."""

    def __init__(self, root: Path, group: ProcessGroup) -> None:
        self.root, self.group = root, group
        self.log_dir = root / "logs"
        self.datasets_dir = root / "datasets"
        self.calibration_dir = root / "calibration"

    def logs(self) -> str:
        return logs(self.log_dir)


def test_a_second_capture_goal_accepted_before_the_first_executes_is_rejected(tmp_path: Path, monkeypatch):
    """rclpy accepts a goal, then schedules its execution: the capture node judged "busy" by a session that only
    execution makes, so a second goal arriving in between was accepted too, replaced the first's session, and
    the first, ending, cut the second off from the camera. (First in this file: its in-process action server
    must be gone before the capture node of the fixture serves the same name.)"""
    import rclpy
    from rclpy.action import GoalResponse

    from dff_grasp.action import CaptureViews
    from dff_grasp_ros.nodes.capture import CaptureNode

    class RefusedGoal:
        request = CaptureViews.Goal(num_views=8, timeout_s=-1.0)
        aborted = False

        def abort(self) -> None:
            self.aborted = True

    monkeypatch.setenv("DFF_GRASP_HOME", str(tmp_path))
    rclpy.init()
    try:
        node = CaptureNode()
        try:
            assert node.on_goal(CaptureViews.Goal(num_views=8)) == GoalResponse.ACCEPT
            assert node.on_goal(CaptureViews.Goal(num_views=8)) == GoalResponse.REJECT
            goal = RefusedGoal()
            result = node.execute_checked(goal)  # the first goal ends (refused): the node is free again
            assert goal.aborted and "capture timeout" in result.message, result.message
            assert node.on_goal(CaptureViews.Goal(num_views=8)) == GoalResponse.ACCEPT
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown()


@pytest.fixture(scope="module")
def nodes(tmp_path_factory) -> Iterator[Nodes]:
    root = tmp_path_factory.mktemp("ros_more")
    env = {"ROS_DOMAIN_ID": os.environ["ROS_DOMAIN_ID"], "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
           "HF_HUB_OFFLINE": "1", "DFF_GRASP_HOME": str(root / "dff_home")}
    fields = root / "fields"
    ground_truth_field(fields, scene="two_mugs")
    with ProcessGroup() as group:
        running = Nodes(root, group)
        start_nodes(group, {"query": {"fields_dir": str(fields), "device": "cpu"},
                            "hand_eye": {"calibration_dir": str(running.calibration_dir), "still_time_s": 0.0},
                            "capture": {"datasets_dir": str(running.datasets_dir)}}, env, running.log_dir)
        from dff_grasp_ros.clients import query_object

        assert wait_until(lambda: query_object("red mug handle").success, 60.0), running.logs()
        yield running
        assert group.poll_failed() == {}, "every node must survive every request\n" + running.logs()


def set_parameter(node: str, name: str, value: Any) -> Any:
    """``ros2 param set /<node> <name> <value>``: the node's SetParameters service, one result."""
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter

    from dff_grasp_ros.clients import call_service

    request = SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()])
    # Parameter services answer at once; setting the same value again is harmless, so a lost answer is asked again.
    return call_service(SetParameters, f"/{node}/set_parameters", request, timeout_s=20.0,
                        resend_after_s=5.0).results[0]


def get_parameter(node: str, name: str) -> Any:
    from rcl_interfaces.srv import GetParameters
    from rclpy.parameter import parameter_value_to_python

    from dff_grasp_ros.clients import call_service

    reply = call_service(GetParameters, f"/{node}/get_parameters", GetParameters.Request(names=[name]),
                         timeout_s=20.0, resend_after_s=5.0)
    return parameter_value_to_python(reply.values[0])


@pytest.mark.parametrize(("node", "name", "value", "says"), [
    ("query", "relevancy_threshold", math.nan, "must be finite"),
    ("query", "table_z_m", 0.05, "read when the node starts"),  # in range, yet it would change nothing
    ("query", "max_candidates", -3, "must be >= 1"),
    ("capture", "min_views", 0, "must be >= 3"),
    ("capture", "datasets_dir", "", "must name a folder"),
    ("hand_eye", "scan_radius_m", 1e9, "must be <= 10.0"),
    ("query", "use_sim_time", True, "read when the node starts"),  # its clock then read 0 (bad-input hunt)
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_parameter_set_at_run_time_is_refused_with_the_reason(nodes: Nodes, node: str, name: str, value: Any,
                                                                 says: str):
    """The nodes read their parameters once, at start: a run-time change was accepted (`ros2 param set` said
    "Set parameter successful") and silently ignored, out of range or not."""
    before = get_parameter(node, name)
    result = set_parameter(node, name, value)
    assert not result.successful, f"{node}.{name} = {value!r} was accepted"
    assert f"{node}.{name}" in result.reason and says in result.reason, result.reason
    assert "restart" in result.reason and "\n" not in result.reason, result.reason
    assert get_parameter(node, name) == before


def test_a_run_time_parameter_refusal_leaves_the_query_node_serving(nodes: Nodes):
    from dff_grasp_ros.clients import query_object

    wrong_type = set_parameter("query", "gripper_max_opening_m", "wide")
    assert not wrong_type.successful and "query.gripper_max_opening_m must be float" in wrong_type.reason
    assert query_object("blue mug handle").success


def test_an_update_scene_wait_beyond_the_limit_is_refused_at_once(nodes: Nodes):
    """A raw request (`ros2 service call`) bypasses the client's check: 1e9 s held the service (and the update
    lock) for 31 years."""
    from dff_grasp.srv import UpdateScene
    from dff_grasp_ros.clients import call_service, query_object

    for timeout_s in (1e9, 601.0):
        started = time.monotonic()
        reply = call_service(UpdateScene, names.UPDATE_SCENE_SERVICE, UpdateScene.Request(timeout_s=timeout_s),
                             timeout_s=15.0, resend_after_s=5.0)  # refused at once: asking again is harmless
        assert not reply.success and "timeout_s" in reply.message and "600" in reply.message, reply.message
        assert time.monotonic() - started < 10.0
    assert query_object("blue mug handle").success


def test_a_field_announced_again_and_again_is_loaded_once(nodes: Nodes):
    """A script re-announcing the served field (30 FieldReady in a burst): each started a load thread, and the
    node reloaded the same field 30 times over (~1 s each here), throwing away any scene update each time. The
    announcement after them is of a field that is not there: refused, the served one kept, and the answers say
    so (only the node's log did)."""
    from rclpy.duration import Duration

    from dff_grasp.msg import FieldReady
    from dff_grasp_ros.clients import query_object, ros_node
    from dff_grasp_ros.nodes.common import latched_qos

    served = nodes.root / "fields" / "gt_field"
    missing = nodes.root / "fields" / "deleted_field"
    log = nodes.log_dir / "query.log"
    loads_before = log.read_text().count("serving field")
    with ros_node("eager_trainer") as node:
        publisher = node.create_publisher(FieldReady, names.FIELD_READY_TOPIC, latched_qos(depth=50))
        assert wait_until(lambda: publisher.get_subscription_count() > 0, 10.0)
        for _ in range(30):
            publisher.publish(FieldReady(field_path=str(served), language_teacher="synthetic"))
        publisher.publish(FieldReady(field_path=str(missing), language_teacher="synthetic"))
        publisher.wait_for_all_acked(Duration(seconds=10))
        assert wait_until(lambda: f"field {missing} could not be loaded" in log.read_text(), 20.0), nodes.logs()
    assert log.read_text().count("serving field") == loads_before, log.read_text()[-3000:]
    answer = query_object("blue mug handle")  # from the served field, and the caller learns of the refusal
    assert answer.success and f"field {missing} could not be loaded" in answer.message, answer.message
    assert f"answered from {served}" in answer.message, answer.message


def publish_board_camera(stop: threading.Event, distortion: list[float]) -> None:
    """A camera looking straight at the ChArUco board, its CameraInfo with ``distortion``, and the tool pose at
    each image's stamp, at 10 Hz until ``stop``."""
    import cv2
    import numpy as np
    from geometry_msgs.msg import PoseStamped
    from sensor_msgs.msg import CameraInfo, Image

    from dff_grasp_ros.calibration.board import CharucoBoardSpec
    from dff_grasp_ros.clients import ros_node
    from dff_grasp_ros.ros_io.image import numpy_to_image
    from dff_grasp_ros.ros_io.stamp import ns_to_stamp

    grey = CharucoBoardSpec().cv_board().generateImage((640, 480), marginSize=40)
    rgb = np.ascontiguousarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB))
    with ros_node("board_camera") as node:
        image_pub = node.create_publisher(Image, "/camera/color/image_raw", 5)
        info_pub = node.create_publisher(CameraInfo, "/camera/color/camera_info", 5)
        tool_pub = node.create_publisher(PoseStamped, "/tool/pose", 50)
        while not stop.is_set():
            stamp_ns = node.get_clock().now().nanoseconds
            info = CameraInfo(height=480, width=640, distortion_model="plumb_bob", d=distortion,
                              k=[600.0, 0.0, 320.0, 0.0, 600.0, 240.0, 0.0, 0.0, 1.0])
            info.header.stamp, info.header.frame_id = ns_to_stamp(stamp_ns), "camera_color_optical_frame"
            tool = PoseStamped()
            tool.header.stamp, tool.header.frame_id = ns_to_stamp(stamp_ns), "base_link"
            tool.pose.orientation.w = 1.0
            info_pub.publish(info)
            tool_pub.publish(tool)
            image_pub.publish(numpy_to_image(rgb, "rgb8", frame_id="camera_color_optical_frame", stamp_ns=stamp_ns))
            time.sleep(0.1)


@pytest.mark.parametrize(("distortion", "refused"), [((0.1, -0.05, 0.001), True), ((0.1,) * 6, True),
                                                     ((0.0, 0.0, 0.0), False), ((0.1, -0.05, 0.0, 0.0, 0.01), False)])
def test_the_camera_model_takes_only_distortions_opencv_can_use(distortion: tuple[float, ...], refused: bool):
    import numpy as np

    from dff_grasp_ros.calibration.camera import PinholeCamera

    k = (600.0, 0.0, 320.0, 0.0, 600.0, 240.0, 0.0, 0.0, 1.0)
    if refused:
        with pytest.raises(ValueError, match=f"distortion has {len(distortion)} coefficients"):
            PinholeCamera(640, 480, k, distortion)
    else:
        assert np.array_equal(PinholeCamera(640, 480, k, distortion).D, distortion if any(distortion) else [])


def test_a_calibration_with_a_distortion_opencv_cannot_use_ends_naming_it(nodes: Nodes):
    """A plumb_bob CameraInfo with 3 coefficients (a driver that dropped p2 and k3): cv2.solvePnP raised inside
    the goal, rclpy printed a traceback and the goal ended aborted with an empty message."""
    from dff_grasp.action import CalibrateHandEye
    from dff_grasp_ros.clients import run_action

    stop = threading.Event()
    camera = threading.Thread(target=publish_board_camera, args=(stop, [0.1, -0.05, 0.001]), daemon=True)
    camera.start()
    time.sleep(1.0)  # a head start: the node must discover the camera within the goal's time
    try:
        result = run_action(CalibrateHandEye, names.CALIBRATE_HAND_EYE_ACTION,
                            CalibrateHandEye.Goal(num_views=8, timeout_s=4.0), timeout_s=40.0)
    finally:
        stop.set()
        camera.join()
    assert not result.success
    assert "distortion" in result.message and "3 coefficients" in result.message, result.message + nodes.logs()
    assert "Traceback" not in (nodes.log_dir / "hand_eye.log").read_text()


def test_a_calibration_folder_that_is_a_file_is_refused_before_collecting(nodes: Nodes):
    """Without an output_path the result goes to calibration_dir/hand_eye.yaml: a file standing there lost the
    result after the whole session (the arm had moved through every pose)."""
    from dff_grasp.action import CalibrateHandEye
    from dff_grasp_ros.clients import run_action

    nodes.calibration_dir.write_text("not a folder")
    try:
        started = time.monotonic()
        result = run_action(CalibrateHandEye, names.CALIBRATE_HAND_EYE_ACTION,
                            CalibrateHandEye.Goal(num_views=8, timeout_s=5.0), timeout_s=40.0)
        assert not result.success and str(nodes.calibration_dir) in result.message, result.message
        assert "is a file" in result.message and time.monotonic() - started < 4.0, result.message
        # A relative output_path lies under calibration_dir, not in the node's working directory (where the
        # result was written, out of the caller's sight): the same folder is at fault.
        relative = run_action(CalibrateHandEye, names.CALIBRATE_HAND_EYE_ACTION,
                              CalibrateHandEye.Goal(num_views=8, timeout_s=5.0, output_path="cell_a/hand_eye.yaml"),
                              timeout_s=40.0)
        assert not relative.success and str(nodes.calibration_dir / "cell_a") in relative.message, relative.message
    finally:
        nodes.calibration_dir.unlink()


def test_the_calibration_client_sends_its_output_path_absolute(tmp_path: Path, monkeypatch):
    """`dff-grasp calibrate --live --out result.yaml` means this shell's folder, which the node cannot know."""
    from dff_grasp_ros import clients

    sent = []
    monkeypatch.setattr(clients, "run_action", lambda action, name, goal, **kwargs: sent.append(goal))
    monkeypatch.chdir(tmp_path)
    clients.calibrate_hand_eye(8, 0.0, "result.yaml", quiet=True)
    clients.calibrate_hand_eye(8, 0.0, "", quiet=True)
    assert [goal.output_path for goal in sent] == [str(tmp_path / "result.yaml"), ""]


def test_a_datasets_folder_that_is_a_file_refuses_the_capture_before_it_starts(nodes: Nodes):
    from dff_grasp.action import CaptureViews
    from dff_grasp_ros.clients import run_action

    nodes.datasets_dir.write_text("not a folder")
    try:
        started = time.monotonic()
        result = run_action(CaptureViews, names.CAPTURE_VIEWS_ACTION, CaptureViews.Goal(num_views=8, timeout_s=5.0),
                            timeout_s=40.0)
        assert not result.success and result.message.startswith("goal refused"), result.message
        assert str(nodes.datasets_dir) in result.message and "is a file" in result.message, result.message
        assert time.monotonic() - started < 4.0
    finally:
        nodes.datasets_dir.unlink()


def publish_moving_rgbd_camera(stop: threading.Event, depth_encoding: str, depth_value: float,
                               depth_topic: str = "/camera/aligned_depth_to_color/image_raw",
                               pose_qos: Any = 5) -> None:
    """A textured camera moving 5 cm along x per frame (each view new and sharp), its depth image filled with
    ``depth_value`` in ``depth_encoding`` on ``depth_topic``, CameraInfo, and the camera pose (published with
    ``pose_qos``), all at one stamp, at 10 Hz."""
    import numpy as np
    from geometry_msgs.msg import PoseStamped
    from sensor_msgs.msg import CameraInfo, Image

    from dff_grasp_ros.clients import ros_node
    from dff_grasp_ros.dataset import CameraIntrinsics
    from dff_grasp_ros.ros_io.camera_info import intrinsics_to_camera_info
    from dff_grasp_ros.ros_io.image import numpy_to_image
    from dff_grasp_ros.ros_io.stamp import ns_to_stamp

    rgb = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    depth = np.full((48, 64), depth_value, dtype=np.uint16 if depth_encoding == "16UC1" else np.float32)
    frame = "camera_color_optical_frame"
    with ros_node("rgbd_camera") as node:
        pubs = {"image": node.create_publisher(Image, "/camera/color/image_raw", 5),
                "depth": node.create_publisher(Image, depth_topic, 5),
                "info": node.create_publisher(CameraInfo, "/camera/color/camera_info", 5),
                "pose": node.create_publisher(PoseStamped, "/camera/pose", pose_qos)}
        step = 0
        while not stop.is_set():
            stamp_ns = node.get_clock().now().nanoseconds
            pose = PoseStamped()
            pose.header.stamp, pose.header.frame_id = ns_to_stamp(stamp_ns), "base_link"
            pose.pose.position.x, pose.pose.position.z = 0.05 * step, 0.5
            pose.pose.orientation.x, pose.pose.orientation.w = 1.0, 0.0  # looking down
            pubs["pose"].publish(pose)
            pubs["info"].publish(intrinsics_to_camera_info(CameraIntrinsics(64, 48, 60.0, 60.0, 32.0, 24.0),
                                                           frame_id=frame, stamp_ns=stamp_ns))
            pubs["depth"].publish(numpy_to_image(depth, depth_encoding, frame_id=frame, stamp_ns=stamp_ns))
            pubs["image"].publish(numpy_to_image(rgb, "rgb8", frame_id=frame, stamp_ns=stamp_ns))
            step += 1
            time.sleep(0.1)


def _capture_eight_views(camera_args: tuple) -> Any:
    """The result of a capture goal for 8 views (3 s) while ``publish_moving_rgbd_camera(stop, *camera_args)``
    publishes."""
    from dff_grasp.action import CaptureViews
    from dff_grasp_ros.clients import run_action

    stop = threading.Event()
    camera = threading.Thread(target=publish_moving_rgbd_camera, args=(stop, *camera_args), daemon=True)
    camera.start()
    time.sleep(1.0)  # a head start: the capture must discover the camera within the goal's time
    try:
        return run_action(CaptureViews, names.CAPTURE_VIEWS_ACTION, CaptureViews.Goal(num_views=8, timeout_s=3.0),
                          timeout_s=40.0)
    finally:
        stop.set()
        camera.join()


def test_a_depth_stream_in_the_wrong_units_is_refused_while_capturing(nodes: Nodes):
    """32FC1 depth in millimetres (a driver or a conversion that did not scale): the capture kept every view and
    wrote the dataset (clipped to 65.5 m); the trainer refused it afterwards ("median is 65.5 m"): the scan was
    lost."""
    result = _capture_eight_views(("32FC1", 500.0))
    assert not result.success and result.views_kept == 0, result.message
    assert "bad_depth" in result.message and "median is 500 m" in result.message, result.message
    assert "32FC1 depth must hold metres" in result.message, result.message
    assert not list(nodes.datasets_dir.glob("*/transforms.json")), "nothing may be written"


def test_a_capture_without_a_stream_names_the_topic_nothing_came_from(nodes: Nodes):
    """Depth published on the driver's unaligned topic, not on depth_topic: the capture timed out "with 0 views;
    rejected: none", which did not say that no depth image had arrived, nor from where it was expected."""
    result = _capture_eight_views(("16UC1", 500, "/camera/depth/image_rect_raw"))
    assert not result.success, result.message
    assert result.message.endswith("nothing arrived from depth_topic /camera/aligned_depth_to_color/image_raw"), \
        result.message


def test_a_camera_pose_published_best_effort_reaches_a_reliable_capture(nodes: Nodes):
    """The camera publishes reliably (the capture then reads it reliably), the pose comes from a node publishing
    with the sensor-data QoS (best effort): a reliable reader never matches a best-effort writer, so no pose
    arrived and nothing was captured, without a warning (the request subscriptions have no QoS event handlers)."""
    from rclpy.qos import qos_profile_sensor_data

    from dff_grasp.action import CaptureViews
    from dff_grasp_ros.clients import run_action

    stop = threading.Event()
    camera = threading.Thread(target=publish_moving_rgbd_camera, args=(stop, "16UC1", 500),
                              kwargs={"pose_qos": qos_profile_sensor_data}, daemon=True)
    camera.start()
    time.sleep(1.0)  # a head start: the capture must discover the camera within the goal's time
    try:
        result = run_action(CaptureViews, names.CAPTURE_VIEWS_ACTION, CaptureViews.Goal(num_views=8, timeout_s=4.0),
                            timeout_s=40.0)
    finally:
        stop.set()
        camera.join()
    assert result.success and result.views_kept >= 8, result.message


def test_a_capture_goal_for_fewer_views_than_a_dataset_needs_is_refused_at_once(nodes: Nodes):
    """`dff-grasp capture --views 5` for a quick try: the node captured the 5 views, then wrote nothing ("5 views
    (< min_views 8)"), and called that "timed out"."""
    from dff_grasp.action import CaptureViews
    from dff_grasp_ros.clients import run_action

    started = time.monotonic()
    result = run_action(CaptureViews, names.CAPTURE_VIEWS_ACTION, CaptureViews.Goal(num_views=5, timeout_s=3.0),
                        timeout_s=40.0)
    assert not result.success and result.message.startswith("goal refused"), result.message
    assert "num_views 5" in result.message and "min_views 8" in result.message, result.message
    assert time.monotonic() - started < 2.5


def test_a_scene_update_asked_while_one_waits_is_answered_at_once(nodes: Nodes):
    """Two /dff/update_scene at once (no camera here): the second queued behind the first's wait, then waited
    its own; with the longest wait (600 s) its client gave up long before, and the update was made unreported."""
    from dff_grasp_ros.clients import update_scene

    def ask(delay_s: float, timeout_s: float) -> tuple[Any, float]:
        time.sleep(delay_s)
        reply = update_scene(timeout_s=timeout_s)  # after up to 5 s for a camera to be discovered
        return reply, time.monotonic()

    with ThreadPoolExecutor(max_workers=2) as pool:
        (first, first_end), (second, second_end) = pool.map(ask, (0.0, 1.0), (2.0, 0.5))
    assert not first.success and "no valid camera view" in first.message, first.message
    assert "nothing arrived from image_topic /camera/color/image_raw, depth_topic" in first.message, first.message
    assert not second.success and "another scene update" in second.message, second.message
    assert second_end < first_end, "the second request must not wait for the first"


@pytest.mark.parametrize("overrides", [{"gripper_max_opening_m": 0.25}, {"gripper_finger_depth_m": 0.01},
                                       {"gripper_max_opening_m": 0.5, "gripper_finger_thickness_m": 0.1}])
def test_every_gripper_the_parameter_ranges_allow_can_be_served(overrides: dict[str, float]):
    """A 0.25 m opening (in range) stopped the query node: "palm_span_m must cover both fingers at full opening",
    a dimension no parameter sets; so did fingers shorter than the fixed 20 mm pads."""
    from dataclasses import replace

    from dff_grasp_ros.nodes.params import QueryNodeParams
    from dff_grasp_ros.nodes.query import query_params

    gripper = query_params(replace(QueryNodeParams(), **overrides)).grasp.gripper
    assert gripper.max_opening_m == overrides.get("gripper_max_opening_m", 0.08)
    assert gripper.palm_span_m >= gripper.max_opening_m + 2 * gripper.finger_thickness_m
    assert gripper.pad_length_m <= gripper.finger_length_m


def test_a_scene_update_of_a_field_in_another_frame_is_refused(nodes: Nodes):
    """A field captured in 'world' served by a query node whose base_frame is 'base_link': the view's pose (read
    in base_link) would carve points given in world, removing what is there."""
    import json

    from dff_grasp.msg import FieldReady
    from dff_grasp_ros.clients import query_object, update_scene
    from dff_grasp_ros.scene_cloud import FIELD_META

    back = nodes.root / "fields" / "gt_field"
    world = nodes.root / "world_fields" / "world_field"
    shutil.copytree(back, world)
    meta = json.loads((world / FIELD_META).read_text())
    (world / FIELD_META).write_text(json.dumps({**meta, "base_frame": "world"}))
    log = nodes.log_dir / "query.log"
    served_back = log.read_text().count(f"serving field {back} ")
    try:
        publish_latched(names.FIELD_READY_TOPIC, FieldReady(field_path=str(world)), "world_trainer")
        assert wait_until(lambda: f"serving field {world}" in log.read_text(), 20.0), nodes.logs()
        started = time.monotonic()
        reply = update_scene(timeout_s=0.5)
        assert not reply.success and "frame 'world'" in reply.message and "base_link" in reply.message, reply.message
        assert time.monotonic() - started < 3.0
        assert query_object("blue mug handle").success  # queries are answered, in the field's frame
    finally:  # the field of the other tests is served again
        publish_latched(names.FIELD_READY_TOPIC, FieldReady(field_path=str(back)), "world_trainer")
        assert wait_until(lambda: log.read_text().count(f"serving field {back} ") > served_back, 20.0)


def test_nodes_given_bad_parameters_stop_at_start_with_one_line(tmp_path: Path):
    """Each of these nodes started before its fix, and ran on:
    - sim_camera.scene with 10,000 views of 1920x1080 (a valid scene): every view rendered ahead and kept, 311 GB,
      rendered on until the machine swapped;
    - default_views below min_views (capture, hand_eye): a goal for the default collected every view, then wrote
      or solved nothing;
    - contradicting gripper clearances: the line named library fields ("min_clearance_m"), no parameter;
    - device 'cuda' without CUDA (not where a GPU is): the query node refused every field, in its log only.
    The nodes start together: one start costs seconds here."""
    import subprocess
    import sys

    import yaml

    from dff_grasp_ros.synthetic import load_scene

    scene = load_scene("tiny").to_dict()
    scene["camera"] = {"width": 1920, "height": 1080, "fx": 1400.0, "fy": 1400.0}
    scene["scan"]["views"] = 10_000
    scene_file = tmp_path / "dense_scan.yaml"
    scene_file.write_text(yaml.safe_dump(scene))
    cases = {
        "sim_camera": ([f"scene:={scene_file}"], ("[sim_camera] cannot start: parameter sim_camera.scene: ",
                                                  "10000 views of 1920x1080", "GB")),
        "capture": (["default_views:=5", "min_views:=8"],
                    ("[capture] cannot start: parameters capture.default_views 5 must be >= capture.min_views 8",)),
        "hand_eye": (["default_views:=5", "min_views:=8"],
                     ("[hand_eye] cannot start: parameters hand_eye.default_views 5 must be >= hand_eye.min_views 8",)),
        "query": (["gripper_min_clearance_m:=0.01", "gripper_clearance_m:=0.004"],
                  ("[query] cannot start: parameters query.gripper_min_clearance_m 0.01 must be <= "
                   "query.gripper_clearance_m 0.004",)),
    }
    if not Path("/dev/nvidiactl").exists():  # where a GPU is, 'cuda' is a valid choice
        cases["query on cuda"] = (["device:=cuda"], ("[query] cannot start: parameter query.device is 'cuda'", "CUDA"))
    running = {}
    for case, (overrides, _) in cases.items():
        args = [arg for override in overrides for arg in ("-p", override)]
        running[case] = subprocess.Popen([sys.executable, "-m", f"dff_grasp_ros.nodes.{case.split()[0]}",
                                          "--ros-args", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         text=True, env=os.environ.copy())
    deadline = time.monotonic() + 60.0
    problems = []
    for case, process in running.items():
        try:
            _, stderr = process.communicate(timeout=max(deadline - time.monotonic(), 1.0))
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            problems.append(f"{case}: started")
            continue
        lines = [line for line in stderr.splitlines() if line.startswith("[")]
        expected = cases[case][1]
        if process.returncode != 2 or len(lines) != 1 or not lines[0].startswith(expected[0]) or \
                not all(part in lines[0] for part in expected[1:]):
            problems.append(f"{case}: exit {process.returncode}, {lines or stderr[-500:]}")
    assert not problems, problems
