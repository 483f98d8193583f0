"""Maps → an overlay in the original picture's size.

One foreground channel (a sigmoid output, a logit, or a 2-class softmax) becomes a probability
mask and its connected regions above the threshold (the text lines of PaddleOCR's DB
detector); a salient-object mask (U²-Net's fused map, as rembg reads it: min-max normalised)
becomes a mask and the share of the picture it covers; more channels become a class per pixel
and the classes present.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trtgui.core.imaging import Letterbox
from trtgui.core.predict.decoders.base import (
    Box,
    ClassScore,
    DecodeContext,
    Decoder,
    ModelHints,
    Outputs,
    Prediction,
    class_label,
    looks_like_probabilities,
    no_match,
    register,
    shapes_text,
    softmax,
)
from trtgui.core.predict.regions import Regions, connected_regions

KIND = "segmentation"
DEFAULT_MAP_THRESHOLD = 0.3  # PaddleOCR DB text detector's binarisation threshold
# More channels than this is a feature map, not class planes.
MAX_CLASSES = 1024
MAP_NAME_WORDS = ("prob", "sigmoid", "mask", "seg", "heat")
# rembg cuts a U²-Net mask at half its range; the share above it is the mask's coverage.
DEFAULT_MASK_THRESHOLD = 0.5
SALIENCY_NAME_WORDS = ("saliency", "matte")
FOREGROUND = "foreground"


def _matches(outputs: Outputs) -> bool:
    return any(
        a.dtype.kind == "f"
        and a.ndim == 4
        and a.shape[2] > 1
        and a.shape[3] > 1
        and a.shape[1] <= MAX_CLASSES
        for a in map(np.asarray, outputs.values())
    )


def saliency_output(outputs: Outputs) -> str | None:
    """The salient-object mask among the outputs, or None: an output named like one, or the
    first of several single-channel maps of one size (U²-Net's deep supervision: the fused
    map, then the side outputs it was made of)."""
    maps = {
        k: a
        for k, a in ((k, np.asarray(v)) for k, v in outputs.items())
        if a.dtype.kind == "f" and a.ndim == 4 and a.shape[1] == 1 and min(a.shape[2:]) > 1
    }
    for k in maps:
        if any(w in k.lower() for w in SALIENCY_NAME_WORDS):
            return k
    same_size = len({a.shape for a in maps.values()}) == 1
    if len(maps) >= 2 and len(maps) == len(outputs) and same_size:
        return next(iter(maps))
    return None


def explain(outputs: Outputs, hints: ModelHints) -> str | None:
    """Why these outputs are a segmentation's, in words; None when they are not."""
    mask = saliency_output(outputs)
    if mask is not None:
        n = len(outputs)
        if n > 1:
            what = f"{n} single-channel maps {list(np.shape(outputs[mask]))}"
            return f"segmentation: {what}, a salient-object mask (the first, {mask}, is fused)"
        return f"segmentation: {mask} {list(np.shape(outputs[mask]))} is a salient-object mask"
    if not _matches(outputs):
        return None
    name = pick_map_output(outputs)
    if name is None:
        return None
    shape = list(np.shape(outputs[name]))
    channels = shape[1] if len(shape) == 4 else shape[0]
    if channels > 2:
        return f"segmentation: {name} {shape} holds {channels} class planes (argmax per pixel)"
    return f"segmentation: {name} {shape} is a probability map ({shapes_text(outputs)})"


def pick_map_output(outputs: Outputs) -> str | None:
    """The map to show: [N, C, H, W] or [C, H, W] with H, W > 1, preferring probability-like
    names, then the fewest channels (a detector's "prob" over its "reg")."""
    maps = {
        k: a
        for k, a in ((k, np.asarray(v)) for k, v in outputs.items())
        if a.ndim in (3, 4) and a.shape[-1] > 1 and a.shape[-2] > 1
    }
    maps = {k: v for k, v in maps.items() if v.ndim == 4 or v.shape[0] <= MAX_CLASSES}
    if not maps:
        return None
    for k in maps:
        if any(w in k.lower() for w in MAP_NAME_WORDS):
            return k
    return min(maps, key=lambda k: (maps[k].shape[-3] if maps[k].ndim == 4 else 1, -maps[k].size))


