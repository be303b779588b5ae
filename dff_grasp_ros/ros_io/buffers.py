"""Raw ``uint8[]`` payloads of messages as numpy arrays, whatever container the middleware handed us."""
from __future__ import annotations

from typing import Any

import numpy as np


def buffer_as_uint8(data: Any) -> np.ndarray:
    """View a ``uint8[]`` field (bytes, array.array, numpy array or list) as a flat uint8 array.

    rclpy gives ``array.array('B')``, rosbags gives numpy arrays; both are viewed without a copy.
    """
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise TypeError(f"expected a uint8 payload, got {data.dtype}")
        return data.reshape(-1)
    if isinstance(data, (list, tuple)):
        return np.asarray(data, dtype=np.uint8)
    return np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
