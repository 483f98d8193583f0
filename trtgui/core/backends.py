"""Finding TensorRT (`tensorrt`) and TensorRT for RTX (`tensorrt_rtx`), lazily.

This is the only module that imports TensorRT. It also says what each installed backend can
do (capabilities, the API family of NVIDIA TensorRT 8.6, 10.x, 11.x or TensorRT-RTX, the
TensorRT names each family's build code uses) and names TensorRT's data types. Nothing here
raises on import or while probing: unusable things come back with a plain-language reason and
the command that installs them. Applying settings to a builder is `trtgui.core.build.trt_config`;
GPUs are `trtgui.core.gpus`.
"""

from __future__ import annotations

import functools
import importlib
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from trtgui.core.errors import BackendUnavailable

BackendName = Literal["tensorrt", "rtx"]
BACKEND_NAMES: tuple[BackendName, ...] = ("tensorrt", "rtx")

_MODULES: dict[str, str] = {"tensorrt": "tensorrt", "rtx": "tensorrt_rtx"}
_TITLES: dict[str, str] = {"tensorrt": "NVIDIA TensorRT", "rtx": "TensorRT for RTX"}
INSTALL_HINTS: dict[str, str] = {
    "tensorrt": "pip install 'trtgui[tensorrt]'  (NVIDIA TensorRT for CUDA 12; use tensorrt-cu13 "
    "for CUDA 13)",
    "rtx": "pip install 'trtgui[rtx]'  (TensorRT for RTX)",
}


def backend_title(name: str) -> str:
    """Human name of a backend, e.g. "TensorRT for RTX"."""
    return _TITLES.get(name, name)


@dataclass(frozen=True)
class BackendInfo:
    """What one backend can do on this machine. `reason` explains anything unavailable."""

    name: str
    title: str
    module_name: str
    available: bool
    version: str | None = None
    major: int | None = None
    reason: str = ""
    install_hint: str = ""
    # TensorRT-RTX builds engines on the CPU ("CPU-only AOT"); NVIDIA TensorRT needs a GPU.
    builds_without_gpu: bool = False
    # BuilderFlag.FP16/BF16/INT8 exist only in TensorRT <= 10 ("weakly typed" networks).
    has_precision_flags: bool = False
    # IProgressMonitor arrived in TensorRT 10 (8.6 builds report progress only in their log).
    has_progress_monitor: bool = False
    has_timing_cache: bool = False
    has_version_compatible: bool = False
    has_hardware_compatibility: bool = False
    has_compute_capability_targets: bool = False


_import_lock = threading.Lock()


@functools.cache
def import_optional(module_name: str) -> ModuleType | str:
    """The imported module, or the reason it cannot be imported (cached either way): for the
    optional packages (TensorRT, cuda-python), whose absence is a state, not an error."""
    with _import_lock:
        try:
            return importlib.import_module(module_name)
        except ImportError as exc:
            return f"{module_name} is not installed ({exc})"
        except Exception as exc:  # a broken install raises OSError etc. from its loader
            return f"{module_name} is installed but failed to load: {exc}"


def _major(version: str | None) -> int | None:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return None


def probe_backend(name: str) -> BackendInfo:
    """Import `name` ("tensorrt" or "rtx") if present and describe what it offers. Never raises."""
    if name not in _MODULES:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    module_name = _MODULES[name]
    mod = import_optional(module_name)
    title = _TITLES[name]
    if isinstance(mod, str):
        return BackendInfo(
            name=name,
            title=title,
            module_name=module_name,
            available=False,
            reason=mod,
            install_hint=INSTALL_HINTS[name],
        )
    version = str(getattr(mod, "__version__", "unknown"))
    flags = getattr(mod, "BuilderFlag", None)
    config_cls = getattr(mod, "IBuilderConfig", None)
    return BackendInfo(
        name=name,
        title=title,
        module_name=module_name,
        available=True,
        version=version,
        major=_major(version),
        install_hint=INSTALL_HINTS[name],
        builds_without_gpu=name == "rtx",
        has_precision_flags=flags is not None and hasattr(flags, "FP16"),
        has_progress_monitor=hasattr(mod, "IProgressMonitor"),
        has_timing_cache=config_cls is not None
        and hasattr(config_cls, "set_timing_cache")
        and name == "tensorrt",
        has_version_compatible=flags is not None
        and hasattr(flags, "VERSION_COMPATIBLE")
        and name == "tensorrt",
        has_hardware_compatibility=config_cls is not None
        and hasattr(config_cls, "hardware_compatibility_level")
        and name == "tensorrt",
        has_compute_capability_targets=config_cls is not None
        and hasattr(config_cls, "set_compute_capability"),
    )


