"""The precision check: does the converted model (FP16, BF16, INT8) still say what the
original says? `check_conversion(sample) -> AccuracyReport` runs both ONNX files with ONNX
Runtime on the same inputs, decodes both with `predict`'s own decoders, and compares them in
the task's terms (thresholds: `trtgui.core.build.accuracy_record`):

- classification: top-1 agreement and top-5 overlap;
- detection (and faces): boxes matched at IoU ≥ 0.5 with the same class, as F1 against the
  original's boxes;
- text: exact-match rate of the lines and character error rate;
- probability maps and masks (segmentation, text regions): IoU of the thresholded maps;
- anything else: cosine similarity of each output, and max/mean relative error (the
  largest, and the mean, absolute difference over the original's largest, and mean,
  magnitude).

It lives in the predict stage because it uses the decoders; the builder gets it injected
(`build_engine(check_conversion=...)`) and never imports this module.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from trtgui.core.build.accuracy_record import (
    BROKEN,
    NOT_CHECKED,
    OK,
    AccuracyReport,
    ConversionSample,
    verdict_for,
)
from trtgui.core.engine.runners import OrtRunner
from trtgui.core.errors import TrtGuiError
from trtgui.core.imaging import PreprocessSpec, guess_preprocess, load_image, resolve_spec
from trtgui.core.imaging import preprocess as preprocess_image
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.model.qdq_writer import feed_digest
from trtgui.core.predict.decoders import ModelHints, Prediction, explain_kind, postprocess

# Pictures made up when the check has no images (FP16/BF16 without a calibration folder):
# seeded, so two builds of one model check the same inputs.
RANDOM_PICTURES = 4
RANDOM_SEED = 0
MATCH_IOU = 0.5
# Top-1 "agrees" when the converted model picks the original's top class, or a class the
# original scores within this much probability of it: a near-tie the FP32 model itself does
# not decide (EfficientNet-Lite0 on chelsea.png: tiger cat 0.379, tabby 0.375). The strict
# figure is kept beside it (`top1_identical`).
TIE_MARGIN = 0.01
MASK_THRESHOLD = 0.5  # when the decoder names none

_DETECTION_KINDS = ("detection", "faces")
_MAP_KINDS = ("segmentation", "text-regions")


@dataclass(frozen=True)
class _Pair:
    """One input's decoded predictions and raw outputs, original then converted."""

    name: str
    reference: Prediction
    candidate: Prediction
    ref_outputs: Mapping[str, np.ndarray]
    cand_outputs: Mapping[str, np.ndarray]


def check_conversion(sample: ConversionSample) -> AccuracyReport:
    """Compare the converted model with the original on `sample`'s inputs."""
    started = time.perf_counter()
    precision = sample.precision.upper()
    try:
        pairs, note = _run_pairs(sample)
    except _CannotRun as why:
        return AccuracyReport(
            verdict=NOT_CHECKED,
            reason=str(why),
            summary=f"The {precision} model could not be checked: {why}.",
            excluded_nodes=sample.excluded_nodes,
            seconds=time.perf_counter() - started,
        )
    report = compare_pairs(pairs, precision)
    return AccuracyReport(
        verdict=report.verdict,
        task=report.task,
        metrics=report.metrics,
        deciding_metric=report.deciding_metric,
        samples=len(pairs),
        samples_note=note,
        summary=report.summary,
        worst_images=report.worst_images,
        excluded_nodes=sample.excluded_nodes,
        seconds=time.perf_counter() - started,
    )


# The check runs beside TensorRT's build: ONNX Runtime's threads sleep between images instead
# of spinning on cores the build needs. (Every OrtRunner runs Q/DQ as the ONNX operators define
# them, which is what TensorRT computes: ONNX Runtime's default session fuses them into its own
# INT8 kernels, which on this project's CPU machines put EfficientNet-Lite0's INT8 logits at
# cosine 0.68-0.80 from the operators' arithmetic and made a good INT8 model look broken;
# TensorRT's engine of it on the H200 kept cosine 0.977-0.98 to FP32: runners.OrtRunner,
# tests/core/test_int8_writer.py, bench/results/gpu_int8_placement.json.)
CHECK_SESSION = {"session.intra_op.allow_spinning": "0"}


