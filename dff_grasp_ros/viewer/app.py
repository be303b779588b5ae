"""Web viewer (viser): the scene cloud, the relevancy overlay and the tool (gripper or suction cup), with a prompt box.

``dff-grasp viewer --field DIR`` serves it on http://localhost:8080 (``--port 0``: any free port, printed); a port
in use is refused, not swapped for another. Queries run through the same
:class:`~dff_grasp_ros.serving.FieldServer` as the ROS service, so the viewer shows what ``/query_object`` answers.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from dff_grasp_ros.end_effectors import tool_model
from dff_grasp_ros.geometry import pose_matrix
from dff_grasp_ros.serving import FieldServer

SCENE_POINT_SIZE_M = 0.004
GRIPPER_COLOUR = (40, 220, 60)
PUSH_COLOUR = (255, 140, 0)  # a push offer: the closed hand at its start and its stroke, as the RViz markers


def overlay_colours(rgb: np.ndarray, relevancy: np.ndarray | None, min_relevancy: float = 0.5) -> np.ndarray:
    """Scene colours with relevant points (>= ``min_relevancy``) painted by a heat map."""
    from dff_grasp_ros.report import heat_colours

    colours = np.asarray(rgb, dtype=np.uint8).copy()
    if relevancy is None:
        return colours
    hot = relevancy >= min_relevancy
    colours[hot] = heat_colours(relevancy[hot])
    return colours


def rotation_to_wxyz(rotation: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    x, y, z, w = Rotation.from_matrix(rotation).as_quat()
    return np.array([w, x, y, z])


def describe(result) -> str:
    """The result panel's markdown (the browser test reads it)."""
    if not result.success:
        push = getattr(result, "push", None)
        if push is None:
            return f"**no grasp**: {result.message}"
        return (f"**no grasp**: {result.message}  \n**push** (fingers closed, orange): from "
                f"{np.round(push.start_position_m, 3).tolist()} to {np.round(push.end_position_m, 3).tolist()}, "
                f"{push.distance_m * 100:.1f} cm")
    g = result.grasp
    return (f"**grasp found**: {result.message}  \nposition_m = {np.round(g.position_m, 3).tolist()}  \n"
            f"end_effector = {g.end_effector}, width_m = {g.width_m:.3f}, score = {g.score:.2f}, "
            f"latency = {result.latency_s * 1000:.0f} ms")


class GraspViewer:
    """One viser server showing one served field."""

    def __init__(self, server: FieldServer, host: str = "127.0.0.1", port: int = 8080,
                 initial_prompt: str = "mug handle") -> None:
        if server.current is None:
            raise FileNotFoundError("the viewer needs a trained field")
        self.server = server
        self.viser = start_viser(host, port)
        self._lock = threading.Lock()
        cloud = server.current.cloud
        self.viser.scene.add_point_cloud("/scene", cloud.points_m, colors=cloud.rgb, point_size=SCENE_POINT_SIZE_M)
        self.prompt = self.viser.gui.add_text("Prompt", initial_value=initial_prompt)
        self.button = self.viser.gui.add_button("Find grasp")
        self.result = self.viser.gui.add_markdown("Type a prompt and press **Find grasp**.")
        self.button.on_click(lambda _event: self.run_query())
        self._gripper_names: list[str] = []
        centre = np.median(cloud.points_m, axis=0)
        self.viser.on_client_connect(lambda client: self.frame_scene(client, centre))

    @staticmethod
    def frame_scene(client, centre_m: np.ndarray) -> None:
        """Start each browser at an arm-camera-like view of the workspace (base frame is z up)."""
        client.camera.up_direction = (0.0, 0.0, 1.0)
        client.camera.position = tuple(centre_m + np.array([0.45, -0.45, 0.45]))
        client.camera.look_at = tuple(centre_m)

    @property
    def port(self) -> int:
        return self.viser.get_port()

    def run_query(self) -> None:
        with self._lock:  # one query at a time per page keeps the scene consistent
            result, served = self.server.ask(self.prompt.value)
            if served is not None:
                colours = overlay_colours(served.cloud.rgb, result.display_relevancy)
                self.viser.scene.add_point_cloud("/scene", served.cloud.points_m, colors=colours,
                                                 point_size=SCENE_POINT_SIZE_M)
            self.draw_gripper(result)
            self.result.content = describe(result)

    def draw_gripper(self, result) -> None:
        """The tool at the answer's grasp; for a refusal that offers a push, the closed hand at the push's start
        and a line along its stroke."""
        for name in self._gripper_names:
            self.viser.scene.remove_by_name(name)
        self._gripper_names = []
        if result.grasp is not None:
            tool = tool_model(result.grasp.end_effector, self.server.params)  # the jaws or the suction cup
            self._draw_tool("/grasp", result.grasp.pose_matrix, tool.boxes(result.grasp.opening_m), GRIPPER_COLOUR)
        push = getattr(result, "push", None)
        if push is not None:
            self._draw_tool("/push", pose_matrix(push.rotation, push.start_position_m),
                            self.server.params.grasp.gripper.boxes(0.0), PUSH_COLOUR)
            self.viser.scene.add_spline_catmull_rom("/push/stroke", np.stack([push.start_position_m,
                                                                              push.end_position_m]),
                                                    line_width=4.0, color=PUSH_COLOUR)
            self._gripper_names.append("/push/stroke")

    def _draw_tool(self, prefix: str, tcp: np.ndarray, boxes: dict, colour: tuple[int, int, int]) -> None:
        for part, (lower, upper) in boxes.items():
            if part == "closing":
                continue
            centre = tcp[:3, :3] @ ((np.asarray(lower) + np.asarray(upper)) / 2) + tcp[:3, 3]
            name = f"{prefix}/{part}"
            self.viser.scene.add_box(name, color=colour, dimensions=tuple(np.asarray(upper) - lower),
                                     wxyz=rotation_to_wxyz(tcp[:3, :3]), position=centre)
            self._gripper_names.append(name)

    def stop(self) -> None:
        self.viser.stop()


