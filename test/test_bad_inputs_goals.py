"""Absurd goals: refused by the clients before sending, by the servers with a reason the client sees, and by the
offline tools before work. The runaway of issue 13 (`train --steps -1` started a 4,294,967,295-step job that
took the trainer) as a DDS test: the bad goals are refused and the next valid goal trains."""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import pytest
from bad_inputs import refused, run_cli
from ros_helpers import logs, start_nodes

import dff_grasp_ros.clients as clients
from dff_grasp_ros import names
from dff_grasp_ros.errors import InputError
from dff_grasp_ros.goals import MAX_CAPTURE_VIEWS, MAX_TRAIN_STEPS, check_capture_request, check_train_request
from dff_grasp_ros.process_group import ProcessGroup

CLIENT_GOALS = [
    (["train", "--steps", "-1"], ("training steps", "got -1")),
    (["train", "--steps", "4294967295"], ("training steps", "4,294,967,295")),
    (["train", "--steps", str(MAX_TRAIN_STEPS + 1)], ("between 0 and 1,000,000",)),
    (["train", "--steps", "1e3"], ("invalid int value: '1e3'",)),
    (["capture", "--views", "-1"], ("views", "got -1")),
    (["capture", "--views", str(MAX_CAPTURE_VIEWS + 1)], ("views", "10,001")),
    (["capture", "--timeout", "-5"], ("timeout", "-5")),
    (["capture", "--timeout", "nan"], ("timeout", "nan")),
    (["capture", "--timeout", "inf"], ("timeout", "inf")),
    # Before 2026-12-02 these were sent: -1 made rclpy raise SystemError ("unexpected"), NaN reached the node.
    (["calibrate", "--live", "--num-views", "-1"], ("calibration views", "got -1")),
    (["calibrate", "--live", "--num-views", "1001"], ("calibration views", "1,001")),
    (["calibrate", "--live", "--timeout", "nan"], ("calibration timeout", "nan")),
    (["scan-poses", "--count", "-1"], ("scan pose count", "got -1")),
    (["scan-poses", "--radius-m", "nan"], ("radius_m", "nan")),
    (["scan-poses", "--center", "0.5", "inf", "0"], ("center", "inf")),
    # Finite but far beyond any cell (the scan_center_* range): 1e30 made the node's poses NaN and killed it.
    (["scan-poses", "--center", "1e30", "1e30", "1e30"], ("center", "[-10, 10] m", "1e+30")),
    (["scan-poses", "--center", "0.5", "0", "1e17"], ("center", "1e+17")),
    (["scan-poses", "--min-elevation-deg", "80", "--max-elevation-deg", "10"], ("elevations", "[80.0, 10.0]")),
]


@pytest.mark.parametrize(("argv", "says"), CLIENT_GOALS, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_the_client_refuses_an_absurd_goal_before_sending(capsys, monkeypatch, argv, says):
    monkeypatch.setattr(clients, "run_action", _never_sent)
    monkeypatch.setattr(clients, "call_service", _never_sent)
    refused(capsys, *argv, names=says)


@pytest.mark.parametrize("argv", [["calibrate", "--live", "--num-views", "-1"], ["scan-poses", "--count", "-1"]])
def test_a_refused_request_with_json_prints_the_failure_json(capsys, monkeypatch, argv):
    monkeypatch.setattr(clients, "run_action", _never_sent)
    monkeypatch.setattr(clients, "call_service", _never_sent)
    run = refused(capsys, *argv, "--json", names=("got -1",))
    assert run.json()["success"] is False and "got -1" in run.json()["message"]


def _never_sent(*args, **kwargs):
    raise AssertionError("the goal was sent")


@pytest.mark.parametrize("steps", ["-1", str(MAX_TRAIN_STEPS + 1)])
def test_offline_fit_refuses_absurd_steps_before_training(capsys, tmp_path: Path, steps: str):
    refused(capsys, "fit", "--dataset", tmp_path / "any", "--out", tmp_path / "fields", "--steps", steps,
            "--teacher", "synthetic", "--device", "cpu", names=("training steps",))
    assert not (tmp_path / "fields").exists()


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"teacher": "gpt"}, "unknown teacher 'gpt'"),
    ({"method": "dff-huge"}, "unknown dff method 'dff-huge'"),
])
def test_offline_fit_refuses_bad_settings_before_training(capsys, tmp_path: Path, kwargs, says):
    argv = ["fit", "--dataset", tmp_path / "any", "--out", tmp_path / "fields", "--device", "cpu"]
    for key, value in kwargs.items():
        argv += [f"--{key}", value]
    refused(capsys, *argv, names=(says,))
    assert not (tmp_path / "fields").exists()


