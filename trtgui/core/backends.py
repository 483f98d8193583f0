"""Finding TensorRT (`tensorrt`) and TensorRT for RTX (`tensorrt_rtx`), lazily.

This is the only module that imports TensorRT. It also owns what differs between NVIDIA
TensorRT 10.x, 11.x and TensorRT-RTX (capabilities), and GPU / driver discovery through
cuda-python. Nothing here raises on import or while probing: unusable things come back with
a plain-language reason and the command that installs them.
"""

from __future__ import annotations

import functools
import importlib
import threading
from dataclasses import dataclass, field
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
    has_int8_calibrator: bool = False
    has_timing_cache: bool = False
    has_version_compatible: bool = False
    has_hardware_compatibility: bool = False
    has_compute_capability_targets: bool = False
    # None when not checked; a runtime needs a GPU the backend accepts.
    runtime_usable: bool | None = None
    runtime_reason: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


_import_lock = threading.Lock()


@functools.cache
def _import_module(module_name: str) -> ModuleType | str:
    """The imported module, or the reason it cannot be imported (cached either way)."""
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
    mod = _import_module(module_name)
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
        has_int8_calibrator=hasattr(mod, "IInt8EntropyCalibrator2"),
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
    mod = _import_module(_MODULES[name])
    assert not isinstance(mod, str)
    return mod


# ---------------------------------------------------------------------------------------------
# GPUs and the CUDA driver, through cuda-python (optional).


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    compute_capability: tuple[int, int]
    total_memory_bytes: int

    @property
    def compute_capability_str(self) -> str:
        return f"{self.compute_capability[0]}.{self.compute_capability[1]}"


@dataclass(frozen=True)
class GpuReport:
    """GPUs found, the driver's CUDA version, and a reason when none could be listed."""

    gpus: tuple[GpuInfo, ...]
    driver_cuda_version: str | None
    reason: str = ""

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpus)


def _cuda_driver() -> Any | None:
    for module_name in ("cuda.bindings.driver", "cuda.cuda"):
        mod = _import_module(module_name)
        if not isinstance(mod, str):
            return mod
    return None


@functools.cache
def gpu_report() -> GpuReport:
    """List the CUDA GPUs through cuda-python's driver API. Never raises; cached."""
    if _linux_without_nvidia_driver():
        # Loading cuda-python only to learn this costs ~0.2 s of CPU on every CLI call.
        return GpuReport((), None, "no NVIDIA GPU driver is loaded on this machine")
    drv = _cuda_driver()
    if drv is None:
        return GpuReport((), None, "cuda-python is not installed: pip install 'trtgui[cuda]'")
    try:
        (err,) = drv.cuInit(0)
        if int(err) != 0:
            return GpuReport((), None, _driver_error_text(drv, err))
        err, version = drv.cuDriverGetVersion()
        driver_version = f"{version // 1000}.{(version % 1000) // 10}" if int(err) == 0 else None
        err, count = drv.cuDeviceGetCount()
        if int(err) != 0:
            return GpuReport((), driver_version, _driver_error_text(drv, err))
        gpus = []
        attr = drv.CUdevice_attribute
        for index in range(count):
            _, dev = drv.cuDeviceGet(index)
            _, raw_name = drv.cuDeviceGetName(256, dev)
            _, major = drv.cuDeviceGetAttribute(
                attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev
            )
            _, minor = drv.cuDeviceGetAttribute(
                attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev
            )
            _, total = drv.cuDeviceTotalMem(dev)
            name = bytes(raw_name).split(b"\0", 1)[0].decode(errors="replace")
            gpus.append(GpuInfo(index, name, (int(major), int(minor)), int(total)))
        reason = "" if gpus else "the CUDA driver reports no GPU"
        return GpuReport(tuple(gpus), driver_version, reason)
    except Exception as exc:  # cuda-python raises assorted errors when libcuda is absent
        return GpuReport((), None, f"no NVIDIA GPU driver found on this machine ({exc})")


def _linux_without_nvidia_driver() -> bool:
    """True on Linux when no NVIDIA kernel driver is visible (native or WSL2)."""
    import glob
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return False
    if os.environ.get("TRTGUI_FORCE_CUDA_PROBE"):
        return False
    return not (
        os.path.exists("/proc/driver/nvidia/version")
        or os.path.exists("/dev/dxg")  # WSL2 exposes the GPU through /dev/dxg
        or glob.glob("/dev/nvidia[0-9]*")
    )


def _driver_error_text(drv: Any, err: Any) -> str:
    code = int(err)
    if code in (34, 35, 100):  # stub library, insufficient driver, no device
        return f"no usable NVIDIA GPU or driver on this machine (CUDA error {code}: {err.name})"
    return f"the CUDA driver failed (error {code}: {getattr(err, 'name', err)})"


