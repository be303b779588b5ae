"""Execute a grasp with the tool it was planned for: the parallel-jaw hand or the suction cup (one dispatch for the
answers' JSON, the clearing loop and the benches)."""
from __future__ import annotations

import numpy as np

from dff_grasp_ros.grasp.gripper import ParallelJawGripper
from dff_grasp_ros.grasp.suction_cup import SUCTION, SuctionCup, check_end_effector
from dff_grasp_ros.synthetic.physics.execute import Execution, execute_grasp
from dff_grasp_ros.synthetic.physics.suction import execute_suction
from dff_grasp_ros.synthetic.spec import Scene


def execute_with_tool(scene: Scene | str, object_id: int, end_effector: str, rotation: np.ndarray,
                      position_m: np.ndarray, opening_m: float, pre_grasp_position_m: np.ndarray | None,
                      gripper: ParallelJawGripper | None = None, cup: SuctionCup | None = None,
                      record: bool = True) -> Execution:
    """:func:`execute_suction` for a suction grasp (``cup``), else :func:`execute_grasp` (``gripper``, opened to
    ``opening_m``); defaults: the query node's tools. ValueError naming an unknown ``end_effector``."""
    if check_end_effector(end_effector) == SUCTION:
        return execute_suction(scene, object_id, rotation, position_m, pre_grasp_position_m, cup, record)
    return execute_grasp(scene, object_id, rotation, position_m, opening_m, pre_grasp_position_m, gripper, record)
