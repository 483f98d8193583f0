"""Connected components of a binary map (the text lines of a text detector's probability map,
the blobs of a mask), vectorised over pixel runs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Regions:
    """Connected components of a binary map: per component its bounding box (inclusive
    x0, y0, x1, y1 in map pixels) and area in pixels; `labels` maps each run to its
    component (the run arrays let callers paint components without a full label image)."""

    count: int
    bboxes: np.ndarray  # (count, 4) int64
    areas: np.ndarray  # (count,) int64
    run_rows: np.ndarray
    run_starts: np.ndarray
    run_ends: np.ndarray  # exclusive
    run_labels: np.ndarray

    def label_image(self, shape: tuple[int, int]) -> np.ndarray:
        """int32 image: 0 = background, i + 1 = component i."""
        out = np.zeros(shape, np.int32)
        for r, s, e, lab in zip(
            self.run_rows, self.run_starts, self.run_ends, self.run_labels, strict=True
        ):
            out[r, s:e] = lab + 1
        return out


def connected_regions(binary: np.ndarray, connectivity: int = 8) -> Regions:
    """Label the connected components of a 2-D boolean map, vectorised over pixel runs.

    Each row is cut into runs of True pixels; runs on adjacent rows that touch are joined
    with a union-find done by repeated min-label propagation and pointer jumping, so the
    Python-level work is a handful of numpy passes instead of a loop over pixels.
    """
    m = np.asarray(binary, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"expected a 2-D map, got shape {m.shape}")
    h, w = m.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = m
    d = np.diff(padded, axis=1)
    sr, sc = np.nonzero(d == 1)  # row-major order: runs sorted by row, then column
    _, ec = np.nonzero(d == -1)
    n = sr.size
    empty = np.zeros(0, np.int64)
    if n == 0:
        return Regions(0, np.zeros((0, 4), np.int64), empty, empty, empty, empty, empty)
    rows, starts, ends = sr.astype(np.int64), sc.astype(np.int64), ec.astype(np.int64)
    stride = w + 2
    key_s = rows * stride + starts
    key_e = rows * stride + ends
    # runs j on row r+1 touching run i: end_j > start_i - g and start_j < end_i + g
    g = 1 if connectivity == 8 else 0
    lo = np.searchsorted(key_e, (rows + 1) * stride + starts - g, side="right")
    hi = np.searchsorted(key_s, (rows + 1) * stride + ends + g, side="left")
    counts = np.clip(hi - lo, 0, None)
    src = np.repeat(np.arange(n), counts)
    offs = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    dst = np.repeat(lo, counts) + offs
    label = _join_runs(np.arange(n), src, dst)
    roots, comp = np.unique(label, return_inverse=True)
    k = roots.size
    bboxes = np.empty((k, 4), np.int64)
    bboxes[:, 0] = np.iinfo(np.int64).max
    bboxes[:, 1] = np.iinfo(np.int64).max
    bboxes[:, 2] = -1
    bboxes[:, 3] = -1
    np.minimum.at(bboxes[:, 0], comp, starts)
    np.minimum.at(bboxes[:, 1], comp, rows)
    np.maximum.at(bboxes[:, 2], comp, ends - 1)
    np.maximum.at(bboxes[:, 3], comp, rows)
    areas = np.bincount(comp, weights=ends - starts, minlength=k).astype(np.int64)
    return Regions(int(k), bboxes, areas, rows, starts, ends, comp.astype(np.int64))


def _join_runs(label: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Union-find over the touching run pairs (src[i], dst[i]): every run ends up labelled
    with the smallest run index of its component."""
    if not src.size:
        return label
    while True:
        before = label.copy()
        lo_lab = np.minimum(label[src], label[dst])
        np.minimum.at(label, src, lo_lab)
        np.minimum.at(label, dst, lo_lab)
        while True:  # pointer jumping: every run points straight at its root
            nxt = label[label]
            if np.array_equal(nxt, label):
                break
            label = nxt
        if np.array_equal(label, before):
            return label
