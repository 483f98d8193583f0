"""`trtgui-cli build --events` (the build event protocol v1) as the GUI's build child runs it:
real TensorRT-RTX builds in a subprocess, stdout read line by line and parsed with the
protocol's own reader, cancel sent on stdin at chosen phases, and the test-only crash
stand-in (`TRTGUI_TEST_CRASH`) killing the child inside a phase."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from trtgui.core import backends
from trtgui.core.build import events as ev
from trtgui.core.build.settings import BuildSettings
from trtgui.core.files import _HOST, _TEMP_NAME
from trtgui.core.model.profiles import InputShape, ShapeProfile

pytestmark = [
    pytest.mark.skipif(
        not backends.probe_backend("rtx").available, reason="TensorRT-RTX is not installed"
    ),
    pytest.mark.timeout(300),
]
ROOT = Path(__file__).resolve().parents[2]
LITE0 = "efficientnet_lite0_dynbatch.onnx"
LITE0_SHAPES = "input:1x3x224x224:1x3x224x224:2x3x224x224"
TINY_SHAPES = "input:1x3x16x16:2x3x16x16:4x3x16x16"
WAIT = 120.0  # seconds any one event may take on this shared machine (imports ~5 s)


class Child:
    """`python -m trtgui.cli.main build … --events` with its stdout parsed event by event."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trtgui.cli.main", "build", *args, "--events"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
        self.events: list[ev.Event] = []
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next_event(self) -> ev.Event | None:
        line = self.lines.get(timeout=WAIT)
        if line is None:
            return None
        event = ev.parse_event_line(line.decode("utf-8"))  # every line is a v1 event
        self.events.append(event)
        return event

    def until(self, found: Callable[[ev.Event], bool]) -> ev.Event:
        while (event := self.next_event()) is not None:
            if found(event):
                return event
        raise AssertionError(f"the stream ended without it; stderr: {self.stderr()[-2000:]}")

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def finish(self) -> int:
        """Read to the end; the exit status."""
        while self.next_event() is not None:
            pass
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        return self.proc.wait(timeout=WAIT)

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read().decode("utf-8", "replace")

    def kinds(self) -> list[str]:
        return [e.event for e in self.events]


def phase_appears(name: str) -> Callable[[ev.Event], bool]:
    return lambda e: isinstance(e, ev.ProgressUpdateEvent) and any(p.name == name for p in e.phases)


@pytest.fixture
def lite0(shared_models: Path) -> Path:
    return shared_models / "onnx" / LITE0


def test_the_events_of_a_real_build(lite0: Path, tmp_path: Path) -> None:
    engine = tmp_path / "lite0.engine"
    child = Child([str(lite0), "-o", str(engine), "--backend", "rtx", "--shapes", LITE0_SHAPES,
                   "--log-level", "info"])  # fmt: skip
    code = child.finish()
    assert code == 0, child.stderr()
    kinds = child.kinds()
    assert kinds[0] == "ready" and kinds[1] == "started" and kinds[-1] == "result"
    assert kinds.count("result") == 1 and "error" not in kinds and "cancelled" not in kinds
    ready = child.events[0]
    assert isinstance(ready, ev.ReadyEvent) and ready.pid == child.proc.pid
    assert ready.backend.startswith("tensorrt_rtx ")
    started = child.events[1]
    assert isinstance(started, ev.StartedEvent)
    assert started.model == str(lite0) and started.engine == str(engine)
    assert started.precision == "fp32"

    progress = [e for e in child.events if isinstance(e, ev.ProgressUpdateEvent)]
    names = {p.name for e in progress for p in e.phases}
    # Phases TensorRT-RTX 1.x reports for this build (bench/cancel_stress.py's trace) and
    # trtgui's own parse phase.
    assert {"Parsing the ONNX model", "Building engine", "Timing tactics"} <= names, names
    assert any(p.depth == 1 for e in progress for p in e.phases)  # nested phases
    assert any(0 < p.step <= p.num_steps for e in progress for p in e.phases)  # steps
    assert all(0.0 <= e.fraction <= 1.0 for e in progress)
    assert all(e.text == e.to_progress().describe() for e in progress)

    logs = [e for e in child.events if isinstance(e, ev.LogEvent)]
    assert logs and all(e.level >= 20 for e in logs)  # asked: info and above
    assert any("Input filename" in e.message for e in logs)  # the ONNX parser's INFO banner

    final = child.events[-1]
    assert isinstance(final, ev.ResultEvent)
    result = final.build_result()
    assert result.engine_path == engine and engine.is_file()
    assert result.engine_bytes == engine.stat().st_size
    assert json.loads(result.sidecar_path.read_text())["engine_file"] == engine.name
    # The model's I/O as the shared models README lists it: input f32 [batch,3,224,224] → logits.
    assert [t.name for t in result.io_tensors] == ["input", "logits"]


