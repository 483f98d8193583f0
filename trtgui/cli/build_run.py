"""One in-process build for the CLI, whatever it prints: `BuildRun` runs `build_engine` in a
worker thread and hands its progress and log lines to a `BuildSink` (the text display of
`build_text`, or the JSON-lines writer of `build_events`), so both paths see the same
things.

Cancel: the first request (Ctrl-C, SIGTERM with --events, a `cancel` line on stdin) sets the
build's cancel event while no write is landing, so the build stops at TensorRT's next step and
writes nothing, or has already written everything. A second request ends the process at once
with 130: not by raising (the interpreter's teardown while the build thread is still inside
TensorRT crashed it: SIGSEGV, "exception not rethrown") but by os._exit, which skips every
`finally`, so the writer's temporary files are removed first and nothing can land after that.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from trtgui.core import files  # now, not in a signal handler

if TYPE_CHECKING:
    from types import FrameType

    from trtgui.core.build.accuracy_record import AccuracyReport, ConversionSample
    from trtgui.core.build.progress import ProgressEvent
    from trtgui.core.build.result import BuildResult
    from trtgui.core.build.settings import BuildSettings

EXIT_CANCELLED = 130


class BuildSink(Protocol):
    """Where a build's life goes. `progress` and `log` run on TensorRT's threads."""

    def progress(self, event: ProgressEvent) -> None: ...

    def log(self, level: int, message: str) -> None: ...

    def cancelling(self) -> None:
        """The first cancel request was seen (the build stops at TensorRT's next step)."""

    def interrupted(self) -> None:
        """A second request: the process ends right after this (temporary files removed)."""

    def finish(self) -> None:
        """The build thread ended."""


@dataclass(frozen=True)
class Outcome:
    """How the build ended: `result` or `error` (BuildCancelled for a cancel that won), and
    whether a cancel was asked for (one that came after the files landed leaves a result)."""

    result: BuildResult | None
    error: BaseException | None
    cancel_requested: bool


class BuildRun:
    """One build in a worker thread, with its cancel requests counted."""

    def __init__(self, sink: BuildSink) -> None:
        self.sink = sink
        self.cancel = threading.Event()  # may be set before `run`: the build then stops at once
        self._requests = 0
        self._lock = threading.Lock()

    def request_cancel(self) -> None:
        """Cancel (first call) or end the process now (second). Any thread, signal handlers
        included."""
        with self._lock:
            self._requests += 1
            second = self._requests > 1
        if second:
            files.abandon_writes()
            self.sink.interrupted()
            os._exit(EXIT_CANCELLED)
        # Set while no write is landing: a build that has not renamed its files yet sees the
        # cancel and writes nothing; one that has is done (the caller says so).
        with files.landing_paused():
            self.cancel.set()
        self.sink.cancelling()

    def run(
        self,
        settings: BuildSettings,
        *,
        log_level: int,
        accept_accuracy_loss: bool = False,
        signals: Sequence[signal.Signals] = (signal.SIGINT,),
    ) -> Outcome:
        """Build `settings`, handing `sink` TensorRT's lines at `log_level` and above;
        `signals` (when this is the main thread) request a cancel meanwhile."""
        from trtgui.core.build.builder import build_engine

        built: list[BuildResult] = []
        failed: list[BaseException] = []

        def work() -> None:
            try:
                result = build_engine(
                    settings,
                    on_log=self.sink.log,
                    on_progress=self.sink.progress,
                    cancel=self.cancel,
                    log_level=log_level,
                    check_conversion=_check_conversion,
                    accept_accuracy_loss=accept_accuracy_loss,
                )
            except BaseException as exc:  # handed to the main thread, which reports it
                failed.append(exc)
            else:
                built.append(result)

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.request_cancel()

        worker = threading.Thread(target=work, name="trtgui-build", daemon=True)
        in_main = threading.current_thread() is threading.main_thread()
        previous = {s: signal.signal(s, on_signal) for s in signals} if in_main else {}
        try:
            worker.start()
            while worker.is_alive():
                worker.join(0.1)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.sink.finish()
        return Outcome(
            result=built[0] if built else None,
            error=failed[0] if failed else None,
            cancel_requested=self.cancel.is_set(),
        )


def _check_conversion(sample: ConversionSample) -> AccuracyReport:
    """The predict stage's precision check, imported when a build converts its model: an
    FP32 build never needs it, and its imports (the decoders) cost the CLI ~0.1 s."""
    from trtgui.core.predict.accuracy import check_conversion

    return check_conversion(sample)
