"""Tensor dimensions as trtgui reports them, and the one text form of a shape.

A dim is an int (static; -1 where a built engine says "dynamic"), a str (a symbolic ONNX dim
such as "batch"), or None (unknown). `shape_text` is the only writer of shapes for people:
every CLI command and every panel prints "batch×3×224×224" through it, so a shape read in one
place looks the same in the next. `shape_arg` writes the form people type ("1x3x224x224"), and
`split_dims` reads both, so a printed shape can be pasted back into `--shapes` or `--shape`.
Kept apart so light modules can use it without importing onnx.
"""

from __future__ import annotations

from collections.abc import Sequence

Dim = int | str | None

SEPARATOR = "×"  # between dims in shapes shown to people
ARG_SEPARATOR = "x"  # between dims in shapes people type: on every keyboard


def dim_text(dim: Dim) -> str:
    """One dimension: a number, a symbolic name, or "?" when unknown (None, -1)."""
    if dim is None or (isinstance(dim, int) and dim < 0):
        return "?"
    return str(dim)


def named_shape(shape: Sequence[Dim], names: Sequence[Dim] | None) -> tuple[Dim, ...]:
    """`shape` with its unknown dims (None, -1) named after `names`, the ONNX model's shape of
    the same tensor, where that has a symbolic name there: (-1, 3) + ("batch", 3) -> ("batch", 3).
    A `names` of another rank is ignored: it describes some other tensor."""
    if names is None or len(names) != len(shape):
        return tuple(shape)
    return tuple(
        n if isinstance(n, str) and not (isinstance(d, int) and d >= 0) else d
        for d, n in zip(shape, names, strict=True)
    )


def shape_text(shape: Sequence[Dim] | None, names: Sequence[Dim] | None = None) -> str:
    """The shape for people and messages: "batch×3×224×224", "?×1000", "scalar", "unknown".

    Symbolic dims show by name, unknown ones (None, -1) as "?"; `names` (the ONNX model's shape
    of the same tensor) names the dims a built network only knows as -1.
    """
    if shape is None:
        return "unknown"
    if len(shape) == 0:
        return "scalar"
    return SEPARATOR.join(dim_text(d) for d in named_shape(shape, names))


def shape_arg(shape: Sequence[int]) -> str:
    """(1, 3, 224, 224) -> "1x3x224x224": a concrete shape as people type it in a command
    (`--shapes`, `--shape`) or a profile cell. `split_dims` also reads `shape_text`'s "×"."""
    return ARG_SEPARATOR.join(str(int(d)) for d in shape)


def split_dims(text: str) -> list[str]:
    """ "1x3x224x224", "1X3X224X224" or "1×3×224×224" -> ["1", "3", "224", "224"] (stripped,
    not yet checked to be numbers): the typed and the printed form both read back."""
    return [p.strip() for p in text.strip().lower().replace(SEPARATOR, ARG_SEPARATOR).split("x")]
