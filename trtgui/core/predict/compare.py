"""Comparing a candidate's outputs (usually TensorRT) with a reference's (usually ONNX Runtime).

Per output: max and mean absolute error, max and mean relative error, cosine similarity,
pass/fail against atol/rtol (an element passes when |cand - ref| <= atol + rtol * |ref|, as in
numpy.allclose), and for classifier-like outputs ([N, C] scores) top-1/top-k agreement.

Default tolerances per precision (`DEFAULT_TOLERANCES`):
- FP32 1e-5: TensorRT may reorder sums or pick TF32-free kernels with other accumulation
  orders; FP32 rounding alone stays within ~1e-6 relative on typical activations.
- FP16 and BF16 1e-3: the tolerance this project asks of reduced-precision engines; FP16 has an
  11-bit significand (~4.9e-4 relative rounding), BF16 only 8 bits (~3.9e-3), so BF16 engines
  often need a looser `--rtol`; cosine similarity and top-k agreement tell more there.
- INT8 1e-1: values are rounded to 256 levels of a per-tensor scale (max|x| / 127), so each
  quantized layer adds an error of up to half a step *relative to the tensor's range*, not to
  each element, and the errors add up through the network. Element-wise 1e-3 would fail every
  correct INT8 engine; judge INT8 by cosine similarity (>= 0.99 is typical) and top-k.

An output outside those tolerances still passes when it agrees in the task's terms
(`MIN_COSINE`): cosine similarity at least the precision's minimum and, for classifier-like
outputs, the same top-1 class on every row (or, where the reference itself cannot tell the
two apart, its probabilities within `TIE_PROBABILITY` of each other, either of them: on
chelsea.png ONNX Runtime gives "tiger cat" 0.38 and "Egyptian cat" 0.37, and FP16 swapped
them) and at least 80 % of the top-5. NVIDIA TensorRT
runs "FP32" with TF32 by default (a 10-bit significand, as FP16's): on EfficientNet-Lite0 on
an H200 the FP32 logits differed from ONNX Runtime's by up to 0.012 (cosine 0.999996, top-1 and
top-5 identical), which element-wise 1e-5 calls a failure. A real error (wrong weights,
preprocessing or layer) moves the cosine far below these minimums or changes the top class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from trtgui.core.errors import InferenceError
from trtgui.core.shapes import shape_text

DEFAULT_TOLERANCES: dict[str, tuple[float, float]] = {  # precision -> (atol, rtol)
    "fp32": (1e-5, 1e-5),
    "fp16": (1e-3, 1e-3),
    "bf16": (1e-3, 1e-3),
    "int8": (1e-1, 1e-1),
    "auto": (1e-3, 1e-3),  # TensorRT 10 weak typing may use FP16 anywhere
}
# precision -> the cosine similarity an output needs to pass by agreement. TF32 and FP16
# round each product to ~4.9e-4 relative; over a network that leaves cosines of 0.99999x
# (0.999996 seen for TF32 on an H200). BF16 has 8 bits (~3.9e-3), INT8 far fewer.
MIN_COSINE: dict[str, float] = {
    "fp32": 0.9999,
    "fp16": 0.999,
    "bf16": 0.995,
    "int8": 0.99,
    "auto": 0.999,
}
MIN_TOPK_OVERLAP = 0.8
# Two classes whose reference probabilities differ by at most this are a tie: either may come
# out on top after rounding.
TIE_PROBABILITY = 0.02


@dataclass(frozen=True)
class TopK:
    """Agreement of class rankings over the rows of an [N, C] output."""

    k: int
    top1_agreement: float  # fraction of rows whose best class is the same
    topk_overlap: float  # mean fraction of the reference's top-k found in the candidate's
    # fraction of rows whose best class is the same, or one the reference scores as likely
    # (probabilities within TIE_PROBABILITY: a tie that rounding may break either way)
    top1_within_noise: float = 1.0


@dataclass(frozen=True)
class OutputComparison:
    name: str
    passed: bool
    reference_shape: tuple[int, ...]
    candidate_shape: tuple[int, ...]
    max_abs: float
    mean_abs: float
    max_rel: float
    mean_rel: float
    cosine: float
    mismatches: int  # elements outside atol + rtol * |ref|
    elements: int
    worst_index: tuple[int, ...] = ()
    top_k: TopK | None = None
    message: str = ""
    # "tolerance" (every element within atol/rtol), "agreement" (cosine and top-k, see
    # MIN_COSINE) or "" (failed)
    passed_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reference_shape"] = list(self.reference_shape)
        data["candidate_shape"] = list(self.candidate_shape)
        data["worst_index"] = list(self.worst_index)
        return data


@dataclass(frozen=True)
class Comparison:
    precision: str
    atol: float
    rtol: float
    outputs: tuple[OutputComparison, ...]
    missing: tuple[str, ...] = ()  # in the reference, not in the candidate
    extra: tuple[str, ...] = ()  # in the candidate only (ignored for pass/fail)

    @property
    def passed(self) -> bool:
        return not self.missing and all(o.passed for o in self.outputs)

    def summary(self) -> str:
        """One line for people."""
        if self.missing:
            return f"FAILED: the candidate lacks output(s) {', '.join(self.missing)}."
        worst = max(self.outputs, key=lambda o: o.max_abs, default=None)
        verdict = "PASSED" if self.passed else "FAILED"
        if worst is None:
            return f"{verdict}: nothing to compare."
        how = ""
        if self.passed and any(o.passed_by == "agreement" for o in self.outputs):
            how = f" by agreement (cosine >= {MIN_COSINE.get(self.precision, 1.0):g})"
        return (
            f"{verdict} at atol={self.atol:g}, rtol={self.rtol:g} ({self.precision}){how}: "
            f"worst output {worst.name!r} max abs error {worst.max_abs:.3g}, "
            f"cosine {worst.cosine:.6f}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "atol": self.atol,
            "rtol": self.rtol,
            "passed": self.passed,
            "summary": self.summary(),
            "missing": list(self.missing),
            "extra": list(self.extra),
            "outputs": [o.to_dict() for o in self.outputs],
        }


def tolerances(
    precision: str = "fp32", atol: float | None = None, rtol: float | None = None
) -> tuple[float, float]:
    key = str(precision).lower()  # a `Precision` is a str: its value
    if key not in DEFAULT_TOLERANCES:
        raise InferenceError(
            f"Unknown precision {precision!r}: use one of {', '.join(DEFAULT_TOLERANCES)}."
        )
    d_atol, d_rtol = DEFAULT_TOLERANCES[key]
    return (d_atol if atol is None else float(atol), d_rtol if rtol is None else float(rtol))


def compare_outputs(
    reference: Mapping[str, np.ndarray],
    candidate: Mapping[str, np.ndarray],
    precision: str = "fp32",
    atol: float | None = None,
    rtol: float | None = None,
    top_k: int = 5,
) -> Comparison:
    """Compare every reference output with the candidate's output of the same name."""
    atol_v, rtol_v = tolerances(precision, atol, rtol)
    results = []
    missing = tuple(n for n in reference if n not in candidate)
    extra = tuple(n for n in candidate if n not in reference)
    min_cosine = MIN_COSINE.get(str(precision).lower(), 1.0)
    for name, ref in reference.items():
        if name in candidate:
            results.append(
                compare_arrays(name, ref, candidate[name], atol_v, rtol_v, top_k, min_cosine)
            )
    return Comparison(
        precision=str(precision).lower(),
        atol=atol_v,
        rtol=rtol_v,
        outputs=tuple(results),
        missing=missing,
        extra=extra,
    )


