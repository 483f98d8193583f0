"""The log's text area: a list of lines, painting only the rows in sight.

A QPlainTextEdit lays out every appended line (≈1.2 ms per 80 lines) and repaints ~2.5 ms on
each append; TensorRT's VERBOSE log arrives at thousands of lines a second. Here an append is a
list extend and a scroll-bar range change; while the view follows the tail its ~45 rows in
sight are repainted BAND_ROWS at a time, one band per event-loop turn, from one snapshot (so
the bands agree). Selection is by character (a fixed-pitch font makes columns exact): drag,
shift-click, double-click a line, Ctrl+A, the context menu; `select` shows a find's match.
Tabs show as stops of 8 columns; a copy gives the text back with its tabs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import repeat

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import (
    QContextMenuEvent,
    QFont,
    QFontDatabase,
    QFontMetrics,
    QFontMetricsF,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QMenu, QWidget

TAB = 8
MARGIN = 4  # pixels left of and above the text, as a text edit has
# While the view follows a fast log, the rows in sight are repainted this many at a time, one
# band per turn of the event loop: drawing ~45 rows of text takes 1-3 ms on the 2-core
# machine, too long for one turn when the window must answer within a few ms.
BAND_ROWS = 12

Pos = tuple[int, int]  # (row, column in the shown text, tabs expanded)
Row = tuple[str, int, int]  # a row's text in sight, and the selected columns [start, end) of it


def shown(line: str) -> str:
    return line.expandtabs(TAB) if "\t" in line else line


def to_shown_col(line: str, index: int) -> int:
    """Column in the shown text of character `index` of `line` (tab stops depend only on what
    comes before, so the expanded prefix has the right length)."""
    return len(shown(line[:index]))


def to_index(line: str, col: int) -> int:
    """The character of `line` at shown column `col` (a column inside a tab: after the tab)."""
    if "\t" not in line:
        return min(col, len(line))
    for index in range(len(line) + 1):
        if to_shown_col(line, index) >= col:
            return index
    return len(line)


class LogLines(QAbstractScrollArea):
    """Read-only lines with a character selection. `on_copy` runs for Ctrl+C (the owner
    decides what a copy takes: the selection, or everything)."""

    def __init__(self, max_lines: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_lines = max_lines
        self.lines: list[str] = []
        self.placeholder = ""
        self.on_copy: Callable[[], None] | None = None
        self._anchor: Pos | None = None  # where the selection started
        self._cursor: Pos | None = None  # where it ends (the mouse, the end of a match)
        self._widest = 0  # columns of the widest line shown so far
        # What paintEvent draws: the rows in sight when last taken, so the bands of one
        # repaint all show the same moment.
        self._frame: list[Row] = []
        self._frame_x = float(MARGIN)
        self._sweep: int | None = None  # the next band's first row; None: no sweep under way
        self._sweep_again = False  # more came in during the sweep: another one follows
        self._band_queued = False
        self._appending = False  # scroll-bar moves of our own: no full repaint
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.viewport().setBackgroundRole(QPalette.ColorRole.Base)
        self.viewport().setAutoFillBackground(True)
        self.viewport().setCursor(Qt.CursorShape.IBeamCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._metrics()

    # -- content ------------------------------------------------------------------------------

    def append_lines(self, new: Sequence[str]) -> None:
        if not new:
            return
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum()
        self.lines.extend(new)
        # An upper bound of the shown width (a tab is at most TAB columns), in C: no per-line
        # Python for a burst of thousands of lines.
        widest = max(map(len, new)) + (TAB - 1) * max(map(str.count, new, repeat("\t")))
        self._widest = max(self._widest, widest)
        over = len(self.lines) - self.max_lines
        self._appending = True
        try:
            if over > 0:
                del self.lines[:over]
                self._shift_selection(-over)
                if not at_bottom:  # keep the rows the user is reading in place
                    bar.setValue(bar.value() - over)
            self._update_ranges()
            if at_bottom:  # follow the tail, but leave the user where they scrolled to
                bar.setValue(bar.maximum())
        finally:
            self._appending = False
        if at_bottom:
            self._refresh_in_bands()
        elif over > 0:  # the rows in sight may have moved (the user is at the very top)
            self._refresh()

    def set_lines(self, lines: Sequence[str]) -> None:
        self.lines = list(lines[-self.max_lines :]) if self.max_lines else []
        self._widest = max((len(shown(line)) for line in self.lines), default=0)
        self._anchor = self._cursor = None
        self._update_ranges()
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())
        self._refresh()

    def clear(self) -> None:
        self.set_lines([])

    def plain_text(self) -> str:
        return "\n".join(self.lines)

    def line_count(self) -> int:
        return len(self.lines)

    def painted_lines(self) -> list[str]:
        """The rows the view paints now (their part in sight), top to bottom."""
        return [text for text, _, _ in self._frame]

    def repainting(self) -> bool:
        """Whether a repaint band by band is under way."""
        return self._sweep is not None

    # -- selection ----------------------------------------------------------------------------

    def select(self, row: int, start: int, end: int) -> None:
        """Select characters [start, end) of line `row` and bring it into sight."""
        line = self.lines[row]
        self._anchor = (row, to_shown_col(line, start))
        self._cursor = (row, to_shown_col(line, end))
        self._reveal(row, self._anchor[1], self._cursor[1])
        self._refresh()

    def select_all(self) -> None:
        if self.lines:
            self._anchor = (0, 0)
            self._cursor = (len(self.lines) - 1, len(shown(self.lines[-1])))
            self._refresh()

    def has_selection(self) -> bool:
        return self._anchor is not None and self._anchor != self._cursor

    def selection_end(self) -> tuple[int, int] | None:
        """(row, character index) just after the selection, for a search to go on from."""
        span = self._span()
        if span is None:
            return None
        (_, _), (row, col) = span
        return row, to_index(self.lines[row], col)

    def selected_text(self) -> str:
        span = self._span()
        if span is None:
            return ""
        (r0, c0), (r1, c1) = span
        parts = []
        for row in range(r0, r1 + 1):
            line = self.lines[row]
            start = to_index(line, c0) if row == r0 else 0
            end = to_index(line, c1) if row == r1 else len(line)
            parts.append(line[start:end])
        return "\n".join(parts)

    def _span(self) -> tuple[Pos, Pos] | None:
        if self._anchor is None or self._cursor is None or self._anchor == self._cursor:
            return None
        a, b = sorted((self._anchor, self._cursor))
        return a, b

    def _shift_selection(self, rows: int) -> None:
        if self._anchor is None or self._cursor is None:
            return
        anchor = (self._anchor[0] + rows, self._anchor[1])
        cursor = (self._cursor[0] + rows, self._cursor[1])
        if min(anchor[0], cursor[0]) < 0:  # its lines fell off the start of the log
            self._anchor = self._cursor = None
        else:
            self._anchor, self._cursor = anchor, cursor

    # -- geometry -----------------------------------------------------------------------------

    def _metrics(self) -> None:
        self._ascii_font = QFont(self.font())
        self._ascii_font.setStyleStrategy(QFont.StyleStrategy.NoFontMerging)
        metrics = QFontMetrics(self.font())
        self._line_h = max(1, metrics.lineSpacing())
        self._ascent = metrics.ascent()
        # A fixed-pitch font's advance is fractional (7.2 px): columns are placed in floats,
        # or a match at column 60 would be highlighted a character off.
        self._advance = max(1.0, QFontMetricsF(self.font()).horizontalAdvance("M"))

    def _rows_in_sight(self) -> int:
        return max(1, (self.viewport().height() - MARGIN) // self._line_h)

    def _update_ranges(self) -> None:
        rows = self._rows_in_sight()
        vbar = self.verticalScrollBar()
        vbar.setPageStep(rows)
        vbar.setRange(0, max(0, len(self.lines) - rows))
        hbar = self.horizontalScrollBar()
        width = self.viewport().width()
        hbar.setPageStep(width)
        hbar.setSingleStep(math.ceil(self._advance * 4))
        hbar.setRange(0, max(0, math.ceil(self._widest * self._advance) + 2 * MARGIN - width))

    def _reveal(self, row: int, col0: int, col1: int) -> None:
        vbar = self.verticalScrollBar()
        rows = self._rows_in_sight()
        if not vbar.value() <= row < vbar.value() + rows:
            vbar.setValue(row - rows // 2)
        hbar = self.horizontalScrollBar()
        x0, x1 = int(col0 * self._advance), int(col1 * self._advance) + 2 * MARGIN
        if x0 < hbar.value() or x1 > hbar.value() + self.viewport().width():
            hbar.setValue(x0 - self.viewport().width() // 3)

    def _pos_at(self, point: QPoint) -> Pos:
        if not self.lines:
            return (0, 0)
        row = self.verticalScrollBar().value() + (point.y() - MARGIN) // self._line_h
        row = min(max(row, 0), len(self.lines) - 1)
        x = point.x() + self.horizontalScrollBar().value() - MARGIN
        col = max(0, round(x / self._advance))
        return row, min(col, len(shown(self.lines[row])))

    # -- painting -----------------------------------------------------------------------------

    def _take_frame(self) -> None:
        """Snapshot the rows in sight: only their columns in sight (a line can be 20,000
        characters long: a VERBOSE build's tactic lists) and their selected part."""
        top = self.verticalScrollBar().value()
        col0 = int(self.horizontalScrollBar().value() // self._advance)
        cols = int(self.viewport().width() // self._advance) + 2
        span = self._span()
        frame: list[Row] = []
        for row in range(top, min(len(self.lines), top + self._rows_in_sight() + 1)):
            text = shown(self.lines[row])
            start = end = 0
            if span is not None and span[0][0] <= row <= span[1][0]:
                (r0, c0), (r1, c1) = span
                start = max(col0, c0 if row == r0 else 0) - col0
                # +1: the line feed is selected too
                end = min(col0 + cols, c1 if row == r1 else len(text) + 1) - col0
            frame.append((text[col0 : col0 + cols], start, end))
        self._frame = frame
        self._frame_x = MARGIN - self.horizontalScrollBar().value() + col0 * self._advance

    def _refresh(self) -> None:
        """Repaint all rows in sight at the next turn (the user scrolled, selected, resized)."""
        self._take_frame()
        self.viewport().update()

    def _refresh_in_bands(self) -> None:
        """Repaint the rows in sight a band per turn (new lines while following the tail)."""
        if self._sweep is not None:
            self._sweep_again = True
            return
        self._take_frame()
        self._sweep = 0
        self._next_band()

    def _next_band(self) -> None:
        # Called from the previous band's paintEvent through a zero timer: one band per turn.
        self._band_queued = False
        if self._sweep is None:
            return
        if self._sweep > self._rows_in_sight():
            self._sweep = None
            if self._sweep_again:
                self._sweep_again = False
                self._refresh_in_bands()
            return
        self.viewport().update(
            QRect(
                0,
                MARGIN + self._sweep * self._line_h,
                self.viewport().width(),
                BAND_ROWS * self._line_h,
            )
        )
        self._sweep += BAND_ROWS

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        palette = self.palette()
        if not self._frame:
            if self.placeholder and not self.lines:
                painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(MARGIN, MARGIN + self._ascent, self.placeholder)
        else:
            self._paint_rows(painter, event.rect())
        painter.end()
        if self._sweep is not None and not self._band_queued:
            self._band_queued = True
            QTimer.singleShot(0, self, self._next_band)

    def _paint_rows(self, painter: QPainter, area: QRect) -> None:
        palette = self.palette()
        first = max(0, (area.top() - MARGIN) // self._line_h)
        rows = list(enumerate(self._frame))[first : (area.bottom() - MARGIN) // self._line_h + 1]
        x, h = self._frame_x, self._line_h
        ascent = MARGIN + self._ascent  # the baseline of row 0
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        # ASCII rows need no fallback fonts: looking glyphs up in the fixed-pitch font alone
        # halves the cost of drawing them; other rows keep font merging (paths in any script).
        painter.setFont(self._ascii_font)
        for i, (text, _, _) in rows:
            if text.isascii():
                painter.drawText(QPointF(x, i * h + ascent), text)
        painter.setFont(self.font())
        for i, (text, _, _) in rows:
            if not text.isascii():
                painter.drawText(QPointF(x, i * h + ascent), text)
        painter.setPen(palette.color(QPalette.ColorRole.HighlightedText))
        for i, (text, start, end) in rows:
            if end > start:
                left = x + start * self._advance
                painter.fillRect(
                    QRectF(left, MARGIN + i * h, (end - start) * self._advance, h),
                    palette.highlight(),
                )
                painter.drawText(QPointF(left, i * h + ascent), text[start:end])

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        if not self._appending:  # the user scrolled: repaint what is in sight now
            self._refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._refresh()

    def resizeEvent(self, event: QResizeEvent) -> None:
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum()
        super().resizeEvent(event)
        self._update_ranges()
        if at_bottom:
            bar.setValue(bar.maximum())
        self._refresh()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # re-measure the rows
            self._metrics()
            self._update_ranges()
            self._refresh()

    # -- mouse and keys -----------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        pos = self._pos_at(event.position().toPoint())
        if not (event.modifiers() & Qt.KeyboardModifier.ShiftModifier) or self._anchor is None:
            self._anchor = pos
        self._cursor = pos
        self._refresh()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not event.buttons() & Qt.MouseButton.LeftButton or self._anchor is None:
            return super().mouseMoveEvent(event)
        point = event.position().toPoint()
        bar = self.verticalScrollBar()
        if point.y() < 0:  # dragging past the edge scrolls
            bar.setValue(bar.value() - 1)
        elif point.y() > self.viewport().height():
            bar.setValue(bar.value() + 1)
        self._cursor = self._pos_at(point)
        self._refresh()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if not self.lines:
            return
        row, _ = self._pos_at(event.position().toPoint())
        self.select(row, 0, len(self.lines[row]))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = QMenu(self)
        copy = menu.addAction("Copy" if self.has_selection() else "Copy all")
        copy.setEnabled(bool(self.lines))
        if self.on_copy is not None:
            copy.triggered.connect(self.on_copy)
        select_all = menu.addAction("Select all")
        select_all.setEnabled(bool(self.lines))
        select_all.triggered.connect(self.select_all)
        menu.exec(event.globalPos())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            if self.on_copy is not None:
                self.on_copy()
        elif event.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all()
        elif event.matches(QKeySequence.StandardKey.MoveToStartOfDocument):
            self.verticalScrollBar().setValue(0)
        elif event.matches(QKeySequence.StandardKey.MoveToEndOfDocument):
            self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())
        else:
            super().keyPressEvent(event)
