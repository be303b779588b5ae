"""trainer: the ``/train_field`` action. Teacher features + field training (GPU when present) -> a field on disk.

Thin ROS layer over :func:`dff_grasp_ros.field.fit.fit`: one goal at a time, feedback (phase, step, loss, ETA)
from its progress callback, cancellation through its ``should_stop`` hook. The field is published atomically
by ``fit``; then ``/dff/field_ready`` (transient_local) announces it. Any failure (no dataset, missing teacher
weights, NaN loss, GPU out of memory) ends the goal with a message and leaves the previous field in place.
"""
from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import torch
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from dff_grasp.action import TrainField
from dff_grasp.msg import FieldReady
from dff_grasp_ros import names
from dff_grasp_ros.dataset import TRANSFORMS, newest_dataset
from dff_grasp_ros.errors import InputError, expand_home, one_line
from dff_grasp_ros.field.fit import TrainingCancelled, fit, preload_training_code
from dff_grasp_ros.goals import check_train_request
from dff_grasp_ros.nodes.common import declare_parameters, latched_qos, spin_node
from dff_grasp_ros.nodes.params import TrainerParams
from dff_grasp_ros.ros_io.stamp import make_header
from dff_grasp_ros.scene_cloud import SCENE_CLOUD, SceneCloud, newest_field, read_field_meta
from dff_grasp_ros.teachers.base import resolve_device, teacher_pair

STOP_WAIT_S = 30.0  # on shutdown, how long a running training may take to stop and remove its staging


def teacher_settings(p: TrainerParams) -> dict[str, dict]:
    """make_teacher() settings per role from parameters (checkpoint paths when weights are not in a cache)."""
    settings: dict[str, dict] = {"language": {}, "dino": {}}
    if p.clip_checkpoint and p.teacher == "clip":
        settings["language"]["checkpoint_path"] = p.clip_checkpoint
    if p.dino_checkpoint and p.teacher == "clip":
        settings["dino"]["checkpoint_path"] = p.dino_checkpoint
    return settings


def resolve_dataset(requested: str, datasets_dir: str) -> Path:
    """The goal's dataset, or the newest one under ``datasets_dir`` for ''; one-line errors naming the path. A
    relative path (a dataset's name, as the capture's result and log give it) lies under ``datasets_dir``: the
    node's working directory is not the caller's."""
    if requested:
        path = Path(datasets_dir) / expand_home(requested)  # an absolute path stays as it is
        if not path.is_dir():
            raise FileNotFoundError(f"dataset {path} does not exist" if not path.exists() else
                                    f"dataset {path} is a file, not a dataset folder")
        if not (path / TRANSFORMS).is_file():
            raise FileNotFoundError(f"{path} is not a dataset (no {TRANSFORMS})")
        return path
    newest = newest_dataset(Path(datasets_dir))
    if newest is None:
        raise FileNotFoundError(f"no dataset under {datasets_dir}: capture one first ({names.CAPTURE_VIEWS_ACTION})")
    return newest


def goal_problem(goal: TrainField.Goal, datasets_dir: str) -> str | None:
    """Why a goal must be refused before any work (absurd steps, a dataset that is not there), or None."""
    try:
        check_train_request(int(goal.max_steps))
        resolve_dataset(goal.dataset_path, datasets_dir)
    except (InputError, OSError) as err:  # OSError: a path the system refuses (too long...), named by one_line
        return one_line(err)
    return None


def stopped_message(fields_dir: Path, cancelled: bool) -> str:
    """Why a training ended without a field, and what is served meanwhile: "the previous field is still served"
    was said when no field had ever been trained (bad-input hunt)."""
    previous = newest_field(fields_dir)
    kept = f"the field trained before ({previous.name}) is still the newest" if previous else "no field exists yet"
    why = "training cancelled" if cancelled else "training stopped: the trainer is shutting down"
    return f"{why}; nothing was written, {kept}"


