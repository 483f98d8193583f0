"""The files the Inference panel asks for: the Open dialogs for a model or engine, an image
and a labels file (each starting in the folder of the file it replaces), and what a drag
onto the panel holds."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent
from PySide6.QtWidgets import QFileDialog, QWidget

from trtgui.core.paths import ENGINE_SUFFIXES, MODEL_SUFFIXES
from trtgui.gui import open_files
from trtgui.gui.widgets import dropped_path

ALL_FILES = ";;All files (*)"
IMAGE_FILTER = open_files.IMAGE_FILTER + ALL_FILES
MODEL_FILTER = (
    "Models and engines (" + " ".join(f"*{s}" for s in (*MODEL_SUFFIXES, *ENGINE_SUFFIXES)) + ")"
) + ALL_FILES
LABELS_FILTER = "Labels (*.txt *.names *.labels)" + ALL_FILES


def _ask(parent: QWidget, title: str, near: Path | None, filters: str) -> Path | None:
    """The file the user chose (None: cancelled), the dialog opened in `near`'s folder."""
    start = str(near.parent) if near is not None else ""
    path, _ = QFileDialog.getOpenFileName(parent, title, start, filters)
    return Path(path) if path else None


def ask_model(parent: QWidget, current: Path | None) -> Path | None:
    return _ask(parent, "Open a model or engine", current, MODEL_FILTER)


def ask_image(parent: QWidget, current: Path | None) -> Path | None:
    return _ask(parent, "Open an image", current, IMAGE_FILTER)


def ask_labels(parent: QWidget, current: Path | None, model: Path | None) -> Path | None:
    """A labels file, the dialog opened beside the current one, else beside the model."""
    return _ask(parent, "Choose a labels file", current or model, LABELS_FILTER)


def drag_is_welcome(event: QDragEnterEvent | QDragMoveEvent) -> bool:
    """A drag holds a local file (a model, engine or image) or an image."""
    mime = event.mimeData()
    return dropped_path(event) is not None or (mime is not None and mime.hasImage())


def is_model_or_engine(path: Path) -> bool:
    """A dropped file is a model or engine (set as the model), not an image."""
    return open_files.kind_of(path) in ("models", "engines")