def test_the_server_side_check_names_the_reason(tmp_path: Path):
    from dff_grasp.action import TrainField
    from dff_grasp_ros.nodes.trainer import goal_problem

    (tmp_path / "file").write_text("x")
    (tmp_path / "not_a_dataset").mkdir()
    cases = [(TrainField.Goal(max_steps=4294967295), "4,294,967,295"),
             (TrainField.Goal(dataset_path=str(tmp_path / "gone")), "does not exist"),
             (TrainField.Goal(dataset_path=str(tmp_path / "file")), "is a file"),
             (TrainField.Goal(dataset_path=str(tmp_path / "not_a_dataset")), "no transforms.json"),
             (TrainField.Goal(), "no dataset under"),
             # before 2026-12-02 an OSError out of the execute callback: a traceback in the node's log and an
             # empty result message for the client
             (TrainField.Goal(dataset_path="/" + "x" * 5000), "File name too long")]
    for goal, says in cases:
        assert says in goal_problem(goal, str(tmp_path / "datasets")), goal


@pytest.mark.parametrize(("views", "timeout"), [(-1, 0.0), (True, 0.0), (1.5, 0.0), (1, -1.0), (1, float("nan"))])
def test_capture_request_limits(views, timeout):
    with pytest.raises(InputError):
        check_capture_request(views, timeout)


def test_the_limits_accept_ordinary_requests():
    assert check_train_request(0) == 0 and check_train_request(MAX_TRAIN_STEPS) == MAX_TRAIN_STEPS
    assert check_capture_request(48, 120.0) == (48, 120.0)


@pytest.mark.ros
@pytest.mark.slow
def test_a_runaway_goal_is_refused_and_the_next_valid_goal_trains(capsys, tmp_path: Path, ros_env: dict[str, str]):
    from dff_grasp.action import TrainField
    from dff_grasp_ros.clients import run_action
    from dff_grasp_ros.scene_cloud import is_complete_field
    from dff_grasp_ros.synthetic import render_dataset

    datasets, fields = tmp_path / "datasets", tmp_path / "fields"
    dataset = render_dataset("tiny", datasets)
    os.environ.update(ros_env)
    trainer = {"datasets_dir": str(datasets), "fields_dir": str(fields), "teacher": "synthetic",
               "method": "dff-tiny", "device": "cpu", "steps": 20}
    with ProcessGroup() as group:
        start_nodes(group, {"trainer": trainer}, ros_env, tmp_path / "logs")

        def send(goal: TrainField.Goal) -> TrainField.Result:
            # The trainer imports torch and nerfstudio first: under load more than the client's default 30 s
            # (seen once with a bench on the other core), as the other DDS tests allow for.
            return run_action(TrainField, names.TRAIN_FIELD_ACTION, goal, timeout_s=600, server_wait_s=60.0)

        # The command: refused by the client, nothing sent.
        run = refused(capsys, "train", "--steps", "-1", names=("training steps", "got -1"))
        assert run.out == ""
        # What the client used to do: rclpy fails converting -1 for the uint32 field (SystemError), yet the goal
        # reached the trainer as 4,294,967,295 steps. Now the trainer refuses it and stays free.
        with pytest.raises(SystemError):
            send(TrainField.Goal(max_steps=-1))
        # The same goal sent whole: refused by the server with its reason, at once, without taking the trainer.
        result = send(TrainField.Goal(max_steps=4294967295))
        assert not result.success and result.message.startswith("goal refused: training steps"), result.message
        assert "4,294,967,295" in result.message
        result = send(TrainField.Goal(dataset_path=str(tmp_path / "no_such_scan")))
        assert not result.success and "no_such_scan does not exist" in result.message
        assert not fields.exists() or list(fields.iterdir()) == []
        # The trainer is free: the next valid goal trains (through the CLI, as a user would).
        run = run_cli(capsys, "train", "--steps", "20", "--dataset", str(dataset))
        assert run.code == 0, run.err + logs(tmp_path / "logs")
        assert is_complete_field(Path(run.out.strip().splitlines()[-1]))
    # Measured: both 4,294,967,295-step goals reach the trainer (the -1 one despite the client's SystemError) and
    # both are refused; only the whole one is asserted, the other depends on rclpy's conversion order.
    assert (tmp_path / "logs" / "trainer.log").read_text().count("goal refused: training steps") in (1, 2)


