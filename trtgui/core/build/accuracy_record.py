"""The precision check's records: what a conversion check is given and what it answers.

The check itself compares outputs with the same decoding as `predict`, so it lives in the
predict stage (`trtgui.core.predict.accuracy`); the build stage below it only defines the
seam: `build_engine(..., check_conversion=fn)` calls `fn(ConversionSample)` after converting
the model, beside TensorRT's build and before anything is written (`accuracy_step`), and
keeps the `AccuracyReport` in the build record.

Verdict thresholds, one table (the README copies it). A metric is "higher is better" unless
marked "lower": ok when it reaches the first figure, degraded when it reaches the second,
broken otherwise.

| task           | metric              | ok       | degraded |
|----------------|---------------------|----------|----------|
| classification | top-1 agreement     | ≥ 0.99   | ≥ 0.90   |
| detection      | F1 of matched boxes | ≥ 0.90   | ≥ 0.70   |
| text           | character error rate (lower) | ≤ 0.02 | ≤ 0.10 |
| maps and masks | IoU of the thresholded map | ≥ 0.95 | ≥ 0.80 |
| anything else  | cosine similarity   | ≥ 0.999  | ≥ 0.99   |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trtgui.core.errors import EngineBuildError

# Re-exported: the check's images are the ones calibration held back.
from trtgui.core.model.int8 import held_back as held_back

OK = "ok"
DEGRADED = "degraded"
BROKEN = "broken"
NOT_CHECKED = "not checked"
VERDICTS = (OK, DEGRADED, BROKEN, NOT_CHECKED)

# metric name → (ok threshold, degraded threshold, higher is better): the table above.
THRESHOLDS: Mapping[str, tuple[float, float, bool]] = {
    "top1_agreement": (0.99, 0.90, True),
    "detection_f1": (0.90, 0.70, True),
    "character_error_rate": (0.02, 0.10, False),
    "mask_iou": (0.95, 0.80, True),
    "cosine_similarity": (0.999, 0.99, True),
}


def verdict_for(metric: str, value: float) -> str:
    """ok / degraded / broken for `value` of the deciding `metric` (the table above)."""
    ok, degraded, higher = THRESHOLDS[metric]
    if higher:
        return OK if value >= ok else DEGRADED if value >= degraded else BROKEN
    return OK if value <= ok else DEGRADED if value <= degraded else BROKEN


@dataclass(frozen=True)
class ConversionSample:
    """What the check needs: both models, the precision, and the inputs to compare on.

    images: pictures to run (INT8: those held back from calibration, or all of them when there
    are few; FP16/BF16: the calibration folder's). Empty = seeded random pictures.
    preprocess: the preprocessing the build used (a `PreprocessSpec`), or None to guess it.
    """

    original: Path
    converted: Path
    precision: str  # "fp16", "bf16", "int8"
    images: tuple[Path, ...] = ()
    images_note: str = ""  # "8 images held back from calibration", "all 5 images (few)"
    preprocess: Any = None
    excluded_nodes: tuple[str, ...] = ()  # left in float by the quantizer
    # The original's outputs that INT8 calibration computed on these images: image path ->
    # (digest of the feed, outputs by name). Reused when the check feeds the same input.
    reference_outputs: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    # Set when the build no longer wants the answer (cancelled, or TensorRT failed): the
    # check stops before its next input (a threading.Event).
    abandon: Any = None


@dataclass(frozen=True)
class RetryAttempt:
    """One automatic retry of a broken INT8 conversion: the model quantized again with more
    nodes kept in float, and checked again. Reported, never built: the engine the user asked
    for was refused, and a different one is theirs to choose (`flags` rebuilds it)."""

    what: str  # "the 16 nodes after the last Conv", in words
    kept_float: tuple[str, ...]  # the nodes this attempt added to the float ones
    patterns: tuple[str, ...]  # every --int8-exclude pattern that reproduces it
    verdict: str
    deciding_metric: str = ""
    value: float = 0.0
    summary: str = ""
    seconds: float = 0.0

    @property
    def helped(self) -> bool:
        return self.verdict in (OK, DEGRADED)

    @property
    def flags(self) -> str:
        """The command-line options that give this attempt's model, ready to paste."""
        import shlex

        return " ".join(f"--int8-exclude {shlex.quote(p)}" for p in self.patterns)

    @property
    def figure(self) -> str:
        """The deciding figure in words: "F1 0.97", "top-1 agreement 0.80"."""
        return f"{FIGURE_WORDS.get(self.deciding_metric, self.deciding_metric)} {self.value:.2f}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "kept_float": list(self.kept_float),
            "patterns": list(self.patterns),
            "verdict": self.verdict,
            "deciding_metric": self.deciding_metric,
            "value": round(float(self.value), 6),
            "summary": self.summary,
            "seconds": round(self.seconds, 4),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetryAttempt:
        verdict = str(data.get("verdict", NOT_CHECKED))
        return cls(
            what=str(data.get("what", "")),
            kept_float=tuple(str(n) for n in data.get("kept_float") or ()),
            patterns=tuple(str(n) for n in data.get("patterns") or ()),
            verdict=verdict if verdict in VERDICTS else NOT_CHECKED,
            deciding_metric=str(data.get("deciding_metric", "")),
            value=float(data.get("value", 0.0)),
            summary=str(data.get("summary", "")),
            seconds=float(data.get("seconds", 0.0)),
        )


@dataclass(frozen=True)
class AccuracyReport:
    """The precision check's answer, as the build record keeps it under `accuracy`."""

    verdict: str  # one of VERDICTS
    task: str = ""  # the decoder kind compared on ("classification", "detection", ...)
    metrics: Mapping[str, float] = field(default_factory=dict)
    deciding_metric: str = ""  # the metric the verdict is read from (a THRESHOLDS key)
    samples: int = 0
    samples_note: str = ""
    summary: str = ""  # one line in words ("top-1 agrees on 8 of 8 images (1.00)")
    reason: str = ""  # why the check could not run (verdict "not checked")
    worst_images: tuple[tuple[str, float], ...] = ()  # (image, its figure), worst first
    excluded_nodes: tuple[str, ...] = ()
    accepted_loss: bool = False  # built anyway with --accept-accuracy-loss
    seconds: float = 0.0
    # INT8 found broken: what the automatic retries kept in float, and what they gave.
    retries: tuple[RetryAttempt, ...] = ()

    @property
    def fix(self) -> RetryAttempt | None:
        """The first retry that made the conversion ok or degraded, if one did."""
        return next((r for r in self.retries if r.helped), None)

    @property
    def broken(self) -> bool:
        return self.verdict == BROKEN

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "task": self.task,
            "metrics": {k: round(float(v), 6) for k, v in self.metrics.items()},
            "deciding_metric": self.deciding_metric,
            "samples": self.samples,
            "samples_note": self.samples_note,
            "summary": self.summary,
            "reason": self.reason,
            "worst_images": [[name, round(float(v), 6)] for name, v in self.worst_images],
            "excluded_nodes": list(self.excluded_nodes),
            "accepted_loss": self.accepted_loss,
            "seconds": round(self.seconds, 4),
            "retries": [r.to_dict() for r in self.retries],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccuracyReport:
        """Read back what `to_dict` wrote (a record's `accuracy`); unknown keys are ignored."""
        verdict = str(data.get("verdict", NOT_CHECKED))
        return cls(
            verdict=verdict if verdict in VERDICTS else NOT_CHECKED,
            task=str(data.get("task", "")),
            metrics={str(k): float(v) for k, v in dict(data.get("metrics") or {}).items()},
            deciding_metric=str(data.get("deciding_metric", "")),
            samples=int(data.get("samples", 0)),
            samples_note=str(data.get("samples_note", "")),
            summary=str(data.get("summary", "")),
            reason=str(data.get("reason", "")),
            worst_images=tuple(
                (str(item[0]), float(item[1])) for item in data.get("worst_images") or ()
            ),
            excluded_nodes=tuple(str(n) for n in data.get("excluded_nodes") or ()),
            accepted_loss=bool(data.get("accepted_loss", False)),
            seconds=float(data.get("seconds", 0.0)),
            retries=tuple(RetryAttempt.from_dict(r) for r in data.get("retries") or ()),
        )


class ConversionRejected(EngineBuildError):
    """The precision check found the converted model broken: no engine was written.
    `report` holds the figures, for the Build result view's Precision check card."""

    def __init__(self, message: str, report: AccuracyReport, details: str = "") -> None:
        super().__init__(message, details)
        self.report = report


# Metric keys in words, for the CLI and the Precision check card.
METRIC_TITLES: Mapping[str, str] = {
    "top1_agreement": "Top-1 agreement",
    "top1_identical": "Top-1 identical (near-ties not counted)",
    "top5_overlap": "Top-5 overlap",
    "detection_f1": "Detections kept (F1)",
    "reference_boxes": "Boxes of the FP32 model",
    "converted_boxes": "Boxes of the converted model",
    "character_error_rate": "Character error rate",
    "exact_match_rate": "Lines read exactly",
    "mask_iou": "Map overlap (IoU)",
    "cosine_similarity": "Cosine similarity (worst output)",
    "max_relative_error": "Max relative error",
    "mean_relative_error": "Mean relative error",
}


# The deciding figures as a message names them ("F1 0.97").
FIGURE_WORDS: Mapping[str, str] = {
    "top1_agreement": "top-1 agreement",
    "detection_f1": "F1",
    "character_error_rate": "character error rate",
    "mask_iou": "map IoU",
    "cosine_similarity": "cosine similarity",
}


# The seam the builder calls; the CLI and the GUI worker pass `predict.accuracy.check_conversion`.
ConversionCheck = Callable[[ConversionSample], AccuracyReport]
