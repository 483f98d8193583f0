"""`trtgui-cli build MODEL [-o ENGINE] ...`: build a TensorRT engine from an ONNX model.

Settings come from `--settings FILE.json` (if given) and are then overridden by the options
on the command line. A live progress bar with the phase name is drawn on stderr when it is a
terminal (plain phase lines otherwise). The build runs in a worker thread so Ctrl-C is seen
at once: it sets the cancel event, the build stops at TensorRT's next step, nothing is
written and the exit status is 130 (a Ctrl-C while the engine is being written still wins). A
second Ctrl-C ends the process at once, also with 130 and nothing written. `--json` prints
the `BuildResult` as JSON on stdout.

Without `-o` the engine goes beside the model as MODEL.engine (FP32) or MODEL.fp16.engine,
MODEL.int8.engine, …, so builds in other precisions do not replace it. An existing engine is
replaced like `cp` replaces a file (atomically: the new file is renamed over it), and the CLI
says so.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from trtgui.cli.output import write_control
from trtgui.core.text import clip, message_line

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import FrameType

    from trtgui.core.build.progress import ProgressEvent
    from trtgui.core.build.result import BuildResult
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.imaging import PreprocessSpec
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


def _calib_max(text: str) -> int:
    from trtgui.core.build.settings import MAX_CALIBRATION_IMAGES

    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_CALIBRATION_IMAGES:
        raise argparse.ArgumentTypeError(
            f"the number of calibration images is 1 to {MAX_CALIBRATION_IMAGES:,}, got {text!r}"
        )
    return value


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
        help="fp32 (default), fp16 or bf16 (the model is cast; TensorRT 8.6: FP16 by builder "
        "flag, no BF16), int8 (calibrated on --calib-dir, see --int8-method), auto (TensorRT "
        "8.6 and 10.x: TensorRT picks per layer)",
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
        "--calib-max",
        type=_calib_max,
        metavar="N",
        help="INT8: use at most N images (default 64)",
    )
    parser.add_argument(
        "--int8-method",
        choices=("qdq", "ort", "modelopt", "calibrator"),
        help="INT8: qdq or ort (default: Q/DQ nodes on the compute layers' inputs by ONNX "
        "Runtime's quantizer, any backend), modelopt (Q/DQ nodes by NVIDIA ModelOpt, needs "
        "pip install 'nvidia-modelopt[onnx]') or calibrator (TensorRT's entropy calibrator over "
        "the same images; NVIDIA TensorRT 8.6 and 10.x)",
    )
    parser.add_argument(
        "--int8-exclude",
        action="append",
        metavar="PATTERN",
        help="INT8: keep these nodes in float: a node name or op type, wildcards allowed "
        "(e.g. Concat or '/model.22/*'); repeat for more",
    )
    parser.add_argument(
        "--preset",
        metavar="NAME",
        help="INT8: calibration preprocessing preset (imagenet, tflite, yolo, yolo-stretch, "
        "paddleocr-det, paddleocr-cls, mtcnn, retinaface, u2net, unit), as predict takes it; "
        "default: guessed from the model",
    )
    parser.add_argument(
        "--preprocess",
        metavar="JSON",
        help='INT8: calibration preprocessing as JSON, e.g. \'{"preset": "yolo", "height": 512}\'',
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
        "--save-settings",
        metavar="FILE.json",
        help="save the settings used for this build (written once the build succeeded)",
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
    parser.add_argument(
        "--accept-accuracy-loss",
        action="store_true",
        help="build even when the precision check finds the converted model broken "
        "(recorded in the build record)",
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
    if args.int8_method:
        # "ort" names the quantizer "qdq" uses: ONNX Runtime's.
        changes["int8_method"] = "qdq" if args.int8_method == "ort" else args.int8_method
    if args.int8_exclude:
        from trtgui.core.model.qdq_placement import check_patterns

        changes["int8_exclude"] = check_patterns(args.int8_exclude)
    spec = _spec_from_args(args)
    if spec is not None:
        changes["preprocess"] = spec
    if args.workspace:
        changes["workspace_bytes"] = int(args.workspace)
    if args.opt_level is not None:
        changes["optimization_level"] = int(args.opt_level)
    if args.backend:
        changes["backend"] = args.backend
    if args.keep_onnx:
        changes["keep_converted_onnx"] = True
    return settings.with_changes(**changes)


def _spec_from_args(args: argparse.Namespace) -> PreprocessSpec | None:
    """The calibration preprocessing --preset and --preprocess describe (as `predict` reads
    them: JSON keys on top of the preset); None = the settings' own, else the guess."""
    from trtgui.core.imaging import get_preset, spec_from_dict

    spec = get_preset(args.preset) if args.preset else None
    if args.preprocess:
        from trtgui.core.errors import PreprocessError
        from trtgui.core.schema import parse_json

        data = parse_json(args.preprocess, "--preprocess", PreprocessError)
        if isinstance(data, dict) and spec is not None and "preset" not in data:
            data = {"preset": spec.preset, **data}
        spec = spec_from_dict(data)
    return spec


