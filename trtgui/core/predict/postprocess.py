"""Model outputs → a `Prediction` the GUI and the CLI render.

Owns the decoding of the common output conventions: classification (softmax when the outputs
are logits, top-k, labels), detection (YOLO-style with or without objectness in either
[N, boxes, 4+…] or [N, 4+…, boxes] layout, SSD-style boxes/scores/classes(/num_detections),
and the 7-column DetectionOutput form), segmentation and probability maps (overlay in the
original image's size, connected text regions for PaddleOCR's detector), plus statistics and
a histogram of every output. `guess_kind` chooses the kind from the output shapes; callers
can override it.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trtgui.core.errors import InferenceError
from trtgui.core.imaging import Letterbox

log = logging.getLogger(__name__)

KINDS = ("classification", "detection", "segmentation", "raw")
HISTOGRAM_BINS = 32
DEFAULT_DETECTION_THRESHOLD = 0.25
DEFAULT_MAP_THRESHOLD = 0.3  # PaddleOCR DB text detector's binarisation threshold
DEFAULT_IOU_THRESHOLD = 0.45
MAX_DETECTIONS = 300


@dataclass(frozen=True)
class ClassScore:
    index: int
    label: str
    score: float

    @property
    def is_named(self) -> bool:
        """False when no labels named the class: its label is just `class <index>`."""
        return self.label != unnamed_label(self.index)


@dataclass(frozen=True)
class Box:
    """One detection in original-image pixels."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    class_index: int
    label: str

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


@dataclass(frozen=True, eq=False)
class OutputStats:
    """Summary of one output tensor (NaN/Inf are counted, and left out of the figures)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    min: float
    max: float
    mean: float
    std: float
    nan_count: int
    inf_count: int
    histogram: tuple[int, ...]
    bin_edges: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "std": self.std,
            "nan_count": self.nan_count,
            "inf_count": self.inf_count,
            "histogram": list(self.histogram),
            "bin_edges": list(self.bin_edges),
        }


@dataclass(frozen=True, eq=False)
class Prediction:
    """What a model said about one image, ready to draw or print.

    kind: "classification" | "detection" | "segmentation" | "raw".
    classes: top-k for classifiers; for segmentation, the classes present (score = area share).
    boxes: detections, or for probability maps the bounding boxes of connected regions.
    mask: float32 probability map (0..1) in the original image's size, or None.
    class_map: int32 class index per original-image pixel (multi-class segmentation), or None.
    region_count: connected regions above `threshold` in a probability map (text lines).
    stats: one entry per output, always.
    """

    kind: str
    image_size: tuple[int, int] | None = None  # (width, height) of the original image
    classes: tuple[ClassScore, ...] = ()
    boxes: tuple[Box, ...] = ()
    mask: np.ndarray | None = None
    class_map: np.ndarray | None = None
    region_count: int | None = None
    threshold: float | None = None
    source_outputs: tuple[str, ...] = ()  # the outputs this prediction was decoded from
    stats: tuple[OutputStats, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def top(self) -> ClassScore | None:
        return self.classes[0] if self.classes else None

    def summary(self) -> str:
        """One line for a status bar or the CLI."""
        if self.kind == "classification" and self.classes:
            c = self.classes[0]
            return f"{c.label} ({c.score:.1%})"
        if self.kind == "detection":
            n = len(self.boxes)
            if not n:
                return "no detections above the threshold"
            names: dict[str, int] = {}
            for b in self.boxes:
                names[b.label] = names.get(b.label, 0) + 1
            parts = ", ".join(f"{v} {k}" for k, v in sorted(names.items(), key=lambda kv: -kv[1]))
            return f"{n} detection{'s' if n != 1 else ''}: {parts}"
        if self.kind == "segmentation":
            if self.region_count is not None:
                n = self.region_count
                what = self.boxes[0].label if self.boxes else "region"
                noun = f"region{'s' if n != 1 else ''}"
                noun = noun if what == "region" else f"{what} {noun}"
                return f"{n} {noun} above {self.threshold:g}"
            if self.classes:
                return "classes: " + ", ".join(c.label for c in self.classes[:5])
            return "segmentation map"
        return f"{len(self.stats)} output{'s' if len(self.stats) != 1 else ''}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (maps are summarised, not dumped)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "summary": self.summary(),
            "image_size": list(self.image_size) if self.image_size else None,
            "classes": [
                {"index": c.index, "label": c.label, "score": c.score} for c in self.classes
            ],
            "boxes": [
                {
                    "x1": b.x1,
                    "y1": b.y1,
                    "x2": b.x2,
                    "y2": b.y2,
                    "score": b.score,
                    "class_index": b.class_index,
                    "label": b.label,
                }
                for b in self.boxes
            ],
            "region_count": self.region_count,
            "threshold": self.threshold,
            "source_outputs": list(self.source_outputs),
            "stats": [s.to_dict() for s in self.stats],
            "notes": list(self.notes),
        }
        if self.mask is not None:
            out["mask"] = {
                "shape": list(self.mask.shape),
                "mean": float(self.mask.mean()),
                "max": float(self.mask.max()),
            }
        if self.class_map is not None:
            out["class_map"] = {"shape": list(self.class_map.shape)}
        return out


# -- labels ---------------------------------------------------------------------------------


def load_labels(path: str | Path) -> tuple[str, ...]:
    """Class names, one per line (line i = class i). Raises InferenceError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InferenceError(f"Cannot read the labels file {p}: {exc}") from exc
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise InferenceError(f"The labels file {p} is empty: it needs one class name per line.")
    return tuple(lines)