class _CannotRun(Exception):
    """ONNX Runtime cannot run one of the two models here; the message says why."""


def _run_pairs(sample: ConversionSample) -> tuple[list[_Pair], str]:
    info = inspect_onnx(sample.original)
    images = [t for t in info.inputs if t.shape is not None and len(t.shape) == 4]
    if len(info.inputs) != 1 or not images:
        raise _CannotRun("the check feeds one image input, and this model has other inputs")
    tensor = images[0]
    spec = sample.preprocess if isinstance(sample.preprocess, PreprocessSpec) else None
    used = resolve_spec(spec or guess_preprocess(info), tensor.shape, tensor.dtype)
    hints = ModelHints(
        metadata=dict(info.metadata),
        ops=frozenset(info.op_histogram or {}),
        input_shape=tensor.shape,
        producer=f"{info.producer_name} {info.graph_name}".strip(),
    )
    pictures = _pictures(sample, used)
    note = sample.images_note or (
        f"{len(pictures)} seeded random pictures" if not sample.images else ""
    )
    keys = [str(p) for p in sample.images] or [name for name, _ in pictures]
    with ExitStack() as stack:

        def open_model(path: Path, which: str) -> OrtRunner:
            try:
                return stack.enter_context(OrtRunner(path, session_config=CHECK_SESSION))
            except TrtGuiError as err:
                raise _CannotRun(f"the {which} model: {_why(err)}") from err

        candidate = open_model(sample.converted, "converted")
        reference: OrtRunner | None = None
        pairs = []
        kind: str | None = None
        for key, (name, picture) in zip(keys, pictures, strict=True):
            if sample.abandon is not None and sample.abandon.is_set():
                raise _CannotRun("the build stopped before the check ended")
            feed, box = preprocess_image(picture, used)
            feeds = {tensor.name: _batched(feed, tensor.shape)}
            # INT8: calibration ran the original on these very inputs; its outputs are reused.
            ref_out = _stored_reference(sample, key, feeds[tensor.name])
            if ref_out is None:
                reference = reference or open_model(sample.original, "original")
                ref_out = reference.run(feeds)
            try:
                cand_out = candidate.run(feeds)
            except TrtGuiError as err:
                raise _CannotRun(f"the converted model: {_why(err)}") from err
            # One kind for every image and both models: the original's, as `predict` guesses it.
            kind = kind or explain_kind(ref_out, hints).kind
            pairs.append(
                _Pair(
                    name,
                    postprocess(ref_out, box, kind=kind, hints=hints),
                    postprocess(cand_out, box, kind=kind, hints=hints),
                    ref_out,
                    cand_out,
                )
            )
    return pairs, note


def _stored_reference(
    sample: ConversionSample, key: str, feed: np.ndarray
) -> dict[str, np.ndarray] | None:
    """The original's outputs for `key` that calibration kept, when it fed exactly `feed`."""
    stored = sample.reference_outputs.get(key)
    if stored is None or stored[0] != feed_digest(feed):
        return None
    return dict(stored[1])


def _why(err: TrtGuiError) -> str:
    """The runner's one-line reason (it names ONNX Runtime and the file), capped."""
    lines = err.message.strip().splitlines()
    return (lines[0] if lines else type(err).__name__).removesuffix(".")[:300]


def _pictures(sample: ConversionSample, spec: PreprocessSpec) -> list[tuple[str, Image.Image]]:
    if sample.images:
        return [(p.name, load_image(p)) for p in sample.images]
    rng = np.random.default_rng(RANDOM_SEED)
    # Random pixels pass through the real preprocessing, so the inputs lie in its range.
    return [
        (
            f"random picture {i + 1}",
            Image.fromarray(
                rng.integers(0, 256, (spec.height, spec.width, 3), dtype=np.uint8), "RGB"
            ),
        )
        for i in range(RANDOM_PICTURES)
    ]


def _batched(tensor: np.ndarray, shape: Sequence[int | str | None] | None) -> np.ndarray:
    if shape and isinstance(shape[0], int) and shape[0] > 1:
        return np.repeat(tensor, shape[0], axis=0)
    return tensor


# -- the comparison ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    verdict: str
    task: str
    metrics: dict[str, float]
    deciding_metric: str
    summary: str
    worst_images: tuple[tuple[str, float], ...]


