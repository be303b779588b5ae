"""A printed ChArUco board lying on the simulated table, drawn into rendered views, and a camera on a tool.

The board's image comes from ``cv2.aruco`` (:meth:`CharucoBoardSpec.image`); each view is rendered by the
project's ray caster (:func:`render_view`) and the board is then mapped onto its plane: every pixel casts
``supersample``² sub-pixel rays at the paper, so square and marker edges are anti-aliased as a real lens blurs
them (one ray per pixel would leave staircase edges that bias the corner positions). Objects in front of the
paper hide it, and their shadows fall on it.

The arm: the camera optical frame sits at a fixed ``camera_to_tool`` offset on the tool; a calibration scan
turns the tool about all three axes so that hand-eye calibration is well posed.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation

from dff_grasp_ros.calibration.board import CharucoBoardSpec
from dff_grasp_ros.calibration.camera import PinholeCamera
from dff_grasp_ros.capture.scan_poses import cap_camera_poses
from dff_grasp_ros.dataset import CameraIntrinsics
from dff_grasp_ros.nodes.params import defaults
from dff_grasp_ros.synthetic.cameras import pixel_directions
from dff_grasp_ros.synthetic.render import SHADOW_RAY_OFFSET_M, RenderedView, check_pose, render_view
from dff_grasp_ros.synthetic.spec import Scene
from dff_grasp_ros.synthetic.texture import LIGHT_DIRECTION, shade
from dff_grasp_ros.synthetic.world import world_of

PAPER_ALBEDO, INK_ALBEDO = 0.85, 0.04
BOARD_PX_PER_SQUARE = 200  # texture resolution: ~0.2 mm per texel for a 40 mm square
MOUNT_PARAMS = ("camera_mount_x_m", "camera_mount_y_m", "camera_mount_z_m", "camera_mount_roll_deg",
                "camera_mount_pitch_deg", "camera_mount_yaw_deg")
# The simulated wrist camera: optical frame in the tool frame (x, y, z metres; roll, pitch, yaw degrees, extrinsic
# xyz), the sim_camera node's defaults: roughly along the tool's approach axis, offset and turned as a bracket is.
DEFAULT_CAMERA_MOUNT = tuple(defaults("sim_camera")[name] for name in MOUNT_PARAMS)


def mount_matrix(x_m: float, y_m: float, z_m: float, roll_deg: float, pitch_deg: float,
                 yaw_deg: float) -> np.ndarray:
    """camera_to_tool of a camera mounted at (x, y, z) with roll/pitch/yaw (extrinsic xyz, degrees)."""
    out = np.eye(4)
    out[:3, :3] = Rotation.from_euler("xyz", [roll_deg, pitch_deg, yaw_deg], degrees=True).as_matrix()
    out[:3, 3] = (x_m, y_m, z_m)
    return out


@dataclass(frozen=True)
class BoardOnTable:
    """A printed board flat on the table, squares centred at ``center_m``, turned by ``yaw_deg`` about z."""

    board: CharucoBoardSpec
    center_m: tuple[float, float]
    yaw_deg: float = 0.0
    thickness_m: float = 0.0005  # paper: just above the table top, below any object
    margin_squares: float = 0.5  # white paper around the squares

    def board_to_base(self) -> np.ndarray:
        """The board frame (OpenCV's: x along the squares' rows, y down the image, z into the table) in base."""
        yaw = Rotation.from_euler("z", self.yaw_deg, degrees=True).as_matrix()
        rotation = yaw @ np.diag([1.0, -1.0, -1.0])  # image right = +x, image down = -y: not mirrored from above
        width, height = self.board.size_m
        out = np.eye(4)
        out[:3, :3] = rotation
        out[:3, 3] = np.array([*self.center_m, self.thickness_m]) - rotation @ np.array([width / 2, height / 2, 0])
        return out

    def texture(self) -> np.ndarray:
        """Albedo of the printed sheet, (rows, cols) float32, squares area starting at the margin."""
        image = self.board.image(BOARD_PX_PER_SQUARE, self.margin_squares)
        return np.where(image > 127, PAPER_ALBEDO, INK_ALBEDO).astype(np.float32)


def calibration_scene(scene: Scene) -> Scene:
    """The scene's table and camera with its objects cleared away (a calibration session on an empty table)."""
    return dataclasses.replace(scene, name=f"{scene.name}_calibration", objects=())


