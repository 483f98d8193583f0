"""INT8 by explicit Q/DQ nodes, calibrated on real images preprocessed the way the model
expects (the settings' `PreprocessSpec`, else the guess).

The Q/DQ nodes go where TensorRT wants them (`qdq_placement`: the inputs of Conv,
ConvTranspose, Gemm and MatMul; outputs, Concat, Softmax, Sigmoid and the decoding tail stay
float). trtgui calibrates and writes them itself (`qdq_writer`: one ONNX Runtime pass over the
images, max calibration, symmetric INT8, weights per channel, float biases), or, when
installed, NVIDIA ModelOpt does. When there are more than 8 images, every fourth is held back
from calibration for the precision check (`held_back`).
`quantize_int8(source, out, calibration=..., exclude=..., method=...)` is also what the
accuracy check's retry calls with extra nodes to keep in float.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from trtgui.core.errors import ModelLoadError, SettingsError, TrtGuiError
from trtgui.core.imaging import PreprocessSpec
from trtgui.core.model import qdq_placement, qdq_writer
from trtgui.core.model.convert_base import (
    PhaseCallback,
    StepCallback,
    check_cancel,
    companion_files,
    load_model,
    lower_ir_version,
    report_phase,
    report_step,
    save_model,
)
from trtgui.core.model.profiles import ShapeProfile
from trtgui.core.paths import IMAGE_SUFFIXES
from trtgui.core.reading import check_regular_input
from trtgui.core.text import clip

if TYPE_CHECKING:  # numpy and onnx load lazily: an FP32 build needs neither
    import numpy as np
    import onnx

log = logging.getLogger(__name__)


# How the Q/DQ model is made: "ort" = trtgui's writer with TensorRT's placement, calibrated
# by ONNX Runtime (always here; the name is the settings' since the first version), or NVIDIA
# ModelOpt's `modelopt.onnx.quantization` when `nvidia-modelopt[onnx]` is installed (its own
# TensorRT-oriented placement).
QUANTIZERS = ("ort", "modelopt")
# Max calibration (the largest |value| seen). Measured earlier with ONNX Runtime's calibrators
# on yolov8n-doclaynet, 5 shared photos, F1 of the detections against FP32 and calibration
# time per image ÷ one FP32 inference: MinMax F1 1.00 at 3.3x, Percentile 0.91 at 9.5x,
# Entropy 1.00 at 15.3x; on EfficientNet-Lite0 all three gave the same top-1 classes (its
# ReLU6 outputs reach 6 on every image). Max keeps the detections as well and costs least.
CALIBRATE_METHOD = "max"
# With this many calibration images or fewer, all of them serve the check too (too few to
# split); with more, every fourth is held back from calibration.
FEW_IMAGES = 8


def held_back(
    images: Sequence[Path], few: int = FEW_IMAGES
) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """(calibration images, check images): every fourth image is held back from calibration;
    with `few` images or fewer all of them serve both (too few to split)."""
    ordered = tuple(images)
    if len(ordered) <= few:
        return ordered, ordered
    check = ordered[3::4]
    return tuple(p for p in ordered if p not in check), check


@dataclass(frozen=True)
class Calibration:
    """What INT8 calibration needs: a folder of real images (at most `max_images` of them),
    how they become the input (None: guessed from the model), and the shape profiles (the
    batch and the height and width of a dynamic input are taken from the first one)."""

    folder: str  # "" = none chosen
    max_images: int = 64
    preprocess: PreprocessSpec | None = None
    profiles: tuple[ShapeProfile, ...] = ()


@dataclass(frozen=True)
class Int8Result:
    """A Q/DQ model and how it came to be."""

    path: Path
    images: int  # calibration images used
    preprocess: PreprocessSpec  # the preprocessing they went through (resolved)
    excluded_nodes: tuple[str, ...]  # nodes kept in float: matched patterns + default tail
    quantized_nodes: tuple[str, ...]  # nodes that take an input through DequantizeLinear
    method: str  # "ort" or "modelopt"
    # The FP32 model's outputs for each calibration image (by path), with a digest of its
    # feed: the precision check's reference when it checks on the same images.
    reference: Mapping[str, tuple[str, dict[str, np.ndarray]]] = field(default_factory=dict)
    float_compute_nodes: tuple[str, ...] = ()  # compute layers the placement kept in float
    residual_adds: tuple[str, ...] = ()  # of quantized_nodes, the residual Adds (not compute)

    @property
    def quantized_compute(self) -> tuple[str, ...]:
        """The compute layers among `quantized_nodes`."""
        adds = set(self.residual_adds)
        return tuple(n for n in self.quantized_nodes if n not in adds)


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
    chosen = images[:limit] if limit else images
    for path in chosen:  # a FIFO or a device among them would hang calibration mid-build
        check_regular_input(path, "calibration")
    return chosen


def modelopt_available() -> bool:
    """Whether NVIDIA ModelOpt's ONNX quantizer can be imported (`nvidia-modelopt[onnx]`)."""
    try:
        return importlib.util.find_spec("modelopt.onnx.quantization") is not None
    except (ImportError, ValueError):
        return False


