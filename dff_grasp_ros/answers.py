"""Offline answers (``dff-grasp ask``, the viewer, the demo's report) in exactly the form the service gives.

The answer goes through the same response builder as the query node
(:func:`dff_grasp_ros.ros_io.query_response.fill_response`) and the same JSON conversion as ``dff-grasp query``,
so offline and ROS answers cannot drift apart.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dff_grasp_ros.errors import expand_home
from dff_grasp_ros.scene_cloud import is_complete_field, newest_field

if TYPE_CHECKING:
    from dff_grasp_ros.query.pipeline import QueryParams


def resolve_field(path: Path) -> Path:
    """A field directory, or the newest field inside a fields directory."""
    path = expand_home(path)
    if is_complete_field(path):
        return path
    newest = newest_field(path)
    if newest is None:
        raise FileNotFoundError(f"no trained field at or under {path}")
    return newest


def answer_offline(field: Path, prompt: str, relevancy_threshold: float = 0.0, device: str = "auto",
                   max_cloud_points: int = 100_000, params: QueryParams | None = None) -> dict[str, Any]:
    from dff_grasp.srv import QueryObject
    from dff_grasp_ros.clients import response_to_json
    from dff_grasp_ros.ros_io.query_response import fill_response
    from dff_grasp_ros.serving import FieldServer

    server = FieldServer(device=device, params=params)
    server.load(resolve_field(field))
    result, served = server.ask(prompt, relevancy_threshold)
    response = fill_response(QueryObject.Response(), result, served, max_cloud_points, stamp_ns=0)
    return response_to_json(response)
