"""The Qt-free half of building in a child process: its event stream, and what its end means.

A build runs in `python -m trtgui.cli.main build --events --request-stdin` (the protocol of
`trtgui.core.build.events`). `EventStream` turns the child's stdout bytes into events (partial
lines buffered) and calls back for log lines and progress; `build_outcome` says what the build
came to from the last event and how the child ended: the result, the error it reported, a
cancel, or a crash named in one line ("TensorRT crashed while building (signal 11, SIGSEGV,
in phase 'Building engine'): nothing was written"). `build_subprocess.run_build_child` is the
same client with `subprocess` instead of QProcess (the GPU check, benches, no Qt).

The GUI's QProcess client is `trtgui.gui.build_process`.
"""

from __future__ import annotations

import json
import logging
import signal
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from trtgui.core.build.events import (
    EVENTS_VERSION,
    CancelledEvent,
    ErrorEvent,
    Event,
    EventProtocolError,
    LogEvent,
    ProgressUpdateEvent,
    ReadyEvent,
    ResultEvent,
    StartedEvent,
    build_result_from_dict,
    parse_event_line,
)
from trtgui.core.build.progress import ProgressEvent
from trtgui.core.build.result import BuildResult, build_outputs
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import EngineBuildError, TrtGuiError
from trtgui.core.files import remove_stale_temps

# Cancel writes "cancel"; a child that has not ended this long after is killed. TensorRT-RTX
# answers its progress monitor within ~0.1 s in most phases but not all (a long tactic), and
# the promise is p95 <= 0.5 s from the click to the child gone.
CANCEL_GRACE_S = 0.3
# After its last event a child only has to exit, which takes TensorRT-RTX ~0.2 s after a
# cancel (its builder's teardown): its files have landed or been removed by then, so a child
# still there this long after its last event is killed (its temporary files are removed).
EXIT_GRACE_S = 0.05
STDERR_KEEP_BYTES = 64 << 10  # the end of the child's stderr kept for Details
LOG_TAIL_LINES = 40  # the last log lines, repeated in a crash's Details

LogSink = Callable[[int, str], None]
ProgressSink = Callable[[ProgressEvent], None]


class BuildProcessError(EngineBuildError):
    """The build's child process died (a signal, an abort, out of memory, killed from
    outside), ended without saying how the build went, or broke the event protocol."""


# -- what a build may write, before and after -----------------------------------------------------


@dataclass(frozen=True)
class OutputsSnapshot:
    """The identity of each file a build writes, taken before it starts: after a child died,
    `changed()` says honestly whether "nothing was written" holds."""

    files: tuple[tuple[Path, tuple[int, int, int, int] | None], ...]

    @classmethod
    def of(cls, settings: BuildSettings) -> OutputsSnapshot:
        return cls(tuple((Path(o.path), _identity(Path(o.path))) for o in build_outputs(settings)))

    def changed(self) -> list[Path]:
        return [path for path, before in self.files if _identity(path) != before]

    def folders(self) -> list[Path]:
        return sorted({path.parent for path, _ in self.files})

    def remove_temps(self) -> list[Path]:
        """trtgui's temporary files beside the outputs whose writer is gone (the killed or
        crashed child: call this after it has been reaped)."""
        removed: list[Path] = []
        for folder in self.folders():
            removed += remove_stale_temps(folder)
        return removed


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


# -- the event stream -----------------------------------------------------------------------------


class EventStream:
    """Bytes from a build child's stdout → events. Log lines go to `on_log`, progress to
    `on_progress` (every event: throttling is the caller's); the rest is remembered for
    `build_outcome`. A line that is not an event is logged as a warning and remembered."""

    def __init__(self, on_log: LogSink, on_progress: ProgressSink) -> None:
        self._on_log = on_log
        self.on_progress = on_progress  # every progress event (a bench may wrap it)
        self._partial = bytearray()
        self._lines: deque[bytes] = deque()
        self.ready: ReadyEvent | None = None
        self.started: StartedEvent | None = None
        self.final: ResultEvent | ErrorEvent | CancelledEvent | None = None
        self.phases: tuple[str, ...] = ()  # the phase names open at the last progress event
        self.protocol_error: EventProtocolError | None = None
        self.log_tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.events = 0
        self.log_lines = 0

    def feed(self, data: bytes) -> None:
        """Queue `data`; complete lines wait for `pump`."""
        if not data:
            return
        self._partial += data
        if b"\n" not in data:
            return
        *lines, rest = bytes(self._partial).split(b"\n")
        self._partial = bytearray(rest)
        self._lines.extend(lines)

    def close(self) -> None:
        """The child's stdout ended: a last line without its line feed counts too."""
        if self._partial:
            self._lines.append(bytes(self._partial))
            self._partial.clear()

    def pending(self) -> int:
        return len(self._lines)

    def pump(self, max_lines: int | None = None) -> int:
        """Handle up to `max_lines` queued lines (all with None); returns how many are left."""
        lines = self._lines
        count = len(lines) if max_lines is None else min(max_lines, len(lines))
        for _ in range(count):
            raw = lines.popleft()
            if raw.strip():
                self._handle(raw.decode("utf-8", errors="replace"))
        return len(lines)

    def _handle(self, line: str) -> None:
        fast = _log_line(line)
        if fast is not None:  # most lines of a build: no need for the full reader
            self.events += 1
            self.log_tail.append(fast[1])
            self.log_lines += 1
            self._on_log(*fast)
            return
        try:
            event = parse_event_line(line)
        except EventProtocolError as exc:
            if self.protocol_error is None:
                self.protocol_error = exc
            self._on_log(
                logging.WARNING,
                f"The build process wrote a line that is not an event: {exc.message}",
            )
            return
        self.events += 1
        self.dispatch(event)

    def dispatch(self, event: Event) -> None:
        if isinstance(event, LogEvent):
            self.log_tail.append(event.message)
            self.log_lines += 1
            self._on_log(event.level, event.message)
        elif isinstance(event, ProgressUpdateEvent):
            progress = event.to_progress()
            self.phases = tuple(p.name for p in progress.phases) or self.phases
            self.on_progress(progress)
        elif isinstance(event, ReadyEvent):
            self.ready = event
        elif isinstance(event, StartedEvent):
            self.started = event
        elif self.final is None:  # result, error, cancelled: the first one counts
            self.final = event


