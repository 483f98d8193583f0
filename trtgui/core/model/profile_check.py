"""Shape profiles checked against the model before they are offered.

`suggest_profiles` proposes sizes from the roles of the dimensions only; a PP-OCR recogniser
then got heights 32..1024 and TensorRT failed inside a Reshape because the height must be 48.
`check_suggestion` runs the model with ONNX Runtime on zero tensors (CPU, batch 1, small
sizes first) and narrows each dynamic image dimension to what the model runs with:
fixed when the suggested size fails but the preprocessing guess's size works, a lower max or
a higher min when only the ends fail, and a note when only multiples of a stride work.
Each finding is a plain sentence ("input 'x' height must be 48 (224 fails)").
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trtgui.core.model.onnx_model import ModelInfo
from trtgui.core.model.profiles import InputShape, Shape, ShapeProfile, suggest_profiles

log = logging.getLogger(__name__)

# Image sizes a dimension is tried at when neither the suggestion nor the preset's size runs.
_FALLBACK_SIDES: tuple[int, ...] = (32, 48, 64, 96, 128, 256)
# Strides tried, smallest first, when base + 16 fails (CNN down-sampling by 2 per stage).
_STRIDES: tuple[int, ...] = (32, 64)


@dataclass(frozen=True)
class CheckedSuggestion:
    """The suggested profiles after the dry runs, and what they taught, in plain sentences."""

    profiles: tuple[ShapeProfile, ...]
    notes: tuple[str, ...]
    verified: bool  # False: ONNX Runtime could not load or run the model; shown unverified


@functools.lru_cache(maxsize=4)
def _session(path: str, mtime_ns: int, size: int) -> Any:
    """One ONNX Runtime CPU session per model file version (the key includes mtime and size)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # failing shapes are expected here; ORT's log line is noise
    options.intra_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _runner(path: Path) -> Callable[[dict[str, Shape]], bool] | None:
    try:
        stat = path.stat()
        session = _session(str(path), stat.st_mtime_ns, stat.st_size)
    except Exception as exc:  # any load failure just means "not verified"
        log.info("profile check: ONNX Runtime cannot load %s: %s", path, exc)
        return None
    dtypes = {i.name: _numpy_dtype(str(i.type)) for i in session.get_inputs()}

    def runs(shapes: dict[str, Shape]) -> bool:
        feeds = {
            name: np.zeros(shape, dtypes.get(name, np.float32)) for name, shape in shapes.items()
        }
        try:
            session.run(None, feeds)
        except Exception as exc:  # a failing shape is the answer, not an error
            log.debug("profile check: %s fails: %s", shapes, str(exc).splitlines()[0])
            return False
        return True

    return runs


# ONNX Runtime's "tensor(float)" names -> numpy; anything else is fed as float32.
_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}


def _numpy_dtype(ort_type: str) -> Any:
    return _DTYPES.get(ort_type, np.float32)


def check_suggestion(info: ModelInfo) -> CheckedSuggestion:
    """`suggest_profiles(info)`, narrowed by ONNX Runtime dry runs to shapes the model runs."""
    profiles = suggest_profiles(info)
    if not profiles:
        return CheckedSuggestion(profiles, (), True)
    runs = _runner(info.path)
    if runs is None:
        return CheckedSuggestion(
            profiles,
            ("ONNX Runtime could not load the model, so the shapes are unchecked.",),
            False,
        )
    profile = profiles[0]
    fixed = {t.name: t.shape for t in info.inputs if t.shape is not None}
    if len(fixed) != len(info.inputs):
        return CheckedSuggestion(profiles, (), False)  # an input of unknown rank: cannot feed it
    # The inputs without a profile entry are static: fed at their own shape.
    static = {
        name: tuple(d for d in shape if isinstance(d, int))
        for name, shape in fixed.items()
        if all(isinstance(d, int) for d in shape)
    }
    preferred = _preferred_size(info)
    notes: list[str] = []
    items = list(profile.inputs)
    for number, item in enumerate(items):
        model_shape = fixed[item.name]

        def feed(shape: Shape, item_name: str = item.name) -> dict[str, Shape]:
            others = {i.name: _batch1(i.opt) for i in items if i.name != item_name}
            return {**static, **others, item_name: shape}

        items[number] = _narrow(item, model_shape, preferred, lambda s: runs(feed(s)), notes)
    checked = ShapeProfile(tuple(items))
    verified = True
    for which in ("min", "opt", "max"):
        shapes = {i.name: _batch1(getattr(i, which)) for i in checked.inputs}
        if not runs({**static, **shapes}):
            verified = False
            notes.append(
                f"ONNX Runtime could not run the {which} shapes "
                + ", ".join(f"{n}: {'x'.join(map(str, s))}" for n, s in shapes.items())
                + ": give the shapes the model needs."
            )
            break
    return CheckedSuggestion((checked,), tuple(notes), verified)


