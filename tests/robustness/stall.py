"""How long the GUI thread stalls while files are dropped on the window.

`measure_stalls(window, paths)` drops each path on the window as a file manager does (a real
QDropEvent to the window's QWindow, which its drop filter watches), keeps the event loop running
until every worker the drop started has finished, and meanwhile records a 5 ms QTimer
heartbeat on the GUI thread. The longest gap between two beats, less the interval, is the
longest time the window could not repaint or react to the user: its stall. Issue #12's target
is no stall over 250 ms over the bad-file set.

Each beat also records the GUI thread's CPU time and the whole process's, so a stall splits
into the GUI thread working (`busy_ms`: code to move off it), other threads of the process
working (`others_ms`: a worker holding the GIL, or the process's share of the cores) and
neither (the rest: no core free, on a machine loaded by other processes).

The tests (tests/robustness/test_gui_stalls.py) and bench/robustness.py call it; error boxes
are recorded instead of shown (`recorded_boxes`).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEARTBEAT_MS = 5
STALL_TARGET_MS = 250.0


@dataclass(frozen=True)
class FileStall:
    path: Path
    stall_ms: float  # the longest heartbeat gap while this file was opened, less the beat
    seconds: float  # until every worker it started had finished
    settled: bool  # False: still working when the timeout passed (a hang)
    boxes: tuple[str, ...] = ()  # error boxes it raised
    busy_ms: float = 0.0  # the GUI thread's CPU time within that longest gap
    others_ms: float = 0.0  # the process's other threads' CPU time within it


@dataclass
class StallReport:
    files: list[FileStall] = field(default_factory=list)

    @property
    def worst(self) -> FileStall | None:
        return max(self.files, key=lambda f: f.stall_ms, default=None)

    @property
    def worst_ms(self) -> float:
        worst = self.worst
        return worst.stall_ms if worst is not None else 0.0

    @property
    def hangs(self) -> list[FileStall]:
        return [f for f in self.files if not f.settled]

    def lines(self) -> list[str]:
        """One line per file, the slowest first, for a report."""
        ordered = sorted(self.files, key=lambda f: -f.stall_ms)
        return [
            f"{f.stall_ms:8.1f} ms stall (CPU: GUI thread {f.busy_ms:5.1f} ms, others "
            f"{f.others_ms:5.1f} ms) "
            f"{f.seconds:6.2f} s{'' if f.settled else ' HANG'}  {f.path.name}"
            for f in ordered
        ]


@contextlib.contextmanager
def recorded_boxes() -> Iterator[list[str]]:
    """Message boxes opened meanwhile are recorded (their text), not shown."""
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []

    def record(box: Any, *args: Any) -> int:
        shown.append(box.text())
        return 0

    saved = QMessageBox.open, QMessageBox.exec
    QMessageBox.open = record  # type: ignore[method-assign,assignment]
    QMessageBox.exec = record  # type: ignore[method-assign,assignment]
    try:
        yield shown
    finally:
        QMessageBox.open, QMessageBox.exec = saved  # type: ignore[method-assign]


def drop_files(window: Any, paths: Sequence[Path]) -> None:
    """Drop `paths` on the window's tab bar the way a file manager drop arrives: a drag
    entering, then the drop (Qt delivers a drop only where a drag entered)."""
    from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    # A drag from the system arrives at the top-level QWindow, which hands it to the widget
    # under the cursor; before the window is shown there is none, so the tab bar gets it.
    target = window.windowHandle() or window.tabs
    spot = window.tabs.mapTo(window, window.tabs.rect().topLeft()) + QPoint(20, 10)
    enter = QDragEnterEvent(
        spot,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, enter)
    event = QDropEvent(
        QPointF(spot),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, event)


def window_idle(window: Any) -> bool:
    """No worker of the window is running and no panel is loading or running."""
    from trtgui.gui import workers

    if workers.running_threads():
        return False
    inference = window.inference_tab.panel
    if inference is not None and (inference.is_loading() or inference.is_busy()):
        return False
    engine = window.engine_tab.panel
    return not (engine is not None and engine.is_busy())


class Heartbeat:
    """A QTimer on the GUI thread every HEARTBEAT_MS; `worst_gap_ms` is the longest gap."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.beats: list[float] = []
        self.cpu: list[float] = []  # the GUI thread's CPU time at each beat
        self.process_cpu: list[float] = []  # the process's (every thread's)
        self.busy_ms = 0.0  # the GUI thread's CPU time within the longest gap
        self.others_ms = 0.0  # the other threads' CPU time within it
        self._timer = QTimer()
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        self.beats.append(time.perf_counter())
        self.cpu.append(time.thread_time())
        self.process_cpu.append(time.process_time())

    def start(self) -> None:
        self.beats, self.cpu, self.process_cpu = [], [], []
        self._beat()
        self._timer.start()

    def stop(self) -> float:
        """Stop; the longest stall seen in ms (gap less the interval)."""
        self._timer.stop()
        self._beat()
        gaps = [(b - a) * 1000 for a, b in itertools.pairwise(self.beats)]
        if not gaps:
            return 0.0
        worst = max(range(len(gaps)), key=gaps.__getitem__)
        self.busy_ms = (self.cpu[worst + 1] - self.cpu[worst]) * 1000
        process_ms = (self.process_cpu[worst + 1] - self.process_cpu[worst]) * 1000
        self.others_ms = max(0.0, process_ms - self.busy_ms)
        return max(0.0, gaps[worst] - HEARTBEAT_MS)


