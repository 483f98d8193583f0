"""Images in, input tensors out: loading, preprocessing presets, and the map back.

Owns `load_image` (any common still-image file → an RGB Pillow image, EXIF-rotated, checked
for decompression bombs), `preprocess` (image + `PreprocessSpec` → input tensor and the
`Letterbox` that maps tensor coordinates back to the original picture), the named `PRESETS`,
and `guess_preprocess` (a best guess from a model's shapes, names and metadata).

Resizing uses Pillow (bilinear, antialiased when shrinking, as torchvision does on PIL
images); normalisation is one vectorised multiply-add per channel in numpy.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from trtgui.core.build.settings import PreprocessSpec
from trtgui.core.errors import InferenceError


class TensorLike(Protocol):
    """What guessing needs of a tensor (onnx_model.TensorInfo and runners.IoTensor fit)."""

    @property
    def name(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def shape(self) -> tuple[int | str | None, ...] | None: ...


class ModelLike(Protocol):
    """What guessing needs of a model (onnx_model.ModelInfo fits)."""

    @property
    def path(self) -> Path: ...
    @property
    def producer_name(self) -> str: ...
    @property
    def graph_name(self) -> str: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def inputs(self) -> tuple[Any, ...]: ...
    @property
    def outputs(self) -> tuple[Any, ...]: ...


log = logging.getLogger(__name__)

ImageLike = Image.Image | np.ndarray

# Pillow warns above MAX_IMAGE_PIXELS and refuses twice that; we refuse above the warning
# level too, because a 90-megapixel RGB picture is already ~270 MB once decoded.
MAX_PIXELS = 89_478_485
# Shrinking by 6x or more first box-reduces by an integer factor, then resamples: 2-3x faster
# on camera-sized photos, a mean change under 0.2 grey levels; smaller factors are exact.
REDUCING_GAP = 3.0
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


# -- loading --------------------------------------------------------------------------------


def load_image(path: str | Path, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Read an image file as RGB with its EXIF orientation applied.

    Transparent images are composited on `background` (white by default: most transparent
    pictures are drawings or logos meant for a light page); grayscale, 16-bit, palette, CMYK
    and other modes are converted. Raises `InferenceError` for a missing, empty, broken,
    non-image or too-large file.
    """
    p = Path(path)
    if not p.exists():
        raise InferenceError(f"The image {p} does not exist: check the path.")
    if p.is_dir():
        raise InferenceError(f"{p} is a folder, not an image: choose an image file.")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InferenceError(f"Cannot read the image {p}: {exc.strerror or exc}.") from exc
    if not data:
        raise InferenceError(f"The image {p} is empty (0 bytes): choose another file.")
    return decode_image(data, name=str(p), background=background)


def decode_image(
    data: bytes, name: str = "image", background: tuple[int, int, int] = (255, 255, 255)
) -> Image.Image:
    """`load_image` for bytes already in memory (drag and drop, clipboard)."""
    try:
        with warnings.catch_warnings():
            # Turn Pillow's bomb warning into an error so nothing is decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            width, height = img.size
            if width <= 0 or height <= 0:
                raise InferenceError(f"The image {name} has no pixels ({width}x{height}).")
            if width * height > MAX_PIXELS:
                raise _too_large(name, width, height)
            img.load()
    except InferenceError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InferenceError(
            f"The image {name} is too large to decode safely (more than "
            f"{MAX_PIXELS / 1e6:.0f} megapixels): scale it down first.",
            details=str(exc),
        ) from exc
    except UnidentifiedImageError as exc:
        raise InferenceError(
            f"{name} is not an image Pillow can read: use PNG, JPEG, BMP, WebP or TIFF.",
            details=str(exc),
        ) from exc
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        # Truncated or corrupt files fail while decoding, with assorted exception types.
        raise InferenceError(
            f"The image {name} is damaged or truncated and cannot be decoded: {exc}",
            details=repr(exc),
        ) from exc
    try:
        img = ImageOps.exif_transpose(img) or img
    except Exception as exc:  # a malformed EXIF block must not stop inference
        log.warning("ignoring unreadable EXIF orientation in %s: %s", name, exc)
    return to_rgb(img, background)


