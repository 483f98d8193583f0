"""`guess_preprocess`: a best guess of the preprocessing a model expects, from its metadata,
names and shapes. A starting point the user can change; `spec.preset` says where it came from.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from trtgui.core.errors import PreprocessError
from trtgui.core.imaging.spec import DTYPES, PRESETS, PreprocessSpec, resolve_spec, spec_from_dict

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
            return resolve_spec(spec_from_dict(json.loads(meta["trtgui.preprocess"])), shape)
        except (PreprocessError, json.JSONDecodeError) as exc:
            log.warning("ignoring malformed trtgui.preprocess metadata: %s", exc)
    spec = PRESETS[_guess_preset_name(model, meta)]
    if "imgsz" in meta and spec.preset.startswith("yolo"):
        sizes = [int(v) for v in re.findall(r"\d+", meta["imgsz"])]
        if len(sizes) >= 2:
            spec = replace(spec, height=sizes[0], width=sizes[1])
    return resolve_spec(spec, shape, dtype if dtype in DTYPES else None)


def _guess_preset_name(model: ModelLike, meta: Mapping[str, str]) -> str:
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
        return "yolo"
    if re.search(r"yolo|\bimages\b", words):
        return "yolo"
    if any(len(s) == 3 and _yolo_like(s) for s in out_shapes):
        return "yolo"
    if "pnet" in words or "mtcnn" in words or {"reg", "prob"} <= {t.name for t in model.outputs}:
        return "mtcnn"
    paddle = "paddle" in words or "p2o." in words or "sigmoid_0.tmp" in words
    if paddle and any(len(s) == 4 and s[1] == 1 for s in out_shapes):
        return "paddleocr-det"
    if paddle and any(len(s) == 2 and s[1] == 2 for s in out_shapes):
        return "paddleocr-cls"
    if re.search(r"lite\d|_lite|-lite|tflite|tf2onnx", words):
        return "tflite"
    if any(len(s) in (2, 4) and s[1] in (1000, 1001) for s in out_shapes):
        return "imagenet"
    return "imagenet" if _is_square_224(model) else "unit"


def _is_square_224(model: ModelLike) -> bool:
    t = image_input(model)
    return bool(t is not None and t.shape and len(t.shape) == 4 and 224 in t.shape[1:])


def _yolo_like(shape: Sequence[int | str | None]) -> bool:
    dims = [d for d in shape[1:] if isinstance(d, int)]
    if len(dims) != 2:
        return False
    small, big = min(dims), max(dims)
    return small >= 5 and big >= 8 * small and small <= 1024
