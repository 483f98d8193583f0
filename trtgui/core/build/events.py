"""The build event protocol, version 1: a build's life as JSON lines, and its request line.

`trtgui-cli build … --events` writes one compact JSON object per line on stdout, each with
`"v": 1` and `"event"`: `ready` (first, once imports are done), `started`, `progress`, `log`,
then exactly one of `result` (exit 0), `error` (exit 1) or `cancelled` (exit 130). It reads
`cancel` on stdin (EOF cancels too). A pre-started worker (`--request-stdin`) reads one
`BuildRequest` line after `ready`. The GUI's child-process client parses the same lines with
`parse_event_line`, and gets back the typed `BuildResult` it renders with
`build_result_from_dict` (the inverse of `BuildResult.to_dict`).

Versioning: a new field keeps the version (readers ignore keys they do not know); a changed
meaning or a removed field is a new version, which an older reader refuses in words ("made by
a newer trtgui").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from trtgui.core import errors
from trtgui.core.build.accuracy_record import AccuracyReport, ConversionRejected
from trtgui.core.build.progress import PhaseProgress, ProgressEvent
from trtgui.core.build.result import BuildResult
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import SettingsError, TrtGuiError
from trtgui.core.schema import JsonProblem, finding, loads
from trtgui.core.tensors import TensorSpec
from trtgui.core.text import shown

EVENTS_VERSION = 1
# A line longer than this is not an event trtgui wrote (a result is a few kB, a log line is
# capped): refused before it is decoded.
MAX_LINE_CHARS = 4 << 20
CANCEL_LINE = "cancel"


class EventProtocolError(TrtGuiError):
    """A line on the build child's stdout (or its stdin) is not a v1 event (or request)."""


class _Message(BaseModel):
    # Keys a later version adds are ignored, so an older reader keeps working.
    model_config = ConfigDict(extra="ignore", frozen=True)

    v: int = EVENTS_VERSION


class ReadyEvent(_Message):
    """The child has imported the build stack and TensorRT (a pre-started worker now waits
    for its request)."""

    event: Literal["ready"] = "ready"
    pid: int
    backend: str  # "tensorrt_rtx 1.2.0"


class StartedEvent(_Message):
    """The build of `model` into `engine` started (paths absolute)."""

    event: Literal["started"] = "started"
    model: str
    engine: str
    precision: str


