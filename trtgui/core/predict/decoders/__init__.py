"""Model outputs → a `Prediction` the GUI and the CLI render: `postprocess(outputs, ...)`.

One module per output convention, each registering its `Decoder` in `base` when imported
here. A new decoder is a new module and one name in the import below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from trtgui.core.errors import InferenceError
from trtgui.core.imaging import Letterbox
from trtgui.core.predict.decoders import (  # noqa: F401  (importing registers each decoder)
    classification,
    detection,
    faces,
    keypoints,
    raw,
    segmentation,
    text,
    text_regions,
)
from trtgui.core.predict.decoders.base import (
    DEFAULT_IOU_THRESHOLD,
    Box,
    ClassScore,
    DecodeContext,
    Decoder,
    KindGuess,
    ModelHints,
    Outputs,
    OutputStats,
    Prediction,
    TextLine,
    decode,
    decoders,
    explain_kind,
    guess_kind,
    kinds,
    register,
    unnamed_label,
)

__all__ = [
    "Box",
    "ClassScore",
    "DecodeContext",
    "Decoder",
    "KindGuess",
    "ModelHints",
    "OutputStats",
    "Prediction",
    "TextLine",
    "decoders",
    "explain_kind",
    "guess_kind",
    "kinds",
    "postprocess",
    "register",
    "unnamed_label",
]


def postprocess(
    outputs: Outputs,
    letterbox: Letterbox | None = None,
    *,
    kind: str | None = None,
    labels: Sequence[str] | None = None,
    top_k: int = 5,
    threshold: float | None = None,
    iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    objectness: bool | None = None,
    box_format: str | None = None,
    class_agnostic: bool = False,
    hints: ModelHints | None = None,
    labels_source: str = "",
) -> Prediction:
    """Decode raw outputs (batch entry 0) into a `Prediction`.

    kind: None = guess from the shapes. threshold: detection score threshold (default 0.25)
    or probability-map threshold (default 0.3). objectness: YOLO outputs with a separate
    objectness column (YOLOv5/v7) — None = decide from the labels count or the column count.
    box_format: SSD boxes as "xyxy" or "yxyx" (TensorFlow), "yolox" for a raw YOLOX grid —
    None = decide from the names and shapes. class_agnostic: detections' NMS across classes.
    hints: what else is known of the model, for the guess (`explain_kind`); labels_source:
    where `labels` came from, for the decoders' messages. The prediction's `kind_reason`
    says why its kind was used.
    """
    if not outputs:
        raise InferenceError("The model produced no outputs.")
    context = DecodeContext(
        letterbox=letterbox,
        labels=tuple(labels) if labels is not None else None,
        labels_source=labels_source,
        top_k=top_k,
        threshold=threshold,
        iou_threshold=iou_threshold,
        objectness=objectness,
        box_format=box_format,
        class_agnostic=class_agnostic,
        stats=raw.all_stats(outputs),
    )
    guess = explain_kind(outputs, hints) if kind is None else KindGuess(kind, f"{kind}: chosen")
    prediction = decode(guess.kind, outputs, context)
    return replace(prediction, kind_reason=prediction.kind_reason or guess.reason)
