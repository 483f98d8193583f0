"""Cancel a real TensorRT-RTX build at many points; each time nothing may be left behind.

First one build is traced: every progress event (the open phases and the innermost step).
Then `--points` events are picked so that every phase the build reports (ours and
TensorRT-RTX's) is hit at least once, the rest spread evenly over the trace, plus the moment
after TensorRT finished. For each point a new build is cancelled exactly at that event, and
the script checks: `BuildCancelled` was raised, the output folder is empty (no engine,
sidecar or temporary file), no Python thread was left, the process's OS thread count is back
where it was, and the next build of the same model (not cancelled) succeeds.

Then (#15) the same points through the GUI's build path: a child process
(`trtgui.gui.build_process.BuildProcess`, the build event protocol) cancelled when the GUI
sees the point's event, with the idle child pre-started as the Build panel does. Measured:
the latency from the cancel (the click) to `finished` with the child gone (reaped); checked:
the child's process is gone, the output folder and the child's temporary folder are empty.
Target: p95 <= 0.5 s over all phases.

    python bench/cancel_stress.py [--model PATH] [--points 20] [--skip-in-process]

Default model: ../shared/models/onnx/ch_PP-OCRv4_det_infer.onnx (12 TensorRT-RTX phases,
~700 progress events), or a generated conv net when the shared models are absent.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trtgui.core.build.builder import build_engine  # noqa: E402
from trtgui.core.build.progress import ProgressEvent  # noqa: E402
from trtgui.core.build.settings import BuildSettings  # noqa: E402
from trtgui.core.errors import BuildCancelled  # noqa: E402
from trtgui.core.model.onnx_model import inspect_onnx  # noqa: E402
from trtgui.core.model.profiles import suggest_profiles  # noqa: E402

SHARED = ROOT.parent / "shared" / "models" / "onnx" / "ch_PP-OCRv4_det_infer.onnx"
FINISHED = "(all phases finished)"


@dataclass(frozen=True)
class Point:
    """The `index`-th progress event of a build: innermost phase and its step count."""

    index: int
    phase: str
    step: int
    num_steps: int
    path: tuple[str, ...]

    def label(self) -> str:
        return f"#{self.index} {' › '.join(self.path) or FINISHED} ({self.step}/{self.num_steps})"


def _point(index: int, event: ProgressEvent) -> Point:
    current = event.current
    if current is None:
        return Point(index, FINISHED, 0, 0, ())
    return Point(
        index, current.name, current.step, current.num_steps, tuple(p.name for p in event.phases)
    )


def settings_for(model: Path, output: Path) -> BuildSettings:
    return BuildSettings(
        onnx_path=str(model),
        output_path=str(output),
        profiles=suggest_profiles(inspect_onnx(model)),
    )


def trace_build(model: Path, folder: Path) -> list[Point]:
    """Every progress event of one full build of `model`."""
    events: list[Point] = []
    lock = threading.Lock()

    def on_progress(event: ProgressEvent) -> None:
        with lock:
            events.append(_point(len(events), event))

    build_engine(settings_for(model, folder / "trace.engine"), on_progress=on_progress)
    return events


def pick_points(trace: Sequence[Point], count: int) -> list[Point]:
    """`count` events: the first event of every phase (by innermost name), then more points
    taken round-robin from the phases with the most events, evenly spaced inside each."""
    groups: dict[str, list[Point]] = {}
    for point in trace:
        groups.setdefault(point.phase, []).append(point)
    chosen: dict[int, Point] = {group[0].index: group[0] for group in groups.values()}
    if trace:  # the last event: TensorRT has finished, the engine is not written yet
        chosen[trace[-1].index] = trace[-1]
    if len(chosen) > count:  # more phases than points: keep an even selection
        keys = sorted(chosen)
        chosen = {
            keys[int(i * len(keys) / count)]: chosen[keys[int(i * len(keys) / count)]]
            for i in range(count)
        }
    taken = {name: 1 for name in groups}
    order = sorted(groups, key=lambda name: -len(groups[name]))
    while len(chosen) < count and any(taken[n] < len(groups[n]) for n in order):
        for name in order:
            if len(chosen) >= count:
                break
            group = groups[name]
            if taken[name] >= len(group):
                continue
            taken[name] += 1
            # Spread the k picks of this phase evenly over its events.
            for k in range(taken[name]):
                candidate = group[int((k + 0.5) * len(group) / taken[name])]
                if candidate.index not in chosen:
                    chosen[candidate.index] = candidate
                    break
    return sorted(chosen.values(), key=lambda p: p.index)


def os_threads() -> int:
    """Threads of this process as the OS counts them (TensorRT's native ones too)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return threading.active_count()


def _python_threads() -> set[int]:
    return {t.ident for t in threading.enumerate() if t.ident is not None}


@dataclass
class Outcome:
    point: Point
    reached: Point | None = None
    cancelled: bool = False
    error: str = ""
    left_files: tuple[str, ...] = ()
    left_threads: tuple[str, ...] = ()
    os_thread_delta: int = 0
    next_build_ok: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.cancelled
            and not self.left_files
            and not self.left_threads
            and self.os_thread_delta <= 0
            and self.next_build_ok
            and self.reached is not None
            and self.reached.path == self.point.path
        )


