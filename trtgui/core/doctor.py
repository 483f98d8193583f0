"""What trtgui can use on this machine: `doctor_report()` -> `DoctorReport`, `format_text()`;
`backend_status()` -> `BackendStatus`, the short form the window's status bar shows.

This module owns the environment check behind `trtgui-cli doctor`: Python and platform, Qt
(PySide6, by its installed version only: core never imports Qt), the ONNX stack, TensorRT and
TensorRT-RTX (through `backends`), cuda-python and pycuda (found, not imported: pycuda's
driver module needs a GPU driver), and the GPUs. Every item says whether it is usable, why
not, and the command that installs it. Probing never raises.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import sys
from dataclasses import dataclass, field
from typing import Any, Literal

from trtgui import __version__
from trtgui.core import backends
from trtgui.core.gpus import GpuReport, gpu_report

Category = Literal["system", "core", "gui", "tensorrt", "cuda", "gpu", "optional"]

MIN_PYTHON = (3, 11)
# PySide6 6.12.0 on Python 3.11 aborts after a few hundred signal emits (bool_dealloc).
_BROKEN_QT: dict[tuple[int, int], tuple[str, ...]] = {(3, 11): ("6.12.0",)}
_QT_PIN_311 = "PySide6-Essentials>=6.8,<6.12"
# PySide6 >= 6.10 wheels need glibc >= 2.34.
_QT_GLIBC = ((6, 10), (2, 34))


@dataclass(frozen=True)
class DoctorItem:
    """One component: usable here or not, and what to do about it."""

    name: str
    usable: bool
    version: str | None
    detail: str = ""
    install: str = ""  # the command that installs or fixes it; "" when nothing is needed
    required: bool = True  # False for optional extras (TensorRT, CUDA, GPUs, ModelOpt)
    category: Category = "core"

    @property
    def status(self) -> str:
        """ "ok", "missing" (not installed) or "problem" (installed but unusable)."""
        if self.usable:
            return "ok"
        return "missing" if self.version is None else "problem"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "category": self.category,
            "usable": self.usable,
            "status": self.status,
            "required": self.required,
            "version": self.version,
            "detail": self.detail,
            "install": self.install,
        }


@dataclass(frozen=True)
class GpuEntry:
    index: int
    name: str
    compute_capability: str
    total_memory_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "compute_capability": self.compute_capability,
            "total_memory_bytes": self.total_memory_bytes,
        }


@dataclass(frozen=True)
class DoctorReport:
    """Everything `doctor` found, in display order."""

    items: tuple[DoctorItem, ...]
    gpus: tuple[GpuEntry, ...] = field(default_factory=tuple)
    driver_cuda_version: str | None = None

    @property
    def ok(self) -> bool:
        """True when every required component is usable."""
        return not self.problems

    @property
    def problems(self) -> tuple[DoctorItem, ...]:
        return tuple(i for i in self.items if i.required and not i.usable)

    @property
    def can_build(self) -> bool:
        """True when some TensorRT backend is importable."""
        return any(i.usable for i in self.items if i.category == "tensorrt")

    def item(self, name: str) -> DoctorItem:
        """The item called `name`; KeyError when there is none."""
        for i in self.items:
            if i.name == name:
                return i
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON form."""
        return {
            "ok": self.ok,
            "can_build": self.can_build,
            "items": [i.to_dict() for i in self.items],
            "gpus": [g.to_dict() for g in self.gpus],
            "driver_cuda_version": self.driver_cuda_version,
        }


# ---------------------------------------------------------------------------------------------
# Probes. Each returns an item and never raises.


