"""Turning an ONNX model into the chosen precision before TensorRT sees it.

TensorRT 11 and TensorRT for RTX take no precision flags: a network runs in the types its
ONNX graph carries. So FP16 and BF16 cast the model (ModelOpt AutoCast when installed,
otherwise onnxconverter-common; I/O types and numerically sensitive ops stay FP32), and INT8
inserts explicit Q/DQ nodes with ONNX Runtime static quantization calibrated on real images.
A model that already has Q/DQ nodes is built as it is. FP32 and TensorRT 10's "auto" use the
model unchanged.

`prepare_model(...)` decides once how the model gets its precision and returns a
`PreparedModel`: the ONNX file to parse, whether it holds Q/DQ nodes, and the files a
conversion wrote (to a work folder the caller owns and deletes), so a build never asks this
module again. It takes plain arguments (no `BuildSettings`): the model stage knows nothing of
the build stage above it.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from trtgui.core.errors import ModelLoadError, SettingsError
from trtgui.core.imaging import PreprocessSpec, describe_spec
from trtgui.core.model import graph_check
from trtgui.core.model.convert_base import (
    PhaseCallback,
    StepCallback,
    check_cancel,
    companion_files,
    graphs,
    load_model,
    report_phase,
    report_step,
    save_model,
)
from trtgui.core.model.int8 import Calibration, Int8Result, quantize_int8
from trtgui.core.model.profiles import Precision

if TYPE_CHECKING:  # numpy and onnx load lazily: an FP32 build needs neither
    import numpy as np
    import onnx

log = logging.getLogger(__name__)

# `Calibration` is part of `prepare_model`'s signature: callers get both from here.
__all__ = [
    "Calibration",
    "PreparedModel",
    "autocast_available",
    "convert_float",
    "float_to_bf16_bits",
    "prepare_model",
    "retype_fp16_to_bf16",
]


@dataclass(frozen=True)
class PreparedModel:
    """The ONNX file to build and how it came to be."""

    path: Path
    converted: bool
    method: str  # "as is", "onnxconverter-common fp16", "modelopt autocast bf16", ...
    note: str = ""  # shown to the user (e.g. "already quantized: built as it is")
    calibration_images: int = 0
    # The model to build holds Q/DQ nodes: TensorRT 10's weak typing ("auto") then sets INT8.
    has_qdq: bool = False
    # A conversion's files: the converted model, then its external-data file when it has one
    # (what "keep the converted model" copies). () when the model is built as it is.
    files: tuple[Path, ...] = ()
    # INT8: the calibration preprocessing and the nodes kept in float (the user's patterns'
    # matches and the default placement's), for the build record.
    preprocess: PreprocessSpec | None = None
    int8_excluded: tuple[str, ...] = ()
    # INT8: the nodes that take an input through DequantizeLinear (what TensorRT runs in INT8).
    int8_quantized: tuple[str, ...] = ()
    # INT8: the original's outputs calibration computed (image path -> (feed digest, outputs)),
    # for the precision check.
    reference_outputs: Mapping[str, tuple[str, dict[str, np.ndarray]]] = field(default_factory=dict)


def autocast_available() -> bool:
    """Whether NVIDIA ModelOpt's AutoCast can be imported (the `modelopt` extra)."""
    try:
        return importlib.util.find_spec("modelopt.onnx.autocast") is not None
    except (ImportError, ValueError):
        return False


# -- the entry point ----------------------------------------------------------------------------