def unnamed_label(index: int) -> str:
    """What a class without a name is called."""
    return f"class {index}"


def _label(labels: Sequence[str] | None, index: int, num_classes: int | None = None) -> str:
    if labels:
        offset = 1 if num_classes is not None and num_classes == len(labels) + 1 else 0
        i = index - offset
        if offset and index == 0:
            return "background"
        if 0 <= i < len(labels):
            return labels[i]
    return unnamed_label(index)


# A classifier with 1000 scores is an ImageNet-1k classifier in practice (1001: TF-slim and
# TF-Lite models put "background" first, which `_label` handles). Its names ship with the
# demo, so such a model reads "espresso" rather than "class 967" without a labels file.
IMAGENET_CLASS_COUNTS = (1000, 1001)
IMAGENET_LABELS_SOURCE = "ImageNet (built in)"


@functools.lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names shipped in resources/demo/labels.txt (line i = class
    i). Raises InferenceError when the file is missing from the installation."""
    from trtgui.core.resources import resource_path

    return load_labels(resource_path("demo", "labels.txt"))


def is_imagenet_count(num_classes: int | None) -> bool:
    return num_classes in IMAGENET_CLASS_COUNTS


def class_count(shape: Sequence[int | str | None] | None) -> int | None:
    """The class count of a class-score output shape ([N, C], [N, C, 1, 1] or [C]; dims may
    be symbolic), as `_class_vector` reads it; None for other shapes or an unknown C."""
    if not shape:
        return None
    if len(shape) == 1:
        c = shape[0]
    elif all(d == 1 for d in shape[2:]):
        c = shape[1]
    else:
        return None
    return c if isinstance(c, int) and c >= 2 else None


def builtin_class_labels(
    outputs: Mapping[str, np.ndarray], kind: str | None = None
) -> tuple[tuple[str, ...] | None, str]:
    """(names, source) for a classifier the user gave no labels for: the built-in ImageNet
    names when its class output has 1000 (or 1001) scores, else (None, "")."""
    if (kind or guess_kind(outputs)) != "classification":
        return None, ""
    _name, vec = _pick_class_output(outputs, None)
    if vec is None or not is_imagenet_count(int(vec.size)):
        return None, ""
    try:
        return imagenet_labels(), IMAGENET_LABELS_SOURCE
    except InferenceError as err:  # a broken installation: numbered classes still answer
        log.warning("built-in ImageNet labels unavailable: %s", err)
        return None, ""


# -- statistics -----------------------------------------------------------------------------


def output_stats(name: str, array: np.ndarray, bins: int = HISTOGRAM_BINS) -> OutputStats:
    a = np.asarray(array)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    numeric = a.dtype.kind in "biuf"
    values = a.astype(np.float64, copy=False).ravel() if numeric else np.zeros(0)
    finite_mask = np.isfinite(values)
    nan_count = int(np.isnan(values).sum()) if numeric else 0
    inf_count = int(values.size - finite_mask.sum() - nan_count)
    finite = values[finite_mask] if not finite_mask.all() else values
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        counts, edges = np.histogram(finite, bins=bins, range=(lo, hi if hi > lo else lo + 1))
        mean, std = float(finite.mean()), float(finite.std())
    else:
        lo = hi = mean = std = math.nan
        counts, edges = np.zeros(bins, np.int64), np.linspace(0, 1, bins + 1)
    return OutputStats(
        name=name,
        shape=tuple(int(d) for d in a.shape),
        dtype=str(a.dtype),
        min=lo,
        max=hi,
        mean=mean,
        std=std,
        nan_count=nan_count,
        inf_count=inf_count,
        histogram=tuple(int(c) for c in counts),
        bin_edges=tuple(float(e) for e in edges),
    )


# -- choosing the kind ----------------------------------------------------------------------


def guess_kind(outputs: Mapping[str, np.ndarray]) -> str:
    """ "classification" | "detection" | "segmentation" | "raw", from the output shapes."""
    if _ssd_parts(outputs) is not None or any(_is_detection_output7(a) for a in outputs.values()):
        return "detection"
    arrays = [np.asarray(a) for a in outputs.values()]
    floats = [a for a in arrays if a.dtype.kind == "f"]
    if any(a.ndim == 3 and _yolo_layout(a.shape) is not None for a in floats):
        return "detection"
    if any(
        a.ndim == 4 and a.shape[2] > 1 and a.shape[3] > 1 and a.shape[1] <= 1024 for a in floats
    ):
        return "segmentation"
    if any(_class_vector(a) is not None for a in floats):
        return "classification"
    return "raw"


def _class_vector(a: np.ndarray) -> np.ndarray | None:
    """[N, C], [N, C, 1, 1] or [C] → the first image's C scores."""
    if a.ndim == 1 and a.size >= 2:
        return a
    if a.ndim >= 2 and a.shape[1] >= 2 and all(d == 1 for d in a.shape[2:]):
        vec: np.ndarray = a[0].reshape(-1)
        return vec
    return None


