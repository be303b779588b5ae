"""Bad prompts: offline (`ask`, answered by the same code as the service) and through the ROS client (`query`),
refused before anything is sent. The field is never touched."""
from __future__ import annotations

from pathlib import Path

import pytest
from bad_inputs import refused, run_cli, snapshot
from field_fixtures import ground_truth_field

from dff_grasp_ros.query.prompt import MAX_PROMPT_CHARS


@pytest.fixture(scope="module")
def field(tmp_path_factory) -> Path:
    return ground_truth_field(tmp_path_factory.mktemp("prompts") / "fields", scene="tiny")


# prompt, what the one line must say
OFFLINE_BAD_PROMPTS = [
    ("", "empty"),
    ("   \t ", "control character"),  # a tab is a control character; spaces alone are "empty"
    ("    ", "empty"),
    ("x" * (MAX_PROMPT_CHARS + 1), "too long"),
    ("mug\x01handle", "U+0001"),
    ("mug\nhandle", "U+000A"),
    ("mug\u200bhandle", "U+200B"),  # zero-width space: invisible in a log, a different string to the encoder
    ("mug\x00handle", "U+0000"),
    ("mug \udcff handle", "UTF-8"),  # a non-UTF-8 byte from the shell arrives as a lone surrogate
    ("the", "nothing to grasp"),
    (";handle", "no object before ';'"),
]


@pytest.mark.parametrize(("prompt", "says"), OFFLINE_BAD_PROMPTS, ids=[repr(p[:12]) for p, _ in OFFLINE_BAD_PROMPTS])
def test_ask_refuses_a_bad_prompt_in_one_line(capsys, field: Path, prompt: str, says: str):
    before = snapshot(field)
    run = refused(capsys, "ask", "--field", field, prompt, "--device", "cpu", code=1, names=(says,))
    assert run.line.startswith("dff-grasp ask: no grasp: ")
    assert snapshot(field) == before


def test_ask_json_refusal_is_the_documented_shape(capsys, field: Path):
    run = run_cli(capsys, "ask", "--field", field, "mug\x07handle", "--json", "--device", "cpu")
    answer = run.json()
    assert run.code == 1 and answer["success"] is False and "U+0007" in answer["message"]
    # the one line too (before 2026-12-02 --json printed only the JSON)
    assert run.err.strip() == run.line == f"dff-grasp ask: no grasp: {answer['message']}"
    assert answer["grasp"] is None and answer["candidates"] == [] and "\n" not in answer["message"]


# The ROS client refuses only what the service could not see as sent (it answers the rest itself, as
# test_ros_query.py checks); nothing reaches ROS for these.
CLIENT_BAD_REQUESTS = [
    (["mug\x00handle"], ("NUL", "position 3", "'mug'")),  # rclpy would deliver "mug" (next test)
    (["\x00"], ("NUL", "position 0", "''")),
    (["mug handle", "--threshold", "1e39"], ("threshold", "1e+39")),  # beyond float32: cannot be converted
]


@pytest.mark.parametrize(("argv", "says"), CLIENT_BAD_REQUESTS, ids=lambda v: repr(v)[:20])
def test_query_client_refuses_before_sending(capsys, monkeypatch, argv: list[str], says: tuple[str, ...]):
    import dff_grasp_ros.clients as clients

    monkeypatch.setattr(clients, "call_service", _never_called)
    refused(capsys, "query", *argv, names=says)


def _never_called(*args, **kwargs):
    raise AssertionError("the request reached ROS")


def test_rclpy_cuts_a_string_at_nul_which_is_why_the_client_refuses_it():
    """What rclpy delivers (measured with Kilted's wheels): the server receives "mug", a valid prompt it would
    answer. If this ever changes, the server could refuse it itself and README "Errors" must be updated."""
    from rclpy.serialization import deserialize_message, serialize_message

    from dff_grasp.srv import QueryObject

    sent = QueryObject.Request(prompt="mug\x00handle")
    assert deserialize_message(serialize_message(sent), QueryObject.Request).prompt == "mug"
