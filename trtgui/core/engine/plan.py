"""Engine files: the plan header without a GPU, a compatibility verdict, and inspection.

- `read_plan_header(path)`: reads the first bytes of a TensorRT plan (no GPU, no TensorRT
  needed): the plan tag and the version of TensorRT that built it, the same bytes that
  `trtexec --getPlanVersionOnly` reads (tag at 0, serialization version at 4, version bytes
  major.minor.patch.build at 24..27).
- `check_engine(path) -> EngineCheck`: the header, the backends installed here, a verdict in
  plain words, and the build sidecar `<engine>.json` when present.
- `inspect_engine(path) -> EngineInfo`: deserializes the engine (needs a GPU the backend
  accepts) and lists I/O tensors, profiles, memory and layers (EngineInspector JSON; both the
  TensorRT 10 "Bindings" and TensorRT 11 "I/O Tensors" layouts).
"""

from __future__ import annotations

import json
import logging
import re
import struct
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trtgui.core import backends
from trtgui.core.build import trt_log
from trtgui.core.errors import BackendUnavailable, EngineLoadError
from trtgui.core.shapes import shape_text

# -- the plan header -----------------------------------------------------------------------------

HEADER_BYTES = 28  # trtexec reads exactly this many bytes for --getPlanVersionOnly
# "ftrt": the tag trtexec checks (uint32 0x74727466, little-endian). "vtrt": seen at the start
# of every plan TensorRT-RTX 1.7 writes; the version bytes sit at the same offsets.
PLAN_TAGS: dict[bytes, str] = {b"ftrt": "TensorRT plan", b"vtrt": "TensorRT plan (vtrt)"}
# NVIDIA TensorRT versions start at 1.0 too, but no plan of TensorRT < 8 carries this header
# layout; TensorRT-RTX is 1.x. So a major version below 8 means TensorRT for RTX.
_FIRST_NVIDIA_MAJOR_WITH_THIS_HEADER = 8

# What other files start with, to name a foreign file in the error.
_FOREIGN_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (a PyTorch checkpoint or a wheel?)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89HDF", "an HDF5 file (a Keras model?)"),
    (b"\x93NUMPY", "a NumPy array file"),
    (b"{", "a JSON file"),
    (b"\x7fELF", "a program or shared library"),
)


@dataclass(frozen=True)
class PlanHeader:
    """What the first bytes of a plan say."""

    path: Path
    file_size: int
    tag: str  # "ftrt" or "vtrt"
    serialization_version: int
    version: tuple[int, int, int, int]  # major, minor, patch, build of the TensorRT that built it
    backend: str  # "tensorrt" or "rtx", judged from the tag and version
    declared_size: int | None = None  # plan size stated in the header (seen in vtrt plans)

    @property
    def version_str(self) -> str:
        return ".".join(str(v) for v in self.version)

    @property
    def short_version(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def backend_title(self) -> str:
        return backends.backend_title(self.backend)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "file_size": self.file_size,
            "tag": self.tag,
            "serialization_version": self.serialization_version,
            "version": self.version_str,
            "backend": self.backend,
            "backend_title": self.backend_title,
            "declared_size": self.declared_size,
        }


