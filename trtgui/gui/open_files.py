"""What the window opens: the kind of a file by its suffix, the Open dialogs' filters, and
files dragged onto any widget of the window.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QEvent, QMimeData, QObject
from PySide6.QtGui import QDropEvent, QWindow
from PySide6.QtWidgets import QWidget

from trtgui.core.paths import ENGINE_SUFFIXES, IMAGE_SUFFIXES, MODEL_SUFFIXES

FileKind = Literal["models", "engines", "images", "settings"]

MODEL_FILTER = "ONNX models (*.onnx)"
ENGINE_FILTER = "TensorRT engines (" + " ".join(f"*{e}" for e in ENGINE_SUFFIXES) + ")"
IMAGE_FILTER = "Images (" + " ".join(f"*{e}" for e in IMAGE_SUFFIXES) + ")"
OPEN_FILTER = ";;".join(
    [
        "Models, engines and images ("
        + " ".join(f"*{e}" for e in (*MODEL_SUFFIXES, *ENGINE_SUFFIXES, *IMAGE_SUFFIXES))
        + ")",
        MODEL_FILTER,
        ENGINE_FILTER,
        IMAGE_FILTER,
        "All files (*)",
    ]
)


def kind_of(path: str | Path) -> FileKind | None:
    """What a file is by its suffix: "models", "engines", "images", "settings" or None."""
    suffix = Path(path).suffix.lower()
    if suffix in MODEL_SUFFIXES:
        return "models"
    if suffix in ENGINE_SUFFIXES:
        return "engines"
    if suffix in IMAGE_SUFFIXES:
        return "images"
    if suffix == ".json":
        return "settings"
    return None


def dropped_paths(mime: QMimeData | None) -> list[Path]:
    """The local files in a drag that trtgui can open."""
    if mime is None or not mime.hasUrls():
        return []
    paths = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
    return [p for p in paths if kind_of(p) is not None]


class DropFilter(QObject):
    """Files dragged anywhere over `window` go to `open_paths`, whatever widget is under the
    cursor: a text field would otherwise take a dropped file as its path text, and a panel
    would open only its own kind of file.

    It watches the window's QWindow, which receives each drag from the system before handing
    it to the widget under the cursor. (An application-wide filter saw every event of every
    widget, each a call into Python: 83,000 calls and ~1 s of an 11 s bench pass, in bursts
    of tens of ms while a panel filled its tables.) A drop sent straight to a widget, as tests
    do, goes up to the window's own dropEvent unless that widget takes drops itself.
    """

    def __init__(self, window: QWidget, open_paths: Callable[[list[Path]], None]) -> None:
        super().__init__(window)
        self.window = window
        self._open_paths = open_paths
        self._watched: QWindow | None = None

    def watch(self) -> None:
        """Watch the window's QWindow (it exists once the window is shown)."""
        handle = self.window.windowHandle()
        if handle is not None and handle is not self._watched:
            handle.installEventFilter(self)
            self._watched = handle

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() not in _DRAG_EVENTS or not isinstance(event, QDropEvent):
            return False  # drag enter and move events are drop events
        paths = dropped_paths(event.mimeData())
        if not paths:
            return False
        event.acceptProposedAction()
        if event.type() == QEvent.Type.Drop:
            self._open_paths(paths)
        return True


_DRAG_EVENTS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)