def cancel_at(model: Path, point: Point, folder: Path, grace: float = 2.0) -> Outcome:
    """Build `model` into an empty `folder`, cancelling at event `point.index`; then check."""
    out = folder / f"cancel_{point.index}"
    out.mkdir(parents=True)
    outcome = Outcome(point)
    py_before = _python_threads()
    os_before = os_threads()
    cancel = threading.Event()
    count = 0
    lock = threading.Lock()

    def on_progress(event: ProgressEvent) -> None:
        nonlocal count
        with lock:
            if count == point.index and not cancel.is_set():
                outcome.reached = _point(count, event)
                cancel.set()
            count += 1

    started = time.perf_counter()
    try:
        build_engine(
            settings_for(model, out / "model.engine"), on_progress=on_progress, cancel=cancel
        )
    except BuildCancelled:
        outcome.cancelled = True
    except Exception as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
    else:
        outcome.error = "the build finished: the cancel was not honoured"
    outcome.seconds = time.perf_counter() - started
    deadline = time.monotonic() + grace
    while True:
        extra = [t for t in threading.enumerate() if t.ident not in py_before and t.is_alive()]
        delta = os_threads() - os_before
        if (not extra and delta <= 0) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    outcome.left_threads = tuple(t.name for t in extra)
    outcome.os_thread_delta = delta
    outcome.left_files = tuple(sorted(p.name for p in out.iterdir()))
    # The next build, not cancelled, must work.
    again = folder / f"next_{point.index}"
    again.mkdir()
    try:
        result = build_engine(settings_for(model, again / "model.engine"))
        outcome.next_build_ok = result.engine_path.is_file() and result.engine_bytes > 0
    except Exception as exc:
        outcome.error = outcome.error or f"next build: {type(exc).__name__}: {exc}"
    return outcome


@dataclass
class ChildOutcome:
    point: Point
    reached: Point | None = None
    kind: str = ""  # cancelled / succeeded / failed: ...
    latency: float = float("nan")  # cancel() to the child gone (reaped)
    shown: float = float("nan")  # cancel() to "cancelled" (`finished`)
    killed: bool = False  # the grace period ran out
    left_files: tuple[str, ...] = ()
    child_alive: bool = False
    temp_dir_left: bool = False

    @property
    def ok(self) -> bool:
        return (
            self.kind == "cancelled"
            and not self.left_files
            and not self.child_alive
            and not self.temp_dir_left
            and self.reached is not None
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_spare(timeout: float = 60.0) -> None:
    """Prestart the idle child and wait until it has imported TensorRT, as between two
    builds in the GUI (the user reads the result meanwhile)."""
    from PySide6.QtCore import QCoreApplication

    from trtgui.gui import build_process

    build_process.prestart()
    deadline = time.monotonic() + timeout
    while not build_process.spare_ready() and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.005)


