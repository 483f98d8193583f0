"""The geometric half of preprocessing: the tensor's size for a picture (`target_size`), the
picture resized, cropped or letterboxed to it (`resize_image`, with Pillow: bilinear,
antialiased when shrinking, as torchvision does on PIL images), and the `Letterbox` that maps
tensor coordinates back to the original picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from trtgui.core.imaging.spec import MAX_SIDE, PreprocessSpec

# Shrinking by 6x or more first box-reduces by an integer factor, then resamples: 2-3x faster
# on camera-sized photos, a mean change under 0.2 grey levels; smaller factors are exact.
REDUCING_GAP = 3.0


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
