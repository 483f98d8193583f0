"""TensorRT's own C++ logger, read back through a pipe: the cheap way to hear TensorRT.

A Python `trt.ILogger` subclass is called for every message TensorRT has, VERBOSE included
(~5,300 calls for a 0.35 s EfficientNet-Lite0 build; the subclass gets no severity filter),
each call taking the GIL. TensorRT's built-in `trt.Logger(min_severity)` filters in C++ and
prints what is left on the process's stdout (fd 1), one line each:
`[12/01/2026-14:56:58] [TRT] [W] message`, a message's further lines unprefixed. A process
that owns its fd 1 (the `build --events` child, whose events go to a private copy of it) can
point fd 1 at a pipe and read those lines back in a thread, into the backend's `TrtLogHub`
(counts, error lines, listeners), as the Python logger would have delivered them.

Order: TensorRT writes each line before its call returns, so a marker written to the same
pipe after a call comes after every line of that call; `sync()` waits for the reader to reach
it. `LogCapture` calls `hub.sync` before it answers how many warnings and errors there were,
so a build never reads counts the pipe has not delivered yet.
"""

from __future__ import annotations

import logging
import os
import re
import select
import threading
from typing import Any

from trtgui.core.build import trt_log

# The severity letters of TensorRT's built-in logger (in its Python bindings' strings).
_LINE = re.compile(rb"\[[^\]]*\] \[TRT\] \[([FEWIV])\] ?(.*)", re.S)
_LEVELS = {
    b"F": logging.CRITICAL,
    b"E": logging.ERROR,
    b"W": logging.WARNING,
    b"I": logging.INFO,
    b"V": trt_log.VERBOSE,
}
_MARKER = b"\x00trtgui-log-sync "
# A message is delivered when its next line starts another one, at a marker, or after this
# long without a new line (so the last message before a quiet stretch still shows).
_IDLE_SECONDS = 0.05


def severity_for(trt: Any, level: int) -> Any:
    """The `trt.Logger.Severity` that lets through `level` and above."""
    if level <= trt_log.VERBOSE:
        return trt.Logger.VERBOSE
    if level <= logging.INFO:
        return trt.Logger.INFO
    if level <= logging.WARNING:
        return trt.Logger.WARNING
    return trt.Logger.ERROR


class NativeLogPipe:
    """fd 1 → a pipe, read in a thread into `hub`; lines that are not TensorRT's go to
    `forward_fd` (stderr) as they came."""

    def __init__(self, hub: trt_log.TrtLogHub, trt: Any, logger: Any, forward_fd: int = 2) -> None:
        self.hub = hub
        self.trt = trt
        self.logger = logger
        self.forward_fd = forward_fd
        self._read_fd = -1
        self._pending: tuple[int, list[bytes]] | None = None
        self._synced = threading.Condition()
        self._seen = 0
        self._asked = 0
        self._ask_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_inheritable(read_fd, False)
        os.dup2(write_fd, 1)  # fd 1 (TensorRT's std::cout) now feeds the pipe
        os.close(write_fd)
        self._read_fd = read_fd
        self._thread = threading.Thread(target=self._run, name="trtgui-trt-log", daemon=True)
        self._thread.start()

    def set_level(self, level: int) -> None:
        """Let TensorRT's logger through at `level` and above (never above WARNING)."""
        self.logger.min_severity = severity_for(self.trt, min(level, logging.WARNING))

    def sync(self, timeout: float = 60.0) -> None:
        """Return once every line written to fd 1 before this call was delivered. The reader
        only waits on the events' reader (a parent that died makes writes fail at once), so
        the timeout is a last guard, not a figure to reach."""
        if self._thread is None or not self._thread.is_alive():
            return  # nothing reads the pipe (the reader ended): nothing more will come
        with self._ask_lock:
            self._asked += 1
            token = self._asked
        os.write(1, _MARKER + str(token).encode() + b"\n")
        with self._synced:
            self._synced.wait_for(lambda: self._seen >= token, timeout)

    def _run(self) -> None:
        buffer = b""
        while True:
            ready, _, _ = select.select([self._read_fd], [], [], _IDLE_SECONDS)
            if not ready:
                self._deliver()
                continue
            chunk = os.read(self._read_fd, 65536)
            if not chunk:
                self._deliver()
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    self._line(line)
                except Exception:  # keep reading: a line lost beats a log that stops
                    self.hub.dropped += 1

    def _line(self, line: bytes) -> None:
        if line.startswith(_MARKER):
            self._deliver()
            with self._synced:
                self._seen = max(self._seen, int(line[len(_MARKER) :] or b"0"))
                self._synced.notify_all()
            return
        found = _LINE.fullmatch(line)
        if found is not None:
            self._deliver()
            self._pending = (_LEVELS[found.group(1)], [found.group(2)])
        elif self._pending is not None:
            self._pending[1].append(line)  # a further line of the message
        else:
            os.write(self.forward_fd, line + b"\n")  # not TensorRT's: as it came

    def _deliver(self) -> None:
        if self._pending is None:
            return
        level, parts = self._pending
        self._pending = None
        self.hub.dispatch(level, b"\n".join(parts).decode("utf-8", "replace"))


def install(backend: str, trt: Any, level: int) -> NativeLogPipe | None:
    """Make TensorRT's C++ logger at `level` (and never above WARNING: warnings are always
    counted) the process-wide logger of `backend`, read back through fd 1. Only for a process
    that owns its fd 1, before anything asked for the backend's logger; None when one exists
    already (TensorRT objects keep a pointer to it) or `trt` has no built-in logger."""
    if not hasattr(trt, "Logger"):
        return None
    hub = trt_log.TrtLogHub(backend)
    logger = trt.Logger(severity_for(trt, min(level, logging.WARNING)))
    pipe = NativeLogPipe(hub, trt, logger)
    hub.sync = pipe.sync
    if not trt_log.install_logger(backend, logger, hub):
        return None
    pipe.start()
    return pipe
