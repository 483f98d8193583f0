"""Tensor dimensions as trtgui reports them: an int (static), a str (a symbolic ONNX dim such
as "batch"), or None (unknown). Kept apart so light modules can use it without importing onnx.
"""

from __future__ import annotations

from collections.abc import Sequence

Dim = int | str | None


def shape_text(shape: Sequence[Dim] | None) -> str:
    """The shape for people and messages: "[batch, 3, 224, 224]", unknown dims as "?"."""
    if shape is None:
        return "[?]"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"