@contextmanager
def fake_trainer(action: str, execute: Callable[[Any], Any]) -> Iterator[None]:
    """A TrainField server on ``action`` with ``execute``, in its own node and thread, for the ``with`` block."""
    from rclpy.action import ActionServer
    from rclpy.executors import SingleThreadedExecutor

    from dff_grasp.action import TrainField
    from dff_grasp_ros.clients import ros_node

    stop = threading.Event()

    def serve() -> None:
        with ros_node("fake_trainer") as node:
            server = ActionServer(node, TrainField, action, execute_callback=execute)
            executor = SingleThreadedExecutor(context=node.context)
            executor.add_node(node)
            while not stop.is_set():
                executor.spin_once(timeout_sec=0.05)
            server.destroy()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def lose_goals(monkeypatch, lost: str, sends: list, response_wait_s: float) -> None:
    """Action clients lose what ``lost`` says: every goal's "response", the "first goal" request, or "every goal"
    request (each send is counted in ``sends``); a goal response is given up on after ``response_wait_s``."""
    from rclpy.action import ActionClient
    from rclpy.task import Future

    original = ActionClient.send_goal_async

    def lossy(self, goal, feedback_callback=None, goal_uuid=None):
        sends.append(1)
        if lost == "response" or (lost == "first goal" and len(sends) > 1):
            original(self, goal, feedback_callback, goal_uuid)  # it reaches the server; its answer never comes back
        return Future()

    monkeypatch.setattr(ActionClient, "send_goal_async", lossy)
    monkeypatch.setattr(clients, "GOAL_RESPONSE_WAIT_S", response_wait_s)


@pytest.mark.ros
def test_a_lost_result_response_does_not_hang_the_client(monkeypatch, ros_env: dict[str, str]):
    """Once, on the loaded 2-core machine, the client waited 15 minutes for a field the trainer had written in
    49 s (not reproduced in reruns; a lost result response fits). The client now asks again once the goal's
    status says it ended; here the first answer is lost on purpose."""
    from rclpy.action.client import ClientGoalHandle
    from rclpy.task import Future

    from dff_grasp.action import TrainField
    from dff_grasp_ros.clients import run_action

    os.environ.update(ros_env)

    def execute(goal_handle):
        goal_handle.succeed()
        return TrainField.Result(success=True, checkpoint_path="/fields/f")

    original, asked = ClientGoalHandle.get_result_async, []

    def first_answer_lost(self):
        asked.append(1)
        return Future() if len(asked) == 1 else original(self)

    monkeypatch.setattr(ClientGoalHandle, "get_result_async", first_answer_lost)
    with fake_trainer("/bad_inputs_lost_result", execute):
        result = run_action(TrainField, "/bad_inputs_lost_result", TrainField.Goal(), timeout_s=30)
    assert result.success and result.checkpoint_path == "/fields/f" and len(asked) >= 2


@pytest.mark.ros
def test_a_lost_result_is_asked_again_soon_when_the_goal_status_is_unknown(monkeypatch, ros_env: dict[str, str]):
    """In `make test` the test above timed out after 30 s: its goal's status updates never reached the handle (the
    goal ended before its handle was registered, or the handle was made after a lost goal response), so the
    client asked again only after RESULT_RETRY_S. Now it asks again after 2, 4, 8 ... s up to RESULT_RETRY_S; here
    the goal response and the first result are both lost."""
    from rclpy.action import ActionClient
    from rclpy.action.client import ClientGoalHandle
    from rclpy.task import Future

    from dff_grasp.action import TrainField
    from dff_grasp_ros.clients import run_action

    os.environ.update(ros_env)
    action = "/bad_inputs_lost_status"
    def execute(goal_handle):
        goal_handle.succeed()
        return TrainField.Result(success=True, checkpoint_path="/fields/s")

    send_goal, get_result, asked = ActionClient.send_goal_async, ClientGoalHandle.get_result_async, []

    def goal_response_lost(self, goal, feedback_callback=None, goal_uuid=None):
        send_goal(self, goal, feedback_callback, goal_uuid)
        return Future()

    def first_answer_lost(self):
        asked.append(1)
        return Future() if len(asked) == 1 else get_result(self)

    monkeypatch.setattr(ActionClient, "send_goal_async", goal_response_lost)
    monkeypatch.setattr(ClientGoalHandle, "get_result_async", first_answer_lost)
    monkeypatch.setattr(clients, "GOAL_RESPONSE_WAIT_S", 1.0)
    with fake_trainer(action, execute):
        result = run_action(TrainField, action, TrainField.Goal(), timeout_s=20)
    assert result.success and result.checkpoint_path == "/fields/s" and len(asked) >= 2


