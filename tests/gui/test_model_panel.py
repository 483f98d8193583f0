"""The Model panel renders a real ModelInfo: summary, I/O table with symbolic dims by name,
operator histogram, external-data warnings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from trtgui.core.onnx_model import inspect_onnx
from trtgui.gui.model_panel import ModelPanel


def _column(model, col: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        model.data(model.index(r, col), Qt.ItemDataRole.DisplayRole)
        for r in range(model.rowCount())
    ]


def test_dynamic_model_shows_symbolic_dims(qtbot, made_models) -> None:  # type: ignore[no-untyped-def]
    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.set_model(inspect_onnx(made_models["dynamic_spatial"].path))
    io = panel.io_model
    assert io.rowCount() == 2
    assert _column(io, 0) == ["input", "output"]
    assert _column(io, 1) == ["input", "output"]
    assert _column(io, 3) == ["N×3×H×W", "N×8"]
    assert _column(io, 4) == ["yes", "yes"]
    assert panel.build_button.isEnabled()
    ops = dict(zip(_column(panel.ops_model, 0), _column(panel.ops_model, 1), strict=True))
    assert ops == made_models["dynamic_spatial"].ops


def test_multi_io_types(qtbot, made_models) -> None:  # type: ignore[no-untyped-def]
    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.set_model(inspect_onnx(made_models["multi_io"].path))
    assert _column(panel.io_model, 2) == ["float32", "int64", "float32", "float32", "float32"]
    assert not panel.warnings.isVisible()


def test_missing_external_data_warns(qtbot, made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    made = made_models["external_data"]
    model = tmp_path / made.path.name
    model.write_bytes(made.path.read_bytes())  # the weights file stays behind
    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_model(inspect_onnx(model))
    assert panel.warnings.isVisible()
    assert "missing" in panel.warnings.text()


def test_real_model(qtbot, shared_models: Path) -> None:  # type: ignore[no-untyped-def]
    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.set_model(inspect_onnx(shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"))
    assert _column(panel.io_model, 3) == ["batch×3×224×224", "batch×1000"]
    assert _column(panel.ops_model, 0)[0] == "Constant"  # most frequent first
    assert panel.title.text() == "efficientnet_lite0_dynbatch.onnx"
