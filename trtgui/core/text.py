"""Free text from a model file, made fit for one line of a summary.

ONNX metadata values can be anything: PP-OCR recognisers keep a 6,623-line character list in
one, others a whole HTML page. Summaries (the Model panel, `trtgui-cli inspect`) show such a
value as one short line that says how much was left out; the full value stays reachable
elsewhere (a dialog, `--json`).
"""

from __future__ import annotations

import re

PREVIEW_CHARS = 200
LINE_BREAK = " ⏎ "  # where a line ended, in a one-line preview

# C0/C1 controls (tabs and line ends are handled before): shown as \x.. so none reaches a
# terminal or a label as a control.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """`text` on one line: its non-blank lines stripped and joined by " ⏎ ", tabs as spaces,
    other control characters escaped (\\x1b)."""
    lines = (line.replace("\t", " ").strip() for line in text.splitlines())
    flat = LINE_BREAK.join(line for line in lines if line)
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", flat)


def line_count(text: str) -> int:
    return len(text.splitlines())


def is_long(text: str, limit: int = PREVIEW_CHARS) -> bool:
    """Whether `shorten` leaves part of `text` out."""
    return len(one_line(text)) > limit


def shorten(text: str, limit: int = PREVIEW_CHARS, hint: str = "") -> str:
    """`one_line(text)`, cut to about `limit` characters with what was left out said:
    "' ⏎ 疗 ⏎ 绚 … (6,623 lines)"; `hint` says where the rest is: "… (6,623 lines; --json for
    all)". Short text comes back as `one_line` alone."""
    flat = one_line(text)
    if len(flat) <= limit:
        return flat
    lines = line_count(text)
    size = f"{lines:,} lines" if lines > 1 else f"{len(text):,} characters"
    return f"{flat[:limit].rstrip()} … ({size}{'; ' + hint if hint else ''})"
