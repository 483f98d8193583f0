"""Images in, input tensors out: `preprocess` (image + `PreprocessSpec` → input tensor and the
`Letterbox` back, through `resizing.resize_image`) and `pixels_to_tensor`, the normalisation:
one vectorised multiply-add per channel in numpy.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from trtgui.core.errors import InferenceError
from trtgui.core.imaging.images import to_rgb
from trtgui.core.imaging.resizing import Letterbox, resize_image
from trtgui.core.imaging.spec import PreprocessSpec, validate_spec

ImageLike = Image.Image | np.ndarray


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
    mean, std = _channel_statistics(spec.mean, spec.std, channels)
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


def _channel_statistics(
    mean: tuple[float, ...], std: tuple[float, ...], channels: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per channel (float64, `channels` values each) from a spec's 1 or 3
    values; a grayscale input with RGB statistics gets their average."""
    m = np.asarray(mean, np.float64)
    s = np.asarray(std, np.float64)
    if channels == 1:
        m, s = m.mean(keepdims=True), s.mean(keepdims=True)
    return np.broadcast_to(m, (channels,)), np.broadcast_to(s, (channels,))


@functools.lru_cache(maxsize=64)
def _coefficients(
    scale: float, mean: tuple[float, ...], std: tuple[float, ...], channels: int
) -> tuple[np.ndarray, np.ndarray, bool, bool]:
    """(a, b, a is all ones, b is all zeros) with (p * scale - mean) / std == p * a + b per
    channel, as read-only float32 arrays (cached: the same spec serves every image)."""
    m, s = _channel_statistics(mean, std, channels)
    a = np.float32(scale) / s.astype(np.float32)  # new arrays: the flags below are theirs
    b = (-m / s).astype(np.float32)
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
