"""One image through a model or engine: `run_prediction` → `PredictionReport`.

Owns the orchestration of a visual check: choose the runner (TensorRT when an engine and a
usable GPU are present, otherwise ONNX Runtime on the ONNX model — for an engine, the one its
build record names), preprocess, run, postprocess, and — when both runners can run — compare
TensorRT's outputs with ONNX Runtime's. Every step is timed. Also reads the shipped demo's
description (`load_demo`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Annotated, Any, ClassVar

import numpy as np
from PIL import Image
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, ValidationError
from pydantic_core import PydanticCustomError

from trtgui.core.build.record import converted_model_precision, onnx_for_engine, read_record
from trtgui.core.engine.runners import OrtRunner, Runner
from trtgui.core.engine.trt_runner import TrtRunner
from trtgui.core.errors import BuildRecordError, InferenceError, TrtGuiError
from trtgui.core.imaging import (
    Letterbox,
    ModelLike,
    PreprocessSpec,
    describe_spec,
    get_preset,
    guess_preprocess,
    guess_preset,
    load_image,
    preprocess,
    resolve_spec,
    spec_from_dict,
)
from trtgui.core.imaging.spec import MAX_SIDE
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.paths import MODEL_SUFFIXES
from trtgui.core.predict.compare import Comparison, compare_outputs
from trtgui.core.predict.decoders import ModelHints, Prediction, explain_kind, postprocess
from trtgui.core.predict.decoders.text import KIND as TEXT
from trtgui.core.predict.drawing import small_picture_note
from trtgui.core.predict.labels import (
    Labels,
    builtin_class_labels,
    load_dictionary,
    names_problem,
    resolve_dictionary,
    resolve_labels,
)
from trtgui.core.reading import read_regular_text
from trtgui.core.schema import JsonProblem, finding, loads
from trtgui.core.shapes import shape_text
from trtgui.core.tensors import TensorSpec

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


def is_onnx(path: str | Path) -> bool:
    return Path(path).suffix.lower() in MODEL_SUFFIXES


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
    engine_path, onnx = _model_files(model_path, onnx_path, notes)

    with ExitStack() as stack:
        t0 = time.perf_counter()
        runners = _open_runners(stack, engine_path, onnx, compare, providers, notes)
        load_ms = _ms(t0)
        input_info = _image_input(runners.main.input_infos)
        model_info = _model_description(onnx, model_path, runners.main, notes)
        used = resolve_spec(
            guess_preprocess(model_info) if spec is None else spec,
            input_info.shape,
            input_info.dtype,
        )
        _check_input_size(used, input_info)
        label_names, labels_source = _chosen_labels(
            labels, model_path, onnx, model_info, used, notes
        )

        t0 = time.perf_counter()
        tensor, box = preprocess(picture, used)
        feed = _batched(tensor, input_info.shape)
        preprocess_ms = _ms(t0)

        t0 = time.perf_counter()
        outputs = runners.main.run({input_info.name: feed})
        inference_ms = _ms(t0)

        comparison, reference_ms = _reference_comparison(runners, engine_path, feed, outputs, notes)
        hints = _model_hints(model_info, input_info.shape, labels)
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


def _model_files(
    model_path: Path, onnx_path: str | Path | None, notes: list[str]
) -> tuple[Path | None, Path | None]:
    """(engine, ONNX model): an ONNX model is its own; an engine's is `onnx_path` or the one
    its build record names (a note says why there is none)."""
    if is_onnx(model_path):
        return None, model_path
    if onnx_path is not None:
        return model_path, Path(onnx_path)
    onnx, why = onnx_for_engine(model_path)
    if onnx is None:
        notes.append(f"no ONNX reference: {why}")
    return model_path, onnx


@dataclass(frozen=True)
class _Runners:
    """The runner whose outputs are decoded, and ONNX Runtime beside TensorRT as the
    comparison reference when both run."""

    main: Runner
    name: str  # TENSORRT or ONNX_RUNTIME
    detail: str
    reference: Runner | None = None


def _open_runners(
    stack: ExitStack,
    engine_path: Path | None,
    onnx: Path | None,
    compare: bool,
    providers: Sequence[str] | None,
    notes: list[str],
) -> _Runners:
    """TensorRT for an engine that runs here, ONNX Runtime for the ONNX model otherwise (and
    as the reference with `compare`). The stack closes them."""
    trt: Runner | None = None
    if engine_path is not None:
        trt, why_not = _open_trt(engine_path)
        if trt is None:
            if onnx is None:
                raise InferenceError(
                    f"The engine cannot run here ({why_not}) and no ONNX model is known for "
                    "it: pass the ONNX model instead (or --onnx).",
                    details=why_not,
                )
            # Named: the build record chose this file, and the user should see which it is.
            # The converted model when one was kept: what the engine was built from (#13).
            converted = converted_model_precision(engine_path, onnx)
            what = (
                f"the {converted} model the engine was built from ({onnx})"
                if converted
                else f"the ONNX model {onnx}"
            )
            notes.append(f"TensorRT not used: {why_not}; running {what} instead")
        else:
            stack.enter_context(trt)
    ort: OrtRunner | None = None
    if onnx is not None and (trt is None or compare):
        try:
            ort = stack.enter_context(OrtRunner(onnx, providers=providers))
        except TrtGuiError as err:
            if trt is None:
                raise
            notes.append(f"comparison skipped: ONNX Runtime cannot load the model ({err})")
    if trt is not None:
        # "TensorRT" alone, as reports have always said: the CUDA binding is no user's concern.
        return _Runners(main=trt, name=TENSORRT, detail=TENSORRT, reference=ort)
    if ort is None:  # unreachable: without an engine there is an ONNX model
        raise InferenceError("Nothing can run this model: choose an ONNX model or an engine.")
    return _Runners(main=ort, name=ONNX_RUNTIME, detail=ort.title)


def _open_trt(engine_path: Path) -> tuple[Runner | None, str]:
    """A TrtRunner for the engine, or None and why it cannot run here."""
    try:
        return TrtRunner(engine_path), ""
    except TrtGuiError as err:
        # A clause inside longer sentences ("TensorRT not used: …; running …"): no full stop.
        return None, err.message.strip().removesuffix(".")


def _image_input(infos: Sequence[TensorSpec]) -> TensorSpec:
    rank4 = [t for t in infos if t.shape is not None and len(t.shape) == 4]
    if not rank4:
        shapes = ", ".join(f"{t.name} {list(t.shape or [])}" for t in infos)
        raise InferenceError(
            "The model has no image input (a 4-D tensor such as 1x3xHxW): predict needs one.",
            details=f"inputs: {shapes}",
        )
    others = [t for t in infos if t is not rank4[0]]
    if others:
        raise InferenceError(
            f"The model needs more inputs than an image ({', '.join(t.name for t in others)}): "
            "predict feeds only one image tensor; use 'trtgui-cli run' with your own inputs.",
            details=f"image input: {rank4[0].name}",
        )
    return rank4[0]


def _check_input_size(spec: PreprocessSpec, tensor: TensorSpec) -> None:
    """A model whose image input is fixed larger than any tensor trtgui makes (a 1×3×100000×
    100000 input asked for 112 GiB): said in the model's terms, not as a preprocessing field
    the user never set."""
    if max(spec.height, spec.width) > MAX_SIDE:
        raise InferenceError(
            f"The model's image input {tensor.name!r} is {shape_text(tensor.shape)}, larger than "
            f"the images trtgui feeds (at most {MAX_SIDE} pixels a side): predict cannot run it.",
        )


@dataclass(frozen=True)
class _ShapesOnly:
    """A stand-in for ModelInfo when only a runner's I/O is known (an engine alone)."""

    path: Path
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    producer_name: str = ""
    graph_name: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


