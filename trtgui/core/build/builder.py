"""Building an engine: prepare → parse → configure → build → atomic save → `BuildResult`.

`build_engine(settings, on_log, on_progress, cancel)` is the one entry point (the CLI, the GUI
worker and the benchmarks call it). `configure_builder(...)` is the one place that turns
`BuildSettings` into builder-config calls; what differs between TensorRT 10.x, 11.x and
TensorRT-RTX is delegated to `trtgui.core.backends`. The engine is written to a temporary
file in the target folder and renamed on success, with a sidecar `<engine>.json` describing
the build; a failed or cancelled build leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trtgui import __version__
from trtgui.core import backends
from trtgui.core.build import trt_log
from trtgui.core.build.progress import ProgressCallback, ProgressTracker, make_progress_monitor
from trtgui.core.build.settings import (
    BuildSettings,
    Precision,
    ShapeProfile,
    converted_onnx_path,
    default_engine_path,
    jsonable,
    validate_profiles,
)
from trtgui.core.errors import (
    BuildCancelled,
    EngineBuildError,
    ModelLoadError,
    OnnxParseError,
    ProfileError,
    SettingsError,
)
from trtgui.core.model import graph_check, precision

log = logging.getLogger(__name__)

SIDECAR_FORMAT = "trtgui-engine-sidecar/1"
PARSE_PHASE = "Parsing the ONNX model"

LogCallback = Callable[[int, str], None]


@dataclass(frozen=True)
class NetworkTensor:
    """One network input or output as TensorRT sees it; -1 marks a dynamic dimension."""

    name: str
    is_input: bool
    dtype: str
    shape: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "is_input": self.is_input,
            "dtype": self.dtype,
            "shape": list(self.shape),
        }


@dataclass(frozen=True)
class BuildResult:
    """What a successful build produced."""

    engine_path: Path
    sidecar_path: Path
    settings: BuildSettings
    backend: str
    backend_version: str
    build_seconds: float
    engine_bytes: int
    warning_count: int
    error_count: int
    io_tensors: tuple[NetworkTensor, ...]
    converted_onnx_path: Path | None
    # Additions beyond the contract: the profiles used, plain-words notes (ignored settings,
    # profile warnings, how the precision was obtained), and TensorRT's own build time.
    profiles: tuple[ShapeProfile, ...] = ()
    notes: tuple[str, ...] = ()
    precision_method: str = "as is"
    engine_build_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine_path": str(self.engine_path),
            "sidecar_path": str(self.sidecar_path),
            "settings": self.settings.to_dict(),
            "backend": self.backend,
            "backend_version": self.backend_version,
            "build_seconds": round(self.build_seconds, 4),
            "engine_build_seconds": round(self.engine_build_seconds, 4),
            "engine_bytes": self.engine_bytes,
            "warning_count": self.warning_count,
            "error_count": self.error_count,
            "io_tensors": [t.to_dict() for t in self.io_tensors],
            "profiles": [jsonable(asdict(p)) for p in self.profiles],
            "converted_onnx_path": str(self.converted_onnx_path)
            if self.converted_onnx_path
            else None,
            "precision_method": self.precision_method,
            "notes": list(self.notes),
        }


# -- paths ----------------------------------------------------------------------------------------


def sidecar_path_for(engine_path: str | Path) -> Path:
    """model.engine → model.engine.json."""
    path = Path(engine_path)
    return path.with_name(path.name + ".json")


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    import hashlib  # loads OpenSSL (~4 ms): only in the thread that hashes

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# -- the build ------------------------------------------------------------------------------------


def build_engine(
    settings: BuildSettings,
    on_log: LogCallback | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    *,
    log_level: int = logging.INFO,
) -> BuildResult:
    """Build the engine `settings` describe and write it (plus its sidecar) atomically.

    `on_log(level, message)` gets TensorRT's messages at `log_level` and above (use
    `trt_log.VERBOSE` for everything); `on_progress(event)` gets phase/step updates; set
    `cancel` to stop. Both callbacks run on TensorRT's threads and must be cheap.

    Raises BuildCancelled, OnnxParseError, ProfileError (SettingsError), EngineBuildError,
    ModelLoadError, BackendUnavailable.
    """
    started = time.perf_counter()
    tracker = ProgressTracker(on_progress, cancel)
    cancel_event = tracker.cancel
    source = Path(settings.onnx_path)
    if not settings.onnx_path or not source.is_file():
        raise ModelLoadError(
            f"The ONNX model {settings.onnx_path or '(none)'} does not exist: choose a model file."
        )
    engine_path = (
        Path(settings.output_path)
        if settings.output_path
        else default_engine_path(source, settings.precision)
    )
    _check_output(engine_path, source)

    backend_name = settings.backend or backends.default_backend_name()
    # Record what was really used, so the sidecar's settings rebuild the same engine.
    settings = settings.with_changes(output_path=str(engine_path), backend=backend_name)
    trt = backends.load_trt(backend_name)
    info = backends.probe_backend(backend_name)
    reasons = backends.precision_support(info)
    if reasons.get(settings.precision.value):
        raise SettingsError(reasons[settings.precision.value] + ".")

    # Broken graphs, impossible opsets or dims and missing weights, in plain words, before
    # TensorRT reads the file: its parser asserts in C++ terms, and builds some of them.
    facts = graph_check.precheck_model(source)
    # Converting (FP16/BF16/INT8) is slow: check the profiles against the ONNX file first.
    # Otherwise check them against the parsed network, which costs nothing extra.
    converting = settings.precision not in (Precision.FP32, Precision.AUTO)
    if converting:
        validate_profiles(_inspect(source), settings.profiles)
    _check_cancel(cancel_event)
    # The ONNX hash and the GPU list (slow without a GPU: the driver probe fails) are only
    # needed for the sidecar: get them while TensorRT builds (it releases the GIL).
    extras = _Background(lambda: (file_sha256(source), backends.gpu_report()))

    logger, hub = trt_log.get_trt_logger(backend_name, trt)
    notes: list[str] = []
    with (
        extras,
        trt_log.capture(hub, on_log, log_level, cancel=cancel_event) as capture,
        _workdir(converting, engine_path.parent) as workdir,
    ):
        prepared = precision.prepare_model(
            settings,
            Path(workdir),
            cancel_event,
            on_phase=lambda name, steps: tracker.phase_start(name, None, steps),
            on_step=tracker.step_complete,
        )
        if prepared.note:
            notes.append(prepared.note)
            _tell(capture, logging.INFO, prepared.note)
        _check_cancel(cancel_event)

        tracker.phase_start(PARSE_PHASE, None, 1)
        builder = trt.Builder(logger)
        flags = backends.network_creation_flags(trt, info, settings.precision.value)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, logger)
        _parse(parser, prepared.path, source)
        if not converting:
            validate_profiles(_NetworkInputs(network), settings.profiles)
        tracker.step_complete(PARSE_PHASE, 0)
        tracker.phase_finish(PARSE_PHASE)
        _check_cancel(cancel_event)

        io_tensors = network_io(network)
        config = builder.create_builder_config()
        # Only TensorRT 10's weak typing ("auto") needs to know about Q/DQ nodes.
        has_qdq = settings.precision is Precision.INT8 or (
            settings.precision is Precision.AUTO
            and (facts.has_qdq if prepared.path == source else precision.has_qdq(prepared.path))
        )
        notes += configure_builder(builder, network, config, trt, info, settings, has_qdq)
        monitor = make_progress_monitor(trt, tracker)
        config.progress_monitor = monitor
        timing_cache = backends.load_timing_cache(config, info, settings.timing_cache_path)
        for note in notes:
            _tell(capture, logging.INFO, note)

        engine_started = time.perf_counter()
        try:
            serialized = builder.build_serialized_network(network, config)
        except MemoryError as exc:
            raise EngineBuildError(
                "TensorRT ran out of memory while building: lower the max shapes or the "
                "workspace limit, or close other programs.",
                details=str(exc),
            ) from exc
        except Exception as exc:  # the bindings raise RuntimeError/TypeError on API misuse
            raise EngineBuildError(
                "TensorRT stopped with an internal error while building the engine.",
                details=f"{type(exc).__name__}: {exc}\n" + "\n".join(capture.errors),
            ) from exc
        engine_seconds = time.perf_counter() - engine_started
        config.progress_monitor = None
        del monitor
        if serialized is None:
            if cancel_event.is_set():
                raise BuildCancelled("The build was cancelled; nothing was written.")
            raise explain_build_failure(list(capture.errors), list(capture.warnings))
        _check_cancel(cancel_event)  # a cancel after the last step still wins: write nothing
        notes += explain_warnings(capture.warnings)
        notes += _callback_problems(tracker, capture)
        backends.save_timing_cache(config, info, settings.timing_cache_path)
        del timing_cache

        converted_keep: Path | None = None
        if prepared.converted and settings.keep_converted_onnx:
            converted_keep = converted_onnx_path(engine_path, settings.precision)
        build_seconds = time.perf_counter() - started
        result = BuildResult(
            engine_path=engine_path,
            sidecar_path=sidecar_path_for(engine_path),
            settings=settings,
            backend=backend_name,
            backend_version=info.version or "unknown",
            build_seconds=build_seconds,
            engine_bytes=int(serialized.nbytes),
            warning_count=capture.warning_count,
            error_count=capture.error_count,
            io_tensors=io_tensors,
            converted_onnx_path=converted_keep,
            profiles=settings.profiles,
            notes=tuple(notes),
            precision_method=prepared.method,
            engine_build_seconds=engine_seconds,
        )
        onnx_sha256, gpus = extras.result()
        sidecar = sidecar_dict(result, source, prepared, info, onnx_sha256, gpus)
        write_outputs(engine_path, serialized, sidecar, prepared.path, converted_keep)
    return result


@contextlib.contextmanager
def _workdir(needed: bool, unused: Path) -> Iterator[str]:
    """A temporary folder for the converted model; none (and no tempfile import) for FP32,
    where `prepare_model` returns the source as it is and never writes."""
    if not needed:
        yield str(unused)
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="trtgui-build-") as folder:
        yield folder


def _tell(capture: trt_log.LogCapture, level: int, message: str) -> None:
    """Our own notes go to the build's log view too (not counted as TensorRT's)."""
    log.log(level, "%s", message)
    if capture.on_log is not None and level >= capture.level:
        with contextlib.suppress(Exception):
            capture.on_log(level, f"[trtgui] {message}")


class _Background:
    """Run `fn` in a helper thread; a context manager that always joins it on exit."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="trtgui-build-extras")

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # re-raised in the caller's thread by result()
            self._error = exc

    def __enter__(self) -> _Background:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


