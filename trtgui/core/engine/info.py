"""What is inside an engine: I/O tensors with their profiles, memory and layers.

`inspect_engine(path) -> EngineInfo` deserializes the engine (needs a GPU the backend accepts)
and describes it; `describe_engine` does the describing over any object that answers the
ICudaEngine calls, so tests can drive it without a GPU. Layers come from EngineInspector JSON,
in both the TensorRT 8.6/10 "Bindings" and the TensorRT 11 "I/O Tensors" layouts. TensorRT 8.6
writes raw 0x1E characters inside its "Metadata" strings (between the ONNX node names a layer
came from). For a dynamic-shape engine it writes "N/A due to dynamic shapes" instead of each
tensor's format: `describe_engine` hands the inspector an execution context at profile 1's opt
shapes (NVIDIA's documented way), but on the H200 TensorRT 8.6.0 still wrote N/A, so a layer
whose formats say nothing gets its precision from its kernel's (tactic's) name, which carries
the types (`…_f16f16_f16f16_f16_…`), and the engine's note says so.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from trtgui.core import backends, gpus
from trtgui.core.build import trt_log
from trtgui.core.engine.plan import PlanHeader, read_plan_header, rtx_supports, trt_runtime
from trtgui.core.errors import BackendUnavailable, EngineLoadError
from trtgui.core.reading import read_regular
from trtgui.core.shapes import shape_text
from trtgui.core.tensors import TensorSpec

_T = TypeVar("_T")

KERNEL_NOTE = (
    "TensorRT gave no per-layer formats (dynamic shapes), so precisions are read from each "
    "layer's kernel name"
)


@dataclass(frozen=True)
class ProfileShapes:
    """The min / opt / max shapes of one input in one optimization profile."""

    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    def to_dict(self) -> dict[str, list[int]]:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}


@dataclass(frozen=True)
class EngineTensor(TensorSpec):
    """An I/O tensor of a deserialized engine (shape -1 = dynamic).

    It extends TensorSpec rather than wrapping one: an engine tensor is a tensor spec plus
    what only a deserialized engine knows (format, location, profiles), so it goes wherever a
    TensorSpec goes (the I/O table, a feed check) with no conversion and no delegating code.
    """

    format: str = "LINEAR"
    format_desc: str = ""
    vectorized_dim: int = -1
    components_per_element: int = 1
    location: str = "device"
    is_shape_tensor: bool = False
    profiles: tuple[ProfileShapes, ...] = ()  # one per optimization profile (inputs only)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "dtype": self.dtype,
            "shape": None if self.shape is None else list(self.shape),
            "format": self.format,
            "format_desc": self.format_desc,
            "vectorized_dim": self.vectorized_dim,
            "components_per_element": self.components_per_element,
            "location": self.location,
            "is_shape_tensor": self.is_shape_tensor,
            "profiles": [p.to_dict() for p in self.profiles],
        }


@dataclass(frozen=True)
class EngineLayer:
    name: str
    type: str
    precision: str  # "FP32", "FP16", "INT8", ..., or "" when the JSON does not say
    tactic: str
    inputs: tuple[str, ...] = ()  # "name dims format" per input
    outputs: tuple[str, ...] = ()
    metadata: str = ""
    # The precision comes from the kernel's name, TensorRT having reported no formats.
    precision_from_kernel: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "precision": self.precision,
            "tactic": self.tactic,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "metadata": self.metadata,
            "precision_from_kernel": self.precision_from_kernel,
        }


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
    profiling_verbosity: str = ""  # TensorRT's name: "DETAILED", "LAYER_NAMES_ONLY", "NONE"
    layer_note: str = ""  # why layers lack detail (e.g. built without DETAILED verbosity)

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
            "tensors": [t.to_dict() for t in self.tensors],
            "layers": [la.to_dict() for la in self.layers],
        }


# -- deserializing and describing ------------------------------------------------------------


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
    report = gpus.gpu_report()
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
    runtime = trt_runtime(trt)
    data = read_regular(path, "engine")  # regular, within LIMITS["engine"]; raises
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
    return describe_engine(engine, trt, header, backend or header.backend)


def describe_engine(engine: Any, trt: Any, header: PlanHeader, backend: str = "") -> EngineInfo:
    """Turn a deserialized ICudaEngine into an EngineInfo (separate so tests can drive it)."""
    num_profiles = int(engine.num_optimization_profiles)
    tensors = tuple(
        _engine_tensor(engine, trt, engine.get_tensor_name(i), num_profiles)
        for i in range(int(engine.num_io_tensors))
    )
    device_memory = int(
        _optional(lambda: engine.device_memory_size_v2, 0)
        or _optional(lambda: engine.device_memory_size, 0)
    )
    layers: tuple[EngineLayer, ...] = ()
    verbosity = str(getattr(_optional(lambda: engine.profiling_verbosity, ""), "name", ""))
    note = ""
    context = None
    try:
        inspector = engine.create_engine_inspector()
        context, note = _shaped_context(engine, tensors)
        if context is not None:
            inspector.execution_context = context
        text = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
        layers, _io = parse_inspector_json(text)
    except Exception as exc:  # an engine without layer info is still worth showing
        note = f"layer information unavailable: {exc}"
    finally:
        del context  # after the inspector has read it: it holds the engine's activation memory
    if any(la.precision_from_kernel for la in layers):
        note = KERNEL_NOTE
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
        tensors=tensors,
        num_profiles=num_profiles,
        device_memory_bytes=device_memory,
        num_layers=int(engine.num_layers),
        layers=layers,
        precision_summary=precision_summary(layers),
        profiling_verbosity=verbosity,
        layer_note=note,
    )


def _shaped_context(engine: Any, tensors: Sequence[EngineTensor]) -> tuple[Any, str]:
    """(execution context with every dynamic input at profile 1's opt shape, note), or
    (None, "") for a static engine. The inspector then reports each layer's formats and
    precisions for those shapes; without it TensorRT 8.6 writes "N/A due to dynamic shapes"."""
    dynamic = [t for t in tensors if t.is_input and t.shape is not None and -1 in t.shape]
    if not dynamic:
        return None, ""
    try:
        context = engine.create_execution_context()
    except Exception:  # no memory for a context: layers still come, without formats
        context = None
    if context is None:
        return None, "per-layer formats unavailable: no execution context could be made"
    for t in dynamic:
        if not t.profiles or not context.set_input_shape(t.name, t.profiles[0].opt):
            return None, f"per-layer formats unavailable: input {t.name!r} has no usable shape"
    shapes = ", ".join(f"{t.name} {shape_text(t.profiles[0].opt)}" for t in dynamic)
    return context, f"layer formats and precisions are for profile 1's opt shapes ({shapes})"


def _engine_tensor(engine: Any, trt: Any, name: str, num_profiles: int) -> EngineTensor:
    is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
    profiles: list[ProfileShapes] = []
    if is_input:
        for p in range(num_profiles):
            try:
                lo, opt, hi = engine.get_tensor_profile_shape(name, p)
            except Exception:  # shape tensors and static inputs may have none
                break
            profiles.append(ProfileShapes(_dims(lo), _dims(opt), _dims(hi)))
    return EngineTensor(
        name=name,
        dtype=backends.trt_dtype_name(engine.get_tensor_dtype(name)),
        shape=_dims(engine.get_tensor_shape(name)),
        is_input=is_input,
        format=str(getattr(engine.get_tensor_format(name), "name", "")),
        format_desc=str(_optional(lambda: engine.get_tensor_format_desc(name), "")),
        vectorized_dim=int(_optional(lambda: engine.get_tensor_vectorized_dim(name), -1)),
        components_per_element=int(
            _optional(lambda: engine.get_tensor_components_per_element(name), 1)
        ),
        location=str(getattr(engine.get_tensor_location(name), "name", "DEVICE")).lower(),
        is_shape_tensor=bool(_optional(lambda: engine.is_shape_inference_io(name), False)),
        profiles=tuple(profiles),
    )


def _optional(get: Callable[[], _T], default: _T) -> _T:
    try:
        return get()
    except Exception:  # optional engine attributes differ between TensorRT versions
        return default


def _dims(dims: Iterable[Any]) -> tuple[int, ...]:
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


def _tensor_text(t: object) -> tuple[str, str]:
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


def parse_layer(raw: object) -> EngineLayer:
    """One entry of "Layers": a dict (DETAILED verbosity) or just a name string."""
    if isinstance(raw, str):
        return EngineLayer(name=raw, type="", precision="", tactic="")
    if not isinstance(raw, dict):
        return EngineLayer(name=str(raw), type="", precision="", tactic="")
    inputs = [_tensor_text(t) for t in raw.get("Inputs", []) or []]
    outputs = [_tensor_text(t) for t in raw.get("Outputs", []) or []]
    precision = next((p for _, p in outputs if p), "") or next((p for _, p in inputs if p), "")
    tactic = str(raw.get("TacticName") or raw.get("TacticValue") or raw.get("Tactic") or "")
    from_kernel = False
    if not precision and raw.get("TacticName"):
        precision = precision_from_tactic(str(raw["TacticName"]))
        from_kernel = bool(precision)
    return EngineLayer(
        name=str(raw.get("Name", "")),
        type=str(raw.get("LayerType", raw.get("ParameterType", ""))),
        precision=precision,
        tactic=tactic,
        inputs=tuple(d for d, _ in inputs),
        outputs=tuple(d for d, _ in outputs),
        metadata=metadata_text(raw.get("Metadata", "")),
        precision_from_kernel=from_kernel,
    )


# Type tokens in TensorRT's kernel names, most specific first: "…_i8i8_i8i32_f32_…" (INT8),
# "…_f16f16_f16f16_f16_…", "…FP16NHWC…", "h1688…" (FP16), "…_f32f32_tf32f32_f32_…" (FP32 data
# with TF32 math), "…_f32f32_f32_…", "ffma", "sgemm" (FP32). Seen in the H200's 8.6 engines.
_KERNEL_TOKENS = (
    ("INT8", ("i8i8", "int8", "imma")),
    ("FP16", ("f16f16", "fp16", "h884", "h1688", "hmma", "half")),
    ("TF32", ("tf32",)),
    ("FP32", ("f32f32", "fp32", "ffma", "sgemm", "scudnn")),
)


def precision_from_tactic(name: str) -> str:
    """ "sm80_xmma_gemm_f16f16_f16f16_f16_nn_n_…" → "FP16"; "" when the name names no type."""
    lower = name.lower()
    for precision, tokens in _KERNEL_TOKENS:
        if any(token in lower for token in tokens):
            return precision
    return ""


def metadata_text(value: object) -> str:
    """A layer's "Metadata" for people: TensorRT 8.6 separates the ONNX node names a layer
    came from with raw 0x1E characters; they become "; " (and other control characters go)."""
    parts = re.split(r"[\x00-\x1f]+", str(value or ""))
    return "; ".join(p.strip() for p in parts if p.strip())


def parse_inspector_json(
    text: str | Mapping[str, Any],
) -> tuple[tuple[EngineLayer, ...], tuple[str, ...]]:
    """(layers, I/O tensor names) from EngineInspector JSON.

    TensorRT 10 lists I/O names under "Bindings"; TensorRT 11 lists dicts under "I/O Tensors".
    Raises EngineLoadError if the text is not inspector JSON.
    """
    data: object
    if isinstance(text, Mapping):
        data = text
    else:
        try:
            # strict=False: TensorRT 8.6 puts raw 0x1E characters inside its strings.
            data = json.loads(text, strict=False)
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
