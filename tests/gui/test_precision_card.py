"""The Build result view's "Precision check" card (#13), for a real FP16 build that is ok
and for a real broken INT8 conversion the check refused. With TRTGUI_SCREENSHOTS=1 the
cards are saved as packaging/screenshots/precision-ok.png and precision-broken.png."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QWidget

from tests.core.test_accuracy import _fp16_settings, _quantize_output
from trtgui.core.build.accuracy_record import ConversionSample
from trtgui.core.build.builder import build_engine
from trtgui.core.predict.accuracy import check_conversion
from trtgui.gui.build_result_view import BuildResultView

SCREENSHOTS = Path(__file__).resolve().parents[2] / "packaging" / "screenshots"


def _grab(view: QWidget, name: str) -> None:
    if os.environ.get("TRTGUI_SCREENSHOTS") == "1":
        view.grab().save(str(SCREENSHOTS / name))


def test_card_of_an_ok_fp16_build(qtbot, shared_models: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    settings = _fp16_settings(
        source, tmp_path / "e16.engine", calibration_dir=str(shared_models / "images")
    )
    result = build_engine(settings, check_conversion=check_conversion)
    view = BuildResultView()
    qtbot.addWidget(view)
    view.resize(760, 560)
    view.show_result(result, None)
    view.show()
    assert view.precision_card.isVisible()
    text = view.precision_text.text()
    assert "OK</b>" in text and "Top-1 agreement: 1.000 (decides the verdict)" in text
    assert "Compared on 5 input(s) (5 images from the calibration folder)" in text
    assert "Worst images" not in text  # listed only when the verdict is not ok
    _grab(view, "precision-ok.png")
    view.clear()
    assert not view.precision_card.isVisible()


def test_card_of_a_refused_int8_conversion(qtbot, shared_models: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = shared_models / "onnx" / "yolov8n-doclaynet.onnx"
    broken = tmp_path / "doclaynet.qdq-output.onnx"
    _quantize_output(source, broken, 1024 / 127)  # see test_accuracy: scores round to 0
    images = tuple(shared_models / "images" / n for n in ("page.png", "coffee.png"))
    report = check_conversion(
        ConversionSample(
            source,
            broken,
            "int8",
            images=images,
            images_note="all 2 calibration images reused: too few to hold some back",
            excluded_nodes=("/model.22/Concat_5",),
        )
    )
    view = BuildResultView()
    qtbot.addWidget(view)
    view.resize(760, 560)
    view.show_rejected(report)
    view.show()
    text = view.precision_text.text()
    assert "Broken</b>" in text
    assert "No engine was written" in view.result_summary.text()
    assert "Detections kept (F1): 0.000 (decides the verdict)" in text
    assert "Worst images: " in text and "page.png" in text and "coffee.png" in text
    assert "Kept in float (1 node(s)): /model.22/Concat_5" in text
    assert not view.show_engine_button.isEnabled()
    _grab(view, "precision-broken.png")
