"""How much time trtgui adds to a TensorRT-RTX engine build (target: <= 1.05x).

Builds EfficientNet-Lite0 (../shared/models, batch profile 1/1/4, FP32, DETAILED profiling,
optimization level 3) N times each way, alternating with a bare ~20-line TensorRT-RTX script
that uses the same settings, and prints median wall times and ratios:

  (a) `trtgui-cli build` in a subprocess   vs  the bare script in a subprocess
  (b) `build_engine` in this process        vs  the bare build in this process
  (c) the GUI worker (QThread) path         vs  the bare build in this process
      (skipped with a message when trtgui.gui.workers is absent)

Usage: python bench/build_overhead.py [-n 5] [--model PATH] [--skip-cli] [--skip-gui]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_MODEL = ROOT.parent / "shared" / "models" / "onnx" / "efficientnet_lite0_dynbatch.onnx"
SHAPES = ((1, 3, 224, 224), (1, 3, 224, 224), (4, 3, 224, 224))

# The bare build: what a person would write with TensorRT-RTX's Python API, nothing more.
BARE_SCRIPT = """
import sys
import tensorrt_rtx as trt

def build(onnx_path, engine_path, shapes):
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(onnx_path):
        raise SystemExit(parser.get_error(0).desc())
    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    config.builder_optimization_level = 3
    profile = builder.create_optimization_profile()
    profile.set_shape(network.get_input(0).name, *shapes)
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    with open(engine_path, "wb") as f:
        f.write(plan)

if __name__ == "__main__":
    build(sys.argv[1], sys.argv[2], [tuple(map(int, s.split("x"))) for s in sys.argv[3:6]])
"""


def median_time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def cli_command(model: Path, out: Path) -> list[str]:
    shapes = ":".join(shape_text(s) for s in SHAPES)
    exe = shutil.which("trtgui-cli")
    head = [exe] if exe else [sys.executable, "-m", "trtgui.cli.main"]
    return [*head, "build", str(model), "-o", str(out), "--backend", "rtx", "--opt-level", "3",
            "--shapes", f"input:{shapes}", "--json"]  # fmt: skip


def run_pairs(
    label: str, n: int, ours: Callable[[], object], bare: Callable[[], object]
) -> tuple[str, float, float]:
    ours_t: list[float] = []
    bare_t: list[float] = []
    for i in range(n):
        # Alternate which goes first so drift (other users of the CPU) hits both alike.
        order = [(ours, ours_t), (bare, bare_t)] if i % 2 == 0 else [(bare, bare_t), (ours, ours_t)]
        for fn, times in order:
            times.append(median_time(fn))
    o, b = statistics.median(ours_t), statistics.median(bare_t)
    print(
        f"{label:<34} trtgui {o:6.3f} s   bare {b:6.3f} s   ratio {o / b:5.3f}x   "
        f"(n={n}; trtgui min {min(ours_t):.3f}, bare min {min(bare_t):.3f})",
        flush=True,
    )
    return label, o, b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="repetitions of each (default 5)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-gui", action="store_true")
    args = parser.parse_args()
    if not args.model.is_file():
        print(f"model not found: {args.model} (needs ../shared/models)", file=sys.stderr)
        return 1

    from trtgui.core.build import build_engine
    from trtgui.core.settings import BuildSettings, InputShape, ShapeProfile

    work = Path(tempfile.mkdtemp(prefix="trtgui-bench-"))
    bare_py = work / "bare_build.py"
    bare_py.write_text(BARE_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    namespace: dict[str, object] = {}
    exec(compile(BARE_SCRIPT, str(bare_py), "exec"), namespace)
    bare_build: Callable[..., None] = namespace["build"]  # type: ignore[assignment]
    settings = BuildSettings(
        onnx_path=str(args.model),
        output_path=str(work / "ours.engine"),
        backend="rtx",
        optimization_level=3,
        profiling_verbosity="detailed",
        profiles=(ShapeProfile((InputShape("input", *SHAPES),)),),
    )

    def bare_inproc() -> None:
        bare_build(str(args.model), str(work / "bare.engine"), SHAPES)

    def bare_subproc() -> None:
        subprocess.run(
            [sys.executable, str(bare_py), str(args.model), str(work / "bare.engine"),
             *(shape_text(s) for s in SHAPES)],
            check=True, env=env, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def ours_subproc() -> None:
        subprocess.run(
            cli_command(args.model, work / "cli.engine"),
            check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    # Warm up both paths once (file cache, lazy imports) before timing.
    bare_inproc()
    build_engine(settings)
    print(f"model: {args.model.name}; profile input {' / '.join(map(shape_text, SHAPES))}; "
          f"TensorRT-RTX CPU build; n={args.n}")  # fmt: skip
    rows = []
    if not args.skip_cli:
        rows.append(
            run_pairs("(a) trtgui-cli build (subprocess)", args.n, ours_subproc, bare_subproc)
        )
    rows.append(
        run_pairs(
            "(b) build_engine (in process)", args.n, lambda: build_engine(settings), bare_inproc
        )
    )
    if not args.skip_gui:
        gui_build = _gui_worker_build(settings)
        if gui_build is None:
            print("(c) GUI worker: skipped (trtgui.gui.workers is not importable)")
        else:
            rows.append(run_pairs("(c) GUI worker (QThread)", args.n, gui_build, bare_inproc))
    worst = max(o / b for _, o, b in rows)
    print(f"worst ratio {worst:.3f}x (target <= 1.05x)")
    shutil.rmtree(work, ignore_errors=True)
    # One machine-readable line for bench/run_all.py.
    figures = [
        {
            "metric": f"{label} median build",
            "value": round(o, 3),
            "unit": "s",
            "reference": round(b, 3),
            "ratio": round(o / b, 3),
            "target": "<= 1.05x",
            "pass": o / b <= 1.05,
        }
        for label, o, b in rows
    ]
    print("BENCH_JSON " + json.dumps({"name": "build_overhead", "figures": figures}))
    return 0


def _gui_worker_build(settings: object) -> Callable[[], object] | None:
    """A function that builds through `trtgui.gui.workers` and waits for `finished`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Slot

        from trtgui.gui import workers
    except ImportError as exc:
        print(f"(c) GUI worker unavailable: {exc}")
        return None
    app = QCoreApplication.instance() or QCoreApplication([])
    outcome: dict[str, object] = {}

    class Receiver(QObject):  # lives in this (GUI) thread: Qt queues the signals here
        def __init__(self) -> None:
            super().__init__()
            self.loop = QEventLoop()

        @Slot(object)
        def succeeded(self, result: object) -> None:
            outcome["result"] = result

        @Slot(object)
        def failed(self, error: BaseException) -> None:
            outcome["error"] = error

        @Slot()
        def finished(self) -> None:
            self.loop.quit()

    def run() -> object:
        receiver = Receiver()
        outcome.clear()
        workers.start_worker(
            workers.build_job(settings),
            name="bench-build",
            on_succeeded=receiver.succeeded,
            on_failed=receiver.failed,
            on_finished=receiver.finished,
        )
        receiver.loop.exec()
        for thread in workers.running_threads():
            thread.wait()
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome.get("result")

    _ = app
    return run


if __name__ == "__main__":
    raise SystemExit(main())
