"""One image through a model or engine: `run_prediction` → `PredictionReport`.

Owns the orchestration of a visual check: choose the runner (TensorRT when an engine and a
usable GPU are present, otherwise ONNX Runtime on the ONNX model — for an engine, the one its
build record names), preprocess, run, postprocess, and — when both runners can run — compare
TensorRT's outputs with ONNX Runtime's. Every step is timed.
"""

from __future__ import annotations

import ast
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from trtgui.core.build.settings import PreprocessSpec
from trtgui.core.errors import InferenceError, TrtGuiError
from trtgui.core.imaging import (
    Letterbox,
    describe_spec,
    guess_preprocess,
    load_image,
    preprocess,
    resolve_spec,
)
from trtgui.core.predict.postprocess import (
    IMAGENET_LABELS_SOURCE,
    Prediction,
    builtin_class_labels,
    class_count,
    is_imagenet_count,
    load_labels,
    postprocess,
)

log = logging.getLogger(__name__)

ONNX_SUFFIXES = (".onnx",)
LABEL_FILE_NAMES = ("labels.txt", "classes.txt")


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
    runner: str  # "TensorRT" or "ONNX Runtime"
    runner_detail: str  # e.g. the ONNX Runtime providers or the TensorRT backend
    spec: PreprocessSpec
    spec_guessed: bool
    input_name: str
    input_tensor: np.ndarray
    letterbox: Letterbox
    outputs: dict[str, np.ndarray]
    timings: Timings
    comparison: Any | None = None  # trtgui.core.predict.compare.Comparison
    labels_source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def annotated(self) -> Image.Image:
        """The picture with the prediction drawn on it."""
        from trtgui.core.predict.drawing import draw_prediction

        return draw_prediction(self.image, self.prediction)

    def to_dict(self) -> dict[str, Any]:
        comparison: Any = None
        if self.comparison is not None:
            to_dict = getattr(self.comparison, "to_dict", None)
            comparison = to_dict() if callable(to_dict) else str(self.comparison)
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
                "description": describe_spec(self.spec),
                "input": self.input_name,
                "shape": list(self.input_tensor.shape),
                "dtype": str(self.input_tensor.dtype),
            },
            "labels": self.labels_source or None,
            "prediction": self.prediction.to_dict(),
            "timings_ms": self.timings.to_dict(),
            "comparison": comparison,
            "notes": list(self.notes),
        }


# -- helpers --------------------------------------------------------------------------------


def is_onnx(path: str | Path) -> bool:
    return Path(path).suffix.lower() in ONNX_SUFFIXES


def onnx_for_engine(engine_path: str | Path) -> tuple[Path | None, str]:
    """The ONNX model an engine was built from (its build record's "onnx_path"), or None and
    the reason. Relative paths are taken from the engine's folder."""
    from trtgui.core.engine.plan import read_sidecar

    data, problem = read_sidecar(engine_path)
    if data is None:
        return None, problem or "the engine has no build record (.json) naming its ONNX model"
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    raw = data.get("onnx_path") or (settings or {}).get("onnx_path")
    if not raw:
        return None, "the engine's build record names no ONNX model"
    p = Path(str(raw))
    if not p.is_absolute():
        p = Path(engine_path).resolve().parent / p
    if not p.is_file():
        return None, f"the ONNX model the engine was built from is gone: {p}"
    return p, ""


def _engine_precision(engine_path: Path) -> str:
    from trtgui.core.engine.plan import read_sidecar

    data, _ = read_sidecar(engine_path)
    if not data:
        return "fp32"
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    value = data.get("precision") or (settings or {}).get("precision") or "fp32"
    return str(value).lower()


def find_labels(
    model_path: Path, metadata: Mapping[str, str] | None = None
) -> tuple[tuple[str, ...] | None, str]:
    """Labels for a model when the user gave none: `<model>.labels.txt` or `labels.txt`
    beside it, else a "names" metadata entry (Ultralytics writes a dict literal there)."""
    for candidate in (
        model_path.with_name(model_path.stem + ".labels.txt"),
        *(model_path.with_name(n) for n in LABEL_FILE_NAMES),
    ):
        if candidate.is_file():
            return load_labels(candidate), str(candidate)
    names = (metadata or {}).get("names")
    if names:
        try:
            value = ast.literal_eval(names)
        except (ValueError, SyntaxError) as exc:
            log.debug("unreadable 'names' metadata: %s", exc)
            return None, ""
        if isinstance(value, dict):
            items = sorted((int(k), str(v)) for k, v in value.items())
            return tuple(v for _, v in items), "model metadata"
        if isinstance(value, (list, tuple)):
            return tuple(str(v) for v in value), "model metadata"
    return None, ""


