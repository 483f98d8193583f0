"""The build event protocol v1 (`core.build.events`): every event and the request round-trip
through their lines; bad, foreign and newer lines are refused in one line; a `BuildResult`
comes back from its `to_dict()` equal, accuracy report and profiles included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trtgui.core.build import events
from trtgui.core.build.accuracy_record import AccuracyReport, ConversionRejected
from trtgui.core.build.events import (
    BuildRequest,
    CancelledEvent,
    ErrorEvent,
    EventProtocolError,
    LogEvent,
    ProgressUpdateEvent,
    ReadyEvent,
    ResultEvent,
    StartedEvent,
    build_result_from_dict,
    event_line,
    parse_event_line,
    parse_request_line,
    request_line,
)
from trtgui.core.build.progress import PhaseProgress, ProgressEvent
from trtgui.core.build.result import BuildResult
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import BuildCancelled, EngineBuildError, OnnxParseError
from trtgui.core.imaging import get_preset
from trtgui.core.model.profiles import InputShape, Precision, ShapeProfile
from trtgui.core.tensors import TensorSpec

PROGRESS = ProgressEvent(
    (
        PhaseProgress("Building engine", 2, 5, 0),
        PhaseProgress("Timing tactics", 2, 3, 1),
    )
)

ALL_EVENTS = [
    ReadyEvent(pid=123, backend="tensorrt_rtx 1.2.0"),
    StartedEvent(model="/abs/m.onnx", engine="/abs/m.engine", precision="fp16"),
    ProgressUpdateEvent.of(PROGRESS),
    LogEvent(level=5, message="a VERBOSE line with ünïcode and a \x1b control"),
    ResultEvent(result={"engine_path": "/abs/m.engine"}),
    ErrorEvent(message="one line", details="line 1\nline 2", kind="OnnxParseError"),
    CancelledEvent(),
]


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: e.event)
def test_every_event_round_trips_through_one_compact_line(event: events.Event) -> None:
    line = event_line(event)
    assert "\n" not in line and ": " not in line.split('"message"')[0]  # compact, one line
    data = json.loads(line)
    assert data["v"] == 1 and data["event"] == event.event
    assert parse_event_line(line) == event
    assert parse_event_line(line + "\n") == event  # as read from a pipe


def test_the_agreed_wire_form() -> None:
    """The lines as the brief of #15 writes them (the protocol both ends are coded to)."""
    assert parse_event_line(
        '{"v":1,"event":"ready","pid":123,"backend":"tensorrt_rtx 1.2.0"}'
    ) == ReadyEvent(pid=123, backend="tensorrt_rtx 1.2.0")
    assert json.loads(event_line(CancelledEvent())) == {"v": 1, "event": "cancelled"}
    assert json.loads(event_line(LogEvent(level=20, message="m"))) == {
        "v": 1,
        "event": "log",
        "level": 20,
        "message": "m",
    }


def test_progress_carries_fraction_text_and_phases() -> None:
    event = ProgressUpdateEvent.of(PROGRESS)
    # Hand computation: 2/5 + (1/5)·(2/3) = 0.5333…
    assert event.fraction == pytest.approx(0.4 + 0.2 * 2 / 3, abs=1e-6)
    assert event.text == "Building engine › Timing tactics (2/3)"
    data = json.loads(event_line(event))
    assert data["phases"][1] == {"name": "Timing tactics", "step": 2, "num_steps": 3, "depth": 1}
    assert parse_event_line(event_line(event)).to_progress() == PROGRESS  # type: ignore[union-attr]