def _log_line(line: str) -> tuple[int, str] | None:
    """(level, message) of a v1 `log` event line, checked as `parse_event_line` checks it;
    None for any other line (read by `parse_event_line`). A VERBOSE build writes ~10,000 log
    lines: this takes half the time of the full reader, on the window's thread."""
    if '"event":"log"' not in line:
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("event") != "log":
        return None
    level, message, version = data.get("level"), data.get("message"), data.get("v")
    if type(version) is not int or version != EVENTS_VERSION or type(level) is not int:
        return None
    if not isinstance(message, str):
        return None
    return level, message


# -- what the end of a child means ------------------------------------------------------------


@dataclass(frozen=True)
class ChildExit:
    """How the child ended: its exit status, or the signal that ended it."""

    code: int | None = None
    signal: int | None = None
    killed_by_us: bool = False  # Cancel's grace ran out (or the window closed)

    def describe(self) -> str:
        if self.signal is not None:
            return f"signal {self.signal}, {signal_name(self.signal)}"
        return f"exit status {self.code}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class Outcome:
    kind: Literal["succeeded", "failed", "cancelled"]
    result: BuildResult | None = None
    error: TrtGuiError | None = None


def build_outcome(
    stream: EventStream,
    ended: ChildExit,
    stderr_text: str,
    *,
    cancel_requested: bool,
    outputs: OutputsSnapshot | None,
) -> Outcome:
    """What the build came to. The child's own last event decides when there is one (a
    result whose record is malformed is a failure); else a cancel the user asked for is a
    cancel (the child was killed in its grace period), else the child died: said in one
    line with the signal and the phase."""
    final = stream.final
    if isinstance(final, ResultEvent):
        try:
            return Outcome("succeeded", result=build_result_from_dict(final.result))
        except EventProtocolError as exc:
            return Outcome("failed", error=exc)
    if isinstance(final, ErrorEvent):
        return Outcome("failed", error=final.to_error())
    changed = outputs.changed() if outputs is not None else []
    if isinstance(final, CancelledEvent) or (cancel_requested and not changed):
        return Outcome("cancelled")
    return Outcome("failed", error=_died(stream, ended, stderr_text, changed))


def _died(
    stream: EventStream, ended: ChildExit, stderr_text: str, changed: list[Path]
) -> TrtGuiError:
    where = f", in phase '{' › '.join(stream.phases)}'" if stream.phases else ""
    how = ended.describe()
    written = (
        "nothing was written"
        if not changed
        else f"{', '.join(p.name for p in changed)} changed before it ended: check "
        + ("it" if len(changed) == 1 else "them")
    )
    if ended.signal == signal.SIGKILL and not ended.killed_by_us:
        message = (
            f"The build process was killed ({how}: out of memory, or ended from outside{where}): "
            f"{written}"
        )
    elif ended.signal is not None:
        who = "TensorRT" if stream.ready is not None else "The build process"
        doing = "building" if stream.ready is not None else "starting"
        message = f"{who} crashed while {doing} ({how}{where}): {written}"
    elif stream.protocol_error is not None and ended.code == 0:
        message = (
            f"The build process broke the build event protocol: {stream.protocol_error.message}"
        )
    else:
        last = _last_line(stderr_text)
        said = f": {last}" if last else ""
        message = f"The build process ended without a result ({how}{where}){said}"
        if not changed:
            message += "; nothing was written"
    details = [f"The build process ended with {how}."]
    if stream.phases:
        details.append(f"Last phase: {' › '.join(stream.phases)}")
    if changed:
        details.append("Files changed: " + ", ".join(str(p) for p in changed))
    if stream.log_tail:
        details += ["", "The last log lines:", *stream.log_tail]
    details += ["", "The build process's error output:", stderr_text.rstrip() or "(none)"]
    return BuildProcessError(message, details="\n".join(details))


def _last_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()
    return ""


class StderrTail:
    """The end of the child's stderr, bounded (TensorRT can write a lot there)."""

    def __init__(self, keep: int = STDERR_KEEP_BYTES) -> None:
        self._keep = keep
        self._data = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        self._data += data
        if len(self._data) > 2 * self._keep:
            del self._data[: len(self._data) - self._keep]

    def text(self) -> str:
        data = bytes(self._data[-self._keep :])
        cut = "…(earlier output left out)\n" if self.total > len(data) else ""
        return cut + data.decode("utf-8", errors="replace")