# ---------------------------------------------------------------------------------------------
# What differs between NVIDIA TensorRT 10.x, 11.x and TensorRT-RTX when building.
#
# Written from NVIDIA's documentation; the names each path uses are listed below as data so
# tests/core/test_trt_api_names.py can check them against the real 10.x and 11.x bindings.

ApiFamily = Literal["trt10", "trt11", "rtx"]

# `tensorrt` attributes the build code uses on every path ("Class.member" or "name").
API_NAMES_COMMON: tuple[str, ...] = (
    "Builder",
    "Builder.create_network",
    "Builder.create_builder_config",
    "Builder.create_optimization_profile",
    "Builder.build_serialized_network",
    "ILogger",
    "ILogger.Severity",
    "ILogger.log",
    "IProgressMonitor",
    "IProgressMonitor.phase_start",
    "IProgressMonitor.step_complete",
    "IProgressMonitor.phase_finish",
    "OnnxParser",
    "OnnxParser.parse_from_file",
    "OnnxParser.num_errors",
    "OnnxParser.get_error",
    "ParserError.desc",
    "ParserError.node",
    "ParserError.node_name",
    "ParserError.node_operator",
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
    "IBuilderConfig.progress_monitor",
    "IBuilderConfig.profiling_verbosity",
    "IBuilderConfig.builder_optimization_level",
    "IBuilderConfig.set_memory_pool_limit",
    "MemoryPoolType.WORKSPACE",
    "ProfilingVerbosity.DETAILED",
    "ProfilingVerbosity.LAYER_NAMES_ONLY",
    "ProfilingVerbosity.NONE",
    "IHostMemory.nbytes",
)
# NVIDIA TensorRT only (10.x and 11.x): timing cache, version and hardware compatibility.
_API_NAMES_TENSORRT: tuple[str, ...] = (
    "IBuilderConfig.create_timing_cache",
    "IBuilderConfig.set_timing_cache",
    "IBuilderConfig.get_timing_cache",
    "ITimingCache.serialize",
    "IBuilderConfig.set_flag",
    "BuilderFlag.VERSION_COMPATIBLE",
    "IBuilderConfig.hardware_compatibility_level",
    "HardwareCompatibilityLevel.NONE",
    "HardwareCompatibilityLevel.AMPERE_PLUS",
    "HardwareCompatibilityLevel.SAME_COMPUTE_CAPABILITY",
    "NetworkDefinitionCreationFlag.STRONGLY_TYPED",
)
API_NAMES: dict[str, tuple[str, ...]] = {
    # 10.x: weak typing still exists; "auto" sets FP16 (and INT8 for Q/DQ models).
    "trt10": API_NAMES_COMMON
    + _API_NAMES_TENSORRT
    + ("BuilderFlag.FP16", "BuilderFlag.INT8", "Builder.platform_has_fast_fp16"),
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
# Removed in TensorRT 11 (NVIDIA's 11.0 release notes): must appear only on the 10.x path.
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
    return "trt10" if (info.major or 0) <= 10 else "trt11"


def precision_support(info: BackendInfo) -> dict[str, str]:
    """Precision value -> "" when usable with this backend, else the reason it is not.

    FP16/BF16/INT8 work everywhere because the ONNX model is converted before building;
    "auto" (TensorRT picks per layer) needs the weak-typing flags of TensorRT 10.x.
    """
    reasons = {p: "" for p in ("fp32", "fp16", "bf16", "int8", "auto")}
    if not info.available:
        return {p: f"{info.title} is not installed" for p in reasons}
    if api_family(info) != "trt10":
        reasons["auto"] = (
            f"{info.title} {info.version} has no weak typing: the precision comes from the "
            "model, so choose FP16, BF16 or INT8"
        )
    return reasons


def network_creation_flags(trt: Any, info: BackendInfo, precision: str) -> int:
    """Flags for `Builder.create_network`.

    10.x: strongly typed unless "auto" (so a converted FP16/INT8 graph builds in the types it
    carries, as on 11.x). 11.x: strongly typed (the only mode; the flag is still accepted).
    RTX: 0, its networks are strongly typed already.
    """
    family = api_family(info)
    if family == "rtx":
        return 0
    if family == "trt10" and precision == "auto":
        return 0
    return 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)


