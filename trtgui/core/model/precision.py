"""Turning an ONNX model into the chosen precision before TensorRT sees it.

TensorRT 11 and TensorRT for RTX take no precision flags: a network runs in the types its
ONNX graph carries. So FP16 and BF16 cast the model (ModelOpt AutoCast when installed,
otherwise onnxconverter-common; I/O types and numerically sensitive ops stay FP32), and INT8
inserts explicit Q/DQ nodes with ONNX Runtime static quantization calibrated on real images.
A model that already has Q/DQ nodes is built as it is. FP32 and TensorRT 10's "auto" use the
model unchanged.

`prepare_model(...)` returns the ONNX file to parse; converted files go to a work folder the
caller owns (and deletes).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trtgui.core.build.settings import BuildSettings, Precision, PreprocessSpec, ShapeProfile
from trtgui.core.errors import BuildCancelled, ModelLoadError, SettingsError

if TYPE_CHECKING:  # numpy and onnx load lazily: an FP32 build needs neither
    import numpy as np
    import onnx

log = logging.getLogger(__name__)

QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
# onnxruntime refuses IR versions above what it knows (onnx 1.23 writes 14, ORT 1.31 reads
# <= 13); IR 10 covers every opset up to 21 and is what ORT has read since 1.17.
ORT_SAFE_IR_VERSION = 10
# Models above this size are written with their weights in a separate file (protobuf's
# 2 GiB limit).
EXTERNAL_DATA_THRESHOLD = 1 << 30

# Steps reported through `on_phase` / `on_step`: (phase name, number of steps).
PhaseCallback = Callable[[str, int], None]
StepCallback = Callable[[str, int], object]  # the return value is ignored


@dataclass(frozen=True)
class PreparedModel:
    """The ONNX file to build and how it came to be."""

    path: Path
    converted: bool
    method: str  # "as is", "onnxconverter-common fp16", "modelopt autocast bf16", ...
    note: str = ""  # shown to the user (e.g. "already quantized: built as it is")
    calibration_images: int = 0


# -- queries ------------------------------------------------------------------------------------


def has_qdq(path: str | Path) -> bool:
    """True when the model already holds QuantizeLinear/DequantizeLinear nodes."""
    model = _load(path, with_weights=False)
    return any(node.op_type in QDQ_OPS for graph in _graphs(model.graph) for node in graph.node)


def autocast_available() -> bool:
    """Whether NVIDIA ModelOpt's AutoCast can be imported (the `modelopt` extra)."""
    try:
        return importlib.util.find_spec("modelopt.onnx.autocast") is not None
    except (ImportError, ValueError):
        return False


def list_calibration_images(folder: str | Path, limit: int | None = None) -> list[Path]:
    """Image files in `folder` (not recursive), sorted by name, at most `limit`."""
    root = Path(folder)
    if not root.is_dir():
        raise SettingsError(
            f"The calibration folder {root} does not exist: choose a folder of images.",
        )
    images = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise SettingsError(
            f"The calibration folder {root} holds no images (.png, .jpg, ...): INT8 needs real "
            "images like the ones the model will see.",
        )
    return images[:limit] if limit else images


# -- the entry point ----------------------------------------------------------------------------


def prepare_model(
    settings: BuildSettings,
    workdir: Path,
    cancel: threading.Event | None = None,
    on_phase: PhaseCallback | None = None,
    on_step: StepCallback | None = None,
) -> PreparedModel:
    """The ONNX file that gives `settings.precision` when built without precision flags."""
    source = Path(settings.onnx_path)
    precision = settings.precision
    if precision in (Precision.FP32, Precision.AUTO):
        return PreparedModel(source, False, "as is")
    if has_qdq(source):
        return PreparedModel(
            source,
            False,
            "as is",
            note="The model already has Q/DQ (quantize/dequantize) nodes: it is built as it "
            "is, in the precisions it names.",
        )
    _check_cancel(cancel)
    if precision in (Precision.FP16, Precision.BF16):
        phase = f"Converting the model to {precision.name}"
        _phase(on_phase, phase, 1)
        out, method = convert_float(source, workdir, precision)
        _step(on_step, phase, 0)
        _check_cancel(cancel)
        return PreparedModel(out, True, method)
    if precision is Precision.INT8:
        out, count = quantize_int8(settings, workdir, cancel, on_phase, on_step)
        return PreparedModel(
            out,
            True,
            "onnxruntime QDQ int8",
            note=f"Calibrated on {count} image(s) from {settings.calibration_dir}.",
            calibration_images=count,
        )
    raise SettingsError(f"Unknown precision {precision!r}.")


