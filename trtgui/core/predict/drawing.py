"""Drawing a `Prediction` on its picture with Pillow (used by the CLI's --save and the GUI).

Owns the look of results: a heat-map or class-colour overlay for maps, boxes with a filled
label tag per detection, and a top-k panel with score bars for classifiers. Sizes (lines,
fonts) scale with the picture so small and large images both read well.
"""

from __future__ import annotations

import functools
import logging

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from trtgui.core.predict.decoders import Prediction

log = logging.getLogger(__name__)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# Tableau-like categorical colours: distinct, readable with white text.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (0, 92, 230),
    (230, 0, 115),
)

# Anchors of a "turbo"-like colormap (blue → cyan → green → yellow → red).
_HEAT_ANCHORS = np.array(
    [
        [48, 18, 59],
        [70, 107, 227],
        [40, 188, 235],
        [50, 241, 151],
        [164, 252, 60],
        [237, 208, 58],
        [251, 128, 34],
        [212, 55, 11],
        [122, 4, 3],
    ],
    dtype=np.float32,
)


@functools.cache
def heat_lut() -> np.ndarray:
    """256 x 3 uint8 colormap."""
    x = np.linspace(0, len(_HEAT_ANCHORS) - 1, 256)
    lo = np.floor(x).astype(int)
    hi = np.minimum(lo + 1, len(_HEAT_ANCHORS) - 1)
    t = (x - lo)[:, None]
    lut: np.ndarray = (_HEAT_ANCHORS[lo] * (1 - t) + _HEAT_ANCHORS[hi] * t).astype(np.uint8)
    return lut


def class_colour(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


@functools.cache
def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError, ImportError) as exc:  # Pillow without FreeType
        log.debug("scalable default font unavailable (%s); using the bitmap font", exc)
        return ImageFont.load_default()


def _text_size(draw: ImageDraw.ImageDraw, text: str, font: Font) -> tuple[int, int, int]:
    """(width, height, top offset) of `text` drawn at (0, 0)."""
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    return int(x1 - x0), int(y1 - y0), int(y0)


def overlay_map(image: Image.Image, prob: np.ndarray, max_alpha: float = 0.6) -> Image.Image:
    """Blend a 0..1 probability map over `image` as a heat map; low values stay clear."""
    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    p = np.clip(np.nan_to_num(prob.astype(np.float32)), 0.0, 1.0)
    if p.shape != base.shape[:2]:
        p = np.asarray(
            Image.fromarray(p, "F").resize(
                (base.shape[1], base.shape[0]), Image.Resampling.BILINEAR
            )
        )
    colours = heat_lut()[(p * 255).astype(np.uint8)].astype(np.float32)
    alpha = (max_alpha * np.sqrt(p))[:, :, None]  # sqrt: faint evidence still shows
    out = base * (1 - alpha) + colours * alpha
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "RGB")


def overlay_classes(image: Image.Image, class_map: np.ndarray, alpha: float = 0.5) -> Image.Image:
    """Colour each pixel by its class (class 0, usually background, left clear)."""
    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    lut = np.array([class_colour(i) for i in range(256)], dtype=np.float32)
    colours = lut[np.mod(class_map, 256)]
    a = np.where(class_map[:, :, None] > 0, alpha, 0.0).astype(np.float32)
    out = base * (1 - a) + colours * a
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "RGB")


def draw_prediction(
    image: Image.Image, prediction: Prediction, show_scores: bool = True
) -> Image.Image:
    """A new RGB picture with the prediction drawn on it (the input is not changed)."""
    canvas = image.convert("RGB") if image.mode != "RGB" else image.copy()
    if prediction.mask is not None:
        canvas = overlay_map(canvas, prediction.mask)
    if prediction.class_map is not None and prediction.class_map.shape[:2] == (
        canvas.height,
        canvas.width,
    ):
        canvas = overlay_classes(canvas, prediction.class_map)
    unit = max(1.0, min(canvas.size) / 400.0)  # 1 at 400 px, grows with the picture
    if prediction.boxes:
        _draw_boxes(canvas, prediction, unit, show_scores)
    if prediction.kind == "classification" and prediction.classes:
        _draw_topk(canvas, prediction, unit)
    elif prediction.kind == "segmentation":
        _draw_caption(canvas, _segmentation_caption(prediction), unit)
    elif prediction.kind == "detection":
        _draw_caption(canvas, prediction.summary(), unit)
    return canvas


