"""Image files in, RGB pictures out: `load_image` (a PNG, JPEG, BMP, WebP, TIFF or GIF file →
an RGB Pillow image, EXIF-rotated, checked for decompression bombs; no other format is
decoded), `decode_image` for bytes in memory, and `to_rgb` for any Pillow mode. The picture
becomes a tensor in `preprocessing`.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from trtgui.core.errors import InferenceError
from trtgui.core.reading import read_regular

log = logging.getLogger(__name__)

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
