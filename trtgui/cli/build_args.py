"""`trtgui-cli build`'s options: the argparse definitions, their value checks, and the
`BuildSettings` they make (--settings first, then the options on the command line).
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.imaging import PreprocessSpec
    from trtgui.core.model.profiles import InputShape

_LOG_LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}


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
    parser.add_argument(
        "model",
        metavar="MODEL",
        nargs="?",
        help="path of the .onnx file (not with --request-stdin)",
    )
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
    parser.add_argument(
        "--events",
        action="store_true",
        help="write the build's life as JSON lines on stdout (the build event protocol, see "
        "the README) and read 'cancel' on stdin; stdin closing cancels too",
    )
    parser.add_argument(
        "--request-stdin",
        action="store_true",
        help="with --events, no MODEL: get ready (import TensorRT), then read one build "
        "request line from stdin (how the GUI starts a build worker ahead of time)",
    )
    parser.set_defaults(_usage_error=parser.error)
    return parser


def check_usage(args: argparse.Namespace) -> None:
    """MODEL, --events and --request-stdin go together as the help says: a wrong mix is a
    usage error (exit 2)."""
    usage_error = args._usage_error
    if args.request_stdin and not args.events:
        usage_error("--request-stdin works only with --events")
    if args.request_stdin and args.model:
        usage_error("--request-stdin reads the model from its request: give no MODEL")
    if not args.request_stdin and not args.model:
        usage_error("the following arguments are required: MODEL")


def log_level(args: argparse.Namespace) -> int:
    """The lowest log level to show: --log-level, else info with --verbose, else warning."""
    from trtgui.core.build import trt_log

    name = args.log_level or ("info" if args.verbose else "warning")
    return trt_log.VERBOSE if name == "verbose" else _LOG_LEVELS[name]


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
