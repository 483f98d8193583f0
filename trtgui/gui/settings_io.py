"""Build > Import / Export Build Settings: ask for a file, read or write it through
`BuildSettings`, hand the settings to the Build panel, and show what went wrong.

Reading and validating the JSON is core's (`BuildSettings.load` names a bad field and what it
must be); this module only asks for paths, routes the result and shows errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog, QWidget

from trtgui.core.errors import TrtGuiError
from trtgui.gui.errors import show_error

if TYPE_CHECKING:
    from trtgui.core.build.settings import BuildSettings
    from trtgui.gui.main_window import MainWindow
    from trtgui.gui.workers import WorkerHandle

SETTINGS_FILTER = "Build settings (*.json)"


def save_settings(parent: QWidget, settings: BuildSettings, path: str | Path) -> bool:
    """Write `settings` to `path`; False after showing why it could not be written. Never
    onto the model or the engine the settings name, a folder or a special file; a failed
    write (a full disk) leaves an existing file as it was."""
    from trtgui.core.files import check_output_path, write_failure

    named = {
        settings.onnx_path: "the ONNX model itself",
        settings.output_path: "the engine file these settings build",
    }
    try:
        check_output_path(
            path, inputs=[(p, words) for p, words in named.items() if p], kind="settings file"
        )
        settings.save(path)
    except TrtGuiError as exc:
        show_error(parent, exc)
        return False
    except OSError as exc:
        show_error(parent, write_failure(exc, path, "settings file"))
        return False
    return True


class _Import(QObject):
    """Carries one import's outcome from its worker into the GUI thread."""

    def __init__(self, window: MainWindow, path: Path) -> None:
        super().__init__(window)
        self._window = window
        self._path = path

    @Slot(object)
    def loaded(self, read: tuple[BuildSettings, bool]) -> None:
        self.deleteLater()
        apply_settings(self._window, self._path, *read)

    @Slot(object)
    def failed(self, err: BaseException) -> None:
        self.deleteLater()
        show_error(self._window, err)


def import_settings(window: MainWindow, path: str | Path) -> WorkerHandle:
    """Read build settings in a worker (a file can be slow, large or not a file at all:
    the window must not wait on it), then `apply_settings`; errors go to the funnel."""
    from trtgui.core.build.settings import BuildSettings
    from trtgui.gui.workers import call_job, start_worker

    file = Path(path)
    receiver = _Import(window, file)

    def read() -> tuple[BuildSettings, bool]:
        settings = BuildSettings.load(file)
        return settings, _is_file(settings.onnx_path)

    return start_worker(
        call_job(read),
        name="import settings",
        on_succeeded=receiver.loaded,
        on_failed=receiver.failed,
    )


def _is_file(path: str) -> bool:
    """Whether `path` names a file; False for "" and for paths the system refuses (too long:
    Path.is_file raises ENAMETOOLONG rather than answer)."""
    try:
        return bool(path) and Path(path).is_file()
    except (OSError, ValueError):
        return False


def apply_settings(
    window: MainWindow, path: str | Path, settings: BuildSettings, model_exists: bool
) -> None:
    """Hand settings read from `path` to the Build panel; first open the model they were
    saved for when it is another one and still there (`model_exists`, found by the worker
    that read them)."""
    window.state.remember_folder(Path(path))
    panel = window.build_panel()
    if panel is None:
        return
    onnx = Path(settings.onnx_path) if settings.onnx_path else None
    current = window.model_info.path if window.model_info is not None else None
    if onnx is not None and onnx != current and model_exists:
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