def _too_large(name: str, width: int, height: int) -> InferenceError:
    return InferenceError(
        f"The image {name} is too large to decode safely ({width}x{height} = "
        f"{width * height / 1e6:.0f} megapixels, limit {MAX_PIXELS / 1e6:.0f}): scale it down.",
        details=f"{width}x{height} pixels > MAX_PIXELS={MAX_PIXELS}",
    )


def to_rgb(img: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Any Pillow mode → 8-bit RGB (alpha composited on `background`, deep images rescaled)."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return Image.fromarray(_deep_to_uint8(np.asarray(img)), "L").convert("RGB")
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    elif mode in ("LA", "La", "PA", "RGBa"):
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode == "RGBA":
        base = Image.new("RGB", img.size, background)
        base.paste(img, mask=img.getchannel("A"))
        return base
    if mode == "1":
        img = img.convert("L")
    return img.convert("RGB")


def _deep_to_uint8(arr: np.ndarray) -> np.ndarray:
    """16/32-bit or float grayscale → uint8, keeping the full range of the source type."""
    a = arr.astype(np.float64, copy=False)
    if arr.dtype.kind == "f":
        finite = a[np.isfinite(a)]
        hi = float(finite.max()) if finite.size else 1.0
        top = 1.0 if hi <= 1.0 else hi
    else:
        top = 65535.0 if float(a.max(initial=0)) > 255 else 255.0
    return np.clip(np.nan_to_num(a) * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)


# -- the map back ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Letterbox:
    """How tensor pixels relate to the original image.

    A point (x, y) of the original maps to the tensor at (x * scale_x - crop_x + pad_x,
    y * scale_y - crop_y + pad_y): the image was resized by scale_x/scale_y, `crop` pixels
    were cut from the resized image's left/top (center crop), and `pad` pixels were added on
    the left/top (letterbox).
    """

    image_width: int
    image_height: int
    input_width: int
    input_height: int
    scale_x: float
    scale_y: float
    pad_x: float = 0.0
    pad_y: float = 0.0
    crop_x: float = 0.0
    crop_y: float = 0.0

    def to_original(self, boxes: np.ndarray, clip: bool = True) -> np.ndarray:
        """Boxes (..., 4) as x1, y1, x2, y2 in tensor pixels → original-image pixels."""
        b = np.asarray(boxes, dtype=np.float32).copy()
        b[..., 0::2] = (b[..., 0::2] - self.pad_x + self.crop_x) / self.scale_x
        b[..., 1::2] = (b[..., 1::2] - self.pad_y + self.crop_y) / self.scale_y
        if clip:
            np.clip(b[..., 0::2], 0, self.image_width, out=b[..., 0::2])
            np.clip(b[..., 1::2], 0, self.image_height, out=b[..., 1::2])
        return b

    def to_input(self, boxes: np.ndarray) -> np.ndarray:
        """The inverse of `to_original` (without clipping)."""
        b = np.asarray(boxes, dtype=np.float32).copy()
        b[..., 0::2] = b[..., 0::2] * self.scale_x - self.crop_x + self.pad_x
        b[..., 1::2] = b[..., 1::2] * self.scale_y - self.crop_y + self.pad_y
        return b

    def map_to_original(self, plane: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """A 2-D map over the tensor (any resolution, e.g. a stride-4 heat map) → a float32
        map over the original image (bilinear). Parts of the image that the tensor never saw
        (cut by a center crop) get `fill`."""
        m = np.asarray(plane, dtype=np.float32)
        if m.ndim != 2:
            raise ValueError(f"expected a 2-D map, got shape {m.shape}")
        mh, mw = m.shape
        # original pixel -> tensor pixel -> map pixel, as one affine transform
        fx, fy = mw / self.input_width, mh / self.input_height
        a = fx * self.scale_x
        c = fx * (self.pad_x - self.crop_x)
        e = fy * self.scale_y
        f = fy * (self.pad_y - self.crop_y)
        src = Image.fromarray(m, "F")
        out = src.transform(
            (self.image_width, self.image_height),
            Image.Transform.AFFINE,
            (a, 0.0, c, 0.0, e, f),
            resample=Image.Resampling.BILINEAR,
            fillcolor=fill,
        )
        return np.asarray(out, dtype=np.float32)


# -- preprocessing --------------------------------------------------------------------------


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


def target_size(image_size: tuple[int, int], spec: PreprocessSpec) -> tuple[int, int]:
    """(width, height) of the tensor for an image of `image_size` (width, height)."""
    if spec.resize != "fit":
        return spec.width, spec.height
    w, h = image_size
    ratio = 1.0
    if spec.limit_side and max(w, h) > spec.limit_side:
        ratio = spec.limit_side / max(w, h)
    m = max(1, spec.multiple)
    tw = max(m, round(w * ratio / m) * m)
    th = max(m, round(h * ratio / m) * m)
    return tw, th


def validate_spec(spec: PreprocessSpec) -> None:
    """Raise `InferenceError` naming the first impossible field."""
    if spec.resize not in RESIZE_MODES:
        raise InferenceError(
            f"Unknown resize mode {spec.resize!r}: use one of {', '.join(RESIZE_MODES)}."
        )
    if spec.channel_order not in CHANNEL_ORDERS:
        raise InferenceError(f"Unknown channel order {spec.channel_order!r}: use RGB, BGR or GRAY.")
    if spec.layout not in LAYOUTS:
        raise InferenceError(f"Unknown layout {spec.layout!r}: use NCHW or NHWC.")
    if spec.dtype not in DTYPES:
        raise InferenceError(
            f"Unsupported input type {spec.dtype!r}: use one of {', '.join(DTYPES)}."
        )
    if spec.resize != "fit" and (spec.height <= 0 or spec.width <= 0):
        raise InferenceError(
            f"The input size {spec.width}x{spec.height} is not usable: set a positive size."
        )
    if (
        spec.resize == "short_side_crop"
        and spec.resize_short is not None
        and (spec.resize_short < min(spec.height, spec.width))
    ):
        raise InferenceError(
            f"The short side ({spec.resize_short}) is smaller than the crop "
            f"({spec.width}x{spec.height}): make it at least {min(spec.height, spec.width)}."
        )
    for what, values in (("mean", spec.mean), ("std", spec.std)):
        if len(values) not in (1, 3):
            raise InferenceError(f"The {what} needs 1 or 3 values, got {len(values)}.")
    if any(s == 0 for s in spec.std):
        raise InferenceError("A std value is 0: it divides the pixels, use a non-zero value.")


def resize_image(image: Image.Image, spec: PreprocessSpec) -> tuple[Image.Image, Letterbox]:
    """The geometric half of preprocessing: the picture the tensor is made of."""
    w0, h0 = image.size
    tw, th = target_size((w0, h0), spec)
    bilinear = Image.Resampling.BILINEAR
    if spec.resize in ("stretch", "fit"):
        same = (tw, th) == (w0, h0)
        out = image if same else image.resize((tw, th), bilinear, reducing_gap=REDUCING_GAP)
        return out, Letterbox(w0, h0, tw, th, tw / w0, th / h0)
    if spec.resize == "short_side_crop":
        short = spec.resize_short or min(tw, th)
        # torchvision: the long side is truncated; the crop offset is rounded
        if w0 <= h0:
            rw, rh = short, int(short * h0 / w0)
        else:
            rw, rh = int(short * w0 / h0), short
        sx, sy = rw / w0, rh / h0
        left = round((rw - tw) / 2.0)
        top = round((rh - th) / 2.0)
        # Resize only the part that survives the crop: the same pixels as resizing the whole
        # image and cropping, at a fraction of the cost.
        box = (left / sx, top / sy, (left + tw) / sx, (top + th) / sy)
        if left < 0 or top < 0:  # crop larger than the resized image: resize, then pad
            resized = image.resize((rw, rh), bilinear)
            canvas = Image.new(image.mode, (tw, th), _pad_colour(spec, image.mode))
            canvas.paste(resized, (-left, -top))
            return canvas, Letterbox(w0, h0, tw, th, sx, sy, pad_x=-left, pad_y=-top)
        out = image.resize((tw, th), bilinear, box=box, reducing_gap=REDUCING_GAP)
        return out, Letterbox(w0, h0, tw, th, sx, sy, crop_x=left, crop_y=top)
    # letterbox: keep the aspect ratio, pad the rest (centered, as Ultralytics does)
    r = min(tw / w0, th / h0)
    nw, nh = max(1, round(w0 * r)), max(1, round(h0 * r))
    same = (nw, nh) == (w0, h0)
    resized = image if same else image.resize((nw, nh), bilinear, reducing_gap=REDUCING_GAP)
    px, py = (tw - nw) // 2, (th - nh) // 2
    canvas = Image.new(image.mode, (tw, th), _pad_colour(spec, image.mode))
    canvas.paste(resized, (px, py))
    return canvas, Letterbox(w0, h0, tw, th, nw / w0, nh / h0, pad_x=px, pad_y=py)


def _pad_colour(spec: PreprocessSpec, mode: str) -> int | tuple[int, ...]:
    v = round(min(255.0, max(0.0, spec.pad_value)))
    return v if mode == "L" else (v, v, v)


def preprocess(image: ImageLike, spec: PreprocessSpec) -> tuple[np.ndarray, Letterbox]:
    """Image → batched input tensor (1, C, H, W) or (1, H, W, C) as `spec` says.

    `image`: a Pillow image (any mode; converted to RGB) or an HxWx3 uint8 RGB array.
    Returns the tensor and the `Letterbox` mapping tensor pixels back to the image.
    """
    validate_spec(spec)
    if isinstance(image, np.ndarray):
        image = _array_to_image(image)
    if image.mode != "RGB":
        image = to_rgb(image)
    if image.width <= 0 or image.height <= 0:
        raise InferenceError("The image has no pixels.")
    picture, box = resize_image(image, spec)
    if spec.channel_order == "GRAY":
        picture = picture.convert("L")
    pixels = np.asarray(picture)  # HxWx3 (or HxW) uint8, no copy
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if spec.channel_order == "BGR":
        pixels = pixels[:, :, ::-1]
    return pixels_to_tensor(pixels, spec), box


def _array_to_image(arr: np.ndarray) -> Image.Image:
    if arr.dtype != np.uint8:
        raise InferenceError(f"Image arrays must be uint8 (got {arr.dtype}).")
    if arr.ndim == 2:
        return Image.fromarray(arr, "L").convert("RGB")
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        return to_rgb(
            Image.fromarray(np.ascontiguousarray(arr), "RGB" if arr.shape[2] == 3 else "RGBA")
        )
    raise InferenceError(f"Image arrays must be HxW, HxWx3 or HxWx4 (got {arr.shape}).")


@functools.lru_cache(maxsize=64)
def _coefficients(
    scale: float, mean: tuple[float, ...], std: tuple[float, ...], channels: int
) -> tuple[np.ndarray, np.ndarray, bool, bool]:
    """(a, b, a is all ones, b is all zeros) with (p * scale - mean) / std == p * a + b per
    channel, as read-only float32 arrays (cached: the same spec serves every image)."""
    m = np.asarray(mean, np.float64)
    s = np.asarray(std, np.float64)
    if channels == 1:  # a grayscale input with RGB statistics: their average
        m, s = m.mean(keepdims=True), s.mean(keepdims=True)
    a = np.broadcast_to(np.float32(scale) / s.astype(np.float32), (channels,)).copy()
    b = np.broadcast_to((-m / s).astype(np.float32), (channels,)).copy()
    a.flags.writeable = False
    b.flags.writeable = False
    return a, b, bool(np.all(a == 1.0)), bool(np.all(b == 0.0))


def pixels_to_tensor(
    pixels: np.ndarray, spec: PreprocessSpec, out: np.ndarray | None = None
) -> np.ndarray:
    """HxWxC uint8 (already resized, in the spec's channel order) → 1xCxHxW or 1xHxWxC in
    `spec.dtype`: x = (p * scale - mean) / std.

    `out`: a C-contiguous float32 array of the result's shape to write into (float32 specs
    only), so a caller converting many images can reuse one buffer; it is returned.
    """
    h, w, c = pixels.shape
    a, b, unit_a, zero_b = _coefficients(
        float(spec.scale), tuple(spec.mean), tuple(spec.std), int(c)
    )
    shape = (1, c, h, w) if spec.layout == "NCHW" else (1, h, w, c)
    if out is not None:
        if spec.dtype != "float32":
            raise ValueError(f"out= needs a float32 spec, not {spec.dtype}")
        if out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError(
                f"out must be C-contiguous float32 {shape}, got {out.dtype} {out.shape}"
            )
    if spec.dtype == "uint8" and unit_a and zero_b:
        out8 = pixels.transpose(2, 0, 1) if spec.layout == "NCHW" else pixels
        return np.ascontiguousarray(out8)[None]
    result = np.empty(shape, np.float32) if out is None else out
    dst = result[0]
    if spec.layout == "NCHW":
        src, a, b = pixels.transpose(2, 0, 1), a[:, None, None], b[:, None, None]
    else:
        # NHWC: as rows of w*c values with the coefficients tiled along them, so the ufunc
        # loops run over whole rows instead of 3-value pixels (~4x faster at 640x640)
        src, dst = pixels.reshape(h, w * c), dst.reshape(h, w * c)
        a, b = np.tile(a, w), np.tile(b, w)
    # A casting copy through the (transposed) uint8 view, then in-place passes over the
    # contiguous float32 result, which is still in cache: ~15% faster at 640x640 than one
    # multiply that reads the strided uint8 view (numpy casts it in small buffered chunks).
    # Same float32 values: the multiply casted uint8 to float32 first as well.
    np.copyto(dst, src, casting="unsafe")
    if not unit_a:
        np.multiply(dst, a, out=dst)
    if not zero_b:
        np.add(dst, b, out=dst)
    if spec.dtype == "float32":
        return result
    if spec.dtype == "float16":
        return result.astype(np.float16)
    info = np.iinfo(np.dtype(spec.dtype))
    return np.clip(np.rint(result), info.min, info.max).astype(spec.dtype)


# -- guessing -------------------------------------------------------------------------------

_SPEC_FIELDS = set(PreprocessSpec.__dataclass_fields__)


def spec_from_dict(data: Mapping[str, Any]) -> PreprocessSpec:
    """A PreprocessSpec from JSON data; `preset` names a base that the other keys change."""
    if not isinstance(data, Mapping):
        raise InferenceError("Preprocessing settings must be a JSON object.")
    unknown = sorted(set(data) - _SPEC_FIELDS)
    if unknown:
        raise InferenceError(
            f"Unknown preprocessing setting {unknown[0]!r}: check the spelling.",
            details=f"known: {sorted(_SPEC_FIELDS)}",
        )
    base = PRESETS.get(str(data.get("preset", "")), PreprocessSpec())
    kwargs = dict(data)
    for key in ("mean", "std"):
        if key in kwargs:
            kwargs[key] = tuple(float(v) for v in kwargs[key])
    try:
        spec = replace(base, **kwargs)
    except TypeError as exc:
        raise InferenceError(f"Malformed preprocessing settings: {exc}") from exc
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


def _image_input(model: ModelLike) -> TensorLike | None:
    """The first rank-4 input (the image), or the first input."""
    tensors: tuple[TensorLike, ...] = tuple(model.inputs)
    for t in tensors:
        if t.shape is not None and len(t.shape) == 4:
            return t
    return tensors[0] if tensors else None


def guess_preprocess(model: ModelLike) -> PreprocessSpec:
    """Best guess of the preprocessing a model expects, from (in this order): a
    "trtgui.preprocess" metadata entry (a JSON PreprocessSpec), Ultralytics metadata, then
    names and shapes. The result is a starting point the user can change; `spec.preset` says
    which preset it came from."""
    meta = {str(k).lower(): str(v) for k, v in (model.metadata or {}).items()}
    image_input = _image_input(model)
    shape = image_input.shape if image_input is not None else None
    dtype = image_input.dtype if image_input is not None else None
    if "trtgui.preprocess" in meta:
        try:
            return resolve_spec(spec_from_dict(json.loads(meta["trtgui.preprocess"])), shape)
        except (InferenceError, json.JSONDecodeError, TypeError) as exc:
            log.warning("ignoring malformed trtgui.preprocess metadata: %s", exc)
    spec = PRESETS[_guess_preset_name(model, meta)]
    if "imgsz" in meta and spec.preset.startswith("yolo"):
        sizes = [int(v) for v in re.findall(r"\d+", meta["imgsz"])]
        if len(sizes) >= 2:
            spec = replace(spec, height=sizes[0], width=sizes[1])
    return resolve_spec(spec, shape, dtype if dtype in DTYPES else None)


def _guess_preset_name(model: ModelLike, meta: Mapping[str, str]) -> str:
    words = " ".join(
        [
            Path(str(model.path)).stem,
            model.producer_name or "",
            model.graph_name or "",
            *(t.name for t in model.inputs),
            *(t.name for t in model.outputs),
            # symbolic dimension names tell exporters apart ("p2o." = paddle2onnx)
            *(str(d) for t in model.inputs for d in (t.shape or ()) if isinstance(d, str)),
        ]
    ).lower()
    out_shapes: list[tuple[Any, ...]] = [tuple(t.shape or ()) for t in model.outputs]
    if "ultralytics" in meta.get("author", "").lower() or ("stride" in meta and "names" in meta):
        return "yolo"
    if re.search(r"yolo|\bimages\b", words):
        return "yolo"
    if any(len(s) == 3 and _yolo_like(s) for s in out_shapes):
        return "yolo"
    if "pnet" in words or "mtcnn" in words or {"reg", "prob"} <= {t.name for t in model.outputs}:
        return "mtcnn"
    paddle = "paddle" in words or "p2o." in words or "sigmoid_0.tmp" in words
    if paddle and any(len(s) == 4 and s[1] == 1 for s in out_shapes):
        return "paddleocr-det"
    if paddle and any(len(s) == 2 and s[1] == 2 for s in out_shapes):
        return "paddleocr-cls"
    if re.search(r"lite\d|_lite|-lite|tflite|tf2onnx", words):
        return "tflite"
    if any(len(s) in (2, 4) and s[1] in (1000, 1001) for s in out_shapes):
        return "imagenet"
    return "imagenet" if shape_is_square_224(model) else "unit"


def shape_is_square_224(model: ModelLike) -> bool:
    t = _image_input(model)
    return bool(t is not None and t.shape and len(t.shape) == 4 and 224 in t.shape[1:])


def _yolo_like(shape: Sequence[int | str | None]) -> bool:
    dims = [d for d in shape[1:] if isinstance(d, int)]
    if len(dims) != 2:
        return False
    small, big = min(dims), max(dims)
    return small >= 5 and big >= 8 * small and small <= 1024


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
