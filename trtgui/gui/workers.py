"""Long work off the GUI thread: a `Worker` QObject moved to a QThread, with typed signals.

A job is a plain function `job(ctx: JobContext) -> result` that calls into `trtgui.core`
with `ctx.on_log`, `ctx.on_progress` and `ctx.cancel`; it can be run and tested without Qt.
`Worker` emits exactly one of `succeeded(result)`, `failed(exception)`, `cancelled()`, and
then `finished()`, always last. Log lines never become one signal each: they go to a
thread-safe sink (normally a `LogBuffer` drained by the log view's timer). Progress events
are throttled before they become signals.

Builds do not run here: the GUI builds in a child process (`trtgui.gui.build_process`), so no
TensorRT callback runs in the GUI's process and no signal comes from TensorRT's threads.

Every QThread started here is kept in a registry until it has stopped, so tests can check
that none is left running (`running_threads`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from trtgui.core.build.progress import ProgressCallback, ProgressEvent
from trtgui.core.errors import BuildCancelled

# The job bodies live in a module without Qt, so they run (and are tested) anywhere; they are
# imported here too, where the panels have always found them.
from trtgui.gui.jobs import Job, JobContext, LogSink, build_job, call_job, inspect_job

__all__ = ["Job", "JobContext", "LogSink", "build_job", "call_job", "inspect_job"]
T = TypeVar("T")

_PROGRESS_INTERVAL_S = 0.05


class Worker(QObject):
    """Runs one job in its thread and reports it through typed signals in the GUI thread.

    Nothing that carries a Python object is queued across threads: the worker thread stores
    the outcome (or the latest progress event) on the Worker and emits an argument-less
    signal; a `_GuiRelay` made in the GUI thread receives it there and emits `succeeded`,
    `failed`, `cancelled`, `finished` (last, always) and `progress` with the stored objects,
    so every slot runs in the GUI thread with objects no other thread touches any more. (A
    queued `Signal(object)` from a worker thread coincided with rare SIGSEGVs inside Qt's
    event loop in CI.)
    """

    progress = Signal(object)  # the latest core progress event (throttled)
    log = Signal(int, str)  # the worker's own few messages (start, outcome): plain data
    succeeded = Signal(object)  # the job's result
    failed = Signal(object)  # the exception
    cancelled = Signal()
    finished = Signal()  # always last
    # Emitted in the worker thread, received by the relay in the GUI thread: no arguments.
    ended = Signal()
    progressed = Signal()

    def __init__(
        self, job: Job[object], log_sink: LogSink | None = None, name: str = "job"
    ) -> None:
        super().__init__()
        self.job = job
        self.name = name
        self.cancel_event = threading.Event()
        self._log_sink = log_sink
        self._last_progress = 0.0
        self._last_phases: tuple[str, ...] | None = None
        self.started_at: float | None = None
        self._lock = threading.Lock()
        self.outcome: tuple[str, object] | None = (
            None  # ("succeeded" | "failed" | "cancelled", value)
        )
        self.latest_progress: ProgressEvent | None = None

    def cancel(self) -> None:
        """Ask the job to stop. Safe from any thread; the job sees `ctx.cancel`."""
        self.cancel_event.set()

    def context(self) -> JobContext:
        sink = self._log_sink or (lambda level, message: None)
        return JobContext(on_log=sink, on_progress=self._on_progress, cancel=self.cancel_event)

    def _on_progress(self, event: ProgressEvent) -> None:
        # May be called hundreds of times a second: pass on only a phase change or one event
        # every 50 ms, so the GUI thread is not flooded.
        now = time.perf_counter()
        phases = tuple(p.name for p in event.phases)
        if phases != self._last_phases or now - self._last_progress >= _PROGRESS_INTERVAL_S:
            self._last_phases = phases
            self._last_progress = now
            with self._lock:
                self.latest_progress = event
            self.progressed.emit()

    def take_progress(self) -> ProgressEvent | None:
        with self._lock:
            event, self.latest_progress = self.latest_progress, None
        return event

    @Slot()
    def run(self) -> None:
        self.started_at = time.perf_counter()
        self.log.emit(logging.INFO, f"{self.name} started")
        outcome: tuple[str, object]
        try:
            result = self.job(self.context())
        except BuildCancelled:
            self.log.emit(logging.WARNING, f"{self.name} cancelled")
            outcome = ("cancelled", None)
        except BaseException as exc:
            if self.cancel_event.is_set() and not isinstance(exc, Exception):
                outcome = ("cancelled", None)
            else:
                self.log.emit(logging.ERROR, f"{self.name} failed: {exc}")
                outcome = ("failed", exc)
        else:
            if self.cancel_event.is_set() and result is None:
                outcome = ("cancelled", None)
            else:
                elapsed = time.perf_counter() - self.started_at
                self.log.emit(logging.INFO, f"{self.name} finished in {elapsed:.2f} s")
                outcome = ("succeeded", result)
        with self._lock:
            self.outcome = outcome
        self.ended.emit()


# Relays kept alive until the event loop has left their slot: a slot whose callbacks drop
# the last reference (LatestOnly forgets its handle in `finished`) would otherwise delete
# the relay inside its own event handler, a use-after-free in Qt (seen as SIGSEGV in CI).
_live_relays: set[QObject] = set()


def _release_later(relay: QObject) -> None:
    QTimer.singleShot(0, lambda: _live_relays.discard(relay))


class _GuiRelay(QObject):
    """Made in the GUI thread: turns a Worker's argument-less cross-thread signals into its
    typed signals, emitted here, so their slots run in the GUI thread (see `Worker`)."""

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self._worker = worker
        _live_relays.add(self)
        worker.ended.connect(self.ended)
        worker.progressed.connect(self.progressed)

    @Slot()
    def progressed(self) -> None:
        event = self._worker.take_progress()
        if event is not None:
            self._worker.progress.emit(event)

    @Slot()
    def ended(self) -> None:
        worker = self._worker
        outcome = worker.outcome
        kind, value = outcome if outcome is not None else ("cancelled", None)
        try:
            if kind == "succeeded":
                worker.succeeded.emit(value)
            elif kind == "failed":
                worker.failed.emit(value)
            else:
                worker.cancelled.emit()
        finally:
            try:
                worker.finished.emit()
            finally:
                _release_later(self)


class WorkerHandle:
    """A started worker and its thread. Keep it to cancel or wait."""

    def __init__(self, worker: Worker, thread: QThread) -> None:
        self.worker = worker
        self.thread = thread
        self.started = False
        self.relay: _FinishedRelay | None = None
        self.gui_relay = _GuiRelay(worker)  # made here, in the GUI thread

    def start(self) -> None:
        self.started = True
        self.thread.start()

    def cancel(self) -> None:
        self.worker.cancel()

    def is_running(self) -> bool:
        return _is_running(self.thread)

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the thread has stopped; True when it has."""
        try:
            return bool(self.thread.wait(timeout_ms))
        except RuntimeError:  # already deleted by Qt: it had stopped
            return True


