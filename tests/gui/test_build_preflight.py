"""The checks before a build starts (`build_preflight.settings_to_build`), without a panel:
each refusal is a TrtGuiError of the right kind, and the engine path is filled in."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from tests import onnx_factory
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import OutputPathError, SettingsError, TrtGuiError
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.model.profiles import Precision
from trtgui.gui.build_preflight import settings_to_build


def test_no_model_is_refused_before_the_settings_are_read() -> None:
    def unread() -> BuildSettings:
        raise AssertionError("the settings must not be read without a model")

    with pytest.raises(TrtGuiError, match="Open an ONNX model first"):
        settings_to_build(None, unread)


def test_the_engine_path_defaults_to_beside_the_model(tmp_path: Path) -> None:
    model = onnx_factory.static_conv(tmp_path).path
    settings = settings_to_build(inspect_onnx(model), lambda: BuildSettings(onnx_path=str(model)))
    # default_output_for's docstring: "model.engine (FP32) ... beside the model"
    assert Path(settings.output_path) == tmp_path / "static_conv.engine"


def test_int8_without_calibration_images_is_refused(tmp_path: Path) -> None:
    model = onnx_factory.static_conv(tmp_path).path
    int8 = BuildSettings(onnx_path=str(model), precision=Precision.INT8)
    with pytest.raises(SettingsError, match="INT8 needs calibration images"):
        settings_to_build(inspect_onnx(model), lambda: int8)


def test_an_engine_path_onto_the_model_is_refused(tmp_path: Path) -> None:
    model = onnx_factory.static_conv(tmp_path).path
    onto = BuildSettings(onnx_path=str(model), output_path=str(model))
    with pytest.raises(OutputPathError, match="the ONNX model itself"):
        settings_to_build(inspect_onnx(model), lambda: onto)
    assert [p.name for p in tmp_path.iterdir()] == ["static_conv.onnx"]  # nothing written
