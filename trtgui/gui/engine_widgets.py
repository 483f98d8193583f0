"""The Engine panel's own widgets: a verdict banner, a precision bar and a key/value form."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QPlainTextEdit, QSizePolicy, QWidget

from trtgui.gui.engine_models import PRECISION_COLOURS
from trtgui.gui.widgets import MutedLabel, hbox, html_escape, selectable_label, vbox

BANNER_STYLES: dict[str, tuple[str, str, str]] = {
    # level: (background, border, text)
    "ok": ("#e6f4ea", "#34a853", "#0d5223"),
    "info": ("#e8f0fe", "#4285f4", "#174ea6"),
    "warning": ("#fef7e0", "#f9ab00", "#7a4f01"),
    "error": ("#fce8e6", "#d93025", "#8c1d18"),
}
BANNER_ICONS = {"ok": "✔", "info": "ℹ", "warning": "⚠", "error": "✖"}


class Banner(QFrame):
    """One coloured line (icon, message, "Details" link) with the details folded beneath."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self._level = "info"
        self._icon = QLabel()
        self._text = selectable_label(wrap=True)
        self._text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._link = QLabel('<a href="#details">Details…</a>')
        self._link.setTextFormat(Qt.TextFormat.RichText)
        self._link.linkActivated.connect(self.toggle_details)
        self._details = QPlainTextEdit()
        self._details.setReadOnly(True)
        self._details.setMaximumHeight(140)
        self._details.setVisible(False)
        box = vbox(
            hbox(self._icon, (self._text, 1), self._link, margins=0),
            self._details,
            margins=(10, 6, 10, 6),
        )
        box.setSpacing(4)
        self.setLayout(box)
        self.setVisible(False)

    def show_message(self, level: str, message: str, details: str = "") -> None:
        self._level = level
        bg, border, fg = BANNER_STYLES.get(level, BANNER_STYLES["info"])
        self.setStyleSheet(
            f"QFrame#banner {{ background: {bg}; border: 1px solid {border};"
            f" border-left: 5px solid {border}; border-radius: 4px; }}"
            f" QFrame#banner QLabel {{ color: {fg}; background: transparent; border: none; }}"
            f" QFrame#banner QLabel a {{ color: {fg}; }}"
        )
        self._icon.setText(f"<b style='font-size:15px'>{BANNER_ICONS.get(level, '')}</b>")
        self._text.setText(f"<b>{html_escape(message)}</b>")
        self._details.setPlainText(details)
        self._link.setVisible(bool(details))
        self._details.setVisible(False)
        self.setVisible(True)

    def clear(self) -> None:
        self.setVisible(False)
        self._details.clear()

    @Slot()
    def toggle_details(self) -> None:
        show = not self._details.isVisible()
        self._details.setVisible(show)
        self._link.setText(f'<a href="#details">{"Hide details" if show else "Details…"}</a>')

    def level(self) -> str:
        return self._level if self.isVisibleTo(self.parentWidget() or self) else ""

    def message(self) -> str:
        return self._text.text().removeprefix("<b>").removesuffix("</b>")

    def details(self) -> str:
        return self._details.toPlainText()

    def details_visible(self) -> bool:
        return not self._details.isHidden()


class PrecisionBar(QWidget):
    """A horizontal stacked bar: one coloured segment per precision, width ∝ layer count."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._summary: dict[str, int] = {}
        self.setMinimumHeight(18)
        self.setMaximumHeight(18)

    def set_summary(self, summary: Mapping[str, int]) -> None:
        self._summary = dict(summary)
        self.setToolTip(", ".join(f"{k}: {v}" for k, v in self._summary.items()))
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        total = sum(self._summary.values())
        rect = self.rect().adjusted(0, 1, -1, -1)
        if total <= 0:
            painter.setPen(QColor("#c8c8c8"))
            painter.drawRoundedRect(rect, 3, 3)
            return
        x = float(rect.left())
        for name, count in self._summary.items():
            width = rect.width() * count / total
            painter.fillRect(
                int(x),
                rect.top(),
                max(1, round(width)),
                rect.height(),
                QColor(PRECISION_COLOURS.get(name, "#888888")),
            )
            x += width


class KeyValueView(QWidget):
    """A two-column form of "Key: value" lines, replaced as a whole."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._form = QFormLayout(self)
        self._form.setContentsMargins(8, 6, 8, 6)
        self._form.setHorizontalSpacing(14)
        self._form.setVerticalSpacing(3)
        self._form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self._values: dict[str, str] = {}

    def set_items(self, items: list[tuple[str, str]]) -> None:
        while self._form.rowCount():
            self._form.removeRow(0)
        self._values = {}
        for key, value in items:
            label = selectable_label(value, wrap=True)
            label.setToolTip(value)
            key_label = MutedLabel(f"{key}:")
            self._form.addRow(key_label, label)
            self._values[key] = value

    def values(self) -> dict[str, str]:
        return dict(self._values)
