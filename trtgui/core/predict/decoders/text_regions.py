"""A text detector's probability map (DBNet, PaddleOCR's PP-OCR det) → text line boxes.

PaddleOCR's DBPostProcess, without OpenCV or pyclipper: the map is thresholded (0.3), each
connected region is scored by its mean probability (PaddleOCR's `score_mode="slow"`: the
region itself, not its rectangle, so thin printed lines keep their score) and kept from 0.6;
its minimum-area rectangle (rotating calipers over the region's convex hull) is "unclipped":
grown by distance = area × 1.5 / perimeter on every side. PaddleOCR grows the rectangle's
polygon with pyclipper's round joins and takes the minimum-area rectangle of the result; for a
rectangle that is exactly the rectangle with each side moved out by the distance, since the
rounded corners stay inside it. Corners are mapped back through the preprocessing and the
lines sorted top to bottom, then left to right on one line (PaddleOCR's sorted_boxes).
"""

from __future__ import annotations

import re

import numpy as np

from trtgui.core.imaging import Letterbox
from trtgui.core.predict.decoders.base import (
    Box,
    DecodeContext,
    Decoder,
    ModelHints,
    Outputs,
    Prediction,
    no_match,
    register,
)
from trtgui.core.predict.regions import Regions, connected_regions

KIND = "text-regions"
LABEL = "text"
# PaddleOCR's inference defaults (tools/infer/utility.py): det_db_thresh, det_db_box_thresh,
# det_db_unclip_ratio; min_size and max_candidates from DBPostProcess.
DEFAULT_THRESHOLD = 0.3
BOX_THRESHOLD = 0.6
UNCLIP_RATIO = 1.5
MIN_SIZE = 3
MAX_CANDIDATES = 1000
SAME_LINE_PX = 10  # sorted_boxes: tops closer than this are one line, read left to right
# paddle2onnx names the detector's output after its last op: "sigmoid_0.tmp_0".
_PADDLE_SIGMOID = re.compile(r"^sigmoid_\d+\.tmp_\d+$")

Corners = np.ndarray  # (4, 2) float: top-left, top-right, bottom-right, bottom-left


def pick_map(outputs: Outputs) -> tuple[str, np.ndarray] | None:
    """The one-channel [N, 1, H, W] float map."""
    for name, value in outputs.items():
        a = np.asarray(value)
        if a.dtype.kind == "f" and a.ndim == 4 and a.shape[1] == 1 and min(a.shape[2:]) > 1:
            return name, a
    return None


# -- geometry --------------------------------------------------------------------------------


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Andrew's monotone chain: the hull of (n, 2) points, counter-clockwise, no repeats."""
    pts = np.unique(points.astype(np.float64), axis=0)  # sorted by x, then y
    if len(pts) <= 2:
        return pts

    def half(seq: np.ndarray) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for p in seq:
            while len(out) >= 2:
                (ax, ay), (bx, by) = out[-2], out[-1]
                if (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) > 0:
                    break
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


def min_area_rect(points: np.ndarray) -> tuple[Corners, float, float]:
    """The smallest rectangle around the points: its corners (top-left first, clockwise on
    screen) and its two side lengths (long, short). One side of it lies on a hull edge."""
    hull = convex_hull(points)
    if len(hull) == 1:
        return np.repeat(hull, 4, axis=0), 0.0, 0.0
    edges = np.roll(hull, -1, axis=0) - hull
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    u = edges[lengths > 0] / lengths[lengths > 0, None]  # each edge's direction
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)
    pu, pv = hull @ u.T, hull @ v.T  # (points, directions)
    lo_u, hi_u, lo_v, hi_v = pu.min(0), pu.max(0), pv.min(0), pv.max(0)
    k = int(np.argmin((hi_u - lo_u) * (hi_v - lo_v)))
    corners = np.array(
        [
            lo_u[k] * u[k] + lo_v[k] * v[k],
            hi_u[k] * u[k] + lo_v[k] * v[k],
            hi_u[k] * u[k] + hi_v[k] * v[k],
            lo_u[k] * u[k] + hi_v[k] * v[k],
        ]
    )
    sides = sorted((float(hi_u[k] - lo_u[k]), float(hi_v[k] - lo_v[k])), reverse=True)
    return order_corners(corners), sides[0], sides[1]