class _FinishedRelay(QObject):
    """Calls `on_finished` in the GUI thread once the worker's thread has really ended.

    `Worker.finished` arrives a moment before its thread stops; waiting here (a few ms at
    most: the thread quits right after `finished`) makes `is_running()`, `wait()` and
    `running_threads()` exact inside every on_finished callback.
    """

    def __init__(self, handle: WorkerHandle, on_finished: Callable[[], None]) -> None:
        super().__init__()  # created in the calling (GUI) thread, so `relay` runs there
        self._handle = handle
        self._on_finished = on_finished
        _live_relays.add(self)

    @Slot()
    def relay(self) -> None:
        try:
            self._handle.wait(5000)
            self._on_finished()
        finally:
            _release_later(self)


_handles: list[WorkerHandle] = []


def _is_running(thread: QThread) -> bool:
    try:
        return bool(thread.isRunning())
    except RuntimeError:  # the C++ object is gone, so the thread is too
        return False


def _prune() -> None:
    # Only a thread that has fully ended (`wait(0)`: joined) lets go of its wrappers; one
    # that has just left `run` may still be in Qt's own end-of-thread code.
    _handles[:] = [h for h in _handles if not h.started or not h.wait(0)]


def running_threads() -> list[QThread]:
    """QThreads started by `start_worker` that are still running."""
    _prune()
    return [h.thread for h in _handles if h.is_running()]


def start_worker(
    job: Job[T],
    *,
    log_sink: LogSink | None = None,
    name: str = "job",
    on_succeeded: Callable[[T], None] | None = None,
    on_failed: Callable[[BaseException], None] | None = None,
    on_cancelled: Callable[[], None] | None = None,
    on_finished: Callable[[], None] | None = None,
    on_progress: ProgressCallback | None = None,
    on_log: Callable[[int, str], None] | None = None,
    start: bool = True,
) -> WorkerHandle:
    """Move a `Worker` for `job` to a new QThread, connect it and start it.

    Pass bound methods of GUI-thread objects as `on_*` callbacks: Qt then queues them into the
    GUI thread (a lambda would run in the worker thread). With `start=False` the caller may
    connect more signals and then call `handle.start()`.
    """
    thread = QThread()
    thread.setObjectName(f"trtgui-{name}")
    worker = Worker(job, log_sink=log_sink, name=name)
    # The Worker stays in the GUI thread (so signals emitted there by its relay reach plain
    # callables directly); only `run` executes in the new thread, called from its `started`.
    thread.started.connect(worker.run, Qt.ConnectionType.DirectConnection)
    for signal, slot in (
        (worker.progress, on_progress),
        (worker.log, on_log),
        (worker.succeeded, on_succeeded),
        (worker.failed, on_failed),
        (worker.cancelled, on_cancelled),
    ):
        if slot is not None:
            signal.connect(slot)
    # quit() is thread-safe: call it directly in the worker thread as the job ends, so a GUI
    # thread blocked in wait() (window close) still sees the thread end.
    worker.ended.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    handle = WorkerHandle(worker, thread)
    if on_finished is not None:
        relay = _FinishedRelay(handle, on_finished)
        worker.finished.connect(relay.relay)
        handle.relay = relay
    # The registry keeps the Python wrappers alive while the thread runs.
    _prune()
    _handles.append(handle)
    if start:
        handle.start()
    return handle


