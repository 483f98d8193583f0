"""Engine files without a GPU: the plan header, what a foreign file is, and a verdict.

- `read_plan_header(path)`: reads the first bytes of a TensorRT plan (no GPU, no TensorRT
  needed): the plan tag and the version of TensorRT that built it, the same bytes that
  `trtexec --getPlanVersionOnly` reads (tag at 0, serialization version at 4, version bytes
  major.minor.patch.build at 24..27).
- `check_engine(path) -> EngineCheck`: the header, the backends installed here, a verdict in
  plain words, and the build record `<engine>.json` when present.
- `trt_runtime(trt)`: the one TensorRT Runtime per backend, shared by the validity check here
  and by deserialization (`engine.info`).

What is inside an engine (I/O, profiles, layers) needs it deserialized: see `engine.info`.
"""

from __future__ import annotations

import os
import re
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trtgui.core import backends
from trtgui.core.build import trt_log
from trtgui.core.build.record import BuildRecord, read_record, record_path
from trtgui.core.errors import BuildRecordError, EngineLoadError
from trtgui.core.gpus import GpuInfo, gpu_report
from trtgui.core.reading import open_regular, shown_path
from trtgui.core.tensors import TensorSpec

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
    if not os.path.lexists(path):
        raise EngineLoadError(f"Engine file not found: {shown_path(path)}")
    try:
        # A regular file only: `trtgui-cli engine` on a FIFO used to block for good.
        with open_regular(path, "engine") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(64)
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
    gpus: Sequence[GpuInfo] = (),
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
    gpus: tuple[GpuInfo, ...]
    gpu_reason: str
    record: BuildRecord | None  # the build record `<engine>.json`, when there is a good one
    record_path: Path
    record_problem: str = ""  # why a record beside the engine could not be read
    # TensorRT-RTX Runtime.get_engine_validity, when it could be asked (needs a GPU).
    validity: str | None = None
    validity_problems: tuple[str, ...] = ()

    @property
    def build_io(self) -> tuple[TensorSpec, ...]:
        """The network's I/O as the build recorded it (-1 = dynamic)."""
        return self.record.tensors if self.record is not None else ()

    def to_dict(self) -> dict[str, Any]:
        # The JSON keys predate the typed record ("sidecar"): scripts read them.
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
            "sidecar_path": str(self.record_path) if self.record is not None else None,
            "sidecar": (
                None if self.record is None else self.record.model_dump(mode="json", by_alias=True)
            ),
            "sidecar_problem": self.record_problem,
            "build_io": [
                {"name": t.name, "is_input": t.is_input, **t.to_dict()} for t in self.build_io
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
    """Header, installed backends, verdict and build record. Needs no GPU; raises
    EngineLoadError for a file that is no engine (a bad build record is only reported)."""
    header = read_plan_header(path)
    installed = installed_backends()
    report = gpu_report()
    record: BuildRecord | None = None
    problem = ""
    try:
        record = read_record(header.path)
    except BuildRecordError as err:  # the record is optional: the engine is still checked
        problem = err.message
    settings = record.settings if record is not None else None
    version_compatible = settings is not None and settings.version_compatible
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
        record=record,
        record_path=record_path(header.path),
        record_problem=problem,
        validity=validity,
        validity_problems=validity_problems,
    )


def _rtx_validity(path: Path) -> tuple[str | None, tuple[str, ...]]:
    trt = backends.load_trt("rtx")
    try:
        runtime = trt_runtime(trt)
        with open_regular(path, "engine") as f:
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


# -- the shared Runtime ----------------------------------------------------------------------

_runtimes: dict[str, Any] = {}
_runtimes_lock = threading.Lock()


def _backend_of(trt: Any) -> str:
    return "rtx" if "rtx" in str(getattr(trt, "__name__", "")) else "tensorrt"


def trt_runtime(trt: Any) -> Any:
    """One Runtime per backend, on the process-wide logger of trt_log."""
    backend = _backend_of(trt)
    with _runtimes_lock:
        runtime = _runtimes.get(backend)
        if runtime is None:
            logger, _hub = trt_log.get_trt_logger(backend, trt)
            runtime = _runtimes[backend] = trt.Runtime(logger)
        return runtime


__all__ = [
    "VERDICT_WORDS",
    "EngineCheck",
    "InstalledBackend",
    "PlanHeader",
    "Verdict",
    "check_engine",
    "compatibility",
    "parse_plan_header",
    "read_plan_header",
    "rtx_supports",
    "trt_runtime",
    "verdict_words",
]
