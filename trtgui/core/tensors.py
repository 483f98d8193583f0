"""The one record for a tensor that crosses a model, a build, an engine or a runner: its name,
dtype, shape and direction. Every stage describes its inputs and outputs with it, so the GUI
and the CLI render one type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trtgui.core.shapes import Dim, shape_text


@dataclass(frozen=True)
class TensorSpec:
    """An input or output tensor.

    `dtype` is a numpy-style name ("float32", "float16", "int64", "unknown"). `shape` entries:
    int = static (TensorRT's -1 = dynamic is kept as -1, so records read back unchanged),
    str = a symbolic ONNX dimension such as "batch", None = unknown; `shape` None means even
    the rank is unknown.
    """

    name: str
    dtype: str
    shape: tuple[Dim, ...] | None
    is_input: bool = True

    @property
    def mode(self) -> str:
        """ "input" or "output", as TensorRT names the direction."""
        return "input" if self.is_input else "output"

    @property
    def is_dynamic(self) -> bool:
        """True when any dimension (or the rank) is not a fixed number."""
        return self.shape is None or any(not isinstance(d, int) or d < 0 for d in self.shape)

    def shape_text(self, names: tuple[Dim, ...] | None = None) -> str:
        """The shape for people (see `shapes.shape_text`)."""
        return shape_text(self.shape, names) if names is not None else shape_text(self.shape)

    def to_dict(self) -> dict[str, Any]:
        """name, dtype and shape; callers add the direction in the form their JSON uses."""
        return {
            "name": self.name,
            "dtype": self.dtype,
            "shape": None if self.shape is None else list(self.shape),
        }