def prepare_model(
    source: Path,
    precision: Precision,
    workdir: Path,
    *,
    has_qdq: bool | None = None,
    calibration: Calibration | None = None,
    int8_exclude: Sequence[str] = (),
    int8_method: str = "ort",
    cancel: threading.Event | None = None,
    on_phase: PhaseCallback | None = None,
    on_step: StepCallback | None = None,
) -> PreparedModel:
    """The ONNX file that gives `precision` when built without precision flags.

    `has_qdq`: whether `source` holds Q/DQ nodes, when the caller knows already (the graph
    pre-check found out); None reads the file. `calibration` is needed for INT8 only, and so
    are `int8_exclude` (node names or op types kept in float) and `int8_method` ("ort" or
    "modelopt", see int8.QUANTIZERS).
    """
    if has_qdq is None:
        has_qdq = graph_check.has_qdq(source)
    if precision in (Precision.FP32, Precision.AUTO):
        return PreparedModel(source, False, "as is", has_qdq=has_qdq)
    if has_qdq:
        return PreparedModel(
            source,
            False,
            "as is",
            note="The model already has Q/DQ (quantize/dequantize) nodes: it is built as it "
            "is, in the precisions it names.",
            has_qdq=True,
        )
    check_cancel(cancel)
    if precision in (Precision.FP16, Precision.BF16):
        phase = f"Converting the model to {precision.name}"
        report_phase(on_phase, phase, 1)
        out, method = convert_float(source, workdir, precision)
        report_step(on_step, phase, 0)
        check_cancel(cancel)
        return PreparedModel(out, True, method, files=companion_files(out))
    if precision is Precision.INT8:
        if calibration is None or not calibration.folder:
            raise SettingsError(
                "INT8 needs calibration images: choose a folder of images like the ones the "
                "model will see (--calib-dir).",
            )
        result = quantize_int8(
            source,
            workdir / f"{source.stem}.int8.onnx",
            calibration=calibration,
            exclude=int8_exclude,
            method=int8_method,
            cancel=cancel,
            on_phase=on_phase,
            on_step=on_step,
        )
        kept = len(result.excluded_nodes)
        return PreparedModel(
            result.path,
            True,
            "modelopt QDQ int8" if result.method == "modelopt" else "onnxruntime QDQ int8",
            note=f"Calibrated on {result.images} image(s) from {calibration.folder} with "
            f"preprocessing: {describe_spec(result.preprocess)}; "
            f"{_quantized_words(result)}, {kept} node(s) kept in float."
            + _speed_caution(len(result.quantized_compute), len(result.float_compute_nodes)),
            calibration_images=result.images,
            has_qdq=True,
            files=companion_files(result.path),
            preprocess=result.preprocess,
            int8_excluded=result.excluded_nodes,
            int8_quantized=result.quantized_nodes,
            reference_outputs=result.reference,
        )
    raise SettingsError(f"Unknown precision {precision!r}.")


def _quantized_words(result: Int8Result) -> str:
    words = f"{len(result.quantized_compute)} compute layer(s)"
    if result.residual_adds:
        words += f" and {len(result.residual_adds)} residual Add(s)"
    return words + " quantized"


def _speed_caution(quantized: int, float_compute: int) -> str:
    """A warning when many compute layers between INT8 ones stay float: TensorRT converts
    between INT8 and float around each, and the engine can end up slower than FP16. On the
    H200 (TensorRT 8.6) EfficientNet-Lite0 with 16 of its 50 compute layers in float computed
    in 0.93 ms at batch 1 against 0.30 ms for FP16 and 0.29 ms with all 50 in INT8
    (bench/results/gpu_int8_placement.json). trtgui cannot time an engine without a GPU, so it
    says so."""
    total = quantized + float_compute
    if float_compute < 4 or float_compute < 0.2 * total:
        return ""
    return (
        f" {float_compute} of {total} compute layers stay in float between INT8 ones: TensorRT "
        "converts between INT8 and float around each, which can make this engine slower than "
        "FP16 (trtgui-cli bench on a GPU tells)."
    )


# -- FP16 / BF16 ---------------------------------------------------------------------------------