def order_corners(corners: np.ndarray) -> Corners:
    """Top-left, top-right, bottom-right, bottom-left, as PaddleOCR's get_mini_boxes orders
    them: the two leftmost points (top one first), then the two rightmost."""
    by_x = corners[np.argsort(corners[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]])


def unclip(corners: Corners, long_side: float, short_side: float, ratio: float) -> Corners:
    """The rectangle with every side moved out by area × ratio / perimeter."""
    distance = long_side * short_side * ratio / (2.0 * (long_side + short_side))
    centre = corners.mean(axis=0)
    along = corners[1] - corners[0]
    across = corners[3] - corners[0]
    a_len, c_len = float(np.hypot(*along)), float(np.hypot(*across))
    a_dir = along / a_len if a_len else np.array([1.0, 0.0])
    c_dir = across / c_len if c_len else np.array([-a_dir[1], a_dir[0]])
    half_a, half_c = a_len / 2 + distance, c_len / 2 + distance
    grown = np.array(
        [
            centre - half_a * a_dir - half_c * c_dir,
            centre + half_a * a_dir - half_c * c_dir,
            centre + half_a * a_dir + half_c * c_dir,
            centre - half_a * a_dir + half_c * c_dir,
        ]
    )
    return order_corners(grown)


# -- the decoder -----------------------------------------------------------------------------


def _region_points(regions: Regions) -> list[np.ndarray]:
    """Per region, the end pixels of its runs (x, y): their hull is the region's hull."""
    if regions.count == 0:  # np.split of nothing would still give one empty piece
        return []
    order = np.argsort(regions.run_labels, kind="stable")
    counts = np.bincount(regions.run_labels, minlength=regions.count)
    starts = np.stack([regions.run_starts, regions.run_rows], axis=1)[order]
    ends = np.stack([regions.run_ends - 1, regions.run_rows], axis=1)[order]
    cuts = np.cumsum(counts)[:-1]
    return [
        np.concatenate([s, e])
        for s, e in zip(np.split(starts, cuts), np.split(ends, cuts), strict=True)
    ]


def _mean_probability(regions: Regions, prob: np.ndarray) -> np.ndarray:
    row_cum = np.concatenate([np.zeros((prob.shape[0], 1)), np.cumsum(prob, axis=1)], axis=1)
    rows = regions.run_rows
    run_sums = row_cum[rows, regions.run_ends] - row_cum[rows, regions.run_starts]
    sums = np.bincount(regions.run_labels, weights=run_sums, minlength=regions.count)
    means: np.ndarray = sums / np.maximum(regions.areas, 1)
    return means


def _to_original(corners: Corners, shape: tuple[int, int], box: Letterbox | None) -> Corners:
    """Map pixels → original-image pixels, rounded and clipped as PaddleOCR does."""
    if box is None:
        return np.round(corners)
    mh, mw = shape
    pts = corners * np.array([box.input_width / mw, box.input_height / mh])
    flat = box.to_original(pts.reshape(1, 8), clip=False).reshape(4, 2)
    flat[:, 0] = np.clip(np.round(flat[:, 0]), 0, box.image_width)
    flat[:, 1] = np.clip(np.round(flat[:, 1]), 0, box.image_height)
    out: np.ndarray = flat
    return out


def reading_order(quads: list[Corners]) -> list[int]:
    """PaddleOCR's sorted_boxes: by the top-left corner's y then x, and a box whose top is
    within SAME_LINE_PX of the one before and left of it moves before it (one line)."""
    order = sorted(range(len(quads)), key=lambda i: (quads[i][0, 1], quads[i][0, 0]))
    for i in range(len(order) - 1):
        for j in range(i, -1, -1):
            a, b = quads[order[j]][0], quads[order[j + 1]][0]
            if abs(b[1] - a[1]) < SAME_LINE_PX and b[0] < a[0]:
                order[j], order[j + 1] = order[j + 1], order[j]
            else:
                break
    return order