def compare_arrays(
    name: str,
    reference: np.ndarray,
    candidate: np.ndarray,
    atol: float,
    rtol: float,
    k: int = 5,
    min_cosine: float | None = None,
) -> OutputComparison:
    """Compare one output. `min_cosine`: also pass an output outside atol/rtol whose cosine
    similarity reaches it and whose top-k agrees (None: element-wise only)."""
    ref_a = np.asarray(reference)
    cand_a = np.asarray(candidate)
    if ref_a.shape != cand_a.shape:
        # TensorRT may drop or add unit dimensions; compare when only those differ.
        if ref_a.size == cand_a.size and _squeezed(ref_a.shape) == _squeezed(cand_a.shape):
            cand_a = cand_a.reshape(ref_a.shape)
        else:
            return OutputComparison(
                name=name,
                passed=False,
                reference_shape=tuple(ref_a.shape),
                candidate_shape=tuple(cand_a.shape),
                max_abs=float("inf"),
                mean_abs=float("inf"),
                max_rel=float("inf"),
                mean_rel=float("inf"),
                cosine=0.0,
                mismatches=int(ref_a.size),
                elements=int(ref_a.size),
                message=f"shapes differ: reference {shape_text(ref_a.shape)}, "
                f"candidate {shape_text(np.asarray(candidate).shape)}",
            )
    ref = ref_a.astype(np.float64)
    cand = cand_a.astype(np.float64)
    n = int(ref.size)
    if n == 0:
        return OutputComparison(
            name, True, ref_a.shape, ref_a.shape, 0, 0, 0, 0, 1.0, 0, 0, passed_by="tolerance"
        )
    diff = np.abs(cand - ref)
    nan_mismatch = np.isnan(cand) != np.isnan(ref)
    diff = np.where(np.isnan(cand) & np.isnan(ref), 0.0, diff)  # NaN in both = agreement
    diff = np.where(nan_mismatch, np.inf, diff)
    abs_ref = np.abs(ref)
    nonzero = abs_ref > 0
    rel = np.divide(diff, abs_ref, out=np.zeros_like(diff), where=nonzero)
    bad = ~(diff <= atol + rtol * np.nan_to_num(abs_ref, nan=0.0))
    worst = np.unravel_index(int(np.argmax(np.nan_to_num(diff, nan=np.inf))), ref.shape)
    message = ""
    if nan_mismatch.any():
        message = f"{int(nan_mismatch.sum())} element(s) are NaN in only one of the two"
    elif np.isinf(cand).any() and not np.isinf(ref).any():
        message = "the candidate has infinite values"
    cosine = cosine_similarity(ref, cand)
    top = top_k_agreement(ref, cand, k) if _looks_like_scores(ref_a) else None
    passed_by = "" if bad.any() else "tolerance"
    agrees = top is None or (top.top1_within_noise == 1.0 and top.topk_overlap >= MIN_TOPK_OVERLAP)
    if not passed_by and not message and min_cosine is not None and cosine >= min_cosine and agrees:
        passed_by = "agreement"
        message = (
            f"{int(bad.sum())} of {n} element(s) outside atol/rtol, but cosine "
            f"{cosine:.6f} >= {min_cosine:g}" + (" and the same top-1" if top else "")
        )
    return OutputComparison(
        name=name,
        passed=bool(passed_by),
        reference_shape=tuple(ref_a.shape),
        candidate_shape=tuple(np.asarray(candidate).shape),
        max_abs=float(diff.max()),
        mean_abs=float(diff.mean()),
        max_rel=float(rel[nonzero].max()) if nonzero.any() else 0.0,
        mean_rel=float(rel[nonzero].mean()) if nonzero.any() else 0.0,
        cosine=cosine,
        mismatches=int(bad.sum()),
        elements=n,
        worst_index=tuple(int(i) for i in worst),
        top_k=top,
        message=message,
        passed_by=passed_by,
    )


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the angle between the flattened arrays (1.0 for two zero arrays)."""
    x = np.nan_to_num(np.asarray(a, np.float64).ravel())
    y = np.nan_to_num(np.asarray(b, np.float64).ravel())
    nx, ny = float(np.linalg.norm(x)), float(np.linalg.norm(y))
    if nx == 0.0 and ny == 0.0:
        return 1.0
    if nx == 0.0 or ny == 0.0:
        return 0.0
    return float(np.clip(np.dot(x, y) / (nx * ny), -1.0, 1.0))


def _looks_like_scores(a: np.ndarray) -> bool:
    """[C] or [N, C] with a few or more classes: logits or probabilities of a classifier."""
    return a.ndim in (1, 2) and a.shape[-1] >= 2 and np.issubdtype(a.dtype, np.floating)


def top_k_agreement(reference: np.ndarray, candidate: np.ndarray, k: int = 5) -> TopK:
    """Rows' best classes and top-k sets compared (last axis = classes)."""
    ref = np.atleast_2d(np.asarray(reference, np.float64))
    cand = np.atleast_2d(np.asarray(candidate, np.float64)).reshape(ref.shape)
    k = max(1, min(k, ref.shape[-1]))
    ref_top = np.argsort(-ref, axis=-1, kind="stable")[:, :k]
    cand_top = np.argsort(-cand, axis=-1, kind="stable")[:, :k]
    same = ref_top[:, 0] == cand_top[:, 0]
    top1 = float(np.mean(same))
    overlap = float(
        np.mean([len(set(r) & set(c)) / k for r, c in zip(ref_top, cand_top, strict=True)])
    )
    rows = np.arange(ref.shape[0])
    prob = _probabilities(ref)
    gap = prob[rows, ref_top[:, 0]] - prob[rows, cand_top[:, 0]]
    within = float(np.mean(same | (gap <= TIE_PROBABILITY)))
    return TopK(k=k, top1_agreement=top1, topk_overlap=overlap, top1_within_noise=within)


def _probabilities(scores: np.ndarray) -> np.ndarray:
    """Rows as probabilities: as they are when they already are (non-negative, summing to 1),
    else their softmax (logits)."""
    x: np.ndarray = np.nan_to_num(np.asarray(scores, np.float64))
    if (x >= 0).all() and np.allclose(x.sum(axis=-1), 1.0, atol=1e-3):
        return x
    e: np.ndarray = np.exp(x - x.max(axis=-1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out
