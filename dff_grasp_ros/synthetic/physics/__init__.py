"""The physics judge: execute an answered grasp in MuJoCo and say whether it lifts the asked object.

Test bed only (the product core never imports it, and the query never calls it)::

    execute_grasp(scene, object_id, rotation, position_m, opening_m, pre_grasp_position_m=None) -> Execution
    execute_suction(scene, object_id, rotation, position_m, pre_grasp_position_m=None, cup=None) -> Execution
    execute_with_tool(scene, object_id, end_effector, rotation, position_m, opening_m, pre_grasp_position_m)
    execute_push(scene, object_id, rotation, pre_push_position_m, start_position_m, end_position_m) -> PushExecution
    pushed_scene(scene, push_execution) -> Scene                     (the scene with the pushed objects moved)
    execute_answer(scene, answer_json, prompt=None) -> Execution     (the object from the prompt and ground truth,
                                                                      the end effector from the answer)
    draw_execution_strip(path, scene, execution, title)              (approach, closed, lifted)
    physics_scene(scene, gripper) -> PhysicsScene                    (compiled model, objects settled; cached)

``Execution.outcome`` is one of :data:`OUTCOMES`: lifted, slipped, missed, collided, lifted_other
(:mod:`.execute` says what each means, :mod:`.suction` how a cup seals and holds); masses and friction are
documented in :mod:`.materials`. ``PushExecution.outcome`` is one of :data:`PUSH_OUTCOMES` (:mod:`.push`).
"""
from dff_grasp_ros.synthetic.physics.execute import OUTCOMES, Execution, Snapshot, execute_answer, execute_grasp
from dff_grasp_ros.synthetic.physics.model import PhysicsScene, physics_scene
from dff_grasp_ros.synthetic.physics.pictures import draw_execution_strip
from dff_grasp_ros.synthetic.physics.push import PUSH_OUTCOMES, PushExecution, execute_push, pushed_scene
from dff_grasp_ros.synthetic.physics.suction import execute_suction
from dff_grasp_ros.synthetic.physics.tools import execute_with_tool

__all__ = ["OUTCOMES", "PUSH_OUTCOMES", "Execution", "PhysicsScene", "PushExecution", "Snapshot",
           "draw_execution_strip", "execute_answer", "execute_grasp", "execute_push", "execute_suction",
           "execute_with_tool", "physics_scene", "pushed_scene"]
