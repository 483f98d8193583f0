"""What the precision conversions (FP16/BF16 casting, INT8 quantization) share: reading and
writing ONNX files with their weights, walking subgraphs, and reporting progress and cancel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from trtgui.core.errors import BuildCancelled, ModelLoadError

if TYPE_CHECKING:  # onnx loads lazily: an FP32 build needs none of it
    import onnx


# onnxruntime refuses IR versions above what it knows (onnx 1.23 writes 14, ORT 1.31 reads
# <= 13); IR 10 covers every opset up to 21 and is what ORT has read since 1.17.
ORT_SAFE_IR_VERSION = 10
# Models above this size are written with their weights in a separate file (protobuf's
# 2 GiB limit).
EXTERNAL_DATA_THRESHOLD = 1 << 30

# Steps reported through `on_phase` / `on_step`: (phase name, number of steps).
PhaseCallback = Callable[[str, int], None]
StepCallback = Callable[[str, int], object]  # the return value is ignored


def report_phase(cb: PhaseCallback | None, name: str, steps: int) -> None:
    if cb is not None:
        cb(name, steps)


def report_step(cb: StepCallback | None, name: str, step: int) -> None:
    if cb is not None:
        cb(name, step)


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise BuildCancelled("The build was cancelled; nothing was written.")


def lower_ir_version(model: onnx.ModelProto) -> bool:
    """Lower the IR version so ONNX Runtime accepts the model; True when changed."""
    import onnx

    if model.ir_version <= ORT_SAFE_IR_VERSION:
        return False
    needed = onnx.helper.find_min_ir_version_for(list(model.opset_import), ignore_unknown=True)
    target = max(needed, ORT_SAFE_IR_VERSION)
    if target >= model.ir_version:
        return False
    model.ir_version = target
    return True


# -- files ------------------------------------------------------------------------------------


def load_model(path: str | Path, with_weights: bool) -> onnx.ModelProto:
    import onnx

    try:
        return onnx.load(str(path), load_external_data=with_weights)
    except Exception as exc:  # protobuf and file errors
        raise ModelLoadError(f"Cannot read the ONNX model {path}.", details=repr(exc)) from exc


def save_model(model: onnx.ModelProto, path: Path) -> None:
    """Save, with weights in `<name>.data` beside it when the model is big."""
    import onnx

    big = model.ByteSize() > EXTERNAL_DATA_THRESHOLD
    onnx.save(
        model,
        str(path),
        save_as_external_data=big,
        all_tensors_to_one_file=True,
        location=f"{path.name}.data",
    )


def graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    import onnx

    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from graphs(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from graphs(g)


def companion_files(path: Path) -> tuple[Path, ...]:
    """`path` and the external-data file `save_model` wrote beside it, when there is one."""
    data = path.with_name(f"{path.name}.data")
    return (path, data) if data.exists() else (path,)