def cancel_child_at(model: Path, point: Point, folder: Path) -> ChildOutcome:
    """Build `model` in a child as the GUI does, cancel when the GUI sees event `point.index`."""
    import logging

    from PySide6.QtCore import QCoreApplication, QEventLoop

    from trtgui.core.build.events import BuildRequest
    from trtgui.gui.build_process import BuildProcess

    out = folder / f"child_{point.index}"
    out.mkdir(parents=True)
    outcome = ChildOutcome(point)
    request = BuildRequest.of(settings_for(model, out / "model.engine"), logging.WARNING)
    process = BuildProcess(request, lambda level, message: None)
    forward = process.stream.on_progress
    count = 0
    clicked = 0.0

    def on_progress(event: ProgressEvent) -> None:
        nonlocal count, clicked
        # The child's events are the same phases, but not always the same count (steps
        # that TensorRT reports by time): the point is its phases and step, not its index.
        seen = _point(count, event)
        if outcome.reached is None and seen.path == point.path and seen.step >= point.step:
            outcome.reached = seen
            clicked = time.perf_counter()
            process.cancel()
        count += 1
        forward(event)

    process.stream.on_progress = on_progress
    loop = QEventLoop()
    process.cancelled.connect(lambda: setattr(outcome, "kind", "cancelled"))
    process.succeeded.connect(lambda r: setattr(outcome, "kind", "succeeded"))
    process.failed.connect(lambda e: setattr(outcome, "kind", f"failed: {e}"))
    said: list[float] = []
    gone: list[float] = []
    process.finished.connect(lambda: (said.append(time.perf_counter()), loop.quit()))
    process.start()
    assert process.child is not None
    child = process.child.process
    child.finished.connect(lambda *_: gone.append(time.perf_counter()))
    pid = process.pid
    loop.exec()
    deadline = time.monotonic() + 5
    while not gone and time.monotonic() < deadline:  # the child exits (or is killed) after
        QCoreApplication.processEvents()  # its last event
        time.sleep(0.001)
    if clicked and gone:
        outcome.latency = gone[0] - clicked
        outcome.shown = said[0] - clicked
    outcome.killed = process.killed
    outcome.child_alive = _alive(pid)
    assert process.child is not None
    outcome.temp_dir_left = process.child.temp_dir.exists()
    outcome.left_files = tuple(sorted(p.name for p in out.iterdir()))
    return outcome


def run_child_points(model: Path, points: Sequence[Point], folder: Path) -> list[ChildOutcome]:
    from PySide6.QtCore import QCoreApplication

    from trtgui.gui import build_process

    _app = QCoreApplication.instance() or QCoreApplication([])
    outcomes = []
    for point in points:
        wait_for_spare()
        outcome = cancel_child_at(model, point, folder)
        outcomes.append(outcome)
        verdict = "ok  " if outcome.ok else "FAIL"
        how = "killed after the grace period" if outcome.killed else "stopped by itself"
        extra = "" if outcome.ok else f"  <- {_child_problems(outcome)}"
        print(f"{verdict} child {point.label()}: cancelled {outcome.shown:.3f} s, gone "
              f"{outcome.latency:.3f} s after the cancel ({how}){extra}", flush=True)  # fmt: skip
    build_process.discard_spare()
    return outcomes


def _child_problems(o: ChildOutcome) -> str:
    problems = []
    if o.kind != "cancelled":
        problems.append(o.kind or "no outcome")
    if o.reached is None:
        problems.append("the event was never reached")
    if o.left_files:
        problems.append(f"files left: {list(o.left_files)}")
    if o.child_alive:
        problems.append("the child still runs")
    if o.temp_dir_left:
        problems.append("the child's temporary folder was left")
    return "; ".join(problems)


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * (len(ordered) - 1))))]


