"""INT8 engine speed and accuracy by Q/DQ placement, on a GPU with NVIDIA TensorRT (#13).

Each Q/DQ ONNX given is built twice with `trtgui-cli build`: `--precision int8` (the layers
without Q/DQ run in FP32) and `--precision auto` (TensorRT 8.6/10: FP16 and INT8 flags, the
layers without Q/DQ may run in FP16), and the original at FP16 as the speed reference. For
each engine: GPU compute time at batch 1 and 8 (`bench.time_runner`, what `trtgui-cli bench`
runs), its layers' precisions (`trtgui-cli engine --json`), and its agreement on the photos
with ONNX Runtime FP32 on the original (top-1, top-5 overlap, cosine: NumPy here, not
trtgui's compare). Results go to --out after every engine, so a cut-short run still reports.

    python bench/int8_placement_gpu.py --original M.onnx --images DIR --work DIR --out R.json \
        --shapes input:1x3x224x224:4x3x224x224:8x3x224x224 V0.onnx V1.onnx ...

Needs NVIDIA TensorRT and a GPU (run it with tools/gpu-check.sh x on the device).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, timeout: float = 400) -> dict[str, Any]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "trtgui.cli.main", *args, "--json"],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        return {"rc": proc.returncode, "stderr": proc.stderr[-2000:]}
    data: dict[str, Any] = json.loads(proc.stdout)
    data["wall_seconds"] = round(time.perf_counter() - t0, 2)
    return data


def _photos(images: Path, model: Path) -> np.ndarray:
    """The photos as the original's input, with the preprocessing `predict` would guess."""
    from trtgui.core.imaging import guess_preprocess, load_image, preprocess, resolve_spec
    from trtgui.core.model.onnx_model import inspect_onnx

    info = inspect_onnx(model)
    tensor = info.inputs[0]
    spec = resolve_spec(guess_preprocess(info), (1, *tensor.shape[1:]), tensor.dtype)
    arrays = [preprocess(load_image(p), spec)[0] for p in sorted(images.iterdir())]
    return np.concatenate([a if a.ndim == 4 else a[None] for a in arrays])


def measure(engine: Path, photos: np.ndarray, reference: np.ndarray, name: str) -> dict[str, Any]:
    from tests.gpu.trt86_support import agreement  # NumPy only, shared with the GPU tests
    from trtgui.core.engine.bench import time_runner
    from trtgui.core.engine.trt_runner import TrtRunner

    entry: dict[str, Any] = {}
    with TrtRunner(engine, cuda_api="cuda-python") as runner:
        out = runner.run({name: photos})
        (logits,) = out.values()
        entry["vs_fp32_onnx"] = agreement(reference, logits)
        for batch in (1, 8):
            feed = {name: np.repeat(photos[:1], batch, axis=0)}
            stats = time_runner(runner, feed, warmup_ms=200, iterations=500, batch=batch)
            entry[f"compute_ms_b{batch}"] = round(stats.phases["GPU Compute Time"].median, 4)
    found = _cli("engine", str(engine), "--layers").get("engine") or {}
    entry["layers"] = found.get("num_layers")
    entry["precisions"] = found.get("precision_summary")
    entry["layer_list"] = [
        [layer.get("type"), layer.get("precision"), str(layer.get("name"))[:90]]
        for layer in found.get("layers") or []
    ]
    return entry


def make_variants(original: Path, images: Path, work: Path) -> list[Path]:
    """The placements compared, written with trtgui's own quantizer on `images`: v2 every
    compute layer in INT8, v4 the default (v2 and the residual Adds' skip inputs). Measured
    before and no longer written (bench/results/gpu_int8_placement.json): v0, the compute
    layers that read a depthwise Conv's output kept float; v1, those depthwise Convs too;
    v5, Q/DQ before zero Pads."""
    from unittest import mock

    from trtgui.core.model import qdq_placement
    from trtgui.core.model.int8 import Calibration, quantize_int8

    plan = qdq_placement.plan_placement
    v2, v4 = (work / f"{original.stem}.{name}.onnx" for name in ("v2", "v4"))
    without_residual = mock.patch.object(
        qdq_placement, "plan_placement", lambda m, p, n: plan(m, p, n, residual=False)
    )
    with without_residual:
        quantize_int8(original, v2, calibration=Calibration(str(images)))
    quantize_int8(original, v4, calibration=Calibration(str(images)))
    return [v2, v4]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--make-variants", action="store_true", help="v2 and v4 (see above)")
    parser.add_argument("--original", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shapes", required=True)
    parser.add_argument("--modes", nargs="+", default=["int8", "auto"])
    parser.add_argument("--no-fp16-reference", action="store_true")
    parser.add_argument("--backend", default="tensorrt", help="rtx for a rehearsal here")
    args = parser.parse_args(argv)
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.engine.runners import OrtRunner
    from trtgui.core.model.onnx_model import inspect_onnx

    args.work.mkdir(parents=True, exist_ok=True)
    settings = args.work / "placement.settings.json"
    BuildSettings(timing_cache_path=str(args.work / "timing.cache")).save(settings)
    if args.make_variants:
        args.models = make_variants(args.original, args.images, args.work) + args.models
    photos = _photos(args.images, args.original)
    name = inspect_onnx(args.original).inputs[0].name
    with OrtRunner(args.original) as ort:
        (reference,) = ort.run({name: photos}).values()
    results: dict[str, Any] = {"started": time.strftime("%F %T"), "engines": {}}
    jobs = [] if args.no_fp16_reference else [(args.original, "fp16")]
    jobs += [(model, mode) for model in args.models for mode in args.modes]
    for model, mode in jobs:
        key = f"{model.stem}.{mode}"
        engine = args.work / f"{key}.engine"
        build = _cli(
            "build", str(model), "--backend", args.backend, "--precision", mode,
            "--shapes", args.shapes, "--settings", str(settings), "-o", str(engine),
            "--accept-accuracy-loss",
        )  # fmt: skip
        entry: dict[str, Any] = {
            "build_seconds": build.get("build_seconds"),
            "wall_seconds": build.get("wall_seconds"),
        }
        if "rc" in build:
            entry["error"] = build
        else:
            try:
                entry.update(measure(engine, photos, reference, name))
            except Exception as exc:  # report and go on with the next engine
                entry["error"] = f"{type(exc).__name__}: {exc}"
        results["engines"][key] = entry
        print(key, json.dumps(entry), flush=True)
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    sys.exit(main())
