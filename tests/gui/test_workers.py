"""Workers: the job body runs without Qt; the QObject worker emits its signals in order,
`finished` always last; threads are registered and stop."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal, Slot

from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import BuildCancelled, ModelLoadError
from trtgui.gui import workers
from trtgui.gui.workers import JobContext, Worker, build_job, start_worker


class Relay(QObject):
    """Re-emits a worker's signals in the GUI thread: pytest-qt's blockers stop their timeout
    timer in the emitting thread otherwise (a Qt warning)."""

    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.got: list[object] = []
        worker.succeeded.connect(self._succeeded)
        worker.failed.connect(self._failed)
        worker.cancelled.connect(self._cancelled)
        worker.finished.connect(self._finished)

    @Slot(object)
    def _succeeded(self, value: object) -> None:
        self.got.append(value)
        self.succeeded.emit(value)

    @Slot(object)
    def _failed(self, err: object) -> None:
        self.got.append(err)
        self.failed.emit(err)

    @Slot()
    def _cancelled(self) -> None:
        self.cancelled.emit()

    @Slot()
    def _finished(self) -> None:
        self.finished.emit()


def test_build_job_runs_without_qt(made_models, tmp_path: Path) -> None:
    pytest.importorskip("tensorrt_rtx")
    lines: list[tuple[int, str]] = []
    events: list[object] = []
    settings = BuildSettings(
        onnx_path=str(made_models["static_conv"].path), output_path=str(tmp_path / "m.engine")
    )
    ctx = JobContext(on_log=lambda lv, m: lines.append((lv, m)), on_progress=events.append)
    result = build_job(settings)(ctx)
    assert Path(result.engine_path).is_file()
    assert lines and events


def test_build_job_honours_cancel_without_qt(made_models, tmp_path: Path) -> None:
    pytest.importorskip("tensorrt_rtx")
    settings = BuildSettings(
        onnx_path=str(made_models["static_conv"].path), output_path=str(tmp_path / "m.engine")
    )
    ctx = JobContext()
    ctx.cancel.set()
    with pytest.raises(BuildCancelled):
        build_job(settings)(ctx)
    assert not (tmp_path / "m.engine").exists()


def test_signal_order_success(qtbot) -> None:
    def job(ctx: JobContext) -> int:
        ctx.on_log(logging.INFO, "hello")
        return 42

    handle = start_worker(job, name="ok", start=False)
    relay = Relay(handle.worker)
    with qtbot.waitSignals([relay.succeeded, relay.finished], order="strict", timeout=5000):
        handle.start()
    assert relay.got == [42]
    assert handle.wait(5000)
    assert not workers.running_threads()


def test_signal_order_failure(qtbot) -> None:
    def job(ctx: JobContext) -> None:
        raise ModelLoadError("cannot read", details="x")

    handle = start_worker(job, name="fail", start=False)
    relay = Relay(handle.worker)
    with qtbot.waitSignals([relay.failed, relay.finished], order="strict", timeout=5000):
        handle.start()
    (err,) = relay.got
    assert isinstance(err, ModelLoadError)
    handle.wait()


def test_signal_order_cancel(qtbot) -> None:
    started = threading.Event()

    def job(ctx: JobContext) -> None:
        started.set()
        assert ctx.cancel.wait(5)
        raise BuildCancelled("cancelled")

    handle = start_worker(job, name="cancel", start=False)
    relay = Relay(handle.worker)
    with qtbot.waitSignals([relay.cancelled, relay.finished], order="strict", timeout=5000):
        handle.start()
        assert started.wait(5)
        handle.cancel()
    assert not relay.got
    handle.wait()


def test_progress_is_throttled_and_logs_go_to_the_sink(qtbot) -> None:
    from trtgui.core.build.progress import PhaseProgress, ProgressEvent

    sink: list[tuple[int, str]] = []

    def job(ctx: JobContext) -> None:
        for i in range(2000):
            ctx.on_progress(ProgressEvent((PhaseProgress("phase", i, 2000, 0),)))
            ctx.on_log(logging.DEBUG, f"line {i}")

    handle = start_worker(
        job, name="spam", start=False, log_sink=lambda lv, m: sink.append((lv, m))
    )
    got: list[object] = []
    handle.worker.progress.connect(got.append)
    relay = Relay(handle.worker)
    with qtbot.waitSignal(relay.finished, timeout=5000):
        handle.start()
    handle.wait()
    qtbot.wait(50)
    assert len(sink) == 2000
    assert 1 <= len(got) < 200  # one signal per 50 ms or phase change, never one per step


def test_stop_all_cancels_and_joins(qtbot) -> None:
    def job(ctx: JobContext) -> None:
        ctx.cancel.wait(10)
        raise BuildCancelled("stop")

    handle = start_worker(job, name="long")
    assert workers.stop_all(5000) == []
    assert not handle.is_running()
    assert not workers.running_threads()


class _FinishProbe(QObject):
    """Records, inside on_finished, whether the worker's thread was still running."""

    def __init__(self) -> None:
        super().__init__()
        self.handle: workers.WorkerHandle | None = None
        self.running_at_finish: list[bool] = []

    @Slot()
    def finished(self) -> None:
        assert self.handle is not None
        self.running_at_finish.append(self.handle.is_running())


def test_on_finished_runs_after_the_thread_has_ended(qtbot) -> None:  # type: ignore[no-untyped-def]
    probe = _FinishProbe()
    for run in range(1, 6):  # the race it guards against is a few ms wide: try it a few times
        probe.handle = start_worker(lambda ctx: 42, on_finished=probe.finished, start=False)
        probe.handle.start()
        qtbot.waitUntil(lambda run=run: len(probe.running_at_finish) == run)
    assert probe.running_at_finish == [False] * 5
    assert not workers.running_threads()
