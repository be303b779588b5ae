"""Which tool model draws an answer's grasp: the parallel-jaw gripper or the suction cup of the query's settings.

Both models give ``boxes(opening_m)`` in the TCP frame (the cup ignores the opening), the boxes the planner checked,
so the RViz markers, the viewer and the demo's pictures draw what was checked for the tool the answer is for.
"""
from __future__ import annotations

from typing import Any

from dff_grasp_ros.grasp.suction_cup import PARALLEL_JAW, SUCTION, check_end_effector


def tool_model(end_effector: str, params: Any = None) -> Any:
    """The model of ``end_effector`` in ``params`` (a :class:`~dff_grasp_ros.query.pipeline.QueryParams`; default:
    the library's); ValueError naming an unknown one."""
    check_end_effector(end_effector)
    if params is None:
        from dff_grasp_ros.query.pipeline import QueryParams

        params = QueryParams()
    return {PARALLEL_JAW: params.grasp.gripper, SUCTION: params.suction.cup}[end_effector]