def _yolo_layout(shape: Sequence[int]) -> str | None:
    """ "boxes_first" for [N, boxes, 4+…], "features_first" for [N, 4+…, boxes], else None."""
    if len(shape) != 3:
        return None
    a, b = int(shape[1]), int(shape[2])
    small, big = min(a, b), max(a, b)
    if small < 5 or big < 2 * small:
        return None
    return "boxes_first" if a == big else "features_first"


def _is_detection_output7(a: np.ndarray) -> bool:
    """Caffe/OpenVINO DetectionOutput: [1, 1, K, 7] rows (image, label, conf, x1, y1, x2, y2)."""
    return a.ndim == 4 and a.shape[:2] == (1, 1) and a.shape[3] == 7


# -- the entry point ------------------------------------------------------------------------


def postprocess(
    outputs: Mapping[str, np.ndarray],
    letterbox: Letterbox | None = None,
    *,
    kind: str | None = None,
    labels: Sequence[str] | None = None,
    top_k: int = 5,
    threshold: float | None = None,
    iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    objectness: bool | None = None,
    box_format: str | None = None,
) -> Prediction:
    """Decode raw outputs (batch entry 0) into a `Prediction`.

    kind: None = guess from the shapes. threshold: detection score threshold (default 0.25)
    or probability-map threshold (default 0.3). objectness: YOLO outputs with a separate
    objectness column (YOLOv5/v7) — None = decide from the labels count or the column count.
    box_format: SSD boxes as "xyxy" or "yxyx" (TensorFlow) — None = decide from the names.
    """
    if not outputs:
        raise InferenceError("The model produced no outputs.")
    stats = tuple(output_stats(name, arr) for name, arr in outputs.items())
    chosen = kind or guess_kind(outputs)
    if chosen not in KINDS:
        raise InferenceError(f"Unknown prediction kind {chosen!r}: use one of {', '.join(KINDS)}.")
    image_size = (letterbox.image_width, letterbox.image_height) if letterbox else None
    if chosen == "classification":
        return _classification(outputs, labels, top_k, stats, image_size)
    if chosen == "detection":
        return _detection(
            outputs,
            letterbox,
            labels,
            DEFAULT_DETECTION_THRESHOLD if threshold is None else threshold,
            iou_threshold,
            objectness,
            box_format,
            stats,
            image_size,
        )
    if chosen == "segmentation":
        return _segmentation(
            outputs,
            letterbox,
            labels,
            DEFAULT_MAP_THRESHOLD if threshold is None else threshold,
            top_k,
            stats,
            image_size,
        )
    return Prediction(kind="raw", image_size=image_size, stats=stats)


