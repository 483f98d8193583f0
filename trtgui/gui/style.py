"""Light and dark palettes: follow the system colour scheme when it says, or a manual choice.

Modes: "system" (the OS colour scheme; light when it reports Unknown, as offscreen does),
"light", "dark". The Fusion style is used so both palettes look the same everywhere.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

MODES = ("system", "light", "dark")

_current_mode = "system"
_connected = False


def system_is_dark() -> bool:
    scheme = QGuiApplication.styleHints().colorScheme()
    return scheme == Qt.ColorScheme.Dark


def light_palette() -> QPalette:
    p = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#f3f3f3",
        QPalette.ColorRole.WindowText: "#1e1e1e",
        QPalette.ColorRole.Base: "#ffffff",
        QPalette.ColorRole.AlternateBase: "#f0f3f7",
        QPalette.ColorRole.ToolTipBase: "#ffffdc",
        QPalette.ColorRole.ToolTipText: "#1e1e1e",
        QPalette.ColorRole.PlaceholderText: "#8a8a8a",
        QPalette.ColorRole.Text: "#1e1e1e",
        QPalette.ColorRole.Button: "#ececec",
        QPalette.ColorRole.ButtonText: "#1e1e1e",
        QPalette.ColorRole.BrightText: "#d00000",
        QPalette.ColorRole.Highlight: "#3d7ad6",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#1f5fbf",
        QPalette.ColorRole.Mid: "#c8c8c8",
        QPalette.ColorRole.Midlight: "#e3e3e3",
        QPalette.ColorRole.Dark: "#a0a0a0",
        QPalette.ColorRole.Shadow: "#707070",
    }
    return _palette(p, colors, disabled="#a0a0a0")


def dark_palette() -> QPalette:
    p = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#2b2b2e",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1e1e20",
        QPalette.ColorRole.AlternateBase: "#26262a",
        QPalette.ColorRole.ToolTipBase: "#3a3a3e",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#8c8c8c",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#38383c",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Highlight: "#3d7ad6",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#6ea8ff",
        QPalette.ColorRole.Mid: "#4a4a4f",
        QPalette.ColorRole.Midlight: "#404045",
        QPalette.ColorRole.Dark: "#1a1a1c",
        QPalette.ColorRole.Shadow: "#101012",
    }
    return _palette(p, colors, disabled="#77777c")


def _palette(p: QPalette, colors: dict[QPalette.ColorRole, str], disabled: str) -> QPalette:
    for role, color in colors.items():
        p.setColor(role, QColor(color))
    _disabled(p, disabled)
    return p


def _disabled(p: QPalette, color: str) -> None:
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(color))


def effective_mode(mode: str) -> str:
    """ "light" or "dark" for `mode`, resolving "system"."""
    if mode == "system":
        return "dark" if system_is_dark() else "light"
    return mode if mode in ("light", "dark") else "light"


def apply_theme(app: QApplication, mode: str = "system") -> str:
    """Apply `mode` to the app; returns the palette used ("light" or "dark")."""
    global _current_mode, _connected
    _current_mode = mode if mode in MODES else "system"
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    resolved = effective_mode(_current_mode)
    app.setPalette(dark_palette() if resolved == "dark" else light_palette())
    if not _connected:
        # Follow the OS when it switches, but only while the mode is "system".
        QGuiApplication.styleHints().colorSchemeChanged.connect(_system_changed)
        _connected = True
    return resolved


def current_mode() -> str:
    return _current_mode


def _system_changed(*_args: object) -> None:
    app = QApplication.instance()
    if _current_mode == "system" and isinstance(app, QApplication):
        apply_theme(app, "system")
