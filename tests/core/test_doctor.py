"""doctor_report(): real probing of this machine, plus the Qt / Python rules on given versions."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

from trtgui.core import backends
from trtgui.core.doctor import (
    BackendStatus,
    DoctorItem,
    DoctorReport,
    backend_status,
    doctor_report,
    format_text,
    package_item,
    python_item,
    qt_item,
)
from trtgui.core.gpus import GpuInfo, GpuReport, gpu_report

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report() -> DoctorReport:
    return doctor_report()


def test_core_packages_match_installed_versions(report: DoctorReport) -> None:
    for name, dist in (("onnx", "onnx"), ("NumPy", "numpy"), ("Pillow", "pillow"),
                       ("onnxconverter-common", "onnxconverter-common")):  # fmt: skip
        item = report.item(name)
        assert item.usable and item.status == "ok"
        assert item.version == importlib.metadata.version(dist)
    assert report.ok
    assert report.problems == ()


def test_python_and_platform(report: DoctorReport) -> None:
    py = report.item("Python")
    assert py.usable
    assert py.version == ".".join(map(str, sys.version_info[:3]))
    assert report.item("Platform").usable


def test_onnxruntime_providers(report: DoctorReport) -> None:
    item = report.item("ONNX Runtime")
    assert item.usable
    assert "CPUExecutionProvider" in item.detail


def test_backends_match_backend_discovery(report: DoctorReport) -> None:
    for info in backends.available_backends():
        item = report.item(info.title)
        assert item.category == "tensorrt"
        assert item.usable == info.available
        assert item.version == info.version
        assert not item.required
        if not info.available:
            assert item.install == info.install_hint
            assert item.detail == info.reason
    assert report.can_build == any(i.available for i in backends.available_backends())


def test_gpu_items_match_gpu_report(report: DoctorReport) -> None:
    gpus = gpu_report()
    driver = report.item("NVIDIA driver")
    assert driver.usable == (gpus.driver_cuda_version is not None)
    assert report.driver_cuda_version == gpus.driver_cuda_version
    assert len(report.gpus) == len(gpus.gpus)
    if not gpus.has_gpu:
        assert not driver.usable and driver.install
    for gpu in gpus.gpus:
        assert report.item(f"GPU {gpu.index}").detail.startswith(gpu.name)


def test_qt_version_read_without_importing(report: DoctorReport) -> None:
    item = report.item("Qt (PySide6)")
    version = None
    for dist in ("PySide6-Essentials", "PySide6"):
        try:
            version = importlib.metadata.version(dist)
            break
        except importlib.metadata.PackageNotFoundError:
            continue
    assert item.version == version


def test_core_doctor_imports_neither_qt_nor_pycuda_driver() -> None:
    code = (
        "import sys\n"
        "from trtgui.core.doctor import doctor_report\n"
        "doctor_report()\n"
        "print(sorted(m for m in ('PySide6', 'shiboken6', 'pycuda.driver') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"


def test_known_broken_pyside_flagged() -> None:
    broken = qt_item("6.12.0", python=(3, 11))
    assert not broken.usable and broken.status == "problem"
    assert "crash" in broken.detail
    assert "<6.12" in broken.install
    assert qt_item("6.12.0", python=(3, 12)).usable
    assert qt_item("6.11.3", python=(3, 11)).usable
    newer = qt_item("6.12.1", python=(3, 11))
    assert newer.usable and "untested" in newer.detail


def test_qt_glibc_and_missing() -> None:
    old_libc = qt_item("6.10.0", python=(3, 12), glibc="2.31")
    assert not old_libc.usable and "glibc 2.34" in old_libc.detail
    assert qt_item("6.9.0", python=(3, 12), glibc="2.31").usable
    missing = qt_item(None, python=(3, 11))
    assert missing.status == "missing" and "PySide6-Essentials" in missing.install


def test_python_too_old() -> None:
    item = python_item((3, 10, 12))
    assert not item.usable and "3.11" in item.detail and item.install
    assert python_item((3, 13, 0)).usable


def test_missing_package_gives_install_command() -> None:
    item = package_item(
        "Nothing", ("trtgui-no-such-dist",), "trtgui_no_such_module", "pip install nothing"
    )
    assert (item.usable, item.version, item.status) == (False, None, "missing")
    assert item.install == "pip install nothing"
    present = package_item("onnx", ("onnx",), "onnx", "pip install onnx")
    assert present.usable and present.install == ""


def test_to_dict_and_text(report: DoctorReport) -> None:
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is True
    assert [i["name"] for i in data["items"]] == [i.name for i in report.items]
    text = format_text(report)
    assert text.splitlines()[0].split() == ["COMPONENT", "STATUS", "VERSION", "DETAILS"]
    for item in report.items:
        assert item.name in text
    missing = [i for i in report.items if not i.usable]
    if missing:
        assert "To install what is missing:" in text
        assert all(i.install in text for i in missing)


def test_report_with_a_required_problem() -> None:
    bad = DoctorReport(
        (
            DoctorItem("onnx", False, None, "onnx is not installed", "pip install onnx"),
            DoctorItem("TensorRT for RTX", True, "1.7", "", required=False, category="tensorrt"),
        )
    )
    assert not bad.ok and bad.problems[0].name == "onnx"
    text = format_text(bad)
    assert "Missing: onnx." in text
    assert "onnx: pip install onnx" in text
    with pytest.raises(KeyError):
        bad.item("nothing")


def test_backend_status_on_this_machine() -> None:
    """The status-bar line names every backend `available_backends()` finds, ✓ or ✗."""
    status = backend_status()
    assert [b.name for b in status.backends] == [b.name for b in backends.available_backends()]
    line = status.summary()
    for info in status.backends:
        mark = f"{info.title} {info.version} ✓" if info.available else f"{info.title} ✗"
        assert mark in line
    assert line.endswith("no GPU") == (not status.gpus.has_gpu)
    assert len(status.details().splitlines()) == len(status.backends) + bool(status.gpus.reason)


def test_backend_status_texts() -> None:
    # The status bar's texts as MainWindow wrote them before #11 (git show
    # 4f6594a:trtgui/gui/main_window.py, _backends_probed).
    rtx = backends.BackendInfo("rtx", "TensorRT for RTX", "tensorrt_rtx", True, "1.2.0.54")
    trt = backends.BackendInfo(
        "tensorrt", "NVIDIA TensorRT", "tensorrt", False, reason="not installed"
    )
    gpu = GpuInfo(0, "NVIDIA H200", (9, 0), 141 * 2**30)
    status = BackendStatus((trt, rtx), GpuReport((gpu,), "12.8"))
    assert status.summary() == (
        "NVIDIA TensorRT ✗  ·  TensorRT for RTX 1.2.0.54 ✓  ·  GPU: NVIDIA H200 (sm 9.0)"
    )
    assert status.details() == "NVIDIA TensorRT: not installed\nTensorRT for RTX: available"
    none = BackendStatus((rtx,), GpuReport((), None, "no NVIDIA GPU driver is loaded"))
    assert none.summary() == "TensorRT for RTX 1.2.0.54 ✓  ·  no GPU"
    assert none.details().splitlines()[-1] == "GPU: no NVIDIA GPU driver is loaded"
