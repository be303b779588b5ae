"""The ChArUco calibration board: its description, OpenCV's board object, and a printable image.

Board frame (OpenCV's, what :func:`cv2.solvePnP` on the corners returns): origin at the outer corner of the
first square (the top-left of :meth:`CharucoBoardSpec.image`), x along ``squares_x`` (image right), y along
``squares_y`` (image down), z = x × y, into the board. Corner ids count along x first.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

MIN_SQUARES = 3  # fewer squares per side leave too few inner corners to fit a pose


@dataclass(frozen=True)
class CharucoBoardSpec:
    """A ChArUco board as printed: squares per side, square and marker side in metres, ArUco dictionary."""

    squares_x: int = 7
    squares_y: int = 5
    square_length_m: float = 0.04
    marker_length_m: float = 0.03
    dictionary: str = "DICT_5X5_100"

    def __post_init__(self) -> None:
        problem = self.problem()
        if problem:
            raise ValueError(f"ChArUco board: {problem}")

    def problem(self) -> str | None:
        """Why this description cannot be a board, or None."""
        import cv2

        for name in ("squares_x", "squares_y"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not MIN_SQUARES <= value <= 100:
                return f"{name} must be an integer in [{MIN_SQUARES}, 100], got {value!r}"
        for name in ("square_length_m", "marker_length_m"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not np.isfinite(value) or not 0.001 <= value <= 1.0:
                return f"{name} must be in [0.001, 1] metres, got {value!r}"
        if self.marker_length_m >= self.square_length_m:
            return (f"marker_length_m ({self.marker_length_m}) must be smaller than square_length_m "
                    f"({self.square_length_m})")
        code = getattr(cv2.aruco, self.dictionary, None) if self.dictionary.startswith("DICT_") else None
        if not isinstance(code, int):
            return f"unknown ArUco dictionary {self.dictionary!r}; e.g. DICT_4X4_50, DICT_5X5_100, DICT_6X6_250"
        markers = (self.squares_x * self.squares_y) // 2
        available = cv2.aruco.getPredefinedDictionary(code).bytesList.shape[0]
        if markers > available:
            return (f"{self.squares_x}x{self.squares_y} squares need {markers} markers; {self.dictionary} has "
                    f"{available}")
        return None

    @staticmethod
    def from_params(params: Any) -> CharucoBoardSpec:
        """From a node's ``board_*`` parameters (``nodes/params.py``: the same five in every node that has them)."""
        return CharucoBoardSpec(params.board_squares_x, params.board_squares_y, params.board_square_length_m,
                                params.board_marker_length_m, params.board_dictionary)

    @property
    def size_m(self) -> tuple[float, float]:
        """Width (along x) and height (along y) of the squares' area."""
        return self.squares_x * self.square_length_m, self.squares_y * self.square_length_m

    def cv_board(self) -> Any:
        """The ``cv2.aruco.CharucoBoard`` (cached per description)."""
        return _cv_board(self)

    def corner_points_m(self) -> np.ndarray:
        """(N, 3) inner chessboard corners in the board frame, indexed by corner id."""
        return np.asarray(self.cv_board().getChessboardCorners(), dtype=np.float64).reshape(-1, 3)

    def image(self, px_per_square: int = 100, margin_squares: float = 0.5) -> np.ndarray:
        """The board as an 8-bit grey image to print (or to texture a simulated board), with a white margin.

        Pixel (row, col) of the squares' area covers board x in [col, col + 1) * square / px_per_square (the
        margin, ``margin_squares`` wide, shifts that by its width in pixels).
        """
        if px_per_square < 10:
            raise ValueError(f"px_per_square must be >= 10 for the markers' bits to be drawn, got {px_per_square}")
        width, height = self.squares_x * px_per_square, self.squares_y * px_per_square
        squares = self.cv_board().generateImage((width, height), marginSize=0, borderBits=1)
        margin = int(round(margin_squares * px_per_square))
        return np.pad(squares, margin, constant_values=255)

    def to_dict(self) -> dict[str, Any]:
        return {"squares_x": self.squares_x, "squares_y": self.squares_y,
                "square_length_m": float(self.square_length_m), "marker_length_m": float(self.marker_length_m),
                "dictionary": self.dictionary}


@lru_cache(maxsize=8)
def _cv_board(spec: CharucoBoardSpec) -> Any:
    import cv2

    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, spec.dictionary))
    return cv2.aruco.CharucoBoard((spec.squares_x, spec.squares_y), spec.square_length_m, spec.marker_length_m,
                                  dictionary)