def render_board_view(scene: Scene, intrinsics: CameraIntrinsics, camera_to_base: np.ndarray,
                      placement: BoardOnTable, supersample: int = 4) -> RenderedView:
    """:func:`render_view` of ``scene`` with the board on the table (board pixels: object and part id -1)."""
    view = render_view(scene, intrinsics, camera_to_base)
    pose = check_pose(camera_to_base)
    texture = _cached_texture(placement)
    px_per_m = BOARD_PX_PER_SQUARE / placement.board.square_length_m
    margin_m = placement.margin_squares * placement.board.square_length_m
    to_board = np.linalg.inv(placement.board_to_base())
    shape = (intrinsics.height, intrinsics.width)
    scene_depth = np.where(np.isfinite(view.depth_m), view.depth_m, np.inf).reshape(-1)
    base = pixel_directions(intrinsics).reshape(-1, 3)
    coverage = np.zeros(base.shape[0])
    albedo = np.zeros(base.shape[0])
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5  # sub-pixel sample positions
    for du in offsets:
        for dv in offsets:
            rays = base + np.array([du / intrinsics.fx, dv / intrinsics.fy, 0.0])
            depth, board_xy = _hit_board(pose, rays, to_board, placement.thickness_m)
            col = np.floor((board_xy[:, 0] + margin_m) * px_per_m)
            row = np.floor((board_xy[:, 1] + margin_m) * px_per_m)
            on_paper = (depth < scene_depth) & (col >= 0) & (row >= 0) & (col < texture.shape[1]) & \
                (row < texture.shape[0])
            coverage += on_paper
            albedo[on_paper] += texture[row[on_paper].astype(int), col[on_paper].astype(int)]
    coverage /= supersample ** 2
    seen = coverage > 0
    if not np.any(seen):
        return view
    depth, _ = _hit_board(pose, base, to_board, placement.thickness_m)
    points = pose[:3, 3] + base[seen] @ pose[:3, :3].T * depth[seen, None]
    world = world_of(scene)
    shadow = world.cast(points + SHADOW_RAY_OFFSET_M * np.array([0.0, 0.0, 1.0]),
                        np.broadcast_to(LIGHT_DIRECTION, points.shape))
    lit = (~world.is_hit[shadow.geometry]).astype(float)
    board_albedo = albedo[seen] / (coverage[seen] * supersample ** 2)
    board_rgb = shade(np.repeat(board_albedo[:, None], 3, axis=1), np.tile([0.0, 0.0, 1.0], (len(points), 1)), lit)
    rgb = view.rgb.reshape(-1, 3).astype(np.float64)
    rgb[seen] = (1 - coverage[seen, None]) * rgb[seen] + coverage[seen, None] * board_rgb
    centre_on_board = seen & (depth < scene_depth) & (coverage >= 0.5)
    out_depth = view.depth_m.reshape(-1).copy()
    out_depth[centre_on_board] = depth[centre_on_board]
    object_id, part_id = view.object_id.reshape(-1).copy(), view.part_id.reshape(-1).copy()
    object_id[centre_on_board] = part_id[centre_on_board] = -1
    return RenderedView(np.round(rgb).astype(np.uint8).reshape(*shape, 3), out_depth.reshape(shape),
                        object_id.reshape(shape), part_id.reshape(shape))


def _hit_board(pose: np.ndarray, rays_optical: np.ndarray, to_board: np.ndarray,
               height_m: float) -> tuple[np.ndarray, np.ndarray]:
    """z-depth of each ray's hit with the paper's plane (inf when it never gets there) and the hit in board x, y."""
    directions = rays_optical @ pose[:3, :3].T
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = (height_m - pose[2, 3]) / directions[:, 2]
    depth = np.where(np.isfinite(depth) & (depth > 0), depth, np.inf)
    points = pose[:3, 3] + directions * np.where(np.isfinite(depth), depth, 0.0)[:, None]
    board_xy = points @ to_board[:3, :3].T[:, :2] + to_board[:2, 3]
    return depth, board_xy


_TEXTURES: dict[BoardOnTable, np.ndarray] = {}


def _cached_texture(placement: BoardOnTable) -> np.ndarray:
    if placement not in _TEXTURES:
        _TEXTURES.clear()  # one board at a time is all a session uses
        _TEXTURES[placement] = placement.texture()
    return _TEXTURES[placement]