def available_backends() -> list[BackendInfo]:
    """Every known backend, available or not, in preference order."""
    return [probe_backend(n) for n in BACKEND_NAMES]


def default_backend_name() -> str:
    """The backend used when none is named: NVIDIA TensorRT if installed, else TensorRT-RTX."""
    for info in available_backends():
        if info.available:
            return info.name
    return "rtx"


def load_trt(name: str | None = None) -> Any:
    """The TensorRT module of backend `name` (default: `default_backend_name()`).

    Raises `BackendUnavailable` with the install command when it cannot be imported.
    """
    name = name or default_backend_name()
    info = probe_backend(name)
    if not info.available:
        raise BackendUnavailable(
            f"{info.title} is not usable here: install it with {info.install_hint}",
            details=info.reason,
        )
    mod = import_optional(_MODULES[name])
    assert not isinstance(mod, str)
    return mod


# ---------------------------------------------------------------------------------------------
# What differs between NVIDIA TensorRT 8.6, 10.x, 11.x and TensorRT-RTX when building.
#
# Written from NVIDIA's documentation and checked on an H200 with TensorRT 8.6.0; the names
# each path uses are listed below as data so tests/core/test_trt_api_names.py can check them
# against the real 8.6, 10.x and 11.x bindings.

ApiFamily = Literal["trt8", "trt10", "trt11", "rtx"]

