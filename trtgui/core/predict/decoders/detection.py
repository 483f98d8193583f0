"""Detections → boxes in original-image pixels.

Reads YOLO-style outputs with or without objectness in either [N, boxes, 4+…] or
[N, 4+…, boxes] layout (raw Ultralytics heads are the latter), YOLOX raw grid heads
(`detection_yolox`), SSD-style boxes/scores/classes(/num_detections) outputs, and the
7-column DetectionOutput form; owns non-maximum suppression and box conversion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from trtgui.core.errors import InferenceError
from trtgui.core.predict.decoders import detection_yolox
from trtgui.core.predict.decoders.base import (
    DEFAULT_IOU_THRESHOLD,
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

KIND = "detection"
DEFAULT_DETECTION_THRESHOLD = 0.25
MAX_DETECTIONS = 300
# Box coordinates no larger than this are taken as fractions of the input size.
_NORMALISED_LIMIT = 1.5

Decoded = tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]  # boxes, scores, classes, notes


# -- recognising the layouts -----------------------------------------------------------------


def yolo_layout(shape: Sequence[int]) -> str | None:
    """ "boxes_first" for [N, boxes, 4+…], "features_first" for [N, 4+…, boxes], else None."""
    if len(shape) != 3:
        return None
    a, b = int(shape[1]), int(shape[2])
    small, big = min(a, b), max(a, b)
    if small < 5 or big < 2 * small:
        return None
    return "boxes_first" if a == big else "features_first"


def is_detection_output7(a: np.ndarray) -> bool:
    """Caffe/OpenVINO DetectionOutput: [1, 1, K, 7] rows (image, label, conf, x1, y1, x2, y2)."""
    return a.ndim == 4 and a.shape[:2] == (1, 1) and a.shape[3] == 7


def ssd_parts(outputs: Outputs) -> dict[str, str] | None:
    """Names of the boxes / scores / classes / num outputs of an SSD-style model, or None."""
    arrays = {k: np.asarray(v) for k, v in outputs.items()}
    box_names = [k for k, a in arrays.items() if a.ndim == 3 and a.shape[2] == 4]
    if not box_names or len(arrays) < 2:
        return None
    boxes = max(box_names, key=lambda k: ("box" in k.lower(), arrays[k].shape[1]))
    count = arrays[boxes].shape[1]
    parts = {"boxes": boxes}
    for k, a in arrays.items():
        if k == boxes:
            continue
        low = k.lower()
        if a.ndim >= 2 and a.shape[1] == count:
            integral = a.dtype.kind in "iu" or (
                a.size > 0 and bool(np.all(a == np.round(a))) and float(np.max(a)) > 1
            )
            if a.ndim == 3:
                parts.setdefault("scores", k)  # per-class scores [N, K, C]
            elif "class" in low or "label" in low:
                parts.setdefault("classes", k)
            elif "score" in low or "conf" in low:
                parts.setdefault("scores", k)
            elif integral:
                parts.setdefault("classes", k)
            else:
                parts.setdefault("scores", k)
        elif a.ndim >= 1 and a.size == a.shape[0]:
            parts.setdefault("num", k)  # num_detections: [N] or [N, 1]
    if "scores" not in parts:
        return None
    return parts


def _yolo_outputs(outputs: Outputs) -> list[str]:
    return [k for k, a in outputs.items() if np.ndim(a) == 3 and yolo_layout(np.shape(a))]


def explain(outputs: Outputs, hints: ModelHints) -> str | None:
    """Why the outputs read as detections, in words, or None."""
    parts = ssd_parts(outputs)
    if parts is not None:
        return f"detection: SSD-style outputs {', '.join(parts.values())} (boxes and scores)"
    for name, a in outputs.items():
        if is_detection_output7(np.asarray(a)):
            return f"detection: output {name} [1,1,K,7], DetectionOutput rows"
    for name in _yolo_outputs(outputs):
        a = np.asarray(outputs[name])
        if a.dtype.kind != "f":
            continue
        if yolo_layout(a.shape) == "features_first":
            f = a.shape[1]
            return (
                f"detection: output [N,{f},A], a raw YOLO head "
                f"(4 box + {f - 4} class scores, NMS here)"
            )
        return f"detection: output [N,A,{a.shape[2]}], YOLO box rows (cx, cy, w, h first)"
    return None


def _matches(outputs: Outputs) -> bool:
    if ssd_parts(outputs) is not None:
        return True
    arrays = [np.asarray(a) for a in outputs.values()]
    if any(is_detection_output7(a) for a in arrays):
        return True
    return any(
        a.ndim == 3 and yolo_layout(a.shape) is not None for a in arrays if a.dtype.kind == "f"
    )


# -- boxes -----------------------------------------------------------------------------------


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    classes: np.ndarray | None = None,
    max_out: int = MAX_DETECTIONS,
) -> np.ndarray:
    """Greedy non-maximum suppression. boxes: (K, 4) x1, y1, x2, y2. With `classes`, boxes of
    different classes never suppress each other. Returns kept indices, best score first."""
    if boxes.shape[0] == 0:
        return np.zeros(0, np.int64)
    b = boxes.astype(np.float32)
    if classes is not None:
        # shift each class into its own far-away region so one pass handles all classes
        span = float(np.max(np.abs(b))) + 1.0
        b = b + (classes.astype(np.float32) * span * 2)[:, None]
    order = np.argsort(-scores, kind="stable")
    b = b[order]
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    area = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    suppressed = np.zeros(len(order), dtype=bool)
    keep: list[int] = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        if len(keep) >= max_out:
            break
        rest = slice(i + 1, None)
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        iou = inter / np.maximum(area[i] + area[rest] - inter, 1e-9)
        suppressed[rest] |= iou > iou_threshold
    kept: np.ndarray = order[np.asarray(keep, dtype=np.int64)]
    return kept


def cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    out = np.empty_like(b, dtype=np.float32)
    half_w, half_h = b[:, 2] / 2, b[:, 3] / 2
    out[:, 0] = b[:, 0] - half_w
    out[:, 1] = b[:, 1] - half_h
    out[:, 2] = b[:, 0] + half_w
    out[:, 3] = b[:, 1] + half_h
    return out


def _is_normalised(boxes: np.ndarray, input_size: tuple[int, int] | None) -> bool:
    return bool(input_size and boxes.size and float(np.max(np.abs(boxes))) <= _NORMALISED_LIMIT)


def _scale_to_input(boxes: np.ndarray, input_size: tuple[int, int]) -> None:
    """Normalised coordinates → input pixels, in place."""
    boxes[:, 0::2] *= input_size[0]
    boxes[:, 1::2] *= input_size[1]


# -- the three layouts -----------------------------------------------------------------------


def decode_yolo(
    raw: np.ndarray,
    threshold: float = DEFAULT_DETECTION_THRESHOLD,
    iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    objectness: bool | None = None,
    num_classes: int | None = None,
    input_size: tuple[int, int] | None = None,
    grid: bool | None = None,
    class_agnostic: bool = False,
) -> Decoded:
    """One image's YOLO output ([boxes, F] or [F, boxes], cx cy w h first) → kept boxes
    (K, 4 xyxy in input pixels), scores (K,), classes (K,) and notes.

    grid: the output is a raw YOLOX grid (offsets and log sizes in cells, with objectness);
    None = decide from the rows and the input size. class_agnostic: NMS across classes (one
    box per place whatever its class) rather than per class."""
    a = np.asarray(raw, dtype=np.float32)
    if a.ndim == 3:
        a = a[0]
    notes: list[str] = []
    layout = yolo_layout((1, *a.shape))
    if layout == "features_first":
        a = a.T
    if grid is None:
        grid = detection_yolox.looks_like_grid(a, input_size)
    if grid:
        if input_size is None:
            raise InferenceError(
                "A YOLOX grid output needs the input size to be decoded: run it on an image."
            )
        if a.shape[0] != detection_yolox.grid_count(input_size):
            raise InferenceError(
                f"The output has {a.shape[0]} rows, but a YOLOX grid for a "
                f"{input_size[0]}x{input_size[1]} input has "
                f"{detection_yolox.grid_count(input_size)} (strides 8, 16, 32): choose "
                "another preset or kind."
            )
        a = detection_yolox.ungrid(a, input_size)
        objectness = True
        notes.append("YOLOX grid output (strides 8, 16, 32): score = objectness × class")
    feats = a.shape[1]
    if objectness is None:
        if num_classes is not None and feats - 5 == num_classes:
            objectness = True
        elif num_classes is not None and feats - 4 == num_classes:
            objectness = False
        else:
            objectness = feats == 85  # 80 COCO classes + objectness (YOLOv5/v7)
    first_class = 5 if objectness else 4
    if feats <= first_class:
        raise InferenceError(
            f"The detection output has {feats} values per box, too few for YOLO: choose "
            "another kind."
        )
    cls_scores = a[:, first_class:]
    cls_idx = np.argmax(cls_scores, axis=1)
    score = cls_scores[np.arange(a.shape[0]), cls_idx]
    if objectness:
        score = score * a[:, 4]
    n = cls_scores.shape[1]
    notes.append(
        f"YOLO output, {'boxes first' if layout != 'features_first' else 'features first'}, "
        f"{n} class{'es' if n != 1 else ''}, {'with' if objectness else 'no'} objectness"
    )
    sel = score >= threshold
    boxes = cxcywh_to_xyxy(a[sel, :4])
    score, cls_idx = score[sel], cls_idx[sel]
    if input_size is not None and _is_normalised(boxes, input_size):
        _scale_to_input(boxes, input_size)
    keep = nms(boxes, score, iou_threshold, None if class_agnostic else cls_idx)
    if class_agnostic:
        notes.append("NMS across classes")
    return boxes[keep], score[keep], cls_idx[keep], notes


def _decode_ssd(
    outputs: Outputs,
    parts: Mapping[str, str],
    threshold: float,
    iou_threshold: float,
    box_format: str | None,
    input_size: tuple[int, int] | None,
) -> Decoded:
    boxes = np.asarray(outputs[parts["boxes"]], np.float32)[0]
    scores = np.asarray(outputs[parts["scores"]], np.float32)[0]
    notes: list[str] = []
    n: int | None = None
    if "num" in parts:
        n = int(np.asarray(outputs[parts["num"]]).reshape(-1)[0])
        boxes, scores = boxes[:n], scores[:n]
    need_nms = False
    if scores.ndim == 2:  # per-class scores [K, C]: pick the best class, then NMS
        classes = np.argmax(scores, axis=1)
        scores = scores[np.arange(scores.shape[0]), classes]
        need_nms = True
    elif "classes" in parts:
        classes = np.rint(np.asarray(outputs[parts["classes"]])[0]).astype(np.int64)
        if n is not None:
            classes = classes[:n]
    else:
        classes = np.zeros(scores.shape[0], np.int64)
    fmt = box_format
    if fmt is None:
        fmt = "yxyx" if "detection_boxes" in parts["boxes"].lower() else "xyxy"
    if fmt == "yxyx":
        boxes = boxes[:, [1, 0, 3, 2]]
    elif fmt == "cxcywh":
        boxes = cxcywh_to_xyxy(boxes)
    elif fmt != "xyxy":
        raise InferenceError(f"Unknown box format {fmt!r}: use xyxy, yxyx or cxcywh.")
    sel = scores >= threshold
    boxes, scores, classes = boxes[sel], scores[sel], classes[sel]
    if input_size is not None and _is_normalised(boxes, input_size):
        boxes = boxes.copy()
        _scale_to_input(boxes, input_size)
        notes.append("normalised box coordinates scaled to the input size")
    if need_nms:
        keep = nms(boxes, scores, iou_threshold, classes)
    else:
        keep = np.argsort(-scores, kind="stable")[:MAX_DETECTIONS]
    notes.insert(0, f"SSD-style outputs ({', '.join(f'{k}={v}' for k, v in parts.items())}), {fmt}")
    return boxes[keep], scores[keep], classes[keep], notes


def _decode_rows7(
    rows7: np.ndarray, threshold: float, input_size: tuple[int, int] | None
) -> Decoded:
    rows = np.asarray(rows7, np.float32).reshape(-1, 7)
    rows = rows[(rows[:, 0] >= 0) & (rows[:, 2] >= threshold)]
    boxes, scores, classes = rows[:, 3:7].copy(), rows[:, 2], rows[:, 1].astype(np.int64)
    if input_size is not None and _is_normalised(boxes, input_size):
        _scale_to_input(boxes, input_size)
    return (
        boxes,
        scores,
        classes,
        ["DetectionOutput rows (image, label, confidence, x1, y1, x2, y2)"],
    )


# -- the decoder -----------------------------------------------------------------------------


def decode(outputs: Outputs, ctx: DecodeContext) -> Prediction:
    threshold = DEFAULT_DETECTION_THRESHOLD if ctx.threshold is None else ctx.threshold
    input_size = ctx.input_size
    ssd = ssd_parts(outputs)
    seven = [k for k, a in outputs.items() if is_detection_output7(np.asarray(a))]
    source: tuple[str, ...]
    if ssd is not None:
        decoded = _decode_ssd(
            outputs, ssd, threshold, ctx.iou_threshold, ctx.box_format, input_size
        )
        source = tuple(ssd.values())
    elif seven:
        decoded = _decode_rows7(outputs[seven[0]], threshold, input_size)
        source = (seven[0],)
    else:
        candidates = _yolo_outputs(outputs)
        if not candidates:
            raise no_match("detections (YOLO [N, boxes, 4+classes], SSD boxes and scores)", outputs)
        name = max(candidates, key=lambda k: int(np.asarray(outputs[k]).size))
        num_classes = len(ctx.labels) if ctx.labels else None
        decoded = decode_yolo(
            outputs[name],
            threshold,
            ctx.iou_threshold,
            ctx.objectness,
            num_classes,
            input_size,
            grid=True if ctx.box_format == detection_yolox.GRID_FORMAT else None,
            class_agnostic=ctx.class_agnostic,
        )
        source = (name,)
    boxes, scores, classes, notes = decoded
    if ctx.letterbox is not None:
        boxes = ctx.letterbox.to_original(boxes)
    return Prediction(
        kind=KIND,
        image_size=ctx.image_size,
        boxes=_boxes(boxes, scores, classes, ctx.labels),
        threshold=threshold,
        source_outputs=source,
        stats=ctx.stats,
        notes=tuple(notes),
    )


def _boxes(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, labels: Sequence[str] | None
) -> tuple[Box, ...]:
    """Box records of the non-empty boxes."""
    return tuple(
        Box(
            float(b[0]),
            float(b[1]),
            float(b[2]),
            float(b[3]),
            float(s),
            int(c),
            class_label(labels, int(c)),
        )
        for b, s, c in zip(boxes, scores, classes, strict=True)
        if b[2] > b[0] and b[3] > b[1]
    )


def summarise(prediction: Prediction) -> str:
    n = len(prediction.boxes)
    if not n:
        return "no detections above the threshold"
    names: dict[str, int] = {}
    for b in prediction.boxes:
        names[b.label] = names.get(b.label, 0) + 1
    parts = ", ".join(f"{v} {k}" for k, v in sorted(names.items(), key=lambda kv: -kv[1]))
    return f"{n} detection{'s' if n != 1 else ''}: {parts}"


register(
    Decoder(
        kind=KIND,
        title="Detection (boxes)",
        rank=20,
        decode=decode,
        summarise=summarise,
        matches=_matches,
        explain=explain,
        guess_order=10,
    )
)
