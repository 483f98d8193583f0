"""Which runner runs a prediction, and the reference run beside it.

An ONNX model runs with ONNX Runtime; an engine with TensorRT when this machine can run it,
otherwise its ONNX model (the one its build record names) with ONNX Runtime. When both run,
ONNX Runtime's outputs are the reference TensorRT's are compared with, at the tolerances of
the precision the engine was built with.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trtgui.core.build.record import converted_model_precision, onnx_for_engine, read_record
from trtgui.core.engine.runners import OrtRunner, Runner
from trtgui.core.engine.trt_runner import TrtRunner
from trtgui.core.errors import BuildRecordError, InferenceError, TrtGuiError
from trtgui.core.paths import MODEL_SUFFIXES
from trtgui.core.predict.compare import Comparison, compare_outputs
from trtgui.core.predict.model_facts import image_input
from trtgui.core.predict.report import ONNX_RUNTIME, TENSORRT


def is_onnx(path: str | Path) -> bool:
    return Path(path).suffix.lower() in MODEL_SUFFIXES


def model_files(
    model_path: Path, onnx_path: str | Path | None, notes: list[str]
) -> tuple[Path | None, Path | None]:
    """(engine, ONNX model): an ONNX model is its own; an engine's is `onnx_path` or the one
    its build record names (a note says why there is none)."""
    if is_onnx(model_path):
        return None, model_path
    if onnx_path is not None:
        return model_path, Path(onnx_path)
    onnx, why = onnx_for_engine(model_path)
    if onnx is None:
        notes.append(f"no ONNX reference: {why}")
    return model_path, onnx


@dataclass(frozen=True)
class Runners:
    """The runner whose outputs are decoded, and ONNX Runtime beside TensorRT as the
    comparison reference when both run."""

    main: Runner
    name: str  # TENSORRT or ONNX_RUNTIME
    detail: str
    reference: Runner | None = None


def open_runners(
    stack: ExitStack,
    engine_path: Path | None,
    onnx: Path | None,
    compare: bool,
    providers: Sequence[str] | None,
    notes: list[str],
) -> Runners:
    """TensorRT for an engine that runs here, ONNX Runtime for the ONNX model otherwise (and
    as the reference with `compare`). The stack closes them."""
    trt: Runner | None = None
    if engine_path is not None:
        trt, why_not = _open_trt(engine_path)
        if trt is None:
            if onnx is None:
                raise InferenceError(
                    f"The engine cannot run here ({why_not}) and no ONNX model is known for "
                    "it: pass the ONNX model instead (or --onnx).",
                    details=why_not,
                )
            # Named: the build record chose this file, and the user should see which it is.
            # The converted model when one was kept: what the engine was built from (#13).
            converted = converted_model_precision(engine_path, onnx)
            what = (
                f"the {converted} model the engine was built from ({onnx})"
                if converted
                else f"the ONNX model {onnx}"
            )
            notes.append(f"TensorRT not used: {why_not}; running {what} instead")
        else:
            stack.enter_context(trt)
    ort: OrtRunner | None = None
    if onnx is not None and (trt is None or compare):
        try:
            ort = stack.enter_context(OrtRunner(onnx, providers=providers))
        except TrtGuiError as err:
            if trt is None:
                raise
            notes.append(f"comparison skipped: ONNX Runtime cannot load the model ({err})")
    if trt is not None:
        # "TensorRT" alone, as reports have always said: the CUDA binding is no user's concern.
        return Runners(main=trt, name=TENSORRT, detail=TENSORRT, reference=ort)
    if ort is None:  # unreachable: without an engine there is an ONNX model
        raise InferenceError("Nothing can run this model: choose an ONNX model or an engine.")
    return Runners(main=ort, name=ONNX_RUNTIME, detail=ort.title)


def _open_trt(engine_path: Path) -> tuple[Runner | None, str]:
    """A TrtRunner for the engine, or None and why it cannot run here."""
    try:
        return TrtRunner(engine_path), ""
    except TrtGuiError as err:
        # A clause inside longer sentences ("TensorRT not used: …; running …"): no full stop.
        return None, err.message.strip().removesuffix(".")


def reference_comparison(
    runners: Runners,
    engine_path: Path | None,
    feed: np.ndarray,
    outputs: Mapping[str, np.ndarray],
    notes: list[str],
) -> tuple[Comparison | None, float | None]:
    """ONNX Runtime's run of the same tensor compared with TensorRT's outputs, and its time;
    (None, None) when no reference runs (a note says why it failed)."""
    reference = runners.reference
    if reference is None or engine_path is None:
        return None, None
    t0 = time.perf_counter()
    try:
        expected = reference.run({image_input(reference.input_infos).name: feed})
    except TrtGuiError as err:
        notes.append(f"comparison skipped: ONNX Runtime failed ({err})")
        return None, None
    reference_ms = (time.perf_counter() - t0) * 1000.0
    try:
        precision = _engine_precision(engine_path)
        return compare_outputs(expected, outputs, precision=precision), reference_ms
    except TrtGuiError as err:
        notes.append(f"comparison failed: {err}")
        return None, reference_ms


def _engine_precision(engine_path: Path) -> str:
    """The precision the engine was built with (its build record's), for the tolerances;
    FP32's (the strictest) when the record is missing or unreadable."""
    try:
        record = read_record(engine_path)
    except BuildRecordError:
        record = None
    return str(record.precision.value) if record is not None else "fp32"