def _resolve_labels(
    labels: str | Path | Sequence[str] | None,
    model_path: Path,
    metadata: Mapping[str, str] | None,
) -> tuple[tuple[str, ...] | None, str]:
    if labels is None:
        return find_labels(model_path, metadata)
    if isinstance(labels, (str, Path)):
        return load_labels(labels), str(labels)
    return tuple(labels), "given"


def default_labels_source(
    model_path: str | Path, model_info: Any = None, onnx_path: str | Path | None = None
) -> str:
    """Where a run takes class names from when the user gives none, said before it runs:
    a labels file's path or "model metadata" (`find_labels`, beside the model, then beside
    its ONNX twin), IMAGENET_LABELS_SOURCE for a 1000-class output, or "" (numbered).

    `model_info` is the ONNX model's ModelInfo (its metadata and output shapes). Never raises:
    an unreadable labels file is reported by the run itself.
    """
    metadata = dict(getattr(model_info, "metadata", None) or {})
    for path in dict.fromkeys(Path(p) for p in (model_path, onnx_path) if p is not None):
        try:
            names, source = find_labels(path, metadata)
        except TrtGuiError:
            return ""
        if names is not None:
            return source
    outputs = getattr(model_info, "outputs", None) or ()
    if any(is_imagenet_count(class_count(getattr(t, "shape", None))) for t in outputs):
        return IMAGENET_LABELS_SOURCE
    return ""


@dataclass(frozen=True)
class _Io:
    name: str
    dtype: str
    shape: tuple[int | str | None, ...] | None


@dataclass(frozen=True)
class _ShapesOnly:
    """A stand-in for ModelInfo when only a runner's I/O is known (an engine alone)."""

    path: Path
    inputs: tuple[Any, ...]
    outputs: tuple[Any, ...]
    producer_name: str = ""
    graph_name: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


def _image_input(infos: Sequence[Any]) -> Any:
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