def quantize_int8(
    source: Path,
    out: Path,
    *,
    calibration: Calibration,
    exclude: Sequence[str] = (),
    method: str = "ort",
    cancel: threading.Event | None = None,
    on_phase: PhaseCallback | None = None,
    on_step: StepCallback | None = None,
) -> Int8Result:
    """Write to `out` an explicit Q/DQ INT8 model of `source`, calibrated on
    `calibration.folder`, with the nodes matching `exclude` (fnmatch patterns on node names or
    op types) kept in float. `method`: "ort" or "modelopt" (see QUANTIZERS). Scratch files go
    beside `out` and are removed."""
    if method not in QUANTIZERS:
        raise SettingsError(
            f"Unknown INT8 quantizer {method!r}: choose one of {', '.join(QUANTIZERS)}."
        )
    if method == "modelopt" and not modelopt_available():
        raise SettingsError(
            "The ModelOpt INT8 quantizer is not installed: pip install 'nvidia-modelopt[onnx]', "
            "or use the built-in one (--int8-method qdq)."
        )
    found = list_calibration_images(calibration.folder, calibration.max_images)
    images = list(held_back(found)[0])
    model = load_model(source, with_weights=True)
    input_name, input_shape, input_dtype = _image_input(model)
    placement = qdq_placement.plan_placement(model, exclude, source.name)
    for index, node in enumerate(model.graph.node):  # patterns and the record name them so
        node.name = qdq_placement.node_label(node, index)
    spec = _calibration_spec(calibration, source, input_name, input_shape, input_dtype)
    batch = _calibration_batch(input_shape, calibration.profiles, input_name)
    model = _per_channel_opset(model, source.name)
    lower_ir_version(model)
    phase = f"Calibrating INT8 on {len(images)} image(s)"
    report_phase(on_phase, phase, len(images))
    reader = _ImageReader(images, input_name, spec, batch, cancel, on_step, phase)
    reference: Mapping[str, tuple[str, dict[str, np.ndarray]]] = {}
    scratch = out.with_name(f"{source.stem}.fp32-for-int8.onnx")
    try:
        with _quiet_root_logger():
            if method == "modelopt":
                save_model(model, scratch)
                del model
                _quantize_modelopt(scratch, out, reader, placement)
            else:
                stats = _quantize_builtin(model, out, reader, placement, scratch, len(found))
                reference = stats.reference
    except TrtGuiError:  # a cancel, or a calibration image that cannot be used: said already
        raise
    except Exception as exc:  # the quantizers raise many kinds; say it in plain words
        cause = clip(_first_line(exc), 160)
        who = "ModelOpt" if method == "modelopt" else "ONNX Runtime"
        raise ModelLoadError(
            f"INT8 calibration failed: {who} could not run or quantize the model ({cause}).",
            details=f"{type(exc).__name__}: {exc}",
        ) from exc
    finally:
        for leftover in companion_files(scratch):
            leftover.unlink(missing_ok=True)
    check_cancel(cancel)
    written = load_model(out, with_weights=True)
    # ModelOpt's writer may share one DequantizeLinear among every reader of a tensor; trtgui's
    # own gives Q/DQ to exactly the inputs the placement chose (residual Adds included).
    if method == "modelopt" and qdq_placement.unquantize_non_compute(written):
        save_model(written, out)
    quantized = qdq_placement.quantized_nodes(written)
    del written
    return Int8Result(
        out,
        reader.count,
        spec,
        placement.excluded,
        quantized,
        method,
        reference,
        float_compute_nodes=placement.keep_float,
        residual_adds=tuple(a for a, _ in placement.residual if a in quantized),
    )


