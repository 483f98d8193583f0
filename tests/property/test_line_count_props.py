"""`line_count` counts lines exactly as Python's own `str.splitlines` does (the independent
reference), for text mixing every line boundary it knows, without building the list."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trtgui.core.text import line_count

# Every boundary str.splitlines splits on (Python docs, "str.splitlines"), plus plain text.
BOUNDARIES = ["\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
PIECES = st.lists(st.sampled_from([*BOUNDARIES, "a", "bc", " ", "\t", "é"]), max_size=40)


@given(PIECES)
def test_line_count_is_splitlines_length(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert line_count(text) == len(text.splitlines())


@given(st.text(max_size=200))
def test_line_count_on_any_text(text: str) -> None:
    assert line_count(text) == len(text.splitlines())


def test_a_large_value_is_counted_without_splitting() -> None:
    # 100,000 lines of 12 characters: splitlines' own count is the reference.
    text = "metadata 42\n" * 100_000
    assert line_count(text) == len(text.splitlines()) == 100_000