def read_plan_header(path: str | Path) -> PlanHeader:
    """Read and check the plan header. No GPU or TensorRT needed.

    Raises EngineLoadError for missing, empty, truncated, foreign or corrupt files.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(64)
    except FileNotFoundError as exc:
        raise EngineLoadError(f"Engine file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise EngineLoadError(f"{path} is a folder, not an engine file.") from exc
    except OSError as exc:
        raise EngineLoadError(
            f"Cannot read the engine file {path}: {exc}", details=repr(exc)
        ) from exc
    return parse_plan_header(head, path=path, file_size=size)


def parse_plan_header(
    head: bytes, path: Path | None = None, file_size: int | None = None
) -> PlanHeader:
    """Parse the first bytes (at least 28) of a plan; see read_plan_header."""
    path = path or Path("<bytes>")
    size = len(head) if file_size is None else file_size
    name = path.name
    if size == 0:
        raise EngineLoadError(f"{name} is empty (0 bytes): the build that wrote it did not finish.")
    tag = head[:4]
    if tag not in PLAN_TAGS:
        raise EngineLoadError(
            f"{name} is not a TensorRT engine: it looks like {_guess_foreign(head)}.",
            details=f"first bytes: {head[:16].hex(' ')}; a TensorRT plan starts with 'ftrt'",
        )
    if len(head) < HEADER_BYTES or size < HEADER_BYTES:
        raise EngineLoadError(
            f"{name} is truncated ({size} bytes): the header alone needs {HEADER_BYTES}. "
            "Rebuild the engine.",
        )
    (serialization_version,) = struct.unpack_from("<I", head, 4)
    if serialization_version != 0:
        raise EngineLoadError(
            f"{name} has plan serialization version {serialization_version}, which this app "
            "cannot read (it knows version 0). It may come from a newer TensorRT.",
            details=f"first bytes: {head[:32].hex(' ')}",
        )
    version = (head[24], head[25], head[26], head[27])
    if version[0] == 0:
        raise EngineLoadError(
            f"{name} has a damaged header: TensorRT version {'.'.join(map(str, version))}.",
            details=f"first bytes: {head[:32].hex(' ')}",
        )
    declared: int | None = None
    if tag == b"vtrt" and len(head) >= 24:
        (declared,) = struct.unpack_from("<Q", head, 16)
        if declared > size:
            raise EngineLoadError(
                f"{name} is truncated: {size:,} bytes of {declared:,}. Copy or rebuild it again.",
                details=f"header states a plan of {declared} bytes",
            )
    backend = "rtx" if version[0] < _FIRST_NVIDIA_MAJOR_WITH_THIS_HEADER else "tensorrt"
    return PlanHeader(
        path=path,
        file_size=size,
        tag=tag.decode("ascii"),
        serialization_version=serialization_version,
        version=version,
        backend=backend,
        declared_size=declared,
    )


def _guess_foreign(head: bytes) -> str:
    for signature, what in _FOREIGN_SIGNATURES:
        if head.startswith(signature):
            return what
    # ONNX files are protobuf: field 1 (ir_version, varint) first, i.e. byte 0x08.
    if head[:1] == b"\x08" and b"\n" in head[:32]:
        return "an ONNX model (build an engine from it first)"
    if head and all(32 <= c < 127 or c in (9, 10, 13) for c in head[:64]):
        return "a text file"
    return "some other binary file"


# -- the build sidecar ---------------------------------------------------------------------------


def sidecar_path(engine_path: str | Path) -> Path:
    """`model.engine` → `model.engine.json`."""
    p = Path(engine_path)
    return p.with_name(p.name + ".json")


def read_sidecar(engine_path: str | Path) -> tuple[dict[str, Any] | None, str]:
    """(sidecar dict or None, a problem in words or ""). Never raises: the sidecar is optional."""
    path = sidecar_path(engine_path)
    if not path.is_file():
        return None, ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"the build record {path.name} is unreadable: {exc}"
    if not isinstance(data, dict):
        return None, f"the build record {path.name} is not a JSON object"
    return data, ""


@dataclass(frozen=True)
class BuildTimeTensor:
    """A network I/O tensor as the build recorded it in the sidecar (-1 = dynamic)."""

    name: str
    is_input: bool
    dtype: str
    shape: tuple[int, ...]


def sidecar_io_tensors(sidecar: Mapping[str, Any] | None) -> tuple[BuildTimeTensor, ...]:
    """The I/O tensors recorded at build time, tolerant of missing or odd fields."""
    if not sidecar:
        return ()
    raw = sidecar.get("io_tensors") or sidecar.get("network_io") or ()
    out = []
    for item in raw if isinstance(raw, list) else ():
        if not isinstance(item, dict) or "name" not in item:
            continue
        shape = item.get("shape") or ()
        is_input = item.get("is_input")
        if is_input is None:
            is_input = str(item.get("mode", "")).lower() == "input"
        out.append(
            BuildTimeTensor(
                name=str(item["name"]),
                is_input=bool(is_input),
                dtype=str(item.get("dtype", "unknown")),
                shape=tuple(int(d) for d in shape if isinstance(d, int)),
            )
        )
    return tuple(out)


# -- the compatibility verdict ------------------------------------------------------------------

# TensorRT-RTX 1.7 refuses other GPUs at deserialization with this list (FACTS.md).
RTX_SUPPORTED_CC: tuple[tuple[int, int], ...] = ((8, 0), (8, 6), (8, 9), (12, 0), (12, 1))


def rtx_supports(cc: tuple[int, int]) -> bool:
    return cc in RTX_SUPPORTED_CC or cc > (12, 0)


@dataclass(frozen=True)
class InstalledBackend:
    name: str
    title: str
    available: bool
    version: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "available": self.available,
            "version": self.version,
        }


# The verdict in words, one sentence per status: the CLI and the GUI show these, never the
# status itself (that stays a key for scripts, in the JSON).
VERDICT_WORDS: dict[str, str] = {
    "ok": "Loads on this machine.",
    "rebuild": "Needs a rebuild for the TensorRT installed here.",
    "needs_backend": "Needs a TensorRT backend that is not installed here.",
    "needs_gpu": "Needs a supported NVIDIA GPU to load or run.",
    "unknown": "Not known whether it loads here.",
}


def verdict_words(status: str) -> str:
    """The sentence for a verdict status (the "unknown" one for a status this app lacks)."""
    return VERDICT_WORDS.get(status, VERDICT_WORDS["unknown"])


@dataclass(frozen=True)
class Verdict:
    """status: "ok" (loads here), "rebuild" (version mismatch), "needs_backend",
    "needs_gpu" (right backend, no usable GPU here), "unknown". `words` says it for people."""

    status: str
    message: str
    loadable_here: bool
    notes: tuple[str, ...] = ()

    @property
    def words(self) -> str:
        return verdict_words(self.status)


def _version_tuple(text: str | None) -> tuple[int, ...]:
    nums = re.findall(r"\d+", text or "")
    return tuple(int(n) for n in nums[:4])


def compatibility(
    header: PlanHeader,
    installed: Sequence[InstalledBackend],
    gpus: Sequence[backends.GpuInfo] = (),
    version_compatible: bool = False,
) -> Verdict:
    """Say in plain words whether this machine can load the engine, and what to do if not.

    Why there is no GPU is not repeated here: the GPU report's reason travels beside the
    verdict (`EngineCheck.gpu_reason`), so it is said once.
    """
    built = f"built with {header.backend_title} {header.short_version}"
    mine = next((b for b in installed if b.name == header.backend), None)
    others = [b for b in installed if b.available and b.name != header.backend]
    if mine is None or not mine.available:
        hint = backends.INSTALL_HINTS.get(header.backend, "")
        extra = ""
        if others:
            other = others[0]
            extra = f"; {other.title} {other.version} is installed but cannot load it"
        return Verdict(
            "needs_backend",
            f"{built}, which is not installed here{extra}: install it with {hint}, "
            "or rebuild the engine from the ONNX model with the backend you have.",
            False,
        )
    have = _version_tuple(mine.version)
    want = header.version
    here = f"this machine has {mine.version}"
    notes: list[str] = []
    if header.backend == "tensorrt":
        if have[:1] != want[:1] or (have[:2] != want[:2] and not version_compatible):
            return Verdict("rebuild", f"{built}, {here}: rebuild it from the ONNX model.", False)
        if version_compatible and have[:2] < want[:2]:
            return Verdict(
                "rebuild",
                f"{built} (version-compatible), {here}: a version-compatible engine runs on "
                "the same or a newer TensorRT 10+, not an older one; upgrade TensorRT or "
                "rebuild the engine.",
                False,
            )
        if have[:3] != want[:3] and not version_compatible:
            notes.append(
                f"patch versions differ ({header.version_str} vs {mine.version}); TensorRT "
                "may refuse the engine, and then it must be rebuilt"
            )
    elif have[:2] != want[:2]:
        return Verdict("rebuild", f"{built}, {here}: rebuild it from the ONNX model.", False)
    if not gpus:
        return Verdict(
            "needs_gpu",
            f"{built}, matching the installed version, but this machine has no usable NVIDIA "
            "GPU: the engine can be checked here, not loaded or run.",
            False,
            tuple(notes),
        )
    if header.backend == "rtx":
        refused = [g for g in gpus if not rtx_supports(g.compute_capability)]
        if len(refused) == len(gpus):
            g = refused[0]
            return Verdict(
                "needs_gpu",
                f"{built}; this GPU ({g.name}, compute capability {g.compute_capability_str}) "
                "is not supported by TensorRT for RTX (it supports 8.0, 8.6, 8.9 and 12.0+): "
                "run it on a supported GPU, or build with NVIDIA TensorRT for this one.",
                False,
                tuple(notes),
            )
    return Verdict(
        "ok",
        f"{built}; this machine has {mine.version} and a GPU: it can load it.",
        True,
        tuple(notes),
    )


@dataclass(frozen=True)
class EngineCheck:
    """Everything knowable about an engine file without deserializing it."""

    header: PlanHeader
    verdict: Verdict
    installed: tuple[InstalledBackend, ...]
    gpus: tuple[backends.GpuInfo, ...]
    gpu_reason: str
    sidecar: dict[str, Any] | None
    sidecar_path: Path
    sidecar_problem: str = ""
    build_io: tuple[BuildTimeTensor, ...] = ()
    # TensorRT-RTX Runtime.get_engine_validity, when it could be asked (needs a GPU).
    validity: str | None = None
    validity_problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "header": self.header.to_dict(),
            "verdict": {
                "status": self.verdict.status,
                "words": self.verdict.words,
                "message": self.verdict.message,
                "loadable_here": self.verdict.loadable_here,
                "notes": list(self.verdict.notes),
            },
            "installed_backends": [b.to_dict() for b in self.installed],
            "gpus": [
                {
                    "index": g.index,
                    "name": g.name,
                    "compute_capability": g.compute_capability_str,
                    "total_memory_bytes": g.total_memory_bytes,
                }
                for g in self.gpus
            ],
            "gpu_reason": self.gpu_reason,
            "sidecar_path": str(self.sidecar_path) if self.sidecar is not None else None,
            "sidecar": self.sidecar,
            "sidecar_problem": self.sidecar_problem,
            "build_io": [
                {"name": t.name, "is_input": t.is_input, "dtype": t.dtype, "shape": list(t.shape)}
                for t in self.build_io
            ],
            "validity": self.validity,
            "validity_problems": list(self.validity_problems),
        }


def installed_backends() -> tuple[InstalledBackend, ...]:
    return tuple(
        InstalledBackend(b.name, b.title, b.available, b.version)
        for b in backends.available_backends()
    )


def check_engine(path: str | Path) -> EngineCheck:
    """Header, installed backends, verdict and sidecar. Needs no GPU; raises EngineLoadError."""
    header = read_plan_header(path)
    installed = installed_backends()
    report = backends.gpu_report()
    sidecar, problem = read_sidecar(header.path)
    settings = (sidecar or {}).get("settings")
    version_compatible = isinstance(settings, dict) and bool(settings.get("version_compatible"))
    verdict = compatibility(header, installed, report.gpus, version_compatible=version_compatible)
    validity: str | None = None
    validity_problems: tuple[str, ...] = ()
    if (
        header.backend == "rtx"
        and report.has_gpu
        and any(b.name == "rtx" and b.available for b in installed)
    ):
        # Without a GPU this call logs a fatal CUDA error and says INVALID, which tells nothing.
        validity, validity_problems = _rtx_validity(header.path)
        if validity == "INVALID" and verdict.loadable_here:
            verdict = Verdict(
                "rebuild",
                f"TensorRT for RTX says this engine cannot run here "
                f"({', '.join(validity_problems) or 'no reason given'}): rebuild it from the "
                "ONNX model.",
                False,
                verdict.notes,
            )
    return EngineCheck(
        header=header,
        verdict=verdict,
        installed=installed,
        gpus=report.gpus,
        gpu_reason=report.reason,
        sidecar=sidecar,
        sidecar_path=sidecar_path(header.path),
        sidecar_problem=problem,
        build_io=sidecar_io_tensors(sidecar),
        validity=validity,
        validity_problems=validity_problems,
    )


def _rtx_validity(path: Path) -> tuple[str | None, tuple[str, ...]]:
    trt = backends.load_trt("rtx")
    try:
        runtime = _runtime(trt)
        with path.open("rb") as f:
            head = f.read(int(getattr(runtime, "engine_header_size", 64)))
        validity, diagnostics = runtime.get_engine_validity(head)
    except Exception as exc:  # a diagnostic aid only: report, do not fail the check
        return None, (f"validity check failed: {exc}",)
    flags = [
        name.lower().replace("_", " ")
        for name, member in trt.EngineInvalidityDiagnostics.__members__.items()
        if int(diagnostics) & int(member)
    ]
    return str(getattr(validity, "name", validity)), tuple(flags)


# -- inspection with a GPU ----------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileShapes:
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]


@dataclass(frozen=True)
class EngineTensor:
    name: str
    mode: str  # "input" | "output"
    dtype: str  # numpy-style name
    shape: tuple[int, ...]  # -1 = dynamic
    format: str = "LINEAR"
    format_desc: str = ""
    vectorized_dim: int = -1
    components_per_element: int = 1
    location: str = "device"
    is_shape_tensor: bool = False
    profiles: tuple[ProfileShapes, ...] = ()  # one per optimization profile (inputs only)

    @property
    def is_input(self) -> bool:
        return self.mode == "input"

    @property
    def is_dynamic(self) -> bool:
        return any(d < 0 for d in self.shape)


@dataclass(frozen=True)
class EngineLayer:
    name: str
    type: str
    precision: str  # "FP32", "FP16", "INT8", ..., or "" when the JSON does not say
    tactic: str
    inputs: tuple[str, ...] = ()  # "name [dims] format" per input
    outputs: tuple[str, ...] = ()
    metadata: str = ""


@dataclass(frozen=True)
class EngineInfo:
    path: Path
    header: PlanHeader
    backend: str
    backend_version: str
    tensors: tuple[EngineTensor, ...]
    num_profiles: int
    device_memory_bytes: int
    num_layers: int
    layers: tuple[EngineLayer, ...]
    precision_summary: dict[str, int]
    profiling_verbosity: str = ""
    layer_note: str = ""  # why layers lack detail (e.g. built without DETAILED verbosity)
    sidecar: dict[str, Any] | None = None

    @property
    def inputs(self) -> tuple[EngineTensor, ...]:
        return tuple(t for t in self.tensors if t.is_input)

    @property
    def outputs(self) -> tuple[EngineTensor, ...]:
        return tuple(t for t in self.tensors if not t.is_input)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "header": self.header.to_dict(),
            "backend": self.backend,
            "backend_version": self.backend_version,
            "num_profiles": self.num_profiles,
            "device_memory_bytes": self.device_memory_bytes,
            "num_layers": self.num_layers,
            "profiling_verbosity": self.profiling_verbosity,
            "layer_note": self.layer_note,
            "precision_summary": self.precision_summary,
            "tensors": [
                {
                    "name": t.name,
                    "mode": t.mode,
                    "dtype": t.dtype,
                    "shape": list(t.shape),
                    "format": t.format,
                    "format_desc": t.format_desc,
                    "vectorized_dim": t.vectorized_dim,
                    "components_per_element": t.components_per_element,
                    "location": t.location,
                    "is_shape_tensor": t.is_shape_tensor,
                    "profiles": [
                        {"min": list(p.min), "opt": list(p.opt), "max": list(p.max)}
                        for p in t.profiles
                    ],
                }
                for t in self.tensors
            ],
            "layers": [
                {
                    "name": la.name,
                    "type": la.type,
                    "precision": la.precision,
                    "tactic": la.tactic,
                    "inputs": list(la.inputs),
                    "outputs": list(la.outputs),
                    "metadata": la.metadata,
                }
                for la in self.layers
            ],
        }


TRT_DTYPES: dict[str, str] = {
    "FLOAT": "float32",
    "HALF": "float16",
    "BF16": "bfloat16",
    "INT8": "int8",
    "INT32": "int32",
    "INT64": "int64",
    "BOOL": "bool",
    "UINT8": "uint8",
    "FP8": "float8",
    "INT4": "int4",
    "FP4": "float4",
    "E8M0": "e8m0",
}


def trt_dtype_name(dtype: Any) -> str:
    """TensorRT DataType → numpy-style name ("float32", "float16", ...)."""
    key = str(getattr(dtype, "name", dtype)).split(".")[-1].upper()
    return TRT_DTYPES.get(key, key.lower())


_runtimes: dict[str, Any] = {}
_runtimes_lock = threading.Lock()


def _backend_of(trt: Any) -> str:
    return "rtx" if "rtx" in str(getattr(trt, "__name__", "")) else "tensorrt"


def _runtime(trt: Any) -> Any:
    """One Runtime per backend, on the process-wide logger of trt_log."""
    backend = _backend_of(trt)
    with _runtimes_lock:
        runtime = _runtimes.get(backend)
        if runtime is None:
            logger, _hub = trt_log.get_trt_logger(backend, trt)
            runtime = _runtimes[backend] = trt.Runtime(logger)
        return runtime


def deserialize(path: str | Path, backend: str | None = None) -> tuple[Any, Any, PlanHeader]:
    """(trt module, ICudaEngine, header). Raises BackendUnavailable or EngineLoadError.

    Checks the GPU first so that "no GPU" or "GPU not supported" is said plainly rather than
    as a CUDA error code.
    """
    header = read_plan_header(path)
    name = backend or header.backend
    info = backends.probe_backend(name)
    if not info.available:
        raise BackendUnavailable(
            f"This engine was built with {header.backend_title} {header.short_version}, which "
            f"is not installed here: install it with {backends.INSTALL_HINTS.get(name, '')}.",
            details=info.reason,
        )
    report = backends.gpu_report()
    if not report.has_gpu:
        # The reason is in the message already; details would only say it a second time.
        raise BackendUnavailable(
            "Loading or running an engine needs an NVIDIA GPU, and this machine has none "
            f"usable: {report.reason or 'the CUDA driver lists no GPU'}."
        )
    if name == "rtx" and not any(rtx_supports(g.compute_capability) for g in report.gpus):
        g = report.gpus[0]
        raise BackendUnavailable(
            f"TensorRT for RTX does not support this GPU ({g.name}, compute capability "
            f"{g.compute_capability_str}); it supports 8.0, 8.6, 8.9 and 12.0+.",
        )
    trt = backends.load_trt(name)
    runtime = _runtime(trt)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise EngineLoadError(f"Cannot read {Path(path).name}: {exc}") from exc
    _logger, hub = trt_log.get_trt_logger(name, trt)
    with trt_log.capture(hub, None, logging.ERROR) as cap:
        try:
            engine = runtime.deserialize_cuda_engine(data)
        except Exception as exc:
            raise EngineLoadError(
                f"{info.title} could not load {Path(path).name}: {exc}", details=str(exc)
            ) from exc
    if engine is None:
        lines = list(cap.errors)
        text = "\n".join(lines)
        if "cudaError 35" in text or "driver version is insufficient" in text:
            raise BackendUnavailable(
                "Loading an engine needs an NVIDIA GPU with a recent driver; CUDA reports "
                "none here.",
                details=text,
            )
        first = lines[-1] if lines else "no reason given"
        raise EngineLoadError(
            f"{info.title} {info.version} could not load {Path(path).name}: {first[:300]}",
            details=text,
        )
    return trt, engine, header


def inspect_engine(path: str | Path, backend: str | None = None) -> EngineInfo:
    """Deserialize and describe the engine. Needs a GPU the backend accepts."""
    trt, engine, header = deserialize(path, backend)
    sidecar, _ = read_sidecar(path)
    return describe_engine(engine, trt, header, sidecar, backend or header.backend)


def describe_engine(
    engine: Any,
    trt: Any,
    header: PlanHeader,
    sidecar: dict[str, Any] | None = None,
    backend: str = "",
) -> EngineInfo:
    """Turn a deserialized ICudaEngine into an EngineInfo (separate so tests can drive it)."""
    num_profiles = int(engine.num_optimization_profiles)
    tensors = []
    for i in range(int(engine.num_io_tensors)):
        name = engine.get_tensor_name(i)
        is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
        profiles: list[ProfileShapes] = []
        if is_input:
            for p in range(num_profiles):
                try:
                    lo, opt, hi = engine.get_tensor_profile_shape(name, p)
                except Exception:  # shape tensors and static inputs may have none
                    break
                profiles.append(ProfileShapes(_dims(lo), _dims(opt), _dims(hi)))
        tensors.append(
            EngineTensor(
                name=name,
                mode="input" if is_input else "output",
                dtype=trt_dtype_name(engine.get_tensor_dtype(name)),
                shape=_dims(engine.get_tensor_shape(name)),
                format=str(getattr(engine.get_tensor_format(name), "name", "")),
                format_desc=str(_safe(lambda n=name: engine.get_tensor_format_desc(n), "")),
                vectorized_dim=int(_safe(lambda n=name: engine.get_tensor_vectorized_dim(n), -1)),
                components_per_element=int(
                    _safe(lambda n=name: engine.get_tensor_components_per_element(n), 1)
                ),
                location=str(getattr(engine.get_tensor_location(name), "name", "DEVICE")).lower(),
                is_shape_tensor=bool(_safe(lambda n=name: engine.is_shape_inference_io(n), False)),
                profiles=tuple(profiles),
            )
        )
    device_memory = int(
        _safe(lambda: engine.device_memory_size_v2, 0)
        or _safe(lambda: engine.device_memory_size, 0)
    )
    layers: tuple[EngineLayer, ...] = ()
    verbosity = str(getattr(_safe(lambda: engine.profiling_verbosity, ""), "name", ""))
    note = ""
    try:
        inspector = engine.create_engine_inspector()
        text = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
        layers, _io = parse_inspector_json(text)
    except Exception as exc:  # an engine without layer info is still worth showing
        note = f"layer information unavailable: {exc}"
    if layers and all(not la.type for la in layers):
        note = (
            "the engine was built without detailed profiling verbosity, so layers have names "
            "only; rebuild with profiling verbosity 'detailed' to see types and precisions"
        )
    return EngineInfo(
        path=header.path,
        header=header,
        backend=backend or header.backend,
        backend_version=str(getattr(trt, "__version__", "")),
        tensors=tuple(tensors),
        num_profiles=num_profiles,
        device_memory_bytes=device_memory,
        num_layers=int(engine.num_layers),
        layers=layers,
        precision_summary=precision_summary(layers),
        profiling_verbosity=verbosity,
        layer_note=note,
        sidecar=sidecar,
    )


def _safe(fn: Any, default: Any) -> Any:
    try:
        return fn()
    except Exception:  # optional engine attributes differ between TensorRT versions
        return default


def _dims(dims: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in dims)


# -- EngineInspector JSON -----------------------------------------------------------------------

_PRECISION_TOKENS = (
    ("BF16", "BF16"),
    ("FP16", "FP16"),
    ("HALF", "FP16"),
    ("FP32", "FP32"),
    ("FLOAT", "FP32"),
    ("FP8", "FP8"),
    ("FP4", "FP4"),
    ("INT8", "INT8"),
    ("INT4", "INT4"),
    ("INT32", "INT32"),
    ("INT64", "INT64"),
    ("UINT8", "UINT8"),
    ("BOOL", "BOOL"),
)


def precision_from_format(text: str) -> str:
    """ "Channel major FP16 format where channel % 4 == 0" → "FP16"; "" if none is named."""
    upper = str(text).upper()
    for token, name in _PRECISION_TOKENS:
        if re.search(rf"(?<![A-Z0-9]){token}(?![A-Z0-9])", upper):
            return name
    return ""


def _tensor_text(t: Any) -> tuple[str, str]:
    """(description, precision) of one layer input/output entry."""
    if not isinstance(t, dict):
        return str(t), ""
    fmt = t.get("Format/Datatype")
    if fmt is None:  # TensorRT 11 splits them
        dtype = t.get("DataType", t.get("Datatype", ""))
        fmt = " ".join(str(x) for x in (t.get("Format", ""), dtype) if x)
    dims = t.get("Dimensions")
    dims_text = shape_text(dims) if isinstance(dims, list) else ""  # the one shape notation
    return " ".join(x for x in (str(t.get("Name", "")), dims_text, str(fmt)) if x), (
        precision_from_format(str(fmt))
    )


def parse_layer(raw: Any) -> EngineLayer:
    """One entry of "Layers": a dict (DETAILED verbosity) or just a name string."""
    if isinstance(raw, str):
        return EngineLayer(name=raw, type="", precision="", tactic="")
    if not isinstance(raw, dict):
        return EngineLayer(name=str(raw), type="", precision="", tactic="")
    inputs = [_tensor_text(t) for t in raw.get("Inputs", []) or []]
    outputs = [_tensor_text(t) for t in raw.get("Outputs", []) or []]
    precision = next((p for _, p in outputs if p), "") or next((p for _, p in inputs if p), "")
    tactic = str(raw.get("TacticName") or raw.get("TacticValue") or raw.get("Tactic") or "")
    return EngineLayer(
        name=str(raw.get("Name", "")),
        type=str(raw.get("LayerType", raw.get("ParameterType", ""))),
        precision=precision,
        tactic=tactic,
        inputs=tuple(d for d, _ in inputs),
        outputs=tuple(d for d, _ in outputs),
        metadata=str(raw.get("Metadata", "")),
    )


def parse_inspector_json(
    text: str | Mapping[str, Any],
) -> tuple[tuple[EngineLayer, ...], tuple[str, ...]]:
    """(layers, I/O tensor names) from EngineInspector JSON.

    TensorRT 10 lists I/O names under "Bindings"; TensorRT 11 lists dicts under "I/O Tensors".
    Raises EngineLoadError if the text is not inspector JSON.
    """
    if isinstance(text, Mapping):
        data: Any = text
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EngineLoadError(
                "TensorRT returned unreadable layer information.", details=f"{exc}\n{text[:500]}"
            ) from exc
    if not isinstance(data, Mapping) or "Layers" not in data:
        raise EngineLoadError(
            "TensorRT returned layer information without a 'Layers' list.", details=str(data)[:500]
        )
    layers = tuple(parse_layer(item) for item in data.get("Layers") or [])
    io: list[str] = []
    if "Bindings" in data:
        io = [str(b.get("Name", b)) if isinstance(b, dict) else str(b) for b in data["Bindings"]]
    elif "I/O Tensors" in data:
        io = [
            str(t.get("Name", "")) if isinstance(t, dict) else str(t) for t in data["I/O Tensors"]
        ]
    return layers, tuple(io)


def precision_summary(layers: Sequence[EngineLayer]) -> dict[str, int]:
    """Layer count per precision, most common first ("unknown" for layers that do not say)."""
    counts = Counter(la.precision or "unknown" for la in layers)
    return dict(counts.most_common())


__all__ = [
    "VERDICT_WORDS",
    "BuildTimeTensor",
    "EngineCheck",
    "EngineInfo",
    "EngineLayer",
    "EngineTensor",
    "InstalledBackend",
    "PlanHeader",
    "ProfileShapes",
    "Verdict",
    "check_engine",
    "compatibility",
    "describe_engine",
    "deserialize",
    "inspect_engine",
    "parse_inspector_json",
    "parse_plan_header",
    "precision_from_format",
    "read_plan_header",
    "read_sidecar",
    "sidecar_path",
    "verdict_words",
]
