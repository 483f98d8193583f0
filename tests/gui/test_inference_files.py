"""The Inference panel's Open dialogs start beside the file they replace, and a drop is told
apart as a model/engine or an image by its suffix (trtgui.core.paths' lists)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QFileDialog, QWidget

from trtgui.gui import inference_files


class _RecordingDialog:
    """A test double for QFileDialog.getOpenFileName: records where it was opened and
    answers with a fixed choice (empty: the user cancelled)."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, parent: QWidget, title: str, start: str, filters: str) -> tuple[str, str]:
        self.calls.append((title, start, filters))
        return self.answer, ""


def test_dialogs_start_beside_the_current_file(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    dialog = _RecordingDialog(str(tmp_path / "labels.txt"))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", dialog)
    model = tmp_path / "models" / "net.onnx"
    labels = tmp_path / "lists" / "names.txt"

    assert inference_files.ask_labels(parent, None, model) == tmp_path / "labels.txt"
    assert inference_files.ask_labels(parent, labels, model) == tmp_path / "labels.txt"
    assert inference_files.ask_image(parent, None) == tmp_path / "labels.txt"
    starts = [start for _title, start, _filters in dialog.calls]
    # no labels yet: beside the model; then beside the labels; no image yet: anywhere
    assert starts == [str(model.parent), str(labels.parent), ""]
    assert "*.png" in dialog.calls[2][2] and dialog.calls[2][2].endswith("All files (*)")

    dialog.answer = ""  # cancelled
    assert inference_files.ask_model(parent, model) is None
    assert "*.onnx" in dialog.calls[3][2] and "*.engine" in dialog.calls[3][2]


@pytest.mark.parametrize(
    ("name", "is_model"),
    [("a.onnx", True), ("a.ENGINE", True), ("a.plan", True), ("a.jpg", False), ("a", False)],
)
def test_a_drop_is_a_model_or_engine_by_suffix(name: str, is_model: bool) -> None:
    assert inference_files.is_model_or_engine(Path(name)) is is_model