def _phase(cb: PhaseCallback | None, name: str, steps: int) -> None:
    if cb is not None:
        cb(name, steps)


def _step(cb: StepCallback | None, name: str, step: int) -> None:
    if cb is not None:
        cb(name, step)


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise BuildCancelled("The build was cancelled; nothing was written.")


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
    model = _load(source, with_weights=True)
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
        for graph in _graphs(model.graph)
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

    for graph in _graphs(model.graph):
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


# -- INT8 ---------------------------------------------------------------------------------------


def quantize_int8(
    settings: BuildSettings,
    workdir: Path,
    cancel: threading.Event | None = None,
    on_phase: PhaseCallback | None = None,
    on_step: StepCallback | None = None,
) -> tuple[Path, int]:
    """Explicit Q/DQ INT8 model calibrated on `settings.calibration_dir`; (path, images)."""
    if not settings.calibration_dir:
        raise SettingsError(
            "INT8 needs calibration images: choose a folder of images like the ones the model "
            "will see (--calib-dir).",
        )
    images = list_calibration_images(settings.calibration_dir, settings.calibration_max_images)
    source = Path(settings.onnx_path)
    model = _load(source, with_weights=True)
    input_name, input_shape, input_dtype = _image_input(model)
    spec = _calibration_spec(settings, source, input_name, input_shape, input_dtype)
    batch = _calibration_batch(input_shape, settings.profiles, input_name)
    ort_ready = workdir / f"{source.stem}.ort.onnx"
    lower_ir_version(model)
    save_model(model, ort_ready)
    del model
    out = workdir / f"{source.stem}.int8.onnx"
    phase = f"Calibrating INT8 on {len(images)} image(s)"
    _phase(on_phase, phase, len(images))
    reader = _ImageReader(images, input_name, spec, batch, cancel, on_step, phase)

    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    try:
        with _quiet_root_logger():
            quantize_static(
                str(ort_ready),
                str(out),
                reader,
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                per_channel=False,
                use_external_data_format=ort_ready.stat().st_size > EXTERNAL_DATA_THRESHOLD,
                # TensorRT takes symmetric INT8 only, and rejects quantized (INT32) biases.
                extra_options={
                    "ActivationSymmetric": True,
                    "WeightSymmetric": True,
                    "QuantizeBias": False,
                },
            )
    except BuildCancelled:
        raise
    except Exception as exc:  # onnxruntime raises many kinds; say it in plain words
        raise ModelLoadError(
            "INT8 calibration failed: ONNX Runtime could not run or quantize the model.",
            details=f"{type(exc).__name__}: {exc}",
        ) from exc
    _check_cancel(cancel)
    return out, reader.count


class _DemoteToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        log.debug("onnxruntime: %s", record.getMessage())
        return False


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """onnxruntime.quantization logs advice on the root logger ("consider pre-processing"),
    which a CLI would print: demote it to our debug log while quantizing."""
    root = logging.getLogger()
    quiet = _DemoteToDebug()
    root.addFilter(quiet)
    # It logs through `logging.warning(...)`, which calls basicConfig() when the root logger
    # has no handler: that handler would stay and print every later TensorRT warning a second
    # time ("WARNING:trtgui.tensorrt:…"). A handler present for the duration prevents it.
    guard = logging.NullHandler()
    root.addHandler(guard)
    try:
        yield
    finally:
        root.removeHandler(guard)
        root.removeFilter(quiet)


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


