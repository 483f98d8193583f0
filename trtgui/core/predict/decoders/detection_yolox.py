"""YOLOX raw grid heads: [N, A, 5 + C] per anchor cell, for strides 8, 16 and 32.

An exported YOLOX (without `decode_in_inference`) gives per cell the box centre as an offset
in cells, the size as a log in cells, then objectness and C class scores (already through a
sigmoid). YOLOX's ONNX demo decodes them as xy = (out_xy + cell) × stride and
wh = exp(out_wh) × stride, with the cells of each stride row by row (x moving first) and the
strides one after another; score = objectness × class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

STRIDES = (8, 16, 32)
# "yolox" as a box format: the detection decoder reads the output as a raw YOLOX grid.
GRID_FORMAT = "yolox"
# A decoded box's centre is in input pixels, up to the input's side; a raw offset is a few
# cells at most. Above this share of the side, the output is taken as decoded already.
_RAW_LIMIT = 0.1


def grid_cells(
    input_size: tuple[int, int], strides: Sequence[int] = STRIDES
) -> tuple[np.ndarray, np.ndarray]:
    """(cells (A, 2) x, y in cells, stride (A,)) for an input of (width, height)."""
    width, height = input_size
    cells: list[np.ndarray] = []
    sizes: list[np.ndarray] = []
    for stride in strides:
        ys, xs = np.meshgrid(np.arange(height // stride), np.arange(width // stride), indexing="ij")
        cells.append(np.stack((xs.ravel(), ys.ravel()), axis=1))
        sizes.append(np.full(xs.size, stride))
    return np.concatenate(cells).astype(np.float32), np.concatenate(sizes).astype(np.float32)


def grid_count(input_size: tuple[int, int], strides: Sequence[int] = STRIDES) -> int:
    """How many cells the strides give an input of (width, height): 3549 for 416×416."""
    width, height = input_size
    return sum((width // s) * (height // s) for s in strides)


def looks_like_grid(rows: np.ndarray, input_size: tuple[int, int] | None) -> bool:
    """Whether boxes-first rows (A, 5 + C) are a raw YOLOX grid for this input: one row per
    cell, centres as small offsets (some negative, as raw offsets are) rather than pixels."""
    if input_size is None or rows.ndim != 2 or rows.shape[1] < 6:
        return False
    if rows.shape[0] != grid_count(input_size) or rows.size == 0:
        return False
    box = rows[:, :4]
    side = min(input_size)
    return float(np.min(box)) < 0 and float(np.max(np.abs(box[:, :2]))) < _RAW_LIMIT * side


def ungrid(rows: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """Raw grid rows (A, 5 + C) → the same rows with cx, cy, w, h in input pixels."""
    cells, stride = grid_cells(input_size)
    out = np.asarray(rows, dtype=np.float32).copy()
    out[:, :2] = (out[:, :2] + cells) * stride[:, None]
    # capped: exp of a junk cell's large log size would overflow to inf (e^20 cells is far
    # beyond any picture, and finite)
    out[:, 2:4] = np.exp(np.minimum(out[:, 2:4], 20.0)) * stride[:, None]
    return out
