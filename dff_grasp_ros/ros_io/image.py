"""``sensor_msgs/Image`` <-> numpy, for colour (rgb8, bgr8, rgba8, bgra8, mono8) and depth (16UC1, 32FC1).

Decoding honours the row ``step`` (drivers pad rows to alignment) and ``is_bigendian``. Depth in ROS comes in
two conventions (REP-118): ``16UC1`` in millimetres with 0 = no return, ``32FC1`` in metres with NaN = no
return; :func:`depth_image_to_m` folds both into float32 metres with NaN for invalid pixels.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sensor_msgs.msg import Image

from dff_grasp_ros.dataset import depth_m_to_png_units
from dff_grasp_ros.ros_io.buffers import buffer_as_uint8
from dff_grasp_ros.ros_io.stamp import make_header

# encoding -> (numpy dtype of one channel, channels)
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
    "mono8": (np.dtype(np.uint8), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
}
COLOR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8")
DEPTH_ENCODINGS = ("16UC1", "32FC1")
DEPTH_MM_PER_M = 1000.0


class UnsupportedEncodingError(ValueError):
    """The image's ``encoding`` is not one this package converts."""


class ImageFormatError(ValueError):
    """The message is internally inconsistent (sizes, step, payload length) or the array does not fit."""


def _encoding_spec(encoding: str, allowed: tuple[str, ...] = tuple(ENCODINGS)) -> tuple[np.dtype, int]:
    if encoding not in allowed:
        raise UnsupportedEncodingError(f"unsupported image encoding {encoding!r}; supported: {', '.join(allowed)}")
    return ENCODINGS[encoding]


def image_to_numpy(msg: Any) -> np.ndarray:
    """Decode any supported encoding to a fresh native-endian array: (H, W) for one channel, else (H, W, C)."""
    dtype, channels = _encoding_spec(str(msg.encoding))
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = width * channels * dtype.itemsize
    if height <= 0 or width <= 0:
        raise ImageFormatError(f"image has no pixels ({width}x{height})")
    if step < row_bytes:
        raise ImageFormatError(f"step {step} is shorter than a row of {width} {msg.encoding} pixels ({row_bytes} B)")
    payload = buffer_as_uint8(msg.data)
    if payload.size < step * height:
        raise ImageFormatError(f"image payload has {payload.size} B, expected step*height = {step * height} B")
    rows = payload[: step * height].reshape(height, step)[:, :row_bytes]
    wire_dtype = dtype.newbyteorder(">" if msg.is_bigendian else "<") if dtype.itemsize > 1 else dtype
    # Copy first: the rows view is strided, and the result must not alias the message's buffer.
    pixels = np.ascontiguousarray(rows).view(wire_dtype).astype(dtype, copy=False)
    return pixels.reshape(height, width) if channels == 1 else pixels.reshape(height, width, channels)


def numpy_to_image(pixels: np.ndarray, encoding: str, *, frame_id: str = "", stamp_ns: int = 0,
                   row_padding_bytes: int = 0, bigendian: bool = False) -> Image:
    """Encode an array as ``sensor_msgs/Image``; padding and byte order exist mainly to mimic real drivers."""
    dtype, channels = _encoding_spec(encoding)
    pixels = np.asarray(pixels)
    expected_ndim = 2 if channels == 1 else 3
    if pixels.dtype != dtype or pixels.ndim != expected_ndim or (channels > 1 and pixels.shape[2] != channels):
        shape = "(H, W)" if channels == 1 else f"(H, W, {channels})"
        raise ImageFormatError(f"{encoding} needs a {dtype} array of shape {shape}, got {pixels.dtype} {pixels.shape}")
    if row_padding_bytes < 0:
        raise ValueError("row_padding_bytes must be >= 0")
    height, width = pixels.shape[:2]
    wire = pixels.astype(dtype.newbyteorder(">" if bigendian else "<"), copy=False)
    rows = np.ascontiguousarray(wire).view(np.uint8).reshape(height, -1)
    if row_padding_bytes:
        rows = np.concatenate([rows, np.zeros((height, row_padding_bytes), np.uint8)], axis=1)
    return Image(header=make_header(frame_id, stamp_ns), height=height, width=width, encoding=encoding,
                 is_bigendian=int(bool(bigendian)), step=rows.shape[1], data=rows.tobytes())


def image_to_rgb8(msg: Any) -> np.ndarray:
    """Any colour encoding to (H, W, 3) uint8 RGB (alpha dropped, mono replicated)."""
    _encoding_spec(str(msg.encoding), COLOR_ENCODINGS)
    pixels = image_to_numpy(msg)
    encoding = str(msg.encoding)
    if encoding == "mono8":
        return np.repeat(pixels[:, :, None], 3, axis=2)
    rgb = pixels[:, :, :3]
    if encoding.startswith("bgr"):
        rgb = rgb[:, :, ::-1]
    return np.ascontiguousarray(rgb)


def depth_image_to_m(msg: Any) -> np.ndarray:
    """16UC1 (mm, 0 invalid) or 32FC1 (m, NaN/inf/<=0 invalid) to float32 metres with NaN for invalid."""
    _encoding_spec(str(msg.encoding), DEPTH_ENCODINGS)
    raw = image_to_numpy(msg)
    if raw.dtype == np.uint16:
        depth_m = raw.astype(np.float32) / np.float32(DEPTH_MM_PER_M)
        depth_m[raw == 0] = np.nan
        return depth_m
    depth_m = raw.astype(np.float32, copy=True)
    depth_m[~(np.isfinite(depth_m) & (depth_m > 0))] = np.nan
    return depth_m


def depth_m_to_image(depth_m: np.ndarray, encoding: str = "32FC1", *, frame_id: str = "", stamp_ns: int = 0,
                     row_padding_bytes: int = 0) -> Image:
    """Metres (NaN/inf/<=0 invalid) to a 16UC1 (mm, 0 invalid) or 32FC1 (m, NaN invalid) depth image."""
    _encoding_spec(encoding, DEPTH_ENCODINGS)
    depth = np.asarray(depth_m, dtype=np.float32)
    if depth.ndim != 2:
        raise ImageFormatError(f"depth must be (H, W), got shape {depth.shape}")
    if encoding == "16UC1":
        raw = depth_m_to_png_units(depth)  # the dataset's own mm encoding: one rounding rule everywhere
    else:
        raw = np.where(np.isfinite(depth) & (depth > 0), depth, np.float32(np.nan)).astype(np.float32)
    return numpy_to_image(raw, encoding, frame_id=frame_id, stamp_ns=stamp_ns, row_padding_bytes=row_padding_bytes)


__all__ = [
    "ENCODINGS", "COLOR_ENCODINGS", "DEPTH_ENCODINGS", "UnsupportedEncodingError", "ImageFormatError",
    "image_to_numpy", "numpy_to_image", "image_to_rgb8", "depth_image_to_m", "depth_m_to_image",
]
