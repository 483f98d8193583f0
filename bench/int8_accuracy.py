"""INT8 builds of two shared models: what calibration and the precision check cost (#13).

For each model: (a) calibration time per image ÷ one ONNX Runtime FP32 inference of the same
model on the same machine (target ≤ 2×: calibration is one FP32-with-observers pass per
image, so much more means trtgui's own overhead), and (b) the precision check's share of
the whole build time (target ≤ 15 %).

    python bench/int8_accuracy.py [--models efficientnet_lite0_dynbatch.onnx ...] [--images DIR]

Needs ../shared/models (skipped with a message when absent). Prints a table and one
`BENCH_JSON` line for bench/run_all.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "models"
DEFAULT_MODELS = ("efficientnet_lite0_dynbatch.onnx", "yolov8n-doclaynet.onnx")


def ort_inference_ms(model: Path, image: Path, runs: int = 5) -> float:
    """Median ms of one ONNX Runtime FP32 inference of `model` on `image` (after a warm-up),
    with the preprocessing `predict` would guess."""
    from trtgui.core.engine.runners import OrtRunner
    from trtgui.core.imaging import guess_preprocess, load_image, preprocess, resolve_spec
    from trtgui.core.model.onnx_model import inspect_onnx

    info = inspect_onnx(model)
    tensor = info.inputs[0]
    spec = resolve_spec(guess_preprocess(info), tensor.shape, tensor.dtype)
    feed, _box = preprocess(load_image(image), spec)
    with OrtRunner(model) as runner:
        runner.run({tensor.name: feed})
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            runner.run({tensor.name: feed})
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def int8_build(model: Path, images: Path, out: Path) -> dict[str, float]:
    """One INT8 build with the precision check; the seconds of its parts."""
    from trtgui.core.build.accuracy_record import AccuracyReport, ConversionSample
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.progress import ProgressEvent
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.model.onnx_model import inspect_onnx
    from trtgui.core.model.profiles import Precision, suggest_profiles
    from trtgui.core.predict.accuracy import check_conversion

    calib: dict[str, float] = {}

    def on_progress(event: ProgressEvent) -> None:
        now = time.perf_counter()
        names = [p.name for p in event.phases]
        calibrating = [n for n in names if n.startswith("Calibrating INT8")]
        if calibrating:
            calib.setdefault("start", now)
            calib["end"] = now
            calib["images"] = float(calibrating[0].split(" on ")[1].split()[0])

    checked: list[AccuracyReport] = []

    def timed_check(sample: ConversionSample) -> AccuracyReport:
        report = check_conversion(sample)
        checked.append(report)
        return report

    settings = BuildSettings(
        onnx_path=str(model),
        output_path=str(out),
        backend="rtx",
        precision=Precision.INT8,
        calibration_dir=str(images),
        profiles=suggest_profiles(inspect_onnx(model)),
    )
    result = build_engine(
        settings, on_progress=on_progress, check_conversion=timed_check, accept_accuracy_loss=True
    )
    return {
        "build_s": result.build_seconds,
        "calibration_s": calib.get("end", 0.0) - calib.get("start", 0.0),
        "images": calib.get("images", 0.0),
        "check_s": checked[0].seconds if checked else 0.0,
        "verdict": checked[0].verdict if checked else "none",  # type: ignore[dict-item]
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--images", type=Path, default=SHARED / "images")
    args = parser.parse_args(argv)
    if not (SHARED / "onnx").is_dir():
        print(f"skipped: the shared models are not at {SHARED}")
        return 0
    figures = []
    with tempfile.TemporaryDirectory(prefix="bench-int8-") as tmp:
        for name in args.models:
            model = SHARED / "onnx" / name
            ort_ms = ort_inference_ms(model, args.images / "coffee.png")
            parts = int8_build(model, args.images, Path(tmp) / f"{model.stem}.int8.engine")
            per_image_ms = parts["calibration_s"] * 1000 / max(parts["images"], 1.0)
            ratio = per_image_ms / ort_ms
            share = parts["check_s"] / parts["build_s"]
            print(
                f"{name}: calibration {per_image_ms:.1f} ms/image vs ORT FP32 {ort_ms:.1f} ms "
                f"({ratio:.2f}x); check {parts['check_s']:.2f} s of {parts['build_s']:.2f} s "
                f"({share:.0%}, verdict {parts['verdict']})"
            )
            figures += [
                {
                    "metric": f"INT8 calibration per image ({name})",
                    "value": round(per_image_ms, 2),
                    "unit": "ms",
                    "reference": round(ort_ms, 2),
                    "ratio": round(ratio, 3),
                    "target": "<= 2x one ORT FP32 inference",
                    "pass": ratio <= 2.0,
                },
                {
                    "metric": f"precision check share of the INT8 build ({name})",
                    "value": round(share * 100, 1),
                    "unit": "%",
                    "reference": round(parts["build_s"], 2),
                    "ratio": round(share, 3),
                    "target": "<= 15 %",
                    "pass": share <= 0.15,
                },
            ]
    print("BENCH_JSON " + json.dumps({"name": "int8_accuracy", "figures": figures}))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
