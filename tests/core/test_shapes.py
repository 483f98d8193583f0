"""The one shape notation (issue #10): `shape_text` for people, `shape_arg` for commands, and
`split_dims`, which reads both, so a printed shape pastes back."""

from __future__ import annotations

import pytest

from trtgui.core.errors import SettingsError
from trtgui.core.model.profiles import InputShape, parse_shape_arg
from trtgui.core.shapes import dim_text, named_shape, shape_arg, shape_text, split_dims


@pytest.mark.parametrize(
    ("shape", "text"),
    [
        (("batch", 3, 224, 224), "batch×3×224×224"),  # symbolic dims by name
        ((None, 3, None, None), "?×3×?×?"),  # unknown (ONNX dim without value or name)
        ((-1, 1000), "?×1000"),  # a built engine's dynamic dim
        ((1, 3, 224, 224), "1×3×224×224"),
        ((), "scalar"),
        (None, "unknown"),  # rank unknown
    ],
)
def test_shape_text(shape: tuple[int | str | None, ...] | None, text: str) -> None:
    assert shape_text(shape) == text


def test_names_name_the_engine_dims() -> None:
    assert shape_text((-1, 3, 224, 224), ("batch", 3, 224, 224)) == "batch×3×224×224"
    assert shape_text((4, 3), ("batch", 3)) == "4×3"  # a known dim keeps its value
    assert shape_text((-1, 8), ("batch",)) == "?×8"  # names of another rank: another tensor
    assert named_shape((-1, 8), ("batch", "n")) == ("batch", 8)
    assert dim_text(None) == dim_text(-1) == "?"


def test_typed_and_printed_forms_read_back() -> None:
    assert shape_arg((1, 3, 224, 224)) == "1x3x224x224"
    for text in ("1x3x224x224", "1X3X224X224", "1×3×224×224", " 1 × 3 x 224×224 "):
        assert split_dims(text) == ["1", "3", "224", "224"]
    printed = shape_text((8, 3, 640, 640))
    assert parse_shape_arg(f"x:{printed}") == InputShape(
        "x", (8, 3, 640, 640), (8, 3, 640, 640), (8, 3, 640, 640)
    )
    mixed = parse_shape_arg("images:1×3×32×32:1x3x640x640:4×3×1024×1024")
    assert (mixed.min, mixed.opt, mixed.max) == (
        (1, 3, 32, 32),
        (1, 3, 640, 640),
        (4, 3, 1024, 1024),
    )


def test_a_symbolic_shape_is_not_a_size() -> None:
    """Pasting the model's own "batch×3×224×224" into --shapes says what to write instead."""
    with pytest.raises(SettingsError, match=r"not a shape: write dimensions joined by 'x'"):
        parse_shape_arg("input:batch×3×224×224")