def apply_precision_flags(
    config: Any, trt: Any, builder: Any, info: BackendInfo, precision: str, has_qdq: bool
) -> list[str]:
    """Set the builder flags `precision` needs; returns notes for the build log.

    Only TensorRT 10.x "auto" sets flags: FP16, plus INT8 when the model has Q/DQ nodes.
    Everything else takes its precision from the (converted) ONNX graph.
    """
    notes: list[str] = []
    if precision != "auto":
        return notes
    if api_family(info) != "trt10":
        from trtgui.core.errors import SettingsError

        raise SettingsError(precision_support(info)["auto"] + ".")
    config.set_flag(trt.BuilderFlag.FP16)
    if has_qdq:
        config.set_flag(trt.BuilderFlag.INT8)
    if not builder.platform_has_fast_fp16:
        notes.append("This GPU has no fast FP16: 'auto' will mostly pick FP32 kernels.")
    return notes


_VERBOSITY = {"detailed": "DETAILED", "layer_names_only": "LAYER_NAMES_ONLY", "none": "NONE"}
_COMPUTE_CAPABILITIES = {
    "current": "CURRENT",
    "7.5": "SM75",
    "8.0": "SM80",
    "8.6": "SM86",
    "8.9": "SM89",
    "12.0": "SM120",
    "12.1": "SM121",
}


def compute_capability_choices() -> tuple[str, ...]:
    """Values `BuildSettings.compute_capabilities` accepts (TensorRT-RTX targets)."""
    return tuple(_COMPUTE_CAPABILITIES)


def apply_backend_options(config: Any, trt: Any, info: BackendInfo, settings: Any) -> list[str]:
    """Apply the backend-specific `BuildSettings` fields to `config`; returns notes (settings
    this backend ignores). Raises `SettingsError` for values no backend knows."""
    from trtgui.core.errors import SettingsError

    notes: list[str] = []
    verbosity = _VERBOSITY.get(settings.profiling_verbosity)
    if verbosity is None:
        raise SettingsError(
            f"profiling_verbosity must be one of {', '.join(_VERBOSITY)}, "
            f"got {settings.profiling_verbosity!r}."
        )
    config.profiling_verbosity = getattr(trt.ProfilingVerbosity, verbosity)
    config.builder_optimization_level = int(settings.optimization_level)
    if settings.workspace_bytes:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(settings.workspace_bytes))
    family = api_family(info)
    if settings.version_compatible:
        if family == "rtx":
            notes.append("Version-compatible engines are a NVIDIA TensorRT feature: ignored.")
        else:
            config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)
    level = str(settings.hardware_compatibility or "none").lower()
    if level != "none":
        names = {"ampere_plus": "AMPERE_PLUS", "same_compute_capability": "SAME_COMPUTE_CAPABILITY"}
        if level not in names:
            raise SettingsError(
                f"hardware_compatibility must be none, ampere_plus or same_compute_capability, "
                f"got {settings.hardware_compatibility!r}."
            )
        if family == "rtx":
            notes.append(
                "Hardware compatibility is a NVIDIA TensorRT feature (TensorRT-RTX targets "
                "compute capabilities instead): ignored."
            )
        else:
            config.hardware_compatibility_level = getattr(
                trt.HardwareCompatibilityLevel, names[level]
            )
    targets = tuple(settings.compute_capabilities)
    if targets:
        unknown = [t for t in targets if t.lower() not in _COMPUTE_CAPABILITIES]
        if unknown:
            raise SettingsError(
                f"Unknown compute capability {unknown[0]!r}: choose from "
                f"{', '.join(_COMPUTE_CAPABILITIES)}."
            )
        if family != "rtx":
            notes.append(
                "Compute-capability targets are a TensorRT-RTX feature (NVIDIA TensorRT builds "
                "for the GPU it runs on, or uses hardware compatibility): ignored."
            )
        else:
            config.num_compute_capabilities = len(targets)
            for index, target in enumerate(targets):
                value = getattr(trt.ComputeCapability, _COMPUTE_CAPABILITIES[target.lower()])
                config.set_compute_capability(value, index)
    if settings.timing_cache_path and family == "rtx":
        notes.append("The timing cache is a NVIDIA TensorRT feature: ignored by TensorRT-RTX.")
    return notes


def load_timing_cache(config: Any, info: BackendInfo, path: str) -> Any | None:
    """Give `config` the timing cache in `path` (empty when the file does not exist yet).

    NVIDIA TensorRT only; returns the cache object (keep it alive while building) or None.
    """
    if not path or api_family(info) == "rtx":
        return None
    from pathlib import Path

    file = Path(path)
    data = file.read_bytes() if file.is_file() else b""
    cache = config.create_timing_cache(data)
    config.set_timing_cache(cache, False)
    return cache


def save_timing_cache(config: Any, info: BackendInfo, path: str) -> None:
    """Write the builder's timing cache back to `path` atomically (NVIDIA TensorRT only)."""
    if not path or api_family(info) == "rtx":
        return
    import os
    import tempfile
    from pathlib import Path

    cache = config.get_timing_cache()
    if cache is None:
        return
    data = bytes(memoryview(cache.serialize()))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
