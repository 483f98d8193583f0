"""Pose heads → people (boxes) with their keypoints in original-image pixels.

Reads YOLO-pose raw heads [N, 5 + D*K, A] (Ultralytics YOLOv8/11-pose): per anchor a box
(cx, cy, w, h in input pixels), one person score, then K keypoints of D values each
(x, y[, visibility]); K = 17 COCO keypoints for the shipped models. No NMS is in the graph:
it is done here (Ultralytics' default IoU for pose, 0.45 in the shared README's recipe).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import numpy as np

from trtgui.core.predict.decoders.base import (
    Box,
    DecodeContext,
    Decoder,
    ModelHints,
    Outputs,
    Prediction,
    class_label,
    no_match,
    register,
)
from trtgui.core.predict.decoders.detection import (
    DEFAULT_DETECTION_THRESHOLD,
    MAX_DETECTIONS,
    cxcywh_to_xyxy,
    nms,
)

KIND = "keypoints"
COCO_KEYPOINTS = 17
# Ultralytics hides a keypoint whose visibility is below 0.5 when it draws a pose.
VISIBLE = 0.5


def keypoint_shape(features: int, hints: ModelHints | None = None) -> tuple[int, int] | None:
    """(K, D) of a pose head with `features` values per anchor: from the model's
    "kpt_shape" metadata (Ultralytics writes "[17, 3]") when it fits, else 17 keypoints of
    3 or 2 values; None when the count fits no pose head."""
    text = (hints.metadata if hints is not None else {}).get("kpt_shape", "")
    if text and len(text) < 64:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = None
        if (
            isinstance(value, (list, tuple))
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
            and 5 + value[0] * value[1] == features
        ):
            return int(value[0]), int(value[1])
    for dims in (3, 2):
        if features == 5 + COCO_KEYPOINTS * dims:
            return COCO_KEYPOINTS, dims
    return None


def _pose_output(outputs: Outputs, hints: ModelHints | None = None) -> str | None:
    """The name of the one output that is a pose head [N, 5 + D*K, A], or None."""
    for name, a in outputs.items():
        shape = np.shape(a)
        if len(shape) != 3 or np.asarray(a).dtype.kind != "f":
            continue
        # features first: the values per anchor fit a pose head, the other dimension does
        # not (a small input has fewer anchors than 56 values: a 32×32 one has 21)
        if keypoint_shape(int(shape[1]), hints) and not keypoint_shape(int(shape[2]), hints):
            return name
    return None


def explain(outputs: Outputs, hints: ModelHints) -> str | None:
    name = _pose_output(outputs, hints)
    if name is None:
        return None
    features = int(np.shape(outputs[name])[1])
    shape = keypoint_shape(features, hints)
    assert shape is not None  # _pose_output checked it
    k, d = shape
    evidence = (
        "and the model's kpt_shape metadata"
        if "kpt_shape" in hints.metadata
        else f"({features} = 4 box + 1 score + {k}×{d})"
    )
    return f"keypoints: output [N,{features},A], a YOLO-pose head with {k} keypoints {evidence}"


def decode(outputs: Outputs, ctx: DecodeContext) -> Prediction:
    name = _pose_output(outputs)
    if name is None:
        raise no_match("pose keypoints (YOLO-pose [N, 5 + 3×K, anchors])", outputs)
    threshold = DEFAULT_DETECTION_THRESHOLD if ctx.threshold is None else ctx.threshold
    a = np.asarray(outputs[name], dtype=np.float32)[0].T  # (anchors, features)
    shape = keypoint_shape(a.shape[1])
    assert shape is not None
    k, d = shape
    scores = a[:, 4]
    sel = scores >= threshold
    boxes = cxcywh_to_xyxy(a[sel, :4])
    scores = scores[sel]
    points = a[sel, 5:].reshape(-1, k, d)
    keep = nms(boxes, scores, ctx.iou_threshold, None, MAX_DETECTIONS)
    boxes, scores, points = boxes[keep], scores[keep], points[keep]
    xy = points[..., :2]
    conf = points[..., 2] if d >= 3 else np.ones(points.shape[:2], np.float32)
    if ctx.letterbox is not None:
        boxes = ctx.letterbox.to_original(boxes)
        # (x, y) pairs map like a box's corners; a keypoint off the picture is clipped to it
        xy = ctx.letterbox.to_original(xy)
    label = class_label(ctx.labels, 0)
    found = tuple(
        Box(
            float(b[0]),
            float(b[1]),
            float(b[2]),
            float(b[3]),
            float(s),
            0,
            label,
            keypoints=_points(p, c),
        )
        for b, s, p, c in zip(boxes, scores, xy, conf, strict=True)
        if b[2] > b[0] and b[3] > b[1]
    )
    return Prediction(
        kind=KIND,
        image_size=ctx.image_size,
        boxes=found,
        threshold=threshold,
        source_outputs=(name,),
        stats=ctx.stats,
        notes=(f"YOLO-pose output, {k} keypoints of {d} values, NMS {ctx.iou_threshold:g}",),
    )


def _points(xy: np.ndarray, conf: np.ndarray) -> tuple[tuple[float, float, float], ...]:
    return tuple((float(x), float(y), float(c)) for (x, y), c in zip(xy, conf, strict=True))


def summarise(prediction: Prediction) -> str:
    n = len(prediction.boxes)
    if not n:
        return f"no poses above {prediction.threshold:g}"
    best = prediction.boxes[0]
    plural = "s" if n != 1 else ""
    return (
        f"{n} pose{plural} ({best.label}), best {best.score:.3f}, "
        f"{len(best.keypoints)} keypoints each"
    )


# The 19 limbs of the COCO person skeleton (keypoint indices from 0: nose, eyes, ears,
# shoulders, elbows, wrists, hips, knees, ankles), as the COCO keypoint annotations list them.
COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13),
    (13, 11),
    (16, 14),
    (14, 12),
    (11, 12),
    (5, 11),
    (6, 12),
    (5, 6),
    (5, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (1, 2),
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
)


def visible_limbs(
    keypoints: Sequence[tuple[float, float, float]], min_conf: float = VISIBLE
) -> list[tuple[int, int]]:
    """The skeleton's limbs whose two keypoints are both visible (COCO's 17 only)."""
    if len(keypoints) != COCO_KEYPOINTS:
        return []
    return [
        (i, j)
        for i, j in COCO_SKELETON
        if keypoints[i][2] >= min_conf and keypoints[j][2] >= min_conf
    ]


register(
    Decoder(
        kind=KIND,
        title="Pose (keypoints)",
        rank=27,
        decode=decode,
        summarise=summarise,
        explain=explain,
        matches=lambda outputs: _pose_output(outputs) is not None,
        # Before detection: a [N, 56, A] pose head also reads as a 52-class YOLO head.
        guess_order=8,
    )
)
