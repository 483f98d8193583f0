"""INT8 builds of two shared models: what calibration and the precision check cost (#13).

For each model: (a) calibration time per image ÷ one ONNX Runtime FP32 inference of the same
model on the same machine (target ≤ 2×: calibration is one FP32-with-observers pass per
image, so much more means trtgui's own overhead). Per image means the steady state: from
the 2nd image read to the last of a 9-image calibration; the cost per image of the whole
quantization (one-off costs included) is printed beside it. (b) The time the precision
check adds to the whole build (it runs beside TensorRT), against the same build without it
(target ≤ 15 %).

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
# Wall-clock time (--cpu: this process's CPU time, all threads).
CLOCK = time.perf_counter
DEFAULT_MODELS = ("efficientnet_lite0_dynbatch.onnx", "yolov8n-doclaynet.onnx")


def ort_inference_ms(model: Path, image: Path, runs: int = 5) -> float:
    """Median ms (CLOCK) of one ONNX Runtime FP32 inference of `model` on `image` (after a
    warm-up), with the preprocessing `predict` would guess."""
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
            t0 = CLOCK()
            runner.run({tensor.name: feed})
            times.append((CLOCK() - t0) * 1000)
    return statistics.median(times)


def calibration_per_image_ms(model: Path, images: Path, tmp: Path) -> tuple[float, float]:
    """(ms per calibration image in the steady state, whole quantization ms per image): the
    quantization of a folder of 12 images (4 photos, each copied under 3 names; INT8 holds
    every fourth back for the check, so 9 calibrate), three rounds, medians. Per image is the
    time from the 2nd image read to the last, over the images between: one-off costs (loading
    and saving the model, the ONNX Runtime session) fall outside it. (The difference of a 4- and
    an 8-image run, used before, swung 6-31 ms per image on EfficientNet-Lite0 between runs:
    the one-off costs vary more than four images cost.)"""
    import shutil

    from trtgui.core.model.int8 import Calibration, quantize_int8

    photos = sorted(p for p in images.iterdir() if p.suffix.lower() in (".png", ".jpg"))[:4]
    folder = tmp / "calib12"
    folder.mkdir(exist_ok=True)
    for copy in range(3):
        for photo in photos:
            shutil.copy(photo, folder / f"{copy}-{photo.name}")
    steady: list[float] = []
    whole: list[float] = []
    for _ in range(3):
        read: list[float] = []
        started = CLOCK()
        quantize_int8(
            model,
            tmp / "calib.onnx",
            calibration=Calibration(str(folder)),
            on_step=lambda _phase, _step, read=read: read.append(CLOCK()),
        )
        whole.append((CLOCK() - started) * 1000 / len(read))
        # The reader reads one image ahead of ONNX Runtime: the reads are paced by the runs.
        steady.append((read[-1] - read[1]) * 1000 / (len(read) - 2))
    return statistics.median(steady), statistics.median(whole)


def int8_build(
    model: Path,
    images: Path,
    out: Path,
    check: bool = True,
    backend: str = "rtx",
    timing_cache: str | None = None,
) -> dict[str, float]:
    """One INT8 build, with the precision check or without; the seconds of its parts."""
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
        calibrating = [p for p in event.phases if p.name.startswith("Calibrating INT8")]
        if calibrating and "end" not in calib:
            calib.setdefault("start", now)
            calib["images"] = float(calibrating[0].name.split(" on ")[1].split()[0])
        elif "start" in calib:
            calib.setdefault("end", now)  # the first event after calibration (retries aside)

    checked: list[AccuracyReport] = []

    def timed_check(sample: ConversionSample) -> AccuracyReport:
        report = check_conversion(sample)
        checked.append(report)
        return report

    settings = BuildSettings(
        onnx_path=str(model),
        output_path=str(out),
        backend=backend,
        timing_cache_path=timing_cache,
        precision=Precision.INT8,
        calibration_dir=str(images),
        profiles=suggest_profiles(inspect_onnx(model)),
    )
    result = build_engine(
        settings,
        on_progress=on_progress,
        check_conversion=timed_check if check else None,
        accept_accuracy_loss=True,
    )
    out.unlink()  # the next build writes the same file
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
    parser.add_argument("--model-dir", type=Path, default=SHARED / "onnx")
    parser.add_argument("--backend", default="rtx", help="tensorrt on a GPU machine")
    parser.add_argument("--timing-cache", default=None, help="TensorRT timing cache file")
    parser.add_argument("--builds", type=int, default=2, help="builds each way (best kept)")
    parser.add_argument("--cpu", action="store_true", help="measure CPU time, not wall time")
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.cpu else time.perf_counter
    unit = "CPU ms" if args.cpu else "ms"
    if not args.model_dir.is_dir():
        print(f"skipped: the shared models are not at {args.model_dir}")
        return 0
    figures = []
    with tempfile.TemporaryDirectory(prefix="bench-int8-") as tmp:
        for name in args.models:
            model = args.model_dir / name
            ort_ms = ort_inference_ms(model, args.images / "coffee.png")
            engine = Path(tmp) / f"{model.stem}.int8.engine"

            def build(check: bool, model: Path = model, engine: Path = engine) -> dict[str, float]:
                return int8_build(
                    model, args.images, engine, check, args.backend, args.timing_cache
                )

            # The check runs beside TensorRT: its share is the time it adds to the build,
            # measured against the same build without it (best of two each, this machine).
            plain = min(
                (build(check=False) for _ in range(args.builds)),
                key=lambda p: p["build_s"],
            )
            parts = min(
                (build(check=True) for _ in range(args.builds)),
                key=lambda p: p["build_s"],
            )
            per_image_ms, whole_ms = calibration_per_image_ms(model, args.images, Path(tmp))
            ratio = per_image_ms / ort_ms
            added = max(0.0, parts["build_s"] - plain["build_s"])
            share = added / parts["build_s"]
            print(
                f"{name}: calibration {per_image_ms:.1f} {unit}/image (steady; {whole_ms:.0f} "
                f"per image with the one-off costs) vs ORT FP32 {ort_ms:.1f} {unit} "
                f"({ratio:.2f}x); the check ran {parts['check_s']:.2f} s beside TensorRT and "
                f"added {added:.2f} s to {parts['build_s']:.2f} s ({share:.0%}; "
                f"{plain['build_s']:.2f} s without it; verdict {parts['verdict']})"
            )
            figures += [
                {
                    "metric": f"INT8 calibration per image, steady state ({name})",
                    "value": round(per_image_ms, 2),
                    "unit": "ms",
                    "reference": round(ort_ms, 2),
                    "ratio": round(ratio, 3),
                    "target": "<= 2x one ORT FP32 inference",
                    "pass": ratio <= 2.0,
                },
                {
                    "metric": f"time the precision check adds to the INT8 build ({name})",
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