class _NetworkInputs:
    """The parsed network's inputs in the shape `validate_profiles` reads (-1 → None)."""

    def __init__(self, network: Any) -> None:
        self.inputs = tuple(
            _Input(t.name, tuple(None if int(d) < 0 else int(d) for d in t.shape))
            for t in (network.get_input(i) for i in range(network.num_inputs))
        )


@dataclass(frozen=True)
class _Input:
    name: str
    shape: tuple[int | None, ...]


def _check_output(engine_path: Path, source: Path) -> None:
    """Before any work: the engine goes into an existing folder, replaces at most a regular
    file (an existing engine is replaced atomically, as `cp` would), and never the model."""
    if not engine_path.parent.is_dir():
        raise ProfileError(
            f"The output folder {engine_path.parent} does not exist: create it or choose another."
        )
    if engine_path.exists() and not engine_path.is_file():
        raise SettingsError(
            f"The engine path {engine_path} is a folder or a special file: choose a file name."
        )
    if engine_path.exists() and engine_path.samefile(source):
        raise SettingsError(
            f"The engine path {engine_path} is the ONNX model itself: choose another file name."
        )


def _check_cancel(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise BuildCancelled("The build was cancelled; nothing was written.")


def _inspect(source: Path) -> Any:
    from trtgui.core.model.onnx_model import inspect_onnx, require_external_data

    model_info = inspect_onnx(source)
    require_external_data(model_info)
    return model_info


def _callback_problems(tracker: ProgressTracker, capture: trt_log.LogCapture) -> list[str]:
    problems = [*tracker.callback_errors, *capture.callback_errors]
    if not problems:
        return []
    first = problems[0]
    return [
        f"A progress or log callback failed {len(problems)} time(s) during the build "
        f"(first: {type(first).__name__}: {first}); the build itself went on."
    ]


# -- parsing ------------------------------------------------------------------------------------


def _parse(parser: Any, path: Path, original: Path) -> None:
    """`parse_from_file` (reads external weights beside the file); every error collected."""
    ok = parser.parse_from_file(str(path))
    errors = [_parser_error_line(parser.get_error(i)) for i in range(parser.num_errors)]
    if ok and not errors:
        return
    if not errors:
        errors = ["the parser reported failure without an error message"]
    first = parser.get_error(0) if parser.num_errors else None
    name = str(_safe(lambda: first.node_name(), "")) if first is not None else ""
    op = str(_safe(lambda: first.node_operator(), "")) if first is not None else ""
    node = int(_safe(lambda: int(first.node()), -1)) if first is not None else -1
    desc = str(_safe(lambda: first.desc(), "")) if first is not None else errors[0]
    code = str(_safe(lambda: first.code().name, "")) if first is not None else ""
    reason = explain_parser_error(desc, code, name, op)
    where = ""
    if (name or op) and f"'{name}'" not in reason:
        where = f" at node {node} '{name}' ({op})" if node >= 0 else f" at '{name}' ({op})"
    count = len(errors)
    more = f" (and {count - 1} more error{'s' if count > 2 else ''})" if count > 1 else ""
    raise OnnxParseError(
        f"TensorRT cannot read the model {original.name}{where}{more}: {reason}.",
        errors=errors,
    )


# TensorRT's ONNX parser asserts in C++ terms: (text it contains, plain words). The first
# match wins; "{node}" becomes "node 'name' (Op)" or "a node" when TensorRT names none.
_PARSER_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("toposort", "sort the model topologically"),
        "the graph has a cycle (a node needs its own output, directly or through others): "
        "re-export the model",
    ),
    (
        ("Node input was not registered",),
        "{node} reads a tensor that no node, input or initializer produces: re-export the model",
    ),
    (
        ("checkSpatialDims", "misaligns with the input kernel shape"),
        "the kernel_shape of {conv} does not match its weights: re-export the model",
    ),
    (
        ("convertOnnxWeights", "Failed to import initializer"),
        "the weights of {initializer} could not be read (a weights file beside the model is "
        "missing, short or damaged): copy the model with its weights files again",
    ),
)


