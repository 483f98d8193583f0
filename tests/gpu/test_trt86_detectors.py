"""NVIDIA TensorRT on a real GPU, the detectors: PP-OCRv4 det with a dynamic H×W input and two
profiles on one engine, and yolov8n-doclaynet (static 1024×1024), built from the CLI in FP16
and INT8 (Q/DQ); inspected; run by TrtRunner (and by a bare loop on the second profile) against
ONNX Runtime on page.png, in the task's terms (text regions, box F1).

Reference results (shared models README, ONNX Runtime with the packages' own preprocessing):
PP-OCRv4 det finds 7 text lines on page.png; doclaynet finds Text 0.75 and Section-header
0.60 there. Runs from tools/gpu-check.sh on the H200; skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.gpu.trt86_support import ROOT, Results, bare_loop, cli_json, find, require_tensorrt
from trtgui.core import backends
from trtgui.core.build.settings import BuildSettings
from trtgui.core.model.profiles import InputShape, ShapeProfile

pytestmark = [pytest.mark.gpu, pytest.mark.timeout(420)]

OCR = "ch_PP-OCRv4_det_infer.onnx"
DOC = "yolov8n-doclaynet.onnx"
OPT_LEVEL = "2"  # fewer tactics timed than level 3: these builds share a short device lease


@pytest.fixture(scope="module")
def info() -> backends.BackendInfo:
    return require_tensorrt()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = os.environ.get("TRTGUI_GPU_WORK")
    folder = Path(env) if env else tmp_path_factory.mktemp("trt86b")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def results() -> Results:
    return Results(os.environ.get("TRTGUI_GPU_RESULTS", ""))


def out_dir() -> Path | None:
    out = os.environ.get("OUT")
    return Path(out) if out else None


def _page_tensor() -> tuple[np.ndarray, Any]:
    from trtgui.core import imaging

    spec = imaging.resolve_spec(imaging.PRESETS["paddleocr-det"], (None, 3, None, None), "float32")
    array, _box = imaging.preprocess(imaging.load_image(find("images", "page.png")), spec)
    return (array if array.ndim == 4 else array[None]), spec


def _mask_iou(a: np.ndarray, b: np.ndarray, threshold: float = 0.3) -> float:
    ma, mb = a > threshold, b > threshold
    union = int((ma | mb).sum())
    return float((ma & mb).sum() / union) if union else 1.0


def test_11_ppocr_det_two_dynamic_profiles_in_one_engine(
    info: backends.BackendInfo, work: Path, results: Results
) -> None:
    page, _spec = _page_tensor()
    h, w = int(page.shape[2]), int(page.shape[3])
    small = InputShape("x", (1, 3, 32, 32), (1, 3, h, w), (1, 3, 736, 736))
    large = InputShape("x", (1, 3, 736, 736), (1, 3, 960, 960), (1, 3, 1280, 1280))
    settings = work / "ppocr.settings.json"
    BuildSettings(
        profiles=(ShapeProfile((small,)), ShapeProfile((large,))),
        timing_cache_path=str(work / "timing.cache"),
    ).save(settings)
    t0 = time.perf_counter()
    data = cli_json(
        "build", str(find("onnx", OCR)), "--backend", "tensorrt", "--precision", "fp16",
        "--settings", str(settings), "--opt-level", OPT_LEVEL,
        "-o", str(work / "ppocr.fp16.engine"), timeout=420,
    )  # fmt: skip
    data.pop("io_tensors", None)
    data["wall_seconds"] = round(time.perf_counter() - t0, 2)
    results["build_ppocr_fp16_two_profiles"] = data
    assert len(data["profiles"]) == 2


def test_12_ppocr_engine_inspected_and_run_on_both_profiles(work: Path, results: Results) -> None:
    from trtgui.core.engine.info import inspect_engine
    from trtgui.core.engine.runners import OrtRunner
    from trtgui.core.engine.trt_runner import TrtRunner
    from trtgui.core.predict.compare import compare_outputs
    from trtgui.core.predict.flow import run_prediction

    path = work / "ppocr.fp16.engine"
    if not path.is_file():
        pytest.skip("the PP-OCR engine was not built")
    engine_info = inspect_engine(path)
    (inp,) = engine_info.inputs
    page, spec = _page_tensor()
    with OrtRunner(find("onnx", OCR)) as ort:
        ref = ort.run({"x": page})
        big = np.ascontiguousarray(np.resize(page, (1, 3, 960, 960)).astype(np.float32))
        ref_big = ort.run({"x": big})
    with TrtRunner(path, cuda_api="cuda-python") as runner:
        out = runner.run({"x": page})
    (name,) = ref
    c = compare_outputs(ref, out, "fp16")
    second: dict[str, np.ndarray] = {}
    bare_loop(path, {"x": big}, iterations=3, warmup=1, profile=1, outputs=second)
    c_big = compare_outputs(ref_big, second, "fp16")
    report = run_prediction(path, find("images", "page.png"), spec=spec)
    ort_report = run_prediction(find("onnx", OCR), find("images", "page.png"), spec=spec)
    results["ppocr"] = {
        "num_profiles": engine_info.num_profiles,
        "profiles": [p.to_dict() for p in inp.profiles],
        "device_memory_bytes": engine_info.device_memory_bytes,
        "precision_summary": engine_info.precision_summary,
        "layers": len(engine_info.layers),
        "layer_note": engine_info.layer_note,
        "profile1_input": list(page.shape),
        "profile1_vs_ort": c.to_dict(),
        "profile1_mask_iou": _mask_iou(ref[name], out[name]),
        "profile2_input": list(big.shape),
        "profile2_vs_ort": c_big.to_dict(),
        "profile2_mask_iou": _mask_iou(ref_big[name], second[name]),
        "text_regions_trt": report.prediction.region_count,
        "text_regions_ort": ort_report.prediction.region_count,
        "prediction_comparison": report.comparison.to_dict() if report.comparison else None,
        "runner": report.runner,
    }
    if out_dir() is not None:
        np.savez_compressed(
            out_dir() / "ppocr_outputs.npz", input=page, ort=ref[name], trt=out[name]
        )
        (out_dir() / "ppocr.engine_info.json").write_text(
            json.dumps(engine_info.to_dict(), indent=1)
        )
    assert engine_info.num_profiles == 2
    assert [p.min for p in inp.profiles] == [(1, 3, 32, 32), (1, 3, 736, 736)]
    assert [p.max for p in inp.profiles] == [(1, 3, 736, 736), (1, 3, 1280, 1280)]
    assert c.passed, c.summary()
    assert c_big.passed, c_big.summary()
    assert results["ppocr"]["profile1_mask_iou"] > 0.95
    assert report.runner == "TensorRT"
    assert report.prediction.region_count == ort_report.prediction.region_count == 7


def _iou(a: Any, b: Any) -> float:
    x1, y1 = max(a.x1, b.x1), max(a.y1, b.y1)
    x2, y2 = min(a.x2, b.x2), min(a.y2, b.y2)
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter
    return inter / area if area > 0 else 0.0


def _box_f1(ref: tuple[Any, ...], cand: tuple[Any, ...], iou: float = 0.5) -> float:
    """Greedy one-to-one matching by IoU with the same label (the detection task's F1)."""
    if not ref and not cand:
        return 1.0
    left = list(cand)
    hits = 0
    for r in ref:
        best = max((c for c in left if c.label == r.label), key=lambda c: _iou(r, c), default=None)
        if best is not None and _iou(r, best) >= iou:
            hits += 1
            left.remove(best)
    return 2 * hits / (len(ref) + len(cand))


DOC_OPT_LEVEL = "1"  # doclaynet's FP16 build ran past 165 s at level 2: two builds must fit


def _doc_build_args(work: Path, precision: str) -> list[str]:
    settings = work / f"doclaynet.{precision}.settings.json"
    BuildSettings(timing_cache_path=str(work / "timing.cache")).save(settings)
    args = [
        sys.executable, "-m", "trtgui.cli.main", "build", str(find("onnx", DOC)),
        "--backend", "tensorrt", "--precision", precision, "--settings", str(settings),
        "--opt-level", DOC_OPT_LEVEL, "-o", str(work / f"doclaynet.{precision}.engine"), "--json",
    ]  # fmt: skip
    if precision == "int8":
        # Q/DQ by trtgui's quantizer on the two photos there are; built even if the
        # precision check refuses it, so the engine can be measured against its Q/DQ ONNX.
        images = find("onnx", DOC).parent.parent / "images"  # gpu-b's two: coffee, page
        args += ["--calib-dir", str(images), "--int8-method", "qdq", "--keep-onnx"]
        args += ["--accept-accuracy-loss"]
    return args


def test_13_doclaynet_fp16_and_int8_build_side_by_side(
    info: backends.BackendInfo, work: Path, results: Results
) -> None:
    """Both engines built at once (one device call must hold them): the build times are of
    two builds sharing the GPU, not of one alone."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    t0 = time.perf_counter()
    procs, logs = {}, {}
    for precision in ("fp16", "int8"):
        logs[precision] = work / f"doclaynet.{precision}.stderr"
        with logs[precision].open("wb") as err:
            procs[precision] = subprocess.Popen(
                _doc_build_args(work, precision),
                stdout=subprocess.PIPE,
                stderr=err,
                cwd=ROOT,
                env=env,
            )
    table: dict[str, Any] = {"opt_level": DOC_OPT_LEVEL, "side_by_side": True}
    try:
        for precision, proc in procs.items():
            out, _ = proc.communicate(timeout=400)
            entry: dict[str, Any] = {"rc": proc.returncode}
            if proc.returncode == 0:
                data = json.loads(out)
                data.pop("io_tensors", None)
                entry.update(data)
            else:
                entry["stderr"] = logs[precision].read_text("utf-8", "replace")[-3000:]
            entry["wall_seconds"] = round(time.perf_counter() - t0, 2)
            table[precision] = entry
            results["doclaynet_builds"] = table
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    assert table["fp16"]["rc"] == 0, table["fp16"].get("stderr")
    assert table["int8"]["rc"] == 0, table["int8"].get("stderr")


def _boxes(report: Any) -> list[tuple[str, float]]:
    return [(b.label, round(b.score, 3)) for b in report.prediction.boxes]


def test_14_doclaynet_fp16_boxes_match_onnx_runtime(work: Path, results: Results) -> None:
    from trtgui.core.engine.info import inspect_engine
    from trtgui.core.predict.flow import run_prediction

    engine = work / "doclaynet.fp16.engine"
    if not engine.is_file():
        pytest.skip("the doclaynet FP16 engine was not built")
    table: dict[str, Any] = {}
    saved: dict[str, np.ndarray] = {}
    for photo in ("page.png", "coffee.png"):
        trt = run_prediction(engine, find("images", photo))
        ort = run_prediction(find("onnx", DOC), find("images", photo))
        table[photo] = {
            "trt": _boxes(trt),
            "ort": _boxes(ort),
            "box_f1": _box_f1(ort.prediction.boxes, trt.prediction.boxes),
            "comparison": trt.comparison.to_dict() if trt.comparison else None,
            "runner": trt.runner,
            "runner_detail": trt.runner_detail,
            "timings_ms": trt.timings.to_dict(),
        }
        if photo == "page.png":
            for name, value in trt.outputs.items():
                saved[f"trt_fp16_{name}"] = value
            for name, value in ort.outputs.items():
                saved[f"ort_{name}"] = value
    engine_info = inspect_engine(engine)
    table["engine"] = {
        "layers": len(engine_info.layers),
        "precision_summary": engine_info.precision_summary,
        "device_memory_bytes": engine_info.device_memory_bytes,
    }
    results["doclaynet"] = table
    if out_dir() is not None:
        np.savez_compressed(out_dir() / "doclaynet_page_outputs.npz", **saved)
        (out_dir() / "doclaynet_fp16.engine_info.json").write_text(
            json.dumps(engine_info.to_dict(), indent=1)
        )
    assert table["page.png"]["runner"] == "TensorRT"
    assert table["page.png"]["box_f1"] >= 0.9
    assert table["coffee.png"]["box_f1"] >= 0.9


def test_15_doclaynet_int8_against_its_qdq_onnx(work: Path, results: Results) -> None:
    """How far the TensorRT INT8 engine is from the Q/DQ ONNX model ONNX Runtime ran (the
    same quantized graph), and from the FP32 model: box F1 and output cosine."""
    from trtgui.core.engine.runners import OrtRunner
    from trtgui.core.engine.trt_runner import TrtRunner
    from trtgui.core.predict.compare import compare_outputs
    from trtgui.core.predict.flow import run_prediction

    engine, qdq = work / "doclaynet.int8.engine", work / "doclaynet.int8.onnx"
    if not engine.is_file() or not qdq.is_file():
        pytest.skip("the doclaynet INT8 engine (or its Q/DQ ONNX) was not built")
    table: dict[str, Any] = {}
    saved: dict[str, np.ndarray] = {}
    for photo in ("page.png", "coffee.png"):
        trt = run_prediction(engine, find("images", photo))
        fp32 = run_prediction(find("onnx", DOC), find("images", photo))
        with OrtRunner(qdq) as q, TrtRunner(engine, cuda_api="cuda-python") as r:
            tensor = trt.input_tensor
            feed = {trt.input_name: tensor if tensor.ndim == 4 else tensor[None]}
            ref_q, out = q.run(feed), r.run(feed)
        qdq_pred = run_prediction(qdq, find("images", photo))
        table[photo] = {
            "trt_int8": _boxes(trt),
            "ort_qdq": _boxes(qdq_pred),
            "ort_fp32": _boxes(fp32),
            "box_f1_vs_qdq_onnx": _box_f1(qdq_pred.prediction.boxes, trt.prediction.boxes),
            "box_f1_vs_fp32_onnx": _box_f1(fp32.prediction.boxes, trt.prediction.boxes),
            "box_f1_qdq_onnx_vs_fp32_onnx": _box_f1(
                fp32.prediction.boxes, qdq_pred.prediction.boxes
            ),
            "outputs_vs_qdq_onnx": compare_outputs(ref_q, out, "int8").to_dict(),
            "outputs_vs_fp32_onnx": compare_outputs(fp32.outputs, out, "int8").to_dict(),
            "runner": trt.runner,
        }
        if photo == "page.png":
            for name, value in out.items():
                saved[f"trt_int8_{name}"] = value
            for name, value in ref_q.items():
                saved[f"ort_qdq_{name}"] = value
    results["doclaynet_int8"] = table
    if out_dir() is not None:
        np.savez_compressed(out_dir() / "doclaynet_page_int8_outputs.npz", **saved)
    assert table["page.png"]["runner"] == "TensorRT"
    assert table["page.png"]["box_f1_vs_qdq_onnx"] >= 0.9
