"""Long free text from model files shortened to one line (issue #10: PP-OCR metadata)."""

from __future__ import annotations

from pathlib import Path

from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.text import is_long, one_line, shorten


def test_short_text_stays_whole() -> None:
    assert shorten("pose") == "pose"
    assert shorten("a\n\n  b\n") == "a ⏎ b"  # blank lines dropped, ends stripped
    assert not is_long("a" * 200)
    assert is_long("a" * 201)


def test_long_text_says_what_was_left_out() -> None:
    lines = "\n".join(f"line {i}" for i in range(1000))
    text = shorten(lines, 50)
    assert text.startswith("line 0 ⏎ line 1 ⏎ line 2")
    assert text.endswith("… (1,000 lines)")
    assert len(text) < 50 + len(" … (1,000 lines)") + 1
    assert (
        shorten("x" * 5000, 10, hint="--json for all")
        == "xxxxxxxxxx … (5,000 characters; --json for all)"
    )


def test_control_characters_are_escaped() -> None:
    assert one_line("red\x1b[31m\tbell\x07") == "red\\x1b[31m bell\\x07"


def test_pp_ocr_character_list(shared_models: Path) -> None:
    value = inspect_onnx(shared_models / "onnx" / "ch_PP-OCRv3_rec_infer.onnx").metadata[
        "character"
    ]
    # 6,625 classes = the CTC blank + the list's lines + " " (shared/models README): 6,623 lines
    text = shorten(value)
    assert text.endswith("… (6,623 lines)")
    assert "\n" not in text and len(text) < 220