def decode(outputs: Outputs, ctx: DecodeContext) -> Prediction:
    found = pick_map(outputs)
    if found is None:
        raise no_match("a text probability map ([N, 1, H, W])", outputs)
    name, a = found
    prob = np.asarray(a[0, 0], np.float32)
    notes: list[str] = []
    if float(np.min(prob)) < 0 or float(np.max(prob)) > 1:
        prob = (1.0 / (1.0 + np.exp(-prob))).astype(np.float32)
        notes.append(f"sigmoid applied to {name} (values outside 0..1)")
    threshold = DEFAULT_THRESHOLD if ctx.threshold is None else ctx.threshold
    regions = connected_regions(prob > threshold)
    scores = _mean_probability(regions, prob)
    quads: list[Corners] = []
    kept_scores: list[float] = []
    for index, points in enumerate(_region_points(regions)[:MAX_CANDIDATES]):
        if scores[index] < BOX_THRESHOLD:
            continue
        corners, long_side, short_side = min_area_rect(points)
        if short_side < MIN_SIZE:
            continue
        grown = unclip(corners, long_side, short_side, UNCLIP_RATIO)
        sides = np.hypot(*(grown[1] - grown[0])), np.hypot(*(grown[3] - grown[0]))
        if min(sides) < MIN_SIZE + 2:
            continue
        quads.append(_to_original(grown, prob.shape, ctx.letterbox))
        kept_scores.append(float(scores[index]))
    boxes = tuple(_box(quads[i], kept_scores[i]) for i in reading_order(quads))
    if regions.count > len(boxes):
        notes.append(
            f"{regions.count - len(boxes)} of {regions.count} regions dropped "
            f"(mean probability under {BOX_THRESHOLD:g} or narrower than {MIN_SIZE} px)"
        )
    return Prediction(
        kind=KIND,
        image_size=ctx.image_size,
        boxes=boxes,
        region_count=len(boxes),
        threshold=threshold,
        source_outputs=(name,),
        stats=ctx.stats,
        notes=tuple(notes),
    )


def _box(quad: Corners, score: float) -> Box:
    lo, hi = quad.min(axis=0), quad.max(axis=0)
    polygon = tuple((float(x), float(y)) for x, y in quad)
    return Box(float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]), score, 0, LABEL, polygon)


def explain(outputs: Outputs, hints: ModelHints) -> str | None:
    """Why the outputs look like a PP-OCR text detector's, or None: a one-channel map named
    as paddle2onnx names a sigmoid's output, or from a PaddlePaddle model. A one-channel map
    from anywhere else (U²-Net's mask) is left to segmentation."""
    found = pick_map(outputs)
    if found is None:
        return None
    name, _ = found
    if _PADDLE_SIGMOID.match(name):
        return f"text-regions: output {name} [N,1,H,W] is a PP-OCR text detector's map (DBNet)"
    dims = [str(d) for d in (hints.input_shape or ()) if isinstance(d, str)]
    if "paddle" in hints.producer.lower() or any(d.startswith("p2o.") for d in dims):
        return "text-regions: a one-channel map [N,1,H,W] from a PaddlePaddle model (PP-OCR det)"
    return None


def summarise(prediction: Prediction) -> str:
    n = prediction.region_count if prediction.region_count is not None else len(prediction.boxes)
    threshold = prediction.threshold if prediction.threshold is not None else DEFAULT_THRESHOLD
    return f"{n} text region{'s' if n != 1 else ''} above {threshold:g}"


register(
    Decoder(
        kind=KIND,
        title="Text regions (text detector)",
        rank=35,
        decode=decode,
        summarise=summarise,
        explain=explain,
        guess_order=15,  # before segmentation, which reads any one-channel map
    )
)
