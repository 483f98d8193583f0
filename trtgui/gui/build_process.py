"""The GUI's builds run in a child process: a QProcess client of the build event protocol.

`BuildProcess` sends one `BuildRequest` to a `trtgui-cli build --events --request-stdin`
child and turns its JSON lines into signals like a worker's: `progress(ProgressEvent)`,
then exactly one of `succeeded(BuildResult)`, `failed(TrtGuiError)`, `cancelled()`, and
`finished()`, always last, once the child has ended. The child's log lines go straight to a
`log_sink` (the log view's batched sink), never one signal per line. Everything runs on the
GUI thread through QProcess's signals: no Python thread, no signal from TensorRT's threads.

One child builds one engine and exits, so the build's memory goes back to the system. Python
and TensorRT take seconds to import, so one idle child is started ahead of time (`prestart`:
after the window shows, and again after each build) and waits at its `ready` line for the next
request. Cancel writes `cancel` (TensorRT stops at its next progress check) and kills the
child if it has not ended `CANCEL_GRACE_S` later; then trtgui's temporary files of that child
are removed, so nothing is left either way. A child that dies (a signal, an abort, out of
memory) is reported in one line with the signal and the phase; the window stays up.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from trtgui.core.build.events import CANCEL_LINE, BuildRequest, request_line
from trtgui.core.build.progress import ProgressEvent
from trtgui.gui import build_child
from trtgui.gui.build_child import (
    Child,
    discard_spare,
    end_all,
    prestart,
    running_children,
    spare_ready,
)
from trtgui.gui.build_stream import (
    CANCEL_GRACE_S,
    EXIT_GRACE_S,
    BuildProcessError,
    ChildExit,
    EventStream,
    LogSink,
    OutputsSnapshot,
    StderrTail,
    build_outcome,
)
from trtgui.gui.child_command import child_command

# The pool of children is build_child's; its functions are reached from here too.
__all__ = [
    "BuildProcess",
    "discard_spare",
    "end_all",
    "prestart",
    "running_children",
    "spare_ready",
]
log = logging.getLogger("trtgui.gui")

# A burst of lines (TensorRT's VERBOSE log ends with thousands in a few ms) is parsed in
# slices of at most this long (~25 µs a line on a loaded 2-core machine), each its own turn of
# the event loop, so the window keeps answering.
SLICE_SECONDS = 0.001
LINES_PER_CHECK = 16
READ_DELAY_MS = 10
# Between parsing slices, and between reading and parsing: at least 1 ms, so the window's
# other timers and paints get a turn (with 0, Qt ran slices back to back: 3-4 ms of parsing
# in one heartbeat gap).
PUMP_GAP_MS = 1
PROGRESS_INTERVAL_MS = 50  # progress within one phase reaches the panel at most this often


# -- one build ----------------------------------------------------------------------------------


class BuildProcess(QObject):
    """One build in one child process. Signals (GUI thread): progress(ProgressEvent), log(int,
    str) for this client's own few lines, then one of succeeded(BuildResult),
    failed(TrtGuiError), cancelled(), and finished() last, always."""

    progress = Signal(object)
    log = Signal(int, str)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(
        self, request: BuildRequest, log_sink: LogSink, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.request = request
        self.outputs = OutputsSnapshot.of(request.build_settings())
        self.stream = EventStream(log_sink, self._on_progress_event)
        self.stderr = StderrTail()
        self.child: Child | None = None
        self.cancel_requested = False
        self.killed = False
        self.done = False
        self.reused_spare = False  # whether it took the idle child (benches, tests)
        self._latest: ProgressEvent | None = None
        self._shown_phases: tuple[str, ...] | None = None
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.timeout.connect(self._emit_latest_progress)
        self._pumping = False
        self._read_queued = False
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

    @property
    def pid(self) -> int:
        return int(self.child.process.processId()) if self.child is not None else 0

    def start(self) -> None:
        """Hand the request to the idle child (or a new one); returns at once."""
        self.reused_spare = build_child.has_spare()
        child = build_child.take()
        self.child = child
        build_child.building.append(child)
        process = child.process
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._on_exit)
        process.errorOccurred.connect(self._on_error)
        process.write((request_line(self.request) + "\n").encode())
        # What the idle child wrote while it waited (its `ready` line) is read now.
        self._read_stdout()
        self._read_stderr()

    def is_running(self) -> bool:
        return self.child is not None and not self.done

    def cancel(self) -> None:
        """Ask the child to stop; kill it if it has not ended CANCEL_GRACE_S later."""
        if not self.is_running() or self.cancel_requested:
            return
        self.cancel_requested = True
        assert self.child is not None
        self.child.process.write((CANCEL_LINE + "\n").encode())
        self._kill_timer.start(int(CANCEL_GRACE_S * 1000))

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Cancel and wait (blocking: window close) until the child has ended, killing it when
        the grace period is over; True when it has ended."""
        if not self.is_running():
            return True
        self.cancel()
        assert self.child is not None
        process = self.child.process
        grace = min(int(CANCEL_GRACE_S * 1000), timeout_ms)
        if not process.waitForFinished(grace):
            self._kill()
            process.waitForFinished(max(100, timeout_ms - grace))
        return not self.is_running()

    # -- the child's output -------------------------------------------------------------------

    def _read_stdout(self) -> None:
        # QProcess says so for every chunk the child writes (most are one line): reading and
        # parsing what came in READ_DELAY_MS together takes ~2,000 fewer turns of the window
        # per VERBOSE build (its CPU time 0.62 -> 0.55 s, median of 6 paired runs).
        if not self._read_queued:
            self._read_queued = True
            QTimer.singleShot(READ_DELAY_MS, self, self._read_now)

    def _read_now(self) -> None:
        self._read_queued = False
        if self.child is None or self.done:
            return
        self.stream.feed(bytes(self.child.process.readAllStandardOutput().data()))
        if not self._pumping:  # else the queued slice will get to the new lines
            self._pumping = True
            QTimer.singleShot(PUMP_GAP_MS, self, self._pump)

    def _pump(self) -> None:
        self._pumping = False
        until = time.perf_counter() + SLICE_SECONDS
        left = self.stream.pump(LINES_PER_CHECK)
        while left and time.perf_counter() < until:
            left = self.stream.pump(LINES_PER_CHECK)
        if left and not self._pumping:
            self._pumping = True
            QTimer.singleShot(PUMP_GAP_MS, self, self._pump)
        if self.stream.final is not None and not self.done:
            # The child's last word decides; it only has to exit now (`retire`).
            self._conclude(ChildExit())

    def _read_stderr(self) -> None:
        if self.child is not None:
            self.stderr.add(bytes(self.child.process.readAllStandardError().data()))

    def _on_progress_event(self, event: ProgressEvent) -> None:
        # A new phase reaches the panel at the next turn; steps within one phase every 50 ms
        # at most. Never inside the parsing slice: the label and the bar (which repaints at
        # once) take ~1.5 ms, which on top of a slice was one of the longest heartbeat gaps.
        self._latest = event
        phases = tuple(p.name for p in event.phases)
        if phases != self._shown_phases:
            self._progress_timer.start(0)
        elif not self._progress_timer.isActive():
            self._progress_timer.start(PROGRESS_INTERVAL_MS)

    def _emit_latest_progress(self) -> None:
        event, self._latest = self._latest, None
        if event is not None and not self.done:
            self._shown_phases = tuple(p.name for p in event.phases)
            self.progress.emit(event)

    def _kill(self) -> None:
        if self.child is not None and self.child.running() and not self.done:
            self.killed = True
            self.child.process.kill()
            self.log.emit(
                logging.INFO,
                f"The build process had not stopped {CANCEL_GRACE_S:.1f} s after the request: "
                "it was ended.",
            )

    # -- the end ------------------------------------------------------------------------------

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self.done:
            assert self.child is not None
            self._finish_with(
                "failed",
                error=BuildProcessError(
                    "The build process could not start: " + self.child.process.errorString(),
                    details=" ".join(child_command()),
                ),
            )

    def _on_exit(self, code: int, status: QProcess.ExitStatus) -> None:
        if self.done or self.child is None:
            return
        self._kill_timer.stop()
        self._read_stderr()
        self.stream.feed(bytes(self.child.process.readAllStandardOutput().data()))
        self.stream.close()
        self.stream.pump()
        crashed = status == QProcess.ExitStatus.CrashExit
        if self.stream.final is None:
            # It died without its last word: its temporary files beside the outputs (its
            # own temporary folder goes when it is forgotten).
            self.outputs.remove_temps()
        self._conclude(
            ChildExit(
                code=None if crashed else code,
                signal=code if crashed else None,
                killed_by_us=self.killed,
            )
        )

    def _conclude(self, ended: ChildExit) -> None:
        outcome = build_outcome(
            self.stream,
            ended,
            self.stderr.text(),
            cancel_requested=self.cancel_requested,
            outputs=self.outputs,
        )
        self._finish_with(outcome.kind, result=outcome.result, error=outcome.error)

    def _finish_with(self, kind: str, result: object = None, error: object = None) -> None:
        self.done = True
        self._progress_timer.stop()
        self._kill_timer.stop()
        if self.child is not None:
            build_child.retire(self.child, EXIT_GRACE_S)
        try:
            if kind == "succeeded":
                self.succeeded.emit(result)
            elif kind == "cancelled":
                self.cancelled.emit()
            else:
                self.failed.emit(error)
        finally:
            self.finished.emit()
