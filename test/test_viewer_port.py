"""The viewer serves on the port it was asked for, or refuses in one line naming it; ``--port 0`` takes a free
port and prints the URL actually served. Before 2026-12-03 viser moved to the next free port without a word when
the asked one was busy (a user opening :8080 saw another program), and ``--port 0`` was refused."""
from __future__ import annotations

import re
import socket
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from bad_inputs import refused
from field_fixtures import ground_truth_field

import dff_grasp_ros.viewer.app as app
from dff_grasp_ros.cli import EXIT_OK, main
from dff_grasp_ros.errors import InputError


@pytest.fixture(scope="module")
def field(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ground_truth_field(tmp_path_factory.mktemp("viewer_port") / "fields", scene="tiny")


@pytest.fixture
def busy_port() -> int:
    """A port another program listens on while the test runs."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def _interrupt_at_first_wait(seen: list[int] | None = None, capsys: pytest.CaptureFixture | None = None):
    """A stand-in for serve_forever's ``time``: its first sleep (the viewer is up) runs ``check``, then Ctrl-C, so
    a viewer that serves instead of refusing ends the test instead of serving forever."""
    def sleep(_seconds: float) -> None:
        if capsys is not None and seen is not None:
            printed = capsys.readouterr().out
            match = re.search(r"on http://127\.0\.0\.1:(\d+) ", printed)
            assert match, printed
            port = int(match[1])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as reply:
                seen.append(port if reply.status == 200 and b"viser" in reply.read().lower() else -1)
        raise KeyboardInterrupt

    return SimpleNamespace(sleep=sleep)


def test_a_busy_port_is_refused_naming_it(capsys, field: Path, busy_port: int, monkeypatch):
    monkeypatch.setattr(app, "time", _interrupt_at_first_wait())
    refused(capsys, "viewer", "--field", field, "--port", busy_port,
            names=(f"--port {busy_port}", "in use", "--port 0"))


def test_the_viewer_refuses_a_port_taken_after_the_check(field: Path, busy_port: int):
    """The port may be taken between the check and viser's bind: the viewer itself refuses what viser moved."""
    from dff_grasp_ros.serving import FieldServer

    server = FieldServer(device="cpu")
    server.load(field)
    with pytest.raises(InputError, match=f"--port {busy_port} .*in use"):
        viewer = app.GraspViewer(server, port=busy_port)
        viewer.stop()  # only reached when it did not refuse


def test_port_0_serves_on_a_free_port_and_prints_its_url(capsys, field: Path, monkeypatch):
    seen: list[int] = []
    monkeypatch.setattr(app, "time", _interrupt_at_first_wait(seen, capsys))
    capsys.readouterr()
    code = main(["viewer", "--field", str(field), "--port", "0"])
    err = capsys.readouterr().err
    assert code == EXIT_OK, err
    assert len(seen) == 1 and seen[0] > 0, seen  # the printed URL is the one that serves the viewer's page
