"""Small widget-building helpers the panels share: labels, read-only tables, box layouts.

Each helper does what the Engine, Inference and Model panels used to spell out line by line,
with the same settings, so the panels read as what they show rather than how Qt stacks it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractItemModel, QEvent, QObject, Qt
from PySide6.QtGui import QColor, QDropEvent, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

MUTED_SHARE = 0.38  # secondary text: this far from the text colour towards the background

# A box item: a widget or a layout, optionally with its stretch factor.
BoxItem = QWidget | QLayout | tuple[QWidget | QLayout, int]
# Contents margins in pixels: one for all sides, or (left, top, right, bottom).
Margins = int | tuple[int, int, int, int]


def html_escape(text: str) -> str:
    """Text made safe to show in a rich-text label (quotes are left alone)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def muted_colour(palette: QPalette | None = None) -> QColor:
    """The secondary text colour of `palette` (the application's by default): the text colour
    blended towards the window colour, so it stays readable in the light and dark themes
    (a fixed grey that suits one is too faint or too loud on the other)."""
    pal = palette if palette is not None else QApplication.palette()
    fg = pal.color(QPalette.ColorRole.WindowText)
    bg = pal.color(QPalette.ColorRole.Window)
    return QColor(
        round(fg.red() + (bg.red() - fg.red()) * MUTED_SHARE),
        round(fg.green() + (bg.green() - fg.green()) * MUTED_SHARE),
        round(fg.blue() + (bg.blue() - fg.blue()) * MUTED_SHARE),
    )


def error_colour(palette: QPalette | None = None) -> QColor:
    """A red for error text that stays readable on the theme's window colour (the dark red
    of the light theme is about 2.4:1 on the dark window)."""
    pal = palette if palette is not None else QApplication.palette()
    dark = pal.color(QPalette.ColorRole.Window).lightness() < 128
    return QColor("#ff8a80" if dark else "#c5221f")


def error_html(text: str) -> str:
    """`text` as rich text in the error colour."""
    return f"<span style='color:{error_colour().name()}'>{html_escape(text)}</span>"


class MutedLabel(QLabel):
    """A label in the secondary text colour that follows theme switches."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._follow_palette()

    def event(self, event: QEvent) -> bool:
        # A theme switch reaches widgets as ApplicationPaletteChange (not via changeEvent).
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self._follow_palette()
        return super().event(event)

    def _follow_palette(self) -> None:
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.WindowText, muted_colour())
        self.setPalette(palette)


def muted_label(text: str = "", padding: int = 0) -> QLabel:
    """A wrapping label in the secondary text colour (notes, hints)."""
    label = MutedLabel(text)
    label.setWordWrap(True)
    if padding:
        label.setMargin(padding)
    return label


def selectable_label(text: str = "", wrap: bool = False) -> QLabel:
    """A label whose text can be selected and copied with the mouse."""
    label = QLabel(text)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if wrap:
        label.setWordWrap(True)
    return label


def take_given_width(widget: QWidget) -> None:
    """`widget` takes the width its layout gives it: a long unbreakable text (a path, an error)
    would otherwise raise the window's minimum width, and the window would grow to fit it."""
    policy = widget.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    widget.setSizePolicy(policy)


def show_file(label: QLabel, path: Path, detail: str = "", separator: str = "<br>") -> None:
    """`label` shows the file's name in bold, then `detail` muted; the full path as tooltip.
    A long folder is cut at the label's edge rather than widening the window."""
    take_given_width(label)
    text = f"<b>{html_escape(path.name)}</b>"
    if detail:
        colour = muted_colour().name()
        text += f"{separator}<span style='color:{colour}'>{html_escape(detail)}</span>"
    label.setText(text)
    label.setToolTip(str(path))
    if label.property("_show_file") is None:
        # The muted colour is baked into the rich text: redo it when the theme changes.
        label.installEventFilter(_ShowFileRefresher(label))
        label.setProperty("_show_file", True)
    label.setProperty("_show_file_args", (str(path), detail, separator))


class _ShowFileRefresher(QObject):
    """Re-renders a `show_file` label after a theme switch (its detail colour is in the text)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ApplicationPaletteChange and isinstance(watched, QLabel):
            args = watched.property("_show_file_args")
            if args:
                path, detail, separator = args
                show_file(watched, Path(path), detail, separator)
        return False


# Rows a table looks at to fit its columns to their contents (about a screenful): each cell
# asks the Python model for ~8 roles, so 100 rows of the Engine panel's I/O table took
# 3,760 calls, ~100-250 ms on the GUI thread.
SIZE_HINT_ROWS = 30


def data_table(model: QAbstractItemModel) -> QTableView:
    """A read-only table view of whole-row selection, no grid, left-aligned headers."""
    view = QTableView()
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(24)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setStretchLastSection(True)
    # Columns fit their contents by the first rows only: measuring every cell of a table of
    # thousands of rows (a build record can list 100,000 tensors) stalled the window.
    header.setResizeContentsPrecision(SIZE_HINT_ROWS)
    return view


def _fill(box: QBoxLayout, items: tuple[BoxItem, ...], margins: Margins | None) -> None:
    if margins is not None:
        left, top, right, bottom = (margins,) * 4 if isinstance(margins, int) else margins
        box.setContentsMargins(left, top, right, bottom)
    for item in items:
        thing, stretch = item if isinstance(item, tuple) else (item, 0)
        if isinstance(thing, QLayout):
            box.addLayout(thing, stretch)
        else:
            box.addWidget(thing, stretch)


def vbox(*items: BoxItem, margins: Margins | None = None) -> QVBoxLayout:
    """A column of widgets and layouts; `(item, stretch)` gives an item a stretch factor."""
    box = QVBoxLayout()
    _fill(box, items, margins)
    return box


def hbox(*items: BoxItem, margins: Margins | None = None) -> QHBoxLayout:
    """A row of widgets and layouts; `(item, stretch)` gives an item a stretch factor."""
    box = QHBoxLayout()
    _fill(box, items, margins)
    return box


def column(*items: BoxItem, margins: Margins = 0) -> QWidget:
    """A plain widget holding `items` in a column, with no margins unless told."""
    widget = QWidget()
    box = QVBoxLayout(widget)
    _fill(box, items, margins)
    return widget


def group_box(title: str, *items: BoxItem) -> QGroupBox:
    """A titled group box holding `items` in a column (the style's margins)."""
    box = QGroupBox(title)
    box.setLayout(vbox(*items))
    return box


def splitter(
    orientation: Qt.Orientation,
    *widgets: QWidget,
    stretch: tuple[int, ...],
    sizes: list[int] | None = None,
    collapsible: bool = True,
) -> QSplitter:
    """A splitter of `widgets` with their stretch factors (and initial sizes)."""
    if len(stretch) != len(widgets):
        raise ValueError("give one stretch factor per widget")
    split = QSplitter(orientation)
    for widget in widgets:
        split.addWidget(widget)
    for i, factor in enumerate(stretch):
        split.setStretchFactor(i, factor)
    if sizes is not None:
        split.setSizes(sizes)
    if not collapsible:
        split.setChildrenCollapsible(False)
    return split


def dropped_path(event: QDropEvent) -> Path | None:
    """The first local file of a drag-and-drop event, or None."""
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            return Path(url.toLocalFile())
    return None
