"""Finding the NVIDIA GPUs and the CUDA driver, through cuda-python (optional), lazily.

`gpu_report()` lists them once per process and never raises: without a driver, a GPU or
cuda-python, the report is empty and says why in plain words.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from trtgui.core.backends import import_optional


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


def _cuda_driver() -> ModuleType | None:
    for module_name in ("cuda.bindings.driver", "cuda.cuda"):
        mod = import_optional(module_name)
        if not isinstance(mod, str):
            return mod
    return None


@functools.cache
def gpu_report() -> GpuReport:
    """List the CUDA GPUs through cuda-python's driver API. Never raises; cached."""
    if _linux_without_nvidia_driver():
        # Loading cuda-python only to learn this costs ~0.2 s of CPU on every CLI call.
        return GpuReport((), None, "no NVIDIA GPU driver is loaded on this machine")
    drv: Any = _cuda_driver()
    if drv is None:
        return GpuReport((), None, "cuda-python is not installed: pip install 'trtgui[cuda]'")
    try:
        (err,) = drv.cuInit(0)
        if int(err) != 0:
            return GpuReport((), None, _driver_error_text(err))
        err, version = drv.cuDriverGetVersion()
        driver_version = f"{version // 1000}.{(version % 1000) // 10}" if int(err) == 0 else None
        err, count = drv.cuDeviceGetCount()
        if int(err) != 0:
            return GpuReport((), driver_version, _driver_error_text(err))
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


def _driver_error_text(err: Any) -> str:
    code = int(err)
    if code in (34, 35, 100):  # stub library, insufficient driver, no device
        return f"no usable NVIDIA GPU or driver on this machine (CUDA error {code}: {err.name})"
    return f"the CUDA driver failed (error {code}: {getattr(err, 'name', err)})"
