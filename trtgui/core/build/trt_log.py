"""TensorRT's logger → stdlib `logging` and per-build listeners.

TensorRT wants one logger object for the life of the process (builders, parsers and runtimes
keep a pointer to it), so there is one per backend: `get_trt_logger(backend, trt)`. It sends
every message to the stdlib logger `trtgui.tensorrt` (when that level is enabled) and to the
listeners attached with `capture(...)` - one per build - which count warnings and errors and
keep the error lines for the `EngineBuildError` details. Thread-safe; `log()` never raises
into TensorRT.

Once a build's cancel was requested, TensorRT reports the stop it was asked for as an error
("IBuilder::buildSerializedNetwork: Error Code 7: BuildCanceled …"): such a line is passed on
as VERBOSE and not counted, so a user's cancel prints no error.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

LOGGER_NAME = "trtgui.tensorrt"
_log = logging.getLogger(LOGGER_NAME)
# A library's logger gets a NullHandler, so unconfigured programs do not have TensorRT's
# warnings printed by logging's last-resort handler (the app decides where they go).
_log.addHandler(logging.NullHandler())

LogCallback = Callable[[int, str], None]

# TensorRT severity name -> stdlib level. VERBOSE maps below DEBUG.
VERBOSE = 5
logging.addLevelName(VERBOSE, "VERBOSE")
SEVERITY_LEVELS: dict[str, int] = {
    "INTERNAL_ERROR": logging.CRITICAL,
    "ERROR": logging.ERROR,
    "WARNING": logging.WARNING,
    "INFO": logging.INFO,
    "VERBOSE": VERBOSE,
}


def severity_level(severity: Any) -> int:
    """stdlib level of a TensorRT `ILogger.Severity` (or its name)."""
    name = getattr(severity, "name", None) or str(severity).rsplit(".", 1)[-1]
    return SEVERITY_LEVELS.get(name, logging.INFO)


def is_cancel_report(level: int, message: str) -> bool:
    """An error line in which TensorRT reports that a build was cancelled."""
    return level >= logging.ERROR and "cancel" in message.lower()


class LogCapture:
    """One build's view of the log: forwards to `on_log` and counts; bounded memory."""

    def __init__(
        self,
        on_log: LogCallback | None,
        level: int,
        keep: int = 200,
        cancel: threading.Event | None = None,
        sync: Callable[[], None] | None = None,
    ) -> None:
        self.on_log = on_log
        self.level = level
        self.cancel = cancel
        # The hub's `sync` (TensorRT's C++ logger read through a pipe, `native_log`): the
        # answers below wait until every line TensorRT wrote so far was delivered.
        self._sync = sync
        self._warning_count = 0
        self._error_count = 0
        self._errors: deque[str] = deque(maxlen=keep)
        self._warnings: deque[str] = deque(maxlen=keep)
        self._callback_errors: list[BaseException] = []
        self._lock = threading.Lock()

    def _delivered(self) -> None:
        if self._sync is not None:
            self._sync()

    @property
    def warning_count(self) -> int:
        self._delivered()
        return self._warning_count

    @property
    def error_count(self) -> int:
        self._delivered()
        return self._error_count

    @property
    def errors(self) -> deque[str]:
        self._delivered()
        return self._errors

    @property
    def warnings(self) -> deque[str]:
        self._delivered()
        return self._warnings

    @property
    def callback_errors(self) -> list[BaseException]:
        self._delivered()
        return self._callback_errors

    def cancel_requested(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def handle(self, level: int, message: str) -> None:
        if level >= logging.WARNING:
            with self._lock:
                if level >= logging.ERROR:
                    self._error_count += 1
                    self._errors.append(message)
                else:
                    self._warning_count += 1
                    self._warnings.append(message)
        if self.on_log is not None and level >= self.level:
            try:
                self.on_log(level, message)
            except BaseException as exc:  # never into TensorRT; reported after the build
                with self._lock:
                    if len(self._callback_errors) < 10:
                        self._callback_errors.append(exc)


class TrtLogHub:
    """The Python side of the process-wide logger of one backend."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._lock = threading.Lock()
        self._captures: tuple[LogCapture, ...] = ()
        self.min_level = logging.WARNING  # lowest level anybody listens to right now
        self.dropped = 0  # messages that could not be delivered (should stay 0)
        self.sync: Callable[[], None] | None = None  # set by `native_log.install`

    def _recompute(self) -> None:
        # A capture without a callback only counts warnings and errors (always listened to).
        levels = [c.level for c in self._captures if c.on_log is not None]
        levels.append(logging.WARNING)  # always counted
        if _log.isEnabledFor(VERBOSE):
            levels.append(VERBOSE)
        elif _log.isEnabledFor(logging.INFO):
            levels.append(logging.INFO)
        self.min_level = min(levels)

    def attach(self, capture: LogCapture) -> None:
        with self._lock:
            self._captures = (*self._captures, capture)
            self._recompute()

    def detach(self, capture: LogCapture) -> None:
        with self._lock:
            self._captures = tuple(c for c in self._captures if c is not capture)
            self._recompute()

    def dispatch(self, level: int, message: str) -> None:
        if level < self.min_level:
            return  # cheap exit for the thousands of VERBOSE lines nobody asked for
        try:
            if is_cancel_report(level, message) and any(
                c.cancel_requested() for c in self._captures
            ):
                level = VERBOSE  # the stop a user asked for, not a failure
            if _log.isEnabledFor(level):
                _log.log(level, "%s", message, extra={"trt_backend": self.backend})
            for capture in self._captures:  # a tuple: safe to read without the lock
                capture.handle(level, message)
        except BaseException:  # never into TensorRT
            self.dropped += 1


@contextmanager
def capture(
    hub: TrtLogHub,
    on_log: LogCallback | None,
    level: int,
    cancel: threading.Event | None = None,
) -> Iterator[LogCapture]:
    """Attach a `LogCapture` to `hub` for the duration of one build (`cancel`: the build's
    cancel event, so the cancellation TensorRT reports is not taken for an error)."""
    cap = LogCapture(on_log, level, cancel=cancel, sync=hub.sync)
    hub.attach(cap)
    try:
        yield cap
    finally:
        hub.detach(cap)


_loggers: dict[str, tuple[Any, TrtLogHub]] = {}
_loggers_lock = threading.Lock()


def install_logger(backend: str, logger: Any, hub: TrtLogHub) -> bool:
    """Make `logger` (TensorRT's own C++ logger, see `native_log`) the process-wide logger of
    `backend`; False when `get_trt_logger` already made one (TensorRT objects keep it)."""
    with _loggers_lock:
        if backend in _loggers:
            return False
        _loggers[backend] = (logger, hub)
        return True


def get_trt_logger(backend: str, trt: Any) -> tuple[Any, TrtLogHub]:
    """The process-wide `trt.ILogger` of `backend` and the hub it reports to."""
    with _loggers_lock:
        found = _loggers.get(backend)
        if found is not None:
            return found
        hub = TrtLogHub(backend)
        # Indexed by int(severity): cheaper than hashing the enum, and this runs per message.
        members = list(trt.ILogger.Severity.__members__.values())
        levels = [logging.INFO] * (max(int(m) for m in members) + 1)
        for member in members:
            levels[int(member)] = severity_level(member)

        class _Logger(trt.ILogger):  # type: ignore[misc]
            def __init__(self) -> None:
                trt.ILogger.__init__(self)

            def log(self, severity: Any, msg: str) -> None:
                try:
                    level = levels[int(severity)]
                    if level >= hub.min_level:  # most VERBOSE/INFO lines stop here
                        hub.dispatch(level, msg)
                except BaseException:  # never into TensorRT
                    hub.dropped += 1

        _Logger.__name__ = "TrtGuiLogger"
        found = (_Logger(), hub)
        _loggers[backend] = found
        return found