def test_keys_of_a_later_version_are_ignored() -> None:
    line = '{"v":1,"event":"log","level":30,"message":"m","source":"tensorrt","new":{"a":1}}'
    assert parse_event_line(line) == LogEvent(level=30, message="m")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("", "is not valid JSON"),
        ("Loading TensorRT…", "is not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"event":"log","level":20,"message":"m"}', 'no version number "v"'),
        ('{"v":"1","event":"log","level":20,"message":"m"}', 'no version number "v"'),
        ('{"v":0,"event":"cancelled"}', "version 0, which no trtgui writes"),
        ('{"v":1,"event":"finished"}', "names no known event"),
        ('{"v":1,"level":20}', "names no known event"),
        ('{"v":1,"event":"log","message":"m"}', 'has no "level"'),
        ('{"v":1,"event":"ready","pid":"many","backend":"x"}', "pid"),
        ('{"v":1,"event":"progress","fraction":0.5,"text":"t","phases":[{"name":"a"}]}', "step"),
    ],
)
def test_a_line_that_is_not_a_v1_event_is_refused_in_one_line(line: str, words: str) -> None:
    with pytest.raises(EventProtocolError) as caught:
        parse_event_line(line)
    assert words in caught.value.message, caught.value.message
    assert "\n" not in caught.value.message


def test_a_newer_version_is_refused_as_made_by_a_newer_trtgui() -> None:
    with pytest.raises(EventProtocolError, match="made by a newer trtgui"):
        parse_event_line('{"v":2,"event":"log","level":20,"message":"m"}')
    with pytest.raises(EventProtocolError, match="made by a newer trtgui"):
        parse_request_line('{"v":2,"request":"build","settings":{}}')


def test_a_line_of_megabytes_is_refused_before_decoding() -> None:
    with pytest.raises(EventProtocolError, match="more than any trtgui writes"):
        parse_event_line('{"v":1,"event":"log","level":20,"message":"' + "x" * (5 << 20) + '"}')


def _settings(tmp_path: Path) -> BuildSettings:
    return BuildSettings(
        onnx_path=str(tmp_path / "m.onnx"),
        output_path=str(tmp_path / "m.int8.engine"),
        backend="rtx",
        precision=Precision.INT8,
        profiles=(ShapeProfile((InputShape("x", (1, 3, 8, 8), (2, 3, 8, 8), (4, 3, 8, 8)),)),),
        workspace_bytes=1 << 28,
        optimization_level=1,
        calibration_dir=str(tmp_path / "calib"),
        int8_exclude=("Concat",),
        preprocess=get_preset("imagenet"),
    )


def test_request_round_trips_with_settings_and_level(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    request = BuildRequest.of(settings, log_level=5, accept_accuracy_loss=True)
    line = request_line(request)
    assert "\n" not in line and json.loads(line)["request"] == "build"
    back = parse_request_line(line)
    assert back == request
    assert back.build_settings() == settings
    assert back.log_level == 5 and back.accept_accuracy_loss is True


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('{"v":1,"request":"predict","settings":{}}', 'expected "request": "build"'),
        ('{"v":1,"request":"build"}', 'has no "settings"'),
        ("cancel", "is not valid JSON"),
    ],
)
def test_a_bad_request_is_refused(line: str, words: str) -> None:
    with pytest.raises(EventProtocolError) as caught:
        parse_request_line(line)
    assert words in caught.value.message


def test_a_request_with_a_wrong_setting_names_it(tmp_path: Path) -> None:
    request = parse_request_line('{"v":1,"request":"build","settings":{"optimization_level":9}}')
    with pytest.raises(Exception, match="optimization_level"):
        request.build_settings()


def _result(tmp_path: Path, accuracy: AccuracyReport | None) -> BuildResult:
    return BuildResult(
        engine_path=tmp_path / "m.int8.engine",
        sidecar_path=tmp_path / "m.int8.engine.json",
        settings=_settings(tmp_path),
        backend="rtx",
        backend_version="1.2.0",
        build_seconds=3.25,
        engine_bytes=123_456,
        warning_count=2,
        error_count=0,
        io_tensors=(
            TensorSpec("x", "float32", (-1, 3, 8, 8), True),
            TensorSpec("y", "float16", (-1, 10), False),
            TensorSpec("z", "unknown", None, False),
        ),
        converted_onnx_path=tmp_path / "m.int8.onnx",
        profiles=_settings(tmp_path).profiles,
        notes=("a note", "another ⏎ note"),
        precision_method="Q/DQ nodes by ONNX Runtime's quantizer",
        engine_build_seconds=2.5,
        accuracy=accuracy,
    )


