"""The shared text forms: byte sizes, and free text from a file made fit for one line.

ONNX metadata values can be anything: PP-OCR recognisers keep a 6,623-line character list in
one, others a whole HTML page. Summaries (the Model panel, `trtgui-cli inspect`) show such a
value as one short line that says how much was left out; the full value stays reachable
elsewhere (a dialog, `--json`).
"""

from __future__ import annotations

import json
import re
from typing import Any

PREVIEW_CHARS = 200
LINE_BREAK = " ⏎ "  # where a line ended, in a one-line preview

# C0/C1 controls (tabs and line ends are handled before): shown as \x.. so none reaches a
# terminal or a label as a control.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def format_bytes(n: int | float | None) -> str:
    """A byte count for people: "512 B", "1.5 KiB", "3.2 MiB", "1.0 GiB" (binary units, GiB
    the largest); "—" when the size is not known."""
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KiB", "MiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def shown(value: Any, limit: int = 40) -> str:
    """A value as the user wrote it in JSON, shortened to `limit` characters, for messages
    that name a wrong value: "224" for the string, 224 for the number."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_control(text: str) -> str:
    """`text` with every C0/C1 control character (tabs and line ends included) shown as \\x..,
    so text read from a file cannot move a terminal's cursor or change its colours."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str) -> str:
    """`text` on one line: its non-blank lines stripped and joined by " ⏎ ", tabs as spaces,
    other control characters escaped (\\x1b)."""
    lines = (line.replace("\t", " ").strip() for line in text.splitlines())
    return escape_control(LINE_BREAK.join(line for line in lines if line))


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
