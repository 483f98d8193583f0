"""Runners: one `run(feeds) -> outputs` interface over ONNX Runtime and TensorRT.

`Runner` is that interface; `OrtRunner` (here) runs an ONNX model with ONNX Runtime (CPU, or
its CUDA provider when present): the reference for accuracy checks and the way to run a model
on a machine without a GPU. `TrtRunner` (`engine.trt_runner`) runs a TensorRT engine.
`check_feeds` and `random_feeds` serve both.

Runners are context managers (`cuda.ClosesOnExit`) keyed by tensor name; they raise
`ModelLoadError`, `EngineLoadError`, `BackendUnavailable` or `InferenceError`, never raw library
exceptions.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import numpy as np

from trtgui.core.engine.cuda import ClosesOnExit
from trtgui.core.errors import BackendUnavailable, InferenceError, ModelLoadError
from trtgui.core.model.graph_check import check_weights_files
from trtgui.core.reading import check_regular_input
from trtgui.core.shapes import Dim, shape_arg, shape_text
from trtgui.core.tensors import TensorSpec
from trtgui.core.text import format_bytes


class Runner(Protocol):
    """What OrtRunner and TrtRunner share: tensors described by name, one `run`, and `with`
    closing them."""

    @property
    def title(self) -> str:
        """Which runtime runs it, for people: "ONNX Runtime (CPUExecutionProvider)"."""
        ...

    @property
    def input_infos(self) -> tuple[TensorSpec, ...]: ...

    @property
    def output_infos(self) -> tuple[TensorSpec, ...]: ...

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


# ---------------------------------------------------------------------------------------------
# Feed checking shared by both runners.


def check_feeds(
    feeds: Mapping[str, np.ndarray], inputs: Sequence[TensorSpec]
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
        session_config: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(onnx_path)
        self.ir_lowered_from: int | None = None  # original IR version when it was lowered
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.Lock()  # one run at a time keeps outputs and timings coherent
        ort = _import_ort()
        if not os.path.lexists(self.path):
            raise ModelLoadError(f"ONNX model not found: {self.path}")
        # A FIFO, a device or a folder is named as such (ONNX Runtime would block on a FIFO).
        check_regular_input(self.path, "onnx")
        # trtgui's own check of the weights files the model names (missing, short, a device or
        # FIFO, outside the model's folder) before ONNX Runtime opens any of them.
        check_weights_files(self.path)
        wanted = list(providers) if providers else default_ort_providers()
        unknown = [p for p in wanted if p not in ort.get_available_providers()]
        if unknown:
            raise BackendUnavailable(
                f"ONNX Runtime here has no {unknown[0]}: use one of "
                f"{', '.join(ort.get_available_providers())}."
            )
        options = ort.SessionOptions()
        # Fatal only: a failed run's error is raised as one InferenceError below, and ORT's own
        # coloured "[E:onnxruntime:…]" log line on stderr would say it twice.
        options.log_severity_level = 4
        if intra_op_threads:
            options.intra_op_num_threads = intra_op_threads
        # Q/DQ pairs run as the ONNX operators define them, as TensorRT computes them, not
        # fused into ONNX Runtime's own INT8 kernels: those put an INT8 EfficientNet-Lite0's
        # logits at cosine 0.68-0.80 from the operators' arithmetic on this project's CPUs
        # (predict/accuracy.py). A no-op for models without Q/DQ.
        config = {"session.disable_quant_qdq": "1", **(session_config or {})}
        for key, value in config.items():
            options.add_session_config_entry(key, value)
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
        self._inputs = tuple(_ort_io(a, True) for a in self._session.get_inputs())
        self._outputs = tuple(_ort_io(a, False) for a in self._session.get_outputs())
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
    def title(self) -> str:
        return f"ONNX Runtime ({', '.join(self.providers)})"

    @property
    def input_infos(self) -> tuple[TensorSpec, ...]:
        return self._inputs

    @property
    def output_infos(self) -> tuple[TensorSpec, ...]:
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
                    _run_failure(self.path.name, checked, self._inputs, str(exc)),
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


def _ort_io(arg: Any, is_input: bool) -> TensorSpec:
    shape = arg.shape
    dims: tuple[Dim, ...] | None
    if shape is None:
        dims = None
    else:
        dims = tuple(
            d if isinstance(d, int) and d >= 0 else (d if isinstance(d, str) and d else None)
            for d in shape
        )
    return TensorSpec(str(arg.name), _ORT_DTYPES.get(str(arg.type), "unknown"), dims, is_input)


def _run_failure(
    model: str, feeds: Mapping[str, np.ndarray], inputs: Sequence[TensorSpec], error: str
) -> str:
    """One line: the shapes sent against the shapes the model takes, and the failing node.
    Rank, dtype and fixed dims were checked before the run, so this is a size the graph
    cannot take (a PP-OCR recogniser given 224 rows where it needs 48)."""
    sent = ", ".join(
        f"{t.name!r} {shape_text(feeds[t.name].shape)} (the model takes {shape_text(t.shape)})"
        for t in inputs
        if t.name in feeds
    )
    node = re.search(r"while running (\w+) node\. Name:'([^']*)'", error)
    where = f"its {node.group(1)} node {node.group(2)!r} failed" if node else _first_line(error)
    return (
        f"ONNX Runtime could not run {model} on input {sent}: {where}. The input size does "
        "not suit the model: choose the size it needs in the preprocessing."
    )


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line[:300]


def random_feeds(
    inputs: Sequence[TensorSpec],
    shapes: Mapping[str, Sequence[int]] | None = None,
    seed: int = 0,
    outputs: Sequence[TensorSpec] = (),
) -> dict[str, np.ndarray]:
    """Random inputs with a fixed seed: floats in [0, 1), integers in [0, 10), bools.

    Dynamic dims must be given in `shapes`; otherwise InferenceError names the input. The
    memory they and the `outputs` of known size take is checked first (`check_memory`).
    """
    rng = np.random.default_rng(seed)
    shapes = shapes or {}
    concrete: dict[str, tuple[int, ...]] = {}
    for info in inputs:
        if info.name in shapes:
            concrete[info.name] = tuple(int(d) for d in shapes[info.name])
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
            concrete[info.name] = tuple(int(d) for d in info.shape if isinstance(d, int))
    check_memory(inputs, concrete, outputs)
    return {info.name: _random_array(rng, info.dtype, concrete[info.name]) for info in inputs}


# -- memory before allocating ---------------------------------------------------------------------

# Bytes per element of the types trtgui makes or reads; others count as 8 (the widest).
_ITEMSIZE = {"bool": 1, "int8": 1, "uint8": 1, "float16": 2, "bfloat16": 2, "int16": 2}
_ITEMSIZE.update({"float32": 4, "int32": 4, "uint32": 4, "float64": 8, "int64": 8})


def tensor_bytes(dtype: str, shape: Sequence[int]) -> int:
    """The bytes one array of `shape` and `dtype` takes (exact; Python integers, no overflow)."""
    return math.prod(int(d) for d in shape) * _ITEMSIZE.get(dtype, 8)


def available_memory() -> int | None:
    """Bytes of memory this machine can give now (Linux MemAvailable, else free pages), or
    None where that is not known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _output_shape(info: TensorSpec, symbols: Mapping[str, int]) -> tuple[int, ...] | None:
    """An output's shape when every dimension is known: static, or a name an input fixes."""
    if info.shape is None:
        return None
    dims = []
    for d in info.shape:
        if isinstance(d, int) and d >= 0:
            dims.append(d)
        elif isinstance(d, str) and d in symbols:
            dims.append(symbols[d])
        else:
            return None
    return tuple(dims)


