"""The precision check's records: what a conversion check is given and what it answers.

The check itself compares outputs with the same decoding as `predict`, so it lives in the
predict stage (`trtgui.core.predict.accuracy`); the build stage below it only defines the
seam: `build_engine(..., check_conversion=fn)` calls `fn(ConversionSample)` after converting
the model and before TensorRT builds, and keeps the `AccuracyReport` in the build record.

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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trtgui.core.errors import EngineBuildError

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


# The seam the builder calls; the CLI and the GUI worker pass `predict.accuracy.check_conversion`.
ConversionCheck = Callable[[ConversionSample], AccuracyReport]


def held_back(images: Sequence[Path], few: int = 8) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """(calibration images, check images): every fourth image is held back from calibration;
    with `few` images or fewer all of them serve both (too few to split)."""
    ordered = tuple(images)
    if len(ordered) <= few:
        return ordered, ordered
    check = ordered[3::4]
    return tuple(p for p in ordered if p not in check), check