def _model_description(
    onnx: Path | None, model_path: Path, runner: Runner, notes: list[str]
) -> ModelLike:
    """The ONNX model's ModelInfo (names, metadata: the preprocessing guess reads them), or
    the runner's tensors alone when there is no readable ONNX model."""
    if onnx is not None:
        try:
            return inspect_onnx(onnx)
        except TrtGuiError as err:
            notes.append(f"model metadata unavailable: {err}")
    return _ShapesOnly(model_path, runner.input_infos, runner.output_infos)


def _chosen_labels(
    labels: str | Path | Sequence[str] | None,
    model_path: Path,
    onnx: Path | None,
    model_info: ModelLike,
    spec: PreprocessSpec,
    notes: list[str],
) -> Labels:
    """The user's labels, else those beside the model or its ONNX twin or in its metadata,
    else "text" for PaddleOCR's text detector (None: numbered, or ImageNet after the run).
    Metadata names that cannot be used are ignored with a note."""
    metadata = dict(model_info.metadata)
    found = resolve_labels(labels, model_path, metadata)
    if found[0] is None and onnx is not None and onnx != model_path:
        found = resolve_labels(None, onnx, metadata)
    if found[0] is None and names_problem(metadata):
        notes.append(names_problem(metadata))
    if found[0] is None and spec.preset == "paddleocr-det":
        found = ("text",), "preset"
    return found


def _model_hints(
    model_info: ModelLike,
    shape: Sequence[int | str | None] | None,
    labels: str | Path | Sequence[str] | None,
) -> ModelHints:
    """What the kind guess may read besides the outputs: metadata, ops, the image input's
    shape, the producer, and how many lines the user's labels have (each kept whole)."""
    if isinstance(labels, (str, Path)):
        count: int | None = len(load_dictionary(labels))
    else:
        count = len(labels) if labels is not None else None
    ops = getattr(model_info, "op_histogram", None) or {}  # an engine alone has none
    return ModelHints(
        metadata=dict(model_info.metadata),
        ops=frozenset(ops),
        input_shape=tuple(shape) if shape is not None else None,
        labels_count=count,
        producer=f"{model_info.producer_name} {model_info.graph_name}".strip(),
    )


def _batched(tensor: np.ndarray, shape: Sequence[int | str | None] | None) -> np.ndarray:
    """Repeat the one image when the engine or model has a fixed batch larger than 1."""
    if shape and isinstance(shape[0], int) and shape[0] > 1:
        return np.repeat(tensor, shape[0], axis=0)
    return tensor


