"""`trtgui-cli build MODEL [-o ENGINE] ...`: build a TensorRT engine from an ONNX model.

Settings come from `--settings FILE.json` (if given) and are then overridden by the options
on the command line. A live progress bar with the phase name is drawn on stderr when it is a
terminal (plain phase lines otherwise). The build runs in a worker thread so Ctrl-C is seen
at once: it sets the cancel event, the build stops at TensorRT's next step, nothing is
written and the exit status is 130. `--json` prints the `BuildResult` as JSON on stdout.

Without `-o` the engine goes beside the model as MODEL.engine (FP32) or MODEL.fp16.engine,
MODEL.int8.engine, …, so builds in other precisions do not replace it. An existing engine is
replaced like `cp` replaces a file (atomically: the new file is renamed over it), and the CLI
says so.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import FrameType

    from trtgui.core.build.progress import ProgressEvent
    from trtgui.core.build.result import BuildResult
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.model.profiles import InputShape
    from trtgui.core.shapes import Dim

EXIT_CANCELLED = 130


def _shape_arg(text: str) -> InputShape:
    from trtgui.core.errors import SettingsError
    from trtgui.core.model.profiles import parse_shape_arg

    try:
        return parse_shape_arg(text)
    except SettingsError as err:
        raise argparse.ArgumentTypeError(err.message) from None


def _size_arg(text: str) -> int:
    from trtgui.core.build.settings import parse_size
    from trtgui.core.errors import SettingsError

    try:
        return parse_size(text)
    except SettingsError as err:
        raise argparse.ArgumentTypeError(err.message) from None


def _opt_level(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 5:
        raise argparse.ArgumentTypeError(f"the optimization level is 0 to 5, got {text!r}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from trtgui.core.model.profiles import PRECISIONS

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "build",
        help="build a TensorRT engine from an ONNX model",
        description="Build a TensorRT engine from an ONNX model. Options override the "
        "values of --settings.",
    )
    parser.add_argument("model", metavar="MODEL", help="path of the .onnx file")
    parser.add_argument(
        "-o",
        "--output",
        metavar="ENGINE",
        help="engine file to write; an existing one is replaced (default: MODEL.engine for "
        "fp32, MODEL.fp16.engine, MODEL.int8.engine, ... for the other precisions)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="fp32 (default), fp16 or bf16 (the model is cast), int8 (Q/DQ, calibrated on "
        "--calib-dir), auto (TensorRT 10.x only: TensorRT picks per layer)",
    )
    parser.add_argument(
        "--shapes",
        nargs="+",
        type=_shape_arg,
        metavar="NAME:MIN:OPT:MAX",
        help="shape profile of dynamic inputs, dims joined by x (or ×, as shapes are printed), "
        "e.g. input:1x3x224x224:4x3x224x224:8x3x224x224 (default: a suggestion from the model)",
    )
    parser.add_argument("--calib-dir", metavar="DIR", help="INT8: folder of calibration images")
    parser.add_argument(
        "--calib-max", type=int, metavar="N", help="INT8: use at most N images (default 64)"
    )
    parser.add_argument(
        "--workspace", type=_size_arg, metavar="SIZE", help="memory-pool limit, e.g. 512M or 2G"
    )
    parser.add_argument(
        "--opt-level", type=_opt_level, metavar="N", help="builder optimization level 0-5"
    )
    parser.add_argument("--backend", choices=("tensorrt", "rtx"), help="which TensorRT to use")
    parser.add_argument("--settings", metavar="FILE.json", help="start from these build settings")
    parser.add_argument(
        "--save-settings", metavar="FILE.json", help="save the settings used for this build"
    )
    parser.add_argument(
        "--keep-onnx",
        action="store_true",
        help="keep the converted FP16/BF16/INT8 ONNX model beside the engine",
    )
    parser.add_argument(
        "--log-level",
        choices=("error", "warning", "info", "verbose"),
        help="TensorRT log lines to print on stderr (default: warning; info with --verbose)",
    )
    parser.add_argument("--json", action="store_true", help="print the build result as JSON")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print TensorRT's log and error details"
    )
    return parser


def make_settings(args: argparse.Namespace) -> BuildSettings:
    """The `BuildSettings` for `args`: --settings first, then the command-line options."""
    from trtgui.core.build.settings import BuildSettings, default_engine_path
    from trtgui.core.model.profiles import Precision, ShapeProfile

    settings = BuildSettings.load(args.settings) if args.settings else BuildSettings()
    changes: dict[str, Any] = {"onnx_path": str(args.model)}
    if args.precision:
        changes["precision"] = Precision(args.precision)
    if args.output:
        changes["output_path"] = str(args.output)
    elif not args.settings or not settings.output_path:
        precision = changes.get("precision", settings.precision)
        changes["output_path"] = str(default_engine_path(args.model, precision))
    if args.shapes:
        changes["profiles"] = (ShapeProfile(tuple(args.shapes)),)
    if args.calib_dir:
        changes["calibration_dir"] = str(args.calib_dir)
    if args.calib_max:
        changes["calibration_max_images"] = int(args.calib_max)
    if args.workspace:
        changes["workspace_bytes"] = int(args.workspace)
    if args.opt_level is not None:
        changes["optimization_level"] = int(args.opt_level)
    if args.backend:
        changes["backend"] = args.backend
    if args.keep_onnx:
        changes["keep_converted_onnx"] = True
    return settings.with_changes(**changes)


def _with_suggested_profile(settings: BuildSettings, out: TextIO) -> BuildSettings:
    """No profile given for a dynamic model: use the suggestion, and say so."""
    if settings.profiles:
        return settings
    from trtgui.core.model.onnx_model import inspect_onnx
    from trtgui.core.model.profiles import suggest_profiles
    from trtgui.core.shapes import shape_arg

    profiles = suggest_profiles(inspect_onnx(settings.onnx_path))
    if profiles:
        # A command to copy and edit, so the typed "1x3x224x224" form (shape_arg), not the
        # printed "1×3×224×224" that is hard to type (--shapes reads both).
        shown = " ".join(
            f"{i.name}:{shape_arg(i.min)}:{shape_arg(i.opt)}:{shape_arg(i.max)}"
            for i in profiles[0].inputs
        )
        print(f"note: no --shapes given; using the suggested profile --shapes {shown}", file=out)
    return settings.with_changes(profiles=profiles)


# -- progress display ---------------------------------------------------------------------------


class ProgressDisplay:
    """A one-line bar redrawn in place on a terminal; phase lines otherwise. Thread-safe."""

    BAR_WIDTH = 24

    def __init__(self, stream: TextIO, live: bool, min_interval: float = 0.05) -> None:
        self.stream = stream
        self.live = live
        self.min_interval = min_interval
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._drawn = False
        self._last_phase: tuple[str, ...] = ()

    def progress(self, event: ProgressEvent) -> None:
        with self._lock:
            if self.live:
                now = time.monotonic()
                if now - self._last_draw >= self.min_interval or not event.phases:
                    self._last_draw = now
                    self._draw(event)
            else:
                top = tuple(p.name for p in event.phases[:2])
                if top and top != self._last_phase and len(top) <= 2:
                    if not self._last_phase or top[0] != self._last_phase[0] or len(top) > 1:
                        self.stream.write(f"[{self._elapsed()}] {' › '.join(top)}\n")
                        self.stream.flush()
                    self._last_phase = top

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:6.1f}s"

    def _draw(self, event: ProgressEvent) -> None:
        fraction = event.fraction
        filled = round(fraction * self.BAR_WIDTH)
        bar = "█" * filled + "·" * (self.BAR_WIDTH - filled)
        text = f"\r{bar} {fraction * 100:3.0f}% {self._elapsed()} {event.describe()}"
        width = 120
        self.stream.write(text[:width].ljust(width if self._drawn else 0))
        self.stream.flush()
        self._drawn = True

    def message(self, line: str) -> None:
        """Print a log line without tearing the bar."""
        with self._lock:
            self._clear()
            self.stream.write(line + "\n")
            self.stream.flush()

    def _clear(self) -> None:
        if self.live and self._drawn:
            self.stream.write("\r\x1b[2K")
            self._drawn = False

    def finish(self) -> None:
        with self._lock:
            self._clear()
            self.stream.flush()


# -- run ----------------------------------------------------------------------------------------

_LOG_LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}


def run(args: argparse.Namespace) -> int:
    from trtgui.core.build import trt_log
    from trtgui.core.build.builder import build_engine
    from trtgui.core.errors import BuildCancelled

    err = sys.stderr
    settings = make_settings(args)
    settings = _with_suggested_profile(settings, err)
    if args.save_settings:
        settings.save(args.save_settings)
        print(f"settings saved to {args.save_settings}", file=err)

    level_name = args.log_level or ("info" if args.verbose else "warning")
    level = trt_log.VERBOSE if level_name == "verbose" else _LOG_LEVELS[level_name]
    display = ProgressDisplay(err, live=err.isatty())
    names = {
        logging.CRITICAL: "error",
        logging.ERROR: "error",
        logging.WARNING: "warning",
        logging.INFO: "info",
    }

    def on_log(lvl: int, message: str) -> None:
        if lvl >= logging.ERROR and not args.verbose:
            return  # summed up in the final error message; --verbose shows them
        display.message(f"tensorrt {names.get(lvl, 'verbose')}: {message}")

    cancel = threading.Event()
    built: list[BuildResult] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            result = build_engine(
                settings,
                on_log=on_log,
                on_progress=display.progress,
                cancel=cancel,
                log_level=level,
            )
        except BaseException as exc:  # handed to the main thread, which reports it
            failed.append(exc)
        else:
            built.append(result)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():  # second Ctrl-C: stop waiting
            raise KeyboardInterrupt
        cancel.set()
        display.message("cancelling… (Ctrl-C again to quit at once)")

    engine = Path(settings.output_path)
    replacing = engine.is_file()  # checked now: the build refuses anything else that exists
    worker = threading.Thread(target=work, name="trtgui-build", daemon=True)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if in_main else None
    try:
        worker.start()
        while worker.is_alive():
            worker.join(0.1)
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
        display.finish()

    if failed and isinstance(failed[0], BuildCancelled):
        print(failed[0].message, file=err)  # "The build was cancelled; nothing was written."
        return EXIT_CANCELLED
    if failed:
        raise failed[0]
    result = built[0]
    if replacing:
        print(f"replaced existing {result.engine_path}", file=err)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        from trtgui.core.model.onnx_model import inspect_onnx

        model = inspect_onnx(result.settings.onnx_path)  # its dim names, for the shapes
        print(format_result(result, {t.name: t.shape for t in (*model.inputs, *model.outputs)}))
    return 0


def format_result(
    result: BuildResult, model_shapes: Mapping[str, tuple[Dim, ...] | None] | None = None
) -> str:
    """The text summary printed after a successful build; `model_shapes` (tensor name -> the
    ONNX model's shape) names the dims the network only knows as -1, as the GUI does."""
    from trtgui.core.backends import backend_title
    from trtgui.core.shapes import shape_text
    from trtgui.core.text import format_bytes

    lines = [
        f"engine: {result.engine_path} ({format_bytes(result.engine_bytes)})",
        f"sidecar: {result.sidecar_path}",
        f"backend: {backend_title(result.backend)} {result.backend_version}; "
        f"precision {result.settings.precision.value} ({result.precision_method})",
        f"time: {result.build_seconds:.2f} s (TensorRT build {result.engine_build_seconds:.2f} s); "
        f"TensorRT warnings {result.warning_count}, errors {result.error_count}",
    ]
    if result.converted_onnx_path:
        lines.append(f"converted model kept: {result.converted_onnx_path}")
    lines.append("tensors:")
    for t in result.io_tensors:
        shape = shape_text(t.shape, (model_shapes or {}).get(t.name))
        lines.append(f"  {'in ' if t.is_input else 'out'} {t.name}: {t.dtype} {shape}")
    for number, profile in enumerate(result.profiles, start=1):
        for item in profile.inputs:
            shapes = " / ".join(shape_text(s) for s in (item.min, item.opt, item.max))
            lines.append(f"profile {number}: {item.name} min/opt/max {shapes}")
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)
