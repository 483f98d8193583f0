"""INT8 by explicit Q/DQ nodes: ONNX Runtime static quantization, calibrated on real images
preprocessed the way the model expects (the settings' `PreprocessSpec`, else the guess).

TensorRT takes symmetric INT8 only and rejects quantized (INT32) biases: the quantizer is
told so. `quantize_int8` writes the quantized model to a work folder the caller owns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from trtgui.core.errors import BuildCancelled, ModelLoadError, SettingsError
from trtgui.core.imaging import PreprocessSpec
from trtgui.core.model.convert_base import (
    EXTERNAL_DATA_THRESHOLD,
    PhaseCallback,
    StepCallback,
    check_cancel,
    load_model,
    lower_ir_version,
    report_phase,
    report_step,
    save_model,
)
from trtgui.core.model.profiles import ShapeProfile
from trtgui.core.paths import IMAGE_SUFFIXES

if TYPE_CHECKING:  # numpy and onnx load lazily: an FP32 build needs neither
    import numpy as np
    import onnx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Calibration:
    """What INT8 calibration needs: a folder of real images (at most `max_images` of them),
    how they become the input (None: guessed from the model), and the shape profiles (the
    batch and the height and width of a dynamic input are taken from the first one)."""

    folder: str  # "" = none chosen
    max_images: int = 64
    preprocess: PreprocessSpec | None = None
    profiles: tuple[ShapeProfile, ...] = ()


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


def quantize_int8(
    source: Path,
    calibration: Calibration,
    workdir: Path,
    cancel: threading.Event | None = None,
    on_phase: PhaseCallback | None = None,
    on_step: StepCallback | None = None,
) -> tuple[Path, int]:
    """Explicit Q/DQ INT8 model calibrated on `calibration.folder`; (path, images)."""
    images = list_calibration_images(calibration.folder, calibration.max_images)
    model = load_model(source, with_weights=True)
    input_name, input_shape, input_dtype = _image_input(model)
    spec = _calibration_spec(calibration, source, input_name, input_shape, input_dtype)
    batch = _calibration_batch(input_shape, calibration.profiles, input_name)
    ort_ready = workdir / f"{source.stem}.ort.onnx"
    lower_ir_version(model)
    save_model(model, ort_ready)
    del model
    out = workdir / f"{source.stem}.int8.onnx"
    phase = f"Calibrating INT8 on {len(images)} image(s)"
    report_phase(on_phase, phase, len(images))
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
    check_cancel(cancel)
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

        check_cancel(self._cancel)
        path = next(self._iter, None)
        if path is None:
            return None
        array, _ = imaging.preprocess(imaging.load_image(path), self._spec)
        if array.ndim == 3:
            array = array[None]
        if self._batch > 1:
            array = np.repeat(array, self._batch, axis=0)
        report_step(self._on_step, self._phase, self.count)
        self.count += 1
        return {self._input_name: np.ascontiguousarray(array)}

    def rewind(self) -> None:  # part of the CalibrationDataReader protocol; one pass only
        pass

    def set_range(self, start_index: int, end_index: int) -> None:
        pass