def compare_pairs(pairs: Sequence[_Pair], precision: str) -> Comparison:
    """The figures for the task of the pairs' predictions, and the verdict they give."""
    kind = pairs[0].reference.kind if pairs else ""
    n = len(pairs)
    images = f"{n} image{'s' if n != 1 else ''}"
    cosine, max_rel, mean_rel, per_image_cos = _output_figures(pairs)
    metrics: dict[str, float] = {
        "cosine_similarity": cosine,
        "max_relative_error": max_rel,
        "mean_relative_error": mean_rel,
    }
    if kind == "classification":
        agree = [_top1(p) for p in pairs]
        identical = [_top1(p, margin=0.0) for p in pairs]
        overlap = [_top5_overlap(p) for p in pairs]
        metrics["top1_agreement"] = float(np.mean(agree))
        metrics["top1_identical"] = float(np.mean(identical))
        metrics["top5_overlap"] = float(np.mean(overlap))
        deciding = "top1_agreement"
        ties = sum(agree) - sum(identical)
        tied = f", {ties} of them FP32 near-ties" if ties else ""
        summary = (
            f"{precision} agrees with the FP32 model's top-1 class on {sum(agree)} of {images} "
            f"({metrics['top1_agreement']:.2f}{tied}; top-5 overlap "
            f"{metrics['top5_overlap']:.2f})"
        )
        per_image = [float(a) + o for a, o in zip(agree, overlap, strict=True)]
    elif kind in _DETECTION_KINDS:
        counts = [_matched_boxes(p) for p in pairs]
        matched = sum(c[0] for c in counts)
        ref_total = sum(c[1] for c in counts)
        cand_total = sum(c[2] for c in counts)
        metrics["detection_f1"] = _f1(matched, ref_total, cand_total)
        metrics["reference_boxes"] = float(ref_total)
        metrics["converted_boxes"] = float(cand_total)
        deciding = "detection_f1"
        summary = (
            f"{precision} keeps {matched} of {ref_total} detections of the FP32 model on "
            f"{images} (F1 {metrics['detection_f1']:.2f})"
        )
        per_image = [_f1(*c) for c in counts]
    elif kind == "text":
        cer, exact, per_image = _text_figures(pairs)
        metrics["character_error_rate"] = cer
        metrics["exact_match_rate"] = exact
        deciding = "character_error_rate"
        summary = (
            f"{precision} reads the FP32 model's text with a character error rate of {cer:.3f} "
            f"on {images} (exact lines {exact:.2f})"
        )
        per_image = [-v for v in per_image]  # lower error is better: sort worst first below
    elif kind in _MAP_KINDS and all(p.reference.mask is not None for p in pairs):
        ious = [_mask_iou(p) for p in pairs]
        metrics["mask_iou"] = float(np.mean(ious))
        deciding = "mask_iou"
        summary = (
            f"{precision}'s thresholded maps overlap the FP32 model's with IoU "
            f"{metrics['mask_iou']:.3f} on {images}"
        )
        per_image = ious
    else:
        deciding = "cosine_similarity"
        summary = (
            f"{precision}'s outputs have cosine similarity {cosine:.4f} to the FP32 model's on "
            f"{images} (max relative error {max_rel:.2g})"
        )
        per_image = per_image_cos
    verdict = verdict_for(deciding, metrics[deciding]) if pairs else NOT_CHECKED
    order = sorted(range(n), key=lambda i: per_image[i])
    shown = per_image if deciding != "character_error_rate" else [-v for v in per_image]
    worst = tuple((pairs[i].name, shown[i]) for i in order[:3]) if verdict != OK else ()
    return Comparison(verdict, kind, metrics, deciding, summary, worst)


def _top1(pair: _Pair, margin: float = TIE_MARGIN) -> bool:
    """Whether the converted model's top class is the original's, or one the original scores
    within `margin` of its own top class (see TIE_MARGIN)."""
    ref, cand = pair.reference.classes, pair.candidate.classes
    if not (ref and cand):
        return False
    if ref[0].index == cand[0].index:
        return True
    scores = {c.index: c.score for c in ref}
    picked = scores.get(cand[0].index)
    return picked is not None and ref[0].score - picked < margin