@pytest.mark.parametrize(
    ("level", "lowest", "has_verbose"), [("warning", 30, False), ("verbose", 5, True)]
)
def test_log_lines_below_the_asked_level_are_never_written(  # type: ignore[no-untyped-def]
    made_models, tmp_path: Path, level: str, lowest: int, has_verbose: bool
) -> None:
    child = Child([str(made_models["dynamic_batch"].path), "-o", str(tmp_path / "t.engine"),
                   "--backend", "rtx", "--shapes", TINY_SHAPES, "--log-level", level])  # fmt: skip
    assert child.finish() == 0, child.stderr()
    levels = {e.level for e in child.events if isinstance(e, ev.LogEvent)}
    assert all(lv >= lowest for lv in levels), levels
    assert (5 in levels) is has_verbose  # TensorRT-RTX logs hundreds of VERBOSE lines


def test_a_model_tensorrt_cannot_read_ends_with_an_error_event(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    child = Child([str(made_models["unknown_op"].path), "-o", str(tmp_path / "u.engine")])
    assert child.finish() == 1
    final = child.events[-1]
    assert isinstance(final, ev.ErrorEvent) and final.kind == "OnnxParseError"
    # The words the text path prints after "error: " (tests/cli/test_build_cli.py).
    assert final.message.startswith("TensorRT cannot read the model unknown_op.onnx at node 1")
    assert final.details  # TensorRT's parser lines, for Details
    assert child.kinds().count("error") == 1 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "phase",
    [
        "Parsing the ONNX model",
        "Cloning network graph",
        "Optimizing graph",
        "Timing tactics",
        "Determining refit engines",
    ],
)
def test_cancel_on_stdin_stops_the_build_with_nothing_written(
    lite0: Path, tmp_path: Path, phase: str
) -> None:
    child = Child([str(lite0), "-o", str(tmp_path / "c.engine"), "--backend", "rtx",
                   "--shapes", LITE0_SHAPES])  # fmt: skip
    child.until(phase_appears(phase))
    child.send(ev.CANCEL_LINE)
    assert child.finish() == 130, child.stderr()
    assert child.kinds()[-1] == "cancelled" and "result" not in child.kinds()
    assert list(tmp_path.iterdir()) == []  # no engine, record or temporary file


def test_stdin_closing_cancels(lite0: Path, tmp_path: Path) -> None:
    """The parent died: its end of the pipe closes, the build stops."""
    child = Child([str(lite0), "-o", str(tmp_path / "c.engine"), "--backend", "rtx",
                   "--shapes", LITE0_SHAPES])  # fmt: skip
    child.until(phase_appears("Building engine"))
    assert child.proc.stdin is not None
    child.proc.stdin.close()
    assert child.finish() == 130
    assert child.kinds()[-1] == "cancelled" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_cancels(lite0: Path, tmp_path: Path, sig: signal.Signals) -> None:
    child = Child([str(lite0), "-o", str(tmp_path / "c.engine"), "--backend", "rtx",
                   "--shapes", LITE0_SHAPES])  # fmt: skip
    child.until(phase_appears("Building engine"))
    child.proc.send_signal(sig)
    assert child.finish() == 130
    assert child.kinds()[-1] == "cancelled" and list(tmp_path.iterdir()) == []


