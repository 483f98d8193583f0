"""What the window opens: the kind of a file by its suffix, the Open dialogs' filters, and
files dragged onto any widget of the window.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QEvent, QMimeData, QObject
from PySide6.QtGui import QDropEvent
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
    """Application-wide filter: files dropped on any widget of `window` go to `open_paths`.

    Text fields would otherwise swallow a dropped file as its path text.
    """

    def __init__(self, window: QWidget, open_paths: Callable[[list[Path]], None]) -> None:
        super().__init__(window)
        self.window = window
        self._open_paths = open_paths

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if not isinstance(event, QDropEvent):  # drag enter and move events are drop events
            return False
        if not isinstance(obj, QWidget) or obj.window() is not self.window:
            return False
        paths = dropped_paths(event.mimeData())
        if not paths:
            return False
        event.acceptProposedAction()
        if event.type() == QEvent.Type.Drop:
            self._open_paths(paths)
        return True
