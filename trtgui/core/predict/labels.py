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
from trtgui.core.predict.decoders.text import METADATA_SOURCE, fits, metadata_dictionary
from trtgui.core.reading import read_regular_text
from trtgui.core.text import shown

log = logging.getLogger(__name__)

LABEL_FILE_NAMES = ("labels.txt", "classes.txt")

# A classifier with 1000 scores is an ImageNet-1k classifier in practice (1001: TF-slim and
# TF-Lite models put "background" first, which `class_label` handles). Its names ship with the
# demo, so such a model reads "espresso" rather than "class 967" without a labels file.
IMAGENET_CLASS_COUNTS = (1000, 1001)
IMAGENET_LABELS_SOURCE = "ImageNet (built in)"
# Far above any real label set (ImageNet-21k has 21,841 classes, 0.3 MB of names): a "names"
# metadata entry beyond these is not class names, and would cost memory to expand.
MAX_CLASSES = 100_000
MAX_NAMES_CHARS = 4 << 20
_NAME_TYPES = (str, int, float)  # a name written as a number (a digit class) is kept as text

Labels = tuple[tuple[str, ...] | None, str]  # (names or None, where they came from)


def load_labels(path: str | Path) -> tuple[str, ...]:
    """Class names, one per line (line i = class i). Raises InferenceError."""
    p = Path(path)
    text = read_regular_text(p, "labels")  # a regular file within LIMITS["labels"]
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
    text = (metadata or {}).get("names")
    if text:
        names, problem = metadata_names(text)
        if names is not None:
            return names, "model metadata"
        log.debug("unusable 'names' metadata: %s", problem)
    return None, ""


def metadata_names(text: str) -> tuple[tuple[str, ...] | None, str]:
    """The class names in a model's "names" metadata — a list, or a dict of class numbers to
    names as Ultralytics writes it ("{0: 'person', 1: 'bicycle'}") — and "", or None and why
    they cannot be used (said in a note: the metadata is the model's, not the user's, so it is
    ignored rather than an error). A class number missing from a dict is named "class N"."""
    if len(text) > MAX_NAMES_CHARS:
        return None, f"it is {len(text):,} characters long, more than class names take"
    try:
        value = ast.literal_eval(text)
    # literal_eval raises these for text that is no literal, a dict with a list for a key,
    # or nesting deeper than Python's stack.
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None, "it is not a list or a dict of class names"
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_CLASSES:
            return None, f"it lists {len(value):,} names, more than {MAX_CLASSES:,}"
        if not all(isinstance(v, _NAME_TYPES) for v in value):
            return None, "its items must be class names (strings)"
        return tuple(str(v) for v in value), ""
    if not isinstance(value, dict):
        return None, "it is not a list or a dict of class names"
    numbered: dict[int, str] = {}
    for key, name in value.items():
        number = _class_number(key)
        if number is None:
            return None, f"its keys must be class numbers such as {{0: 'cat'}}, got {shown(key)}"
        if not isinstance(name, _NAME_TYPES):
            return None, f"its values must be class names (strings), got {shown(name)}"
        numbered[number] = str(name)
    if not numbered:
        return None, "it is empty"
    top = max(numbered)
    if top >= MAX_CLASSES:
        return None, f"it names class {top:,}, more than {MAX_CLASSES:,} classes"
    return tuple(numbered.get(i, f"class {i}") for i in range(top + 1)), ""


def _class_number(key: object) -> int | None:
    """A dict key as a class number: 3 or "3"; None for anything else (bool, -1, "a", 1.5)."""
    if isinstance(key, str) and key.strip().isdigit():
        return int(key)
    if isinstance(key, int) and not isinstance(key, bool) and key >= 0:
        return key
    return None


def names_problem(metadata: Mapping[str, str] | None) -> str:
    """Why a model's "names" metadata is not used ("" when it is, or there is none): for the
    run's notes."""
    text = (metadata or {}).get("names")
    if not text:
        return ""
    names, problem = metadata_names(text)
    if names is not None:
        return ""
    return f'the model\'s "names" metadata is not used: {problem}'


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


def load_dictionary(path: str | Path) -> tuple[str, ...]:
    """A text recogniser's dictionary: one character per line (line i = class i + 1), each
    line kept whole but for its line end (LF or CRLF), as PaddleOCR reads it: a line holding
    one space is the space character, which `load_labels` would strip away."""
    p = Path(path)
    text = read_regular_text(p, "labels")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":  # the last line's own line end
        lines.pop()
    if not lines:
        raise InferenceError(f"The dictionary {p} is empty: it needs one character per line.")
    return tuple(lines)


def resolve_dictionary(
    labels: str | Path | Sequence[str] | None,
    model_path: Path,
    onnx: Path | None,
    metadata: Mapping[str, str] | None,
) -> Labels:
    """The dictionary of a text recogniser: the labels the user chose (a file read whole by
    `load_dictionary`, or a list), else a labels file beside the model or its ONNX twin, else
    the model's "character" metadata (PaddleOCR's ONNX exports keep it there)."""
    if isinstance(labels, (str, Path)):
        return load_dictionary(labels), str(labels)
    if labels is not None:
        return tuple(labels), "given"
    for path in dict.fromkeys(p for p in (model_path, onnx) if p is not None):
        for candidate in (
            path.with_name(path.stem + ".labels.txt"),
            *(path.with_name(n) for n in LABEL_FILE_NAMES),
        ):
            if candidate.is_file():
                return load_dictionary(candidate), str(candidate)
    found = metadata_dictionary(metadata)
    return (found, METADATA_SOURCE) if found is not None else (None, "")


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
    dictionary = metadata_dictionary(metadata)  # a text recogniser's, when it fits its classes
    if dictionary is not None and any(
        t.shape
        and len(t.shape) == 3
        and isinstance(t.shape[2], int)
        and fits(len(dictionary), t.shape[2])
        for t in outputs
    ):
        return METADATA_SOURCE
    return ""
