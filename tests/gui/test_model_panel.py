"""The Model panel renders a real ModelInfo: summary, I/O table with symbolic dims by name,
operator histogram, external-data warnings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from trtgui.core.model.onnx_model import inspect_onnx
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


def test_long_metadata_keeps_the_window_usable(qtbot, window, shared_models: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue #10: PP-OCR's 6,623-line character list (6,625 classes = blank + lines + " ",
    shared/models README) made the window 106,021 px tall. It is shortened in the summary and
    shown in full in a dialog one click away."""
    path = shared_models / "onnx" / "ch_PP-OCRv3_rec_infer.onnx"
    window.open_path(path)
    qtbot.waitUntil(lambda: window.model_info is not None, timeout=20000)
    window._open_handle.wait()
    qtbot.wait(50)  # let the layouts settle
    panel = window.model_panel
    assert window.minimumSizeHint().height() < 1200
    assert window.height() < 1200
    assert panel.height() < 1200
    label = panel.metadata_label.text()
    assert "character" in label and "… (6,623 lines)" in label
    assert label.count("<br>") == 0  # one entry, one preview line (the label may wrap it)
    # The Inference panel's Run button stays on screen.
    inference = window.inference_panel()
    window.show_tab(3)
    qtbot.wait(50)
    run = inference.controls.run_button
    run_at = run.mapTo(window, run.rect().bottomLeft())
    assert 0 < run_at.y() < window.height()
    # The full list is one click on "Show…" away.
    full = window.model_info.metadata["character"]
    panel.metadata_label.linkActivated.emit("meta:0")  # what clicking "Show…" emits
    dialog = panel.metadata_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.value() == full
    assert len(dialog.value().splitlines()) == 6623
    assert dialog.text.isReadOnly()
    dialog.close()


def test_long_dim_names_keep_the_name_column(qtbot, shared_models: Path) -> None:  # type: ignore[no-untyped-def]
    """en_PP-OCRv4_rec names its dims "p2o.DynamicDimension.0": the Shape column elides, the Name
    column keeps its contents' width, the full shape is in the tooltip."""
    from PySide6.QtWidgets import QApplication

    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.resize(800, 500)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_model(inspect_onnx(shared_models / "onnx" / "en_PP-OCRv4_rec_infer.onnx"))
    QApplication.processEvents()
    view = panel.io_table
    header = view.horizontalHeader()
    longest = max(view.fontMetrics().horizontalAdvance(n) for n in _column(panel.io_model, 1))
    assert header.sectionSize(1) >= longest  # "softmax_2.tmp_0" whole, not "Nam"
    assert _column(panel.io_model, 3)[0] == "p2o.DynamicDimension.0×3×?×p2o.DynamicDimension.1"
    tip = panel.io_model.data(panel.io_model.index(0, 3), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("p2o.DynamicDimension.0×3×?×p2o.DynamicDimension.1\n")
    # Its metadata is an HTML page (shared/models README): it does not widen the panel either.
    assert panel.minimumSizeHint().width() < 1000
    assert "… (2,359 lines)" in panel.metadata_label.text()


def test_many_metadata_entries_list_six_and_show_all(qtbot, made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import onnx

    model = onnx.load(made_models["static_conv"].path)
    entries = {f"key{i}": f"value {i}" for i in range(9)}
    onnx.helper.set_model_props(model, entries)
    path = tmp_path / "meta.onnx"
    onnx.save(model, path)
    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.set_model(inspect_onnx(path))
    text = panel.metadata_label.text()
    assert "<b>key5</b> = value 5" in text and "key6" not in text
    assert "… 3 more" in text and 'href="meta:"' in text
    panel.metadata_label.linkActivated.emit("meta:")
    dialog = panel.metadata_dialog
    assert dialog is not None
    assert dialog.keys.count() == 9 and dialog.value() == "value 0"
    dialog.show_key("key8")
    assert dialog.value() == "value 8"
    dialog.close()


def test_warnings_escape_names_from_the_file(qtbot, made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A custom op's domain is the file's text: shown as written, never as markup."""
    import onnx

    model = onnx.load(made_models["unknown_op"].path)
    for node in model.graph.node:
        if node.domain == "com.example":
            node.domain = "<i>x</i>"
    model.opset_import.append(onnx.helper.make_opsetid("<i>x</i>", 1))
    path = tmp_path / "markup.onnx"
    onnx.save(model, path)
    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_model(inspect_onnx(path))
    assert panel.warnings.isVisible()
    assert "&lt;i&gt;x&lt;/i&gt;:FancyOp" in panel.warnings.text()