def _reference_comparison(
    runners: _Runners,
    engine_path: Path | None,
    feed: np.ndarray,
    outputs: Mapping[str, np.ndarray],
    notes: list[str],
) -> tuple[Comparison | None, float | None]:
    """ONNX Runtime's run of the same tensor compared with TensorRT's outputs, and its time;
    (None, None) when no reference runs (a note says why it failed)."""
    reference = runners.reference
    if reference is None or engine_path is None:
        return None, None
    t0 = time.perf_counter()
    try:
        expected = reference.run({_image_input(reference.input_infos).name: feed})
    except TrtGuiError as err:
        notes.append(f"comparison skipped: ONNX Runtime failed ({err})")
        return None, None
    reference_ms = _ms(t0)
    try:
        precision = _engine_precision(engine_path)
        return compare_outputs(expected, outputs, precision=precision), reference_ms
    except TrtGuiError as err:
        notes.append(f"comparison failed: {err}")
        return None, reference_ms


def _engine_precision(engine_path: Path) -> str:
    """The precision the engine was built with (its build record's), for the tolerances;
    FP32's (the strictest) when the record is missing or unreadable."""
    try:
        record = read_record(engine_path)
    except BuildRecordError:
        record = None
    return str(record.precision.value) if record is not None else "fp32"


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


# -- the shipped demo -----------------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    """The demo in resources/demo: a model, its labels, its preprocessing and photos."""

    title: str
    model: Path
    labels: Path | None
    spec: PreprocessSpec
    images: tuple[Path, ...]
    expected: dict[str, str] = field(default_factory=dict)  # image file name -> top-1 label


def _in_folder(name: str) -> str:
    """A file named by demo.json: a plain name inside the demo's folder (a description should
    not send the demo to /etc/passwd or ../../elsewhere)."""
    path = PurePath(name)
    if not name or path.is_absolute() or ".." in path.parts:
        raise PydanticCustomError("not_in_folder", "not a file name in the demo's folder")
    return name


_DemoName = Annotated[StrictStr, AfterValidator(_in_folder)]
_NAME = "a file name in the demo's folder"


class DemoFile(BaseModel):
    """What demo.json may hold, each field with what it must be in words."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    WHAT: ClassVar[str] = 'an object with a "model" and "images"'

    title: StrictStr = Field("demo", description="a string")
    model: _DemoName = Field(description=_NAME)
    labels: _DemoName | None = Field(None, description=f"{_NAME} or null")
    preset: StrictStr | dict[str, Any] = Field(
        "imagenet",
        description='a preset name such as "imagenet" or an object of preprocessing settings',
    )
    images: list[_DemoName] = Field([], description="a list of file names in the demo's folder")
    expected: dict[StrictStr, StrictStr] = Field(
        {}, description="an object of image file names to the label each should get"
    )


def load_demo(folder: str | Path | None = None) -> Demo:
    """Read `folder`/demo.json (default: the shipped resources/demo), checked against
    `DemoFile`. Raises one InferenceError naming the problem when it is missing, unreadable,
    has a wrong field or names a file that is not there."""
    from trtgui.core.resources import resource_path

    shipped = resource_path("demo")
    root = shipped if folder is None else Path(folder)
    config = root / "demo.json"
    fix = "reinstall trtgui" if root == shipped else f"fix {config}"
    try:
        # A regular file within LIMITS["demo"]: a FIFO dropped as demo.json would block.
        data = loads(read_regular_text(config, "demo"))
    except InferenceError as exc:
        raise InferenceError(
            f"The demo is not available ({config} is missing or unreadable): {fix}.",
            details=str(exc),
        ) from exc
    except JsonProblem as exc:
        raise InferenceError(
            f"The demo description {config} is unreadable ({exc.short}): {fix}.",
            details=exc.details,
        ) from exc
    try:
        described = DemoFile.model_validate(data)
    except ValidationError as exc:
        found = finding(exc, DemoFile, data)
        raise InferenceError(
            f"The demo description {config} is malformed: {found.sentence}; {fix}.",
            details=str(exc),
        ) from exc
    try:
        preset = described.preset
        spec = spec_from_dict(preset) if isinstance(preset, dict) else get_preset(preset)
    except TrtGuiError as err:  # PreprocessError or an unknown preset name
        raise InferenceError(
            f"The demo description {config} has an unusable preset: "
            f"{err.message.removesuffix('.')}; {fix}.",
            details=err.details,
        ) from err
    model = root / described.model
    images = tuple(root / name for name in described.images)
    missing = [p for p in (model, *images) if not p.is_file()]
    if missing:
        raise InferenceError(
            f"The demo is incomplete ({missing[0].name} is missing): {fix}.",
            details="\n".join(str(p) for p in missing),
        )
    labels = root / described.labels if described.labels else None
    return Demo(
        title=described.title,
        model=model,
        labels=labels if labels is not None and labels.is_file() else None,
        spec=spec,
        images=images,
        expected=dict(described.expected),
    )
