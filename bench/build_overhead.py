"""How much time trtgui adds to a TensorRT-RTX engine build (target: <= 1.05x).

Builds EfficientNet-Lite0 (../shared/models, batch profile 1/1/4, FP32, DETAILED profiling,
optimization level 3) N times each way, interleaved with a bare ~20-line TensorRT-RTX script
using the same settings (the order inside each round rotates, so drift hits both alike), and
prints median AND minimum wall times, their ratios, and the median of each round's own
ratio ("paired", the least sensitive to other load on a shared machine):

  (a) `trtgui-cli build` in a subprocess   vs  the bare script in a subprocess
  (b) `build_engine` in this process        vs  the bare build in this process
  (c) the GUI's build (#15: a child process  vs  the bare script's build in a fresh
      speaking the build event protocol, the      process, timed by the script itself after
      idle child pre-started and ready, as the    its imports (both are the first TensorRT
      Build panel has it; timed from the request  build of a new process: TensorRT-RTX's first
      to the result)                              build in a process is 0.05-0.25 s slower)
  (c') the same GUI build                     vs  the bare build in this process (warm: an
                                                  earlier build ran here)

Log levels: the bare script uses trt.Logger(WARNING). The CLI passes WARNING and above on by
default (equal). The GUI and `build_engine` default to INFO, so (b) and (c) run at both
levels, each with a callback that keeps the lines, as the GUI does.

Bytecode: subprocesses get a bytecode cache in the bench's temporary folder, as an
installed package has (`PYTHONDONTWRITEBYTECODE=1` in the environment would otherwise make
every trtgui-cli call recompile trtgui's modules while tensorrt_rtx's come from site-packages
pyc files); `--no-pyc-cache` measures without it.

Then a breakdown of where trtgui's extra time goes (each a median over N): the graph
pre-check, the ONNX SHA-256 (in a helper thread during the build), the Python logger that
TensorRT calls for every message (VERBOSE included: ILogger subclasses get no severity
filter), writing engine + sidecar with fsync, and the CLI's imports.

Usage: python bench/build_overhead.py [-n 9] [--model PATH] [--shapes MIN:OPT:MAX]
       [--skip-cli] [--skip-gui] [--skip-breakdown] [--no-pyc-cache]

Another model: `--model ../shared/models/onnx/ch_PP-OCRv4_det_infer.onnx --shapes
1x3x640x640:1x3x640x640:1x3x736x736` (the shapes of its first input).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    import time
    started = time.perf_counter()  # after the imports: what the build itself takes
    build(sys.argv[1], sys.argv[2], [tuple(map(int, s.split("x"))) for s in sys.argv[3:6]])
    print(time.perf_counter() - started)
"""


@dataclass(frozen=True)
class SelfTimed:
    """What a path returns when it times itself (the GUI path waits for its idle child to be
    ready first: between two builds in the GUI that happens while the user looks)."""

    seconds: float


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    got = fn()
    return got.seconds if isinstance(got, SelfTimed) else time.perf_counter() - start


def shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def cli_command(model: Path, out: Path, input_name: str = "input") -> list[str]:
    shapes = ":".join(shape_text(s) for s in SHAPES)
    exe = shutil.which("trtgui-cli")
    head = [exe] if exe else [sys.executable, "-m", "trtgui.cli.main"]
    return [*head, "build", str(model), "-o", str(out), "--backend", "rtx", "--opt-level", "3",
            "--shapes", f"{input_name}:{shapes}", "--json"]  # fmt: skip


@dataclass
class Row:
    label: str
    ours: list[float]
    bare: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ours) / statistics.median(self.bare)

    @property
    def paired_ratio(self) -> float:
        """Median of each round's own ratio: the two runs of a round share the machine's
        load at that moment, so slow drift cancels."""
        return statistics.median(o / b for o, b in zip(self.ours, self.bare, strict=True))

    @property
    def min_ratio(self) -> float:
        return min(self.ours) / min(self.bare)

    def figure(self) -> dict[str, object]:
        return {
            "metric": f"{self.label} median build",
            "value": round(statistics.median(self.ours), 3),
            "unit": "s",
            "reference": round(statistics.median(self.bare), 3),
            "ratio": round(self.ratio, 3),
            "min": round(min(self.ours), 3),
            "reference_min": round(min(self.bare), 3),
            "min_ratio": round(self.min_ratio, 3),
            "paired_ratio": round(self.paired_ratio, 3),
            "n": len(self.ours),
            "target": "<= 1.05x",
            "pass": self.ratio <= 1.05,
        }