def _draw_boxes(
    canvas: Image.Image, prediction: Prediction, unit: float, show_scores: bool
) -> None:
    draw = ImageDraw.Draw(canvas, "RGBA")
    width = max(2, round(2 * unit))
    font = _font(max(11, round(12 * unit)))
    regions = prediction.kind == "segmentation"
    for box in sorted(prediction.boxes, key=lambda b: b.score):  # best drawn last, on top
        colour = class_colour(box.class_index) if not regions else (255, 255, 255)
        x1, y1, x2, y2 = box.x1, box.y1, box.x2, box.y2
        if regions:  # thin dark outline under a white one: visible on any heat map
            draw.rectangle((x1 - 1, y1 - 1, x2 + 1, y2 + 1), outline=(0, 0, 0, 200), width=1)
            draw.rectangle((x1, y1, x2, y2), outline=colour, width=max(1, width // 2))
            continue
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=width)
        text = f"{box.label} {box.score:.2f}" if show_scores else box.label
        tw, th, top = _text_size(draw, text, font)
        pad = max(2, round(2 * unit))
        tag_h = th + 2 * pad
        ty = y1 - tag_h if y1 - tag_h >= 0 else y1  # above the box, or inside at the top
        tx = min(max(0.0, x1), max(0.0, canvas.width - tw - 2 * pad))
        draw.rectangle((tx, ty, tx + tw + 2 * pad, ty + tag_h), fill=(*colour, 230))
        draw.text((tx + pad, ty + pad - top), text, fill=(255, 255, 255), font=font)


def _panel(
    canvas: Image.Image, lines: list[str], unit: float, bars: list[float] | None = None
) -> None:
    """A translucent dark panel in the top-left corner with `lines` (and score bars)."""
    draw = ImageDraw.Draw(canvas, "RGBA")
    font = _font(max(11, round(13 * unit)))
    pad = round(6 * unit)
    gap = round(3 * unit)
    sizes = [_text_size(draw, line, font) for line in lines]
    line_h = max(h for _, h, _ in sizes)
    bar_h = max(3, round(3 * unit)) if bars else 0
    row_h = line_h + bar_h + gap + (gap if bars else 0)
    text_w = max(w for w, _, _ in sizes)
    panel_w = min(canvas.width - 2 * pad, text_w + 2 * pad)
    panel_h = len(lines) * row_h - gap + 2 * pad
    x0, y0 = pad, pad
    draw.rounded_rectangle(
        (x0, y0, x0 + panel_w, y0 + panel_h), radius=round(4 * unit), fill=(0, 0, 0, 165)
    )
    y = y0 + pad
    for i, (line, (_, _, top)) in enumerate(zip(lines, sizes, strict=True)):
        colour = (255, 255, 255) if i == 0 else (225, 225, 225)
        draw.text((x0 + pad, y - top), line, fill=colour, font=font)
        if bars:
            by = y + line_h + gap
            full = panel_w - 2 * pad
            draw.rectangle((x0 + pad, by, x0 + pad + full, by + bar_h), fill=(255, 255, 255, 50))
            filled = max(1, round(full * min(1.0, max(0.0, bars[i]))))
            draw.rectangle(
                (x0 + pad, by, x0 + pad + filled, by + bar_h), fill=(*class_colour(i), 255)
            )
        y += row_h


def _draw_topk(canvas: Image.Image, prediction: Prediction, unit: float) -> None:
    lines = [f"{c.label}  {c.score:.1%}" for c in prediction.classes]
    _panel(canvas, lines, unit, [c.score for c in prediction.classes])


def _draw_caption(canvas: Image.Image, text: str, unit: float) -> None:
    _panel(canvas, [text], unit)


def _segmentation_caption(prediction: Prediction) -> str:
    if prediction.region_count is not None:
        n = prediction.region_count
        what = prediction.boxes[0].label if prediction.boxes else "region"
        plural = "s" if n != 1 else ""
        noun = f"region{plural}" if what == "region" else f"{what} region{plural}"
        return f"{n} {noun} (p > {prediction.threshold:g})"
    return prediction.summary()