# Per-channel DequantizeLinear (its `axis`) came with opset 13.
_PER_CHANNEL_OPSET = 13


def _per_channel_opset(model: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """`model` at opset 13 or later, which per-channel weight scales need; ONNX Runtime would
    otherwise write an `axis` attribute that an opset-12 model may not have."""
    from onnx import version_converter

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset >= _PER_CHANNEL_OPSET:
        return model
    try:
        return version_converter.convert_version(model, _PER_CHANNEL_OPSET)
    except Exception as exc:  # the converter raises many kinds; say it in plain words
        raise ModelLoadError(
            f"INT8 needs opset {_PER_CHANNEL_OPSET} or later for per-channel weight scales, and "
            f"{name} (opset {opset}) could not be converted: export it again with opset "
            f"{_PER_CHANNEL_OPSET} or later.",
            details=f"{type(exc).__name__}: {exc}",
        ) from exc


def _quantize_builtin(
    model: onnx.ModelProto,
    out: Path,
    reader: _ImageReader,
    placement: qdq_placement.Placement,
    scratch: Path,
    found: int,
) -> qdq_writer.CalibrationStats:
    """trtgui's own calibration and Q/DQ writer (`qdq_writer`) with TensorRT's placement.
    The FP32 outputs are kept for the check when it reuses the calibration images (`found`
    images, few enough not to hold any back)."""
    tensors = qdq_writer.activation_inputs(model, placement.quantize, placement.residual)
    keep = found <= FEW_IMAGES
    stats = qdq_writer.calibrate(model, tensors, reader.feeds(), scratch, lambda _image: keep)
    check_cancel(reader.cancel)
    qdq_writer.insert_qdq(model, placement.quantize, stats.amax, placement.residual)
    save_model(model, out)
    return stats


def _quantize_modelopt(
    source: Path, out: Path, reader: _ImageReader, placement: qdq_placement.Placement
) -> None:
    """NVIDIA ModelOpt's ONNX PTQ, called as its documentation describes
    (`modelopt.onnx.quantization.quantize`): INT8, max calibration over the same preprocessed
    images, the user's nodes excluded, CPU execution (no GPU is needed to quantize)."""
    import numpy as np
    from modelopt.onnx.quantization import quantize

    feeds: list[np.ndarray] = []
    while (feed := reader.get_next()) is not None:
        feeds.append(feed[reader.input_name])
    quantize(
        onnx_path=str(source),
        quantize_mode="int8",
        calibration_data={reader.input_name: np.concatenate(feeds, axis=0)},
        calibration_method=CALIBRATE_METHOD,
        calibration_eps=["cpu"],
        op_types_to_quantize=list(qdq_placement.COMPUTE_OPS),
        nodes_to_exclude=list(placement.excluded),
        output_path=str(out),
    )


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
    calibration: Calibration,
    source: Path,
    input_name: str,
    shape: tuple[int | str | None, ...],
    dtype: str,
) -> PreprocessSpec:
    """The preprocessing for calibration: the settings' own, else the imaging guess."""
    from trtgui.core import imaging

    spec = calibration.preprocess
    if spec is None:
        from trtgui.core.model.onnx_model import inspect_onnx

        spec = imaging.guess_preprocess(inspect_onnx(source))
    spec = imaging.resolve_spec(spec, shape, dtype)
    # Dynamic height/width: calibrate at the profile's opt shape when one is given.
    profiles = calibration.profiles
    item = profiles[0].get(input_name) if profiles else None
    if item is not None and len(item.opt) == 4:
        hi, wi = (1, 2) if spec.layout == "NHWC" else (2, 3)
        if not (isinstance(shape[hi], int) and isinstance(shape[wi], int)):
            resize = "stretch" if spec.resize == "fit" else spec.resize
            spec = replace(spec, height=item.opt[hi], width=item.opt[wi], resize=resize)
            if resize == "fit_height":  # text lines padded or squeezed to the one width
                spec = replace(spec, limit_side=item.opt[wi])
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