def run_pairs(label: str, n: int, ours: Callable[[], object], bare: Callable[[], object]) -> Row:
    row = Row(label, [], [])
    for i in range(n):
        # Alternate which goes first so drift (other users of the CPU) hits both alike.
        pairs = [(ours, row.ours), (bare, row.bare)]
        for fn, times in pairs if i % 2 == 0 else pairs[::-1]:
            times.append(timed(fn))
    o, b = statistics.median(row.ours), statistics.median(row.bare)
    print(
        f"{label:<40} trtgui {o:6.3f} s  bare {b:6.3f} s  ratio {row.ratio:5.3f}x | "
        f"min {min(row.ours):.3f} / {min(row.bare):.3f} = {row.min_ratio:5.3f}x | "
        f"paired {row.paired_ratio:5.3f}x  (n={n})",
        flush=True,
    )
    return row


def median_ms(fn: Callable[[], object], n: int) -> float:
    return statistics.median(timed(fn) for _ in range(n)) * 1000


def breakdown(args: argparse.Namespace, work: Path, env: dict[str, str]) -> list[dict[str, object]]:
    """Where trtgui's extra time goes, each a median over n (ms)."""
    import tensorrt_rtx as trt

    from trtgui.core.build.builder import file_sha256
    from trtgui.core.model.graph_check import precheck_model

    n = args.n
    out: list[dict[str, object]] = []

    def add(metric: str, value: float, note: str) -> None:
        print(f"  {metric:<44} {value:8.2f} ms   {note}", flush=True)
        out.append({"metric": metric, "value": round(value, 2), "unit": "ms", "note": note})

    print("breakdown (medians):")
    add("graph pre-check", median_ms(lambda: precheck_model(args.model), n), "before parsing")
    add("ONNX SHA-256", median_ms(lambda: file_sha256(args.model), n),
        "helper thread, overlaps the build")  # fmt: skip

    # The Python logger: TensorRT calls an ILogger subclass for every message, VERBOSE
    # included (tensorrt_rtx has no severity filter for subclasses); trt.Logger filters in C++.
    counts: dict[str, int] = {}

    class Counting(trt.ILogger):  # type: ignore[misc]
        def __init__(self) -> None:
            trt.ILogger.__init__(self)

        def log(self, severity: object, msg: str) -> None:
            name = str(severity).rsplit(".", 1)[-1]
            counts[name] = counts.get(name, 0) + 1

    def bare_with(logger: object) -> Callable[[], None]:
        def build() -> None:
            builder = trt.Builder(logger)
            network = builder.create_network(0)
            parser = trt.OnnxParser(network, logger)
            parser.parse_from_file(str(args.model))
            config = builder.create_builder_config()
            config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
            config.builder_optimization_level = 3
            profile = builder.create_optimization_profile()
            profile.set_shape(network.get_input(0).name, *SHAPES)
            config.add_optimization_profile(profile)
            builder.build_serialized_network(network, config)

        return build

    counting = Counting()
    bare_with(counting)()
    per_build = dict(counts)
    py_row = run_pairs("  bare build, Python ILogger vs trt.Logger", n,
                       bare_with(counting), bare_with(trt.Logger(trt.Logger.WARNING)))  # fmt: skip
    add("Python ILogger calls (all levels)", 1000 * (statistics.median(py_row.ours)
        - statistics.median(py_row.bare)), f"{per_build} calls per build")  # fmt: skip

    # Writing: trtgui's engine + sidecar (unbuffered, fsync, rename) vs the bare f.write.
    from trtgui.core.build.result import write_outputs

    plan = bare_with_plan(trt, args.model)
    sidecar = b'{"format": "bench"}\n'

    def ours_write() -> None:
        write_outputs(work / "w_ours.engine", plan, sidecar)

    def bare_write() -> None:
        with open(work / "w_bare.engine", "wb") as handle:
            handle.write(plan)

    write_row = run_pairs("  write: engine+sidecar+fsync vs f.write", n, ours_write, bare_write)
    add("write engine + sidecar (fsync) - bare write", 1000 * (statistics.median(write_row.ours)
        - statistics.median(write_row.bare)), f"engine {plan.nbytes} bytes")  # fmt: skip

    # The CLI's imports beyond tensorrt_rtx (a fresh interpreter each time).
    def imports(code: str) -> Callable[[], None]:
        return lambda: subprocess.run([sys.executable, "-c", code], check=True, env=env)

    both = "import tensorrt_rtx, trtgui.cli.main, trtgui.cli.cmd_build, trtgui.core.build.builder"
    imp_row = run_pairs("  python -c: trtgui CLI + trt vs trt imports", n,
                        imports(both), imports("import tensorrt_rtx"))  # fmt: skip
    extra = statistics.median(imp_row.ours) - statistics.median(imp_row.bare)
    add("CLI imports beyond tensorrt_rtx", 1000 * extra, "interpreter start, trt import excluded")
    return out


