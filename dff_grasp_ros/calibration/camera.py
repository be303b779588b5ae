"""The camera model calibration works in: OpenCV's pinhole + distortion, as a ROS CameraInfo carries it.

ROS and OpenCV agree on pixel centres (pixel (row, col) is centred at (col, row)), so ``K`` and ``D`` of a
``sensor_msgs/CameraInfo`` go to :func:`cv2.solvePnP` unchanged. (The datasets' nerfstudio intrinsics differ by
half a pixel; :mod:`dff_grasp_ros.ros_io.camera_info` converts those, nothing here needs them.)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dff_grasp_ros.errors import read_yaml_file

SUPPORTED_MODELS = ("plumb_bob", "rational_polynomial", "")
OPENCV_DISTORTION_LENGTHS = (0, 4, 5, 8, 12, 14)  # what cv2.solvePnP/projectPoints take (others: cv2.error)


def _check_distortion_model(model: str, distortion: tuple[float, ...], source: Path | None = None) -> None:
    """ValueError for coefficients of a model OpenCV's pinhole functions do not take (a fisheye's k1-k4 read as
    plumb_bob's k1 k2 p1 p2 would calibrate a wrong camera without a word)."""
    if model not in SUPPORTED_MODELS and any(distortion):
        raise ValueError(f"{f'{source}: ' if source else ''}unsupported distortion model {model!r}; supported: "
                         f"plumb_bob, rational_polynomial")


@dataclass(frozen=True)
class PinholeCamera:
    """Image size, 3x3 camera matrix ``K`` and OpenCV distortion coefficients ``D`` (any length OpenCV takes)."""

    width: int
    height: int
    camera_matrix: tuple[float, ...]  # K, row-major, 9 values
    distortion: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        k = np.asarray(self.camera_matrix, dtype=np.float64)
        if self.width < 1 or self.height < 1:
            raise ValueError(f"camera has no image size ({self.width}x{self.height}): is it calibrated?")
        if k.size != 9 or not np.all(np.isfinite(k)) or k[0] <= 0 or k[4] <= 0:
            raise ValueError(f"camera matrix K must be 9 finite numbers with positive fx, fy, got {k.tolist()}")
        if not np.all(np.isfinite(np.asarray(self.distortion, dtype=np.float64))):
            raise ValueError(f"distortion has non-finite values: {list(self.distortion)}")
        if len(self.distortion) not in OPENCV_DISTORTION_LENGTHS and any(self.distortion):
            raise ValueError(f"distortion has {len(self.distortion)} coefficients {list(self.distortion)}; OpenCV "
                             f"takes {', '.join(map(str, OPENCV_DISTORTION_LENGTHS[1:]))} (plumb_bob: k1 k2 p1 p2 "
                             f"k3)")

    @property
    def K(self) -> np.ndarray:
        return np.asarray(self.camera_matrix, dtype=np.float64).reshape(3, 3)

    @property
    def D(self) -> np.ndarray:
        """The coefficients for OpenCV; none when all are zero (a driver's [0, 0, 0] means no distortion)."""
        return np.asarray(self.distortion if any(self.distortion) else (), dtype=np.float64)

    def close_to(self, other: PinholeCamera, tol_px: float = 1e-3) -> bool:
        return (self.width, self.height) == (other.width, other.height) and bool(
            np.allclose(self.K, other.K, atol=tol_px) and np.allclose(
                np.pad(self.D, (0, max(0, other.D.size - self.D.size))),
                np.pad(other.D, (0, max(0, self.D.size - other.D.size))), atol=1e-6))

    @staticmethod
    def from_camera_info(msg: Any) -> PinholeCamera:
        """From a ``sensor_msgs/CameraInfo`` (rclpy or rosbags message: only the fields are read)."""
        d = tuple(float(v) for v in msg.d)
        _check_distortion_model(str(msg.distortion_model), d)
        return PinholeCamera(int(msg.width), int(msg.height), tuple(float(v) for v in msg.k), d)

    @staticmethod
    def from_yaml(path: Path) -> PinholeCamera:
        """From a ROS camera calibration file (``camera_calibration_parsers`` format, as camera drivers and
        ``cameracalibrator`` write: image_width, image_height, camera_matrix.data, distortion_coefficients.data)."""
        path = Path(path)
        data = read_yaml_file(path, "camera calibration file")
        try:
            camera = PinholeCamera(int(data["image_width"]), int(data["image_height"]),
                                   tuple(float(v) for v in data["camera_matrix"]["data"]),
                                   tuple(float(v) for v in (data.get("distortion_coefficients") or {}).get("data", [])))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: not a camera calibration file (image_width, image_height, "
                             f"camera_matrix.data, distortion_coefficients.data): {err}") from err
        model = data.get("distortion_model", "")  # older files leave it out: their coefficients are plumb_bob's
        if not isinstance(model, str):
            raise ValueError(f"{path}: distortion_model must be a string, got {model!r:.60}")
        _check_distortion_model(model, camera.distortion, path)
        return camera

    def to_yaml_dict(self) -> dict[str, Any]:
        return {"image_width": self.width, "image_height": self.height, "distortion_model": "plumb_bob",
                "camera_matrix": {"rows": 3, "cols": 3, "data": [float(v) for v in self.camera_matrix]},
                "distortion_coefficients": {"rows": 1, "cols": len(self.distortion),
                                            "data": [float(v) for v in self.distortion]}}