# -- classification -------------------------------------------------------------------------


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x.astype(np.float64) - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)
    return out


def looks_like_probabilities(x: np.ndarray, axis: int = -1, tol: float = 1e-2) -> bool:
    """True when every value is in [0, 1] and they sum to 1 along `axis` (already softmaxed)."""
    if x.size == 0 or float(x.min()) < -1e-6 or float(x.max()) > 1 + 1e-6:
        return False
    return bool(np.all(np.abs(x.sum(axis=axis) - 1.0) < tol))


def _classification(
    outputs: Mapping[str, np.ndarray],
    labels: Sequence[str] | None,
    top_k: int,
    stats: tuple[OutputStats, ...],
    image_size: tuple[int, int] | None,
) -> Prediction:
    name, vec = _pick_class_output(outputs, labels)
    if vec is None:
        raise InferenceError(
            "No output looks like class scores ([N, classes]): choose another kind.",
            details=", ".join(f"{k}: {list(np.shape(v))}" for k, v in outputs.items()),
        )
    scores = vec.astype(np.float32)
    notes: list[str] = []
    if looks_like_probabilities(scores):
        probs = scores
    else:
        probs = softmax(scores)
        notes.append(f"softmax applied to {name} (the outputs look like logits)")
    k = max(1, min(top_k, probs.size))
    top = np.argpartition(-probs, k - 1)[:k]
    top = top[np.argsort(-probs[top], kind="stable")]
    n = int(probs.size)
    if labels and n not in (len(labels), len(labels) + 1):
        notes.append(f"the labels list has {len(labels)} names but {name} has {n} classes")
    classes = tuple(ClassScore(int(i), _label(labels, int(i), n), float(probs[i])) for i in top)
    return Prediction(
        kind="classification",
        image_size=image_size,
        classes=classes,
        source_outputs=(name,),
        stats=stats,
        notes=tuple(notes),
    )


def _pick_class_output(
    outputs: Mapping[str, np.ndarray], labels: Sequence[str] | None
) -> tuple[str, np.ndarray | None]:
    candidates = [(k, _class_vector(np.asarray(v))) for k, v in outputs.items()]
    found = [(k, v) for k, v in candidates if v is not None and v.dtype.kind == "f"]
    if not found:
        return next(iter(outputs)), None
    if labels:
        for k, v in found:
            if v.size in (len(labels), len(labels) + 1):
                return k, v
    return max(found, key=lambda kv: kv[1].size)


# -- detection ------------------------------------------------------------------------------


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
        span = float(np.abs(b).max()) + 1.0
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
    return order[np.asarray(keep, dtype=np.int64)]


def cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    out = np.empty_like(b, dtype=np.float32)
    half_w, half_h = b[:, 2] / 2, b[:, 3] / 2
    out[:, 0] = b[:, 0] - half_w
    out[:, 1] = b[:, 1] - half_h
    out[:, 2] = b[:, 0] + half_w
    out[:, 3] = b[:, 1] + half_h
    return out


