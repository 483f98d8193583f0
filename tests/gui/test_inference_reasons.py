"""The Inference panel says why it guessed the preprocessing and why it read the outputs as
it did, and offers the other presets when the guess is unsure."""

from __future__ import annotations

from pathlib import Path

from trtgui.core.imaging import PresetGuess
from trtgui.gui.inference_panel import InferencePanel


def _panel(qtbot) -> InferencePanel:  # type: ignore[no-untyped-def]
    panel = InferencePanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    return panel


def test_preset_and_kind_reasons_are_shown(qtbot, shared_models: Path) -> None:  # type: ignore[no-untyped-def]
    panel = _panel(qtbot)
    panel.show()
    panel.set_model(shared_models / "onnx" / "retinaface_mnet025_tiny.onnx")
    panel.open_image(shared_models / "images" / "astronaut.png")
    qtbot.waitUntil(lambda: not panel.is_loading(), timeout=30000)
    guess = panel.controls.guess_label
    # RetinaFace's outputs loc/conf/landmarks: the shared README's inputs → outputs column.
    assert guess.isVisible() and "landmarks" in guess.text() and "retinaface" in guess.text()
    assert not panel.controls.alternatives.isVisible()  # a sure guess offers no other choice
    assert not panel.controls.kind_reason_label.isVisible()  # nothing run yet
    with qtbot.waitSignal(panel.run_finished, timeout=60000):
        panel.controls.run_button.click()
    panel.wait()
    reason = panel.controls.kind_reason_label
    assert reason.isVisible() and reason.text().startswith("faces:") and "loc" in reason.text()
    panel.set_model(shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx")
    qtbot.waitUntil(lambda: not panel.is_loading(), timeout=30000)
    assert not reason.isVisible()  # another model: the old reason is gone
    assert "tflite" in guess.text()


def test_unsure_guess_offers_each_other_preset(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QPushButton

    panel = _panel(qtbot)
    panel.show()
    controls = panel.controls
    controls.show_preset_guess(
        PresetGuess("yolo", "square input, in-graph decode → yolo", ("yolo-stretch",))
    )
    buttons = controls.alternatives.findChildren(QPushButton)
    assert [b.text() for b in buttons] == ["yolo-stretch"]
    assert controls.alternatives.isVisible()
    buttons[0].click()
    assert controls.form.spec().preset == "yolo-stretch"
    controls.show_preset_guess(None)
    assert not controls.guess_label.isVisible() and not controls.alternatives.isVisible()


def test_text_recogniser_fills_the_text_table(qtbot, shared_models: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    # One printed line of page.png (rows 44-72); its words read by eye from the picture.
    line = tmp_path / "line.png"
    Image.open(shared_models / "images" / "page.png").crop((0, 44, 384, 72)).save(line)
    panel = _panel(qtbot)
    panel.show()
    panel.set_model(shared_models / "onnx" / "en_PP-OCRv4_rec_infer.onnx")
    panel.open_image(line)
    qtbot.waitUntil(lambda: not panel.is_loading(), timeout=30000)
    # The metadata's `character` is an HTML page here: the dictionary file (shared README).
    panel.controls.labels_edit.setText(str(shared_models / "onnx" / "en_PP-OCRv4_rec_dict.txt"))
    with qtbot.waitSignal(panel.run_finished, timeout=60000):
        panel.controls.run_button.click()
    panel.wait()
    view = panel.results
    assert view.result_stack.currentWidget() is view.text_view
    model = view.text_model
    assert model.rowCount() == 1
    text = model.data(model.index(0, 1))
    assert "markers of the coins" in text
    # The shared README: en PP-OCRv4 rec reads page.png's lines with p 0.95-0.99.
    assert float(model.data(model.index(0, 2)).rstrip("%")) >= 90
