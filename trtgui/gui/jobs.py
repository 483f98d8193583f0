"""Job bodies: what the GUI's workers run, as plain functions with no Qt in them.

A job is `job(ctx: JobContext) -> result`: a thin call into `trtgui.core` with the context's
log and progress callbacks and cancel event. `trtgui.gui.workers` runs jobs in a QThread; tests
(and the GPU check on a machine without Qt) call them directly. A build is the exception: the
GUI builds in a child process (`trtgui.gui.build_process`), and `build_job` runs the same child
protocol without Qt (`build_subprocess.run_build_child`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from trtgui.core.build.progress import ProgressCallback

if TYPE_CHECKING:  # each job imports what it calls, when it runs
    from trtgui.core.build.result import BuildResult
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.model.onnx_model import ModelInfo

LogSink = Callable[[int, str], None]
T = TypeVar("T")


@dataclass
class JobContext:
    """What a job gets: callbacks (cheap, thread-safe, never raise) and the cancel event."""

    on_log: LogSink = lambda level, message: None
    on_progress: ProgressCallback = lambda event: None
    cancel: threading.Event = field(default_factory=threading.Event)


# A job's body: runs in the worker thread, returns what `succeeded` carries.
Job = Callable[[JobContext], T]


def build_job(
    settings: BuildSettings, log_level: int = logging.INFO, accept_accuracy_loss: bool = False
) -> Job[BuildResult]:
    """A build as the GUI runs it: in a child process speaking the build event protocol
    (`trtgui-cli build --events --request-stdin`), with the context's callbacks and cancel.
    The callbacks run in the calling thread.

    `log_level`: the lowest TensorRT message level passed on (5 = VERBOSE, everything).
    Raises what the child reported, BuildCancelled, or BuildProcessError when it died.
    """

    def job(ctx: JobContext) -> BuildResult:
        from trtgui.core.build.events import BuildRequest
        from trtgui.gui.build_subprocess import run_build_child

        request = BuildRequest.of(settings, log_level, accept_accuracy_loss)
        return run_build_child(
            request, on_log=ctx.on_log, on_progress=ctx.on_progress, cancel=ctx.cancel
        )

    return job


def inspect_job(path: str) -> Job[ModelInfo]:
    """The body of opening a model: `trtgui.core.model.onnx_model.inspect_onnx`."""

    def job(ctx: JobContext) -> ModelInfo:
        from trtgui.core.model.onnx_model import inspect_onnx

        return inspect_onnx(path)

    return job


def call_job(fn: Callable[[], T]) -> Job[T]:
    """A job that just calls `fn()` (for short core calls that ignore callbacks)."""
    return lambda ctx: fn()
