"""The web viewer in headless Chromium: typing a prompt and pressing the button shows a grasp on the page."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from field_fixtures import ground_truth_field

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The flags this machine's closed network needs (no background connections), plus software GL for WebGL.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


def test_prompt_in_browser_produces_a_grasp(tmp_path: Path):
    from playwright.sync_api import sync_playwright

    from dff_grasp_ros.serving import FieldServer
    from dff_grasp_ros.viewer.app import GraspViewer, free_port

    assert os.path.exists(CHROMIUM), "chromium is installed by tools/setup_env.py"
    server = FieldServer(device="cpu")
    server.load(ground_truth_field(tmp_path / "fields", scene="tiny"))
    viewer = GraspViewer(server, port=free_port("127.0.0.1"), initial_prompt="")
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"http://127.0.0.1:{viewer.port}", wait_until="domcontentloaded")
                page.get_by_text("Connected").wait_for(timeout=60_000)  # websocket up: inputs reach the server
                # The GUI may re-render while the initial scene streams in; type until the server has the value.
                deadline = time.monotonic() + 60
                while viewer.prompt.value != "mug handle" and time.monotonic() < deadline:
                    prompt_box = page.get_by_role("textbox").first
                    prompt_box.fill("mug handle")
                    prompt_box.press("Tab")
                    page.wait_for_timeout(1000)
                assert viewer.prompt.value == "mug handle", "the typed prompt never reached the viewer"
                page.get_by_role("button", name="Find grasp").click()
                page.wait_for_function("() => /grasp found|no grasp/.test(document.body.innerText)",
                                       timeout=60_000)
                text = page.inner_text("body")
                page.screenshot(path=str(ARTIFACTS / "viewer_mug_handle.png"))
            finally:
                browser.close()
    finally:
        viewer.stop()
    assert "grasp found" in text, text
    assert "position_m" in text and "width_m" in text
    assert server.current is not None
    assert "/grasp/palm" in viewer._gripper_names and "/grasp/finger_left" in viewer._gripper_names
