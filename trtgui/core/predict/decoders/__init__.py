"""Model outputs → a `Prediction` the GUI and the CLI render: `postprocess(outputs, ...)`.

One module per output convention, each registering its `Decoder` in `base` when imported
here. A new decoder is a new module and one name in the import below.
"""

from __future__ import annotations

from collections.abc import Sequence

from trtgui.core.errors import InferenceError
from trtgui.core.imaging import Letterbox
from trtgui.core.predict.decoders import (  # noqa: F401  (importing registers each decoder)
    classification,
    detection,
    raw,
    segmentation,
)
from trtgui.core.predict.decoders.base import (
    DEFAULT_IOU_THRESHOLD,
    Box,
    ClassScore,
    DecodeContext,
    Decoder,
    Outputs,
    OutputStats,
    Prediction,
    decode,
    decoders,
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
    "OutputStats",
    "Prediction",
    "decoders",
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
) -> Prediction:
    """Decode raw outputs (batch entry 0) into a `Prediction`.

    kind: None = guess from the shapes. threshold: detection score threshold (default 0.25)
    or probability-map threshold (default 0.3). objectness: YOLO outputs with a separate
    objectness column (YOLOv5/v7) — None = decide from the labels count or the column count.
    box_format: SSD boxes as "xyxy" or "yxyx" (TensorFlow) — None = decide from the names.
    """
    if not outputs:
        raise InferenceError("The model produced no outputs.")
    context = DecodeContext(
        letterbox=letterbox,
        labels=tuple(labels) if labels is not None else None,
        top_k=top_k,
        threshold=threshold,
        iou_threshold=iou_threshold,
        objectness=objectness,
        box_format=box_format,
        stats=raw.all_stats(outputs),
    )
    return decode(kind or guess_kind(outputs), outputs, context)