class TrainerNode(Node):
    """Serves the ``/train_field`` action, one goal at a time."""

    NODE_NAME = "trainer"

    def __init__(self) -> None:
        super().__init__(self.NODE_NAME)
        self.p = declare_parameters(self, TrainerParams)
        teacher_pair(self.p.teacher)  # an unknown teacher or a missing GPU stops the node now, not the first goal
        resolve_device(self.p.device)
        if self.p.cpu_threads:
            torch.set_num_threads(self.p.cpu_threads)
        self.busy = threading.Lock()
        self.stopping = threading.Event()
        self.pub_ready = self.create_publisher(FieldReady, names.FIELD_READY_TOPIC, latched_qos())
        self.server = ActionServer(self, TrainField, names.TRAIN_FIELD_ACTION, execute_callback=self.execute,
                                   goal_callback=self.on_goal, cancel_callback=lambda _: CancelResponse.ACCEPT,
                                   callback_group=ReentrantCallbackGroup())
        # In the background, as the query node loads the teachers' code: a goal sent meanwhile just waits on the
        # import lock.
        threading.Thread(target=preload_training_code, name="training-import", daemon=True).start()
        threads = (f"{torch.get_num_threads()} CPU threads" if self.p.cpu_threads or torch.get_num_threads() == 1
                   else f"{torch.get_num_threads()} CPU threads, one fewer while another process keeps a core busy")
        self.get_logger().info(f"ready: teacher {self.p.teacher}, method {self.p.method}, device {self.p.device} "
                               f"({threads}), fields in {self.p.fields_dir}")

    def on_goal(self, goal: TrainField.Goal) -> GoalResponse:
        """Accept every goal: a refusal is delivered by :meth:`execute` as a result whose message says why.

        (A rejected ROS goal carries no reason; the client would only learn "rejected".) Nothing is started
        for a refused goal, and it does not take the trainer: the next valid goal trains.
        """
        return GoalResponse.ACCEPT

    def refuse(self, goal_handle, reason: str) -> TrainField.Result:
        message = f"goal refused: {reason}"
        self.get_logger().warning(message)
        goal_handle.abort()
        return TrainField.Result(success=False, message=message)

    def execute(self, goal_handle) -> TrainField.Result:
        problem = goal_problem(goal_handle.request, self.p.datasets_dir)
        if problem:
            return self.refuse(goal_handle, problem)
        if not self.busy.acquire(blocking=False):
            return self.refuse(goal_handle, "a training is already running; wait for it or cancel it")
        try:
            return self.train(goal_handle)
        finally:
            self.busy.release()

    def train(self, goal_handle) -> TrainField.Result:
        result = TrainField.Result()
        started = time.monotonic()
        try:
            dataset = resolve_dataset(goal_handle.request.dataset_path, self.p.datasets_dir)
            steps = int(goal_handle.request.max_steps) or self.p.steps or None
            self.get_logger().info(f"training on {dataset}")
            goal_handle.publish_feedback(TrainField.Feedback(phase="teacher_features"))

            def publish(feedback: TrainField.Feedback) -> None:
                try:
                    goal_handle.publish_feedback(feedback)
                except Exception:
                    if not self.shutting_down:
                        raise
                    raise TrainingCancelled("the trainer is shutting down") from None

            def progress(step: int, total: int, losses: dict, eta_s: float) -> None:
                publish(TrainField.Feedback(
                    phase="training" if step < total else "exporting", step=int(step), total_steps=int(total),
                    loss=float(losses.get("loss", sum(losses.values()) if losses else 0.0)), eta_s=float(eta_s)))

            def features_progress(teacher: str, views_done: int, views_total: int) -> None:
                # step / total_steps count views in this phase (README: the TrainField feedback)
                publish(TrainField.Feedback(phase="teacher_features", step=views_done, total_steps=views_total))

            field_dir = fit(dataset, Path(self.p.fields_dir), steps=steps, teacher=self.p.teacher,
                            device=self.p.device, method=self.p.method,
                            teacher_settings=teacher_settings(self.p), progress=progress,
                            should_stop=lambda: goal_handle.is_cancel_requested or self.shutting_down,
                            features_progress=features_progress, cpu_threads=self.p.cpu_threads)
        except TrainingCancelled:
            result.message = stopped_message(Path(self.p.fields_dir), cancelled=goal_handle.is_cancel_requested)
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
            else:  # the node is shutting down: its action server may already be gone, nobody to tell
                with contextlib.suppress(Exception):
                    goal_handle.abort()
            return result
        except Exception as err:
            result.message = f"training failed: {one_line(err)}"
            if self.shutting_down:  # the failure is the shutdown's (a dead publisher); nobody is left to tell
                return result
            self.get_logger().error(result.message)
            goal_handle.abort()
            return result
        result.training_time_s = time.monotonic() - started
        result.success = True
        result.checkpoint_path = str(field_dir)
        result.message = f"field written to {field_dir} in {result.training_time_s:.1f} s"
        self.get_logger().info(result.message)
        self.announce(field_dir, dataset)
        goal_handle.succeed()
        return result

    def announce(self, field_dir: Path, dataset: Path) -> None:
        """Latch ``/dff/field_ready`` for the query node (and anyone joining later)."""
        meta = read_field_meta(field_dir)
        self.pub_ready.publish(FieldReady(
            header=make_header(self.p.base_frame, self.get_clock().now().nanoseconds),
            field_path=str(field_dir), dataset_path=str(dataset),
            language_teacher=str(meta.get("language_teacher", {}).get("name", self.p.teacher)),
            num_points=len(SceneCloud.load(field_dir / SCENE_CLOUD))))

    @property
    def shutting_down(self) -> bool:
        """Ctrl-C/SIGTERM: rclpy invalidates the context first, then spin_node calls :meth:`close`."""
        return self.stopping.is_set() or not self.context.ok()

    def close(self) -> None:
        """On shutdown: stop a running training between steps, so that it removes its staging folder."""
        self.stopping.set()
        if self.busy.acquire(timeout=STOP_WAIT_S):
            self.busy.release()


def main(args: list[str] | None = None) -> int:
    return spin_node(TrainerNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
