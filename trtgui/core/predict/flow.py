"""One image through a model or engine: `run_prediction` → `PredictionReport`.

Owns the orchestration of a visual check: choose the runners (`runner_choice`), read what
the model says about itself (`model_facts`), preprocess, run, postprocess, and — when both
runners can run — compare TensorRT's outputs with ONNX Runtime's. Every step is timed. The
report is `report.PredictionReport`; the shipped demo's description is read by `demo`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from PIL import Image

from trtgui.core.errors import InferenceError
from trtgui.core.imaging import (
    PreprocessSpec,
    guess_preprocess,
    guess_preset,
    load_image,
    preprocess,
    resolve_spec,
)
from trtgui.core.predict.decoders import explain_kind, postprocess
from trtgui.core.predict.decoders.text import KIND as TEXT
from trtgui.core.predict.drawing import small_picture_note
from trtgui.core.predict.labels import builtin_class_labels, resolve_dictionary
from trtgui.core.predict.model_facts import (
    batched,
    check_input_size,
    chosen_labels,
    image_input,
    model_description,
    model_hints,
)
from trtgui.core.predict.report import PredictionReport, Timings
from trtgui.core.predict.runner_choice import model_files, open_runners, reference_comparison

# -- the entry point ------------------------------------------------------------------------


def run_prediction(
    model_or_engine: str | Path,
    image: str | Path | Image.Image,
    spec: PreprocessSpec | None = None,
    labels: str | Path | Sequence[str] | None = None,
    top_k: int = 5,
    threshold: float | None = None,
    kind: str | None = None,
    compare: bool = True,
    onnx_path: str | Path | None = None,
    providers: Sequence[str] | None = None,
) -> PredictionReport:
    """Run one image through an ONNX model or a TensorRT engine and decode the result.

    spec: None = guessed from the model (`guess_preprocess`); a given spec is still fitted
    to the input tensor's static size, layout and type. labels: a file, a list, or None to
    look beside the model and in its metadata. An engine runs with TensorRT when this machine
    can; otherwise its ONNX model (from the build record, or `onnx_path`) runs with ONNX
    Runtime. With `compare`, an engine that runs also runs through ONNX Runtime and the
    outputs are compared. Raises `InferenceError` (and the runners' errors).
    """
    model_path = _checked_model_path(model_or_engine)
    notes: list[str] = []
    t0 = time.perf_counter()
    picture, image_path = _picture(image)
    load_image_ms = _ms(t0)
    engine_path, onnx = model_files(model_path, onnx_path, notes)

    with ExitStack() as stack:
        t0 = time.perf_counter()
        runners = open_runners(stack, engine_path, onnx, compare, providers, notes)
        load_ms = _ms(t0)
        input_info = image_input(runners.main.input_infos)
        model_info = model_description(onnx, model_path, runners.main, notes)
        used = resolve_spec(
            guess_preprocess(model_info) if spec is None else spec,
            input_info.shape,
            input_info.dtype,
        )
        check_input_size(used, input_info)
        label_names, labels_source = chosen_labels(
            labels, model_path, onnx, model_info, used, notes
        )

        t0 = time.perf_counter()
        tensor, box = preprocess(picture, used)
        feed = batched(tensor, input_info.shape)
        preprocess_ms = _ms(t0)

        t0 = time.perf_counter()
        outputs = runners.main.run({input_info.name: feed})
        inference_ms = _ms(t0)

        comparison, reference_ms = reference_comparison(runners, engine_path, feed, outputs, notes)
        hints = model_hints(model_info, input_info.shape, labels)
        if (kind or explain_kind(outputs, hints).kind) == TEXT:
            # A recogniser's dictionary is read whole (its space line counts), and PaddleOCR
            # keeps it in the "character" metadata.
            label_names, labels_source = resolve_dictionary(
                labels, model_path, onnx, model_info.metadata
            )
        elif label_names is None:  # nothing chosen, nothing beside the model: ImageNet?
            label_names, labels_source = builtin_class_labels(outputs, kind)

        t0 = time.perf_counter()
        prediction = postprocess(
            outputs,
            box,
            kind=kind,
            labels=label_names,
            top_k=top_k,
            threshold=threshold,
            hints=hints,
            labels_source=labels_source,
        )
        postprocess_ms = _ms(t0)
    small = small_picture_note(picture.size, prediction)
    if small:
        notes.append(small)

    return PredictionReport(
        prediction=prediction,
        image=picture,
        image_path=image_path,
        model_path=model_path,
        onnx_path=onnx,
        engine_path=engine_path,
        runner=runners.name,
        runner_detail=runners.detail,
        spec=used,
        spec_guessed=spec is None,
        preset_reason=guess_preset(model_info).text() if spec is None else "",
        input_name=input_info.name,
        input_tensor=tensor,
        letterbox=box,
        outputs=outputs,
        timings=Timings(
            load_ms=load_ms + load_image_ms,
            preprocess_ms=preprocess_ms,
            inference_ms=inference_ms,
            postprocess_ms=postprocess_ms,
            reference_inference_ms=reference_ms,
        ),
        comparison=comparison,
        labels_source=labels_source,
        notes=tuple(notes) + prediction.notes,
    )


# -- the steps ------------------------------------------------------------------------------


def _checked_model_path(model_or_engine: str | Path) -> Path:
    path = Path(model_or_engine)
    if not path.exists():
        raise InferenceError(f"{path} does not exist: check the model or engine path.")
    if path.is_dir():
        raise InferenceError(f"{path} is a folder: choose an ONNX model or an engine file.")
    return path


def _picture(image: str | Path | Image.Image) -> tuple[Image.Image, Path | None]:
    """The RGB picture and the file it came from (None for a picture given in memory)."""
    if isinstance(image, Image.Image):
        return (image.convert("RGB") if image.mode != "RGB" else image), None
    return load_image(image), Path(image)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