def test_a_second_cancel_ends_the_child_at_once(lite0: Path, tmp_path: Path) -> None:
    child = Child([str(lite0), "-o", str(tmp_path / "c.engine"), "--backend", "rtx",
                   "--shapes", LITE0_SHAPES])  # fmt: skip
    child.until(phase_appears("Cloning network graph"))
    child.send(ev.CANCEL_LINE)
    child.send(ev.CANCEL_LINE)
    assert child.finish() == 130
    assert child.kinds()[-1] == "cancelled" and list(tmp_path.iterdir()) == []


def _request(model: Path, engine: Path) -> str:
    settings = BuildSettings(
        onnx_path=str(model),
        output_path=str(engine),
        backend="rtx",
        profiles=(
            ShapeProfile((InputShape("input", (1, 3, 16, 16), (2, 3, 16, 16), (4, 3, 16, 16)),)),
        ),
    )
    return ev.request_line(ev.BuildRequest.of(settings, log_level=20))


def test_a_pre_started_worker_builds_its_request(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    child = Child(["--request-stdin"])
    ready = child.next_event()
    assert isinstance(ready, ev.ReadyEvent)  # imports done before any request
    time.sleep(0.5)  # it waits: nothing more until the request comes
    assert child.lines.empty() and child.proc.poll() is None
    engine = tmp_path / "w.engine"
    child.send(_request(made_models["dynamic_batch"].path, engine))
    assert child.finish() == 0, child.stderr()
    assert child.kinds()[1] == "started" and child.kinds()[-1] == "result"
    assert any(isinstance(e, ev.LogEvent) and e.level == 20 for e in child.events)  # level 20
    final = child.events[-1]
    assert isinstance(final, ev.ResultEvent)
    assert final.build_result().engine_path == engine and engine.is_file()


@pytest.mark.parametrize(
    ("line", "code", "last"),
    [
        ('{"v":1,"request":"build","settings":{"precision":"fp64"}}', 1, "error"),
        ("cancel", 130, "cancelled"),
        (None, 130, "cancelled"),  # stdin closed before any request
    ],
)
def test_a_worker_without_a_usable_request(line: str | None, code: int, last: str) -> None:
    child = Child(["--request-stdin"])
    assert isinstance(child.next_event(), ev.ReadyEvent)
    if line is not None:
        child.send(line)
    assert child.proc.stdin is not None
    child.proc.stdin.close()
    assert child.finish() == code
    assert child.kinds() == ["ready", last]
    if last == "error":
        final = child.events[-1]
        assert isinstance(final, ev.ErrorEvent) and "precision" in final.message


@pytest.mark.parametrize(
    ("how", "phase", "returncode"),
    [("segv", "Timing tactics", -signal.SIGSEGV), ("abort", "start", -signal.SIGABRT)],
)
def test_the_crash_stand_in_kills_the_child_with_nothing_written(
    lite0: Path, tmp_path: Path, how: str, phase: str, returncode: int
) -> None:
    """TRTGUI_TEST_CRASH is a test-only stand-in for a crash inside TensorRT."""
    out = tmp_path / "out"
    out.mkdir()
    args = [str(lite0), "-o", str(out / "c.engine"), "--backend", "rtx", "--shapes", LITE0_SHAPES]
    child = Child(args, env={"TRTGUI_TEST_CRASH": f"{how}@{phase}"})
    assert child.finish() == returncode
    kinds = child.kinds()
    assert not set(kinds) & set(ev.FINAL_EVENTS)  # no last word: the parent sees the signal
    last = child.events[-1]
    if phase == "start":
        assert isinstance(last, ev.StartedEvent)
    else:
        assert isinstance(last, ev.ProgressUpdateEvent) and any(
            p.name == phase for p in last.phases
        )
    # Nothing written; a temporary file of the writer may only stay under its own name, and
    # the next write to the folder removes it (its process is gone). A crash in this phase
    # comes before the writer starts, so one is planted as a crash while writing leaves it
    # (the name `core.files._temp_name` gives, with the dead child's pid).
    assert all(_TEMP_NAME.fullmatch(p.name) for p in out.iterdir()), list(out.iterdir())
    left = out / f".c.engine.trtgui-{_HOST}-{child.proc.pid}-0badf00d.tmp"
    left.write_bytes(b"half an engine")
    assert _TEMP_NAME.fullmatch(left.name)
    again = Child(args)
    assert again.finish() == 0, again.stderr()
    assert sorted(p.name for p in out.iterdir()) == ["c.engine", "c.engine.json"]


def test_a_bad_crash_stand_in_value_is_an_error_event(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    child = Child([str(made_models["static_conv"].path), "-o", str(tmp_path / "s.engine")],
                  env={"TRTGUI_TEST_CRASH": "boom"})  # fmt: skip
    assert child.finish() == 1
    final = child.events[-1]
    assert isinstance(final, ev.ErrorEvent) and "TRTGUI_TEST_CRASH" in final.message


def test_nothing_but_events_on_stdout(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A dynamic model without --shapes: the suggestion's notes come as log lines (the text
    path prints them on stderr), stdout holds events only."""
    child = Child([str(made_models["dynamic_batch"].path), "-o", str(tmp_path / "d.engine"),
                   "--backend", "rtx"])  # fmt: skip
    assert child.finish() == 0, child.stderr()
    notes = [e.message for e in child.events if isinstance(e, ev.LogEvent)]
    assert any(m.startswith("note: no --shapes given; using the suggested profile") for m in notes)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--request-stdin"], "--request-stdin works only with --events"),
        ([], "required: MODEL"),
    ],
)
def test_usage_errors(extra: list[str], words: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "trtgui.cli.main", "build", *extra],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=WAIT,
    )
    assert proc.returncode == 2 and words in proc.stderr and proc.stdout == ""


def test_tensorrt_warnings_are_counted_alike_in_both_paths(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The child hears TensorRT through its C++ logger (read back through a pipe), the text
    path through a Python ILogger: the same warnings, counted the same. TensorRT-RTX's ONNX
    parser warns once about multi_io's one INT64 input `b` (tests/onnx_factory.py)."""
    model = made_models["multi_io"].path
    child = Child([str(model), "-o", str(tmp_path / "e.engine"), "--backend", "rtx"])
    assert child.finish() == 0, child.stderr()
    warnings = [e.message for e in child.events if isinstance(e, ev.LogEvent) and e.level == 30]
    final = child.events[-1]
    assert isinstance(final, ev.ResultEvent)
    assert final.result["warning_count"] == len(warnings) == 1, warnings
    assert "Int64" in warnings[0]
    text = subprocess.run(
        [sys.executable, "-m", "trtgui.cli.main", "build", str(model), "-o",
         str(tmp_path / "t.engine"), "--backend", "rtx", "--json"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=WAIT,
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert json.loads(text.stdout)["warning_count"] == 1
    assert "Int64" in text.stderr  # printed as "tensorrt warning: …"


def test_a_waiting_worker_ends_at_once_on_sigterm() -> None:
    child = Child(["--request-stdin"])
    assert isinstance(child.next_event(), ev.ReadyEvent)
    child.proc.send_signal(signal.SIGTERM)
    assert child.finish() == 130
    assert child.kinds() == ["ready", "cancelled"]


def test_a_cancel_late_in_the_build_keeps_the_engine_that_was_there(
    lite0: Path, tmp_path: Path
) -> None:
    """After its last phase TensorRT-RTX works ~2.5 s without a step to stop at (measured on
    this build): the child gives up itself after its grace, and the engine being replaced is
    left as it was."""
    engine = tmp_path / "old.engine"
    engine.write_bytes(b"the engine the user had")
    child = Child([str(lite0), "-o", str(engine), "--backend", "rtx", "--shapes", LITE0_SHAPES])
    child.until(phase_appears("Determining refit engines"))
    child.send(ev.CANCEL_LINE)
    assert child.finish() == 130
    assert child.kinds()[-1] == "cancelled"
    assert engine.read_bytes() == b"the engine the user had"
    assert [p.name for p in tmp_path.iterdir()] == ["old.engine"]