def _with_suggested_profile(settings: BuildSettings, out: TextIO) -> BuildSettings:
    """No profile given for a dynamic model: use the suggestion, and say so."""
    if settings.profiles:
        return settings
    from trtgui.core.model.onnx_model import inspect_onnx
    from trtgui.core.model.profile_check import check_suggestion
    from trtgui.core.shapes import shape_arg

    # Checked with ONNX Runtime dry runs, so e.g. a PP-OCR recogniser gets height 48.
    checked = check_suggestion(inspect_onnx(settings.onnx_path))
    profiles = checked.profiles
    for note in checked.notes:
        print(f"note: {note}", file=out)
    if profiles:
        # A command to copy and edit, so the typed "1x3x224x224" form (shape_arg), not the
        # printed "1×3×224×224" that is hard to type (--shapes reads both).
        shown = " ".join(
            f"{clip(i.name)}:{shape_arg(i.min)}:{shape_arg(i.opt)}:{shape_arg(i.max)}"
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
        text = f"{bar} {fraction * 100:3.0f}% {self._elapsed()} {event.describe()}"
        width = 119
        write_control(self.stream, "\r")  # past the terminal guard (cli/output.py): ours
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
            write_control(self.stream, "\r\x1b[2K")
            self._drawn = False

    def finish(self) -> None:
        with self._lock:
            self._clear()
            self.stream.flush()


# -- run ----------------------------------------------------------------------------------------

# A TensorRT log line longer than this is cut (it may quote a 100,000-character name).
LOG_CHARS = 1000
_LOG_LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}


def run(args: argparse.Namespace) -> int:
    from trtgui.core import files  # imported now: the Ctrl-C handler needs it at once
    from trtgui.core.build import trt_log
    from trtgui.core.build.builder import build_engine
    from trtgui.core.errors import BuildCancelled
    from trtgui.core.predict.accuracy import check_conversion

    err = sys.stderr
    settings = make_settings(args)
    save_to = _check_outputs(args, settings)  # before any work, as one unit
    settings = _with_suggested_profile(settings, err)

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
        # TensorRT quotes layer and tensor names from the model: each of its lines gets our
        # prefix (a name cannot start a line of its own, such as a fake "error:") and a cap.
        for part in message.splitlines() or [""]:
            display.message(f"tensorrt {names.get(lvl, 'verbose')}: {clip(part, LOG_CHARS)}")

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
                check_conversion=check_conversion,
                accept_accuracy_loss=bool(getattr(args, "accept_accuracy_loss", False)),
            )
        except BaseException as exc:  # handed to the main thread, which reports it
            failed.append(exc)
        else:
            built.append(result)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():
            # Second Ctrl-C: end now. Not by raising: the interpreter's teardown while the
            # build thread is still inside TensorRT crashed it (SIGSEGV, "exception not
            # rethrown"). os._exit skips the teardown and every `finally`, so the writer's
            # temporary files are removed first, and nothing can land after that.
            files.abandon_writes()
            clear = "\r\x1b[2K" if display.live else ""
            os.write(2, f"{clear}interrupted: stopped at once; nothing was written\n".encode())
            os._exit(EXIT_CANCELLED)
        # Set while no write is landing: a build that has not renamed its files yet sees the
        # cancel and writes nothing; one that has is done (said below).
        with files.landing_paused():
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
    if cancel.is_set():
        print("Ctrl-C came after the engine was written: it is kept.", file=err)
    if save_to is not None:  # only now: a failed or cancelled build saves nothing
        _save_settings(settings, save_to, result.engine_path)
        print(f"settings saved to {save_to}", file=err)
    if replacing:
        print(f"replaced existing {result.engine_path}", file=err)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        from trtgui.core.model.onnx_model import inspect_onnx

        model = inspect_onnx(result.settings.onnx_path)  # its dim names, for the shapes
        print(format_result(result, {t.name: t.shape for t in (*model.inputs, *model.outputs)}))
    return 0


def _check_outputs(args: argparse.Namespace, settings: BuildSettings) -> Path | None:
    """Check every file the build writes, --save-settings included, before any work (none
    may be the model or another of them; a folder, a FIFO or a device is refused); the
    settings file to save after the build, if any."""
    from trtgui.core.build.result import check_build_outputs
    from trtgui.core.files import Output

    save_to = Path(args.save_settings) if args.save_settings else None
    # --settings is read whole before the build starts, so --save-settings may name it: that
    # is how a settings file is updated.
    check_build_outputs(settings, also=[Output(save_to, "settings file")] if save_to else [])
    return save_to


def _save_settings(settings: BuildSettings, path: Path, engine: Path) -> None:
    from trtgui.core.errors import OutputPathError
    from trtgui.core.files import os_reason

    try:
        settings.save(path)
    except OSError as exc:  # the atomic writer left any old settings file as it was
        raise OutputPathError(
            f"The engine {engine} was written, but not the settings file {path}: {os_reason(exc)}.",
            details=repr(exc),
        ) from exc


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
    if result.accuracy is not None:
        check = result.accuracy
        accepted = " (built anyway: --accept-accuracy-loss)" if check.accepted_loss else ""
        lines.append(f"precision check: {check.verdict}{accepted}: {message_line(check.summary)}")
        if check.worst_images:
            worst = ", ".join(f"{clip(name)} {value:.2f}" for name, value in check.worst_images)
            lines.append(f"  worst images: {worst}")
    lines.append("tensors:")
    for t in result.io_tensors:
        shape = shape_text(t.shape, (model_shapes or {}).get(t.name))
        lines.append(f"  {'in ' if t.is_input else 'out'} {clip(t.name)}: {t.dtype} {shape}")
    for number, profile in enumerate(result.profiles, start=1):
        for item in profile.inputs:
            shapes = " / ".join(shape_text(s) for s in (item.min, item.opt, item.max))
            lines.append(f"profile {number}: {clip(item.name)} min/opt/max {shapes}")
    lines += [f"note: {message_line(note)}" for note in result.notes]
    return "\n".join(lines)
