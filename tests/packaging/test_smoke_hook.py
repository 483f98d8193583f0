"""trtgui.gui.smoke: the hook the bundle's smoke test drives through environment variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QLabel, QTableView, QVBoxLayout, QWidget

from trtgui.gui import smoke


def _window(cell: str) -> QWidget:
    window = QWidget()
    window.setWindowTitle("model.onnx — trtgui")
    layout = QVBoxLayout(window)
    layout.addWidget(QLabel("Inputs and outputs"))
    table = QTableView()
    table.setObjectName("io_table")
    model = QStandardItemModel(0, 2, table)
    model.appendRow([QStandardItem("output"), QStandardItem(cell)])
    table.setModel(model)
    layout.addWidget(table)
    return window


def _report(stderr: str) -> dict[str, object]:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("trtgui-smoke: ")]
    assert len(lines) == 1, stderr
    return json.loads(lines[0].removeprefix("trtgui-smoke: "))  # type: ignore[no-any-return]


def test_off_without_the_variable(monkeypatch: pytest.MonkeyPatch, qapp: QApplication) -> None:
    monkeypatch.delenv("TRTGUI_QUIT_AFTER_MS", raising=False)
    window = _window("logits")
    assert smoke.install(qapp, window) is False
    window.deleteLater()


def test_quits_with_0_once_the_expected_text_shows(
    monkeypatch: pytest.MonkeyPatch,
    qapp: QApplication,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    shot = tmp_path / "shot.png"
    monkeypatch.setenv("TRTGUI_QUIT_AFTER_MS", "10000")
    monkeypatch.setenv("TRTGUI_SMOKE_EXPECT", "logits")
    monkeypatch.setenv("TRTGUI_SMOKE_SCREENSHOT", str(shot))
    window = _window("logits")
    window.show()
    assert smoke.install(qapp, window) is True
    assert qapp.exec() == 0
    report = _report(capfd.readouterr().err)
    assert report["ok"] is True and report["found"] is True
    assert report["title"] == "model.onnx — trtgui"
    assert report["rows"] == {"io_table": 1}
    assert report["screenshot"] == str(shot) and shot.stat().st_size > 0
    assert not window.isVisible()  # closed, so its own shutdown ran
    window.deleteLater()


def test_quits_with_3_when_the_text_never_shows(
    monkeypatch: pytest.MonkeyPatch, qapp: QApplication, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRTGUI_QUIT_AFTER_MS", "300")
    monkeypatch.setenv("TRTGUI_SMOKE_EXPECT", "logits")
    monkeypatch.delenv("TRTGUI_SMOKE_SCREENSHOT", raising=False)
    window = _window("something else")
    window.show()
    smoke.install(qapp, window)
    assert qapp.exec() == smoke.EXIT_NOT_FOUND
    report = _report(capfd.readouterr().err)
    assert report["ok"] is False and report["found"] is False
    assert "something else" in report["texts"]  # type: ignore[operator]
    window.deleteLater()


def test_bad_value_is_ignored(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRTGUI_QUIT_AFTER_MS", "soon")
    assert smoke.quit_after_ms() is None
    assert "not an integer" in capfd.readouterr().err
