"""Images in, input tensors out: `load_image` (a PNG, JPEG, BMP, WebP, TIFF or GIF file → an
RGB Pillow image, EXIF-rotated, checked for decompression bombs; no other format is decoded),
`preprocess` (image + `PreprocessSpec` → input tensor and the `Letterbox` that maps tensor
coordinates back to the original picture).

Resizing uses Pillow (bilinear, antialiased when shrinking, as torchvision does on PIL
images); normalisation is one vectorised multiply-add per channel in numpy.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from trtgui.core.errors import InferenceError
from trtgui.core.imaging.spec import MAX_SIDE, PreprocessSpec, validate_spec
from trtgui.core.reading import read_regular

log = logging.getLogger(__name__)

ImageLike = Image.Image | np.ndarray


# Pillow warns above MAX_IMAGE_PIXELS and refuses twice that; we refuse above the warning
# level too, because a 90-megapixel RGB picture is already ~270 MB once decoded.
MAX_PIXELS = 89_478_485
# The formats Pillow may decode, and nothing else: Pillow picks a decoder by the file's content,
# so without this list a ".png" holding PostScript would start Ghostscript (an external
# program, the EPS plugin's decoder), and other plugins parse rarely used formats. MPO is what
# Pillow calls a camera JPEG with a second picture (opened through the JPEG entry).
OPEN_FORMATS = ("PNG", "JPEG", "BMP", "WEBP", "TIFF", "GIF")
_OPENED_FORMATS = frozenset({*OPEN_FORMATS, "MPO"})
FORMAT_WORDS = "PNG, JPEG, BMP, WebP, TIFF or GIF"
# Formats people do drop on the window, known by their first bytes so a refusal names them.
_FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%!PS", "an EPS (PostScript) file"),
    (b"\xc5\xd0\xd3\xc6", "an EPS (PostScript) file"),
    (b"%PDF", "a PDF document"),
    (b"8BPS", "a Photoshop (PSD) file"),
    (b"\x00\x00\x01\x00", "an icon (ICO) file"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 file"),
    (b"\xffO\xffQ", "a JPEG 2000 file"),
    (b"gimp xcf", "a GIMP (XCF) file"),
    (b"SIMPLE  =", "a FITS file"),
    (b"DDS ", "a DirectDraw Surface (DDS) texture"),
    (b"qoif", "a QOI image"),
    (b"icns", "a macOS icon (ICNS) file"),
    (b"v/1\x01", "an OpenEXR image"),
    (b"/* XPM */", "an XPM image"),
    (b"#define", "an XBM image"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")


def _own_signature(data: bytes) -> str | None:
    """Which allowed format `data` starts like, in words ("a PNG"); None for none of them."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "a PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "a JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF"
    if data.startswith(b"BM"):
        return "a BMP"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "a WebP"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "a TIFF"
    return None


def foreign_image_format(head: bytes) -> str | None:
    """What the file is, in words ("an EPS (PostScript) file"), when its first bytes show a
    format outside OPEN_FORMATS; None otherwise (also for unknown bytes)."""
    for magic, what in _FOREIGN_MAGIC:
        if head.startswith(magic):
            return what
    text = head.lstrip()[:64].lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in head.lower()):
        return "an SVG drawing"
    if text.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML)"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "a HEIF or AVIF photo"
    if len(head) > 2 and head[:1] == b"P" and head[1:2] in b"1234567" and head[2:3].isspace():
        return "a Netpbm (PBM/PGM/PPM) image"
    if len(head) > 2 and head[0] == 0x0A and head[1] <= 5 and head[2] == 1:
        return "a PCX image"
    return None


# Shrinking by 6x or more first box-reduces by an integer factor, then resamples: 2-3x faster
# on camera-sized photos, a mean change under 0.2 grey levels; smaller factors are exact.
REDUCING_GAP = 3.0


# -- loading --------------------------------------------------------------------------------


