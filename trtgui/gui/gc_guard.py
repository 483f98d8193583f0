"""Python's cyclic garbage collector runs on the GUI thread only.

The collector runs in whichever thread happens to allocate past its threshold: a worker
thread loading an image could collect a cycle holding the Python wrapper of a widget that
an earlier panel left behind. PySide6 then defers the C++ deletion to the main thread
(`Shiboken::BindingManager::runDeletionInMainThread`), where it raced with Qt's own
deletion of the same widget: a SIGSEGV inside Qt's event loop, seen in CI as a rare crash in
the GUI tests (a native backtrace showed it). So automatic collection is switched off and a
timer on the GUI thread collects instead, the generation Python itself would have chosen,
from the same allocation counts. Reference counting, which frees nearly everything, is
untouched; only cycles wait for the timer (at most `INTERVAL_MS`).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 200


class MainThreadCollector(QObject):
    """Owns the timer; `install()` makes the one instance and starts it."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.collect_due)

    def start(self) -> None:
        gc.disable()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()

    def collect_due(self) -> int:
        """Collect the oldest generation whose count passed its threshold; returns it (-1:
        none was due)."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.thresholds[generation]:
                gc.collect(generation)
                return generation
        return -1


_collector: MainThreadCollector | None = None


def install(parent: QObject | None = None) -> MainThreadCollector:
    """Switch automatic collection off and collect from the GUI thread (call it there, once
    a QApplication exists). Idempotent."""
    global _collector
    if _collector is None:
        _collector = MainThreadCollector(parent)
        _collector.start()
    return _collector
