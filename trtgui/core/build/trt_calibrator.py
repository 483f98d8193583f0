"""INT8 by TensorRT's own entropy calibrator (TensorRT 8.6 and 10.x): `make_calibrator`
gives the builder config an `IInt8EntropyCalibrator2` over the user's calibration images
(preprocessed as for trtgui's Q/DQ quantizer) and the GPU memory its batches go through
(`TrtCalibration`, closed after the build).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from trtgui.core.backends import BackendInfo, import_optional
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import EngineBuildError, SettingsError
from trtgui.core.model.profiles import Precision


class TrtCalibration:
    """TensorRT's entropy calibrator for one build and the GPU memory its batches go through.

    Keep it until `build_serialized_network` returns, then `close()` it (frees the memory).
    `error`: what stopped calibration early (a bad image, a CUDA failure), to report instead
    of TensorRT's own "calibration failed"."""

    def __init__(self, calibrator: Any, uploads: _DeviceUploads, images: int) -> None:
        self.calibrator = calibrator
        self.images = images
        self._uploads = uploads

    @property
    def error(self) -> BaseException | None:
        error: BaseException | None = self.calibrator.error
        return error

    @property
    def batches(self) -> int:
        return int(self.calibrator.batches_given)

    def close(self) -> None:
        self._uploads.close()


def make_calibrator(
    trt: Any,
    builder: Any,
    network: Any,
    config: Any,
    info: BackendInfo,
    settings: BuildSettings,
    source: Path,
    cancel: threading.Event,
    on_phase: Callable[[str, int], None],
    on_step: Callable[[str, int], object],
) -> TrtCalibration | None:
    """Give `config` an `IInt8EntropyCalibrator2` over the settings' calibration images, when
    INT8 comes from TensorRT's calibrator; None otherwise. The images are preprocessed as for
    trtgui's Q/DQ quantizer (the settings' PreprocessSpec, else the guess), at the first
    profile's opt shape for a dynamic input (TensorRT calibrates at one shape)."""
    if not (settings.precision is Precision.INT8 and settings.int8_method == "calibrator"):
        return None
    if not settings.calibration_dir:
        raise SettingsError(
            "INT8 needs calibration images: choose a folder of images like the ones the "
            "model will see (--calib-dir).",
        )
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    if len(inputs) != 1:
        raise SettingsError(
            "TensorRT's INT8 calibrator over images needs a model with one image input; this "
            f"one has {len(inputs)}: use the INT8 method qdq, or calibrate another way."
        )
    tensor = inputs[0]
    shape = tuple(int(d) for d in tensor.shape)
    if any(d < 0 for d in shape):
        item = settings.profiles[0].get(tensor.name) if settings.profiles else None
        if item is None:
            raise SettingsError(
                f"Input {tensor.name!r} has dynamic dimensions: give a shape profile, whose "
                "opt shape INT8 calibration then uses."
            )
        shape = tuple(int(d) for d in item.opt)
        profile = builder.create_optimization_profile()
        profile.set_shape(tensor.name, shape, shape, shape)
        config.set_calibration_profile(profile)
    from trtgui.core.backends import trt_dtype_name
    from trtgui.core.model.int8 import Calibration as Images
    from trtgui.core.model.int8 import calibration_batches, list_calibration_images

    images = Images(
        settings.calibration_dir, settings.calibration_max_images, settings.preprocess,
        settings.profiles,
    )  # fmt: skip
    count = len(list_calibration_images(images.folder, images.max_images))
    phase = f"Calibrating INT8 with TensorRT on {count} image(s)"
    batches, stream = calibration_batches(
        source, images, tensor.name, shape, trt_dtype_name(tensor.dtype), cancel, on_step, phase
    )
    uploads = _DeviceUploads()
    calibrator = _calibrator_class(trt)(tensor.name, stream, uploads, cancel)
    config.int8_calibrator = calibrator
    on_phase(phase, batches)
    return TrtCalibration(calibrator, uploads, count)


class _DeviceUploads:
    """GPU buffers for calibration batches, through cuda-python's runtime API (the build stage
    sits below `engine.cuda`, and needs only malloc, a synchronous copy and free)."""

    def __init__(self) -> None:
        runtime = import_optional("cuda.bindings.runtime")
        if isinstance(runtime, str):
            runtime = import_optional("cuda.cudart")  # cuda-python < 12.6
        if isinstance(runtime, str):
            raise SettingsError(
                "TensorRT's INT8 calibrator needs cuda-python to hand it the images: pip "
                "install 'trtgui[cuda]', or use the INT8 method qdq.",
                details=runtime,
            )
        self._rt = runtime
        self._buffers: dict[str, tuple[int, int]] = {}  # name -> (address, bytes)
        self._lock = threading.Lock()

    def _check(self, result: Any, what: str) -> Any:
        err, rest = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
        if int(err) != 0:
            raise EngineBuildError(
                f"CUDA failed while handing calibration images to TensorRT ({what}).",
                details=f"{what} -> {getattr(err, 'name', err)}",
            )
        return rest[0] if rest else None

    def upload(self, name: str, array: Any) -> int:
        with self._lock:
            address, size = self._buffers.get(name, (0, 0))
            if size < array.nbytes:
                if address:
                    self._check(self._rt.cudaFree(address), "cudaFree")
                address = int(self._check(self._rt.cudaMalloc(array.nbytes), "cudaMalloc"))
                self._buffers[name] = (address, int(array.nbytes))
            kind = self._rt.cudaMemcpyKind.cudaMemcpyHostToDevice
            self._check(
                self._rt.cudaMemcpy(address, array.ctypes.data, array.nbytes, kind), "cudaMemcpy"
            )
            return address

    def close(self) -> None:
        with self._lock:
            for address, _size in self._buffers.values():
                self._rt.cudaFree(address)  # freeing after a failed build: nothing to add
            self._buffers = {}


_calibrator_classes: dict[int, type] = {}


def _calibrator_class(trt: Any) -> type:
    """The `IInt8EntropyCalibrator2` subclass for one TensorRT module (made once per module)."""
    found = _calibrator_classes.get(id(trt))
    if found is not None:
        return found

    class _EntropyCalibrator(trt.IInt8EntropyCalibrator2):  # type: ignore[misc]
        def __init__(
            self,
            name: str,
            batches: Iterator[Any],
            uploads: _DeviceUploads,
            cancel: threading.Event,
        ) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self._name = name
            self._batches = batches
            self._uploads = uploads
            self._cancel = cancel
            self.error: BaseException | None = None
            self.batches_given = 0
            self.cache = b""

        def get_batch_size(self) -> int:
            return 1  # explicit batch: each batch's own shape carries its size

        def get_batch(self, names: list[str]) -> list[int] | None:
            # Runs on TensorRT's thread: never raise into it; None ends calibration.
            if self._cancel.is_set() or self.error is not None:
                return None
            try:
                array = next(self._batches, None)
                if array is None:
                    return None
                address = self._uploads.upload(self._name, array)
            except BaseException as exc:
                self.error = exc
                return None
            self.batches_given += 1
            return [address if n == self._name else 0 for n in names]

        def read_calibration_cache(self) -> bytes | None:
            return None  # calibrate afresh: the images or their preprocessing may have changed

        def write_calibration_cache(self, cache: Any) -> None:
            self.cache = bytes(cache)

    _EntropyCalibrator.__name__ = "TrtGuiEntropyCalibrator"
    _calibrator_classes[id(trt)] = _EntropyCalibrator
    return _EntropyCalibrator