def _batch1(shape: Shape) -> Shape:
    return (1, *shape[1:]) if shape else shape


def _preferred_size(info: ModelInfo) -> tuple[int, int] | None:
    """The preprocessing guess's image size (paddleocr-rec: 48 high), tried first as the base."""
    try:
        from trtgui.core.imaging.guess import guess_preprocess

        spec = guess_preprocess(info)
    except Exception as exc:  # a guess that fails only loses a hint
        log.debug("profile check: no preprocessing guess: %s", exc)
        return None
    height, width = getattr(spec, "height", None), getattr(spec, "width", None)
    if isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0:
        return height, width
    return None


def _spatial(shape: Sequence[int | str | None]) -> tuple[int, int] | None:
    """Height and width indices of a 4-D image input (channels first unless the last is <= 4)."""
    if len(shape) != 4:
        return None
    channels_last = isinstance(shape[3], int) and 0 < shape[3] <= 4
    return (1, 2) if channels_last else (2, 3)


def _dynamic(dim: int | str | None) -> bool:
    return not isinstance(dim, int) or dim < 0


def _narrow(
    item: InputShape,
    model_shape: Sequence[int | str | None],
    preferred: tuple[int, int] | None,
    runs: Callable[[Shape], bool],
    notes: list[str],
) -> InputShape:
    """Narrow one input's dynamic height and width to values `runs` accepts."""
    spatial = _spatial(model_shape)
    if spatial is None or not any(_dynamic(model_shape[i]) for i in spatial):
        return item
    base = _base_shape(item, model_shape, spatial, preferred, runs)
    if base is None:
        notes.append(
            f"input {item.name!r}: the model ran at none of the tried image sizes; "
            "give the shapes it needs."
        )
        return item
    low, opt, high = list(item.min), list(item.opt), list(item.max)
    for index, role in zip(spatial, ("height", "width"), strict=True):
        if not _dynamic(model_shape[index]):
            continue

        def at(value: int, index: int = index) -> bool:
            shape = list(base)
            shape[index] = value
            return runs(tuple(shape))

        here = base[index]
        if opt[index] != here and not at(opt[index]):
            low[index] = opt[index] = high[index] = here
            notes.append(f"input {item.name!r} {role} must be {here} ({item.opt[index]} fails)")
            continue
        stride = _stride(here, at)
        if stride:
            notes.append(f"input {item.name!r} {role} must be a multiple of {stride}")
        while high[index] > opt[index] and not at(high[index]):
            high[index] = max(opt[index], _round_down(high[index] // 2, stride))
        if high[index] != item.max[index]:
            notes.append(
                f"input {item.name!r} {role} at most {high[index]} ({item.max[index]} fails)"
            )
        while low[index] < opt[index] and not at(low[index]):
            low[index] = min(opt[index], low[index] * 2)
        if low[index] != item.min[index]:
            notes.append(
                f"input {item.name!r} {role} at least {low[index]} ({item.min[index]} fails)"
            )
    return InputShape(item.name, tuple(low), tuple(opt), tuple(high))


def _base_shape(
    item: InputShape,
    model_shape: Sequence[int | str | None],
    spatial: tuple[int, int],
    preferred: tuple[int, int] | None,
    runs: Callable[[Shape], bool],
) -> Shape | None:
    """A batch-1 shape the model runs: the preset's size, the suggested opt, or a small square."""
    sizes: list[tuple[int, int]] = []
    if preferred is not None:
        sizes.append(preferred)
    sizes.append((item.opt[spatial[0]], item.opt[spatial[1]]))
    sizes += [(s, s) for s in _FALLBACK_SIDES]
    for height, width in sizes:
        shape = list(_batch1(item.opt))
        for index, value in zip(spatial, (height, width), strict=True):
            if _dynamic(model_shape[index]):
                shape[index] = value
        if runs(tuple(shape)):
            return tuple(shape)
    return None


def _stride(here: int, at: Callable[[int], bool]) -> int:
    """0 when here + 16 runs; else the smallest stride whose next multiple runs."""
    if at(here + 16):
        return 0
    for stride in _STRIDES:
        if here % stride == 0 and at(here + stride):
            return stride
    return 0


def _round_down(value: int, stride: int) -> int:
    return value - value % stride if stride and value >= stride else value
