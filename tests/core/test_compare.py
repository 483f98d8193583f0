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


def test_fp16_sized_error_fails_fp32_passes_fp16() -> None:
    ref = np.linspace(-1, 1, 1000).astype(np.float32)
    cand = ref.astype(np.float16).astype(np.float32)
    assert not compare_outputs({"y": ref}, {"y": cand}, "fp32").passed
    assert compare_outputs({"y": ref}, {"y": cand}, "fp16").passed


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