def calibration_camera_poses(placement: BoardOnTable, count: int = 15, radius_m: float = 0.45,
                             elevation_deg: tuple[float, float] = (50.0, 80.0), max_roll_deg: float = 30.0,
                             seed: int = 0) -> np.ndarray:
    """(N, 4, 4) camera_to_base poses looking at the board from a cap above it, each also rolled about its
    optical axis (so the tool turns about all three axes between views) and aimed a little off centre."""
    rng = np.random.default_rng(seed)
    centre = np.array([*placement.center_m, placement.thickness_m])
    poses = cap_camera_poses(centre, radius_m, *elevation_deg, count)
    roll = Rotation.from_euler("z", rng.uniform(-max_roll_deg, max_roll_deg, (count, 1)), degrees=True).as_matrix()
    tilt = Rotation.from_rotvec(np.concatenate([rng.normal(0, np.radians(3.0), (count, 2)), np.zeros((count, 1))],
                                               axis=1)).as_matrix()
    poses[:, :3, :3] = poses[:, :3, :3] @ tilt @ roll
    return poses


@dataclass(frozen=True)
class SimulatedCalibration:
    """Rendered board views from a camera on a simulated tool, with the ground truth."""

    camera: PinholeCamera
    camera_to_tool: np.ndarray  # the mount: what calibration must recover
    placement: BoardOnTable
    names: tuple[str, ...]
    images: tuple[np.ndarray, ...]  # (H, W, 3) uint8 RGB
    camera_to_base: np.ndarray  # (N, 4, 4) where each image was taken

    def tool_to_base(self, noise_mm: float = 0.0, noise_deg: float = 0.0, seed: int = 0) -> np.ndarray:
        """The arm's reported tool poses, with Gaussian error (per axis, sigma in mm and degrees) added."""
        poses = self.camera_to_base @ np.linalg.inv(self.camera_to_tool)
        if noise_mm == 0 and noise_deg == 0:
            return poses
        rng = np.random.default_rng(seed)
        count = len(poses)
        noisy = poses.copy()
        noisy[:, :3, :3] = poses[:, :3, :3] @ Rotation.from_rotvec(
            rng.normal(0.0, np.radians(noise_deg), (count, 3))).as_matrix()
        noisy[:, :3, 3] += rng.normal(0.0, noise_mm / 1000.0, (count, 3))
        return noisy


def simulate_calibration(scene: Scene | str = "tabletop", count: int = 15, seed: int = 0,
                         board: CharucoBoardSpec | None = None,
                         mount: tuple[float, ...] = DEFAULT_CAMERA_MOUNT,
                         progress: Callable[[int, int], None] | None = None) -> SimulatedCalibration:
    """Render ``count`` views of a board on the scene's (cleared) table from a camera on a simulated tool."""
    from dff_grasp_ros.ros_io.camera_info import intrinsics_to_camera_info
    from dff_grasp_ros.synthetic.cameras import scene_intrinsics
    from dff_grasp_ros.synthetic.catalog import load_scene

    table = calibration_scene(load_scene(scene))
    intrinsics = scene_intrinsics(table)
    placement = BoardOnTable(board or CharucoBoardSpec(), table.scan.center_m[:2], yaw_deg=20.0)
    poses = calibration_camera_poses(placement, count, seed=seed)
    images = []
    for index, pose in enumerate(poses):
        images.append(render_board_view(table, intrinsics, pose, placement).rgb)
        if progress is not None:
            progress(index + 1, count)
    return SimulatedCalibration(PinholeCamera.from_camera_info(intrinsics_to_camera_info(intrinsics)),
                                mount_matrix(*mount), placement, tuple(f"view_{i:03d}.png" for i in range(count)),
                                tuple(images), poses)



def write_simulated_views(folder: Path, scene: Scene | str = "tabletop", count: int = 15, noise_mm: float = 0.0,
                          noise_deg: float = 0.0, seed: int = 0, board: CharucoBoardSpec | None = None,
                          progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Render a calibration session into a views folder (what ``dff-grasp calibrate --views`` reads); returns the
    true camera_to_tool. The tool poses carry the given Gaussian error, as a real arm's do."""
    from dff_grasp_ros.calibration.views import write_views_folder

    sim = simulate_calibration(scene, count, seed, board, progress=progress)
    poses = sim.tool_to_base(noise_mm, noise_deg, seed)
    base_frame, tool_frame = defaults("sim_camera")["base_frame"], defaults("sim_camera")["tool_frame"]
    write_views_folder(folder, sim.camera, list(zip(sim.names, sim.images, poses)), base_frame, tool_frame)
    return sim.camera_to_tool