def decode(outputs: Outputs, ctx: DecodeContext) -> Prediction:
    mask = saliency_output(outputs)
    if mask is not None:
        return _saliency_mask(mask, np.asarray(outputs[mask], np.float32)[0, 0], len(outputs), ctx)
    name = pick_map_output(outputs)
    if name is None:
        raise no_match("a map ([N, C, H, W] or [N, H, W])", outputs)
    a = np.asarray(outputs[name], np.float32)
    planes = a[0] if a.ndim == 4 else a  # [C, H, W]
    if planes.shape[0] <= 2:
        return _probability_map(name, planes, ctx)
    return _class_map(name, planes, ctx)


def _probability_map(name: str, planes: np.ndarray, ctx: DecodeContext) -> Prediction:
    """One foreground probability: its mask and the connected regions above the threshold."""
    threshold = DEFAULT_MAP_THRESHOLD if ctx.threshold is None else ctx.threshold
    notes: list[str] = []
    if planes.shape[0] == 2:
        if not looks_like_probabilities(planes, axis=0):
            planes = softmax(planes, axis=0)
            notes.append(f"softmax over the 2 channels of {name}")
        prob = planes[1]
    else:
        prob = planes[0]
        if float(np.min(prob)) < 0 or float(np.max(prob)) > 1:
            prob = (1.0 / (1.0 + np.exp(-prob))).astype(np.float32)
            notes.append(f"sigmoid applied to {name} (values outside 0..1)")
    regions = connected_regions(prob > threshold)
    boxes = region_boxes(regions, prob, ctx.letterbox, ctx.labels)
    mask = _to_image(prob, ctx.letterbox)
    return Prediction(
        kind=KIND,
        image_size=ctx.image_size,
        boxes=boxes,
        mask=np.clip(mask, 0, 1),
        region_count=len(boxes),
        threshold=threshold,
        source_outputs=(name,),
        stats=ctx.stats,
        notes=tuple(notes),
    )