def convert_float(source: Path, workdir: Path, precision: Precision) -> tuple[Path, str]:
    """Cast `source` to FP16 or BF16 keeping FP32 I/O; returns (path, method)."""
    kind = "fp16" if precision is Precision.FP16 else "bf16"
    out = workdir / f"{source.stem}.{kind}.onnx"
    if autocast_available():
        from modelopt.onnx.autocast import convert_to_mixed_precision

        try:
            model = convert_to_mixed_precision(
                onnx_path=str(source), low_precision_type=kind, keep_io_types=True
            )
        except Exception as exc:  # third-party converter: report in plain words
            raise ModelLoadError(
                f"ModelOpt AutoCast could not convert the model to {kind.upper()}.",
                details=repr(exc),
            ) from exc
        save_model(model, out)
        return out, f"modelopt autocast {kind}"
    model = load_model(source, with_weights=True)
    originals = _float_initializers(model) if precision is Precision.BF16 else {}
    try:
        from onnxconverter_common.float16 import convert_float_to_float16

        # It warns once per clamped weight (thousands of lines): count them instead.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            converted = convert_float_to_float16(model, keep_io_types=True)
        if caught:
            log.info("%s: %d value(s) clamped to the FP16 range", source.name, len(caught))
    except Exception as exc:  # third-party converter: report in plain words
        raise ModelLoadError(
            f"The model could not be converted to {kind.upper()} (onnxconverter-common failed).",
            details=repr(exc),
        ) from exc
    if precision is Precision.BF16:
        retype_fp16_to_bf16(converted, originals)
    save_model(converted, out)
    return out, f"onnxconverter-common {kind}"


def _float_initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """FP32 initializers by name, so BF16 is rounded from FP32 and not from FP16."""
    import onnx
    from onnx import TensorProto

    return {
        t.name: onnx.numpy_helper.to_array(t)
        for graph in graphs(model.graph)
        for t in graph.initializer
        if t.data_type == TensorProto.FLOAT
    }


def float_to_bf16_bits(values: np.ndarray) -> np.ndarray:
    """FP32 values → bfloat16 bit patterns (uint16), rounded to nearest even; NaN kept."""
    import numpy as np

    f32 = np.ascontiguousarray(values, dtype=np.float32)
    bits = f32.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(f32)
    if nan.any():
        rounded[nan] = 0x7FC0
    return rounded


def _bf16_tensor(name: str, values: np.ndarray) -> onnx.TensorProto:
    from onnx import TensorProto

    tensor = TensorProto()
    tensor.name = name
    tensor.data_type = TensorProto.BFLOAT16
    tensor.dims.extend(values.shape)
    tensor.raw_data = float_to_bf16_bits(values).tobytes()
    return tensor


def retype_fp16_to_bf16(model: onnx.ModelProto, originals: dict[str, np.ndarray]) -> None:
    """Turn an FP16-converted model into BF16 in place: every FLOAT16 tensor, Cast target
    and value type becomes BFLOAT16, with weights rounded from their FP32 originals."""
    import numpy as np
    import onnx
    from onnx import TensorProto

    def fix_tensor(t: TensorProto) -> None:
        import onnx
        from onnx import TensorProto

        if t.data_type != TensorProto.FLOAT16:
            return
        values = originals.get(t.name)
        if values is None or values.shape != tuple(t.dims):
            values = onnx.numpy_helper.to_array(t).astype(np.float32)
        t.CopyFrom(_bf16_tensor(t.name, values))

    def fix_type(tp: onnx.TypeProto) -> None:
        from onnx import TensorProto

        if tp.HasField("tensor_type") and tp.tensor_type.elem_type == TensorProto.FLOAT16:
            tp.tensor_type.elem_type = TensorProto.BFLOAT16

    for graph in graphs(model.graph):
        for t in graph.initializer:
            fix_tensor(t)
        for vi in (*graph.input, *graph.output, *graph.value_info):
            fix_type(vi.type)
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.TENSOR:
                    fix_tensor(attr.t)
                elif (
                    attr.type == onnx.AttributeProto.INT
                    and attr.name in ("to", "dtype")
                    and attr.i == TensorProto.FLOAT16
                ):
                    attr.i = TensorProto.BFLOAT16