def run_until(condition: Callable[[], bool], timeout_s: float, poll_ms: int = 10) -> bool:
    """Run the event loop until `condition()` holds (checked every `poll_ms`) or the time is
    up; whether it held."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    result = [False]

    def check() -> None:
        if condition():
            result[0] = True
            loop.quit()
        elif time.monotonic() > deadline:
            loop.quit()

    timer = QTimer()
    timer.setInterval(poll_ms)
    timer.timeout.connect(check)
    timer.start()
    QTimer.singleShot(0, check)
    loop.exec()
    timer.stop()
    return result[0]


def measure_action(
    window: Any,
    action: Callable[[], None],
    label: Path,
    timeout_s: float = 60.0,
    boxes: list[str] | None = None,
) -> FileStall:
    """Run `action` from inside the event loop (so its own time on the GUI thread counts),
    then wait for the window to be idle twice in a row (a finished worker may start the next
    one: image → tensor preview); the stall meanwhile."""
    from PySide6.QtCore import QTimer

    before = len(boxes) if boxes is not None else 0
    beat = Heartbeat()
    beat.start()
    t0 = time.perf_counter()
    started = [False]

    def go() -> None:
        started[0] = True
        action()

    QTimer.singleShot(HEARTBEAT_MS * 2, go)
    idle_once = [False]

    def settled() -> bool:
        if not started[0]:
            return False
        idle = window_idle(window)
        done = idle and idle_once[0]
        idle_once[0] = idle
        return done

    ok = run_until(settled, timeout_s, poll_ms=20)
    seconds = time.perf_counter() - t0
    stall = beat.stop()
    new = tuple(boxes[before:]) if boxes is not None else ()
    return FileStall(label, stall, seconds, ok, new, beat.busy_ms, beat.others_ms)


def first_use(window: Any) -> FileStall:
    """Make the panels that are made on first use (Build, Engine, Inference) and measure the
    stall: their modules (numpy, Pillow, onnx, ONNX Runtime, pydantic) load on the GUI
    thread then, once per session. Measured apart, so the bad-file figures are the files'."""

    def make() -> None:
        window.build_panel()
        window.engine_panel()
        window.inference_panel()

    return measure_action(window, make, Path("first use of the panels"))


def measure_stalls(
    window: Any, paths: Sequence[Path], timeout_s: float = 60.0, boxes: list[str] | None = None
) -> StallReport:
    """Drop each of `paths` on `window` in turn and measure the GUI thread's stall (call
    `first_use` first to measure the one-off panel creation apart)."""
    report = StallReport()
    for path in paths:
        report.files.append(
            measure_action(window, lambda p=path: drop_files(window, [p]), path, timeout_s, boxes)
        )
    return report


def measure_run(window: Any, timeout_s: float = 120.0, boxes: list[str] | None = None) -> FileStall:
    """Press Run in the Inference panel and measure the stall until the result is shown
    (drawing on a large photo, scaling it for the screen)."""
    panel = window.inference_panel()
    assert panel is not None
    label = panel.image_path() or Path("run")
    return measure_action(window, panel.run, Path(f"run on {label.name}"), timeout_s, boxes)