def _top5_overlap(pair: _Pair) -> float:
    ref = {c.index for c in pair.reference.classes[:5]}
    cand = {c.index for c in pair.candidate.classes[:5]}
    return len(ref & cand) / len(ref) if ref else 1.0


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _matched_boxes(pair: _Pair) -> tuple[int, int, int]:
    """(matched, original's boxes, converted's boxes): greedy one-to-one matching, highest
    IoU first, same class, IoU ≥ 0.5."""
    ref = [(b.x1, b.y1, b.x2, b.y2, b.class_index) for b in pair.reference.boxes]
    cand = [(b.x1, b.y1, b.x2, b.y2, b.class_index) for b in pair.candidate.boxes]
    candidates = sorted(
        (
            (_iou(r[:4], c[:4]), i, j)
            for i, r in enumerate(ref)
            for j, c in enumerate(cand)
            if r[4] == c[4]
        ),
        reverse=True,
    )
    used_r: set[int] = set()
    used_c: set[int] = set()
    for iou, i, j in candidates:
        if iou < MATCH_IOU:
            break
        if i not in used_r and j not in used_c:
            used_r.add(i)
            used_c.add(j)
    return len(used_r), len(ref), len(cand)


def _f1(matched: int, ref_total: int, cand_total: int) -> float:
    """2·matched / (reference + converted boxes); 1.0 when neither found anything."""
    total = ref_total + cand_total
    return 1.0 if total == 0 else 2.0 * matched / total


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions each cost 1)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _text_figures(pairs: Sequence[_Pair]) -> tuple[float, float, list[float]]:
    """(character error rate over all lines, exact-match rate of lines, per-image CER)."""
    errors = chars = exact = lines = 0
    per_image: list[float] = []
    for pair in pairs:
        ref = [t.text for t in pair.reference.texts]
        cand = [t.text for t in pair.candidate.texts]
        cand += [""] * (len(ref) - len(cand))
        e = sum(edit_distance(r, c) for r, c in zip(ref, cand, strict=False))
        n = sum(len(r) for r in ref)
        errors, chars = errors + e, chars + n
        exact += sum(r == c for r, c in zip(ref, cand, strict=False))
        lines += len(ref)
        per_image.append(e / n if n else 0.0)
    return (errors / chars if chars else 0.0), (exact / lines if lines else 1.0), per_image


def _mask_iou(pair: _Pair) -> float:
    ref, cand = pair.reference.mask, pair.candidate.mask
    if ref is None or cand is None or ref.shape != cand.shape:
        return 0.0
    threshold = pair.reference.threshold or MASK_THRESHOLD
    a, b = ref >= threshold, cand >= threshold
    union = int(np.logical_or(a, b).sum())
    return 1.0 if union == 0 else int(np.logical_and(a, b).sum()) / union


def _output_figures(pairs: Sequence[_Pair]) -> tuple[float, float, float, list[float]]:
    """(worst cosine similarity of any output on any image, max relative error, mean
    relative error, each image's worst cosine)."""
    worst_cos, max_rel, mean_rels, per_image = 1.0, 0.0, [], []
    for pair in pairs:
        image_cos = 1.0
        for name, ref in pair.ref_outputs.items():
            a = np.asarray(ref, dtype=np.float64).ravel()
            b = np.asarray(pair.cand_outputs[name], dtype=np.float64).ravel()
            if a.shape != b.shape:
                image_cos = 0.0
                continue
            image_cos = min(image_cos, cosine(a, b))
            diff = np.abs(a - b)
            scale = float(np.abs(a).max()) if a.size else 0.0
            mean_scale = float(np.abs(a).mean()) if a.size else 0.0
            max_rel = max(max_rel, float(diff.max()) / scale if scale > 0 else float(diff.max()))
            mean_rels.append(float(diff.mean()) / mean_scale if mean_scale > 0 else 0.0)
        per_image.append(image_cos)
        worst_cos = min(worst_cos, image_cos)
    return worst_cos, max_rel, float(np.mean(mean_rels)) if mean_rels else 0.0, per_image


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity; 1.0 for two all-zero vectors (they agree), NaN counted as 0."""
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return 0.0
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


__all__ = ["BROKEN", "check_conversion", "compare_pairs", "cosine", "edit_distance"]