@pytest.mark.ros
@pytest.mark.parametrize("lost", ["response", "first goal", "every goal"])
def test_a_lost_goal_response_does_not_fail_the_client(monkeypatch, ros_env: dict[str, str], lost: str):
    """In make test a capture server logged "failed to send response (timeout)" for a goal it then executed, and
    the client failed after 30 s without a goal handle. Now it asks for the result by the goal's id. In later runs
    of make test the goal request itself was lost (the capture server answered "unknown goal" for 30 s, and two
    capture tests failed); the client now sends it again while the server does not know it. Only a goal the server
    never gets is an error that says so, not a wait until the timeout."""

    from dff_grasp.action import TrainField
    from dff_grasp_ros.clients import RosCallError, run_action

    os.environ.update(ros_env)
    executed, sends = [], []
    action = f"/bad_inputs_lost_{lost.replace(' ', '_')}"

    def execute(goal_handle):
        executed.append(1)
        time.sleep(1.0)
        goal_handle.succeed()
        return TrainField.Result(success=True, checkpoint_path="/fields/g")

    lose_goals(monkeypatch, lost, sends, response_wait_s=1.0)
    with fake_trainer(action, execute):
        if lost != "every goal":
            result = run_action(TrainField, action, TrainField.Goal(), timeout_s=30)
            assert result.success and result.checkpoint_path == "/fields/g" and executed == [1]
            assert (len(sends) == 1) == (lost == "response"), sends
        else:
            started = time.monotonic()
            with pytest.raises(RosCallError, match="never received the goal"):
                run_action(TrainField, action, TrainField.Goal(), timeout_s=30, server_wait_s=5.0)
            assert time.monotonic() - started < 12 and executed == [] and len(sends) >= 2


@pytest.mark.ros
@pytest.mark.parametrize("lost", ["response", "first goal"])
def test_feedback_reaches_the_client_after_a_lost_goal(monkeypatch, ros_env: dict[str, str], lost: str):
    """In make test the capture's feedback never reached `test_ros_scan_end`'s client in 50 s although the server
    published it every 0.5 s: its first goal request was lost, the server answered the result request "unknown
    goal", and rclpy then drops the goal's feedback callback (its result is in) after the client had registered it
    again with the resent goal. Feedback now comes from the client's own subscription, by goal id."""

    from dff_grasp.action import TrainField
    from dff_grasp_ros.clients import run_action

    os.environ.update(ros_env)
    sends, received = [], []
    action = f"/bad_inputs_feedback_{lost.replace(' ', '_')}"

    def execute(goal_handle):
        for step in range(1, 16):
            goal_handle.publish_feedback(TrainField.Feedback(phase="training", step=step, total_steps=15))
            time.sleep(0.2)
        goal_handle.succeed()
        return TrainField.Result(success=True, checkpoint_path="/fields/h")

    lose_goals(monkeypatch, lost, sends, response_wait_s=0.5)
    with fake_trainer(action, execute):
        result = run_action(TrainField, action, TrainField.Goal(), timeout_s=30, on_feedback=received.append)
        assert result.success and result.checkpoint_path == "/fields/h"
        assert (len(sends) == 1) == (lost == "response"), sends
        assert len(received) >= 5 and received[-1].step > received[0].step, [fb.step for fb in received]


@pytest.mark.parametrize(("argv", "says"), [
    (["--steps", "-1"], ("training steps", "got -1")),
    (["--clear", "--steps", "4294967295"], ("training steps", "4,294,967,295")),
    (["--device", "cuda"], ("--device cuda", "no CUDA GPU")),
    # before 2026-12-03 (third bad-input hunt) refused only once --out held a new, empty data/run_* folder
    (["--method", "nope"], ("trainer.method must be one of dff, dff-tiny, got 'nope'",)),
    (["--clear", "--scene", "bin", "--method", "dff-huge"], ("trainer.method", "'dff-huge'")),
])
def test_the_demo_refuses_a_bad_request_before_starting_nodes(capsys, tmp_path: Path, monkeypatch, argv, says):
    """Before 2026-12-02 the steps were first checked when the training goal was sent: after the nodes were up
    and the whole scan captured ("[demo] FAILED: ...", exit 1); a missing GPU stopped the trainer at start."""
    import torch

    import dff_grasp_ros.demo as demo

    if "cuda" in argv and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    monkeypatch.setattr(demo, "bring_up", _never_sent)
    out = tmp_path / "out"
    refused(capsys, "demo", *argv, "--out", out, names=says)
    assert not out.exists()