def _image_input(model: onnx.ModelProto) -> tuple[str, tuple[int | str | None, ...], str]:
    import onnx

    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise SettingsError(
            f"INT8 calibration from images needs a model with one image input; this one has "
            f"{len(inputs)} inputs ({', '.join(i.name for i in inputs)}).",
        )
    tt = inputs[0].type.tensor_type
    dims: list[int | str | None] = []
    for d in tt.shape.dim:
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        else:
            dims.append(d.dim_param or None)
    if len(dims) != 4:
        raise SettingsError(
            f"INT8 calibration from images needs a 4-D image input; {inputs[0].name!r} has "
            f"{len(dims)} dimensions.",
        )
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type).name
    return inputs[0].name, tuple(dims), dtype


def _calibration_spec(
    settings: BuildSettings,
    source: Path,
    input_name: str,
    shape: tuple[int | str | None, ...],
    dtype: str,
) -> PreprocessSpec:
    """The preprocessing for calibration: the settings' own, else the imaging guess."""
    from trtgui.core import imaging

    spec = settings.preprocess
    if spec is None:
        from trtgui.core.model.onnx_model import inspect_onnx

        spec = imaging.guess_preprocess(inspect_onnx(source))
    spec = imaging.resolve_spec(spec, shape, dtype)
    # Dynamic height/width: calibrate at the profile's opt shape when one is given.
    item = settings.profiles[0].get(input_name) if settings.profiles else None
    if item is not None and len(item.opt) == 4:
        hi, wi = (1, 2) if spec.layout == "NHWC" else (2, 3)
        if not (isinstance(shape[hi], int) and isinstance(shape[wi], int)):
            resize = "stretch" if spec.resize == "fit" else spec.resize
            spec = replace(spec, height=item.opt[hi], width=item.opt[wi], resize=resize)
    return spec


def _calibration_batch(
    shape: tuple[int | str | None, ...], profiles: Sequence[ShapeProfile], name: str
) -> int:
    if isinstance(shape[0], int):
        return shape[0]
    for profile in profiles[:1]:
        item = profile.get(name)
        if item is not None:
            return item.min[0]  # the smallest batch the engine takes, usually 1
    return 1


class _ImageReader:
    """onnxruntime `CalibrationDataReader` over image files, one batch per call."""

    def __init__(
        self,
        images: list[Path],
        input_name: str,
        spec: PreprocessSpec,
        batch: int,
        cancel: threading.Event | None,
        on_step: StepCallback | None,
        phase: str,
    ) -> None:
        self._iter: Iterator[Path] = iter(images)
        self._input_name = input_name
        self._spec = spec
        self._batch = max(1, batch)
        self._cancel = cancel
        self._on_step = on_step
        self._phase = phase
        self.count = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        import numpy as np

        from trtgui.core import imaging

        _check_cancel(self._cancel)
        path = next(self._iter, None)
        if path is None:
            return None
        array, _ = imaging.preprocess(imaging.load_image(path), self._spec)
        if array.ndim == 3:
            array = array[None]
        if self._batch > 1:
            array = np.repeat(array, self._batch, axis=0)
        _step(self._on_step, self._phase, self.count)
        self.count += 1
        return {self._input_name: np.ascontiguousarray(array)}

    def rewind(self) -> None:  # part of the CalibrationDataReader protocol; one pass only
        pass

    def set_range(self, start_index: int, end_index: int) -> None:
        pass


# -- files --------------------------------------------------------------------------------------


def _load(path: str | Path, with_weights: bool) -> onnx.ModelProto:
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


def _graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    import onnx

    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _graphs(g)


def companion_files(path: Path) -> list[Path]:
    """`path` and the external-data file saved beside it, when there is one."""
    data = path.with_name(f"{path.name}.data")
    return [path, data] if data.exists() else [path]


def describe_support() -> dict[str, Any]:
    """Which converters are installed (shown by `doctor` and the Build panel)."""
    return {
        "fp16_bf16": "modelopt autocast" if autocast_available() else "onnxconverter-common",
        "int8": "onnxruntime quantize_static (QDQ)",
    }
