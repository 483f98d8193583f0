"""Runners: one `run(feeds) -> outputs` interface over ONNX Runtime and TensorRT.

`OrtRunner` runs an ONNX model with ONNX Runtime (CPU, or its CUDA provider when present): the
reference for accuracy checks and the way to run a model on a machine without a GPU.
`TrtRunner` runs a TensorRT engine through `trtgui.core.engine.cuda` buffers and streams.

Both are context managers (`cuda.ClosesOnExit`) keyed by tensor name; they raise
`ModelLoadError`, `EngineLoadError`, `BackendUnavailable` or `InferenceError`, never raw library
exceptions.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from trtgui.core.build.settings import BuildSettings, ShapeProfile, suggest_profiles
from trtgui.core.engine.cuda import ClosesOnExit
from trtgui.core.errors import (
    BackendUnavailable,
    InferenceError,
    ModelLoadError,
    SettingsError,
)
from trtgui.core.shapes import Dim, shape_arg, shape_text


@dataclass(frozen=True)
class IoTensor:
    """One input or output as a runner sees it (same field names as onnx_model.TensorInfo).

    shape: int = static, str = symbolic name, None = unknown (TensorRT's -1 becomes None).
    """

    name: str
    dtype: str
    shape: tuple[Dim, ...] | None

    @property
    def is_dynamic(self) -> bool:
        return self.shape is None or any(not isinstance(d, int) or d < 0 for d in self.shape)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "shape": None if self.shape is None else list(self.shape),
        }


class Runner(Protocol):
    """What OrtRunner and TrtRunner share."""

    @property
    def input_infos(self) -> tuple[IoTensor, ...]: ...

    @property
    def output_infos(self) -> tuple[IoTensor, ...]: ...

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------------------------------
# Feed checking shared by both runners.


def check_feeds(
    feeds: Mapping[str, np.ndarray], inputs: Sequence[IoTensor]
) -> dict[str, np.ndarray]:
    """Check names, dtypes, ranks and static dims; return C-contiguous arrays by name.

    Raises InferenceError naming the tensor and what to change.
    """
    if not isinstance(feeds, Mapping):
        raise InferenceError("Inputs must be given as a mapping of tensor name to array.")
    expected = {t.name: t for t in inputs}
    missing = [n for n in expected if n not in feeds]
    extra = [n for n in feeds if n not in expected]
    if missing:
        raise InferenceError(
            f"Missing input {missing[0]!r}: the model needs "
            f"{', '.join(repr(n) for n in expected)}.",
            details=f"missing: {missing}; given: {list(feeds)}",
        )
    if extra:
        raise InferenceError(
            f"Unknown input {extra[0]!r}: the model's inputs are "
            f"{', '.join(repr(n) for n in expected)}.",
            details=f"unknown: {extra}; given: {list(feeds)}",
        )
    checked: dict[str, np.ndarray] = {}
    for name, info in expected.items():
        value = feeds[name]
        if not isinstance(value, np.ndarray):
            raise InferenceError(
                f"Input {name!r} must be a numpy array, got {type(value).__name__}."
            )
        if info.dtype not in ("unknown", "") and str(value.dtype) != info.dtype:
            raise InferenceError(
                f"Input {name!r} has dtype {value.dtype}, the model expects {info.dtype}: "
                f"convert it with .astype(np.{info.dtype}).",
            )
        if info.shape is not None:
            if value.ndim != len(info.shape):
                raise InferenceError(
                    f"Input {name!r} has {value.ndim} dimensions {shape_text(value.shape)}, the "
                    f"model expects {len(info.shape)}: {shape_text(info.shape)}.",
                )
            for axis, (want, got) in enumerate(zip(info.shape, value.shape, strict=True)):
                if isinstance(want, int) and want >= 0 and want != got:
                    raise InferenceError(
                        f"Input {name!r} has shape {shape_text(value.shape)}, the model expects "
                        f"{shape_text(info.shape)} (dimension {axis} must be {want}).",
                    )
        checked[name] = np.ascontiguousarray(value)
    return checked


# ---------------------------------------------------------------------------------------------
# ONNX Runtime


_ORT_DTYPES: dict[str, str] = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(bfloat16)": "bfloat16",
    "tensor(double)": "float64",
    "tensor(int8)": "int8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(uint8)": "uint8",
    "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32",
    "tensor(uint64)": "uint64",
    "tensor(bool)": "bool",
    "tensor(string)": "str",
}

_IR_RE = re.compile(r"max supported IR version:\s*(\d+)", re.IGNORECASE)
# Providers that make sense for local inference, best first.
_PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


def _import_ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:  # a core dependency, but say what to do if it is gone
        raise BackendUnavailable(
            "ONNX Runtime is not installed: pip install onnxruntime", details=str(exc)
        ) from exc
    return onnxruntime


def default_ort_providers() -> list[str]:
    """CUDA provider when this ONNX Runtime has it, then the CPU provider."""
    ort = _import_ort()
    available = set(ort.get_available_providers())
    return [p for p in _PREFERRED_PROVIDERS if p in available] or ["CPUExecutionProvider"]


class OrtRunner(ClosesOnExit):
    """Run an ONNX model with ONNX Runtime.

    Models whose IR version is newer than this ONNX Runtime accepts (onnx 1.23 writes IR 14;
    ONNX Runtime 1.31 reads at most 13, 1.32 reads 14) are loaded with a lowered IR version in
    memory, and only then: the limit is the one ONNX Runtime itself reports when it refuses the
    model. Their external weights are read relative to the model's folder.
    """

    def __init__(
        self,
        onnx_path: str | Path,
        providers: Sequence[str] | None = None,
        intra_op_threads: int | None = None,
    ) -> None:
        self.path = Path(onnx_path)
        self.ir_lowered_from: int | None = None  # original IR version when it was lowered
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.Lock()  # one run at a time keeps outputs and timings coherent
        ort = _import_ort()
        if not self.path.is_file():
            raise ModelLoadError(f"ONNX model not found: {self.path}")
        wanted = list(providers) if providers else default_ort_providers()
        unknown = [p for p in wanted if p not in ort.get_available_providers()]
        if unknown:
            raise BackendUnavailable(
                f"ONNX Runtime here has no {unknown[0]}: use one of "
                f"{', '.join(ort.get_available_providers())}."
            )
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only; warnings about providers are noise here
        if intra_op_threads:
            options.intra_op_num_threads = intra_op_threads
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=wanted)
        except Exception as exc:  # ORT raises its own pybind exception types
            text = str(exc)
            match = _IR_RE.search(text)
            if match is None:
                raise ModelLoadError(
                    f"ONNX Runtime cannot load {self.path.name}: {_first_line(text)}",
                    details=text,
                ) from exc
            self._session = self._load_lowered_ir(ort, options, wanted, int(match.group(1)), text)
        self.providers: tuple[str, ...] = tuple(self._session.get_providers())
        self._inputs = tuple(_ort_io(a) for a in self._session.get_inputs())
        self._outputs = tuple(_ort_io(a) for a in self._session.get_outputs())
        self.last_run_ms: float | None = None

    def _load_lowered_ir(
        self, ort: Any, options: Any, providers: list[str], max_ir: int, error: str
    ) -> Any:
        """Reload the model with ir_version lowered to what this ONNX Runtime accepts."""
        import onnx

        try:
            # Loads external data relative to the model folder.
            model = onnx.load(str(self.path))
        except Exception as exc:
            raise ModelLoadError(
                f"Cannot read {self.path.name} (or its external weight files) to adapt its IR "
                f"version: {_first_line(str(exc))}",
                details=f"{error}\n{exc}",
            ) from exc
        self.ir_lowered_from = int(model.ir_version)
        # Opset, not IR version, decides which operators exist; IR 10 covers opsets up to 21,
        # so lowering the container version keeps the graph meaning (seen: opset 17, IR 14→10).
        model.ir_version = min(int(model.ir_version), max_ir)
        try:
            if model.ByteSize() < 2**31 - 1:
                return ort.InferenceSession(model.SerializeToString(), options, providers=providers)
            # Protobuf cannot hold > 2 GB: write a temporary copy with its weights beside it.
            self._tmpdir = tempfile.TemporaryDirectory(prefix="trtgui-ort-")
            tmp_model = Path(self._tmpdir.name) / self.path.name
            onnx.save(
                model,
                str(tmp_model),
                save_as_external_data=True,
                all_tensors_to_one_file=True,
                location=self.path.name + ".data",
            )
            return ort.InferenceSession(str(tmp_model), options, providers=providers)
        except Exception as exc:
            self._cleanup_tmp()
            raise ModelLoadError(
                f"ONNX Runtime cannot load {self.path.name} even after lowering its IR version "
                f"from {self.ir_lowered_from} to {max_ir}: {_first_line(str(exc))}",
                details=f"{error}\n{exc}",
            ) from exc

    # -- interface ------------------------------------------------------------------------------

    @property
    def input_infos(self) -> tuple[IoTensor, ...]:
        return self._inputs

    @property
    def output_infos(self) -> tuple[IoTensor, ...]:
        return self._outputs

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run once; outputs by name, in the model's output order."""
        session = getattr(self, "_session", None)
        if session is None:
            raise InferenceError("This ONNX Runtime session is closed; open the model again.")
        checked = check_feeds(feeds, self._inputs)
        names = [t.name for t in self._outputs]
        with self._lock:
            start = time.perf_counter()
            try:
                values = session.run(names, checked)
            except Exception as exc:
                raise InferenceError(
                    f"ONNX Runtime failed to run {self.path.name}: {_first_line(str(exc))}",
                    details=str(exc),
                ) from exc
            self.last_run_ms = (time.perf_counter() - start) * 1000.0
        return {name: np.asarray(v) for name, v in zip(names, values, strict=True)}

    def close(self) -> None:
        self._session = None
        self._cleanup_tmp()

    def _cleanup_tmp(self) -> None:
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None


def _ort_io(arg: Any) -> IoTensor:
    shape = arg.shape
    dims: tuple[Dim, ...] | None
    if shape is None:
        dims = None
    else:
        dims = tuple(
            d if isinstance(d, int) and d >= 0 else (d if isinstance(d, str) and d else None)
            for d in shape
        )
    return IoTensor(str(arg.name), _ORT_DTYPES.get(str(arg.type), "unknown"), dims)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line[:300]


def random_feeds(
    inputs: Sequence[IoTensor],
    shapes: Mapping[str, Sequence[int]] | None = None,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Random inputs with a fixed seed: floats in [0, 1), integers in [0, 10), bools.

    Dynamic dims must be given in `shapes`; otherwise InferenceError names the input.
    """
    rng = np.random.default_rng(seed)
    shapes = shapes or {}
    feeds: dict[str, np.ndarray] = {}
    for info in inputs:
        if info.name in shapes:
            shape = tuple(int(d) for d in shapes[info.name])
        elif info.is_dynamic or info.shape is None:
            raise InferenceError(
                f"Input {info.name!r} has dynamic shape {shape_text(info.shape)}: give a "
                f"concrete shape, e.g. --shape {info.name}:"
                # a command to type: the "x" form (shape_arg), not the printed "×"
                + shape_arg(
                    [d if isinstance(d, int) and d >= 0 else 1 for d in (info.shape or (1,))]
                )
            )
        else:
            shape = tuple(int(d) for d in info.shape if isinstance(d, int))
        feeds[info.name] = _random_array(rng, info.dtype, shape)
    return feeds


# ---------------------------------------------------------------------------------------------
# Default shapes for dynamic inputs nobody gave a shape for.


@dataclass(frozen=True)
class DefaultShape:
    """The concrete shape chosen for a dynamic input, and where it came from (in words)."""

    name: str
    model_shape: tuple[Dim, ...]  # as the model declares it, e.g. ("batch", 3, 224, 224)
    shape: tuple[int, ...]
    source: str  # e.g. "the opt shape of the engine's build record"


@dataclass(frozen=True)
class _OneInput:
    """A model-like holding one input, for settings.suggest_profiles."""

    inputs: tuple[IoTensor, ...]


# ONNX Runtime names an unnamed dim "?": two such dims are not the same dim.
_UNNAMED_DIMS = ("", "?")


def default_shapes(
    inputs: Sequence[IoTensor],
    given: Mapping[str, Sequence[int]] | None = None,
    profiles: Sequence[tuple[str, ShapeProfile]] = (),
) -> tuple[DefaultShape, ...]:
    """Concrete shapes for the dynamic inputs not in `given`, as Polygraphy chooses them.

    `profiles` are (where it came from, profile) in order of preference: an input a profile
    names gets that profile's opt shape. Otherwise image inputs (4-D) get the opt shape that
    build suggests for a profile (batch 1, height and width 224), and every other dynamic dim
    is 1, as in Polygraphy. A symbolic dim keeps one value across inputs (and follows
    `given`), because the model means the same size. Inputs of unknown rank are left out:
    only the user can know their shape.
    """
    given = given or {}
    by_dim: dict[str, int] = {}  # symbolic dim name -> the value it got

    def remember(info: IoTensor, shape: Sequence[int]) -> None:
        if info.shape is None or len(info.shape) != len(shape):
            return
        for dim, value in zip(info.shape, shape, strict=True):
            if isinstance(dim, str) and dim not in _UNNAMED_DIMS:
                by_dim.setdefault(dim, int(value))

    for info in inputs:
        if info.name in given:
            remember(info, given[info.name])
    todo = [t for t in inputs if t.name not in given and t.is_dynamic and t.shape is not None]
    chosen: dict[str, DefaultShape] = {}
    for info in todo:
        for source, profile in profiles:
            item = profile.get(info.name)
            if item is not None and _fits(info.shape, item.opt):
                chosen[info.name] = DefaultShape(
                    info.name, info.shape or (), tuple(item.opt), f"the opt shape of {source}"
                )
                remember(info, item.opt)
                break
    # Image inputs first, so a size they share with another input is an image size.
    for info in sorted((t for t in todo if t.name not in chosen), key=lambda t: _rank(t) != 4):
        model_shape = info.shape or ()
        suggested: tuple[int, ...] = ()
        if len(model_shape) == 4:
            # Unnamed: suggest_profiles would make every "?" the same dim (the batch's value).
            unnamed = tuple(None if d in _UNNAMED_DIMS else d for d in model_shape)
            suggestion = suggest_profiles(_OneInput((IoTensor(info.name, info.dtype, unnamed),)))
            suggested = suggestion[0].inputs[0].opt if suggestion else ()
        dims: list[int] = []
        shared: list[str] = []
        own = False  # whether any dim got a default here rather than another input's size
        for index, dim in enumerate(model_shape):
            if isinstance(dim, int) and dim >= 0:
                dims.append(dim)
            elif isinstance(dim, str) and dim in by_dim:
                dims.append(by_dim[dim])
                shared.append(dim)
            else:
                dims.append(suggested[index] if suggested else 1)
                own = True
        source = (
            "the opt shape trtgui suggests for build profiles"
            if suggested
            else "1 for each dynamic dim, as Polygraphy does"
        )
        if shared:
            same = f"{', '.join(shared)} as for the other inputs"
            source = f"{source}, with {same}" if own else same
        chosen[info.name] = DefaultShape(info.name, model_shape, tuple(dims), source)
        remember(info, dims)
    return tuple(chosen[t.name] for t in inputs if t.name in chosen)


def _rank(info: IoTensor) -> int:
    return len(info.shape) if info.shape is not None else -1


def _fits(model_shape: tuple[Dim, ...] | None, shape: Sequence[int]) -> bool:
    """Whether `shape` can feed an input declared as `model_shape` (rank and static dims)."""
    if model_shape is None or len(model_shape) != len(shape):
        return False
    return all(
        d > 0 and (not isinstance(m, int) or m < 0 or m == d)
        for m, d in zip(model_shape, shape, strict=True)
    )


def record_profile(engine_path: str | Path) -> tuple[ShapeProfile | None, str]:
    """Profile 0 of an engine's build record (the one its execution context uses), or None
    and the problem in words ("" when the record simply has none)."""
    from trtgui.core.engine.plan import read_sidecar  # lazily, as TrtRunner imports engine

    data, problem = read_sidecar(engine_path)
    if data is None:
        return None, problem
    settings = data.get("settings")
    raw = data.get("profiles") or (settings.get("profiles") if isinstance(settings, dict) else None)
    if not raw:
        return None, ""
    try:
        profiles = BuildSettings.from_dict({"profiles": raw}).profiles
    except SettingsError as err:
        return None, f"the build record's profiles are unreadable ({err.message})"
    return (profiles[0] if profiles else None), ""


def _random_array(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype in ("float32", "float16", "float64"):
        return rng.random(size=shape, dtype=np.float32).astype(dtype)
    if dtype == "bfloat16":
        raise InferenceError("Random bfloat16 inputs are not supported: give the input as a file.")
    try:
        np_dtype = np.dtype(dtype)
    except TypeError as exc:
        raise InferenceError(f"Cannot make random inputs of type {dtype}.") from exc
    if np.issubdtype(np_dtype, np.integer):
        return rng.integers(0, 10, size=shape).astype(np_dtype)
    raise InferenceError(f"Cannot make random inputs of type {dtype}.")


# ---------------------------------------------------------------------------------------------
# TensorRT


class EngineBinding(Protocol):
    """The engine-facing part of TrtRunner: an execution context and its I/O description.

    `TensorRTBinding` implements it over a real ICudaEngine; tests implement it with a small
    CUDA kernel so the runner's binding and copy path is checked on GPUs TensorRT refuses.
    """

    @property
    def inputs(self) -> tuple[IoTensor, ...]: ...

    @property
    def outputs(self) -> tuple[IoTensor, ...]: ...

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool: ...

    def get_tensor_shape(self, name: str) -> tuple[int, ...]: ...

    def set_tensor_address(self, name: str, address: int) -> bool: ...

    def execute_async_v3(self, stream_address: int) -> bool: ...

    def close(self) -> None: ...


class TensorRTBinding:
    """EngineBinding over a TensorRT ICudaEngine (NVIDIA TensorRT or TensorRT-RTX)."""

    def __init__(self, trt: Any, engine: Any, profile: int = 0) -> None:
        from trtgui.core.engine.plan import trt_dtype_name

        self._trt = trt
        self._engine = engine
        inputs, outputs = [], []
        for i in range(int(engine.num_io_tensors)):
            name = engine.get_tensor_name(i)
            location = str(getattr(engine.get_tensor_location(name), "name", "DEVICE"))
            if location != "DEVICE":
                raise InferenceError(
                    f"Tensor {name!r} lives in host memory (a shape tensor); this runner "
                    "handles device tensors only."
                )
            shape = tuple(None if int(d) < 0 else int(d) for d in engine.get_tensor_shape(name))
            info = IoTensor(name, trt_dtype_name(engine.get_tensor_dtype(name)), shape)
            if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                inputs.append(info)
            else:
                outputs.append(info)
        self._inputs, self._outputs = tuple(inputs), tuple(outputs)
        self._context = engine.create_execution_context()
        if self._context is None:
            raise InferenceError(
                "TensorRT could not create an execution context (out of GPU memory?)."
            )
        self._profile = profile

    @property
    def inputs(self) -> tuple[IoTensor, ...]:
        return self._inputs

    @property
    def outputs(self) -> tuple[IoTensor, ...]:
        return self._outputs

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        return bool(self._context.set_input_shape(name, shape))

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return tuple(int(d) for d in self._context.get_tensor_shape(name))

    def profile_range(self, name: str) -> str:
        try:
            lo, _opt, hi = self._engine.get_tensor_profile_shape(name, self._profile)
        except Exception:  # static inputs have no profile
            return ""
        return f"{list(lo)} to {list(hi)}"

    def set_tensor_address(self, name: str, address: int) -> bool:
        return bool(self._context.set_tensor_address(name, address))

    def execute_async_v3(self, stream_address: int) -> bool:
        return bool(self._context.execute_async_v3(stream_address))

    def close(self) -> None:
        self._context = None
        self._engine = None


@dataclass(frozen=True)
class RunTimings:
    """One run, timed with CUDA events on the stream; names as trtexec prints them."""

    h2d_ms: float
    compute_ms: float
    d2h_ms: float
    host_ms: float  # wall time of run() on the host

    def as_phases(self) -> dict[str, float]:
        return {
            "H2D Latency": self.h2d_ms,
            "GPU Compute Time": self.compute_ms,
            "D2H Latency": self.d2h_ms,
        }


@dataclass
class _Slot:
    host: Any  # cuda.PinnedBuffer
    device: Any  # cuda.DeviceBuffer
    capacity: int


class TrtRunner(ClosesOnExit):
    """Run a TensorRT engine: pinned host and device buffers keyed by tensor name.

    `TrtRunner(engine_path)` deserializes the engine (needs a GPU the backend accepts);
    `TrtRunner.from_binding(binding, cuda)` drives any EngineBinding. `run()` can be called
    from any thread (the CUDA context is made current around each call).
    """

    def __init__(
        self,
        engine_path: str | Path | None = None,
        backend: str | None = None,
        cuda_api: str | None = None,
        *,
        binding: EngineBinding | None = None,
        cuda: Any = None,
    ) -> None:
        from trtgui.core.engine import cuda as cuda_mod

        self.path = Path(engine_path) if engine_path is not None else None
        self._lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}
        self._shapes: dict[str, tuple[int, ...]] = {}
        self.last_timings: RunTimings | None = None
        engine: Any = None
        if binding is None:
            if engine_path is None:
                raise ValueError("give engine_path or binding")
            from trtgui.core.engine.plan import deserialize

            # First, so "no GPU" / "GPU not supported" / "wrong version" come in plain words.
            trt, engine, _header = deserialize(engine_path, backend)
        self._owns_cuda = cuda is None
        self._cuda = cuda if cuda is not None else cuda_mod.open_cuda(cuda_api)
        try:
            with self._cuda.activated():
                if binding is None:
                    binding = TensorRTBinding(trt, engine)
                self._binding: EngineBinding | None = binding
                self._stream = self._cuda.create_stream()
                self._events = [self._cuda.create_event() for _ in range(4)]
        except BaseException:
            self._release_cuda()
            raise

    @classmethod
    def from_binding(cls, binding: EngineBinding, cuda: Any) -> TrtRunner:
        """A runner over `binding` using the caller's CudaApi (the caller closes it)."""
        return cls(binding=binding, cuda=cuda)

    @property
    def cuda_api_name(self) -> str:
        return str(self._cuda.name)

    @property
    def input_infos(self) -> tuple[IoTensor, ...]:
        return self._live_binding().inputs

    @property
    def output_infos(self) -> tuple[IoTensor, ...]:
        return self._live_binding().outputs

    def _live_binding(self) -> EngineBinding:
        if self._binding is None:
            raise InferenceError("This engine runner is closed; open the engine again.")
        return self._binding

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Copy inputs in, execute, copy outputs back; outputs by name (fresh arrays)."""
        binding = self._live_binding()
        checked = check_feeds(feeds, binding.inputs)
        with self._lock, self._cuda.activated():
            start = time.perf_counter()
            for info in binding.inputs:
                self._set_shape(binding, info.name, tuple(checked[info.name].shape))
            out_shapes = {o.name: self._output_shape(binding, o) for o in binding.outputs}
            for info in binding.inputs:
                arr = checked[info.name]
                slot = self._slot(info.name, arr.nbytes)
                np.copyto(slot.host.view(arr.dtype, arr.shape), arr)
            for o in binding.outputs:
                self._slot(o.name, _nbytes(o.dtype, out_shapes[o.name]))
            for name, slot in self._slots.items():
                if not binding.set_tensor_address(name, slot.device.ptr):
                    raise InferenceError(f"TensorRT refused the device address of {name!r}.")
            ev = self._events
            stream = self._stream
            self._cuda.record(ev[0], stream)
            for info in binding.inputs:
                slot = self._slots[info.name]
                self._cuda.copy_htod_async(
                    slot.device, slot.host, checked[info.name].nbytes, stream, info.name
                )
            self._cuda.record(ev[1], stream)
            if not binding.execute_async_v3(stream.address):
                raise InferenceError(
                    "TensorRT failed to run the engine (execute_async_v3 returned False); "
                    "see the log for its error."
                )
            self._cuda.record(ev[2], stream)
            for o in binding.outputs:
                slot = self._slots[o.name]
                nbytes = _nbytes(o.dtype, out_shapes[o.name])
                self._cuda.copy_dtoh_async(slot.host, slot.device, nbytes, stream, o.name)
            self._cuda.record(ev[3], stream)
            self._cuda.synchronize(stream)
            outputs = {
                o.name: self._slots[o.name].host.view(o.dtype, out_shapes[o.name]).copy()
                for o in binding.outputs
            }
            host_ms = (time.perf_counter() - start) * 1000.0
            self.last_timings = RunTimings(
                h2d_ms=self._cuda.elapsed_ms(ev[0], ev[1]),
                compute_ms=self._cuda.elapsed_ms(ev[1], ev[2]),
                d2h_ms=self._cuda.elapsed_ms(ev[2], ev[3]),
                host_ms=host_ms,
            )
        return outputs

    def _set_shape(self, binding: EngineBinding, name: str, shape: tuple[int, ...]) -> None:
        if self._shapes.get(name) == shape:
            return
        if not binding.set_input_shape(name, shape):
            allowed = ""
            if isinstance(binding, TensorRTBinding):
                rng = binding.profile_range(name)
                allowed = f" (the engine's profile allows {rng})" if rng else ""
            raise InferenceError(
                f"Input {name!r} with shape {list(shape)} does not fit the engine{allowed}: "
                "use a shape inside the profile, or rebuild with a wider profile."
            )
        self._shapes[name] = shape

    @staticmethod
    def _output_shape(binding: EngineBinding, info: IoTensor) -> tuple[int, ...]:
        shape = binding.get_tensor_shape(info.name)
        if any(d < 0 for d in shape):
            raise InferenceError(
                f"Output {info.name!r} has a data-dependent shape {list(shape)}; this runner "
                "needs output sizes known once the input shapes are set."
            )
        return shape

    def _slot(self, name: str, nbytes: int) -> _Slot:
        """Buffers for `name`, reallocated only when they must grow."""
        slot = self._slots.get(name)
        if slot is not None and slot.capacity >= nbytes:
            return slot
        if slot is not None:
            self._cuda.free(slot.host)
            self._cuda.free(slot.device)
        host = self._cuda.alloc_pinned(nbytes, name)
        device = self._cuda.alloc_device(nbytes, name)
        slot = _Slot(host, device, nbytes)
        self._slots[name] = slot
        return slot

    def close(self) -> None:
        with self._lock:
            if self._binding is not None:
                self._binding.close()
                self._binding = None
            self._release_cuda()

    def _release_cuda(self) -> None:
        cuda = self._cuda
        if self._owns_cuda:
            cuda.close()  # frees the slots, stream and events it made
        else:
            with cuda.activated():
                for slot in self._slots.values():
                    cuda.free(slot.host)
                    cuda.free(slot.device)
        self._slots = {}


def _nbytes(dtype: str, shape: Sequence[int]) -> int:
    try:
        itemsize = np.dtype(dtype).itemsize
    except TypeError as exc:
        raise InferenceError(f"Tensors of type {dtype} are not supported by this runner.") from exc
    return int(np.prod(shape, dtype=np.int64)) * itemsize if len(shape) else itemsize


def open_runner(path: str | Path, **kwargs: Any) -> OrtRunner | TrtRunner:
    """OrtRunner for .onnx files, TrtRunner for anything else (an engine)."""
    p = Path(path)
    if p.suffix.lower() == ".onnx":
        return OrtRunner(p, **kwargs)
    return TrtRunner(p, **kwargs)