def load_image(path: str | Path, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Read an image file as RGB with its EXIF orientation applied.

    Transparent images are composited on `background` (white by default: most transparent
    pictures are drawings or logos meant for a light page); grayscale, 16-bit, palette, CMYK
    and other modes are converted. Raises `InferenceError` for a missing, empty, broken,
    non-image or too-large file.
    """
    p = Path(path)
    # Regular files only, at most LIMITS["image"]: a FIFO or /dev/zero would never end.
    data = read_regular(p, "image")
    if not data:
        raise InferenceError(f"The image {p} is empty (0 bytes): choose another file.")
    return decode_image(data, name=str(p), background=background)


def decode_image(
    data: bytes, name: str = "image", background: tuple[int, int, int] = (255, 255, 255)
) -> Image.Image:
    """`load_image` for bytes already in memory (drag and drop, clipboard). Only the
    OPEN_FORMATS are decoded (a GIF, WebP or TIFF: its first frame); any other content is
    refused by name before Pillow sees it."""
    foreign = foreign_image_format(data[:64])
    if foreign is not None:
        raise InferenceError(
            f"{name} is {foreign}, not an image trtgui opens: use {FORMAT_WORDS}.",
            details=f"first bytes {data[:16]!r}",
        )
    try:
        with warnings.catch_warnings():
            # Turn Pillow's bomb warning into an error so nothing is decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # The one Image.open of trtgui: every picture comes through here.
            img: Image.Image = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
            if img.format not in _OPENED_FORMATS:  # a plugin registered under another name
                raise InferenceError(
                    f"{name} is a {img.format} image, not one trtgui opens: use {FORMAT_WORDS}."
                )
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
        if _own_signature(data):  # a PNG (or JPEG, ...) start that Pillow could not read
            raise InferenceError(
                f"The image {name} is damaged or truncated and cannot be decoded: it starts as "
                f"{_own_signature(data)} file but its data is incomplete or broken.",
                details=repr(exc),
            ) from exc
        raise InferenceError(
            f"{name} is not an image trtgui opens (its content is none of {FORMAT_WORDS}): "
            "choose a picture in one of those formats.",
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


def target_size(image_size: tuple[int, int], spec: PreprocessSpec) -> tuple[int, int]:
    """(width, height) of the tensor for an image of `image_size` (width, height)."""
    if spec.resize == "fit_height":
        return text_line_widths(image_size, spec)[0], spec.height
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


def text_line_widths(image_size: tuple[int, int], spec: PreprocessSpec) -> tuple[int, int]:
    """(tensor width, picture width) of a "fit_height" text line, as PaddleOCR's
    resize_norm_img computes them: the picture ceil(H * w / h) wide, the tensor int(H * w / h)
    but at least `width` (the rest is padding), both at most `limit_side`."""
    w, h = image_size
    ratio = w / float(h)
    widest = spec.limit_side or MAX_SIDE
    tensor_w = min(widest, max(spec.width, int(spec.height * ratio)))
    return tensor_w, max(1, min(tensor_w, math.ceil(spec.height * ratio)))


_FILTERS = {"bilinear": Image.Resampling.BILINEAR, "lanczos": Image.Resampling.LANCZOS}


def resize_image(image: Image.Image, spec: PreprocessSpec) -> tuple[Image.Image, Letterbox]:
    """The geometric half of preprocessing: the picture the tensor is made of."""
    w0, h0 = image.size
    tw, th = target_size((w0, h0), spec)
    # "bilinear" unless the spec names another filter (U²-Net's recipe resizes with Lanczos)
    bilinear = _FILTERS.get(spec.resample, Image.Resampling.BILINEAR)
    if spec.resize in ("stretch", "fit"):
        same = (tw, th) == (w0, h0)
        out = image if same else image.resize((tw, th), bilinear, reducing_gap=REDUCING_GAP)
        return out, Letterbox(w0, h0, tw, th, tw / w0, th / h0)
    if spec.resize == "fit_height":
        # Narrower than the tensor when the line is short: `preprocess` pads the tensor on
        # the right (after normalisation, as PaddleOCR pads its normalised line with 0).
        pw = text_line_widths((w0, h0), spec)[1]
        same = (pw, th) == (w0, h0)
        out = image if same else image.resize((pw, th), bilinear, reducing_gap=REDUCING_GAP)
        return out, Letterbox(w0, h0, tw, th, pw / w0, th / h0)
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
    if spec.resize == "letterbox_top_left":
        # YOLOX's preproc: the sides truncated (int(w * r)), the picture at (0, 0), and boxes
        # mapped back by dividing by r alone.
        r = min(tw / w0, th / h0)
        nw, nh = max(1, int(w0 * r)), max(1, int(h0 * r))
        same = (nw, nh) == (w0, h0)
        resized = image if same else image.resize((nw, nh), bilinear, reducing_gap=REDUCING_GAP)
        canvas = Image.new(image.mode, (tw, th), _pad_colour(spec, image.mode))
        canvas.paste(resized, (0, 0))
        return canvas, Letterbox(w0, h0, tw, th, r, r)
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
    tensor = pixels_to_tensor(pixels, spec)
    if pixels.shape[1] < box.input_width:
        tensor = _pad_right(tensor, box.input_width, spec)
    return tensor, box


def _pad_right(tensor: np.ndarray, width: int, spec: PreprocessSpec) -> np.ndarray:
    """`tensor` widened to `width` on the right with the normalised value of a `pad_value`
    pixel per channel (0 for PaddleOCR's text lines: pixel 127.5 under (x/255 - 0.5)/0.5)."""
    axis = 3 if spec.layout == "NCHW" else 2
    channels = tensor.shape[1 if spec.layout == "NCHW" else 3]
    mean = np.broadcast_to(np.asarray(spec.mean, np.float64), (3,))
    std = np.broadcast_to(np.asarray(spec.std, np.float64), (3,))
    if channels == 1:  # a grayscale input with RGB statistics: their average, as above
        mean, std = mean.mean(keepdims=True), std.mean(keepdims=True)
    fill = (spec.pad_value * spec.scale - mean) / std  # float64: 127.5 gives exactly 0
    shape = list(tensor.shape)
    shape[axis] = width
    out = np.empty(shape, tensor.dtype)
    index: list[slice | int] = [slice(None)] * 4
    index[axis] = slice(0, tensor.shape[axis])
    out[tuple(index)] = tensor
    index[axis] = slice(tensor.shape[axis], width)
    if tensor.dtype.kind in "iu":
        info = np.iinfo(tensor.dtype)
        fill = np.clip(np.rint(fill), info.min, info.max)
    shaped = fill.reshape((1, -1, 1, 1) if spec.layout == "NCHW" else (1, 1, 1, -1))
    out[tuple(index)] = shaped.astype(tensor.dtype)
    return out


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
    scale = float(spec.scale)
    if spec.scale_to_max:  # rembg's U²-Net: pixels / their largest value (a black picture: 1)
        scale = 1.0 / max(1, int(pixels.max(initial=0)))
    a, b, unit_a, zero_b = _coefficients(scale, tuple(spec.mean), tuple(spec.std), int(c))
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