def test_a_calibration_goal_whose_result_cannot_be_written_is_refused_before_collecting(tmp_path: Path):
    """Before 2026-12-02 output_path was first used after the whole session: the result was computed and lost."""
    from types import SimpleNamespace

    from dff_grasp.action import CalibrateHandEye
    from dff_grasp_ros.nodes.hand_eye import HandEyeNode

    (tmp_path / "a_file").write_text("x")
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    node = SimpleNamespace(p=SimpleNamespace(min_views=3), calibration_dir=tmp_path / "calibration")
    node.result_path = lambda request: HandEyeNode.result_path(node, request)  # relative paths: under calibration_dir
    cases = [(str(tmp_path), "is a folder"), (str(tmp_path / "a_file" / "hand_eye.yaml"), "a_file is a file"),
             ("/" + "x" * 5000 + ".yaml", "File name too long"),
             # before 2026-12-03 (hunt-left) accepted, then "File exists: .../loop" once the result was computed
             (str(tmp_path / "loop" / "hand_eye.yaml"), f"{tmp_path / 'loop'} is a symbolic link to nothing"),
             (str(tmp_path / "dangling" / "a" / "hand_eye.yaml"), f"{tmp_path / 'dangling'} is a symbolic link")]
    for output_path, says in cases:
        problem = HandEyeNode.goal_problem(node, CalibrateHandEye.Goal(num_views=15, output_path=output_path))
        assert problem and says in problem, (output_path[:40], problem)
    assert HandEyeNode.goal_problem(node, CalibrateHandEye.Goal(output_path=str(tmp_path / "new.yaml"))) is None


@pytest.mark.parametrize(("output_path", "says"), [
    ("~no_such_user_dff/hand_eye.yaml", "no user 'no_such_user_dff'"),
    ("$DFF_UNSET_FOLDER_VAR/hand_eye.yaml", "$DFF_UNSET_FOLDER_VAR, which is not set"),
    ("cell_${DFF_UNSET_FOLDER_VAR}.yaml", "$DFF_UNSET_FOLDER_VAR, which is not set")])
def test_a_calibration_goal_into_a_path_that_expands_to_nothing_is_refused_before_collecting(
        tmp_path: Path, monkeypatch, output_path: str, says: str):
    """Before 2026-12-03 (hunt-left) output_path '~no_such_user_dff/...' or '$UNSET/...' stayed literal: the result
    went to a folder of that name under calibration_dir (only parameter files refused them)."""
    monkeypatch.delenv("DFF_UNSET_FOLDER_VAR", raising=False)
    from types import SimpleNamespace

    from dff_grasp.action import CalibrateHandEye
    from dff_grasp_ros.nodes.hand_eye import HandEyeNode

    errors: list[str] = []
    node = SimpleNamespace(p=SimpleNamespace(min_views=3), calibration_dir=tmp_path / "calibration",
                           lock=threading.Lock(), busy=True,
                           get_logger=lambda: SimpleNamespace(error=errors.append))
    node.result_path = lambda request: HandEyeNode.result_path(node, request)
    node.goal_problem = lambda request: HandEyeNode.goal_problem(node, request)
    node.collect_and_solve = lambda *args: pytest.fail("the goal was started")
    aborted = []
    handle = SimpleNamespace(request=CalibrateHandEye.Goal(output_path=output_path), abort=lambda: aborted.append(True))
    result = HandEyeNode.execute(node, handle)
    assert not result.success and aborted and not node.busy
    for said in (output_path, says):
        assert said in result.message, result.message
    assert "\n" not in result.message and errors == [result.message]
    assert not (tmp_path / "calibration").exists()


def test_calibrate_checks_out_before_reading_any_view(capsys, tmp_path: Path):
    refused(capsys, "calibrate", "--views", tmp_path / "no_views", "--out", tmp_path, "--json",
            names=(f"output file {tmp_path} is a folder",))