def explain_parser_error(desc: str, code: str = "", name: str = "", op: str = "") -> str:
    """Plain words for one TensorRT parser error (no C++ assertion text)."""
    node = f"node '{name}' ({op})" if name and op else f"node '{name}'" if name else "a node"
    for needles, words in _PARSER_PHRASES:
        if any(n in desc for n in needles):
            initializer = desc.rsplit("Failed to import initializer:", 1)[-1].strip(" .")
            return words.format(
                node=node,
                conv=node if name else "a Conv node",
                initializer=f"initializer '{initializer}'"
                if initializer and initializer != desc.strip(" .")
                else "an initializer",
            )
    if op and (code == "UNSUPPORTED_NODE" or "Plugin not found" in desc):
        return (
            f"TensorRT has no layer or plugin for the operator {op}: change the export to "
            "avoid it, or load a plugin that implements it"
        )
    if "Assertion failed" in desc:
        # "Assertion failed: <C++ expression>: <what it means>" → what it means.
        tail = desc.rsplit("): ", 1)[-1] if "): " in desc else ""
        if tail and "Assertion failed" not in tail:
            return _first_sentence(tail).rstrip(".")
        return "TensorRT's ONNX parser rejected it (its own message is in the details)"
    return _first_sentence(desc).rstrip(".")


