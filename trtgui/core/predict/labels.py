"""Class names: a labels file, the names a model carries beside it or in its metadata, and the
built-in ImageNet names for a 1000-class classifier — and which of them a run will use."""

from __future__ import annotations

import ast
import functools
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from trtgui.core.errors import InferenceError, TrtGuiError
from trtgui.core.imaging import ModelLike
from trtgui.core.predict.decoders import guess_kind
from trtgui.core.predict.decoders.base import Outputs
from trtgui.core.predict.decoders.classification import KIND as CLASSIFICATION
from trtgui.core.predict.decoders.classification import class_count, pick_class_output

log = logging.getLogger(__name__)

LABEL_FILE_NAMES = ("labels.txt", "classes.txt")

# A classifier with 1000 scores is an ImageNet-1k classifier in practice (1001: TF-slim and
# TF-Lite models put "background" first, which `class_label` handles). Its names ship with the
# demo, so such a model reads "espresso" rather than "class 967" without a labels file.
IMAGENET_CLASS_COUNTS = (1000, 1001)
IMAGENET_LABELS_SOURCE = "ImageNet (built in)"

Labels = tuple[tuple[str, ...] | None, str]  # (names or None, where they came from)


def load_labels(path: str | Path) -> tuple[str, ...]:
    """Class names, one per line (line i = class i). Raises InferenceError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InferenceError(f"Cannot read the labels file {p}: {exc}") from exc
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise InferenceError(f"The labels file {p} is empty: it needs one class name per line.")
    return tuple(lines)


@functools.lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names shipped in resources/demo/labels.txt (line i = class
    i). Raises InferenceError when the file is missing from the installation."""
    from trtgui.core.resources import resource_path

    return load_labels(resource_path("demo", "labels.txt"))


def is_imagenet_count(num_classes: int | None) -> bool:
    return num_classes in IMAGENET_CLASS_COUNTS


def builtin_class_labels(outputs: Outputs, kind: str | None = None) -> Labels:
    """(names, source) for a classifier the user gave no labels for: the built-in ImageNet
    names when its class output has 1000 (or 1001) scores, else (None, "")."""
    if (kind or guess_kind(outputs)) != CLASSIFICATION:
        return None, ""
    _name, vec = pick_class_output(outputs, None)
    if vec is None or not is_imagenet_count(int(vec.size)):
        return None, ""
    try:
        return imagenet_labels(), IMAGENET_LABELS_SOURCE
    except InferenceError as err:  # a broken installation: numbered classes still answer
        log.warning("built-in ImageNet labels unavailable: %s", err)
        return None, ""


def find_labels(model_path: Path, metadata: Mapping[str, str] | None = None) -> Labels:
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


def resolve_labels(
    labels: str | Path | Sequence[str] | None,
    model_path: Path,
    metadata: Mapping[str, str] | None,
) -> Labels:
    """The names the user chose (a file or a list), else those `find_labels` finds."""
    if labels is None:
        return find_labels(model_path, metadata)
    if isinstance(labels, (str, Path)):
        return load_labels(labels), str(labels)
    return tuple(labels), "given"


def default_labels_source(
    model_path: str | Path, model_info: ModelLike | None = None, onnx_path: str | Path | None = None
) -> str:
    """Where a run takes class names from when the user gives none, said before it runs:
    a labels file's path or "model metadata" (`find_labels`, beside the model, then beside
    its ONNX twin), IMAGENET_LABELS_SOURCE for a 1000-class output, or "" (numbered).

    `model_info` is the ONNX model's ModelInfo (its metadata and output shapes). Never raises:
    an unreadable labels file is reported by the run itself.
    """
    metadata = dict(model_info.metadata) if model_info is not None else {}
    for path in dict.fromkeys(Path(p) for p in (model_path, onnx_path) if p is not None):
        try:
            names, source = find_labels(path, metadata)
        except TrtGuiError:
            return ""
        if names is not None:
            return source
    outputs = model_info.outputs if model_info is not None else ()
    if any(is_imagenet_count(class_count(t.shape)) for t in outputs):
        return IMAGENET_LABELS_SOURCE
    return ""
