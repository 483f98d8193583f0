"""Shared widget helpers: secondary text stays readable in both themes and follows a switch."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from trtgui.gui import style
from trtgui.gui.widgets import muted_colour, muted_label, show_file


def _luminance(c: QColor) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.red()) + 0.7152 * channel(c.green()) + 0.0722 * channel(c.blue())


def _contrast(a: QColor, b: QColor) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_muted_text_is_readable_and_follows_the_theme(qtbot) -> None:  # type: ignore[no-untyped-def]
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = style.current_mode()
    label = muted_label("a note")
    file_label = QLabel()
    qtbot.addWidget(label)
    qtbot.addWidget(file_label)
    try:
        seen = {}
        for mode in ("light", "dark"):
            style.apply_theme(app, mode)
            app.processEvents()
            if mode == "light":  # shown before the switch: the colour must be redone after it
                show_file(file_label, Path("/models/demo.engine"), "/models")
            window = app.palette().color(QPalette.ColorRole.Window)
            colour = label.palette().color(QPalette.ColorRole.WindowText)
            assert colour == muted_colour()
            assert _contrast(colour, window) >= 4.5, (mode, colour.name(), window.name())
            assert muted_colour().name() in file_label.text()
            seen[mode] = colour.name()
        assert seen["light"] != seen["dark"]
    finally:
        style.apply_theme(app, before)