def _port_in_use(host: str, port: int) -> str:
    return (f"--port {port} is in use on {host} by another program; choose another --port, or --port 0 for any "
            f"free one")


def start_viser(host: str, port: int) -> Any:
    """A viser server on exactly ``host:port`` (``port`` 0: a free port, read back with ``get_port()``).

    viser moves to the next free port when the asked one is taken, and reports port 0 as served when asked for
    it: a user who asked for 8080 and opened it saw another program. A port taken after
    :func:`check_listen_address` (a race) is refused here, with the server it started stopped."""
    import viser

    from dff_grasp_ros.errors import InputError

    asked = port or free_port(host)
    server = viser.ViserServer(host=host, port=asked, verbose=False)
    if server.get_port() != asked:
        server.stop()
        if port:
            raise InputError(_port_in_use(host, port))
        raise InputError(f"--port 0: the free port {asked} was taken by another program before the viewer "
                         f"could listen on it; run it again")
    return server


def free_port(host: str) -> int:
    """A port nobody listens on at ``host`` now (the system's pick)."""
    import socket

    family, kind, proto, _, address = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.bind(address)
        return int(probe.getsockname()[1])


def check_listen_address(host: str, port: int) -> None:
    """InputError unless the viewer can listen on ``host:port`` (``port`` 0: any free port): viser binds in a
    background thread, and a port out of range or a host that is not this machine's killed that thread while the
    caller waited for it forever; a port in use is refused before the field is read (viser would take the next
    free one)."""
    import errno
    import socket

    from dff_grasp_ros.errors import InputError

    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InputError(f"--port must be between 0 (any free port) and 65535, got {port!r}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            # As viser's server binds (asyncio sets SO_REUSEADDR): a port left in TIME_WAIT is free, a listening
            # socket still refuses the bind.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except (OSError, UnicodeError) as err:
        if isinstance(err, OSError) and err.errno == errno.EADDRINUSE:
            raise InputError(_port_in_use(host, port)) from None
        raise InputError(f"--host {host!r}: cannot listen there ({err}); 127.0.0.1 serves this machine, "
                         f"0.0.0.0 every network") from None


def serve_forever(field: Path, host: str = "127.0.0.1", port: int = 8080) -> int:
    from dff_grasp_ros.answers import resolve_field

    check_listen_address(host, port)
    server = FieldServer()
    served = server.load(resolve_field(field))
    viewer = GraspViewer(server, host=host, port=port)
    print(f"viewer of {served.path} on http://{host}:{viewer.port} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        return 0
    finally:
        viewer.stop()
