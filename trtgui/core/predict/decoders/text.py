"""CTC text recognition ([N, T, C] scores per time step) → the line of text read.

Greedy CTC decoding as PaddleOCR's CTCLabelDecode does it: the best class per time step,
repeats collapsed (a step equal to the one before is dropped), blanks (class 0) dropped; the
characters are `['blank'] + dictionary + [' ']` (PaddleOCR's `use_space_char`, or without the
space when the classes are one fewer); the confidence is the mean of the kept steps' best
probabilities (0 when nothing is kept). The dictionary comes from the labels (`--labels`, a
file beside the model) or the model's `character` metadata (PaddleOCR's ONNX exports).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from trtgui.core.errors import InferenceError
from trtgui.core.predict.decoders.base import (
    DecodeContext,
    Decoder,
    ModelHints,
    Outputs,
    Prediction,
    TextLine,
    looks_like_probabilities,
    no_match,
    register,
    softmax,
)

KIND = "text"
CHARACTER_KEY = "character"  # where PaddleOCR's ONNX exports keep their dictionary
METADATA_SOURCE = "model metadata"  # the labels source of a dictionary read from there
SPACE = " "
BLANK = 0
# paddle2onnx names a recogniser's output after its last op: "softmax_5.tmp_0".
_PADDLE_SOFTMAX = re.compile(r"^softmax_\d+\.tmp_\d+$")


def pick_text_output(outputs: Outputs) -> tuple[str, np.ndarray] | None:
    """The [N, T, C] float output of a CTC recogniser (C ≥ 3: blank and two characters)."""
    for name, value in outputs.items():
        a = np.asarray(value)
        if a.dtype.kind == "f" and a.ndim == 3 and a.shape[2] >= 3 and a.shape[1] >= 1:
            return name, a
    return None


def metadata_dictionary(metadata: Mapping[str, str] | None) -> tuple[str, ...] | None:
    """The dictionary in a model's `character` metadata, one character per line (as
    RapidOCR reads it), or None when there is no such entry."""
    text = (metadata or {}).get(CHARACTER_KEY)
    return tuple(text.splitlines()) if text else None


def fits(dictionary_size: int, classes: int) -> bool:
    """Whether `classes` scores are blank + the dictionary (+ the space PaddleOCR appends)."""
    return classes in (dictionary_size + 2, dictionary_size + 1)


def characters(dictionary: tuple[str, ...], classes: int) -> tuple[str, ...]:
    """The class names: blank, the dictionary, and the space when there is room for it."""
    names = ("", *dictionary)  # blank: never shown (it is dropped)
    return (*names, SPACE) if classes == len(dictionary) + 2 else names


def ctc_greedy(probs: np.ndarray, names: tuple[str, ...]) -> TextLine:
    """PaddleOCR's greedy decode of one [T, C] probability matrix."""
    best = probs.argmax(axis=1)
    score = probs.max(axis=1)
    keep = best != BLANK
    keep[1:] &= best[1:] != best[:-1]  # a repeat of the step before is the same character
    text = "".join(names[i] for i in best[keep])
    kept = score[keep]
    return TextLine(text, float(kept.mean()) if kept.size else 0.0)


def _dictionary(ctx: DecodeContext, classes: int) -> tuple[str, ...]:
    """The labels as the dictionary, or an error that says how to give the right one."""
    labels = ctx.labels
    if not labels:
        raise InferenceError(
            f"The text recogniser's dictionary is unknown (its {classes:,} classes need "
            f"{classes - 2:,} characters): choose the dictionary as the labels file (--labels), "
            "one character per line."
        )
    if fits(len(labels), classes):
        return labels
    if ctx.labels_source == METADATA_SOURCE:
        raise InferenceError(
            f'The model\'s "{CHARACTER_KEY}" metadata does not match its {classes:,} classes '
            f"({len(labels):,} lines, {classes - 2:,} needed): give the dictionary as the "
            "labels file (--labels).",
            details=f"blank + {classes - 2:,} characters + space = {classes:,} classes",
        )
    where = ctx.labels_source or "the labels"
    raise InferenceError(
        f"The dictionary {where} has {len(labels):,} entries but the model has {classes:,} "
        f"classes ({classes - 2:,} entries needed): choose the model's own dictionary.",
        details=f"blank + {classes - 2:,} characters + space = {classes:,} classes",
    )


def decode(outputs: Outputs, ctx: DecodeContext) -> Prediction:
    found = pick_text_output(outputs)
    if found is None:
        raise no_match("text scores per time step ([N, T, C])", outputs)
    name, a = found
    scores = np.asarray(a[0], np.float32)  # [T, C]
    classes = int(scores.shape[1])
    names = characters(_dictionary(ctx, classes), classes)
    notes: list[str] = []
    if not looks_like_probabilities(scores, axis=1):
        scores = softmax(scores, axis=1)
        notes.append(f"softmax over the {classes:,} classes of {name}")
    line = ctc_greedy(scores, names)
    return Prediction(
        kind=KIND,
        image_size=ctx.image_size,
        texts=(line,),
        source_outputs=(name,),
        stats=ctx.stats,
        notes=tuple(notes),
    )


def explain(outputs: Outputs, hints: ModelHints) -> str | None:
    """Why the outputs look like a CTC recogniser's, or None."""
    found = pick_text_output(outputs)
    if found is None:
        return None
    name, a = found
    classes = int(a.shape[2])
    shape = f"[N,T,{classes}]"
    if hints.labels_count is not None and fits(hints.labels_count, classes):
        return f"text: output {shape} fits the {hints.labels_count:,}-entry dictionary given"
    dictionary = metadata_dictionary(hints.metadata)
    if dictionary is not None:
        if fits(len(dictionary), classes):
            return f'text: output {shape} with a "{CHARACTER_KEY}" dictionary in the metadata'
        return (
            f'text: output {shape} with "{CHARACTER_KEY}" metadata (PaddleOCR\'s dictionary key, '
            f"though it does not fit the {classes:,} classes)"
        )
    if _PADDLE_SOFTMAX.match(name):
        return f"text: output {name} {shape} is named like a PaddleOCR recogniser's"
    return None


def summarise(prediction: Prediction) -> str:
    if not prediction.texts:
        return "no text"
    line = prediction.texts[0]
    if not line.text:
        return "no text read"
    return f'"{line.text}" (confidence {line.score:.2f})'


register(
    Decoder(
        kind=KIND,
        title="Text (CTC recognition)",
        rank=40,
        decode=decode,
        summarise=summarise,
        explain=explain,
        guess_order=5,  # before detection: [N, T, C] also fits a YOLO layout
    )
)
