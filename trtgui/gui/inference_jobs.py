"""The Inference panel's worker jobs and the records they hand to the GUI thread.

Everything slow — reading and decoding the file, drawing on a 24-megapixel photo (8.6 s for
PP-OCR text regions), scaling it for the screen, the preprocessed tensor, reading a build
record, inspecting a model — happens in these jobs, off the GUI thread; the panel
(`inference_panel.InferencePanel`) only places finished QImages and texts.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage

from trtgui.core import imaging
from trtgui.core.build.record import onnx_for_engine
from trtgui.core.errors import InferenceError, TrtGuiError
from trtgui.core.imaging import PreprocessSpec
from trtgui.core.model.onnx_model import ModelInfo, inspect_onnx
from trtgui.core.predict.flow import run_prediction
from trtgui.core.predict.labels import default_labels_source
from trtgui.core.predict.report import PredictionReport
from trtgui.core.predict.runner_choice import is_onnx
from trtgui.core.text import format_bytes
from trtgui.gui.image_view import display_image, pil_to_qimage
from trtgui.gui.inference_view import annotated_picture
from trtgui.gui.preprocess_form import summarise_tensor, tensor_preview
from trtgui.gui.workers import JobContext

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PredictionRequest:
    """What one Run needs; the worker body is `run_request(request)`."""

    model_path: Path
    image_path: Path
    spec: PreprocessSpec
    onnx_path: Path | None = None
    kind: str | None = None
    labels_path: Path | None = None
    top_k: int = 5
    threshold: float | None = None


def run_request(request: PredictionRequest) -> PredictionReport:
    """Worker body: `trtgui.core.predict.flow.run_prediction` with the request's settings."""
    return run_prediction(
        request.model_path,
        request.image_path,
        spec=request.spec,
        labels=request.labels_path,
        top_k=request.top_k,
        threshold=request.threshold,
        kind=request.kind,
        onnx_path=request.onnx_path,
    )


@dataclasses.dataclass(frozen=True)
class ShownPrediction:
    """A run's report and its annotated picture, drawn and scaled for the screen."""

    report: PredictionReport
    picture: QImage


def predict_and_draw(request: PredictionRequest) -> ShownPrediction:
    report = run_request(request)
    return ShownPrediction(report, display_image(annotated_picture(report)))


@dataclasses.dataclass(frozen=True)
class LoadedImage:
    path: Path
    image: Image.Image  # full size: what the tensor preview is made from
    preview: QImage  # at most DISPLAY_MAX_SIDE on its long side: what the view shows


def load_image_job(path: Path) -> Callable[[JobContext], LoadedImage]:
    def job(ctx: JobContext) -> LoadedImage:
        image = imaging.load_image(path)
        return LoadedImage(path, image, display_image(image))

    return job


@dataclasses.dataclass(frozen=True)
class TensorPreview:
    tensor: np.ndarray
    text: str  # shape, dtype, min, max, mean
    picture: QImage  # what the network sees, thumbnail-sized


# The preview makes the real tensor: refuse one this large before allocating it (a model
# input of 1x3x100000x100000 is 112 GiB of float32).
PREVIEW_MAX_BYTES = 1 << 30
THUMBNAIL_SIDE = 256


def tensor_bytes(image_size: tuple[int, int], spec: PreprocessSpec) -> tuple[int, int, int, int]:
    """(width, height, channels, bytes as float32) of the tensor `spec` makes of an image of
    `image_size`, computed without making it."""
    width, height = imaging.target_size(image_size, spec)
    channels = 1 if spec.channel_order == "GRAY" else 3
    return width, height, channels, width * height * channels * 4


def preview_job(image: Image.Image, spec: PreprocessSpec) -> Callable[[JobContext], TensorPreview]:
    def job(ctx: JobContext) -> TensorPreview:
        imaging.validate_spec(spec)
        width, height, channels, nbytes = tensor_bytes(image.size, spec)
        if nbytes > PREVIEW_MAX_BYTES:
            raise InferenceError(
                f"The input tensor would be {channels}×{height}×{width} "
                f"({format_bytes(nbytes)}), more than {format_bytes(PREVIEW_MAX_BYTES)}: "
                "choose a smaller width and height."
            )
        tensor, _ = imaging.preprocess(image, spec)
        picture = tensor_preview(tensor, spec)
        picture.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BILINEAR)
        return TensorPreview(tensor, summarise_tensor(tensor).text(), pil_to_qimage(picture))

    return job


@dataclasses.dataclass(frozen=True)
class ModelChoice:
    """What the panel needs to know about a model or engine before a run: its ONNX twin,
    the twin's ModelInfo (for the preprocessing guess) and where labels come from."""

    path: Path
    onnx_path: Path | None
    info: ModelInfo | None
    labels_source: str


def model_job(
    path: Path, onnx_path: Path | None, info: ModelInfo | None
) -> Callable[[JobContext], ModelChoice]:
    def job(ctx: JobContext) -> ModelChoice:
        onnx = onnx_path
        if onnx is None and not is_onnx(path):
            onnx, _why = onnx_for_engine(path)  # reads the build record
        source = path if is_onnx(path) else onnx
        model = info
        if model is None and source is not None and source.is_file():
            try:
                model = inspect_onnx(source)
            except TrtGuiError as exc:  # the run will report it; the guess is only a start
                log.warning("could not inspect %s for the preprocessing guess: %s", source, exc)
        return ModelChoice(path, onnx, model, default_labels_source(path, model, onnx))

    return job