def _parser_error_line(err: Any) -> str:
    node = _safe(lambda: int(err.node()), -1)
    name = _safe(lambda: err.node_name(), "")
    op = _safe(lambda: err.node_operator(), "")
    code = _safe(lambda: getattr(err.code(), "name", str(err.code())), "")
    desc = _safe(lambda: err.desc(), str(err))
    where = f"node {node} '{name}' ({op})" if node >= 0 else "model"
    return f"{where}: [{code}] {desc}"


def _safe(get: Callable[[], Any], default: Any) -> Any:
    try:
        return get()
    except Exception:  # older bindings lack some ParserError accessors
        return default


def _first_sentence(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    cut = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return cut if len(cut) <= limit else cut[: limit - 1] + "…"


# -- configuration ------------------------------------------------------------------------------


def configure_builder(
    builder: Any,
    network: Any,
    config: Any,
    trt: Any,
    info: backends.BackendInfo,
    settings: BuildSettings,
    has_qdq: bool,
) -> list[str]:
    """Apply every `BuildSettings` field to `config`; returns notes about ignored settings."""
    notes = backends.apply_backend_options(config, trt, info, settings)
    notes += backends.apply_precision_flags(
        config, trt, builder, info, settings.precision.value, has_qdq
    )
    dynamic = {
        network.get_input(i).name
        for i in range(network.num_inputs)
        if any(int(d) < 0 for d in network.get_input(i).shape)
    }
    for number, profile in enumerate(settings.profiles, start=1):
        trt_profile = builder.create_optimization_profile()
        for item in profile.inputs:
            if item.name not in dynamic:
                continue  # static input: its shape is already fixed
            trt_profile.set_shape(item.name, item.min, item.opt, item.max)
        if config.add_optimization_profile(trt_profile) < 0:
            raise ProfileError(
                f"TensorRT rejected shape profile {number}: check its min/opt/max shapes.",
                details=repr(profile),
            )
    return notes


def network_io(network: Any) -> tuple[NetworkTensor, ...]:
    tensors = [_network_tensor(network.get_input(i), True) for i in range(network.num_inputs)]
    tensors += [_network_tensor(network.get_output(i), False) for i in range(network.num_outputs)]
    return tuple(tensors)


_DTYPES = {
    "FLOAT": "float32",
    "HALF": "float16",
    "BF16": "bfloat16",
    "INT8": "int8",
    "UINT8": "uint8",
    "INT32": "int32",
    "INT64": "int64",
    "BOOL": "bool",
    "FP8": "float8",
    "INT4": "int4",
    "FP4": "float4",
}


def _network_tensor(tensor: Any, is_input: bool) -> NetworkTensor:
    dtype_name = getattr(tensor.dtype, "name", str(tensor.dtype)).rsplit(".", 1)[-1]
    return NetworkTensor(
        tensor.name,
        is_input,
        _DTYPES.get(dtype_name, dtype_name.lower()),
        tuple(int(d) for d in tensor.shape),
    )


# -- failures in plain words --------------------------------------------------------------------

_PROFILE_RE = re.compile(
    r"Profile k(?P<which>MIN|OPT|MAX) values are not self-consistent\.\s*(?P<layer>[^:]+):\s*"
    r"(?P<reason>.*?)(?:\s*Condition|\s*In operator|$)",
    re.S,
)
_SAME_NAME_RE = re.compile(r"(?P<name>[^\s(]+): Input dimensions with this name have different")
_NAMED_EQUAL_RE = re.compile(
    r"Profile k(?P<which>MIN|OPT|MAX) values are not self-consistent\.\s*Dimensions with name "
    r"(?P<name>\S+) must be equal"
)


def explain_profile_message(line: str) -> str | None:
    """A plain-words reading of TensorRT's profile-consistency messages, or None."""
    match = _NAMED_EQUAL_RE.search(line)
    if match:
        which = match["which"].lower()
        return (
            f"at the {which} shapes, the model needs dimensions that share a name "
            f"({match['name']}) to be equal, e.g. height = width: give them equal values"
        )
    match = _PROFILE_RE.search(line)
    if match:
        which = match["which"].lower()
        reason = " ".join(match["reason"].split()).rstrip(". ")
        return (
            f"at the {which} shapes, layer '{match['layer'].strip()}' cannot work ({reason}): "
            f"choose {which} sizes the model accepts (many CNNs need multiples of 32)"
        )
    match = _SAME_NAME_RE.search(line)
    if match:
        return (
            f"the model gives several input dimensions the same name ('{match['name']}'), so "
            "TensorRT requires them to be equal (e.g. height = width), but the profile gives "
            "them different values: use equal values for them"
        )
    return None


def explain_build_failure(errors: Sequence[str], warnings: Iterable[str] = ()) -> EngineBuildError:
    """`EngineBuildError` with a plain-words summary first and TensorRT's lines as details."""
    lines = [e for e in errors if e.strip()]
    details = "\n".join(lines) or "TensorRT returned no engine and logged no error."
    warning_lines = [w for w in warnings if "not self-consistent" in w]
    if warning_lines:
        details += "\n\nRelated warnings:\n" + "\n".join(warning_lines)
    text = "\n".join(lines)
    low = text.lower()
    for line in lines:
        explained = explain_profile_message(line)
        if explained:
            return EngineBuildError(
                f"TensorRT rejected the shape profile: {explained}.", details=details
            )
    if any(k in low for k in ("out of memory", "outofmemory", "mem_alloc_failed", "bad_alloc")) or (
        "error code 2" in low and "memory" in low
    ):
        return EngineBuildError(
            "TensorRT ran out of memory while building: lower the max shapes or the workspace "
            "limit, or close other programs, then build again.",
            details=details,
        )
    match = re.search(r"[Cc]ould not find any implementation for node ([^\s.]+)", text)
    if match:
        return EngineBuildError(
            f"TensorRT has no implementation for layer {match[1]} with these settings: try "
            "another precision or a larger workspace.",
            details=details,
        )
    if lines:
        last = re.sub(r"^IBuilder::buildSerializedNetwork: Error Code \d+: ", "", lines[-1])
        return EngineBuildError(
            f"TensorRT could not build the engine: {_first_sentence(last)}", details=details
        )
    return EngineBuildError(
        "TensorRT could not build the engine and gave no reason: build again with the verbose "
        "log to see what it did.",
        details=details,
    )


def explain_warnings(warnings: Iterable[str]) -> list[str]:
    """Notes for warnings people should act on (shape profiles the model cannot run)."""
    notes = []
    for line in warnings:
        explained = explain_profile_message(line)
        if explained:
            notes.append(
                f"TensorRT warns that {explained}; the engine was built but will fail at "
                "those shapes."
            )
    return notes[:5]


# -- output -------------------------------------------------------------------------------------


def sidecar_dict(
    result: BuildResult,
    source: Path,
    prepared: precision.PreparedModel,
    info: backends.BackendInfo,
    onnx_sha256: str,
    report: backends.GpuReport,
) -> dict[str, Any]:
    """The JSON written next to the engine."""
    gpus = [
        {
            "index": g.index,
            "name": g.name,
            "compute_capability": g.compute_capability_str,
            "total_memory_bytes": g.total_memory_bytes,
        }
        for g in report.gpus
    ]
    return {
        "format": SIDECAR_FORMAT,
        "trtgui_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "onnx_path": str(source.resolve()),
        "onnx_sha256": onnx_sha256,
        "backend": result.backend,
        "backend_title": info.title,
        "backend_version": result.backend_version,
        "gpu": gpus[0] if gpus else None,
        "gpus": gpus,
        "gpu_reason": report.reason,
        "driver_cuda_version": report.driver_cuda_version,
        "precision": result.settings.precision.value,
        "precision_method": prepared.method,
        "calibration_images": prepared.calibration_images,
        "converted_onnx_path": str(result.converted_onnx_path)
        if result.converted_onnx_path
        else None,
        **{k: v for k, v in result.to_dict().items() if k not in ("engine_path", "sidecar_path")},
        "engine_file": result.engine_path.name,
    }


class _TempFile:
    """A temporary file's path and open descriptor (closed before any rename: Windows
    cannot rename an open file)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    def write(self, data: bytes | memoryview) -> None:
        """Unbuffered: from TensorRT's buffer to the file with no copy (a buffered `write`
        of the 19 MB EfficientNet-Lite0 engine took ~6 ms longer here)."""
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            done += os.write(self.fd, view[done:])

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


@contextlib.contextmanager
def _temp_beside(target: Path) -> Iterator[_TempFile]:
    """A new empty file in `target`'s folder (same file system, so the rename is atomic),
    open for writing; closed, and removed unless the caller renamed it. Created with 0o666
    so the umask applies, as for any file the user writes (mkstemp would make it 0o600)."""
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{os.urandom(4).hex()}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(f"no free temporary name beside {target}")
    handle = _TempFile(tmp, fd)
    try:
        yield handle
    finally:
        handle.close()
        tmp.unlink(missing_ok=True)


def write_outputs(
    engine_path: Path,
    serialized: Any,
    sidecar: dict[str, Any],
    converted: Path,
    converted_keep: Path | None,
) -> None:
    """Engine, sidecar (and the kept converted model) written atomically; all or nothing."""
    placed: list[Path] = []
    try:
        with (
            _temp_beside(engine_path) as engine_tmp,
            _temp_beside(sidecar_path_for(engine_path)) as sidecar_tmp,
        ):
            engine_tmp.write(memoryview(serialized))
            sidecar_tmp.write((json.dumps(sidecar, indent=2) + "\n").encode())
            # Both on disk before either is renamed into place. Written first, then synced:
            # the second fsync finds little left to do.
            for tmp in (engine_tmp, sidecar_tmp):
                os.fsync(tmp.fd)
                tmp.close()
            if converted_keep is not None:
                import shutil

                for src in precision.companion_files(converted):
                    dst = converted_keep.with_name(
                        converted_keep.name + src.name[len(converted.name) :]
                    )
                    with _temp_beside(dst) as copy:
                        copy.close()
                        shutil.copyfile(src, copy.path)
                        os.replace(copy.path, dst)
                    placed.append(dst)
            os.replace(sidecar_tmp.path, sidecar_path_for(engine_path))
            placed.append(sidecar_path_for(engine_path))
            os.replace(engine_tmp.path, engine_path)
    except OSError as exc:
        for path in placed:
            path.unlink(missing_ok=True)
        raise EngineBuildError(
            f"The engine was built but could not be written to {engine_path}: "
            f"{exc.strerror or exc}.",
            details=repr(exc),
        ) from exc


__all__ = [
    "BuildResult",
    "NetworkTensor",
    "build_engine",
    "configure_builder",
    "default_engine_path",
    "explain_build_failure",
    "sidecar_path_for",
]