# `tensorrt` attributes the build code uses on the 8.6 path and every later one.
_API_NAMES_BASE: tuple[str, ...] = (
    "Builder",
    "Builder.create_network",
    "Builder.create_builder_config",
    "Builder.create_optimization_profile",
    "Builder.build_serialized_network",
    "ILogger",
    "ILogger.Severity",
    "ILogger.log",
    # The built-in C++ logger (build/native_log.py): filters in C++, prints on fd 1.
    "Logger",
    "Logger.min_severity",
    "OnnxParser",
    "OnnxParser.parse_from_file",
    "OnnxParser.num_errors",
    "OnnxParser.get_error",
    "ParserError.desc",
    "ParserError.node",
    "ParserError.code",
    "INetworkDefinition.num_inputs",
    "INetworkDefinition.num_outputs",
    "INetworkDefinition.num_layers",
    "INetworkDefinition.get_input",
    "INetworkDefinition.get_output",
    "ITensor.name",
    "ITensor.shape",
    "ITensor.dtype",
    "IOptimizationProfile.set_shape",
    "IBuilderConfig.add_optimization_profile",
    "IBuilderConfig.profiling_verbosity",
    "IBuilderConfig.builder_optimization_level",
    "IBuilderConfig.set_memory_pool_limit",
    "MemoryPoolType.WORKSPACE",
    "ProfilingVerbosity.DETAILED",
    "ProfilingVerbosity.LAYER_NAMES_ONLY",
    "ProfilingVerbosity.NONE",
    "IHostMemory.nbytes",
)
# TensorRT 10 added the progress monitor and the parser's node names (8.6 has neither).
API_NAMES_COMMON: tuple[str, ...] = (
    *_API_NAMES_BASE,
    "ParserError.node_name",
    "ParserError.node_operator",
    "IProgressMonitor",
    "IProgressMonitor.phase_start",
    "IProgressMonitor.step_complete",
    "IProgressMonitor.phase_finish",
    "IBuilderConfig.progress_monitor",
)
# NVIDIA TensorRT only (8.6, 10.x, 11.x): timing cache, version and hardware compatibility,
# tactic sources (TRTGUI_TACTIC_SOURCES).
_API_NAMES_TENSORRT_BASE: tuple[str, ...] = (
    "IBuilderConfig.create_timing_cache",
    "IBuilderConfig.set_timing_cache",
    "IBuilderConfig.get_timing_cache",
    "ITimingCache.serialize",
    "IBuilderConfig.set_flag",
    "BuilderFlag.VERSION_COMPATIBLE",
    "IBuilderConfig.hardware_compatibility_level",
    "HardwareCompatibilityLevel.NONE",
    "HardwareCompatibilityLevel.AMPERE_PLUS",
    "IBuilderConfig.get_tactic_sources",
    "IBuilderConfig.set_tactic_sources",
    "TacticSource",
)
_API_NAMES_TENSORRT: tuple[str, ...] = (
    *_API_NAMES_TENSORRT_BASE,
    "HardwareCompatibilityLevel.SAME_COMPUTE_CAPABILITY",
    "NetworkDefinitionCreationFlag.STRONGLY_TYPED",
)
# Weak typing (8.6 and 10.x): precision by builder flags.
_API_NAMES_FLAGS: tuple[str, ...] = (
    "BuilderFlag.FP16",
    "BuilderFlag.INT8",
    "Builder.platform_has_fast_fp16",
)
# INT8 by TensorRT's own entropy calibrator (8.6 and 10.x; removed in 11).
_API_NAMES_CALIBRATOR: tuple[str, ...] = (
    "IBuilderConfig.int8_calibrator",
    "IBuilderConfig.set_calibration_profile",
    "IInt8EntropyCalibrator2",
    "IInt8EntropyCalibrator2.get_batch_size",
    "IInt8EntropyCalibrator2.get_batch",
    "IInt8EntropyCalibrator2.read_calibration_cache",
    "IInt8EntropyCalibrator2.write_calibration_cache",
)
API_NAMES: dict[str, tuple[str, ...]] = {
    # 8.6: explicit batch must be asked for; no strong typing, no progress monitor; INT8 by
    # Q/DQ nodes or by TensorRT's own entropy calibrator over the user's images.
    "trt8": (
        *_API_NAMES_BASE,
        *_API_NAMES_TENSORRT_BASE,
        *_API_NAMES_FLAGS,
        *_API_NAMES_CALIBRATOR,
        "NetworkDefinitionCreationFlag.EXPLICIT_BATCH",
    ),
    # 10.x: weak typing still exists; "auto" sets FP16 (and INT8 for Q/DQ models).
    "trt10": API_NAMES_COMMON + _API_NAMES_TENSORRT + _API_NAMES_FLAGS + _API_NAMES_CALIBRATOR,
    # 11.x: strongly typed only; precision comes from the ONNX graph.
    "trt11": API_NAMES_COMMON + _API_NAMES_TENSORRT,
    # TensorRT-RTX: compute-capability targets instead of hardware compatibility.
    "rtx": (
        *API_NAMES_COMMON,
        "IBuilderConfig.num_compute_capabilities",
        "IBuilderConfig.set_compute_capability",
        "ComputeCapability.CURRENT",
        "ComputeCapability.SM75",
        "ComputeCapability.SM80",
        "ComputeCapability.SM86",
        "ComputeCapability.SM89",
        "ComputeCapability.SM120",
        "ComputeCapability.SM121",
    ),
}
# Removed in TensorRT 11 (NVIDIA's 11.0 release notes): must appear only on the 8.6 and 10.x
# paths.
REMOVED_IN_11: tuple[str, ...] = (
    "BuilderFlag.FP16",
    "BuilderFlag.BF16",
    "BuilderFlag.INT8",
    "IBuilderConfig.int8_calibrator",
    "NetworkDefinitionCreationFlag.EXPLICIT_BATCH",
    "Builder.platform_has_fast_fp16",
)


def api_family(info: BackendInfo) -> ApiFamily:
    """Which build path a backend takes."""
    if info.name == "rtx":
        return "rtx"
    major = info.major or 0
    if 0 < major <= 9:  # 9.x (LLM-only releases) still builds like 8.6
        return "trt8"
    return "trt10" if major <= 10 else "trt11"


# trtexec's --tacticSources names → TensorRT's TacticSource members.
TACTIC_SOURCES: dict[str, str] = {
    "cublas": "CUBLAS",
    "cublas_lt": "CUBLAS_LT",
    "cublaslt": "CUBLAS_LT",
    "cudnn": "CUDNN",
    "edge_mask_convolutions": "EDGE_MASK_CONVOLUTIONS",
    "jit_convolutions": "JIT_CONVOLUTIONS",
}


# TensorRT DataType member name → numpy-style name, the form every trtgui record uses.
TRT_DTYPES: dict[str, str] = {
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
    "E8M0": "e8m0",
}


def trt_dtype_name(dtype: Any) -> str:
    """TensorRT DataType (or its name) → numpy-style name ("float32", "float16", ...); a type
    this table lacks comes back as its own name in lower case."""
    key = str(getattr(dtype, "name", dtype)).rsplit(".", 1)[-1].upper()
    return TRT_DTYPES.get(key, key.lower())
