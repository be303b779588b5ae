"""PointCloud2 from numpy and back: exact, fast, and able to read other producers' layouts."""
import time
from types import SimpleNamespace

import numpy as np
import pytest
from sensor_msgs.msg import PointField

from dff_grasp_ros.ros_io.pointcloud import (
    PointCloudFormatError,
    make_pointcloud2,
    pack_rgb,
    pointcloud2_to_arrays,
    read_points,
    unpack_rgb,
)

RNG = np.random.default_rng(3)


def test_rgb_packing_follows_the_rviz_convention():
    packed = pack_rgb(np.array([[255, 0, 0], [0, 128, 1]], dtype=np.uint8))
    assert packed.dtype == np.float32
    np.testing.assert_array_equal(packed.view(np.uint32), [0xFF0000, 0x008001])
    np.testing.assert_array_equal(unpack_rgb(packed), [[255, 0, 0], [0, 128, 1]])


def test_100k_points_round_trip_exactly_and_fast():
    n = 100_000
    points = RNG.uniform(-1, 1, (n, 3)).astype(np.float32)
    rgb = RNG.integers(0, 256, (n, 3), dtype=np.uint8)
    relevancy = RNG.uniform(0, 1, n).astype(np.float32)
    started = time.perf_counter()
    msg = make_pointcloud2(points, frame_id="base_link", stamp_ns=42, rgb=rgb, relevancy=relevancy)
    parsed = pointcloud2_to_arrays(msg)
    elapsed_s = time.perf_counter() - started
    assert [f.name for f in msg.fields] == ["x", "y", "z", "rgb", "relevancy"]
    assert all(f.datatype == PointField.FLOAT32 for f in msg.fields)
    assert (msg.height, msg.width, msg.point_step, len(msg.data)) == (1, n, 20, 20 * n) and msg.is_dense
    np.testing.assert_array_equal(parsed.points_m, points)
    np.testing.assert_array_equal(parsed.rgb, rgb)
    np.testing.assert_array_equal(parsed.relevancy, relevancy)
    assert (parsed.frame_id, parsed.stamp_ns) == ("base_link", 42)
    assert elapsed_s < 0.25, f"100k-point round trip took {elapsed_s:.3f} s: a per-point loop crept in?"


def test_xyz_only_cloud_and_non_finite_points():
    points = np.array([[0, 0, 0], [np.nan, 1, 2]], dtype=np.float64)
    msg = make_pointcloud2(points, frame_id="map")
    assert [f.name for f in msg.fields] == ["x", "y", "z"] and not msg.is_dense
    parsed = pointcloud2_to_arrays(msg)
    assert parsed.rgb is None and parsed.relevancy is None
    np.testing.assert_array_equal(parsed.points_m, points.astype(np.float32))


def test_parser_reads_a_foreign_padded_big_endian_organised_cloud():
    # Like a depth camera driver: 2x3 organised, point_step 32, rgb as UINT32 at offset 16, padded rows.
    height, width, point_step, row_step = 2, 3, 32, 3 * 32 + 8
    dtype = np.dtype({"names": ["x", "y", "z", "rgb"], "formats": [">f4", ">f4", ">f4", ">u4"],
                      "offsets": [0, 4, 8, 16], "itemsize": point_step})
    record = np.zeros(height * width, dtype=dtype)
    xyz = RNG.uniform(-1, 1, (height * width, 3)).astype(np.float32)
    record["x"], record["y"], record["z"] = xyz.T
    record["rgb"] = np.arange(height * width) * 0x010203
    rows = np.full((height, row_step), 0xAB, dtype=np.uint8)
    rows[:, : width * point_step] = record.view(np.uint8).reshape(height, -1)
    fields = [SimpleNamespace(name=name, offset=offset, datatype=datatype, count=1)
              for name, offset, datatype in [("x", 0, 7), ("y", 4, 7), ("z", 8, 7), ("rgb", 16, 6)]]
    msg = SimpleNamespace(header=SimpleNamespace(frame_id="cam", stamp=SimpleNamespace(sec=1, nanosec=2)),
                          height=height, width=width, fields=fields, is_bigendian=True, point_step=point_step,
                          row_step=row_step, data=rows.tobytes(), is_dense=True)
    parsed = pointcloud2_to_arrays(msg)
    np.testing.assert_array_equal(parsed.points_m, xyz)
    np.testing.assert_array_equal(parsed.rgb, [[k, 2 * k, 3 * k] for k in range(6)])
    assert parsed.stamp_ns == 1_000_000_002
    assert read_points(msg).shape == (6,)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(PointCloudFormatError, match=r"\(N, 3\)"):
        make_pointcloud2(np.zeros((4, 2)), frame_id="f")
    with pytest.raises(PointCloudFormatError, match="relevancy"):
        make_pointcloud2(np.zeros((4, 3)), frame_id="f", relevancy=np.zeros(3))
    with pytest.raises(PointCloudFormatError, match="rgb"):
        make_pointcloud2(np.zeros((4, 3)), frame_id="f", rgb=np.zeros((4, 3), np.float32))
    truncated = make_pointcloud2(np.zeros((4, 3)), frame_id="f")
    truncated.data = bytes(truncated.data)[:-4]
    with pytest.raises(PointCloudFormatError, match="payload"):
        pointcloud2_to_arrays(truncated)
    no_z = make_pointcloud2(np.zeros((2, 3)), frame_id="f")
    no_z.fields = list(no_z.fields)[:2]
    with pytest.raises(PointCloudFormatError, match="lacks"):
        pointcloud2_to_arrays(no_z)