def _dist_version(*dist_names: str) -> str | None:
    """Installed version of the first distribution found among `dist_names`."""
    for dist in dist_names:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _has_module(name: str) -> bool:
    """Whether `name` can be imported, without importing it (parents of dotted names are)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(piece):
            break
    return tuple(parts)


def package_item(
    name: str,
    dists: tuple[str, ...],
    module: str,
    install: str,
    *,
    required: bool = True,
    category: Category = "core",
    detail: str = "",
) -> DoctorItem:
    """An item for a Python package found by distribution metadata and module spec."""
    version = _dist_version(*dists)
    found = _has_module(module)
    if version is not None and found:
        return DoctorItem(name, True, version, detail, "", required, category)
    if version is None and not found:
        return DoctorItem(
            name, False, None, f"{module} is not installed", install, required, category
        )
    reason = (
        f"{module} is importable but no package metadata was found"
        if version is None
        else f"package {dists[0]} {version} is installed but module {module} is not found"
    )
    return DoctorItem(name, found, version, reason, "" if found else install, required, category)


def python_item(version_info: tuple[int, ...] | None = None) -> DoctorItem:
    vi = tuple(version_info or sys.version_info[:3])
    text = ".".join(str(x) for x in vi[:3])
    if vi[:2] < MIN_PYTHON:
        return DoctorItem(
            "Python",
            False,
            text,
            f"trtgui needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer",
            "install Python 3.12 and create a new virtual environment with it",
            category="system",
        )
    return DoctorItem("Python", True, text, sys.executable, category="system")


def platform_item() -> DoctorItem:
    libc, libc_version = platform.libc_ver()
    detail = platform.platform()
    if libc:
        detail += f" ({libc} {libc_version})"
    return DoctorItem("Platform", True, platform.machine(), detail, category="system")


def qt_item(
    version: str | None,
    python: tuple[int, int] | None = None,
    glibc: str | None = None,
    found: bool = True,
) -> DoctorItem:
    """The Qt (PySide6) item for an installed PySide6 `version` (None = not installed)."""
    py = python or (sys.version_info[0], sys.version_info[1])
    install = f"pip install '{_QT_PIN_311}'" if py == (3, 11) else "pip install PySide6-Essentials"
    name = "Qt (PySide6)"
    if version is None or not found:
        return DoctorItem(
            name, False, version, "PySide6 is not installed: the desktop app cannot start "
            "(the CLI works without it)", install, category="gui",
        )  # fmt: skip
    if version in _BROKEN_QT.get(py, ()):
        return DoctorItem(
            name,
            False,
            version,
            f"PySide6 {version} on Python {py[0]}.{py[1]} is known to crash (every signal "
            "emit leaks; the app aborts with 'bool_dealloc')",
            install,
            category="gui",
        )
    vt = _version_tuple(version)
    if glibc and vt[:2] >= _QT_GLIBC[0] and _version_tuple(glibc)[:2] < _QT_GLIBC[1]:
        return DoctorItem(
            name,
            False,
            version,
            f"PySide6 {version} needs glibc 2.34 or newer; this system has {glibc}",
            "pip install 'PySide6-Essentials<6.10'",
            category="gui",
        )
    detail = "desktop app available"
    if py == (3, 11) and vt[:2] >= (6, 12):
        detail += "; untested with Python 3.11 (6.12.0 crashes there)"
    return DoctorItem(name, True, version, detail, category="gui")


def onnxruntime_item() -> DoctorItem:
    dists = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino")
    install = "pip install 'onnxruntime>=1.18'"
    version = _dist_version(*dists)
    if not _has_module("onnxruntime"):
        return DoctorItem("ONNX Runtime", False, version, "onnxruntime is not installed", install)
    try:
        import onnxruntime  # the providers are only known after importing it

        providers = list(onnxruntime.get_available_providers())
        version = version or str(getattr(onnxruntime, "__version__", "unknown"))
    except Exception as exc:  # a broken install fails in its native loader
        return DoctorItem(
            "ONNX Runtime", False, version, f"onnxruntime failed to load: {exc}", install
        )
    return DoctorItem("ONNX Runtime", True, version, "providers: " + ", ".join(providers))


def backend_items(gpus: GpuReport) -> list[DoctorItem]:
    items = []
    for info in backends.available_backends():
        if not info.available:
            items.append(
                DoctorItem(
                    info.title,
                    False,
                    None,
                    info.reason,
                    info.install_hint,
                    required=False,
                    category="tensorrt",
                )
            )
            continue
        build = "builds engines without a GPU" if info.builds_without_gpu else "builds on a GPU"
        flags = "precision builder flags" if info.has_precision_flags else "strongly typed only"
        run = "runs engines on a supported GPU" if gpus.has_gpu else "no GPU here to run engines"
        items.append(
            DoctorItem(
                info.title,
                True,
                info.version,
                f"{build}; {flags}; {run}",
                required=False,
                category="tensorrt",
            )
        )
    return items


def gpu_items(report: GpuReport) -> tuple[list[DoctorItem], tuple[GpuEntry, ...]]:
    items = []
    if report.driver_cuda_version is None:
        items.append(
            DoctorItem(
                "NVIDIA driver",
                False,
                None,
                report.reason or "no NVIDIA driver found",
                "install the NVIDIA driver (needed only to run engines, not to build with "
                "TensorRT-RTX)",
                required=False,
                category="gpu",
            )
        )
    else:
        items.append(
            DoctorItem(
                "NVIDIA driver",
                True,
                f"CUDA {report.driver_cuda_version}",
                f"{len(report.gpus)} GPU(s)" if report.gpus else report.reason,
                required=False,
                category="gpu",
            )
        )
    entries = []
    for gpu in report.gpus:
        entries.append(
            GpuEntry(gpu.index, gpu.name, gpu.compute_capability_str, gpu.total_memory_bytes)
        )
        items.append(
            DoctorItem(
                f"GPU {gpu.index}",
                True,
                f"sm {gpu.compute_capability_str}",
                f"{gpu.name}, {gpu.total_memory_bytes / 2**30:.1f} GiB",
                required=False,
                category="gpu",
            )
        )
    return items, tuple(entries)


def doctor_report() -> DoctorReport:
    """Probe this machine. Never raises; takes a few tenths of a second (imports ORT, TRT)."""
    libc, libc_version = platform.libc_ver()
    gpus = gpu_report()
    gpu_list, gpu_entries = gpu_items(gpus)
    items: list[DoctorItem] = [
        DoctorItem("trtgui", True, __version__, "", category="system"),
        python_item(),
        platform_item(),
        qt_item(
            _dist_version("PySide6-Essentials", "PySide6"),
            glibc=libc_version if libc == "glibc" else None,
            found=_has_module("PySide6"),
        ),
        package_item("onnx", ("onnx",), "onnx", "pip install 'onnx>=1.16'"),
        onnxruntime_item(),
        package_item("NumPy", ("numpy",), "numpy", "pip install 'numpy>=1.26'"),
        package_item("Pillow", ("pillow", "Pillow"), "PIL", "pip install 'Pillow>=10'"),
        package_item(
            "onnxconverter-common",
            ("onnxconverter-common", "onnxconverter_common"),
            "onnxconverter_common",
            "pip install 'onnxconverter-common>=1.14'",
            detail="FP16 conversion",
        ),
        package_item(
            "ModelOpt",
            ("nvidia-modelopt",),
            "modelopt",
            "pip install 'trtgui[modelopt]'  (large: pulls torch)",
            required=False,
            category="optional",
            detail="NVIDIA AutoCast / quantization",
        ),
        *backend_items(gpus),
        package_item(
            "cuda-python",
            ("cuda-python", "cuda-bindings"),
            "cuda.bindings" if _has_module("cuda.bindings") else "cuda",
            "pip install 'trtgui[cuda]'",
            required=False,
            category="cuda",
            detail="GPU buffers and streams for running engines",
        ),
        package_item(
            "pycuda",
            ("pycuda",),
            "pycuda",
            "pip install 'trtgui[pycuda]'  (compiles against the CUDA toolkit)",
            required=False,
            category="cuda",
            detail="alternative CUDA layer; its driver module loads only when running engines",
        ),
        *gpu_list,
    ]
    return DoctorReport(tuple(items), gpu_entries, gpus.driver_cuda_version)


def format_text(report: DoctorReport) -> str:
    """The report as a plain-text table, then the commands that fix what is missing."""
    header = ("COMPONENT", "STATUS", "VERSION", "DETAILS")
    rows = [
        (
            i.name,
            i.status if i.required or i.usable else f"{i.status} (optional)",
            i.version or "-",
            i.detail,
        )
        for i in report.items
    ]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(3)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in [header, *rows]
    ]
    lines = [line.rstrip() for line in lines]
    fixes = [i for i in report.items if not i.usable and i.install]
    if fixes:
        lines += ["", "To install what is missing:"]
        lines += [f"  {i.name}: {i.install}" for i in fixes]
    lines.append("")
    if report.ok:
        verdict = "Everything trtgui needs is usable."
        if not report.can_build:
            verdict += " No TensorRT backend: install one to build engines."
    else:
        verdict = "Missing: " + ", ".join(i.name for i in report.problems) + "."
    lines.append(verdict)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The short form: which backends and which GPU, for a status bar.


@dataclass(frozen=True)
class BackendStatus:
    """The TensorRT backends and the GPUs found here, with their one-line and tooltip forms."""

    backends: tuple[backends.BackendInfo, ...]
    gpus: GpuReport

    def summary(self) -> str:
        """ "TensorRT 10.13 ✓  ·  TensorRT for RTX ✗  ·  no GPU": one line for a status bar."""
        parts = [
            f"{info.title} {info.version} ✓" if info.available else f"{info.title} ✗"
            for info in self.backends
        ]
        if self.gpus.has_gpu:
            gpu = self.gpus.gpus[0]
            parts.append(f"GPU: {gpu.name} (sm {gpu.compute_capability_str})")
        else:
            parts.append("no GPU")
        return "  ·  ".join(parts)

    def details(self) -> str:
        """Why each backend is (not) usable, and why no GPU was found, one per line."""
        lines = [f"{info.title}: {info.reason or 'available'}" for info in self.backends]
        if self.gpus.reason:
            lines.append(f"GPU: {self.gpus.reason}")
        return "\n".join(lines)


def backend_status() -> BackendStatus:
    """Probe the backends and the GPUs (slow: imports TensorRT; run it off the GUI thread)."""
    return BackendStatus(tuple(backends.available_backends()), gpu_report())