def bare_with_plan(trt: Any, model: Path) -> Any:
    """One serialized engine to time the writes with."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    parser.parse_from_file(str(model))
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape(network.get_input(0).name, *SHAPES)
    config.add_optimization_profile(profile)
    return builder.build_serialized_network(network, config)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", type=int, default=9, help="repetitions of each (default 9)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--shapes", help="MIN:OPT:MAX of the first input, e.g. 1x3x224x224:…")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-gui", action="store_true")
    parser.add_argument("--skip-breakdown", action="store_true")
    parser.add_argument(
        "--no-pyc-cache", action="store_true", help="subprocesses inherit the environment as is"
    )
    args = parser.parse_args()
    if not args.model.is_file():
        print(f"model not found: {args.model} (needs ../shared/models)", file=sys.stderr)
        return 1

    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.model.onnx_model import inspect_onnx
    from trtgui.core.model.profiles import InputShape, ShapeProfile

    global SHAPES
    if args.shapes:
        SHAPES = tuple(tuple(int(d) for d in s.split("x")) for s in args.shapes.split(":"))
    input_name = inspect_onnx(args.model).inputs[0].name

    work = Path(tempfile.mkdtemp(prefix="trtgui-bench-"))
    bare_py = work / "bare_build.py"
    bare_py.write_text(BARE_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if not args.no_pyc_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    namespace: dict[str, object] = {}
    exec(compile(BARE_SCRIPT, str(bare_py), "exec"), namespace)
    bare_build: Callable[..., None] = namespace["build"]  # type: ignore[assignment]
    settings = BuildSettings(
        onnx_path=str(args.model),
        output_path=str(work / "ours.engine"),
        backend="rtx",
        optimization_level=3,
        profiling_verbosity="detailed",
        profiles=(ShapeProfile((InputShape(input_name, *SHAPES),)),),
    )

    def bare_inproc() -> None:
        bare_build(str(args.model), str(work / "bare.engine"), SHAPES)

    def bare_subproc() -> None:
        subprocess.run(
            [sys.executable, str(bare_py), str(args.model), str(work / "bare.engine"),
             *(shape_text(s) for s in SHAPES)],
            check=True, env=env, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def bare_subproc_build_only() -> SelfTimed:
        # The bare script in a fresh process, its build timed by itself (imports excluded):
        # like the GUI's pre-started child, the first TensorRT build of a new process.
        done = subprocess.run(
            [sys.executable, str(bare_py), str(args.model), str(work / "bare.engine"),
             *(shape_text(s) for s in SHAPES)],
            check=True, env=env, capture_output=True, text=True,
        )  # fmt: skip
        return SelfTimed(float(done.stdout.strip().splitlines()[-1]))

    def ours_subproc() -> None:
        subprocess.run(
            cli_command(args.model, work / "cli.engine", input_name),
            check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def ours_inproc(level: int) -> Callable[[], object]:
        def build() -> object:
            lines: list[tuple[int, str]] = []  # what the CLI or GUI would show
            return build_engine(settings, on_log=lambda lv, m: lines.append((lv, m)),
                                log_level=level)  # fmt: skip

        return build

    # Warm up every path once (file cache, lazy imports, bytecode cache) before timing.
    bare_inproc()
    build_engine(settings)
    if not args.skip_cli:
        bare_subproc()
        ours_subproc()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"model: {args.model.name}; profile input {' / '.join(map(shape_text, SHAPES))}; "
          f"TensorRT-RTX CPU build; n={args.n}; {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f}; subprocess bytecode cache: "
          f"{'off' if args.no_pyc_cache else 'on'}")  # fmt: skip
    rows: list[Row] = []
    if not args.skip_cli:
        rows.append(run_pairs("(a) trtgui-cli build (subprocess), WARNING", args.n,
                              ours_subproc, bare_subproc))  # fmt: skip
    rows.append(run_pairs("(b) build_engine (in process), WARNING", args.n,
                          ours_inproc(logging.WARNING), bare_inproc))  # fmt: skip
    rows.append(run_pairs("(b) build_engine (in process), INFO", args.n,
                          ours_inproc(logging.INFO), bare_inproc))  # fmt: skip
    if not args.skip_gui:
        for level in (logging.INFO, logging.WARNING):
            gui_build = _gui_child_build(settings, level)
            if gui_build is None:
                print("(c) GUI build: skipped (PySide6 is not importable)")
                break
            gui_build()  # warm: the child's first build reads the files once
            name = logging.getLevelName(level)
            rows.append(run_pairs(f"(c) GUI build vs bare script, {name}", args.n, gui_build,
                                  bare_subproc_build_only))  # fmt: skip
            rows.append(run_pairs(f"(c') GUI build vs bare in process, {name}", args.n,
                                  gui_build, bare_inproc))  # fmt: skip
    worst = max(r.ratio for r in rows)
    worst_min = max(r.min_ratio for r in rows)
    print(f"worst median ratio {worst:.3f}x, worst min ratio {worst_min:.3f}x (target <= 1.05x)")
    parts = [] if args.skip_breakdown else breakdown(args, work, env)
    shutil.rmtree(work, ignore_errors=True)
    # One machine-readable line for bench/run_all.py.
    figures = [r.figure() for r in rows]
    print("BENCH_JSON " + json.dumps({"name": "build_overhead", "figures": figures,
                                      "breakdown": parts}))  # fmt: skip
    return 0


def _gui_child_build(settings: Any, log_level: int) -> Callable[[], object] | None:
    """A function that builds as the Build panel does (#15): the request to the pre-started
    idle child, its events parsed on this (GUI) thread, timed until `finished` (at the
    result event; the child exits after it)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtCore import QCoreApplication, QEventLoop

        from trtgui.core.build.events import BuildRequest
        from trtgui.gui import build_process
    except ImportError as exc:
        print(f"(c) GUI build unavailable: {exc}")
        return None
    app = QCoreApplication.instance() or QCoreApplication([])

    def run() -> object:
        build_process.prestart()
        deadline = time.monotonic() + 60
        while not build_process.spare_ready() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.002)
        lines: list[tuple[int, str]] = []  # what the log view would get
        outcome: dict[str, object] = {}
        loop = QEventLoop()
        request = BuildRequest.of(settings, log_level)
        process = build_process.BuildProcess(request, lambda lv, m: lines.append((lv, m)))
        process.succeeded.connect(lambda r: outcome.setdefault("result", r))
        process.failed.connect(lambda e: outcome.setdefault("error", e))
        process.finished.connect(loop.quit)
        started = time.perf_counter()
        process.start()
        loop.exec()
        seconds = time.perf_counter() - started
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        if not process.reused_spare:
            raise SystemExit("(c) the GUI build did not use the pre-started child")
        return SelfTimed(seconds)

    return run


if __name__ == "__main__":
    raise SystemExit(main())