class PhaseJson(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    step: int
    num_steps: int
    depth: int


class ProgressUpdateEvent(_Message):
    """The phases open now, outermost first (`core.build.progress.ProgressEvent`)."""

    event: Literal["progress"] = "progress"
    fraction: float
    text: str  # ProgressEvent.describe(): "Building engine › Timing tactics (2/3)"
    phases: tuple[PhaseJson, ...] = ()

    @classmethod
    def of(cls, progress: ProgressEvent) -> ProgressUpdateEvent:
        return cls(
            fraction=round(progress.fraction, 6),
            text=progress.describe(),
            phases=tuple(
                PhaseJson(name=p.name, step=p.step, num_steps=p.num_steps, depth=p.depth)
                for p in progress.phases
            ),
        )

    def to_progress(self) -> ProgressEvent:
        """The `ProgressEvent` this was made from (what the GUI's progress view renders)."""
        return ProgressEvent(
            tuple(PhaseProgress(p.name, p.step, p.num_steps, p.depth) for p in self.phases)
        )


class LogEvent(_Message):
    """One TensorRT (or trtgui) log line; `level` is a Python logging level (VERBOSE = 5,
    `core.build.trt_log`). Only lines at or above the requested level are written."""

    event: Literal["log"] = "log"
    level: int
    message: str


class ResultEvent(_Message):
    """Success: `BuildResult.to_dict()`. The last event."""

    event: Literal["result"] = "result"
    result: dict[str, Any]

    def build_result(self) -> BuildResult:
        return build_result_from_dict(self.result)


class ErrorEvent(_Message):
    """Failure: the one-line message, the details, the error class's name. The last event.
    `accuracy`: the precision check's report when the check refused the model."""

    event: Literal["error"] = "error"
    message: str
    details: str = ""
    kind: str = ""  # "OnnxParseError", "EngineBuildError", ...
    accuracy: dict[str, Any] | None = None

    @classmethod
    def of(cls, exc: BaseException) -> ErrorEvent:
        """The event for a build's exception: a TrtGuiError's own message and details, or
        "unexpected <type>: …" as the CLI's last net words it."""
        if isinstance(exc, TrtGuiError):
            report = exc.report.to_dict() if isinstance(exc, ConversionRejected) else None
            return cls(
                message=exc.message, details=exc.details, kind=type(exc).__name__, accuracy=report
            )
        import traceback

        from trtgui.core.text import message_line

        return cls(
            message=f"unexpected {type(exc).__name__}: {message_line(str(exc))}",
            details="".join(traceback.format_exception(exc)),
            kind=type(exc).__name__,
        )

    def to_error(self) -> TrtGuiError:
        """The error this event reports, as its trtgui class where it is one (so the GUI
        treats it as it treats an in-process build's), else a plain EngineBuildError."""
        if self.kind == "ConversionRejected" and self.accuracy is not None:
            report = AccuracyReport.from_dict(self.accuracy)
            return ConversionRejected(self.message, report, self.details)
        cls = getattr(errors, self.kind, None)
        if isinstance(cls, type) and issubclass(cls, TrtGuiError) and cls is not TrtGuiError:
            try:
                return cls(self.message, details=self.details)
            except TypeError:  # a class with another constructor
                pass
        return errors.EngineBuildError(self.message, details=self.details)


class CancelledEvent(_Message):
    """The build stopped as asked; nothing was written. The last event."""

    event: Literal["cancelled"] = "cancelled"


Event = (
    ReadyEvent
    | StartedEvent
    | ProgressUpdateEvent
    | LogEvent
    | ResultEvent
    | ErrorEvent
    | CancelledEvent
)
_EVENT_CLASSES: dict[str, type[Event]] = {
    "ready": ReadyEvent,
    "started": StartedEvent,
    "progress": ProgressUpdateEvent,
    "log": LogEvent,
    "result": ResultEvent,
    "error": ErrorEvent,
    "cancelled": CancelledEvent,
}
EVENT_NAMES = tuple(_EVENT_CLASSES)
FINAL_EVENTS = ("result", "error", "cancelled")  # one of them ends every build's stream


def event_line(event: Event) -> str:
    """The event as one compact JSON line, without the line feed (the writer adds it). ASCII
    only (every other character as a JSON escape): a file's names, quoted in log lines, then
    cannot drive a terminal the stream is shown on."""
    return json.dumps(event.model_dump(mode="json"), separators=(",", ":"))


def parse_event_line(line: str) -> Event:
    """The event on one line of a build child's stdout. Raises EventProtocolError (one line)
    for anything that is not a v1 event: not JSON, not an object, no or an unknown "event",
    a wrong field, or a newer version."""
    data = _object(line, "event")
    name = data.get("event")
    if not isinstance(name, str) or name not in _EVENT_CLASSES:
        raise EventProtocolError(
            f"A build event line names no known event ({shown(name)}): expected one of "
            f"{', '.join(EVENT_NAMES)}; the build child may be of another trtgui version.",
            details=_clipped(line),
        )
    model = _EVENT_CLASSES[name]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        found = finding(exc, model, data)
        raise EventProtocolError(
            f"A build {name} event is malformed: {found.sentence}.",
            details=f"{_clipped(line)}\n{exc}",
        ) from exc


class BuildRequest(_Message):
    """What a pre-started worker (`build --events --request-stdin`) builds: the settings as
    `BuildSettings.to_dict()` writes them, the log level to write (VERBOSE = 5), and whether
    a converted model the precision check finds broken is built anyway."""

    request: Literal["build"] = "build"
    settings: dict[str, Any]
    log_level: int = 30
    accept_accuracy_loss: bool = False

    @classmethod
    def of(
        cls, settings: BuildSettings, log_level: int = 30, accept_accuracy_loss: bool = False
    ) -> BuildRequest:
        return cls(
            settings=settings.to_dict(),
            log_level=log_level,
            accept_accuracy_loss=accept_accuracy_loss,
        )

    def build_settings(self) -> BuildSettings:
        """The settings, checked by the settings file's reader. Raises SettingsError."""
        return BuildSettings.from_dict(self.settings, where="settings")


def request_line(request: BuildRequest) -> str:
    """The request as one compact JSON line, without the line feed."""
    return json.dumps(request.model_dump(mode="json"), separators=(",", ":"))


def parse_request_line(line: str) -> BuildRequest:
    """The request on a worker's first stdin line. Raises EventProtocolError."""
    data = _object(line, "request")
    if data.get("request") != "build":
        raise EventProtocolError(
            f"A build request line asks for {shown(data.get('request'))}: expected "
            '"request": "build".',
            details=_clipped(line),
        )
    try:
        return BuildRequest.model_validate(data)
    except ValidationError as exc:
        found = finding(exc, BuildRequest, data)
        raise EventProtocolError(
            f"A build request line is malformed: {found.sentence}.",
            details=f"{_clipped(line)}\n{exc}",
        ) from exc


def _object(line: str, what: str) -> dict[str, Any]:
    """The JSON object on `line`, of this protocol's version. Raises EventProtocolError."""
    text = line.strip()
    if len(text) > MAX_LINE_CHARS:
        raise EventProtocolError(
            f"A build {what} line is {len(text):,} characters long, more than any trtgui "
            "writes: it is not one.",
            details=_clipped(text),
        )
    try:
        data = loads(text)
    except JsonProblem as problem:
        raise EventProtocolError(
            f"A build {what} line {problem.predicate}: the build child wrote something else "
            "on stdout.",
            details=f"{_clipped(text)}\n{problem.details}",
        ) from problem
    if not isinstance(data, dict):
        raise EventProtocolError(
            f"A build {what} line holds {shown(data)}, not a JSON object.", details=_clipped(text)
        )
    version = data.get("v")
    if isinstance(version, bool) or not isinstance(version, int):
        raise EventProtocolError(
            f'A build {what} line has no version number "v" (got {shown(version)}): it is not '
            "a trtgui build event.",
            details=_clipped(text),
        )
    if version > EVENTS_VERSION:
        raise EventProtocolError(
            f"A build {what} line was made by a newer trtgui (protocol version {version}; "
            f"this one reads version {EVENTS_VERSION}): use the same trtgui for the GUI and "
            "its build child.",
            details=_clipped(text),
        )
    if version != EVENTS_VERSION:
        raise EventProtocolError(
            f"A build {what} line has protocol version {version}, which no trtgui writes "
            f"(this one reads version {EVENTS_VERSION}).",
            details=_clipped(text),
        )
    return data


def _clipped(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


# -- BuildResult from its dict -------------------------------------------------------------------


class _TensorJson(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    is_input: bool = True
    dtype: str = "unknown"
    shape: list[int | str | None] | None = None


class _ResultJson(BaseModel):
    """What `BuildResult.to_dict` writes; the settings, profiles and accuracy report are read
    by their own readers."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    engine_path: str
    sidecar_path: str
    settings: dict[str, Any]
    backend: str
    backend_version: str
    build_seconds: float
    engine_build_seconds: float = 0.0
    engine_bytes: int
    warning_count: int = 0
    error_count: int = 0
    io_tensors: list[_TensorJson] = []
    profiles: list[dict[str, Any]] = []
    converted_onnx_path: str | None = None
    precision_method: str = "as is"
    notes: list[str] = []
    accuracy: dict[str, Any] | None = None


def build_result_from_dict(data: Any) -> BuildResult:
    """The `BuildResult` that `to_dict` wrote `data` from (a `result` event's `result`).
    Raises EventProtocolError naming the wrong field."""
    try:
        checked = _ResultJson.model_validate(data)
    except ValidationError as exc:
        found = finding(exc, _ResultJson, data)
        raise EventProtocolError(
            f"A build result is malformed: {found.sentence}.", details=str(exc)
        ) from exc
    try:
        settings = BuildSettings.from_dict(checked.settings, where="result.settings")
        profiles = BuildSettings.from_dict({"profiles": checked.profiles}).profiles
    except SettingsError as err:
        raise EventProtocolError(
            f"A build result is malformed: {err.message}", details=err.details
        ) from err
    return BuildResult(
        engine_path=Path(checked.engine_path),
        sidecar_path=Path(checked.sidecar_path),
        settings=settings,
        backend=checked.backend,
        backend_version=checked.backend_version,
        build_seconds=checked.build_seconds,
        engine_bytes=checked.engine_bytes,
        warning_count=checked.warning_count,
        error_count=checked.error_count,
        io_tensors=tuple(
            TensorSpec(
                name=t.name,
                dtype=t.dtype,
                shape=None if t.shape is None else tuple(t.shape),
                is_input=t.is_input,
            )
            for t in checked.io_tensors
        ),
        converted_onnx_path=None
        if checked.converted_onnx_path is None
        else Path(checked.converted_onnx_path),
        profiles=profiles,
        notes=tuple(checked.notes),
        precision_method=checked.precision_method,
        engine_build_seconds=checked.engine_build_seconds,
        accuracy=None if checked.accuracy is None else AccuracyReport.from_dict(checked.accuracy),
    )