REPORT = AccuracyReport(
    verdict="degraded",
    task="classification",
    metrics={"top1_agreement": 0.875, "top5_overlap": 0.95},
    deciding_metric="top1_agreement",
    samples=8,
    samples_note="8 images held back from calibration",
    summary="top-1 agrees on 7 of 8 images (0.88)",
    worst_images=(("cat.jpg", 0.5), ("dog.jpg", 0.75)),
    excluded_nodes=("/head/Concat",),
    accepted_loss=True,
    seconds=1.5,
)


@pytest.mark.parametrize("accuracy", [REPORT, None], ids=["with-accuracy", "no-accuracy"])
def test_build_result_round_trips_through_its_dict_and_a_result_line(
    tmp_path: Path, accuracy: AccuracyReport | None
) -> None:
    result = _result(tmp_path, accuracy)
    assert build_result_from_dict(result.to_dict()) == result
    line = event_line(ResultEvent(result=result.to_dict()))
    back = parse_event_line(line)
    assert isinstance(back, ResultEvent)
    assert back.build_result() == result


def test_build_result_without_optional_parts(tmp_path: Path) -> None:
    result = BuildResult(
        engine_path=tmp_path / "m.engine",
        sidecar_path=tmp_path / "m.engine.json",
        settings=BuildSettings(onnx_path=str(tmp_path / "m.onnx")),
        backend="rtx",
        backend_version="1.2.0",
        build_seconds=0.5,
        engine_bytes=10,
        warning_count=0,
        error_count=0,
        io_tensors=(),
        converted_onnx_path=None,
    )
    assert build_result_from_dict(result.to_dict()) == result


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"engine_bytes": "big"}, "engine_bytes"),
        ({"settings": {"precision": "fp64"}}, "precision"),
        ({"profiles": [{"inputs": 3}]}, "inputs"),
    ],
)
def test_a_malformed_result_is_refused_naming_the_field(
    tmp_path: Path, change: dict[str, object], words: str
) -> None:
    data = {**_result(tmp_path, None).to_dict(), **change}
    with pytest.raises(EventProtocolError) as caught:
        build_result_from_dict(data)
    assert words in caught.value.message and "\n" not in caught.value.message


def test_error_events_come_back_as_the_error_class_they_report() -> None:
    parse = OnnxParseError("TensorRT cannot read the model", errors=("e1", "e2"))
    back = parse_event_line(event_line(ErrorEvent.of(parse)))
    assert isinstance(back, ErrorEvent) and back.kind == "OnnxParseError"
    again = back.to_error()
    assert type(again) is OnnxParseError
    assert again.message == parse.message and again.details == "e1\ne2"
    assert type(ErrorEvent.of(BuildCancelled("stopped")).to_error()) is BuildCancelled
    # A class this trtgui does not know is still an error, with the words it carried.
    foreign = ErrorEvent(message="m", details="d", kind="FutureError").to_error()
    assert type(foreign) is EngineBuildError and foreign.message == "m"


def test_a_refused_conversion_carries_its_report() -> None:
    rejected = ConversionRejected("The converted model is broken.", REPORT, "details")
    back = parse_event_line(event_line(ErrorEvent.of(rejected)))
    assert isinstance(back, ErrorEvent)
    error = back.to_error()
    assert isinstance(error, ConversionRejected) and error.report == REPORT


def test_an_unexpected_exception_is_worded_as_the_cli_words_it() -> None:
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as exc:
        event = ErrorEvent.of(exc)
    assert event.message == "unexpected ZeroDivisionError: division by zero"
    assert "Traceback" in event.details and event.kind == "ZeroDivisionError"
