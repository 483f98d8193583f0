"""The Build result view's "Precision check" card (#13), for a real FP16 build that is ok
and for a real broken INT8 conversion the check refused (with its retry); the Build form's
switch that builds anyway. With TRTGUI_SCREENSHOTS=1 the
cards are saved as packaging/screenshots/precision-ok.png and precision-broken.png, or in
the folder TRTGUI_SCREENSHOTS_DIR names (packaging/make_screenshots.py --out)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget

from tests.core.test_accuracy import _fp16_settings
from tests.core.test_accuracy_retry import ort_default_quantizer
from tests.core.test_int8_placement import DOCLAYNET_SPEC
from trtgui.core.build.accuracy_record import ConversionRejected
from trtgui.core.build.builder import build_engine
from trtgui.core.build.result import BuildResult
from trtgui.core.build.settings import BuildSettings
from trtgui.core.model import int8, qdq_placement
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.model.profiles import Precision, suggest_profiles
from trtgui.core.predict.accuracy import check_conversion
from trtgui.gui.build_result_view import BuildResultView

SCREENSHOTS = Path(__file__).resolve().parents[2] / "packaging" / "screenshots"


def _grab(view: QWidget, name: str) -> None:
    if os.environ.get("TRTGUI_SCREENSHOTS") == "1":
        folder = Path(os.environ.get("TRTGUI_SCREENSHOTS_DIR") or SCREENSHOTS)
        view.grab().save(str(folder / name))


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


def test_card_of_a_refused_int8_conversion(
    qtbot, shared_models: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A real refused build: doclaynet quantized as ONNX Runtime does by default (see
    test_accuracy_retry), refused by the check, with the retry that found the fix."""
    monkeypatch.setattr(int8, "_quantize_builtin", ort_default_quantizer)
    monkeypatch.setattr(qdq_placement, "unquantize_non_compute", lambda model: False)
    source = shared_models / "onnx" / "yolov8n-doclaynet.onnx"
    settings = BuildSettings(
        onnx_path=str(source),
        output_path=str(tmp_path / "doc.int8.engine"),
        backend="rtx",
        precision=Precision.INT8,
        calibration_dir=str(shared_models / "images"),
        preprocess=DOCLAYNET_SPEC,
        profiles=suggest_profiles(inspect_onnx(source)),
    )
    with pytest.raises(ConversionRejected) as caught:
        build_engine(settings, check_conversion=check_conversion)
    view = BuildResultView()
    qtbot.addWidget(view)
    view.resize(760, 560)
    view.show_result(_fake_previous_result(tmp_path), None)  # an earlier build's tables
    view.show()
    view.show_rejected(caught.value.report)
    text = view.precision_text.text()
    assert "Broken</b>" in text
    assert "No engine was written" in view.result_summary.text()
    assert "Detections kept (F1): 0.000 (decides the verdict)" in text
    # The detections decided: the raw outputs' cosine would contradict them, so it is left out.
    assert "Cosine similarity" not in text and "relative error" not in text
    assert "Worst images: " in text
    assert (
        "Retried</b> with the 16 nodes after the last Conv (4 of them float already) in float"
        in text
    )
    assert "Kept in float: /model.22/Reshape_3" in text and "--int8-exclude" in text
    # No engine: the I/O and profile tables of the earlier build are gone, not left behind.
    assert not view.tables.isVisible() and view.precision_card.isVisible()
    assert not view.show_engine_button.isEnabled()
    _grab(view, "precision-broken.png")


def _fake_previous_result(tmp_path: Path) -> BuildResult:
    """A stand-in for an earlier successful build shown in the view (only its tables matter)."""
    from trtgui.core.tensors import TensorSpec

    return BuildResult(
        engine_path=tmp_path / "old.engine",
        sidecar_path=tmp_path / "old.engine.json",
        settings=BuildSettings(),
        backend="rtx",
        backend_version="1.7",
        build_seconds=1.0,
        engine_bytes=1,
        warning_count=0,
        error_count=0,
        io_tensors=(TensorSpec("images", "float32", (1, 3, 1024, 1024), True),),
        converted_onnx_path=None,
    )


def test_build_form_switch_accepts_the_loss(qtbot) -> None:  # type: ignore[no-untyped-def]
    from trtgui.gui.build_form import BuildForm
    from trtgui.gui.commands import cli_command

    form = BuildForm()
    qtbot.addWidget(form)
    assert form.accept_loss.text() == "Build even if the precision check fails"
    assert not form.accept_loss.isEnabledTo(form)  # FP32 is not converted, so not checked
    form.set_settings(BuildSettings(precision=Precision.INT8))
    assert form.accept_loss.isEnabledTo(form) and not form.settings().accept_accuracy_loss
    form.accept_loss.click()
    settings = form.settings()
    assert settings.accept_accuracy_loss
    # Saved like every build setting, and the equivalent command line says it too.
    assert BuildSettings.from_json(settings.to_json()).accept_accuracy_loss
    assert "--accept-accuracy-loss" in cli_command(settings)
    form.set_settings(BuildSettings(precision=Precision.FP16))
    assert not form.accept_loss.isChecked()