def check_memory(
    inputs: Sequence[TensorSpec],
    shapes: Mapping[str, Sequence[int]],
    outputs: Sequence[TensorSpec] = (),
    available: int | None = None,
) -> int:
    """The bytes the inputs of `shapes` and the outputs whose size is known will take; raises
    InferenceError saying what would fit when that is more than the memory available (a
    1×3×100000×100000 input asked NumPy for 112 GiB and failed with its own words)."""
    need = {t.name: tensor_bytes(t.dtype, shapes[t.name]) for t in inputs if t.name in shapes}
    symbols: dict[str, int] = {}
    for t in inputs:
        for d, n in zip(t.shape or (), shapes.get(t.name, ()), strict=False):
            if isinstance(d, str) and d:
                symbols.setdefault(d, int(n))
    for out in outputs:
        shape = _output_shape(out, symbols)
        if shape is not None:
            need[out.name] = tensor_bytes(out.dtype, shape)
    total = sum(need.values())
    free = available_memory() if available is None else available
    if free is None or total <= free:
        return total
    largest = max((t for t in inputs if t.name in shapes), key=lambda t: need[t.name])
    raise InferenceError(
        f"The inputs and outputs need {format_bytes(total)} (input {largest.name!r} "
        f"{shape_text(shapes[largest.name])} alone {format_bytes(need[largest.name])}); this "
        f"machine has {format_bytes(free)} available: use a smaller shape.",
        details="\n".join(f"{name}: {n} bytes" for name, n in need.items()),
    )


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
