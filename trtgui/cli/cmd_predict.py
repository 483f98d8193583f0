"""`trtgui-cli predict MODEL_OR_ENGINE IMAGE`: run one image and show what the model sees.

Prints the top-k classes, the detections or the map regions, the runner used, the timings
and, for an engine that runs here, the TensorRT vs ONNX Runtime comparison. `--save` writes
the annotated picture, `--json` prints the report as JSON, `--demo` uses the shipped demo
(resources/demo/demo.json). Core modules are imported in `run()` to keep `--help` fast.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trtgui.core.imaging import PreprocessSpec
    from trtgui.core.predict.compare import Comparison
    from trtgui.core.predict.decoders import Prediction
    from trtgui.core.predict.report import PredictionReport

# "auto" and the decoder kinds (`trtgui.core.predict.decoders.kinds()`, which a test holds
# this to): spelled out so that `--help` need not import numpy.
KIND_CHOICES = (
    "auto",
    "classification",
    "detection",
    "faces",
    "keypoints",
    "segmentation",
    "text-regions",
    "text",
    "raw",
)
# The kinds whose result is a list of boxes (with a face's landmarks or a pose's keypoints).
_BOXED_KINDS = ("detection", "faces", "keypoints", "segmentation", "text-regions")
# More classes than anyone reads in a terminal (ImageNet-21k has 21,841; the GUI shows 100).
MAX_TOP_K = 1000


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "predict",
        help="run a model or engine on one image and show the result",
        description="Run an ONNX model or a TensorRT engine on one image: top-k classes, "
        "boxes or text regions, timings, and the TensorRT vs ONNX Runtime comparison when "
        "both can run. Example: trtgui-cli predict --demo",
    )
    parser.add_argument(
        "model", metavar="MODEL_OR_ENGINE", nargs="?", help="an .onnx model or an engine file"
    )
    parser.add_argument(
        "image", metavar="IMAGE", nargs="?", help="PNG, JPEG, BMP, WebP, TIFF or GIF"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="use the shipped demo model, labels and preprocessing (IMAGE defaults to its "
        "first photo; a single positional argument is taken as the image)",
    )
    parser.add_argument(
        "--preset",
        metavar="NAME",
        help="preprocessing preset (imagenet, tflite, yolo, yolo-stretch, yolox, "
        "paddleocr-det, paddleocr-cls, mtcnn, retinaface, u2net, unit); default: guessed "
        "from the model",
    )
    parser.add_argument(
        "--preprocess",
        metavar="JSON",
        help='preprocessing as JSON, e.g. \'{"preset": "yolo", "height": 512}\'',
    )
    parser.add_argument(
        "--size",
        metavar="WxH",
        help="tensor size, width x height as images are quoted (e.g. 640x480), for inputs "
        "whose height/width are dynamic",
    )
    parser.add_argument("--labels", metavar="FILE", help="class names, one per line")
    parser.add_argument("--top-k", type=int, default=5, metavar="K", help="classes to show (5)")
    parser.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help="detection score threshold (0.25) or map threshold (0.3)",
    )
    parser.add_argument(
        "--kind", choices=KIND_CHOICES, default="auto", help="how to read the outputs (auto)"
    )
    parser.add_argument(
        "--onnx", metavar="FILE", help="for an engine: the ONNX model it was built from"
    )
    parser.add_argument(
        "--no-compare", action="store_true", help="do not run ONNX Runtime beside TensorRT"
    )
    parser.add_argument("--save", metavar="PNG", help="write the annotated picture here")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _parse_size(text: str) -> tuple[int, int]:
    from trtgui.core.errors import InferenceError
    from trtgui.core.imaging.spec import MAX_SIDE

    m = re.fullmatch(r"\s*(\d+)\s*[xX×,]\s*(\d+)\s*", text)
    if not m or int(m.group(1)) <= 0 or int(m.group(2)) <= 0:
        raise InferenceError(f"--size wants WIDTHxHEIGHT such as 640x480, got {text!r}.")
    width, height = int(m.group(1)), int(m.group(2))
    if max(width, height) > MAX_SIDE:  # a side of 10^11 overflowed inside Pillow
        raise InferenceError(
            f"--size {width}x{height} is larger than trtgui makes input tensors (at most "
            f"{MAX_SIDE} a side): choose a smaller size."
        )
    return width, height


def run(args: argparse.Namespace) -> int:
    from trtgui.core.errors import InferenceError
    from trtgui.core.predict.demo import load_demo
    from trtgui.core.predict.flow import run_prediction

    model: str | None = args.model
    image: str | None = args.image
    labels: str | None = args.labels
    spec: PreprocessSpec | None = None
    if args.demo:
        demo = load_demo()
        if model is not None and image is None:
            model, image = None, model  # `predict --demo photo.jpg`
        model = model or str(demo.model)
        image = image or str(demo.images[0])
        labels = labels or (str(demo.labels) if demo.labels else None)
        spec = demo.spec
    if model is None or image is None:
        raise InferenceError(
            "predict needs a model (or engine) and an image: "
            "trtgui-cli predict MODEL_OR_ENGINE IMAGE, or trtgui-cli predict --demo."
        )
    spec = _spec_from_args(args, spec)
    if not 1 <= args.top_k <= MAX_TOP_K:
        raise InferenceError(f"--top-k must be from 1 to {MAX_TOP_K}, got {args.top_k}.")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:  # NaN fails too
        raise InferenceError(
            f"--threshold must be a score from 0 to 1, got {args.threshold:g}: e.g. 0.25."
        )
    if args.save:  # before any work: never onto the photo, the model or a folder
        _check_save(
            Path(args.save),
            {
                model: "the model itself",
                image: "the input image itself",
                labels: "the labels file",
                args.onnx: "the ONNX model",
            },
        )
    report = run_prediction(
        model,
        image,
        spec=spec,
        labels=labels,
        top_k=args.top_k,
        threshold=args.threshold,
        kind=None if args.kind == "auto" else args.kind,
        compare=not args.no_compare,
        onnx_path=args.onnx,
    )
    saved = None
    if args.save:
        saved = _save(report, Path(args.save))
    if args.json:
        data = report.to_dict()
        data["saved"] = str(saved) if saved else None
        print(json.dumps(_finite(data), indent=2))
    else:
        print(format_report(report))
        if saved:
            print(f"saved     {saved}")
    return 0


def _spec_from_args(args: argparse.Namespace, spec: PreprocessSpec | None) -> PreprocessSpec | None:
    """The preprocessing --preset, --preprocess and --size describe, on top of `spec` (the
    demo's); None = guessed from the model."""
    from trtgui.core.imaging import PRESETS, get_preset, spec_from_dict

    if args.preset:
        spec = get_preset(args.preset)
    if args.preprocess:
        from trtgui.core.errors import PreprocessError
        from trtgui.core.schema import parse_json

        data = parse_json(args.preprocess, "--preprocess", PreprocessError)
        if isinstance(data, dict) and spec is not None and "preset" not in data:
            data = {**{"preset": spec.preset}, **data}
        spec = spec_from_dict(data)
    if args.size:
        w, h = _parse_size(args.size)
        base = spec or PRESETS["unit"]
        spec = replace(base, width=w, height=h, limit_side=max(w, h))
    return spec


def _check_save(path: Path, inputs: dict[str | None, str]) -> None:
    """--save can take the picture: a known suffix, a file that is none of the inputs. Its
    folder is made if missing (as before: `--save out/cat.png`)."""
    from trtgui.core.errors import OutputPathError
    from trtgui.core.files import os_reason
    from trtgui.core.predict.picture_file import check_picture_path, picture_format

    picture_format(path)  # a wrong suffix is said before a folder is made for it
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(
            f"Cannot make the folder {path.parent} for the picture ({os_reason(exc)}): choose "
            "another --save path.",
            details=repr(exc),
        ) from exc
    check_picture_path(path, inputs=[(p, words) for p, words in inputs.items() if p])


def _save(report: PredictionReport, path: Path) -> Path:
    from trtgui.core.predict.picture_file import save_picture

    save_picture(report.annotated(), path)
    return path


def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: write null (`value` is any JSON value)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def format_report(report: PredictionReport) -> str:
    from trtgui.core.imaging import describe_spec
    from trtgui.core.shapes import shape_text
    from trtgui.core.text import clip, escape_control, message_line

    # Labels, tensor names, notes and the preprocessing come from files (the model, a labels
    # file, a JSON): clipped or made one line, so none can add lines or drive the terminal.
    lines = _prediction_lines(report.prediction)
    lines.append("")
    lines.append(f"model     {escape_control(str(report.model_path))}")
    if report.engine_path and report.onnx_path:
        lines.append(f"onnx      {escape_control(str(report.onnx_path))}")
    lines.append(f"runner    {message_line(report.runner_detail)}")
    origin = "guessed from the model" if report.spec_guessed else "as given"
    lines.append(
        f"input     {clip(report.input_name)} {shape_text(report.input_tensor.shape)} "
        f"{report.input_tensor.dtype}"
    )
    lines.append(f"preprocess {message_line(describe_spec(report.spec))} ({origin})")
    if report.preset_reason:
        lines.append(f"preset    {message_line(report.preset_reason)}")
    kind = report.prediction
    lines.append(f"kind      {message_line(kind.kind_reason or kind.kind)}")
    if report.labels_source:
        lines.append(f"labels    {message_line(str(report.labels_source))}")
    t = report.timings
    timing = (
        f"timings   load {t.load_ms:.1f} ms · preprocess {t.preprocess_ms:.1f} ms · "
        f"inference {t.inference_ms:.1f} ms · postprocess {t.postprocess_ms:.1f} ms"
    )
    if t.reference_inference_ms is not None:
        timing += f" · ONNX Runtime {t.reference_inference_ms:.1f} ms"
    lines.append(timing)
    if report.comparison is not None:
        lines.append(f"compare   {message_line(_comparison_line(report.comparison))}")
    for note in report.notes:
        lines.append(f"note      {message_line(note)}")
    return "\n".join(lines)


def _prediction_lines(p: Prediction) -> list[str]:
    """What the model said: top-k classes, boxes or regions, or the output statistics."""
    from trtgui.core.shapes import shape_text
    from trtgui.core.text import clip, message_line

    # Labels come from a labels file or the model's metadata: clipped.
    lines: list[str] = []
    if p.kind == "classification":
        width = max((len(clip(c.label)) for c in p.classes), default=10)
        for c in p.classes:
            # Without labels the label is "class 282" already: no "(class 282)" after it.
            number = f"  (class {c.index})" if c.is_named else ""
            lines.append(f"{clip(c.label):<{width}}  {c.score:7.2%}{number}")
    elif p.kind in _BOXED_KINDS and p.boxes:
        lines.append(message_line(p.summary()))
        for b in p.boxes[:50]:
            lines.append(
                f"  {clip(b.label):<16} {b.score:5.2f}  "
                f"x1={b.x1:.0f} y1={b.y1:.0f} x2={b.x2:.0f} y2={b.y2:.0f}"
            )
            if b.keypoints:  # a face's landmarks
                points = " ".join(f"({x:.0f},{y:.0f})" for x, y, _ in b.keypoints)
                lines.append(f"  {'':<16}        {points}")
        if len(p.boxes) > 50:
            lines.append(f"  … {len(p.boxes) - 50} more (use --json for all)")
    else:
        lines.append(message_line(p.summary()))
        if p.classes:
            for c in p.classes:
                lines.append(f"  {clip(c.label):<16} {c.score:6.1%} of the picture")
    if p.kind == "raw" or (not p.classes and not p.boxes and not p.texts):
        for s in p.stats:
            lines.append(
                f"  {clip(s.name)} {shape_text(s.shape)} {s.dtype}: min {s.min:.4g} "
                f"max {s.max:.4g} mean {s.mean:.4g} std {s.std:.4g}"
            )
    return lines


def _comparison_line(comparison: Comparison) -> str:
    return f"TensorRT vs ONNX Runtime: {comparison.summary()}"
