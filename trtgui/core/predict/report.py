"""What one prediction produced: `PredictionReport` with its `Timings`, for the GUI and the
CLI to render (the flow that fills it is `trtgui.core.predict.flow`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from trtgui.core.imaging import Letterbox, PreprocessSpec, describe_spec
from trtgui.core.predict.compare import Comparison
from trtgui.core.predict.decoders import Prediction

TENSORRT = "TensorRT"
ONNX_RUNTIME = "ONNX Runtime"


@dataclass(frozen=True)
class Timings:
    """Milliseconds per step; `reference_inference_ms` is ONNX Runtime's run when it ran as
    the comparison reference beside TensorRT."""

    load_ms: float = 0.0  # creating the runner(s): session / engine deserialisation
    preprocess_ms: float = 0.0
    inference_ms: float = 0.0
    postprocess_ms: float = 0.0
    reference_inference_ms: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {
            "load_ms": self.load_ms,
            "preprocess_ms": self.preprocess_ms,
            "inference_ms": self.inference_ms,
            "postprocess_ms": self.postprocess_ms,
            "reference_inference_ms": self.reference_inference_ms,
        }


@dataclass(frozen=True, eq=False)
class PredictionReport:
    """Everything one prediction produced, for the GUI and the CLI to render."""

    prediction: Prediction
    image: Image.Image  # the original picture, RGB, EXIF-rotated
    image_path: Path | None
    model_path: Path  # what the user gave: an ONNX model or an engine
    onnx_path: Path | None
    engine_path: Path | None
    runner: str  # TENSORRT or ONNX_RUNTIME
    runner_detail: str  # e.g. the ONNX Runtime providers
    spec: PreprocessSpec
    spec_guessed: bool
    input_name: str
    input_tensor: np.ndarray
    letterbox: Letterbox
    outputs: dict[str, np.ndarray]
    timings: Timings
    comparison: Comparison | None = None
    labels_source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    preset_reason: str = ""  # why the guessed preset was picked (empty when a spec was given)

    def annotated(self) -> Image.Image:
        """The picture with the prediction drawn on it."""
        from trtgui.core.predict.drawing import draw_prediction

        return draw_prediction(self.image, self.prediction)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": str(self.model_path),
            "onnx": str(self.onnx_path) if self.onnx_path else None,
            "engine": str(self.engine_path) if self.engine_path else None,
            "image": str(self.image_path) if self.image_path else None,
            "image_size": [self.image.width, self.image.height],
            "runner": self.runner,
            "runner_detail": self.runner_detail,
            "preprocess": {
                "preset": self.spec.preset,
                "guessed": self.spec_guessed,
                "reason": self.preset_reason or None,
                "description": describe_spec(self.spec),
                "input": self.input_name,
                "shape": list(self.input_tensor.shape),
                "dtype": str(self.input_tensor.dtype),
            },
            "labels": self.labels_source or None,
            "prediction": self.prediction.to_dict(),
            "timings_ms": self.timings.to_dict(),
            "comparison": self.comparison.to_dict() if self.comparison is not None else None,
            "notes": list(self.notes),
        }
