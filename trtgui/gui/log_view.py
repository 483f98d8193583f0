"""The log panel: lines from any thread appear in a text view in batches.

Producers (TensorRT's logger callback on its own thread, the `trtgui` stdlib loggers) only
call `LogView.sink`, which formats the line and appends it to a lock-protected list in the
producer's thread. A 50 ms timer in the GUI thread swaps that list out and appends it to the
`LogLines` view in ONE call (bursts in chunks of DRAIN_CHUNK lines). One signal or one append
per line freezes the UI above ~5,000 lines/s (FACTS.md); TensorRT's VERBOSE log exceeds that.
`LogLines` paints only the rows in sight, so an append costs next to nothing whatever its size.

The severity chooser is the one control for how much of the log there is: it filters what is
shown, and the Build panel asks it (`min_level`) which TensorRT messages a build records.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from trtgui.core.errors import TrtGuiError
from trtgui.core.files import check_output_path, write_atomic, write_failure
from trtgui.gui.log_lines import LogLines

MAX_LINES = 20_000
DRAIN_INTERVAL_MS = 50
# TensorRT emits bursts (thousands of lines in a few ms at the end of a VERBOSE build). An
# append to `LogLines` is a list extend whatever its size and the repaint draws only the rows
# in sight, so a drain takes everything a timer tick found; the cap only bounds the Python
# work of one turn for a burst larger than that (the rest follows through the event loop).
DRAIN_CHUNK = 2000

_TAGS = {logging.ERROR: "E", logging.WARNING: "W", logging.INFO: "I", logging.DEBUG: "V"}
SEVERITIES: tuple[tuple[str, int], ...] = (
    ("Errors", logging.ERROR),
    ("Warnings", logging.WARNING),
    ("Info", logging.INFO),
    ("Verbose", 1),  # TensorRT's VERBOSE maps below logging.DEBUG (trt_log.VERBOSE = 5)
)


def format_line(level: int, message: str) -> str:
    tag = _TAGS.get(level) or (
        "E"
        if level >= logging.ERROR
        else "W"
        if level >= logging.WARNING
        else "I"
        if level >= logging.INFO
        else "V"
    )
    return f"[{tag}] {message}"


class LogBuffer:
    """A thread-safe, bounded queue of (level, message). `append` is cheap and never raises."""

    def __init__(self, maxlen: int = MAX_LINES) -> None:
        self._lines: deque[tuple[int, str]] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self.total = 0  # lines ever appended (lines dropped by the bound still count)

    def append(self, level: int, message: str) -> None:
        with self._lock:
            self._lines.append((level, message))
            self.total += 1

    __call__ = append

    def drain(self, limit: int | None = None) -> list[tuple[int, str]]:
        """Take (up to `limit`) queued lines, oldest first."""
        with self._lock:
            if limit is None or len(self._lines) <= limit:
                lines = list(self._lines)
                self._lines.clear()
            else:
                popleft = self._lines.popleft
                lines = [popleft() for _ in range(limit)]
        return lines

    def __len__(self) -> int:
        return len(self._lines)


class BufferHandler(logging.Handler):
    """A logging handler that only hands records to a thread-safe sink (a `LogBuffer` or a
    `LogView.sink`)."""

    def __init__(self, sink: Callable[[int, str], None], level: int = logging.DEBUG) -> None:
        super().__init__(level)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink(record.levelno, record.getMessage())
        except Exception:
            self.handleError(record)


class LogView(QWidget):
    """Severity filter, find, copy, save, clear over a capped, batched `LogLines` view.

    `sink(level, message)` runs in the producer's thread and does the per-line work there
    (formatting, filtering, keeping the record): the GUI thread then only swaps a list and
    hands it to the view. Per-line Python in the GUI thread would compete for the GIL
    with TensorRT's callback thread on every line.
    """

    lines_shown = Signal(int)  # number of lines appended in one drain (for benchmarks)

    def __init__(self, parent: QWidget | None = None, max_lines: int = MAX_LINES) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        # Every line received (level, formatted), kept so a filter change can re-render.
        self._records: deque[tuple[int, str]] = deque(maxlen=max_lines)
        self._visible: list[str] = []  # formatted lines waiting for the next drain
        self._backlog: list[str] = []  # GUI thread only: the rest of a burst
        self._min_level = logging.INFO
        self._catching_up = False
        self.lines_received = 0
        self.lines_displayed = 0

        self.severity = QComboBox()
        for label, level in SEVERITIES:
            self.severity.addItem(label, level)
        self.severity.setCurrentIndex(2)
        self.severity.setToolTip(
            "Show messages of this severity and above. A build records TensorRT's messages "
            "from this level up, as chosen when it starts (Verbose: everything)."
        )
        self.severity.currentIndexChanged.connect(self._severity_changed)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Find in log…")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self.find_next)
        self.find_button = _tool_button("Find next", "Find the next match (Enter)", self.find_next)
        self.copy_button = _tool_button("Copy", "Copy the selection, or the whole log", self.copy)
        self.save_button = _tool_button("Save…", "Save the log to a text file", self.save_dialog)
        self.clear_button = _tool_button("Clear", "Clear the log", self.clear)
        self.status = QLabel()

        self.text = LogLines(max_lines)
        self.text.placeholder = "Build messages appear here."
        self.text.on_copy = self.copy

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show:"))
        bar.addWidget(self.severity)
        bar.addWidget(self.search, 1)
        for button in (self.find_button, self.copy_button, self.save_button, self.clear_button):
            bar.addWidget(button)
        bar.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.text, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(DRAIN_INTERVAL_MS)
        self.timer.timeout.connect(self.drain)
        self.timer.start()

    # -- producers (any thread) ---------------------------------------------------------------

    def sink(self, level: int, message: str) -> None:
        """Thread-safe and cheap: queue one line. Never raises into the caller."""
        line = format_line(level, message)
        with self._lock:
            self._records.append((level, line))
            self.lines_received += 1
            if level >= self._min_level:
                self._visible.append(line)

    __call__ = sink

    def handler(self, level: int = logging.DEBUG) -> BufferHandler:
        """A logging handler feeding this view; attach it to a logger."""
        return BufferHandler(self.sink, level)

    def pending(self) -> int:
        with self._lock:
            return len(self._visible) + len(self._backlog)

    # -- GUI thread ---------------------------------------------------------------------------

    def drain(self, limit: int | None = DRAIN_CHUNK) -> int:
        """Append the queued lines to the view in one call; returns the lines shown.

        At most `limit` lines per call; when more are waiting another drain is queued right
        behind the events already pending, so a burst never blocks the event loop for long.
        """
        with self._lock:
            batch, self._visible = self._visible, []
        if self._backlog:
            batch = self._backlog + batch
            self._backlog = []
        if not batch:
            return 0
        if limit is not None and len(batch) > limit:
            self._backlog = batch[limit:]
            batch = batch[:limit]
            if not self._catching_up:
                self._catching_up = True
                QTimer.singleShot(0, self, self._catch_up)
        self._append_batch(batch)
        return len(batch)

    def _append_batch(self, lines: list[str]) -> None:
        self.text.append_lines(lines)  # follows the tail unless the user scrolled up
        self.lines_displayed += len(lines)
        self.lines_shown.emit(len(lines))

    def _catch_up(self) -> None:
        self._catching_up = False
        self.drain()

    def flush(self) -> int:
        """Show everything queued now (tests, saving, the end of a build)."""
        return self.drain(None)

    def min_level(self) -> int:
        """The lowest level the chooser shows (1 for Verbose: everything)."""
        return int(self.severity.currentData())

    def set_min_level(self, level: int) -> None:
        """Choose the entry for `level`: the most severe one that still shows it (so
        TensorRT's VERBOSE = 5 and logging.DEBUG choose Verbose)."""
        shown = [i for i, (_, lv) in enumerate(SEVERITIES) if lv <= level]
        index = max(shown, key=lambda i: SEVERITIES[i][1]) if shown else len(SEVERITIES) - 1
        self.severity.setCurrentIndex(index)

    def _severity_changed(self) -> None:
        level = int(self.severity.currentData())
        with self._lock:
            self._min_level = level
            visible = [line for lv, line in self._records if lv >= level]
            self._visible = []
        self._backlog = []
        self.text.set_lines(visible)
        self._set_status("")

    def plain_text(self) -> str:
        return self.text.plain_text()

    def find_next(self) -> bool:
        """Select the next occurrence of the search text, wrapping around; False if none."""
        needle = self.search.text()
        if not needle:
            return False
        found = find_in_lines(self.text.lines, needle.lower(), self.text.selection_end())
        if found is not None:
            row, index = found
            self.text.select(row, index, index + len(needle))
        self._set_status("" if found else "not found")
        return found is not None

    def copy(self) -> None:
        QApplication.clipboard().setText(self.text.selected_text() or self.plain_text())

    def save(self, path: str | Path) -> None:
        """Write every line received (all severities) to `path`, atomically. Raises
        OutputPathError (a folder, a special file; a failed write: any old file is kept)."""
        check_output_path(path, kind="log file")
        with self._lock:
            text = "\n".join(line for _, line in self._records)
        try:
            write_atomic(Path(path), (text + "\n").encode("utf-8"))
        except OSError as exc:
            raise write_failure(exc, path, "log file") from exc

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save log",
            f"trtgui-log-{time.strftime('%Y%m%d-%H%M%S')}.txt",
            "Text files (*.txt *.log);;All files (*)",
        )
        if path:
            try:
                self.save(path)
            except TrtGuiError as exc:
                from trtgui.gui.errors import show_error

                show_error(self, exc)

    def clear(self) -> None:
        with self._lock:
            self._visible = []
            self._records.clear()
        self._backlog = []
        self.text.clear()

    def _set_status(self, text: str) -> None:
        self.status.setText(text)


def find_in_lines(
    lines: list[str], needle: str, after: tuple[int, int] | None
) -> tuple[int, int] | None:
    """(row, index) of the next case-insensitive match of `needle` (lower case) after
    (row, index) `after`, wrapping around to the top; None when there is none."""
    row, start = after if after is not None else (0, 0)
    count = len(lines)
    for step in range(count + 1):
        r = (row + step) % count if count else 0
        if r >= count:
            break
        index = lines[r].lower().find(needle, start if step == 0 else 0)
        if index >= 0:
            return r, index
    return None


def _tool_button(text: str, tip: str, slot: Callable[[], object]) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    return button
