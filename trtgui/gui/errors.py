"""The one error funnel of the GUI: every error a user should see goes through `show_error`.

It shows a message box with the one-line message (details one click away), writes a log line
and puts the message in the status bar. `install_excepthooks` routes uncaught exceptions from
any thread here too, so nothing dies silently.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QWidget

from trtgui.core.errors import TrtGuiError

log = logging.getLogger("trtgui.gui")

# The last message box shown, so tests (and the About/diagnostics code) can find it.
last_box: QMessageBox | None = None


def describe(err: BaseException) -> tuple[str, str]:
    """The (one-line message, details) pair shown for `err`."""
    if isinstance(err, TrtGuiError):
        return err.message or type(err).__name__, err.details
    message = f"Unexpected error: {type(err).__name__}: {err}".strip().rstrip(":")
    details = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    return message.splitlines()[0] if message else "Unexpected error", details


def show_error(parent: QWidget | None, err: BaseException, title: str = "trtgui") -> QMessageBox:
    """Tell the user about `err`: message box + Details, a log line, the status bar.

    The box is window-modal but opened without a nested event loop (`open()`), so callers
    and tests are never blocked. Returns the box.
    """
    global last_box
    message, details = describe(err)
    if isinstance(err, TrtGuiError):
        log.error("%s", message)
    else:
        log.error("%s\n%s", message, details)
    window = parent.window() if parent is not None else None
    if isinstance(window, QMainWindow):
        window.statusBar().showMessage(message, 15000)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(message)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.destroyed.connect(_forget_box)
    last_box = box
    box.open()
    return box


def _forget_box() -> None:
    global last_box
    last_box = None


class _ErrorRouter(QObject):
    """Lives in the GUI thread; a queued signal brings errors from any thread to it."""

    raised = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.raised.connect(self._show, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _show(self, err: BaseException) -> None:
        app = QApplication.instance()
        parent = app.activeWindow() if isinstance(app, QApplication) else None
        if parent is None and isinstance(app, QApplication):
            parent = next((w for w in app.topLevelWidgets() if isinstance(w, QMainWindow)), None)
        show_error(parent, err)


_router: _ErrorRouter | None = None


def install_excepthooks() -> None:
    """Route uncaught exceptions (main thread and Python threads) into the error funnel."""
    global _router
    if _router is None:
        _router = _ErrorRouter()

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        if exc.__traceback__ is None and tb is not None:
            exc = exc.with_traceback(tb)
        _report(exc)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        _report(args.exc_value)

    sys.excepthook = hook
    threading.excepthook = thread_hook


def uninstall_excepthooks() -> None:
    sys.excepthook = sys.__excepthook__
    threading.excepthook = threading.__excepthook__


def _report(exc: BaseException) -> None:
    router = _router
    if router is None or QApplication.instance() is None:
        traceback.print_exception(type(exc), exc, exc.__traceback__)
        return
    # Emitting from a non-GUI thread queues the call into the GUI thread.
    router.raised.emit(exc)
