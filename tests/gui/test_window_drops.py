"""Files dropped anywhere on the window open by their kind, text fields included, through one
filter on the window's QWindow (not an application-wide filter, which ran Python for every
event of every widget)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from tests import onnx_factory


def _drop_on_window_at(window, widget, path: Path) -> QDropEvent:  # type: ignore[no-untyped-def]
    """A drag from the system as Qt delivers it: to the top-level QWindow, at the position
    of `widget`'s centre; the QWindow hands it to the widget under that point."""
    where = widget.mapTo(window, widget.rect().center())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    mime.setText(QUrl.fromLocalFile(str(path)).toString())  # file managers send both
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton)
    enter = QDragEnterEvent(QPoint(where), *args, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window.windowHandle(), enter)
    drop = QDropEvent(QPointF(where), *args, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window.windowHandle(), drop)
    return drop


def test_a_model_dropped_on_a_text_field_opens_instead_of_typing_its_path(
    qtbot, window, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    model = onnx_factory.static_conv(tmp_path).path
    field = QLineEdit(window.model_panel)  # a text field takes dropped text by default
    field.setGeometry(10, 10, 200, 24)
    field.show()
    qtbot.waitExposed(window)

    drop = _drop_on_window_at(window, field, model)
    assert drop.isAccepted()
    qtbot.waitUntil(lambda: window.model_info is not None, timeout=20000)
    assert window.model_info.path == model
    assert field.text() == ""

    # Control: without the window's filter the same drop reaches the field and types the
    # path into it, so the drop above went where a user's would.
    window.windowHandle().removeEventFilter(window._drop_filter)
    _drop_on_window_at(window, field, model)
    assert model.name in field.text()
