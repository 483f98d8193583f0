"""Fixtures of the GUI robustness tests: a real MainWindow with its settings in the test's
folder, and the texts of the message boxes it tried to show (none really opens). Qt is
imported inside them, so the CLI and core robustness tests run without it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def boxes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Texts of the message boxes the window tried to show; none is really opened."""
    from PySide6 import QtWidgets

    shown: list[str] = []

    def record(box: Any, *args: Any) -> int:
        shown.append(box.text())
        return 0

    monkeypatch.setattr(QtWidgets.QMessageBox, "open", record)
    monkeypatch.setattr(QtWidgets.QMessageBox, "exec", record)
    return shown


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    from PySide6 import QtCore

    from trtgui.gui import workers
    from trtgui.gui.main_window import MainWindow

    folder = tmp_path / "qsettings"
    for fmt in (QtCore.QSettings.Format.NativeFormat, QtCore.QSettings.Format.IniFormat):
        QtCore.QSettings.setPath(fmt, QtCore.QSettings.Scope.UserScope, str(folder))
    settings = QtCore.QSettings(str(tmp_path / "trtgui.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    workers.stop_all(30000)
