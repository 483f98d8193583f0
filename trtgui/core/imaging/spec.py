"""`PreprocessSpec`: how an image becomes an input tensor, the named `PRESETS`, and the one
JSON reader for it.

`read_spec` reads every preprocessing dict trtgui meets (`--preprocess`, `demo.json`, a
model's "trtgui.preprocess" metadata, a build settings file's "preprocess") with one set of
rules and one error, `PreprocessError`, naming the field; `spec_from_dict` also judges the
values (`validate_spec`). `resolve_spec` fits a spec to an input tensor's shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from trtgui.core.errors import InferenceError, PreprocessError
from trtgui.core.text import shown


@dataclass(frozen=True)
class PreprocessSpec:
    """How an image becomes an input tensor.

    resize: "stretch" | "short_side_crop" (resize the short side to `resize_short`, then
    center-crop to height x width) | "letterbox" (keep aspect, pad with `pad_value`) |
    "fit" (keep aspect, long side at most `limit_side`, each side rounded to `multiple`; the
    tensor size follows the image, for models with dynamic height and width).
    Normalisation: x = (pixel * scale - mean) / std, per channel, in `channel_order`.
    """

    height: int = 224
    width: int = 224
    resize: str = "stretch"
    resize_short: int | None = None
    pad_value: float = 114.0
    channel_order: str = "RGB"  # or "BGR" or "GRAY"
    layout: str = "NCHW"  # or "NHWC"
    scale: float = 1.0
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    dtype: str = "float32"
    preset: str = "custom"
    limit_side: int | None = None  # "fit": longest side cap (None = keep the image size)
    multiple: int = 1  # "fit": height and width rounded to a multiple of this


RESIZE_MODES = ("stretch", "short_side_crop", "letterbox", "fit")
CHANNEL_ORDERS = ("RGB", "BGR", "GRAY")
LAYOUTS = ("NCHW", "NHWC")
DTYPES = ("float32", "float16", "uint8", "int8")

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

PRESETS: dict[str, PreprocessSpec] = {
    # torchvision's classic ImageNet recipe (ResNet, MobileNet, EfficientNet from torchvision).
    "imagenet": PreprocessSpec(
        height=224,
        width=224,
        resize="short_side_crop",
        resize_short=256,
        scale=1 / 255,
        mean=_IMAGENET_MEAN,
        std=_IMAGENET_STD,
        preset="imagenet",
    ),
    # TF-Lite / EfficientNet-Lite style: (x - 127) / 128 on raw pixels.
    "tflite": PreprocessSpec(
        height=224,
        width=224,
        resize="short_side_crop",
        resize_short=256,
        mean=(127.0, 127.0, 127.0),
        std=(128.0, 128.0, 128.0),
        preset="tflite",
    ),
    # Ultralytics YOLO: /255, letterbox with grey 114 padding.
    "yolo": PreprocessSpec(
        height=640, width=640, resize="letterbox", pad_value=114.0, scale=1 / 255, preset="yolo"
    ),
    "yolo-stretch": PreprocessSpec(
        height=640, width=640, resize="stretch", scale=1 / 255, preset="yolo-stretch"
    ),
    # PaddleOCR text detection (DBNet): BGR, sides multiples of 32, long side <= 736.
    "paddleocr-det": PreprocessSpec(
        height=736,
        width=736,
        resize="fit",
        limit_side=736,
        multiple=32,
        channel_order="BGR",
        scale=1 / 255,
        mean=_IMAGENET_MEAN,
        std=_IMAGENET_STD,
        preset="paddleocr-det",
    ),
    # PaddleOCR text direction classifier: BGR 48x192 crops, (x/255 - 0.5) / 0.5.
    "paddleocr-cls": PreprocessSpec(
        height=48,
        width=192,
        resize="stretch",
        channel_order="BGR",
        scale=1 / 255,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        preset="paddleocr-cls",
    ),
    # MTCNN (facenet-pytorch): (x - 127.5) * 0.0078125; the P-Net takes any size.
    "mtcnn": PreprocessSpec(
        height=480,
        width=640,
        resize="fit",
        limit_side=640,
        mean=(127.5, 127.5, 127.5),
        std=(128.0, 128.0, 128.0),
        preset="mtcnn",
    ),
    # Pixels scaled to [0, 1], nothing else: a neutral start for unknown models.
    "unit": PreprocessSpec(resize="stretch", scale=1 / 255, preset="unit"),
}


# -- fitting and judging a spec ----------------------------------------------------------


def resolve_spec(
    spec: PreprocessSpec, shape: Sequence[int | str | None] | None, dtype: str | None = None
) -> PreprocessSpec:
    """Fit `spec` to an input tensor: static height/width (and channels, layout) come from the
    tensor; dynamic ones stay as the spec says. `dtype` from the tensor when it is known."""
    changes: dict[str, Any] = {}
    if dtype and dtype in DTYPES and dtype != spec.dtype:
        changes["dtype"] = dtype
    if shape is not None and len(shape) == 4:
        layout = _layout_of(shape) or spec.layout
        if layout != spec.layout:
            changes["layout"] = layout
        if layout == "NHWC":
            h, w, c = shape[1], shape[2], shape[3]
        else:
            c, h, w = shape[1], shape[2], shape[3]
        if c == 1 and spec.channel_order != "GRAY":
            changes["channel_order"] = "GRAY"
        elif c == 3 and spec.channel_order == "GRAY":
            changes["channel_order"] = "RGB"
        static_h = isinstance(h, int) and h > 0
        static_w = isinstance(w, int) and w > 0
        if static_h and h != spec.height:
            changes["height"] = h
        if static_w and w != spec.width:
            changes["width"] = w
        if static_h and static_w and spec.resize == "fit":
            changes["resize"] = "letterbox" if spec.preset.startswith("yolo") else "stretch"
    return replace(spec, **changes) if changes else spec


def _layout_of(shape: Sequence[int | str | None]) -> str | None:
    if len(shape) != 4:
        return None
    c_first, c_last = shape[1], shape[3]
    if c_first in (1, 3) and c_last not in (1, 3):
        return "NCHW"
    if c_last in (1, 3) and c_first not in (1, 3):
        return "NHWC"
    if c_first in (1, 3):
        return "NCHW"
    return None


def validate_spec(spec: PreprocessSpec) -> None:
    """Raise `PreprocessError` naming the first impossible field."""
    if spec.resize not in RESIZE_MODES:
        raise PreprocessError(
            f"Unknown resize mode {spec.resize!r}: use one of {', '.join(RESIZE_MODES)}."
        )
    if spec.channel_order not in CHANNEL_ORDERS:
        raise PreprocessError(
            f"Unknown channel order {spec.channel_order!r}: use RGB, BGR or GRAY."
        )
    if spec.layout not in LAYOUTS:
        raise PreprocessError(f"Unknown layout {spec.layout!r}: use NCHW or NHWC.")
    if spec.dtype not in DTYPES:
        raise PreprocessError(
            f"Unsupported input type {spec.dtype!r}: use one of {', '.join(DTYPES)}."
        )
    if spec.resize != "fit" and (spec.height <= 0 or spec.width <= 0):
        raise PreprocessError(
            f"The input size {spec.width}x{spec.height} is not usable: set a positive size."
        )
    if (
        spec.resize == "short_side_crop"
        and spec.resize_short is not None
        and (spec.resize_short < min(spec.height, spec.width))
    ):
        raise PreprocessError(
            f"The short side ({spec.resize_short}) is smaller than the crop "
            f"({spec.width}x{spec.height}): make it at least {min(spec.height, spec.width)}."
        )
    for what, values in (("mean", spec.mean), ("std", spec.std)):
        if len(values) not in (1, 3):
            raise PreprocessError(f"The {what} needs 1 or 3 values, got {len(values)}.")
    if any(s == 0 for s in spec.std):
        raise PreprocessError("A std value is 0: it divides the pixels, use a non-zero value.")


# -- the one JSON reader ------------------------------------------------------------------


def _wrong(key: str, kind: str, value: Any) -> PreprocessError:
    return PreprocessError(
        f"{key} must be {kind}, got {shown(value)}.", details=f"{key} = {value!r}"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _read_int(value: Any, key: str) -> int:
    if not _is_int(value):
        raise _wrong(key, "an integer", value)
    return int(value)


def _read_optional_int(value: Any, key: str) -> int | None:
    if value is not None and not _is_int(value):
        raise _wrong(key, "an integer or null", value)
    return None if value is None else int(value)


def _read_float(value: Any, key: str) -> float:
    if not _is_number(value):
        raise _wrong(key, "a number", value)
    return float(value)


def _read_floats(value: Any, key: str) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or not all(_is_number(v) for v in value):
        raise _wrong(key, "a list of numbers", value)
    return tuple(float(v) for v in value)


def _read_str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise _wrong(key, "a string", value)
    return value


# One reader per PreprocessSpec field: checks the JSON value's type, returns the field value.
_SPEC_READERS: dict[str, Callable[[Any, str], Any]] = {
    "height": _read_int,
    "width": _read_int,
    "resize": _read_str,
    "resize_short": _read_optional_int,
    "pad_value": _read_float,
    "channel_order": _read_str,
    "layout": _read_str,
    "scale": _read_float,
    "mean": _read_floats,
    "std": _read_floats,
    "dtype": _read_str,
    "preset": _read_str,
    "limit_side": _read_optional_int,
    "multiple": _read_int,
}


def read_spec(data: Any, where: str = "") -> PreprocessSpec:
    """A PreprocessSpec from JSON data, each value's type checked; a known `preset` names a
    base that the other keys change. The values are not judged (`validate_spec` does that), so
    a settings file keeps what it was given. `where` is the JSON key the data sits under
    ("preprocess" in a build settings file): messages name fields as `where.field`.

    Raises `PreprocessError` naming the first unknown key or wrongly typed value."""
    if not isinstance(data, Mapping):
        what = where or "Preprocessing settings"
        raise PreprocessError(f"{what} must be a JSON object, got {shown(data)}.")
    unknown = sorted(set(data) - set(_SPEC_READERS))
    if unknown:
        raise PreprocessError(
            f"Unknown {where or 'preprocessing'} setting {shown(unknown[0])}: check the spelling.",
            details=f"unknown keys: {unknown}; known keys: {sorted(_SPEC_READERS)}",
        )
    values = {k: _SPEC_READERS[k](v, f"{where}.{k}" if where else k) for k, v in data.items()}
    base = PRESETS.get(str(values.get("preset", "")), PreprocessSpec())
    return replace(base, **values)


def spec_from_dict(data: Any) -> PreprocessSpec:
    """`read_spec(data)`, validated: a spec ready for `preprocess` (raises `PreprocessError`)."""
    spec = read_spec(data)
    validate_spec(spec)
    return spec


def get_preset(name: str) -> PreprocessSpec:
    """A preset by name (case-insensitive, '_' = '-'); raises InferenceError listing them."""
    key = name.strip().lower().replace("_", "-")
    if key not in PRESETS:
        raise InferenceError(
            f"Unknown preprocessing preset {name!r}: choose one of {', '.join(PRESETS)}."
        )
    return PRESETS[key]


# -- for people ---------------------------------------------------------------------------


def describe_spec(spec: PreprocessSpec) -> str:
    """One line for people: 'tflite: short side 256, crop 224x224, RGB, (x - 127) / 128'."""
    if spec.resize == "short_side_crop":
        short = spec.resize_short or min(spec.width, spec.height)
        geo = f"short side {short}, crop {spec.width}x{spec.height}"
    elif spec.resize == "letterbox":
        geo = f"letterbox {spec.width}x{spec.height} (pad {spec.pad_value:g})"
    elif spec.resize == "fit":
        lim = f"long side ≤ {spec.limit_side}" if spec.limit_side else "image size"
        geo = f"{lim}, multiple of {spec.multiple}"
    else:
        geo = f"stretch to {spec.width}x{spec.height}"
    scale = "" if spec.scale == 1 else f" * {_num(spec.scale)}"
    mean = _vec(spec.mean)
    std = _vec(spec.std)
    norm = f"(x{scale} - {mean}) / {std}"
    return f"{spec.preset}: {geo}, {spec.channel_order}, {spec.layout}, {norm}, {spec.dtype}"


def _num(v: float) -> str:
    if v and math.isclose(1 / v, round(1 / v), rel_tol=1e-9):
        return f"1/{round(1 / v)}"
    return f"{v:g}"


def _vec(values: Sequence[float]) -> str:
    if len(set(values)) == 1:
        return f"{values[0]:g}"
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"
