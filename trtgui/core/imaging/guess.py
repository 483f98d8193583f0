"""`guess_preprocess`: a best guess of the preprocessing a model expects, from its metadata,
names and shapes. A starting point the user can change; `spec.preset` says where it came from.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from trtgui.core.errors import PreprocessError
from trtgui.core.imaging.spec import DTYPES, PRESETS, PreprocessSpec, resolve_spec, spec_from_dict
from trtgui.core.schema import JsonProblem, loads

log = logging.getLogger(__name__)


class TensorLike(Protocol):
    """What guessing needs of a tensor (a `TensorSpec` fits)."""

    @property
    def name(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def shape(self) -> tuple[int | str | None, ...] | None: ...


class ModelLike(Protocol):
    """What guessing needs of a model (onnx_model.ModelInfo fits)."""

    @property
    def path(self) -> Path: ...
    @property
    def producer_name(self) -> str: ...
    @property
    def graph_name(self) -> str: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def inputs(self) -> Sequence[TensorLike]: ...
    @property
    def outputs(self) -> Sequence[TensorLike]: ...


def image_input(model: ModelLike) -> TensorLike | None:
    """The first rank-4 input (the image), or the first input."""
    tensors: tuple[TensorLike, ...] = tuple(model.inputs)
    for t in tensors:
        if t.shape is not None and len(t.shape) == 4:
            return t
    return tensors[0] if tensors else None


def guess_preprocess(model: ModelLike) -> PreprocessSpec:
    """Best guess of the preprocessing a model expects, from (in this order): a
    "trtgui.preprocess" metadata entry (a JSON PreprocessSpec), Ultralytics metadata, then
    names and shapes. The result is a starting point the user can change; `spec.preset` says
    which preset it came from."""
    meta = {str(k).lower(): str(v) for k, v in (model.metadata or {}).items()}
    tensor = image_input(model)
    shape = tensor.shape if tensor is not None else None
    dtype = tensor.dtype if tensor is not None else None
    if "trtgui.preprocess" in meta:
        try:
            # The one JSON parser: a value nested 100,000 deep raised RecursionError here.
            return resolve_spec(spec_from_dict(loads(meta["trtgui.preprocess"])), shape)
        except (PreprocessError, JsonProblem) as exc:
            log.warning("ignoring malformed trtgui.preprocess metadata: %s", exc)
    spec = PRESETS[_guess_preset(model, meta).preset]
    if "imgsz" in meta and spec.preset.startswith("yolo"):
        sizes = [int(v) for v in re.findall(r"\d+", meta["imgsz"])]
        if len(sizes) >= 2:
            spec = replace(spec, height=sizes[0], width=sizes[1])
    return resolve_spec(spec, shape, dtype if dtype in DTYPES else None)


@dataclass(frozen=True)
class PresetGuess:
    """The preset guessed for a model and the evidence, in words ("Darknet-style: no
    metadata, in-graph decode, square input → yolo-stretch"); `alternatives`: the other
    presets the evidence fits as well (empty when the guess is sure), for a choice to offer."""

    preset: str
    reason: str
    alternatives: tuple[str, ...] = ()

    @property
    def uncertain(self) -> bool:
        return bool(self.alternatives)

    def text(self) -> str:
        """The reason, and when the guess is uncertain, the other choices."""
        if not self.alternatives:
            return self.reason
        return f"{self.reason} (uncertain: {' or '.join(self.alternatives)} may fit instead)"


def guess_preset(model: ModelLike) -> PresetGuess:
    """The preset `guess_preprocess` starts from, why, and what else may fit."""
    meta = {str(k).lower(): str(v) for k, v in (model.metadata or {}).items()}
    if "trtgui.preprocess" in meta:
        try:
            spec = spec_from_dict(loads(meta["trtgui.preprocess"]))
            return PresetGuess(
                spec.preset, f"the model's trtgui.preprocess metadata → {spec.preset}"
            )
        except (PreprocessError, JsonProblem):
            pass  # guess_preprocess logs it, and guesses as below
    return _guess_preset(model, meta)


def _guess_preset(model: ModelLike, meta: Mapping[str, str]) -> PresetGuess:
    words = " ".join(
        [
            Path(str(model.path)).stem,
            model.producer_name or "",
            model.graph_name or "",
            *(t.name for t in model.inputs),
            *(t.name for t in model.outputs),
            # symbolic dimension names tell exporters apart ("p2o." = paddle2onnx)
            *(str(d) for t in model.inputs for d in (t.shape or ()) if isinstance(d, str)),
        ]
    ).lower()
    out_shapes: list[tuple[Any, ...]] = [tuple(t.shape or ()) for t in model.outputs]
    if "ultralytics" in meta.get("author", "").lower() or ("stride" in meta and "names" in meta):
        return PresetGuess("yolo", "Ultralytics metadata (author, stride, names) → yolo")
    # Before the YOLO shape test: a static landmarks output [1, A, 10] looks like a YOLO head.
    out_names = {t.name.lower() for t in model.outputs}
    if {"loc", "conf", "landmarks"} <= out_names:
        return PresetGuess(
            "retinaface", "outputs loc, conf and landmarks (RetinaFace) → retinaface"
        )
    if "retinaface" in words:
        return PresetGuess("retinaface", "the model's name says RetinaFace → retinaface")
    if "u2net" in words:
        return PresetGuess("u2net", "the model's name says U²-Net → u2net")
    if _saliency_maps(model):
        return PresetGuess("u2net", "several one-channel maps of the input's size (U²-Net) → u2net")
    # PaddleOCR's text recogniser: CTC scores [N, T, C] from a text line [N, 3, 48, W], its
    # dictionary in "character" metadata. Before the YOLO tests: [1, 40, 6625] fits them.
    paddle = "paddle" in words or "p2o." in words
    if any(len(s) == 3 for s in out_shapes) and (
        "character" in meta or paddle or _text_line_input(model)
    ):
        evidence = (
            "a character dictionary in the metadata"
            if "character" in meta
            else "a PaddlePaddle export"
            if paddle
            else "a text-line input"
        )
        return PresetGuess("paddleocr-rec", f"scores [N,T,C] and {evidence} → paddleocr-rec")
    yolo = _yolo_family(model, meta, words)
    if yolo is not None:
        return yolo
    if "pnet" in words or "mtcnn" in words or {"reg", "prob"} <= {t.name for t in model.outputs}:
        return PresetGuess("mtcnn", "MTCNN's outputs reg and prob → mtcnn")
    paddle = paddle or "sigmoid_0.tmp" in words
    if paddle and any(len(s) == 4 and s[1] == 1 for s in out_shapes):
        return PresetGuess(
            "paddleocr-det", "a PaddlePaddle export with a one-channel map → paddleocr-det"
        )
    if paddle and any(len(s) == 2 and s[1] == 2 for s in out_shapes):
        return PresetGuess(
            "paddleocr-cls", "a PaddlePaddle export with 2 class scores → paddleocr-cls"
        )
    if re.search(r"lite\d|_lite|-lite|tflite|tf2onnx", words):
        return PresetGuess("tflite", "a TF-Lite style name or tf2onnx export → tflite")
    if any(len(s) in (2, 4) and s[1] in (1000, 1001) for s in out_shapes):
        return PresetGuess("imagenet", "1000 class scores (ImageNet) → imagenet")
    if _is_square_224(model):
        return PresetGuess("imagenet", "a 224×224 input → imagenet", ("unit",))
    return PresetGuess("unit", "no known model family: pixels 0–1 only → unit")


# YOLOX predicts one box per cell of strides 8, 16 and 32 (the predict stage's
# detection_yolox decodes them; imaging sits below it, so the count is written here again).
_YOLOX_STRIDES = (8, 16, 32)


def _yolo_family(model: ModelLike, meta: Mapping[str, str], words: str) -> PresetGuess | None:
    """The YOLO preset of a detector without Ultralytics metadata, or None.

    Ultralytics' raw heads are [N, 4+C, A] (features first); an in-graph decode gives rows
    [N, A, 5+C] (or boxes [N, A, 4] beside scores). Without metadata and with a square input,
    decoded rows are Darknet's habit (a plain resize), but an old YOLOv5 export (input
    "images", a letterbox) looks the same: each is offered as the other's alternative. One
    row per cell of strides 8/16/32 is YOLOX's raw grid."""
    t = image_input(model)
    square = _square_side(t)
    first = _decoded_rows(model)
    bare = not any(not k.startswith("trtgui.") for k in meta)
    if first is not None and square is not None:
        rows = first[1]
        cells = sum((square // s) ** 2 for s in _YOLOX_STRIDES)
        if rows == cells:
            return PresetGuess(
                "yolox",
                f"output [N,{rows},{first[2]}]: one row per cell of strides 8/16/32 of a "
                f"{square}×{square} input (YOLOX's grid) → yolox",
                ("yolo-stretch",),
            )
        if bare and "images" not in {i.name.lower() for i in model.inputs}:
            return PresetGuess(
                "yolo-stretch",
                "Darknet-style: no metadata, in-graph decode, square input → yolo-stretch",
                ("yolo",),
            )
        if bare:
            return PresetGuess(
                "yolo",
                "YOLOv5-style: no metadata, in-graph decode, input images → yolo",
                ("yolo-stretch",),
            )
    if any(len(s) == 3 and _yolo_like(s) for s in (tuple(o.shape or ()) for o in model.outputs)):
        return PresetGuess("yolo", "a YOLO output [N,4+C,A] or [N,A,5+C] → yolo")
    if re.search(r"yolo|\bimages\b", words):
        return PresetGuess("yolo", "a YOLO name or an input called images → yolo")
    return None


def _square_side(t: TensorLike | None) -> int | None:
    """The side of a static square image input [N, C, S, S], or None."""
    if t is None or not t.shape or len(t.shape) != 4:
        return None
    h, w = t.shape[2], t.shape[3]
    return h if isinstance(h, int) and h > 0 and h == w else None


def _decoded_rows(model: ModelLike) -> tuple[Any, ...] | None:
    """The shape of an output of box rows decoded in the graph, boxes first: [N, A, 5+C]
    (A > 5+C), or Darknet's boxes [N, A, 1, 4] beside scores [N, A, C]."""
    shapes = [tuple(o.shape or ()) for o in model.outputs]
    for s in shapes:
        if len(s) == 3 and isinstance(s[1], int) and isinstance(s[2], int) and 5 <= s[2] < s[1]:
            return s
    # Darknet's exports (pytorch-YOLOv4 and its kin) give boxes [N, A, 1, 4] beside confs
    # [N, A, C]; an SSD's boxes are [N, A, 4], which this leaves alone.
    for s in shapes:
        boxes = len(s) == 4 and s[2:] == (1, 4) and isinstance(s[1], int) and s[1] > 4
        if boxes and any(len(c) == 3 and c[1] == s[1] for c in shapes):
            return (s[0], s[1], 4)
    return None


def _text_line_input(model: ModelLike) -> bool:
    """An input [N, 3, 48, W] (or 32 high, PP-OCR before v3) whose width is free or long."""
    t = image_input(model)
    if t is None or not t.shape or len(t.shape) != 4:
        return False
    h, w = t.shape[2], t.shape[3]
    return h in (32, 48) and (not isinstance(w, int) or (isinstance(h, int) and w >= 4 * h))


def _saliency_maps(model: ModelLike) -> bool:
    """U²-Net's deep supervision: several single-channel maps, the first as large as the
    3-channel input (the fused mask, then the side outputs)."""
    t = image_input(model)
    if t is None or not t.shape or len(t.shape) != 4 or len(model.outputs) < 2:
        return False
    first = tuple(model.outputs[0].shape or ())
    return (
        t.shape[1] == 3
        and len(first) == 4
        and first[1] == 1
        and isinstance(first[2], int)
        and first[2:] == tuple(t.shape[2:])
        and all(len(o.shape or ()) == 4 for o in model.outputs)
    )


def _is_square_224(model: ModelLike) -> bool:
    t = image_input(model)
    return bool(t is not None and t.shape and len(t.shape) == 4 and 224 in t.shape[1:])


def _yolo_like(shape: Sequence[int | str | None]) -> bool:
    dims = [d for d in shape[1:] if isinstance(d, int)]
    if len(dims) != 2:
        return False
    small, big = min(dims), max(dims)
    return small >= 5 and big >= 8 * small and small <= 1024