def _saliency_mask(name: str, plane: np.ndarray, count: int, ctx: DecodeContext) -> Prediction:
    """A salient-object map as rembg reads U²-Net's: min-max normalised to 0..1 (the map is
    not a calibrated probability), in the picture's size; its coverage is the share above
    the threshold."""
    threshold = DEFAULT_MASK_THRESHOLD if ctx.threshold is None else ctx.threshold
    finite = np.nan_to_num(plane.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    low, high = float(finite.min()), float(finite.max())
    unit = (finite - low) / (high - low) if high > low else np.zeros_like(finite)
    mask = np.clip(_to_image(unit, ctx.letterbox), 0, 1)
    coverage = float(np.mean(mask > threshold))
    label = ctx.labels[0] if ctx.labels and len(ctx.labels) == 1 else FOREGROUND
    which = f"the first of {count} maps, {name} (the fused one)" if count > 1 else name
    return Prediction(
        kind=KIND,
        image_size=ctx.image_size,
        classes=(ClassScore(1, label, coverage),),
        mask=mask,
        threshold=threshold,
        source_outputs=(name,),
        stats=ctx.stats,
        notes=(f"salient-object mask from {which}, min-max normalised ({low:.3g}..{high:.3g})",),
    )


def _class_map(name: str, planes: np.ndarray, ctx: DecodeContext) -> Prediction:
    """Argmax per pixel, mapped back with nearest sampling of the class index."""
    c = planes.shape[0]
    cls = np.argmax(planes, axis=0).astype(np.float32)
    if ctx.letterbox is not None:
        class_map = np.rint(_map_nearest(cls, ctx.letterbox)).astype(np.int32)
    else:
        class_map = cls.astype(np.int32)
    counts = np.bincount(class_map.ravel(), minlength=c)
    order = np.argsort(-counts)
    present = [int(i) for i in order if counts[i] > 0][: max(ctx.top_k, 1)]
    total = float(class_map.size)
    classes = tuple(
        ClassScore(i, class_label(ctx.labels, i, c), float(counts[i] / total)) for i in present
    )
    return Prediction(
        kind=KIND,
        image_size=ctx.image_size,
        classes=classes,
        class_map=class_map,
        source_outputs=(name,),
        stats=ctx.stats,
        notes=(f"{c} classes, argmax per pixel",),
    )


def _to_image(plane: np.ndarray, letterbox: Letterbox | None) -> np.ndarray:
    if letterbox is None:
        out: np.ndarray = plane.astype(np.float32)
        return out
    return letterbox.map_to_original(plane)


def _map_nearest(plane: np.ndarray, box: Letterbox) -> np.ndarray:
    mh, mw = plane.shape
    xs = (np.arange(box.image_width) + 0.5) * box.scale_x - box.crop_x + box.pad_x
    ys = (np.arange(box.image_height) + 0.5) * box.scale_y - box.crop_y + box.pad_y
    xi = np.clip((xs * mw / box.input_width).astype(np.int64), 0, mw - 1)
    yi = np.clip((ys * mh / box.input_height).astype(np.int64), 0, mh - 1)
    out: np.ndarray = plane[yi[:, None], xi[None, :]]
    return out


def region_boxes(
    regions: Regions,
    prob: np.ndarray,
    letterbox: Letterbox | None,
    labels: Sequence[str] | None,
    min_side: int = 3,
) -> tuple[Box, ...]:
    """Bounding boxes of connected regions (smaller than `min_side` map pixels dropped, as
    PaddleOCR does), scored by their mean probability, in original-image pixels."""
    if regions.count == 0:
        return ()
    bb = regions.bboxes.astype(np.float32)
    sides = np.minimum(bb[:, 2] - bb[:, 0] + 1, bb[:, 3] - bb[:, 1] + 1)
    keep = np.nonzero(sides >= min_side)[0]
    # mean probability per region, from its runs
    row_cum = np.concatenate([np.zeros((prob.shape[0], 1), np.float64), np.cumsum(prob, axis=1)], 1)
    run_sums = (
        row_cum[regions.run_rows, regions.run_ends] - row_cum[regions.run_rows, regions.run_starts]
    )
    sums = np.bincount(regions.run_labels, weights=run_sums, minlength=regions.count)
    mean_prob = sums / np.maximum(regions.areas, 1)
    mh, mw = prob.shape
    xyxy = np.stack([bb[:, 0], bb[:, 1], bb[:, 2] + 1, bb[:, 3] + 1], axis=1)
    if letterbox is not None:
        xyxy[:, 0::2] *= letterbox.input_width / mw
        xyxy[:, 1::2] *= letterbox.input_height / mh
        xyxy = letterbox.to_original(xyxy)
    name = labels[0] if labels and len(labels) == 1 else "region"
    order = keep[np.lexsort((xyxy[keep, 0], xyxy[keep, 1]))]  # reading order: top to bottom
    return tuple(
        Box(
            float(xyxy[i, 0]),
            float(xyxy[i, 1]),
            float(xyxy[i, 2]),
            float(xyxy[i, 3]),
            float(mean_prob[i]),
            0,
            name,
        )
        for i in order
    )


def summarise(prediction: Prediction) -> str:
    if prediction.region_count is not None:
        n = prediction.region_count
        what = prediction.boxes[0].label if prediction.boxes else "region"
        noun = f"region{'s' if n != 1 else ''}"
        noun = noun if what == "region" else f"{what} {noun}"
        return f"{n} {noun} above {prediction.threshold:g}"
    if prediction.mask is not None and prediction.classes:  # a salient-object mask
        share, cut = prediction.classes[0], prediction.threshold
        return f"{share.label} covers {share.score:.0%} of the picture (mask > {cut:g})"
    if prediction.classes:
        return "classes: " + ", ".join(c.label for c in prediction.classes[:5])
    return "segmentation map"


register(
    Decoder(
        kind=KIND,
        title="Segmentation, probability map",
        rank=30,
        decode=decode,
        summarise=summarise,
        matches=_matches,
        explain=explain,
        guess_order=20,
    )
)
