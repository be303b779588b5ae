"""Every ROS name dff_grasp serves or listens on, in one place (nodes, clients, tests, the .rviz file).

All absolute, so a node's namespace never moves them apart from the clients and RViz; remap them in the launch
file if a cell needs other names. Camera topics are not here: they are node parameters, because they depend on
the camera driver.
"""
from __future__ import annotations

QUERY_OBJECT_SERVICE = "/query_object"
CAPTURE_VIEWS_ACTION = "/capture_views"
TRAIN_FIELD_ACTION = "/train_field"
UPDATE_SCENE_SERVICE = "/dff/update_scene"
SCAN_POSES_SERVICE = "/scan_poses"
CALIBRATE_HAND_EYE_ACTION = "/calibrate_hand_eye"

FIELD_READY_TOPIC = "/dff/field_ready"
RELEVANCY_CLOUD_TOPIC = "/dff/relevancy_cloud"
GRASP_POSE_TOPIC = "/dff/grasp_pose"
GRASP_MARKERS_TOPIC = "/dff/grasp_markers"
SCAN_STATUS_TOPIC = "/dff/scan_status"

# A simulated camera latches its scene here (JSON) so that a capture can record it for the synthetic teacher.
SIM_SCENE_TOPIC = "/sim_camera/scene"
# A simulated camera takes a changed scene here (JSON, the scene YAML's schema; transient_local): the test bed's
# world after a pick. It then shows the new scene from an overview pose and latches it on SIM_SCENE_TOPIC.
SIM_SET_SCENE_TOPIC = "/sim_camera/set_scene"


def frame_name(frame_id: object) -> str:
    """A TF frame name as tf2 compares it: without the leading slash ROS 1 wrote ("/base_link" is "base_link")."""
    return str(frame_id).lstrip("/")
