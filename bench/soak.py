"""Soak: many builds and inference runs in one process; memory and threads must stay flat.

50 consecutive TensorRT-RTX builds (CPU) of a small generated model, then 200 OrtRunner runs
(EfficientNet-Lite0 from ../shared/models, or a generated model) in 20 runner sessions of 10
runs each, all in this one process. Resident memory is read after every build / run; growth
is the average of the last 10 readings minus the average of the first 10 (the first ones come
after warm-up, so one-time allocations do not count). Threads: Python threads and the OS
thread count must be back to what they were after the warm-up.

First (#15), before anything loads TensorRT into this process: 20 builds through the GUI's
Build panel (offscreen), each in its own child process; the window's RSS after the 20th build
must be within the bound of its RSS after the first (a build's memory goes back to the
system with its child).

    python bench/soak.py [--gui-builds 20] [--builds 50] [--runs 200] [--bound-mb 50]

PASS when both growths are under the bound and no thread is left.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import onnx_factory  # noqa: E402
from trtgui.core.build.builder import build_engine  # noqa: E402
from trtgui.core.build.settings import BuildSettings  # noqa: E402
from trtgui.core.engine.runners import OrtRunner, random_feeds  # noqa: E402
from trtgui.core.model.onnx_model import inspect_onnx  # noqa: E402
from trtgui.core.model.profiles import suggest_profiles  # noqa: E402

SHARED = ROOT.parent / "shared" / "models" / "onnx" / "efficientnet_lite0_dynbatch.onnx"
MB = 1024 * 1024


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; ru_maxrss elsewhere, a peak)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def os_threads() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return threading.active_count()


def sample() -> int:
    gc.collect()
    return rss_bytes()


def growth(readings: list[int], window: int = 10) -> float:
    """Average of the last `window` readings minus the average of the first, in MB."""
    window = max(1, min(window, len(readings) // 2))
    first = statistics.fmean(readings[:window])
    last = statistics.fmean(readings[-window:])
    return (last - first) / MB


def soak_builds(count: int, folder: Path) -> tuple[list[int], float]:
    folder.mkdir(parents=True, exist_ok=True)
    model = onnx_factory.dynamic_batch(folder).path
    settings = BuildSettings(onnx_path=str(model), profiles=suggest_profiles(inspect_onnx(model)))
    readings: list[int] = []
    started = time.perf_counter()
    for i in range(count):
        out = folder / f"build_{i}"
        out.mkdir()
        result = build_engine(settings.with_changes(output_path=str(out / "m.engine")))
        assert result.engine_path.is_file()
        for path in out.iterdir():  # keep the disk flat too
            path.unlink()
        out.rmdir()
        readings.append(sample())
    return readings, time.perf_counter() - started


def soak_runs(count: int, per_session: int, folder: Path) -> tuple[list[int], float, str]:
    folder.mkdir(parents=True, exist_ok=True)
    model = SHARED if SHARED.is_file() else onnx_factory.static_conv(folder).path
    readings: list[int] = []
    started = time.perf_counter()
    done = 0
    while done < count:
        with OrtRunner(model, providers=["CPUExecutionProvider"], intra_op_threads=1) as runner:
            shapes = {
                t.name: [d if isinstance(d, int) else 1 for d in t.shape or ()]
                for t in runner.input_infos
            }
            feeds = random_feeds(runner.input_infos, shapes, seed=done)
            for _ in range(min(per_session, count - done)):
                outputs = runner.run(feeds)
                assert outputs
                done += 1
                readings.append(sample())
    return readings, time.perf_counter() - started, model.name


def soak_gui_builds(count: int, folder: Path) -> list[int]:
    """RSS of this (the window's) process after each of `count` Build panel builds."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from trtgui.core.backends import available_backends
    from trtgui.gui import build_process
    from trtgui.gui.build_panel import BuildPanel

    folder.mkdir(parents=True, exist_ok=True)
    model = SHARED if SHARED.is_file() else onnx_factory.dynamic_batch(folder).path
    app = QApplication.instance() or QApplication([])
    panel = BuildPanel()
    panel.show()
    panel.set_backends(available_backends())
    panel.set_model(inspect_onnx(model))
    readings: list[int] = []
    for i in range(count):
        out = folder / f"gui_{i}"
        out.mkdir()
        panel.form.output_edit.setText(str(out / "m.engine"))
        loop = QEventLoop()
        got: list[object] = []
        panel.build_succeeded.connect(got.append)
        panel.build_finished.connect(loop.quit)
        panel.start_build()
        loop.exec()
        panel.build_succeeded.disconnect()
        panel.build_finished.disconnect()
        if not got:
            raise SystemExit(f"GUI build {i + 1} did not succeed")
        app.processEvents()
        for path in out.iterdir():
            path.unlink()
        out.rmdir()
        readings.append(sample())
    panel.shutdown()
    build_process.discard_spare()
    panel.deleteLater()
    app.processEvents()
    return readings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gui-builds", type=int, default=20)
    parser.add_argument("--builds", type=int, default=50)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--per-session", type=int, default=10)
    parser.add_argument("--bound-mb", type=float, default=50.0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="trtgui-soak-") as tmp:
        folder = Path(tmp)
        gui = soak_gui_builds(args.gui_builds, folder / "gui") if args.gui_builds else []
        gui_growth = (gui[-1] - gui[0]) / MB if gui else 0.0
        if gui:
            print(
                f"{len(gui)} GUI builds (each in a child process): the window's RSS "
                f"{gui[0] / MB:.1f} MB after the first, {gui[-1] / MB:.1f} MB after the last "
                f"({gui_growth:+.1f} MB; max {max(gui) / MB:.1f} MB)",
                flush=True,
            )
        # Warm-up: the first build and sessions load libraries, start pools and grow the
        # allocator arenas once (ONNX Runtime RSS plateaus after a few sessions).
        soak_builds(1, folder / "warm_build")
        soak_runs(3 * args.per_session, args.per_session, folder / "warm_run")
        py_threads = {t.ident for t in threading.enumerate()}
        threads_before = os_threads()
        rss_start = sample()

        builds, build_seconds = soak_builds(args.builds, folder / "builds")
        runs, run_seconds, model_name = soak_runs(args.runs, args.per_session, folder / "runs")

    time.sleep(0.2)  # let pools park
    extra_py = [t.name for t in threading.enumerate() if t.ident not in py_threads]
    thread_delta = os_threads() - threads_before
    build_growth = growth(builds)
    run_growth = growth(runs)
    print(f"start RSS after warm-up: {rss_start / MB:.1f} MB")
    print(
        f"{len(builds)} builds in {build_seconds:.1f} s: RSS {builds[0] / MB:.1f} -> "
        f"{builds[-1] / MB:.1f} MB; growth (last 10 vs first 10 average) {build_growth:+.1f} MB"
    )
    print(
        f"{len(runs)} OrtRunner runs ({model_name}, {args.per_session} per session) in "
        f"{run_seconds:.1f} s: RSS {runs[0] / MB:.1f} -> {runs[-1] / MB:.1f} MB; growth "
        f"{run_growth:+.1f} MB"
    )
    print(f"threads left: Python {extra_py or 'none'}; OS thread count change {thread_delta:+d}")
    checks = {
        "gui builds": gui_growth < args.bound_mb,
        "builds": build_growth < args.bound_mb,
        "runs": run_growth < args.bound_mb,
        "threads": not extra_py and thread_delta <= 0,
    }
    passed = all(checks.values())
    failed = ", ".join(k for k, v in checks.items() if not v)
    print(
        f"{'PASS' if passed else 'FAIL'} (bound: growth < {args.bound_mb:.0f} MB each, no extra "
        f"threads){'' if passed else ' failed: ' + failed}"
    )
    report: dict[str, Any] = {
        "name": "soak",
        "figures": [
            {
                "metric": f"window RSS after {len(gui)} GUI builds minus after the first",
                "value": round(gui_growth, 2),
                "unit": "MB",
                "reference": round(gui[0] / MB, 1) if gui else None,
                "ratio": round(gui[-1] / gui[0], 3) if gui else None,
                "target": f"< {args.bound_mb:.0f} MB",
                "pass": checks["gui builds"],
            },
            {
                "metric": f"RSS growth over {len(builds)} builds (last 10 vs first 10)",
                "value": round(build_growth, 2),
                "unit": "MB",
                "reference": round(builds[0] / MB, 1),
                "ratio": round(statistics.fmean(builds[-10:]) / statistics.fmean(builds[:10]), 3),
                "target": f"< {args.bound_mb:.0f} MB",
                "pass": checks["builds"],
            },
            {
                "metric": f"RSS growth over {len(runs)} OrtRunner runs (last 10 vs first 10)",
                "value": round(run_growth, 2),
                "unit": "MB",
                "reference": round(runs[0] / MB, 1),
                "ratio": round(statistics.fmean(runs[-10:]) / statistics.fmean(runs[:10]), 3),
                "target": f"< {args.bound_mb:.0f} MB",
                "pass": checks["runs"],
            },
            {
                "metric": "threads left after builds and runs (OS count change)",
                "value": thread_delta + len(extra_py),
                "unit": "threads",
                "reference": threads_before,
                "ratio": None,
                "target": "0",
                "pass": checks["threads"],
            },
        ],
    }
    print("BENCH_JSON " + json.dumps(report))
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
