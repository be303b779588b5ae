"""``sensor_msgs/PointCloud2`` from numpy and back, vectorised with structured arrays (no per-point Python).

Built clouds are unorganised (height 1) with float32 fields ``x y z`` and, when given, ``rgb`` (packed the
way RViz and PCL expect: the bytes 0x00RRGGBB of a uint32 reinterpreted as float32) and ``relevancy``.
The parser reads any PointCloud2 (field offsets, padding, row_step, byte order), not only ours.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField

from dff_grasp_ros.ros_io.buffers import buffer_as_uint8
from dff_grasp_ros.ros_io.stamp import header_stamp_ns, make_header

# PointField datatype constants (sensor_msgs/PointField) -> numpy
POINTFIELD_DTYPES: dict[int, np.dtype] = {
    PointField.INT8: np.dtype(np.int8), PointField.UINT8: np.dtype(np.uint8),
    PointField.INT16: np.dtype(np.int16), PointField.UINT16: np.dtype(np.uint16),
    PointField.INT32: np.dtype(np.int32), PointField.UINT32: np.dtype(np.uint32),
    PointField.FLOAT32: np.dtype(np.float32), PointField.FLOAT64: np.dtype(np.float64),
}


class PointCloudFormatError(ValueError):
    """Arrays that do not form a cloud, or a PointCloud2 whose layout is inconsistent."""


@dataclass
class CloudArrays:
    """A parsed cloud: points in the message's frame (metres) and the optional colour / relevancy."""

    points_m: np.ndarray  # (N, 3) float32
    rgb: np.ndarray | None  # (N, 3) uint8
    relevancy: np.ndarray | None  # (N,) float32
    frame_id: str
    stamp_ns: int


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 to (N,) float32 holding 0x00RRGGBB, the RViz ``rgb`` field convention."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 2 or rgb.shape[1] != 3 or rgb.dtype != np.uint8:
        raise PointCloudFormatError(f"rgb must be (N, 3) uint8, got {rgb.dtype} {rgb.shape}")
    c = rgb.astype(np.uint32)
    return ((c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]).view(np.float32)


def unpack_rgb(packed: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack_rgb` (accepts the float32 or uint32 form)."""
    bits = np.ascontiguousarray(packed).view(np.uint32)
    return np.stack([(bits >> 16) & 0xFF, (bits >> 8) & 0xFF, bits & 0xFF], axis=1).astype(np.uint8)


def make_pointcloud2(points_m: np.ndarray, *, frame_id: str, stamp_ns: int = 0, rgb: np.ndarray | None = None,
                     relevancy: np.ndarray | None = None) -> PointCloud2:
    """An unorganised cloud with fields x, y, z [, rgb] [, relevancy], all float32."""
    points = np.asarray(points_m)
    if points.ndim != 2 or points.shape[1] != 3:
        raise PointCloudFormatError(f"points_m must be (N, 3), got {points.shape}")
    n = points.shape[0]
    columns: list[tuple[str, np.ndarray]] = [("x", points[:, 0]), ("y", points[:, 1]), ("z", points[:, 2])]
    if rgb is not None:
        if len(rgb) != n:
            raise PointCloudFormatError(f"rgb has {len(rgb)} rows for {n} points")
        columns.append(("rgb", pack_rgb(rgb)))
    if relevancy is not None:
        rel = np.asarray(relevancy, dtype=np.float32).reshape(-1)
        if rel.size != n:
            raise PointCloudFormatError(f"relevancy has {rel.size} values for {n} points")
        columns.append(("relevancy", rel))
    record = np.empty(n, dtype=[(name, "<f4") for name, _ in columns])
    for name, values in columns:
        record[name] = values  # float32 views (packed rgb) copy bit-exactly into float32 fields
    fields = [PointField(name=name, offset=4 * i, datatype=PointField.FLOAT32, count=1)
              for i, (name, _) in enumerate(columns)]
    point_step = 4 * len(columns)
    return PointCloud2(
        header=make_header(frame_id, stamp_ns), height=1, width=n, fields=fields, is_bigendian=False,
        point_step=point_step, row_step=point_step * n, data=record.tobytes(),
        is_dense=bool(np.all(np.isfinite(points))))


def _cloud_dtype(msg: Any) -> np.dtype:
    order = ">" if msg.is_bigendian else "<"
    names, formats, offsets = [], [], []
    for f in msg.fields:
        if int(f.datatype) not in POINTFIELD_DTYPES:
            raise PointCloudFormatError(f"field {f.name!r} has unknown datatype {f.datatype}")
        base = POINTFIELD_DTYPES[int(f.datatype)].newbyteorder(order)
        count = int(f.count) if int(f.count) > 0 else 1
        names.append(str(f.name))
        formats.append(base if count == 1 else np.dtype((base, (count,))))
        offsets.append(int(f.offset))
    try:
        return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": int(msg.point_step)})
    except ValueError as err:
        raise PointCloudFormatError(f"fields do not fit point_step {msg.point_step}: {err}") from err


def _as_native_uint32_bits(column: np.ndarray) -> np.ndarray:
    # Reinterpret, never convert: a float cast could alter the tiny (denormal) floats that packed colours are.
    raw = np.ascontiguousarray(column)
    if raw.dtype.itemsize != 4:
        raise PointCloudFormatError(f"rgb field must be 4 bytes, got {raw.dtype}")
    order = raw.dtype.byteorder if raw.dtype.byteorder in "<>" else "="
    return raw.view(np.dtype(np.uint32).newbyteorder(order)).astype(np.uint32)


def read_points(msg: Any) -> np.ndarray:
    """All points (row-major, height*width) as a structured array with one entry per PointField."""
    dtype = _cloud_dtype(msg)
    height, width = int(msg.height), int(msg.width)
    point_step, row_step = int(msg.point_step), int(msg.row_step)
    if row_step < width * point_step:
        raise PointCloudFormatError(f"row_step {row_step} < width*point_step {width * point_step}")
    payload = buffer_as_uint8(msg.data)
    if payload.size < height * row_step:
        raise PointCloudFormatError(f"payload has {payload.size} B, expected height*row_step = {height * row_step}")
    rows = payload[: height * row_step].reshape(height, row_step)[:, : width * point_step]
    return np.ascontiguousarray(rows).view(dtype).reshape(-1).copy()


def pointcloud2_to_arrays(msg: Any) -> CloudArrays:
    """Parse a cloud with at least x, y, z; rgb and relevancy are returned when present."""
    record = read_points(msg)
    names = record.dtype.names or ()
    missing = {"x", "y", "z"} - set(names)
    if missing:
        raise PointCloudFormatError(f"cloud lacks fields {sorted(missing)}; has {list(names)}")
    points = np.stack([record["x"], record["y"], record["z"]], axis=1).astype(np.float32)
    rgb = unpack_rgb(_as_native_uint32_bits(record["rgb"])) if "rgb" in names else None
    relevancy = record["relevancy"].astype(np.float32) if "relevancy" in names else None
    return CloudArrays(points, rgb, relevancy, str(msg.header.frame_id), header_stamp_ns(msg))


__all__ = ["CloudArrays", "PointCloudFormatError", "pack_rgb", "unpack_rgb", "make_pointcloud2", "read_points",
           "pointcloud2_to_arrays"]
