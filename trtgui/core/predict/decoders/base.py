"""What every output decoder shares: the `Prediction` records, the context a decoder gets,
and the registry that chooses a decoder by kind or from the output shapes.

A decoder module registers itself (`register(Decoder(...))`) when it is imported; adding one
is a new module and one import in `decoders/__init__.py`; no other decoder changes. `guess_kind`
asks the registered decoders in their `guess_order` whether the outputs look like theirs, and
answers "raw" when none says yes; `explain_kind` says the same with the reason, in words, from
the outputs and what else is known of the model (`ModelHints`: metadata, ops, input shape).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trtgui.core.errors import InferenceError
from trtgui.core.imaging import Letterbox

# The kind chosen when no decoder recognises the outputs: statistics only.
FALLBACK_KIND = "raw"
DEFAULT_IOU_THRESHOLD = 0.45

Outputs = Mapping[str, np.ndarray]


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
    # The region's outline in original-image pixels when it is not the box itself (a text
    # detector's rotated rectangle): corners in order, clockwise from the top-left.
    polygon: tuple[tuple[float, float], ...] | None = None
    # Points that belong to the detection, (x, y, confidence) in original-image pixels: a
    # face's 5 landmarks (eyes, nose, mouth corners; confidence 1 when the model gives none),
    # a pose's K keypoints.
    keypoints: tuple[tuple[float, float, float], ...] = ()

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


@dataclass(frozen=True)
class TextLine:
    """A line of text read by a recogniser, and its confidence (0..1)."""

    text: str
    score: float


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

    kind: the decoder that made it ("classification", "detection", "segmentation", "raw").
    classes: top-k for classifiers; for segmentation, the classes present (score = area share).
    boxes: detections, or for probability maps the bounding boxes of connected regions.
    mask: float32 probability map (0..1) in the original image's size, or None.
    class_map: int32 class index per original-image pixel (multi-class segmentation), or None.
    region_count: connected regions above `threshold` in a probability map (text lines).
    texts: the lines a text recogniser read, with their confidence.
    kind_reason: why this kind was used ("text: output [N,T,6625] with a …"), in words.
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
    texts: tuple[TextLine, ...] = ()
    kind_reason: str = ""

    @property
    def top(self) -> ClassScore | None:
        return self.classes[0] if self.classes else None

    def summary(self) -> str:
        """One line for a status bar or the CLI, in the words of the decoder that made it."""
        found = _REGISTRY.get(self.kind)
        return found.summarise(self) if found is not None else stats_summary(self)

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
                    **({"polygon": [list(p) for p in b.polygon]} if b.polygon else {}),
                    **({"keypoints": [list(k) for k in b.keypoints]} if b.keypoints else {}),
                }
                for b in self.boxes
            ],
            "texts": [{"text": t.text, "score": t.score} for t in self.texts],
            "kind_reason": self.kind_reason,
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


def stats_summary(prediction: Prediction) -> str:
    """ "3 outputs": the summary of a prediction that has nothing but statistics."""
    n = len(prediction.stats)
    return f"{n} output{'s' if n != 1 else ''}"


# -- what a decoder gets ---------------------------------------------------------------------


@dataclass(frozen=True)
class DecodeContext:
    """Everything a decoder may use besides the outputs. `threshold` None = the decoder's own
    default; `objectness` and `box_format` None = decided from the outputs (detection)."""

    letterbox: Letterbox | None = None
    labels: tuple[str, ...] | None = None
    labels_source: str = ""  # where `labels` came from ("model metadata", a file's path)
    top_k: int = 5
    threshold: float | None = None
    iou_threshold: float = DEFAULT_IOU_THRESHOLD
    objectness: bool | None = None
    box_format: str | None = None
    # NMS across classes (one box per place, whatever its class) rather than per class.
    class_agnostic: bool = False
    stats: tuple[OutputStats, ...] = ()

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(width, height) of the original picture, when a letterbox says it."""
        box = self.letterbox
        return (box.image_width, box.image_height) if box is not None else None

    @property
    def input_size(self) -> tuple[int, int] | None:
        """(width, height) of the input tensor, when a letterbox says it."""
        box = self.letterbox
        return (box.input_width, box.input_height) if box is not None else None


@dataclass(frozen=True)
class ModelHints:
    """What a guess may read of the model besides its outputs; empty when only the outputs
    are known (an engine without its ONNX model)."""

    metadata: Mapping[str, str] = field(default_factory=dict)
    ops: frozenset[str] = frozenset()  # the op types in the graph
    input_shape: tuple[int | str | None, ...] | None = None  # the image input's
    labels_count: int | None = None  # lines of the labels the user gave, each kept whole
    producer: str = ""  # the producer and graph names ("PaddlePaddle", "torch-jit-export")


