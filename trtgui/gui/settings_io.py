"""Build > Import / Export Build Settings: ask for a file, read or write it through
`BuildSettings`, hand the settings to the Build panel, and show what went wrong.

Reading and validating the JSON is core's (`BuildSettings.load` names a bad field and what it
must be); this module only asks for paths, routes the result and shows errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QWidget

from trtgui.core.errors import TrtGuiError
from trtgui.gui.errors import show_error

if TYPE_CHECKING:
    from trtgui.core.build.settings import BuildSettings
    from trtgui.gui.main_window import MainWindow

SETTINGS_FILTER = "Build settings (*.json)"


def load_settings(parent: QWidget, path: str | Path) -> BuildSettings | None:
    """The settings in `path`; None after showing why they cannot be used."""
    from trtgui.core.build.settings import BuildSettings

    try:
        return BuildSettings.load(path)
    except TrtGuiError as exc:
        show_error(parent, exc)
        return None


def save_settings(parent: QWidget, settings: BuildSettings, path: str | Path) -> bool:
    """Write `settings` to `path`; False after showing why it could not be written."""
    try:
        settings.save(path)
    except TrtGuiError as exc:
        show_error(parent, exc)
        return False
    except OSError as exc:
        show_error(parent, TrtGuiError(f"Cannot write {path}: {exc}", details=repr(exc)))
        return False
    return True


def import_settings(window: MainWindow, path: str | Path) -> None:
    """Load build settings into the Build panel; first open the model they were saved for
    when it is another one and still there."""
    settings = load_settings(window, path)
    if settings is None:
        return
    window.state.remember_folder(Path(path))
    panel = window.build_panel()
    if panel is None:
        return
    onnx = Path(settings.onnx_path) if settings.onnx_path else None
    current = window.model_info.path if window.model_info is not None else None
    if onnx is not None and onnx != current and onnx.is_file():
        panel.set_pending_settings(settings)  # applied once the model is open
        window.open_model(onnx)
    else:
        panel.set_settings(settings)
    window.show_build()
    window.statusBar().showMessage(f"Build settings loaded from {path}", 5000)


def export_settings(window: MainWindow, path: str | Path) -> None:
    """Save the Build panel's settings to `path`."""
    panel = window.build_panel()
    if panel is None:
        return
    try:
        settings = panel.settings()
    except TrtGuiError as exc:  # half-edited profiles: say which cell
        show_error(window, exc)
        return
    if save_settings(window, settings, path):
        window.state.remember_folder(Path(path))
        window.statusBar().showMessage(f"Build settings saved to {path}", 5000)


def import_dialog(window: MainWindow) -> None:
    path, _ = QFileDialog.getOpenFileName(
        window, "Import build settings", window.last_folder(), SETTINGS_FILTER
    )
    if path:
        import_settings(window, path)


def export_dialog(window: MainWindow) -> None:
    # `model.build.json` beside the model, else the last folder
    model = window.model_info.path if window.model_info is not None else None
    start = str(model.with_suffix(".build.json")) if model is not None else window.last_folder()
    path, _ = QFileDialog.getSaveFileName(window, "Export build settings", start, SETTINGS_FILTER)
    if path:
        export_settings(window, path)