def decode_yolo(
    raw: np.ndarray,
    threshold: float = DEFAULT_DETECTION_THRESHOLD,
    iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    objectness: bool | None = None,
    num_classes: int | None = None,
    input_size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """One image's YOLO output ([boxes, F] or [F, boxes], cx cy w h first) → kept boxes
    (K, 4 xyxy in input pixels), scores (K,), classes (K,) and notes."""
    a = np.asarray(raw, dtype=np.float32)
    if a.ndim == 3:
        a = a[0]
    notes: list[str] = []
    layout = _yolo_layout((1, *a.shape))
    if layout == "features_first":
        a = a.T
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
    notes.append(
        f"YOLO output, {'boxes first' if layout != 'features_first' else 'features first'}, "
        f"{cls_scores.shape[1]} classes, {'with' if objectness else 'no'} objectness"
    )
    sel = score >= threshold
    boxes = cxcywh_to_xyxy(a[sel, :4])
    score, cls_idx = score[sel], cls_idx[sel]
    if input_size and boxes.size and float(np.abs(boxes).max()) <= 1.5:
        boxes[:, 0::2] *= input_size[0]  # normalised coordinates
        boxes[:, 1::2] *= input_size[1]
    keep = nms(boxes, score, iou_threshold, cls_idx)
    return boxes[keep], score[keep], cls_idx[keep], notes


def _ssd_parts(outputs: Mapping[str, np.ndarray]) -> dict[str, str] | None:
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
                a.size > 0 and bool(np.all(a == np.round(a))) and float(a.max()) > 1
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


def _detection(
    outputs: Mapping[str, np.ndarray],
    letterbox: Letterbox | None,
    labels: Sequence[str] | None,
    threshold: float,
    iou_threshold: float,
    objectness: bool | None,
    box_format: str | None,
    stats: tuple[OutputStats, ...],
    image_size: tuple[int, int] | None,
) -> Prediction:
    input_size = (letterbox.input_width, letterbox.input_height) if letterbox else None
    num_classes = len(labels) if labels else None
    notes: list[str] = []
    ssd = _ssd_parts(outputs)
    seven = [k for k, a in outputs.items() if _is_detection_output7(np.asarray(a))]
    if ssd is not None:
        boxes, scores, classes, notes = _decode_ssd(
            outputs, ssd, threshold, iou_threshold, box_format, input_size
        )
        source: tuple[str, ...] = tuple(ssd.values())
    elif seven:
        rows = np.asarray(outputs[seven[0]], np.float32).reshape(-1, 7)
        rows = rows[(rows[:, 0] >= 0) & (rows[:, 2] >= threshold)]
        boxes, scores, classes = rows[:, 3:7].copy(), rows[:, 2], rows[:, 1].astype(np.int64)
        if input_size and boxes.size and float(np.abs(boxes).max()) <= 1.5:
            boxes[:, 0::2] *= input_size[0]
            boxes[:, 1::2] *= input_size[1]
        notes = ["DetectionOutput rows (image, label, confidence, x1, y1, x2, y2)"]
        source = (seven[0],)
    else:
        cands = [
            k
            for k, a in outputs.items()
            if np.asarray(a).ndim == 3 and _yolo_layout(np.shape(a)) is not None
        ]
        if not cands:
            raise InferenceError(
                "No output looks like detections (YOLO [N, boxes, 4+classes], SSD boxes and "
                "scores): choose another kind.",
                details=", ".join(f"{k}: {list(np.shape(v))}" for k, v in outputs.items()),
            )
        name = max(cands, key=lambda k: int(np.asarray(outputs[k]).size))
        boxes, scores, classes, notes = decode_yolo(
            outputs[name], threshold, iou_threshold, objectness, num_classes, input_size
        )
        source = (name,)
    if letterbox is not None:
        boxes = letterbox.to_original(boxes)
    result = tuple(
        Box(
            float(b[0]),
            float(b[1]),
            float(b[2]),
            float(b[3]),
            float(s),
            int(c),
            _label(labels, int(c)),
        )
        for b, s, c in zip(boxes, scores, classes, strict=True)
        if b[2] > b[0] and b[3] > b[1]
    )
    return Prediction(
        kind="detection",
        image_size=image_size,
        boxes=result,
        threshold=threshold,
        source_outputs=source,
        stats=stats,
        notes=tuple(notes),
    )


def _decode_ssd(
    outputs: Mapping[str, np.ndarray],
    parts: Mapping[str, str],
    threshold: float,
    iou_threshold: float,
    box_format: str | None,
    input_size: tuple[int, int] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    boxes = np.asarray(outputs[parts["boxes"]], np.float32)[0]
    scores = np.asarray(outputs[parts["scores"]], np.float32)[0]
    notes: list[str] = []
    if "num" in parts:
        n = int(np.asarray(outputs[parts["num"]]).reshape(-1)[0])
        boxes, scores = boxes[:n], scores[:n]
    else:
        n = None
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
    if input_size and boxes.size and float(np.abs(boxes).max()) <= 1.5:
        boxes = boxes.copy()
        boxes[:, 0::2] *= input_size[0]
        boxes[:, 1::2] *= input_size[1]
        notes.append("normalised box coordinates scaled to the input size")
    if need_nms:
        keep = nms(boxes, scores, iou_threshold, classes)
    else:
        keep = np.argsort(-scores, kind="stable")[:MAX_DETECTIONS]
    notes.insert(0, f"SSD-style outputs ({', '.join(f'{k}={v}' for k, v in parts.items())}), {fmt}")
    return boxes[keep], scores[keep], classes[keep], notes


# -- segmentation and probability maps ------------------------------------------------------


def _segmentation(
    outputs: Mapping[str, np.ndarray],
    letterbox: Letterbox | None,
    labels: Sequence[str] | None,
    threshold: float,
    top_k: int,
    stats: tuple[OutputStats, ...],
    image_size: tuple[int, int] | None,
) -> Prediction:
    name = _pick_map_output(outputs)
    if name is None:
        raise InferenceError(
            "No output looks like a map ([N, C, H, W] or [N, H, W]): choose another kind.",
            details=", ".join(f"{k}: {list(np.shape(v))}" for k, v in outputs.items()),
        )
    a = np.asarray(outputs[name], np.float32)
    planes = a[0] if a.ndim == 4 else a  # [C, H, W]
    c = planes.shape[0]
    notes: list[str] = []
    if c <= 2:
        # one foreground probability: sigmoid output, a logit, or a 2-class softmax
        if c == 2:
            if not looks_like_probabilities(planes, axis=0):
                planes = softmax(planes, axis=0)
                notes.append(f"softmax over the 2 channels of {name}")
            prob = planes[1]
        else:
            prob = planes[0]
            if float(prob.min()) < 0 or float(prob.max()) > 1:
                prob = (1.0 / (1.0 + np.exp(-prob))).astype(np.float32)
                notes.append(f"sigmoid applied to {name} (values outside 0..1)")
        binary = prob > threshold
        regions = connected_regions(binary)
        boxes = _region_boxes(regions, prob, letterbox, labels)
        mask = _to_image(prob, letterbox)
        return Prediction(
            kind="segmentation",
            image_size=image_size,
            boxes=boxes,
            mask=np.clip(mask, 0, 1),
            region_count=len(boxes),
            threshold=threshold,
            source_outputs=(name,),
            stats=stats,
            notes=tuple(notes),
        )
    # multi-class: argmax per pixel, mapped back with nearest sampling of the class index
    cls = np.argmax(planes, axis=0).astype(np.float32)
    if letterbox is not None:
        class_map = np.rint(_map_nearest(cls, letterbox)).astype(np.int32)
    else:
        class_map = cls.astype(np.int32)
    counts = np.bincount(class_map.ravel(), minlength=c)
    order = np.argsort(-counts)
    present = [int(i) for i in order if counts[i] > 0][: max(top_k, 1)]
    total = float(class_map.size)
    classes = tuple(ClassScore(i, _label(labels, i, c), float(counts[i] / total)) for i in present)
    return Prediction(
        kind="segmentation",
        image_size=image_size,
        classes=classes,
        class_map=class_map,
        source_outputs=(name,),
        stats=stats,
        notes=(f"{c} classes, argmax per pixel",),
    )


def _pick_map_output(outputs: Mapping[str, np.ndarray]) -> str | None:
    maps = {
        k: np.asarray(v)
        for k, v in outputs.items()
        if np.asarray(v).ndim in (3, 4)
        and np.asarray(v).shape[-1] > 1
        and np.asarray(v).shape[-2] > 1
    }
    maps = {k: v for k, v in maps.items() if v.ndim == 4 or v.shape[0] <= 1024}
    if not maps:
        return None
    # prefer probability-like names, then the fewest channels (a detector's "prob" over "reg")
    for k in maps:
        if any(w in k.lower() for w in ("prob", "sigmoid", "mask", "seg", "heat")):
            return k
    return min(maps, key=lambda k: (maps[k].shape[-3] if maps[k].ndim == 4 else 1, -maps[k].size))


def _to_image(plane: np.ndarray, letterbox: Letterbox | None) -> np.ndarray:
    return letterbox.map_to_original(plane) if letterbox is not None else plane.astype(np.float32)


def _map_nearest(plane: np.ndarray, box: Letterbox) -> np.ndarray:
    mh, mw = plane.shape
    xs = (np.arange(box.image_width) + 0.5) * box.scale_x - box.crop_x + box.pad_x
    ys = (np.arange(box.image_height) + 0.5) * box.scale_y - box.crop_y + box.pad_y
    xi = np.clip((xs * mw / box.input_width).astype(np.int64), 0, mw - 1)
    yi = np.clip((ys * mh / box.input_height).astype(np.int64), 0, mh - 1)
    out: np.ndarray = plane[yi[:, None], xi[None, :]]
    return out


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
    label = np.arange(n)
    if src.size:
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
                break
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


def _region_boxes(
    regions: Regions,
    prob: np.ndarray,
    letterbox: Letterbox | None,
    labels: Sequence[str] | None,
    min_side: int = 3,
) -> tuple[Box, ...]:
    """Bounding boxes of connected regions (smaller than `min_side` map pixels dropped, as
    PaddleOCR does), scored by their mean probability, in original-image pixels."""
    if regions.count == 0:
        return ()
    bb = regions.bboxes.astype(np.float32)
    sides = np.minimum(bb[:, 2] - bb[:, 0] + 1, bb[:, 3] - bb[:, 1] + 1)
    keep = np.nonzero(sides >= min_side)[0]
    # mean probability per region, from its runs
    row_cum = np.concatenate([np.zeros((prob.shape[0], 1), np.float64), np.cumsum(prob, axis=1)], 1)
    run_sums = (
        row_cum[regions.run_rows, regions.run_ends] - row_cum[regions.run_rows, regions.run_starts]
    )
    sums = np.bincount(regions.run_labels, weights=run_sums, minlength=regions.count)
    mean_prob = sums / np.maximum(regions.areas, 1)
    mh, mw = prob.shape
    xyxy = np.stack([bb[:, 0], bb[:, 1], bb[:, 2] + 1, bb[:, 3] + 1], axis=1)
    if letterbox is not None:
        xyxy[:, 0::2] *= letterbox.input_width / mw
        xyxy[:, 1::2] *= letterbox.input_height / mh
        xyxy = letterbox.to_original(xyxy)
    name = labels[0] if labels and len(labels) == 1 else "region"
    order = keep[np.lexsort((xyxy[keep, 0], xyxy[keep, 1]))]  # reading order: top to bottom
    return tuple(
        Box(
            float(xyxy[i, 0]),
            float(xyxy[i, 1]),
            float(xyxy[i, 2]),
            float(xyxy[i, 3]),
            float(mean_prob[i]),
            0,
            name,
        )
        for i in order
    )
