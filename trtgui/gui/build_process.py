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

import atexit
import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from trtgui.core.build.events import CANCEL_LINE, BuildRequest, request_line
from trtgui.core.build.progress import ProgressEvent
from trtgui.gui.build_stream import (
    CANCEL_GRACE_S,
    EXIT_GRACE_S,
    ChildExit,
    EventStream,
    LogSink,
    OutputsSnapshot,
    StderrTail,
    build_outcome,
    child_command,
    child_environment,
    new_child_temp_dir,
    remove_child_temp_dir,
)

log = logging.getLogger("trtgui.gui")

# Lines parsed per turn of the event loop: a burst (TensorRT's VERBOSE log ends with thousands
# of lines in a few ms) is handled in slices so the window keeps answering.
LINES_PER_SLICE = 300
PROGRESS_INTERVAL_MS = 50  # progress within one phase reaches the panel at most this often


@dataclass
class _Child:
    """A started child process, the temporary folder it writes in, and what it inherited."""

    process: QProcess
    temp_dir: Path
    inherited: tuple[tuple[str, str], ...]  # our environment and folder when it started
    started_at: float = field(default_factory=time.perf_counter)

    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning


def _inherited() -> tuple[tuple[str, str], ...]:
    # pytest rewrites PYTEST_CURRENT_TEST around every test: not something a build reads.
    env = sorted((k, v) for k, v in os.environ.items() if not k.startswith("PYTEST_"))
    return (("", os.getcwd()), *env)


def _start_child() -> _Child:
    temp_dir = new_child_temp_dir()
    env = QProcessEnvironment()
    for key, value in child_environment(temp_dir).items():
        env.insert(key, value)
    process = QProcess()
    process.setProcessEnvironment(env)
    program, *args = child_command()
    process.start(program, args)
    return _Child(process, temp_dir, _inherited())


# -- the pre-started child ----------------------------------------------------------------------

_spare: _Child | None = None
_building: list[_Child] = []


def prestart() -> None:
    """Start the idle child the next build will use, unless one waits already."""
    global _spare
    if _spare is not None and _spare.running() and _spare.inherited == _inherited():
        return
    discard_spare()
    _spare = _start_child()


def spare_ready() -> bool:
    """Whether the idle child has finished importing (its `ready` line waits to be read)."""
    return _spare is not None and _spare.running() and _spare.process.canReadLine()


def discard_spare() -> None:
    """End the idle child (window shutdown, tests)."""
    global _spare
    spare, _spare = _spare, None
    if spare is not None:
        _end(spare)


def _take() -> _Child:
    """The idle child when it still runs and has our environment (a test may change it),
    else a new one."""
    global _spare
    spare, _spare = _spare, None
    if spare is not None and spare.running() and spare.inherited == _inherited():
        return spare
    if spare is not None:
        _end(spare)
    return _start_child()


def _end(child: _Child) -> None:
    if child.running():
        child.process.kill()
        child.process.waitForFinished(2000)
    remove_child_temp_dir(child.temp_dir)


def running_children(*, idle: bool = True) -> list[QProcess]:
    """Child processes started here that still run: any building, and the idle one unless
    `idle` is False."""
    children = [c for c in _building if c.running()]
    if idle and _spare is not None and _spare.running():
        children.append(_spare)
    return [c.process for c in children]


atexit.register(discard_spare)


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
        self.child: _Child | None = None
        self.cancel_requested = False
        self.killed = False
        self.done = False
        self.started_at = 0.0
        self.reused_spare = False
        self._latest: ProgressEvent | None = None
        self._shown_phases: tuple[str, ...] | None = None
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_INTERVAL_MS)
        self._progress_timer.timeout.connect(self._emit_latest_progress)
        self._pumping = False
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

    @property
    def pid(self) -> int:
        return int(self.child.process.processId()) if self.child is not None else 0

    def start(self) -> None:
        """Hand the request to the idle child (or a new one); returns at once."""
        self.started_at = time.perf_counter()
        self.reused_spare = _spare is not None
        child = _take()
        self.child = child
        _building.append(child)
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
        if self.child is None:
            return
        self.stream.feed(bytes(self.child.process.readAllStandardOutput().data()))
        if not self._pumping:  # else the queued slice will get to the new lines
            self._pump()

    def _pump(self) -> None:
        self._pumping = False
        left = self.stream.pump(LINES_PER_SLICE)
        if left and not self._pumping:
            self._pumping = True
            QTimer.singleShot(0, self._pump)
        over = self.stream.final is not None and not self.cancel_requested
        if over and not self._kill_timer.isActive():  # the child only has to exit now
            self._kill_timer.start(int(EXIT_GRACE_S * 1000))

    def _read_stderr(self) -> None:
        if self.child is not None:
            self.stderr.add(bytes(self.child.process.readAllStandardError().data()))

    def _on_progress_event(self, event: ProgressEvent) -> None:
        # A new phase reaches the panel at once; steps within one phase every 50 ms at most.
        self._latest = event
        phases = tuple(p.name for p in event.phases)
        if phases != self._shown_phases:
            self._emit_latest_progress()
        elif not self._progress_timer.isActive():
            self._progress_timer.start()

    def _emit_latest_progress(self) -> None:
        event, self._latest = self._latest, None
        if event is not None and not self.done:
            self._shown_phases = tuple(p.name for p in event.phases)
            self.progress.emit(event)

    def _kill(self) -> None:
        if self.child is not None and self.child.running():
            self.killed = True
            self.child.process.kill()

    # -- the end ------------------------------------------------------------------------------

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self.done:
            assert self.child is not None
            from trtgui.gui.build_stream import BuildProcessError

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
        ended = ChildExit(
            code=None if crashed else code,
            signal=code if crashed else None,
            killed_by_us=self.killed,
        )
        if crashed or self.stream.final is None:
            # A killed or crashed child's temporary files beside the outputs (its own
            # temporary folder goes below).
            self.outputs.remove_temps()
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
        child = self.child
        if child is not None:
            with contextlib.suppress(ValueError):
                _building.remove(child)
            remove_child_temp_dir(child.temp_dir)
            # The QProcess stays alive with this object: it is inside its own `finished`.
        try:
            if kind == "succeeded":
                self.succeeded.emit(result)
            elif kind == "cancelled":
                self.cancelled.emit()
            else:
                self.failed.emit(error)
        finally:
            self.finished.emit()