@dataclass(frozen=True)
class KindGuess:
    """The kind chosen for a model's outputs and why, in words for people."""

    kind: str
    reason: str


DecodeFn = Callable[[Outputs, DecodeContext], Prediction]
MatchFn = Callable[[Outputs], bool]
# The reason the outputs look like this kind ("text: output [N,T,97] …"), or None.
ExplainFn = Callable[[Outputs, ModelHints], str | None]


@dataclass(frozen=True)
class Decoder:
    """One way of reading outputs.

    title: the kind in words, for a choice list; rank: its place there (lower first).
    matches: whether outputs look like this kind (None = never guessed, only chosen).
    explain: like `matches`, with the model's hints, answering the reason or None; asked
    instead of `matches` when set.
    guess_order: lower is asked first, so the more specific layouts (boxes) are tried before
    the general ones (class scores).
    """

    kind: str
    title: str
    rank: int
    decode: DecodeFn
    summarise: Callable[[Prediction], str] = stats_summary
    matches: MatchFn | None = None
    guess_order: int = 100
    explain: ExplainFn | None = None


_REGISTRY: dict[str, Decoder] = {}


def register(decoder: Decoder) -> Decoder:
    """Add a decoder (import time of its module); a kind is registered once."""
    if decoder.kind in _REGISTRY:
        raise ValueError(f"a decoder for {decoder.kind!r} is already registered")
    _REGISTRY[decoder.kind] = decoder
    return decoder


def decoders() -> tuple[Decoder, ...]:
    """The registered decoders, by rank (the order choice lists show)."""
    return tuple(sorted(_REGISTRY.values(), key=lambda d: d.rank))


def kinds() -> tuple[str, ...]:
    return tuple(d.kind for d in decoders())


def get_decoder(kind: str) -> Decoder:
    """The decoder of `kind`; InferenceError naming the known kinds otherwise."""
    found = _REGISTRY.get(kind)
    if found is None:
        raise InferenceError(f"Unknown prediction kind {kind!r}: use one of {', '.join(kinds())}.")
    return found


def guess_kind(outputs: Outputs, hints: ModelHints | None = None) -> str:
    """The kind of the first decoder (by `guess_order`) that recognises the outputs."""
    return explain_kind(outputs, hints).kind


def explain_kind(outputs: Outputs, hints: ModelHints | None = None) -> KindGuess:
    """The first decoder (by `guess_order`) that recognises the outputs, and why."""
    known = hints if hints is not None else ModelHints()
    for candidate in sorted(decoders(), key=lambda d: d.guess_order):
        if candidate.explain is not None:
            reason = candidate.explain(outputs, known)
            if reason:
                return KindGuess(candidate.kind, reason)
        elif candidate.matches is not None and candidate.matches(outputs):
            return KindGuess(candidate.kind, f"{candidate.kind}: outputs {shapes_text(outputs)}")
    return KindGuess(
        FALLBACK_KIND, f"{FALLBACK_KIND}: no decoder reads outputs {shapes_text(outputs)}"
    )


def shapes_text(outputs: Outputs) -> str:
    """ "logits [1, 1000], boxes [1, 8400, 4]": the outputs in a reason or a message."""
    return ", ".join(f"{k} {list(np.shape(v))}" for k, v in outputs.items())


def decode(kind: str, outputs: Outputs, context: DecodeContext) -> Prediction:
    return get_decoder(kind).decode(outputs, context)


# -- small helpers the decoders share ---------------------------------------------------------


def unnamed_label(index: int) -> str:
    """What a class without a name is called."""
    return f"class {index}"


def class_label(labels: Sequence[str] | None, index: int, num_classes: int | None = None) -> str:
    """The name of class `index`. With one name fewer than `num_classes` the first class is
    "background" (TF-slim, TF-Lite, DeepLab order)."""
    if labels:
        offset = 1 if num_classes is not None and num_classes == len(labels) + 1 else 0
        i = index - offset
        if offset and index == 0:
            return "background"
        if 0 <= i < len(labels):
            return labels[i]
    return unnamed_label(index)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x.astype(np.float64) - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)
    return out


def looks_like_probabilities(x: np.ndarray, axis: int = -1, tol: float = 1e-2) -> bool:
    """True when every value is in [0, 1] and they sum to 1 along `axis` (already softmaxed)."""
    if x.size == 0 or float(np.min(x)) < -1e-6 or float(np.max(x)) > 1 + 1e-6:
        return False
    return bool(np.all(np.abs(x.sum(axis=axis) - 1.0) < tol))


def no_match(what: str, outputs: Outputs) -> InferenceError:
    """The error of a decoder chosen for outputs it cannot read."""
    return InferenceError(
        f"No output looks like {what}: choose another kind.",
        details=", ".join(f"{k}: {list(np.shape(v))}" for k, v in outputs.items()),
    )
