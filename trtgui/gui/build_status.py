"""The Build panel's status rows: what the build is doing, how long it has taken, how far it is.

`BuildStatus` is the line above the progress bar (the phase › inner phase and step, or the
outcome in words, and the elapsed time beside it) and the bar itself (the top phase's steps).
It renders; it decides nothing: the Build panel tells it when a build starts, what each
progress event says and how the build ended.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from trtgui.core.build.progress import ProgressEvent
from trtgui.core.build.result import BuildResult
from trtgui.gui.widgets import take_given_width

TICK_MS = 100  # how often the elapsed time is redrawn while a build runs


class BuildStatus(QWidget):
    """Phase and step, elapsed time and the progress bar of one build at a time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._elapsed = QElapsedTimer()
        self.phase_label = QLabel("Ready.")
        self.phase_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        take_given_width(self.phase_label)
        self.elapsed_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.reset_progress()
        prog_row = QHBoxLayout()
        prog_row.addWidget(self.phase_label, 1)
        prog_row.addWidget(self.elapsed_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(prog_row)
        layout.addWidget(self.progress)

        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self.update_elapsed)

    def say(self, text: str) -> None:
        """A line of its own in the phase label (why a build did not start)."""
        self.phase_label.setText(text)

    def clear(self) -> None:
        """No build: "Ready.", no elapsed time, an empty bar."""
        self._elapsed.invalidate()
        self.phase_label.setText("Ready.")
        self.phase_label.setToolTip("")
        self.elapsed_label.setText("")
        self.reset_progress()

    def start(self) -> None:
        """A build starts: a busy bar until its first progress event, and the clock runs."""
        self.progress.setRange(0, 0)
        self.progress.setFormat("")
        self.phase_label.setText("Starting…")
        self.phase_label.setToolTip("")
        self.elapsed_label.setText("0.0 s")
        self._elapsed.start()
        self._tick.start()

    def show_progress(self, event: ProgressEvent) -> None:
        """The bar follows the top phase; the label names every open phase and the inner
        phase's step."""
        phases = event.phases
        if not phases:
            return
        top = phases[0]
        inner = phases[-1]
        if top.num_steps > 0:
            self.progress.setRange(0, top.num_steps)
            self.progress.setValue(min(top.step, top.num_steps))
            self.progress.setFormat(f"{top.name}: {top.step}/{top.num_steps}")
        names = " › ".join(p.name for p in phases)
        step = f"  (step {inner.step}/{inner.num_steps})" if inner.num_steps > 0 else ""
        self.phase_label.setText(names + step)

    def show_cancelling(self) -> None:
        self.phase_label.setText("Cancelling…")
        self.phase_label.repaint()  # before the caller blocks (window close waits)

    def stop_clock(self) -> None:
        """The build has ended: the elapsed time stays at its last value."""
        self._tick.stop()
        self.update_elapsed()

    def update_elapsed(self) -> None:
        if self._elapsed.isValid():
            self.elapsed_label.setText(f"{self._elapsed.elapsed() / 1000:.1f} s")

    def show_built(self, result: BuildResult) -> None:
        self.phase_label.setText(f"Built {result.engine_path.name}")
        self.phase_label.setToolTip(str(result.engine_path))
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat("done")

    def show_failed(self, message: str) -> None:
        self.phase_label.setText(f"Build failed: {message}")
        self.phase_label.setToolTip(message)
        self.reset_progress()

    def show_cancelled(self) -> None:
        self.phase_label.setText("Build cancelled: nothing was written.")
        self.reset_progress()

    def reset_progress(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
