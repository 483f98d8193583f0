"""The build child's pipes: `EventWriter` (whole JSON lines on the events' file
descriptor), `LineReader` (stdin lines, without a buffered object), and the test-only crash
stand-in of `TRTGUI_TEST_CRASH` (see `build_events`).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from trtgui.core.build.events import Event, event_line
from trtgui.core.errors import SettingsError

CRASH_VARIABLE = "TRTGUI_TEST_CRASH"
# A request line is a few kB; a stdin line without a line feed after this many bytes is
# dropped, so a stream with no line feeds (< /dev/zero) cannot fill the memory.
MAX_STDIN_LINE = 16 << 20


class EventWriter:
    """Whole JSON lines to one file descriptor, one `os.write` loop per line, under a lock
    (TensorRT's threads write progress and log lines). A reader that went away (EPIPE) is
    told to `on_broken` once; later events are dropped."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.broken = False
        self.closed = False  # the last event is out: nothing may follow it
        self.on_broken: Any = None  # Callable[[], None]
        self._lock = threading.Lock()

    @classmethod
    def take_stdout(cls) -> EventWriter:
        """A writer on a private copy of fd 1; fd 1 itself now points at stderr, and so does
        Python's sys.stdout (a print is free text, never taken for TensorRT's log)."""
        import sys

        sys.stdout.flush()
        private = os.dup(1)
        os.set_inheritable(private, False)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        return cls(private)

    def last(self, event: Event, timeout: float = -1) -> None:
        """The stream's last event: later writes (a log line still on its way) are dropped."""
        self.write(event, timeout)
        self.closed = True

    def write(self, event: Event, timeout: float = -1) -> None:
        data = (event_line(event) + "\n").encode("utf-8")
        if not self._lock.acquire(timeout=timeout):
            return  # only the last words of a hard exit wait with a timeout
        try:
            if self.broken or self.closed:
                return
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError:  # BrokenPipeError: the parent went away
            self.broken = True
        finally:
            self._lock.release()
        if self.broken and self.on_broken is not None:
            callback, self.on_broken = self.on_broken, None
            callback()


class CrashStandIn:
    """The test-only crash stand-in of `TRTGUI_TEST_CRASH` (see the module docstring)."""

    def __init__(self, how: str, phase: str) -> None:
        self.how = how
        self.phase = phase
        self._fired = False

    @classmethod
    def from_environment(cls) -> CrashStandIn | None:
        value = os.environ.get(CRASH_VARIABLE, "")
        if not value:
            return None
        how, _, phase = value.partition("@")
        if how not in ("segv", "abort") or not phase:
            raise SettingsError(
                f"{CRASH_VARIABLE}={value!r} is not segv@PHASE or abort@PHASE (a test-only "
                "crash stand-in): unset it, or name a phase."
            )
        return cls(how, phase)

    def at_start(self) -> None:
        if self.phase == "start":
            self._crash()

    def at_phases(self, names: list[str], writer: EventWriter) -> None:
        if not self._fired and any(self.phase in name for name in names):
            # Silence the stream first: other TensorRT threads keep reporting while the
            # fault handler dumps the stacks, and the parent must see this phase last.
            writer.closed = True
            self._crash()

    def _crash(self) -> None:
        self._fired = True
        if self.how == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        else:
            os.abort()


class LineReader:
    """Lines from a file descriptor, read with os.read (no buffered object whose lock a
    reading thread could hold while the interpreter exits). None at end of file."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._pending = b""
        self._eof = False

    def readline(self) -> bytes | None:
        while b"\n" not in self._pending and not self._eof:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # no stdin at all (closed fd): as good as closed
                chunk = b""
            self._pending += chunk
            self._eof = not chunk
            if len(self._pending) > MAX_STDIN_LINE and b"\n" not in self._pending:
                self._pending = b""  # no line trtgui sends is this long: not ours, dropped
        if not self._pending:
            return None
        line, _, self._pending = self._pending.partition(b"\n")
        return line
