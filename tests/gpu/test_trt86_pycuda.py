"""TrtRunner through pycuda with real TensorRT 8.6 engines on the H200, and the cuda-python path
again on the same engines: outputs against ONNX Runtime on real photos, both CUDA layers
against each other, and bench (staged) against the bare loop with pycuda buffers.

Runs from `tools/gpu-check.sh p` after part a built the EfficientNet-Lite0 engines into
TRTGUI_GPU_WORK, with pycuda built on the device (it has no wheel); skipped when pycuda or the
engines are missing. Expected class from the shared models README (coffee.png: espresso).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.gpu.test_trt86_classifier import ESPRESSO, MODEL, PHOTOS, _tensor, _top5
from tests.gpu.trt86_support import (
    Results,
    agreement,
    bench_against_bare_loop,
    find,
    require_tensorrt,
)

pytestmark = [pytest.mark.gpu, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def results() -> Results:
    return Results(os.environ.get("TRTGUI_GPU_RESULTS", ""))


@pytest.fixture(scope="module")
def work() -> Path:
    require_tensorrt()
    pytest.importorskip("pycuda.driver")
    folder = Path(os.environ.get("TRTGUI_GPU_WORK", ""))
    if not (folder / "effnet.fp16.engine").is_file():
        pytest.skip(f"no EfficientNet-Lite0 engines in {folder} (run gpu-check.sh a first)")
    return folder


@pytest.mark.parametrize(("name", "precision"), [("effnet.fp16", "fp16"), ("effnet.fp32", "fp32")])
def test_p1_pycuda_runner_matches_onnx_runtime_and_cuda_python(
    work: Path, results: Results, name: str, precision: str
) -> None:
    import pycuda

    from trtgui.core.engine.runners import OrtRunner
    from trtgui.core.engine.trt_runner import TrtRunner
    from trtgui.core.predict.compare import compare_outputs

    engine = work / f"{name}.engine"
    coffee = _tensor("coffee.png")
    batch = np.concatenate([_tensor(p) for p in PHOTOS] + [coffee] * 3)
    with OrtRunner(find("onnx", MODEL)) as ort:
        ref1, ref8 = ort.run({"input": coffee})["logits"], ort.run({"input": batch})["logits"]
    outs: dict[str, Any] = {}
    for api in ("pycuda", "cuda-python"):
        with TrtRunner(engine, cuda_api=api) as runner:
            assert runner.cuda_api_name == api
            out1 = runner.run({"input": coffee})["logits"]
            out8 = runner.run({"input": batch})["logits"]
            timings = runner.last_timings
        c1 = compare_outputs({"logits": ref1}, {"logits": out1}, precision)
        c8 = compare_outputs({"logits": ref8}, {"logits": out8}, precision)
        outs[api] = {
            "out1": out1,
            "out8": out8,
            "entry": {
                "top5": _top5(out1),
                "batch1": {"passed": c1.passed, "summary": c1.summary()},
                "batch8": {"passed": c8.passed, "summary": c8.summary()},
                "photos_vs_onnx_runtime": agreement(ref8[: len(PHOTOS)], out8[: len(PHOTOS)]),
                "timings_ms_batch8": timings.as_phases() if timings else None,
            },
        }
    diff = float(np.abs(outs["pycuda"]["out8"] - outs["cuda-python"]["out8"]).max())
    results[f"pycuda_{name}"] = {
        "pycuda_version": getattr(pycuda, "VERSION_TEXT", ""),
        "pycuda": outs["pycuda"]["entry"],
        "cuda-python": outs["cuda-python"]["entry"],
        "max_abs_difference_pycuda_vs_cuda_python_batch8": diff,
    }
    for api in ("pycuda", "cuda-python"):
        entry = outs[api]["entry"]
        assert entry["top5"][0] == ESPRESSO, (api, entry["top5"])
        assert entry["batch1"]["passed"], (api, entry["batch1"]["summary"])
        assert entry["batch8"]["passed"], (api, entry["batch8"]["summary"])
    # The same engine on the same inputs: the CUDA layer moves bytes, it changes none (1e-3:
    # room for a kernel whose reduction order varies between runs; logits are ~1-20).
    assert diff < 1e-3


def test_p2_pycuda_bench_against_the_bare_loop(work: Path, results: Results) -> None:
    data = bench_against_bare_loop(
        work / "effnet.fp16.engine", {"input": _tensor("coffee.png")}, cuda_api="pycuda"
    )
    results["bench_pycuda_effnet.fp16_b1"] = data
    # The staged replay computes what the bare loop computes (same engine, same input).
    assert max(r["max_abs_difference_from_bare_loop"] for r in data["rounds"]) < 1e-3
    assert data["ratio_median"] <= 1.05, f"trtgui (pycuda) {data['ratio_median']:.3f}x"