def decode_workers() -> int:
    """Threads that read calibration images ahead: the cores beyond two, at most 4."""
    import os

    return min(4, max(1, (os.cpu_count() or 1) - 2))


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
        self._images = tuple(images)
        self._iter: Iterator[Path] = iter(self._images)
        self.input_name = input_name
        self._spec = spec
        self._batch = max(1, batch)
        self.cancel = cancel
        self._on_step = on_step
        self._phase = phase
        self.count = 0
        self.current: Path | None = None  # the image of the last batch

    def feeds(self) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
        """(image path, feed) for each image, in order, until they run out. Where cores are
        to spare, `decode_workers()` threads read and preprocess the next images ahead (decoding
        a PNG takes 2-17 ms on one core, as long as a many-core ONNX Runtime run); on two
        cores the images are read one by one (calibration reads one ahead already)."""
        workers = decode_workers()
        if workers <= 1:
            while (feed := self.get_next()) is not None:
                yield str(self.current), feed
            return
        from collections import deque
        from concurrent.futures import Future, ThreadPoolExecutor

        paths = iter(self._images)
        with ThreadPoolExecutor(workers, thread_name_prefix="trtgui-decode") as pool:
            ahead: deque[tuple[Path, Future[np.ndarray]]] = deque()
            for path in paths:
                ahead.append((path, pool.submit(self._load, path)))
                if len(ahead) > workers:
                    break
            while ahead:
                check_cancel(self.cancel)
                path, loading = ahead.popleft()
                following = next(paths, None)
                if following is not None:
                    ahead.append((following, pool.submit(self._load, following)))
                array = loading.result()
                self.current = path
                report_step(self._on_step, self._phase, self.count)
                self.count += 1
                yield str(path), {self.input_name: array}

    def get_next(self) -> dict[str, np.ndarray] | None:
        check_cancel(self.cancel)
        path = next(self._iter, None)
        if path is None:
            return None
        self.current = path
        array = self._load(path)
        report_step(self._on_step, self._phase, self.count)
        self.count += 1
        return {self.input_name: array}

    def _load(self, path: Path) -> np.ndarray:
        """One image as the model's input (batch repeated), or a SettingsError naming it."""
        import numpy as np

        from trtgui.core import imaging

        try:
            array, _ = imaging.preprocess(imaging.load_image(path), self._spec)
        except TrtGuiError as err:
            # Raised inside ONNX Runtime's quantizer, which would otherwise be blamed: name the
            # image and what is wrong with it.
            why = err.message.strip().removesuffix(".")
            raise SettingsError(
                f"INT8 calibration cannot use {path.name} from the calibration folder ({why}): "
                "remove or replace that image.",
                details=err.details,
            ) from err
        if array.ndim == 3:
            array = array[None]
        if self._batch > 1:
            array = np.repeat(array, self._batch, axis=0)
        return np.ascontiguousarray(array)

    def rewind(self) -> None:  # part of the CalibrationDataReader protocol; one pass only
        pass

    def set_range(self, start_index: int, end_index: int) -> None:
        pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def calibration_batches(
    source: Path,
    calibration: Calibration,
    input_name: str,
    shape: Sequence[int],
    dtype: str = "float32",
    cancel: threading.Event | None = None,
    on_step: StepCallback | None = None,
    phase: str = "",
) -> tuple[int, Iterator[np.ndarray]]:
    """For TensorRT's own INT8 calibrator (8.6, 10.x): (number of batches, the batches), each
    of `shape` (the calibration shape, batch first), from the same images preprocessed exactly
    as the Q/DQ quantizer preprocesses them. The last batch is filled up by repeating its
    last image, since TensorRT calibrates at one fixed shape."""
    import numpy as np

    images = list_calibration_images(calibration.folder, calibration.max_images)
    spec = _calibration_spec(calibration, source, input_name, tuple(shape), dtype)
    reader = _ImageReader(images, input_name, spec, 1, cancel, None, phase)
    batch = max(1, int(shape[0]))
    count = -(-len(images) // batch)

    def batches() -> Iterator[np.ndarray]:
        for index in range(count):
            arrays: list[np.ndarray] = []
            while len(arrays) < batch and (feed := reader.get_next()) is not None:
                arrays.append(feed[input_name])
            if not arrays:
                return
            arrays += [arrays[-1]] * (batch - len(arrays))
            report_step(on_step, phase, index)
            yield np.ascontiguousarray(np.concatenate(arrays, axis=0), dtype=dtype)

    return count, batches()
