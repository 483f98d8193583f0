"""`trtgui-cli build … --events`: the build's life as JSON lines on stdout (the protocol of
`trtgui.core.build.events`), `cancel` read on stdin, and `--request-stdin`, the pre-started
worker the GUI builds through.

stdout carries the events and nothing else: its file descriptor is taken for them (a private
copy, `event_io.EventWriter`), and fd 1 then feeds TensorRT's own C++ logger back in
(`core.build.native_log`: no Python call per VERBOSE message), its other lines, a stray print
included, going to stderr as free text. The build itself is the text path's
(`build_run.BuildRun`); its sink writes events. Cancel: a `cancel` line, stdin closing (the
parent died), Ctrl-C or SIGTERM; TensorRT stops at its next step, and where it has none within
CANCEL_GRACE the child ends itself, as a second `cancel` or signal does at once: temporary
files removed, nothing can land after, a `cancelled` event last. Before the build starts a
signal ends the wait at once. The child exits right after its last event (os._exit: the
interpreter's teardown only delayed the parent).

`TRTGUI_TEST_CRASH=segv@PHASE` or `abort@PHASE` is a test-only crash stand-in: when a progress
phase whose name contains PHASE first appears (PHASE `start`: right after `started`), the
process raises SIGSEGV on itself or calls abort(), as a crash inside TensorRT would end it.
Read only here, in the --events path.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trtgui.cli.build_run import EXIT_CANCELLED, BuildRun
from trtgui.cli.event_io import CrashStandIn, EventWriter, LineReader
from trtgui.core.build.events import (
    CANCEL_LINE,
    CancelledEvent,
    ErrorEvent,
    LogEvent,
    ProgressUpdateEvent,
    ReadyEvent,
    ResultEvent,
    StartedEvent,
    parse_request_line,
)

if TYPE_CHECKING:
    from types import FrameType

    from trtgui.core.build.native_log import NativeLogPipe
    from trtgui.core.build.progress import ProgressEvent
    from trtgui.core.build.settings import BuildSettings

# trtgui's own notes (the suggested profile, a replaced engine) are log lines at this level,
# so the default level (warning) shows them, as the text path always prints them.
NOTE_LEVEL = logging.WARNING
# A log event's message is cut here (TensorRT may quote a 100,000-character name).
LOG_EVENT_CHARS = 20_000
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Progress steps inside one phase are written at most this often (phase changes always).
STEP_INTERVAL = 0.02
# After a cancel, how long TensorRT has to reach its next step before the child ends itself
# (TensorRT-RTX stopped within 5-70 ms of the request in 8 of 9 phases of PP-OCRv4 det).
CANCEL_GRACE = 0.3


class EventSink:
    """A `build_run.BuildSink` that writes progress and log events."""

    def __init__(self, writer: EventWriter, crash: CrashStandIn | None) -> None:
        self.writer = writer
        self.crash = crash
        self._lock = threading.Lock()
        self._last_phases: tuple[str, ...] | None = None
        self._last_time = 0.0
        self._engine: Path | None = None
        self._engine_before: tuple[int, int, int] | None = None
        self._ended = threading.Event()

    def watch(self, engine: Path) -> None:
        """The engine file the build writes, as it is now (see `_give_up`)."""
        self._engine, self._engine_before = engine, _identity(engine)

    def progress(self, event: ProgressEvent) -> None:
        names = tuple(p.name for p in event.phases)
        if self._due(event, names):
            self.writer.write(ProgressUpdateEvent.of(event))
        if self.crash is not None:
            self.crash.at_phases(list(names), self.writer)

    def _due(self, event: ProgressEvent, names: tuple[str, ...]) -> bool:
        """Every change of the open phases and every phase's last step is written; steps
        inside a phase at most every STEP_INTERVAL seconds (TensorRT-RTX reports ~1,000 steps
        of "Cloning network graph" in a 0.35 s build)."""
        now = time.monotonic()
        current = event.current
        with self._lock:
            due = (
                names != self._last_phases
                or now - self._last_time >= STEP_INTERVAL
                or (current is not None and current.step >= current.num_steps)
            )
            if due:
                self._last_phases, self._last_time = names, now
        return due

    def log(self, level: int, message: str) -> None:
        if len(message) > LOG_EVENT_CHARS:
            message = f"{message[:LOG_EVENT_CHARS]}… ({len(message):,} characters)"
        self.writer.write(LogEvent(level=level, message=message))

    def note(self, text: str) -> None:
        self.log(NOTE_LEVEL, text)

    def cancelling(self) -> None:
        # The parent shows "Cancelling…"; TensorRT stops at its next step, but does minutes of
        # work without one on a large model (seen: ~2.8 s after "Determining refit engines"
        # on PP-OCRv4 det): past the grace the child gives up the build itself.
        timer = threading.Timer(CANCEL_GRACE, self._give_up)
        timer.daemon = True
        timer.start()

    def _give_up(self) -> None:
        """The build did not stop within the grace: end the process as a second cancel does
        (temporary files removed, nothing can land after), unless its files have landed
        already (the engine file changed), whose result the build is about to report."""
        from trtgui.core import files

        if self._ended.is_set() or self._engine is None:
            return
        with files.landing_paused():  # no write lands while we look
            if _identity(self._engine) != self._engine_before:
                return
            files.abandon_writes()
            self.writer.last(CancelledEvent(), timeout=1.0)
            os._exit(EXIT_CANCELLED)

    def interrupted(self) -> None:
        self.writer.last(CancelledEvent(), timeout=1.0)

    def finish(self) -> None:
        self._ended.set()


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What tells a replaced file from the one that was there (a rename gives a new inode)."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def _watch_stdin(lines: LineReader, run: BuildRun) -> None:
    """Each `cancel` line is a cancel request (the second ends the process); the end of
    stdin cancels, unless a cancel is already under way. Other lines are ignored."""
    while True:
        line = lines.readline()
        if line is None:
            if not run.cancel.is_set():
                run.request_cancel()
            return
        if line.strip() == CANCEL_LINE.encode():
            run.request_cancel()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_events(args: argparse.Namespace) -> int:
    """The --events path: 0 with a `result` event, 1 with `error`, 130 with `cancelled`."""
    writer = EventWriter.take_stdout()
    in_main = threading.current_thread() is threading.main_thread()
    # Until the build runs, a signal ends the wait at once (imports, the request).
    previous = {s: signal.signal(s, _raise_interrupt) for s in _SIGNALS} if in_main else {}
    try:
        code = _events(args, writer)
    except KeyboardInterrupt:
        writer.last(CancelledEvent())
        code = EXIT_CANCELLED
    except Exception as exc:  # every failure is an error event, as the text path's funnel
        writer.last(ErrorEvent.of(exc))
        code = 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if getattr(args, "_own_process", False):
        # The last event is out and the files are in place: the interpreter's teardown
        # (TensorRT's objects, threads) only delays the exit the parent waits for (~0.2 s).
        import sys

        sys.stderr.flush()
        os._exit(code)
    return code


@dataclass(frozen=True)
class _Job:
    """What to build, from the command line or the request line."""

    settings: BuildSettings
    log_level: int
    accept_accuracy_loss: bool
    save_to: Path | None


def _events(args: argparse.Namespace, writer: EventWriter) -> int:
    from trtgui.cli.cmd_build import finish_build, with_suggested_profile
    from trtgui.core.errors import BuildCancelled

    crash = CrashStandIn.from_environment()
    native = _get_ready(args, writer)
    sink = EventSink(writer, crash)
    run = BuildRun(sink)
    writer.on_broken = run.request_cancel  # nobody reads the events any more: stop
    lines = LineReader(0)
    first: bytes | None = None
    if args.request_stdin:
        first = lines.readline()
        if first is None or first.strip() == CANCEL_LINE.encode():
            writer.last(CancelledEvent())  # the parent went away, or changed its mind
            return EXIT_CANCELLED
    threading.Thread(
        target=_watch_stdin, args=(lines, run), name="trtgui-stdin", daemon=True
    ).start()
    job = _job(args, first)
    if native is not None:
        native.set_level(job.log_level)
    settings = with_suggested_profile(job.settings, sink.note)
    replacing = Path(settings.output_path).is_file()
    writer.write(
        StartedEvent(
            model=str(Path(settings.onnx_path).resolve()),
            engine=str(Path(settings.output_path).resolve()),
            precision=settings.precision.value,
        )
    )
    if crash is not None:
        crash.at_start()
    sink.watch(Path(settings.output_path))
    outcome = run.run(
        settings,
        log_level=job.log_level,
        accept_accuracy_loss=job.accept_accuracy_loss,
        signals=_SIGNALS,
    )
    for sig in _SIGNALS:  # the build is over: what it wrote stays, whatever comes now
        signal.signal(sig, signal.SIG_IGN)
    if native is not None:
        native.sync()  # TensorRT's last lines, before the last event
    if isinstance(outcome.error, BuildCancelled):
        writer.last(CancelledEvent())
        return EXIT_CANCELLED
    if outcome.error is not None:
        writer.last(ErrorEvent.of(outcome.error))
        return 1
    result = finish_build(outcome, settings, job.save_to, replacing, sink.note, "The cancel")
    writer.last(ResultEvent(result=result.to_dict()))
    return 0


def _get_ready(args: argparse.Namespace, writer: EventWriter) -> NativeLogPipe | None:
    """Import the build stack and TensorRT, hear TensorRT through its own C++ logger where it
    reports progress by monitor (TensorRT 8.6 reads progress from the VERBOSE log), and say
    `ready`."""
    from trtgui.core import backends
    from trtgui.core.build import builder  # noqa: F401  (imported now, before `ready`)
    from trtgui.core.build.native_log import install
    from trtgui.core.predict import accuracy  # noqa: F401  (the precision check's stack)

    info = backends.probe_backend(args.backend or backends.default_backend_name())
    native = None
    if info.available and info.has_progress_monitor:
        native = install(info.name, backends.load_trt(info.name), logging.WARNING)
    shown = f"{info.module_name} {info.version}" if info.available else f"{info.module_name} (none)"
    writer.write(ReadyEvent(pid=os.getpid(), backend=shown))
    return native


def _job(args: argparse.Namespace, request_line: bytes | None) -> _Job:
    """The build the command line or the request line asks for, its outputs checked."""
    from trtgui.cli.build_args import log_level, make_settings
    from trtgui.cli.cmd_build import check_outputs

    if request_line is None:
        settings = make_settings(args)
        save_to = check_outputs(args, settings)
        return _Job(settings, log_level(args), bool(args.accept_accuracy_loss), save_to)
    request = parse_request_line(request_line.decode("utf-8", "replace"))
    settings = _with_engine_path(request.build_settings())
    check_outputs(argparse.Namespace(), settings)
    return _Job(settings, request.log_level, request.accept_accuracy_loss, None)


def _with_engine_path(settings: BuildSettings) -> BuildSettings:
    """A request without an engine path builds beside the model, as the CLI does."""
    from trtgui.core.build.settings import default_engine_path

    if settings.output_path:
        return settings
    return settings.with_changes(
        output_path=str(default_engine_path(settings.onnx_path, settings.precision))
    )
