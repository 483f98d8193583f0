"""compare_outputs on known data: errors, cosine, tolerances per precision, top-k, edge cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from trtgui.core.errors import InferenceError
from trtgui.core.predict.compare import (
    DEFAULT_TOLERANCES,
    compare_outputs,
    cosine_similarity,
    tolerances,
    top_k_agreement,
)


def test_identical_outputs_pass() -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    c = compare_outputs({"y": a}, {"y": a.copy()})
    assert c.passed
    (o,) = c.outputs
    assert o.max_abs == 0 and o.mean_abs == 0 and o.max_rel == 0
    assert o.cosine == pytest.approx(1.0)
    assert o.mismatches == 0 and o.elements == 12
    assert "PASSED" in c.summary()


def test_known_errors() -> None:
    ref = np.array([1.0, 2.0, 4.0, 0.0], np.float32)
    cand = np.array([1.1, 2.0, 3.0, 0.5], np.float32)
    (o,) = compare_outputs({"y": ref}, {"y": cand}, atol=0.2, rtol=0.0).outputs
    assert o.max_abs == pytest.approx(1.0)
    assert o.mean_abs == pytest.approx((0.1 + 0 + 1.0 + 0.5) / 4, rel=1e-6)
    # relative error only where the reference is non-zero: 0.1/1, 0/2, 1/4
    assert o.max_rel == pytest.approx(0.25, rel=1e-6)
    assert o.mean_rel == pytest.approx((0.1 + 0 + 0.25) / 3, rel=1e-5)
    assert o.mismatches == 2  # 1.0 and 0.5 exceed atol 0.2
    assert o.worst_index == (2,)
    assert not o.passed
    expected_cos = float(ref @ cand / (np.linalg.norm(ref) * np.linalg.norm(cand)))
    assert o.cosine == pytest.approx(expected_cos, rel=1e-6)


def test_default_tolerances_per_precision() -> None:
    assert tolerances("fp32") == (1e-5, 1e-5)
    assert tolerances("fp16") == (1e-3, 1e-3)
    assert tolerances("bf16") == (1e-3, 1e-3)
    assert tolerances("int8")[0] > tolerances("fp16")[0]
    assert tolerances("fp16", atol=0.5) == (0.5, 1e-3)
    assert set(DEFAULT_TOLERANCES) >= {"fp32", "fp16", "bf16", "int8"}
    with pytest.raises(InferenceError, match="Unknown precision"):
        tolerances("fp64")


def test_fp16_sized_error_fails_fp32_tolerances_but_passes_by_agreement() -> None:
    # Issue #16 changed this: TensorRT runs FP32 as TF32 by default (FP16's 10-bit
    # significand), so FP16-sized rounding at FP32 is outside 1e-5 element-wise, yet agrees.
    ref = np.linspace(-1, 1, 1000).astype(np.float32)
    cand = ref.astype(np.float16).astype(np.float32)
    (o32,) = compare_outputs({"y": ref}, {"y": cand}, "fp32").outputs
    assert o32.mismatches > 0 and o32.passed and o32.passed_by == "agreement"
    assert "outside atol/rtol" in o32.message
    (o16,) = compare_outputs({"y": ref}, {"y": cand}, "fp16").outputs
    assert o16.passed_by == "tolerance" and o16.mismatches == 0


def _logits(rows: int = 4, classes: int = 1000) -> np.ndarray:
    rng = np.random.default_rng(7)
    logits = rng.normal(0.0, 2.0, (rows, classes)).astype(np.float32)
    logits[np.arange(rows), rng.integers(0, classes, rows)] += 12.0  # a clear winner per row
    return logits


def test_tf32_noise_on_logits_passes_fp32_and_a_real_error_fails() -> None:
    ref = _logits()
    # Noise of the size seen on the H200 (#16): max abs 0.012 on logits of std ~2.
    noise = np.random.default_rng(1).uniform(-0.012, 0.012, ref.shape).astype(np.float32)
    tf32 = compare_outputs({"y": ref}, {"y": ref + noise}, "fp32")
    (o,) = tf32.outputs
    assert o.mismatches > 0 and o.max_abs <= 0.012
    # cosine = 1 - |noise|^2 / (2 |ref|^2) ~ 1 - (0.012^2 / 3) / (2 * 4.1) ~ 0.999994
    assert o.cosine > 0.99999
    assert tf32.passed and o.passed_by == "agreement"
    assert "by agreement" in tf32.summary()
    # Real errors: a layer's worth of noise (10 % of the logits' spread), or the winners lost.
    broken = ref + np.random.default_rng(2).normal(0.0, 0.9, ref.shape).astype(np.float32)
    (b,) = compare_outputs({"y": ref}, {"y": broken}, "fp32").outputs
    assert b.cosine < 0.9999 and not b.passed and b.passed_by == ""
    swapped = ref.copy()
    swapped[0] = np.roll(swapped[0], 1)  # every class shifted by one in the first row
    (s,) = compare_outputs({"y": ref}, {"y": swapped}, "int8").outputs
    assert not s.passed


def test_a_changed_top1_fails_even_with_a_high_cosine() -> None:
    ref = np.zeros((1, 10), np.float32)
    ref[0, :2] = [5.0, 4.9]  # softmax: 0.49 and 0.45, apart by more than a tie (0.02)
    cand = ref.copy()
    cand[0, :2] = [4.9, 5.0]
    (o,) = compare_outputs({"y": ref}, {"y": cand}, "fp16").outputs
    assert o.cosine > 0.999 and o.top_k is not None and o.top_k.top1_agreement == 0.0
    assert o.top_k.top1_within_noise == 0.0
    assert not o.passed


def test_a_top1_swap_between_classes_the_reference_ties_passes() -> None:
    # Shaped like chelsea.png on EfficientNet-Lite0 (shared README: tiger cat 0.38, Egyptian
    # cat 0.37): logits 9.2736 and 9.2636 in ONNX Runtime, swapped by TensorRT's FP16.
    ref = np.zeros((1, 1000), np.float32)
    ref[0, :2] = [9.2736, 9.2636]
    ref[0, 2] = 8.5
    cand = ref.copy()
    cand[0, :2] = [9.2636, 9.2736]
    (o,) = compare_outputs({"y": ref}, {"y": cand}, "fp32").outputs  # outside 1e-5
    assert o.top_k is not None and o.top_k.top1_agreement == 0.0
    assert o.top_k.top1_within_noise == 1.0
    assert o.passed and o.passed_by == "agreement"


def test_shape_mismatch_and_unit_dims() -> None:
    ref = np.zeros((1, 10), np.float32)
    c = compare_outputs({"y": ref}, {"y": np.zeros((10,), np.float32)})
    assert c.passed  # only a unit dimension differs
    c = compare_outputs({"y": ref}, {"y": np.zeros((2, 10), np.float32)})
    assert not c.passed
    assert "shapes differ" in c.outputs[0].message


def test_missing_and_extra_outputs() -> None:
    a = np.ones(3, np.float32)
    c = compare_outputs({"y": a, "z": a}, {"y": a, "w": a})
    assert c.missing == ("z",) and c.extra == ("w",)
    assert not c.passed
    assert "lacks output" in c.summary()


def test_nan_handling() -> None:
    ref = np.array([1.0, np.nan, 3.0])
    both = compare_outputs({"y": ref}, {"y": ref.copy()})
    assert both.passed
    one = compare_outputs({"y": ref}, {"y": np.array([1.0, 2.0, 3.0])})
    assert not one.passed
    assert "NaN" in one.outputs[0].message
    assert math.isinf(one.outputs[0].max_abs)


def test_cosine_edge_cases() -> None:
    z = np.zeros(4)
    assert cosine_similarity(z, z) == 1.0
    assert cosine_similarity(z, np.ones(4)) == 0.0
    assert cosine_similarity(np.ones(4), -np.ones(4)) == pytest.approx(-1.0)


def test_top_k_on_classifier_output() -> None:
    ref = np.array([[0.1, 0.5, 0.2, 0.9, 0.0, 0.3], [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]])
    cand = ref.copy()
    cand[1] = [4.0, 5.0, 3.0, 2.0, 1.0, 0.0]  # top-1 swapped in row 1, top-3 set unchanged
    t = top_k_agreement(ref, cand, k=3)
    assert t.top1_agreement == 0.5
    assert t.topk_overlap == 1.0
    (o,) = compare_outputs({"logits": ref}, {"logits": cand}, top_k=3).outputs
    assert o.top_k is not None and o.top_k.top1_agreement == 0.5


def test_top_k_absent_for_non_scores() -> None:
    img = np.zeros((1, 3, 4, 4), np.float32)
    assert compare_outputs({"y": img}, {"y": img}).outputs[0].top_k is None
    ints = np.arange(6).reshape(2, 3)
    assert compare_outputs({"y": ints}, {"y": ints}).outputs[0].top_k is None


def test_to_dict_is_json() -> None:
    a = np.random.default_rng(0).random((2, 5)).astype(np.float32)
    data = compare_outputs({"y": a}, {"y": a + 1e-3}, "fp16").to_dict()
    text = json.dumps(data)
    assert data["outputs"][0]["top_k"]["k"] == 5
    assert '"passed"' in text