def _batched(tensor: np.ndarray, shape: Sequence[int | str | None] | None) -> np.ndarray:
    """Repeat the one image when the engine or model has a fixed batch larger than 1."""
    if shape and isinstance(shape[0], int) and shape[0] > 1:
        return np.repeat(tensor, shape[0], axis=0)
    return tensor


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


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
    model_path = Path(model_or_engine)
    if not model_path.exists():
        raise InferenceError(f"{model_path} does not exist: check the model or engine path.")
    if model_path.is_dir():
        raise InferenceError(f"{model_path} is a folder: choose an ONNX model or an engine file.")
    notes: list[str] = []
    t0 = time.perf_counter()
    if isinstance(image, Image.Image):
        picture, image_path = (image.convert("RGB") if image.mode != "RGB" else image), None
    else:
        picture, image_path = load_image(image), Path(image)
    load_image_ms = _ms(t0)

    engine_path: Path | None = None
    onnx: Path | None = None
    if is_onnx(model_path):
        onnx = model_path
    else:
        engine_path = model_path
        if onnx_path is not None:
            onnx = Path(onnx_path)
        else:
            onnx, why = onnx_for_engine(engine_path)
            if onnx is None:
                notes.append(f"no ONNX reference: {why}")

    from trtgui.core.engine.runners import OrtRunner

    t0 = time.perf_counter()
    trt_runner: Any = None
    if engine_path is not None:
        trt_runner, why_not = _open_trt(engine_path)
        if trt_runner is None:
            if onnx is None:
                raise InferenceError(
                    f"The engine cannot run here ({why_not}) and no ONNX model is known for "
                    "it: pass the ONNX model instead (or --onnx).",
                    details=why_not,
                )
            notes.append(f"TensorRT not used: {why_not}; running the ONNX model instead")
    ort_runner: Any = None
    try:
        if onnx is not None and (trt_runner is None or compare):
            try:
                ort_runner = OrtRunner(onnx, providers=providers)
            except TrtGuiError as err:
                if trt_runner is None:
                    raise
                notes.append(f"comparison skipped: ONNX Runtime cannot load the model ({err})")
        load_ms = _ms(t0)
        main = trt_runner if trt_runner is not None else ort_runner
        runner_name = "TensorRT" if trt_runner is not None else "ONNX Runtime"
        runner_detail = _runner_detail(main, runner_name)
        input_info = _image_input(main.input_infos)

        metadata: dict[str, str] = {}
        model_info: Any = None
        if onnx is not None:
            model_info, metadata = _inspect(onnx, notes)
        if model_info is None:
            model_info = _ShapesOnly(
                model_path,
                tuple(_Io(t.name, t.dtype, t.shape) for t in main.input_infos),
                tuple(_Io(t.name, t.dtype, t.shape) for t in main.output_infos),
            )
        spec_guessed = spec is None
        base = guess_preprocess(model_info) if spec is None else spec
        used = resolve_spec(base, input_info.shape, input_info.dtype)
        label_names, labels_source = _resolve_labels(labels, model_path, metadata)
        if label_names is None and onnx is not None and onnx != model_path:
            label_names, labels_source = _resolve_labels(None, onnx, metadata)
        if label_names is None and used.preset == "paddleocr-det":
            label_names, labels_source = ("text",), "preset"

        t0 = time.perf_counter()
        tensor, box = preprocess(picture, used)
        feed = _batched(tensor, input_info.shape)
        preprocess_ms = _ms(t0)

        t0 = time.perf_counter()
        outputs = main.run({input_info.name: feed})
        inference_ms = _ms(t0)

        comparison = None
        reference_ms = None
        if trt_runner is not None and ort_runner is not None:
            t0 = time.perf_counter()
            try:
                reference = ort_runner.run({_image_input(ort_runner.input_infos).name: feed})
            except TrtGuiError as err:
                notes.append(f"comparison skipped: ONNX Runtime failed ({err})")
            else:
                reference_ms = _ms(t0)
                comparison = _compare(reference, outputs, _engine_precision(model_path), notes)

        if label_names is None:  # nothing chosen, nothing beside the model: ImageNet?
            label_names, labels_source = builtin_class_labels(outputs, kind)

        t0 = time.perf_counter()
        prediction = postprocess(
            outputs, box, kind=kind, labels=label_names, top_k=top_k, threshold=threshold
        )
        postprocess_ms = _ms(t0)
    finally:
        for runner in (trt_runner, ort_runner):
            if runner is not None:
                runner.close()

    return PredictionReport(
        prediction=prediction,
        image=picture,
        image_path=image_path,
        model_path=model_path,
        onnx_path=onnx,
        engine_path=engine_path,
        runner=runner_name,
        runner_detail=runner_detail,
        spec=used,
        spec_guessed=spec_guessed,
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


def _open_trt(engine_path: Path) -> tuple[Any, str]:
    """A TrtRunner for the engine, or None and why it cannot run here."""
    try:
        from trtgui.core.engine.runners import TrtRunner
    except ImportError as exc:
        return None, f"the TensorRT runner is unavailable ({exc})"
    try:
        return TrtRunner(engine_path), ""
    except TrtGuiError as err:
        # A clause inside longer sentences ("TensorRT not used: …; running …"): no full stop.
        return None, err.message.strip().removesuffix(".")


def _runner_detail(runner: Any, name: str) -> str:
    providers = getattr(runner, "providers", None)
    if providers:
        return f"{name} ({', '.join(providers)})"
    backend = getattr(runner, "backend", None)
    return f"{name} ({backend})" if backend else name


def _inspect(onnx: Path, notes: list[str]) -> tuple[Any, dict[str, str]]:
    from trtgui.core.model.onnx_model import inspect_onnx

    try:
        info = inspect_onnx(onnx)
    except TrtGuiError as err:
        notes.append(f"model metadata unavailable: {err}")
        return None, {}
    return info, dict(info.metadata)


def _compare(
    reference: Mapping[str, np.ndarray],
    candidate: Mapping[str, np.ndarray],
    precision: str,
    notes: list[str],
) -> Any:
    try:
        from trtgui.core.predict.compare import compare_outputs
    except ImportError as exc:
        notes.append(f"comparison unavailable ({exc})")
        return None
    try:
        return compare_outputs(reference, candidate, precision=precision)
    except TrtGuiError as err:
        notes.append(f"comparison failed: {err}")
        return None


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


def load_demo() -> Demo:
    """Read resources/demo/demo.json. Raises InferenceError when the demo is not installed."""
    import json

    from trtgui.core.imaging import get_preset, spec_from_dict
    from trtgui.core.resources import resource_path

    folder = resource_path("demo")
    config = folder / "demo.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InferenceError(
            f"The demo is not available ({config} is missing or unreadable): reinstall trtgui.",
            details=str(exc),
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("model"), str):
        raise InferenceError(f"The demo description {config} is malformed: reinstall trtgui.")
    preset = data.get("preset", "imagenet")
    spec = spec_from_dict(preset) if isinstance(preset, dict) else get_preset(str(preset))
    model = folder / data["model"]
    images = tuple(folder / str(name) for name in data.get("images", ()))
    missing = [p for p in (model, *images) if not p.is_file()]
    if missing:
        raise InferenceError(
            f"The demo is incomplete ({missing[0].name} is missing): reinstall trtgui.",
            details="\n".join(str(p) for p in missing),
        )
    labels = folder / data["labels"] if data.get("labels") else None
    return Demo(
        title=str(data.get("title", "demo")),
        model=model,
        labels=labels if labels is not None and labels.is_file() else None,
        spec=spec,
        images=images,
        expected={str(k): str(v) for k, v in dict(data.get("expected", {})).items()},
    )