def default_model(folder: Path) -> Path:
    if SHARED.is_file():
        return SHARED
    from tests.onnx_factory import dynamic_spatial

    return dynamic_spatial(folder).path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--skip-child", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="trtgui-cancel-") as tmp:
        folder = Path(tmp)
        model = args.model or default_model(folder)
        print(f"model: {model}")
        started = time.perf_counter()
        trace = trace_build(model, folder)
        trace_seconds = time.perf_counter() - started
        phases = sorted({p.phase for p in trace})
        print(f"trace: {len(trace)} progress events, {len(phases)} phases, {trace_seconds:.1f} s")
        points = pick_points(trace, args.points)
        outcomes: list[Outcome] = []
        for point in [] if args.skip_in_process else points:
            outcome = cancel_at(model, point, folder)
            outcomes.append(outcome)
            verdict = "ok  " if outcome.ok else "FAIL"
            extra = "" if outcome.ok else f"  <- {_problems(outcome)}"
            print(f"{verdict} {point.label()} cancelled in {outcome.seconds:.2f} s{extra}")
        child = [] if args.skip_child else run_child_points(model, points, folder / "child")

    hit = {o.point.phase for o in outcomes} | {o.point.phase for o in child}
    good = sum(o.ok for o in outcomes)
    # Every phase, unless there are fewer points than phases (a quick run).
    need = min(len(phases), len(outcomes))
    covered = len(hit) >= need
    child_good = sum(o.ok for o in child)
    latencies = [o.latency for o in child if o.latency == o.latency]
    latency_p95 = p95(latencies) if latencies else float("nan")
    latency_ok = bool(latencies) and latency_p95 <= 0.5
    passed = (
        good == len(outcomes) and covered and child_good == len(child) and (latency_ok or not child)
    )
    print(
        f"{good}/{len(outcomes)} in-process cancel points clean; {child_good}/{len(child)} "
        f"child cancels clean; phases hit {len(hit)}/{len(phases)}; "
        f"{'PASS' if passed else 'FAIL'}"
    )
    if latencies:
        killed = sum(o.killed for o in child)
        shown = [o.shown for o in child if o.shown == o.shown]
        print(
            f"cancel to 'cancelled' shown: p95 {p95(shown):.3f} s, max {max(shown):.3f} s; "
            f"cancel to child gone: p95 {latency_p95:.3f} s, max "
            f"{max(latencies):.3f} s, median {statistics.median(latencies):.3f} s over "
            f"{len(latencies)} points ({killed} killed after the grace period); target p95 "
            "<= 0.5 s"
        )
    missed = sorted(set(phases) - hit)
    if missed:
        print(f"phases never cancelled in: {missed}")
    report: dict[str, Any] = {
        "name": "cancel_stress",
        "figures": [
            {
                "metric": "clean cancels (no file, no thread, next build ok)",
                "value": good,
                "unit": "points",
                "reference": len(outcomes),
                "ratio": round(good / len(outcomes), 3) if outcomes else None,
                "target": f"{len(outcomes)}/{len(outcomes)}",
                "pass": good == len(outcomes),
            },
            {
                "metric": "phases cancelled in",
                "value": len(hit),
                "unit": "phases",
                "reference": len(phases),
                "ratio": round(len(hit) / len(phases), 3) if phases else None,
                "target": "all phases" if need == len(phases) else f">= {need} phases",
                "pass": covered,
            },
        ]
        + (
            [
                {
                    "metric": "GUI cancel latency p95, cancel to child gone (#15)",
                    "value": round(latency_p95, 3),
                    "unit": "s",
                    "reference": 0.5,
                    "ratio": round(latency_p95 / 0.5, 3),
                    "target": "<= 0.5 s",
                    "pass": latency_ok,
                },
                {
                    "metric": "GUI child cancels clean (nothing written, child gone)",
                    "value": child_good,
                    "unit": "points",
                    "reference": len(child),
                    "ratio": round(child_good / len(child), 3),
                    "target": f"{len(child)}/{len(child)}",
                    "pass": child_good == len(child),
                },
            ]
            if child
            else []
        ),
        "model": Path(model).name,
        "child_points": [
            {
                "point": o.point.label(),
                "ok": o.ok,
                "latency_s": round(o.latency, 4),
                "shown_s": round(o.shown, 4),
                "killed": o.killed,
                "problems": _child_problems(o),
            }
            for o in child
        ],
        "points": [
            {"point": o.point.label(), "ok": o.ok, "problems": _problems(o)} for o in outcomes
        ],
    }
    print("BENCH_JSON " + json.dumps(report))
    return 0 if passed else 1


def _problems(o: Outcome) -> str:
    problems = []
    if not o.cancelled:
        problems.append(o.error or "not cancelled")
    if o.reached is None:
        problems.append("the event was never reached")
    elif o.reached.path != o.point.path:
        problems.append(f"reached {o.reached.label()} instead")
    if o.left_files:
        problems.append(f"files left: {list(o.left_files)}")
    if o.left_threads:
        problems.append(f"threads left: {list(o.left_threads)}")
    if o.os_thread_delta > 0:
        problems.append(f"{o.os_thread_delta} more OS threads")
    if not o.next_build_ok:
        problems.append(f"next build failed {o.error}")
    return "; ".join(problems)


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    raise SystemExit(main())
