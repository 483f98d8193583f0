"""Smoke-test hook: prove a (packaged) app starts, shows its window and opens a model, then quit.

Driven by environment variables so a frozen bundle can be checked without extra flags:

- `TRTGUI_QUIT_AFTER_MS=N`   turn the hook on; give up N ms after the window is shown.
- `TRTGUI_SMOKE_EXPECT=TEXT` optional; quit as soon as TEXT appears in the window title or in
                             any visible label, line edit or table cell (exit 0), or at the
                             deadline with exit code 3 when it never did.
- `TRTGUI_SMOKE_SCREENSHOT=FILE.png` optional; save `window.grab()` there before quitting.

When it quits it prints one line to stderr: `trtgui-smoke: {json}` with the verdict, the window
title, the table row counts and the texts it saw, so a script can check what opened.
`app.py` calls `install(app, window)` once, after `window.show()`.
"""

from __future__ import annotations

import json
import os
import sys
import time

from PySide6.QtCore import QAbstractItemModel, QObject, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTabWidget,
    QWidget,
)

EXIT_NOT_FOUND = 3
_POLL_MS = 100
_MAX_CELLS = 2000  # enough to find a tensor name; keeps the report short on big models


def quit_after_ms() -> int | None:
    """The deadline from `TRTGUI_QUIT_AFTER_MS`, or None when the hook is off."""
    raw = os.environ.get("TRTGUI_QUIT_AFTER_MS", "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        print(
            f"trtgui-smoke: ignoring TRTGUI_QUIT_AFTER_MS={raw!r} (not an integer)", file=sys.stderr
        )
        return None
    return max(value, 0)


def _model_texts(model: QAbstractItemModel, budget: int) -> list[str]:
    texts: list[str] = []
    for row in range(model.rowCount()):
        for col in range(model.columnCount()):
            if len(texts) >= budget:
                return texts
            value = model.data(model.index(row, col))
            if value is not None and str(value):
                texts.append(str(value))
    return texts


def visible_texts(window: QWidget) -> tuple[list[str], dict[str, int]]:
    """Texts shown by the window's labels, line edits, tab titles and table cells, and the
    row count of every item view (keyed by object name or class name)."""
    texts: list[str] = [window.windowTitle()]
    rows: dict[str, int] = {}
    for label in window.findChildren(QLabel):
        if label.text():
            texts.append(label.text())
    for edit in window.findChildren(QLineEdit):
        if edit.text():
            texts.append(edit.text())
    for tabs in window.findChildren(QTabWidget):
        texts.extend(tabs.tabText(i) for i in range(tabs.count()))
    for i, view in enumerate(window.findChildren(QAbstractItemView)):
        model = view.model()
        if model is None or isinstance(view, QHeaderView):  # a header shows its table's model
            continue
        key = view.objectName() or f"{type(view).__name__}#{i}"
        rows[key] = model.rowCount()
        texts.extend(_model_texts(model, _MAX_CELLS - len(texts)))
    return texts, rows


class _SmokeTimer(QObject):
    """Polls the window until the expected text shows up or the deadline passes."""

    def __init__(self, app: QApplication, window: QWidget, deadline_ms: int) -> None:
        super().__init__(window)
        self._app = app
        self._window = window
        self._expect = os.environ.get("TRTGUI_SMOKE_EXPECT", "")
        self._screenshot = os.environ.get("TRTGUI_SMOKE_SCREENSHOT", "")
        self._start = time.monotonic()
        self._deadline = self._start + deadline_ms / 1000
        self._timer = QTimer(self)
        self._timer.setInterval(_POLL_MS if self._expect else max(deadline_ms, 1))
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        texts, rows = visible_texts(self._window)
        found = bool(self._expect) and any(self._expect in t for t in texts)
        if not found and self._expect and time.monotonic() < self._deadline:
            return
        self._timer.stop()
        ok = found or not self._expect
        shot_ok = False
        if self._screenshot:
            shot_ok = self._window.grab().save(self._screenshot)
        report = {
            "ok": ok,
            "expect": self._expect,
            "found": found,
            "elapsed_ms": round((time.monotonic() - self._start) * 1000),
            "visible": self._window.isVisible(),
            "title": self._window.windowTitle(),
            "rows": rows,
            "screenshot": self._screenshot if shot_ok else "",
            "texts": texts[:40],
        }
        print("trtgui-smoke: " + json.dumps(report), file=sys.stderr, flush=True)
        # Close first so the window's own shutdown (workers, settings) runs as for a user.
        self._window.close()
        self._app.exit(0 if ok else EXIT_NOT_FOUND)


def install(app: QApplication, window: QWidget, deadline_ms: int | None = None) -> bool:
    """Arm the smoke hook when `deadline_ms` is given or `TRTGUI_QUIT_AFTER_MS` is set.

    Returns True when armed. Call once, after `window.show()`.
    """
    if deadline_ms is None:
        deadline_ms = quit_after_ms()
    if deadline_ms is None:
        return False
    _SmokeTimer(app, window, deadline_ms)
    return True