def stop_all(timeout_ms: int = 30000) -> list[QThread]:
    """Cancel every running worker and wait at most `timeout_ms` in all (not per thread);
    returns the threads that did not stop."""
    for handle in list(_handles):
        handle.cancel()
    deadline = time.monotonic() + timeout_ms / 1000
    stuck = []
    for handle in list(_handles):
        left_ms = max(0, int((deadline - time.monotonic()) * 1000))
        if not handle.wait(left_ms):
            stuck.append(handle.thread)
    return stuck


class _Delivery(QObject):
    """Carries one `LatestOnly` job's outcome into the GUI thread with its request number,
    so the owner can drop the outcome of a request that a newer one replaced."""

    def __init__(self, owner: LatestOnly, number: int) -> None:
        # A child of its owner, made in the GUI thread: its slots run there, and when the
        # owner's panel is deleted it goes too, so nothing is delivered to a deleted widget.
        super().__init__(owner)
        self._owner = owner
        self._number = number
        self.handle: WorkerHandle | None = None

    @Slot(object)
    def succeeded(self, result: object) -> None:
        self._owner._deliver(self._number, result, None)

    @Slot(object)
    def failed(self, err: object) -> None:
        self._owner._deliver(self._number, None, err)

    @Slot()
    def finished(self) -> None:
        if self.handle is not None:  # `finished` comes a moment before the thread ends
            self.handle.wait(5000)
        self._owner._finished(self)


class LatestOnly(QObject):
    """One kind of background work where only the newest request matters (load the image
    just dropped, preview the tensor for the spec just edited).

    At most one job runs at a time: a request made meanwhile waits (replacing any request
    already waiting) and the running job is asked to cancel. Only the newest request's
    outcome reaches `on_succeeded` / `on_failed`, in the GUI thread; `idle` is emitted
    when nothing runs or waits any more. So dropping ten files in a row never starts ten
    threads, and a slow old job never overwrites what the user asked for last.
    """

    idle = Signal()

    def __init__(
        self,
        name: str,
        on_succeeded: Callable[[Any], None],  # Any: each loader has its own result type
        on_failed: Callable[[BaseException], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self._on_succeeded = on_succeeded
        self._on_failed = on_failed
        self._number = 0
        self._handle: WorkerHandle | None = None
        self._delivery: _Delivery | None = None
        self._waiting: tuple[int, Job[Any]] | None = None

    def request(self, job: Job[Any]) -> None:
        """Run `job` as soon as the running one (if any) has stopped."""
        self._number += 1
        self._waiting = (self._number, job)
        if self._handle is not None:
            self._handle.cancel()
        else:
            self._start_waiting()

    def drop(self) -> None:
        """Forget every request: nothing delivered until the next one."""
        self._number += 1
        self._waiting = None
        if self._handle is not None:
            self._handle.cancel()

    def is_busy(self) -> bool:
        return self._handle is not None or self._waiting is not None

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the running job's thread has stopped (shutdown)."""
        return self._handle.wait(timeout_ms) if self._handle is not None else True

    def _start_waiting(self) -> None:
        if self._waiting is None:
            self.idle.emit()
            return
        number, job = self._waiting
        self._waiting = None
        delivery = _Delivery(self, number)
        self._delivery = delivery
        self._handle = start_worker(job, name=self.name, start=False)
        delivery.handle = self._handle
        worker = self._handle.worker
        worker.succeeded.connect(delivery.succeeded)
        worker.failed.connect(delivery.failed)
        worker.finished.connect(delivery.finished)
        self._handle.start()

    def _deliver(self, number: int, result: object, err: object) -> None:
        if number != self._number:
            return  # a newer request replaced this one
        if err is not None:
            self._on_failed(err if isinstance(err, BaseException) else RuntimeError(str(err)))
        else:
            self._on_succeeded(result)

    def _finished(self, delivery: _Delivery) -> None:
        delivery.deleteLater()
        if delivery is self._delivery:
            self._handle = None
            self._delivery = None
            self._start_waiting()
