"""The Engine panel's words for typed core records (gui/engine_text.py), without widgets."""

from __future__ import annotations

from pathlib import Path

from trtgui.core.build.record import parse_record
from trtgui.core.build.settings import BuildSettings
from trtgui.core.engine.plan import EngineCheck, InstalledBackend, PlanHeader, Verdict
from trtgui.core.model.profiles import InputShape, Precision, ShapeProfile
from trtgui.gui.engine_text import (
    NO_RECORD,
    enum_words,
    header_items,
    record_items,
    settings_items,
    verdict_banner,
)

HEADER = PlanHeader(Path("/x/m.engine"), 2048, "ftrt", 0, (10, 13, 0, 35), "tensorrt")


def _check() -> EngineCheck:
    return EngineCheck(
        header=HEADER,
        verdict=Verdict("needs_gpu", "built with NVIDIA TensorRT 10.13, no GPU here", False),
        installed=(
            InstalledBackend("tensorrt", "NVIDIA TensorRT", True, "10.13.0.35"),
            InstalledBackend("rtx", "TensorRT for RTX", False, None),
        ),
        gpus=(),
        gpu_reason="no NVIDIA GPU driver is loaded on this machine",
        record=None,
        record_path=Path("/x/m.engine.json"),
    )


def test_settings_in_the_build_panels_words() -> None:
    settings = BuildSettings(
        onnx_path="/m/a.onnx",
        backend="rtx",
        precision=Precision.AUTO,
        workspace_bytes=512 << 20,
        compute_capabilities=("8.6", "8.9"),
        profiles=(ShapeProfile((InputShape("x", (1, 3), (2, 3), (4, 3)),)),),
    )
    assert dict(settings_items(settings)) == {
        "ONNX model": "/m/a.onnx",
        "Precision": "TensorRT chooses (weak typing)",  # Precision.AUTO's label
        "Backend setting": "TensorRT for RTX",
        "Optimization level": "3",  # BuildSettings' default
        "Workspace": "512.0 MiB",  # 512 << 20 bytes
        "Profiling verbosity": "detailed",
        "Compute capabilities": "8.6, 8.9",
        "Profiles": "1",
    }
    plain = dict(settings_items(BuildSettings()))
    assert plain["Backend setting"] == "default (best installed)"
    assert plain["Workspace"] == "TensorRT default"
    assert plain["Profiles"] == "none (static shapes)"
    assert plain["ONNX model"] == "—"


def test_record_items_and_no_record() -> None:
    assert record_items(None) == NO_RECORD
    items = dict(
        record_items(
            parse_record(
                {
                    "backend": "rtx",
                    "backend_version": "1.7.1.116",
                    "created": "2025-01-31T12:00:00+00:00",
                    "build_seconds": 1.234,
                    "engine_bytes": 3 << 20,
                    "warning_count": 2,
                    "settings": {"precision": "fp16"},
                }
            )
        )
    )
    assert items["Backend"] == "TensorRT for RTX 1.7.1.116"
    assert items["Built on"] == "2025-01-31 12:00:00+00:00"
    assert items["Build time"] == "1.23 s"
    assert items["Engine size"] == "3.0 MiB"
    assert items["Warnings / errors"] == "2 / 0"  # no error count recorded: none
    assert items["Precision"] == "FP16"


def test_header_items_and_banner_say_things_in_words() -> None:
    check = _check()
    items = dict(header_items(HEADER.path, check, None))
    assert items["Built with"] == "NVIDIA TensorRT 10.13.0.35"
    assert items["Size"] == "2.0 KiB"
    assert items["Installed here"] == "NVIDIA TensorRT 10.13.0.35; TensorRT for RTX (not installed)"
    assert items["GPU"] == "none — no NVIDIA GPU driver is loaded on this machine"
    level, line, details = verdict_banner(check)
    assert level == "warning"
    assert line.startswith("This engine cannot be loaded here: no usable NVIDIA GPU")
    assert details.splitlines()[0] == "Verdict: Needs a supported NVIDIA GPU to load or run."
    assert "needs_gpu" not in details
    assert enum_words("LAYER_NAMES_ONLY") == "layer names only"
