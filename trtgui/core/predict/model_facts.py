"""What a prediction reads from the model: its one image input tensor, its description
(names, metadata, ops), the labels to name classes with, and the hints the kind guess reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trtgui.core.engine.runners import Runner
from trtgui.core.errors import InferenceError, TrtGuiError
from trtgui.core.imaging import ModelLike, PreprocessSpec
from trtgui.core.imaging.spec import MAX_SIDE
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.predict.decoders import ModelHints
from trtgui.core.predict.labels import Labels, load_dictionary, names_problem, resolve_labels
from trtgui.core.shapes import shape_text
from trtgui.core.tensors import TensorSpec


def image_input(infos: Sequence[TensorSpec]) -> TensorSpec:
    rank4 = [t for t in infos if t.shape is not None and len(t.shape) == 4]
    if not rank4:
        shapes = ", ".join(f"{t.name} {list(t.shape or [])}" for t in infos)
        raise InferenceError(
            "The model has no image input (a 4-D tensor such as 1x3xHxW): predict needs one.",
            details=f"inputs: {shapes}",
        )
    others = [t for t in infos if t is not rank4[0]]
    if others:
        raise InferenceError(
            f"The model needs more inputs than an image ({', '.join(t.name for t in others)}): "
            "predict feeds only one image tensor; use 'trtgui-cli run' with your own inputs.",
            details=f"image input: {rank4[0].name}",
        )
    return rank4[0]


def check_input_size(spec: PreprocessSpec, tensor: TensorSpec) -> None:
    """A model whose image input is fixed larger than any tensor trtgui makes (a 1×3×100000×
    100000 input asked for 112 GiB): said in the model's terms, not as a preprocessing field
    the user never set."""
    if max(spec.height, spec.width) > MAX_SIDE:
        raise InferenceError(
            f"The model's image input {tensor.name!r} is {shape_text(tensor.shape)}, larger than "
            f"the images trtgui feeds (at most {MAX_SIDE} pixels a side): predict cannot run it.",
        )


@dataclass(frozen=True)
class ShapesOnly:
    """A stand-in for ModelInfo when only a runner's I/O is known (an engine alone)."""

    path: Path
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    producer_name: str = ""
    graph_name: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


def model_description(
    onnx: Path | None, model_path: Path, runner: Runner, notes: list[str]
) -> ModelLike:
    """The ONNX model's ModelInfo (names, metadata: the preprocessing guess reads them), or
    the runner's tensors alone when there is no readable ONNX model."""
    if onnx is not None:
        try:
            return inspect_onnx(onnx)
        except TrtGuiError as err:
            notes.append(f"model metadata unavailable: {err}")
    return ShapesOnly(model_path, runner.input_infos, runner.output_infos)


def chosen_labels(
    labels: str | Path | Sequence[str] | None,
    model_path: Path,
    onnx: Path | None,
    model_info: ModelLike,
    spec: PreprocessSpec,
    notes: list[str],
) -> Labels:
    """The user's labels, else those beside the model or its ONNX twin or in its metadata,
    else "text" for PaddleOCR's text detector (None: numbered, or ImageNet after the run).
    Metadata names that cannot be used are ignored with a note."""
    metadata = dict(model_info.metadata)
    found = resolve_labels(labels, model_path, metadata)
    if found[0] is None and onnx is not None and onnx != model_path:
        found = resolve_labels(None, onnx, metadata)
    if found[0] is None and names_problem(metadata):
        notes.append(names_problem(metadata))
    if found[0] is None and spec.preset == "paddleocr-det":
        found = ("text",), "preset"
    return found


def model_hints(
    model_info: ModelLike,
    shape: Sequence[int | str | None] | None,
    labels: str | Path | Sequence[str] | None,
) -> ModelHints:
    """What the kind guess may read besides the outputs: metadata, ops, the image input's
    shape, the producer, and how many lines the user's labels have (each kept whole)."""
    if isinstance(labels, (str, Path)):
        count: int | None = len(load_dictionary(labels))
    else:
        count = len(labels) if labels is not None else None
    ops = getattr(model_info, "op_histogram", None) or {}  # an engine alone has none
    return ModelHints(
        metadata=dict(model_info.metadata),
        ops=frozenset(ops),
        input_shape=tuple(shape) if shape is not None else None,
        labels_count=count,
        producer=f"{model_info.producer_name} {model_info.graph_name}".strip(),
    )


def batched(tensor: np.ndarray, shape: Sequence[int | str | None] | None) -> np.ndarray:
    """Repeat the one image when the engine or model has a fixed batch larger than 1."""
    if shape and isinstance(shape[0], int) and shape[0] > 1:
        return np.repeat(tensor, shape[0], axis=0)
    return tensor
