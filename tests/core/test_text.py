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


def test_format_bytes_is_the_one_byte_form() -> None:
    # Expected strings: what the three formatters it replaced printed (gui/table_models.py,
    # cli/cmd_build.py, cli/cmd_inspect.py at f1dd81b), binary units: 1 KiB = 1024 B.
    from trtgui.core.text import format_bytes

    assert format_bytes(None) == "—"
    assert format_bytes(0) == "0 B"
    assert format_bytes(1023) == "1023 B"
    assert format_bytes(1024) == "1.0 KiB"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(123_456_789) == "117.7 MiB"  # 123456789 / 2**20 = 117.74
    assert format_bytes(2**30) == "1.0 GiB"
    assert format_bytes(5 * 2**40) == "5120.0 GiB"  # GiB is the largest unit


def test_escape_control_and_shown() -> None:
    from trtgui.core.text import escape_control, shown

    assert escape_control("red\x1b[31m\r\n\x9b") == "red\\x1b[31m\\x0d\\x0a\\x9b"
    assert escape_control("ünïcode ⏎") == "ünïcode ⏎"  # only controls change
    assert shown("224") == '"224"' and shown(224) == "224"  # as the user wrote it in JSON
    assert shown("x" * 100) == '"' + "x" * 38 + "…"  # 40 characters at most
