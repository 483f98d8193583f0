"""Drawing a `Prediction` on its picture with Pillow (used by the CLI's --save and the GUI).

Owns the look of results: a heat-map or class-colour overlay for maps, a tint for salient-object
masks, boxes with a filled label tag per detection, faces with their landmarks as dots, poses
as COCO skeletons, and a top-k panel with score bars for classifiers. Sizes (lines, fonts)
scale with the picture so small and large images both read well.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import replace

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from trtgui.core.predict.decoders import Prediction
from trtgui.core.predict.decoders.keypoints import VISIBLE, visible_limbs

log = logging.getLogger(__name__)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# The result panel's margins (6 px each side at 400 px and below) and a few characters: a
# picture narrower or lower than this is drawn without it (a 5 px wide one broke Pillow).
MIN_PANEL_SIDE = 32

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
        if prediction.kind == "segmentation" and prediction.region_count is None:
            canvas = overlay_tint(canvas, prediction.mask)  # a salient-object mask
        else:
            canvas = overlay_map(canvas, prediction.mask)
    if prediction.class_map is not None and prediction.class_map.shape[:2] == (
        canvas.height,
        canvas.width,
    ):
        canvas = overlay_classes(canvas, prediction.class_map)
    unit = max(1.0, min(canvas.size) / 400.0)  # 1 at 400 px, grows with the picture
    if prediction.kind == "faces":
        _draw_faces(canvas, prediction, unit, show_scores)
    elif prediction.kind == "text-regions":
        _draw_text_regions(canvas, prediction, unit)
    elif prediction.kind == "keypoints":
        _draw_poses(canvas, prediction, unit, show_scores)
    elif prediction.boxes:
        _draw_boxes(canvas, prediction, unit, show_scores)
    if prediction.kind == "classification" and prediction.classes:
        _draw_topk(canvas, prediction, unit)
    elif prediction.kind == "segmentation":
        _draw_caption(canvas, _segmentation_caption(prediction), unit)
    elif prediction.kind in ("detection", "faces", "keypoints"):
        _draw_caption(canvas, prediction.summary(), unit)
    elif prediction.kind == "text":
        canvas = _with_text_band(canvas, prediction, unit)
    return canvas


# A face's five landmarks in their usual order: right eye, left eye, nose, mouth corners.
LANDMARK_COLOURS = ((255, 64, 64), (255, 220, 0), (230, 0, 230), (0, 200, 0), (0, 160, 255))
MASK_TINT = (0, 200, 120)


def overlay_tint(
    image: Image.Image,
    mask: np.ndarray,
    colour: tuple[int, int, int] = MASK_TINT,
    alpha: float = 0.45,
) -> Image.Image:
    """Tint `image` where a 0..1 mask is on (in proportion to it), and dim the rest a little,
    so the object the mask picks stands out."""
    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    m = np.clip(np.nan_to_num(mask.astype(np.float32)), 0.0, 1.0)
    if m.shape != base.shape[:2]:
        m = np.asarray(
            Image.fromarray(m, "F").resize(
                (base.shape[1], base.shape[0]), Image.Resampling.BILINEAR
            )
        )
    a = (alpha * m)[:, :, None]
    dim = (1.0 - 0.35 * (1.0 - m))[:, :, None]  # the background at 65 %
    out = base * dim * (1 - a) + np.asarray(colour, np.float32) * a
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "RGB")


def _draw_faces(
    canvas: Image.Image, prediction: Prediction, unit: float, show_scores: bool
) -> None:
    """Faces as boxes with their landmarks as dots (one colour per landmark, outlined in
    black). Face proposals (MTCNN's P-Net) overlap by the dozen: only the best gets a tag,
    the others a thin outline."""
    draw = ImageDraw.Draw(canvas, "RGBA")
    best, rest = prediction.boxes[:1], prediction.boxes[1:]
    if rest and rest[0].label == best[0].label and "proposal" in best[0].label:
        for box in rest:
            x1, x2 = sorted((box.x1, box.x2))
            y1, y2 = sorted((box.y1, box.y2))
            draw.rectangle((x1, y1, x2, y2), outline=(*class_colour(0), 170), width=1)
        _draw_boxes(canvas, replace(prediction, boxes=best), unit, show_scores)
    elif prediction.boxes:
        _draw_boxes(canvas, prediction, unit, show_scores)
    r = max(2.0, 2.5 * unit)
    for box in prediction.boxes:
        for i, (x, y, _conf) in enumerate(box.keypoints):
            colour = LANDMARK_COLOURS[i % len(LANDMARK_COLOURS)]
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour, outline=(0, 0, 0), width=1)


def _draw_poses(
    canvas: Image.Image, prediction: Prediction, unit: float, show_scores: bool
) -> None:
    """People as boxes with their skeleton: the COCO limbs whose two ends are visible, and
    the visible keypoints as dots (hidden ones, conf < 0.5, are guesses off the body)."""
    _draw_boxes(canvas, prediction, unit, show_scores)
    draw = ImageDraw.Draw(canvas, "RGBA")
    width = max(2, round(2 * unit))
    r = max(2.0, 2.5 * unit)
    for box in prediction.boxes:
        points = box.keypoints
        for n, (i, j) in enumerate(visible_limbs(points)):
            colour = class_colour(n)
            draw.line((points[i][:2], points[j][:2]), fill=(*colour, 230), width=width)
        for x, y, conf in points:
            if conf >= VISIBLE:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255), outline=(0, 0, 0))


def _draw_boxes(
    canvas: Image.Image, prediction: Prediction, unit: float, show_scores: bool
) -> None:
    draw = ImageDraw.Draw(canvas, "RGBA")
    width = max(2, round(2 * unit))
    font = _font(max(11, round(12 * unit)))
    regions = prediction.kind == "segmentation"
    for box in sorted(prediction.boxes, key=lambda b: b.score):  # best drawn last, on top
        colour = class_colour(box.class_index) if not regions else (255, 255, 255)
        # Pillow refuses x2 < x1: a decoder's box may come inverted (a model's raw numbers).
        x1, x2 = sorted((box.x1, box.x2))
        y1, y2 = sorted((box.y1, box.y2))
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
    if not fits_panel(canvas.size):  # no room: the CLI and the panel list the result anyway
        return
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


def fits_panel(size: tuple[int, int]) -> bool:
    """Whether a picture of `size` (width, height) has room for the result panel: its
    margins and some text. Narrower ones (a 5×300 strip, a 1×1 pixel) are drawn without it."""
    width, height = size
    return width >= MIN_PANEL_SIDE and height >= MIN_PANEL_SIDE


def small_picture_note(size: tuple[int, int], prediction: Prediction) -> str:
    """The note for a picture too small for the result panel ("" when it fits or there is
    no panel to draw)."""
    panel = prediction.kind in ("classification", "segmentation", "detection", "keypoints")
    if fits_panel(size) or not panel:
        return ""
    return (
        f"the picture is only {size[0]}×{size[1]} pixels, too small to write the result on: "
        "it is drawn without the result panel"
    )


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


# -- text ------------------------------------------------------------------------------------


def _draw_text_regions(canvas: Image.Image, prediction: Prediction, unit: float) -> None:
    """Each text region's outline (its rotated rectangle) with its reading-order number in
    a tag at its top-left corner; no result panel, which would hide the first line."""
    draw = ImageDraw.Draw(canvas, "RGBA")
    width = max(1, round(1.5 * unit))
    font = _font(max(10, round(11 * unit)))
    pad = max(1, round(2 * unit))
    for number, box in enumerate(prediction.boxes, start=1):
        colour = class_colour(number - 1)
        corners = box.polygon or (
            (box.x1, box.y1),
            (box.x2, box.y1),
            (box.x2, box.y2),
            (box.x1, box.y2),
        )
        draw.polygon(list(corners), outline=(*colour, 255), fill=(*colour, 40), width=width)
        tag = str(number)
        tw, th, top = _text_size(draw, tag, font)
        x, y = min(p[0] for p in corners), min(p[1] for p in corners)
        x = min(max(0.0, x), max(0.0, canvas.width - tw - 2 * pad))
        y = min(max(0.0, y), max(0.0, canvas.height - th - 2 * pad))
        draw.rectangle((x, y, x + tw + 2 * pad, y + th + 2 * pad), fill=(*colour, 230))
        draw.text((x + pad, y + pad - top), tag, fill=(255, 255, 255), font=font)


def _with_text_band(canvas: Image.Image, prediction: Prediction, unit: float) -> Image.Image:
    """The text line with what was read written in a dark band under it: a line picture is
    too low to write on (a printed line is 20-40 px high)."""
    line = prediction.texts[0] if prediction.texts else None
    caption = f"{line.text}   {line.score:.0%}" if line and line.text else "(no text read)"
    font = _font(max(12, round(14 * unit)))
    probe = ImageDraw.Draw(canvas)
    tw, th, top = _text_size(probe, caption, font)
    pad = max(3, round(5 * unit))
    out = Image.new(
        "RGB", (max(canvas.width, tw + 2 * pad), canvas.height + th + 2 * pad), (32, 32, 32)
    )
    out.paste(canvas, (0, 0))
    ImageDraw.Draw(out).text(
        (pad, canvas.height + pad - top), caption, fill=(255, 255, 255), font=font
    )
    return out
