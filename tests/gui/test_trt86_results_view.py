"""What the H200 ran, shown here without a GPU: the real TensorRT 8.6 and ONNX Runtime outputs
(`tests/fixtures/effnet_lite0_outputs.trt860-h200.npz`, brought back by tools/gpu-check.sh a)
pass the per-precision tolerances, and the Inference panel renders their comparison as the
README's screenshot shows it (packaging/make_gpu_screenshots.py builds that report).

Expected class: the shared models README (coffee.png → espresso, ImageNet class 967).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

from trtgui.core.predict.compare import compare_outputs

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = ROOT / "tests" / "fixtures" / "effnet_lite0_outputs.trt860-h200.npz"
ESPRESSO = 967


def _screenshots_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_gpu_screenshots", ROOT / "packaging" / "make_gpu_screenshots.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("engine", "precision"), [("fp32", "fp32"), ("fp16", "fp16")])
def test_real_outputs_pass_their_precision_tolerances(engine: str, precision: str) -> None:
    saved = np.load(OUTPUTS)
    ref, trt = saved["ort_coffee"], saved[f"trt_effnet.{engine}_coffee"]
    comparison = compare_outputs({"logits": ref}, {"logits": trt}, precision)
    assert comparison.passed, comparison.summary()
    assert int(np.argmax(trt)) == int(np.argmax(ref)) == ESPRESSO
    # Batch 8 (five photos, then coffee three times) passes too.
    batch = compare_outputs(
        {"logits": saved["ort_batch8"]}, {"logits": saved[f"trt_effnet.{engine}_batch8"]}, precision
    )
    assert batch.passed, batch.summary()


def test_real_int8_engine_is_faithful_to_its_qdq_onnx() -> None:
    saved = np.load(OUTPUTS)
    comparison = compare_outputs(
        {"logits": saved["ort_qdq_coffee"]}, {"logits": saved["trt_effnet.int8_coffee"]}, "int8"
    )
    assert comparison.passed, comparison.summary()


def test_inference_panel_shows_the_h200_comparison(qtbot: Any) -> None:
    from trtgui.gui.inference_panel import InferencePanel

    shots = _screenshots_module()
    try:
        report = shots.inference_report()
    except SystemExit as missing:  # coffee.png / labels not beside the project
        pytest.skip(str(missing))
    panel = InferencePanel()
    qtbot.addWidget(panel)
    panel.show_report(report)
    view = panel.results
    assert view.verdict_label.text() == "PASS"
    assert view.result_tabs.tabText(2).endswith(": PASS")
    note = view.compare_note.text()
    assert ">= 0.999" in note and "&gt;" not in note  # the summary as plain text
    assert "espresso" in view.summary_label.text()
