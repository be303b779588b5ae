"""sensor_msgs/Image <-> numpy: every encoding round-trips, with row padding and either byte order."""
from types import SimpleNamespace

import numpy as np
import pytest

from dff_grasp_ros.ros_io.image import (
    ENCODINGS,
    ImageFormatError,
    UnsupportedEncodingError,
    depth_image_to_m,
    depth_m_to_image,
    image_to_numpy,
    image_to_rgb8,
    numpy_to_image,
)

RNG = np.random.default_rng(7)


def random_pixels(encoding: str, height: int = 5, width: int = 7) -> np.ndarray:
    dtype, channels = ENCODINGS[encoding]
    shape = (height, width) if channels == 1 else (height, width, channels)
    if dtype.kind == "f":
        return RNG.uniform(0.1, 5.0, shape).astype(dtype)
    return RNG.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("padding", [0, 3])
@pytest.mark.parametrize("bigendian", [False, True])
def test_every_encoding_round_trips(encoding, padding, bigendian):
    pixels = random_pixels(encoding)
    msg = numpy_to_image(pixels, encoding, frame_id="cam", stamp_ns=12, row_padding_bytes=padding,
                         bigendian=bigendian)
    assert msg.step == pixels[0].nbytes + padding
    assert len(msg.data) == msg.step * msg.height
    decoded = image_to_numpy(msg)
    assert decoded.dtype == pixels.dtype and decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, pixels)


def test_big_endian_wire_bytes_are_big_endian():
    msg = numpy_to_image(np.array([[0x0102]], dtype=np.uint16), "16UC1", bigendian=True)
    assert bytes(msg.data) == b"\x01\x02"
    msg_little = numpy_to_image(np.array([[0x0102]], dtype=np.uint16), "16UC1")
    assert bytes(msg_little.data) == b"\x02\x01"


def test_padded_rows_from_a_driver_are_skipped():
    # A driver's buffer: 2 rows of 3 rgb8 pixels, padded to 16 bytes per row with junk.
    rows = np.full((2, 16), 0xEE, dtype=np.uint8)
    rows[:, :9] = np.arange(18).reshape(2, 9)
    msg = SimpleNamespace(height=2, width=3, step=16, encoding="rgb8", is_bigendian=0, data=rows.tobytes())
    np.testing.assert_array_equal(image_to_numpy(msg), np.arange(18, dtype=np.uint8).reshape(2, 3, 3))


@pytest.mark.parametrize("encoding,order", [("rgb8", [0, 1, 2]), ("bgr8", [2, 1, 0]), ("rgba8", [0, 1, 2, 3]),
                                            ("bgra8", [2, 1, 0, 3])])
def test_colour_encodings_decode_to_rgb(encoding, order):
    rgba = random_pixels("rgba8")
    wire = rgba[:, :, order]
    np.testing.assert_array_equal(image_to_rgb8(numpy_to_image(wire, encoding)), rgba[:, :, :3])


def test_mono8_is_replicated_to_three_channels():
    gray = random_pixels("mono8")
    rgb = image_to_rgb8(numpy_to_image(gray, "mono8"))
    assert rgb.shape == gray.shape + (3,)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[:, :, channel], gray)


def test_32fc1_depth_keeps_nan_and_invalidates_nonpositive():
    depth_m = np.array([[0.5, np.nan, 1.25], [0.0, -1.0, np.inf]], dtype=np.float32)
    msg = depth_m_to_image(depth_m, "32FC1", row_padding_bytes=4)
    back = depth_image_to_m(msg)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back[0, [0, 2]], [0.5, 1.25])
    assert np.isnan(back[0, 1]) and np.all(np.isnan(back[1]))


def test_16uc1_depth_is_millimetres_with_zero_invalid():
    depth_m = np.array([[0.5004, np.nan], [2.0, 0.0]], dtype=np.float32)
    msg = depth_m_to_image(depth_m, "16UC1")
    np.testing.assert_array_equal(image_to_numpy(msg), [[500, 0], [2000, 0]])
    back = depth_image_to_m(msg)
    np.testing.assert_allclose(back[[0, 1], [0, 0]], [0.5, 2.0], atol=1e-6)
    assert np.isnan(back[0, 1]) and np.isnan(back[1, 1])


def test_depth_from_a_bigendian_16uc1_driver():
    mm = np.array([[1, 65535]], dtype=np.uint16)
    back = depth_image_to_m(numpy_to_image(mm, "16UC1", bigendian=True))
    np.testing.assert_allclose(back, [[0.001, 65.535]], rtol=1e-6)


def test_unsupported_encodings_are_named_in_the_error():
    msg = SimpleNamespace(height=1, width=2, step=4, encoding="yuv422", is_bigendian=0, data=bytes(4))
    with pytest.raises(UnsupportedEncodingError, match="yuv422"):
        image_to_numpy(msg)
    with pytest.raises(UnsupportedEncodingError, match="16UC1"):
        image_to_rgb8(numpy_to_image(random_pixels("16UC1"), "16UC1"))
    with pytest.raises(UnsupportedEncodingError, match="rgb8"):
        depth_image_to_m(numpy_to_image(random_pixels("rgb8"), "rgb8"))
    with pytest.raises(UnsupportedEncodingError):
        depth_m_to_image(np.ones((2, 2)), "mono8")


def test_inconsistent_messages_raise_format_errors():
    good = numpy_to_image(random_pixels("rgb8"), "rgb8")
    truncated = SimpleNamespace(**{k: getattr(good, k) for k in ("height", "width", "step", "encoding",
                                                                  "is_bigendian")}, data=bytes(good.data)[:-1])
    with pytest.raises(ImageFormatError, match="payload"):
        image_to_numpy(truncated)
    short_step = SimpleNamespace(height=2, width=3, step=8, encoding="rgb8", is_bigendian=0, data=bytes(16))
    with pytest.raises(ImageFormatError, match="step"):
        image_to_numpy(short_step)
    with pytest.raises(ImageFormatError):
        numpy_to_image(np.zeros((2, 2, 3), np.float32), "rgb8")
    with pytest.raises(ImageFormatError):
        numpy_to_image(np.zeros((2, 2), np.uint8), "rgb8")


def test_numpy_payload_as_rosbags_delivers_it():
    pixels = random_pixels("32FC1")
    msg = numpy_to_image(pixels, "32FC1", row_padding_bytes=8)
    as_rosbags = SimpleNamespace(height=msg.height, width=msg.width, step=msg.step, encoding=msg.encoding,
                                 is_bigendian=msg.is_bigendian, data=np.frombuffer(bytes(msg.data), np.uint8))
    np.testing.assert_array_equal(image_to_numpy(as_rosbags), pixels)
