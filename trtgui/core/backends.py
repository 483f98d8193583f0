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
        has_timing_cache=config_cls is not None and hasattr(config_cls, "set_timing_cache")
        and name == "tensorrt",
        has_version_compatible=flags is not None and hasattr(flags, "VERSION_COMPATIBLE")
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


def _driver_error_text(drv: Any, err: Any) -> str:
    code = int(err)
    if code in (34, 35, 100):  # stub library, insufficient driver, no device
        return f"no usable NVIDIA GPU or driver on this machine (CUDA error {code}: {err.name})"
    return f"the CUDA driver failed (error {code}: {getattr(err, 'name', err)})"
