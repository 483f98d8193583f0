"""The error funnel: message box with the one-line message and Details, a log line, the
status bar; uncaught exceptions from any thread land there too."""

from __future__ import annotations

import logging
import sys
import threading

import pytest
from PySide6.QtWidgets import QMainWindow

from trtgui.core.errors import ModelLoadError
from trtgui.gui import errors
from trtgui.gui.errors import install_excepthooks, show_error, uninstall_excepthooks


@pytest.fixture
def main_window(qtbot):  # type: ignore[no-untyped-def]
    win = QMainWindow()
    qtbot.addWidget(win)
    win.show()
    return win


def test_trtgui_error(main_window, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.ERROR, logger="trtgui.gui"):
        box = show_error(main_window, ModelLoadError("The file is not an ONNX model.", "parse: x"))
    assert box.text() == "The file is not an ONNX model."
    assert box.detailedText() == "parse: x"
    assert box.isVisible()
    assert main_window.statusBar().currentMessage() == "The file is not an ONNX model."
    assert "The file is not an ONNX model." in caplog.text
    box.close()


def test_unexpected_error_has_traceback(main_window) -> None:  # type: ignore[no-untyped-def]
    try:
        raise ValueError("boom")
    except ValueError as exc:
        box = show_error(main_window, exc)
    assert box.text() == "Unexpected error: ValueError: boom"
    assert "Traceback" in box.detailedText()
    assert "raise ValueError" in box.detailedText()
    box.close()


def test_excepthooks_route_to_the_funnel(qtbot, main_window) -> None:  # type: ignore[no-untyped-def]
    install_excepthooks()
    try:
        try:
            raise RuntimeError("main thread")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
        qtbot.waitUntil(lambda: errors.last_box is not None, timeout=2000)
        assert errors.last_box.text() == "Unexpected error: RuntimeError: main thread"
        errors.last_box.close()
        qtbot.waitUntil(lambda: errors.last_box is None, timeout=2000)

        def fail() -> None:
            raise KeyError("in a thread")

        t = threading.Thread(target=fail)
        t.start()
        t.join()
        qtbot.waitUntil(lambda: errors.last_box is not None, timeout=2000)
        assert "KeyError" in errors.last_box.text()
        assert "in a thread" in errors.last_box.detailedText()
    finally:
        uninstall_excepthooks()
