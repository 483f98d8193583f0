"""Class scores → top-k classes: [N, C], [N, C, 1, 1] or [C] scores, softmaxed when they are
logits, named by the labels (or numbered)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trtgui.core.predict.decoders.base import (
    ClassScore,
    DecodeContext,
    Decoder,
    Outputs,
    Prediction,
    class_label,
    looks_like_probabilities,
    no_match,
    register,
    softmax,
    stats_summary,
)

KIND = "classification"


def class_vector(a: np.ndarray) -> np.ndarray | None:
    """[N, C], [N, C, 1, 1] or [C] → the first image's C scores."""
    if a.ndim == 1 and a.size >= 2:
        return a
    if a.ndim >= 2 and a.shape[1] >= 2 and all(d == 1 for d in a.shape[2:]):
        vec: np.ndarray = a[0].reshape(-1)
        return vec
    return None


def class_count(shape: Sequence[int | str | None] | None) -> int | None:
    """The class count of a class-score output shape ([N, C], [N, C, 1, 1] or [C]; dims may
    be symbolic), as `class_vector` reads it; None for other shapes or an unknown C."""
    if not shape:
        return None
    if len(shape) == 1:
        c = shape[0]
    elif all(d == 1 for d in shape[2:]):
        c = shape[1]
    else:
        return None
    return c if isinstance(c, int) and c >= 2 else None


def pick_class_output(
    outputs: Outputs, labels: Sequence[str] | None
) -> tuple[str, np.ndarray | None]:
    """The output holding the class scores (the one the labels fit, else the largest) and
    its first image's scores; (first name, None) when no output has class scores."""
    candidates = [(k, class_vector(np.asarray(v))) for k, v in outputs.items()]
    found = [(k, v) for k, v in candidates if v is not None and v.dtype.kind == "f"]
    if not found:
        return next(iter(outputs)), None
    if labels:
        for k, v in found:
            if v.size in (len(labels), len(labels) + 1):
                return k, v
    return max(found, key=lambda kv: kv[1].size)


def _matches(outputs: Outputs) -> bool:
    floats = (a for a in map(np.asarray, outputs.values()) if a.dtype.kind == "f")
    return any(class_vector(a) is not None for a in floats)


def decode(outputs: Outputs, ctx: DecodeContext) -> Prediction:
    labels = ctx.labels
    name, vec = pick_class_output(outputs, labels)
    if vec is None:
        raise no_match("class scores ([N, classes])", outputs)
    scores = vec.astype(np.float32)
    notes: list[str] = []
    if looks_like_probabilities(scores):
        probs = scores
    else:
        probs = softmax(scores)
        notes.append(f"softmax applied to {name} (the outputs look like logits)")
    k = max(1, min(ctx.top_k, probs.size))
    top = np.argpartition(-probs, k - 1)[:k]
    top = top[np.argsort(-probs[top], kind="stable")]
    n = int(probs.size)
    if labels and n not in (len(labels), len(labels) + 1):
        notes.append(f"the labels list has {len(labels)} names but {name} has {n} classes")
    classes = tuple(
        ClassScore(int(i), class_label(labels, int(i), n), float(probs[i])) for i in top
    )
    return Prediction(
        kind=KIND,
        image_size=ctx.image_size,
        classes=classes,
        source_outputs=(name,),
        stats=ctx.stats,
        notes=tuple(notes),
    )


def summarise(prediction: Prediction) -> str:
    top = prediction.top
    if top is None:
        return stats_summary(prediction)
    return f"{top.label} ({top.score:.1%})"


register(
    Decoder(
        kind=KIND,
        title="Classification",
        rank=10,
        decode=decode,
        summarise=summarise,
        matches=_matches,
        guess_order=30,
    )
)
