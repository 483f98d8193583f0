"""The shared text forms: byte sizes, and free text from a file made fit for one line.

ONNX metadata values can be anything: PP-OCR recognisers keep a 6,623-line character list in
one, others a whole HTML page. Summaries (the Model panel, `trtgui-cli inspect`) show such a
value as one short line that says how much was left out; the full value stays reachable
elsewhere (a dialog, `--json`).

Names and texts from a file (tensor, node and graph names, doc strings, metadata, labels,
error texts of the libraries that read it) can also hold control characters, an ESC sequence
that clears a terminal or a line break followed by a fake "error:" line, and can be 100,000
characters long. `clip` makes one such value fit a table cell or a message, `message_line`
makes a whole message or note one bounded line (every `TrtGuiError` message goes through it),
and `terminal_text` keeps our own line structure while escaping everything else.
"""

from __future__ import annotations

import json
import re
from typing import Any

PREVIEW_CHARS = 200
LINE_BREAK = " ⏎ "  # where a line ended, in a one-line preview
# A name from a file is shown whole up to this length; longer ones are cut, the length said.
NAME_CHARS = 200
# A message longer than this has its long words (names, values) cut to NAME_CHARS; one still
# longer than MESSAGE_MAX loses its middle: the start (what failed) and the end (what to do)
# stay. Real messages are ~200 characters, with a long path ~400.
MESSAGE_CHARS = 500
MESSAGE_MAX = 2000

# C0/C1 controls (tabs and line ends are handled before): shown as \x.. so none reaches a
# terminal or a label as a control.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same, less the line feed and tab of our own multi-line output.
_TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A word of a message: no spaces, quotes, brackets or commas (they frame names in messages).
_LONG_WORD = re.compile(rf"[^\s'\"()\[\],;]{{{NAME_CHARS + 1},}}")


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


def terminal_text(text: str) -> str:
    """`text` for a terminal: line feeds and tabs kept (the lines are ours), every other
    control character shown as \\x.. (a carriage return could overwrite a line, ESC starts a
    cursor or colour sequence, 0x9b is a one-byte ESC [)."""
    return _TERMINAL_CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def clip(text: str, limit: int = NAME_CHARS) -> str:
    """One value from a file (a tensor name, a label) for a table cell or a message: control
    characters escaped, line breaks included, and cut after `limit` characters with its length
    said: "tttt… (100,000 characters)". --json output keeps the value whole."""
    safe = escape_control(text)
    if len(safe) <= limit:
        return safe
    return f"{safe[:limit]}… ({len(text):,} characters)"


def message_line(text: str) -> str:
    """A message or a note that may quote file text, as one bounded line: line breaks become
    " ⏎ ", other controls \\x..; when it is long, each word over NAME_CHARS is clipped, and
    what is still over MESSAGE_MAX loses its middle."""
    if len(text) <= MESSAGE_CHARS and not _CONTROLS.search(text):
        return text  # every ordinary message: untouched
    if _CONTROLS.search(text):
        text = one_line(text)
    if len(text) > MESSAGE_CHARS:
        text = _LONG_WORD.sub(_clip_word, text)
    if len(text) > MESSAGE_MAX:
        head, tail = MESSAGE_MAX * 2 // 3, MESSAGE_MAX // 4
        left_out = len(text) - head - tail
        text = f"{text[:head]} … ({left_out:,} characters left out) … {text[-tail:]}"
    return text


def _clip_word(match: re.Match[str]) -> str:
    word = match.group()
    body = word.rstrip(".:!?")  # the sentence's own full stop stays after the cut
    return f"{body[:NAME_CHARS]}… ({len(body):,} characters){word[len(body) :]}"


def one_line(text: str) -> str:
    """`text` on one line: its non-blank lines stripped and joined by " ⏎ ", tabs as spaces,
    other control characters escaped (\\x1b)."""
    lines = (line.replace("\t", " ").strip() for line in text.splitlines())
    return escape_control(LINE_BREAK.join(line for line in lines if line))


# The line boundaries of str.splitlines other than "\n".
_OTHER_LINE_BREAKS = re.compile("[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def line_count(text: str) -> int:
    """`len(text.splitlines())` without making the list: that took ~10 ms for a 1.3 MB
    metadata value, several times over when the Model panel showed it."""
    if not text:
        return 0
    if _OTHER_LINE_BREAKS.search(text) is not None:
        return len(text.splitlines())
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def _flat_start(text: str, limit: int) -> str:
    """`one_line(text)`, or enough of its start to be longer than `limit`: flattening a
    1.3 MB metadata value whole to show 200 characters of it froze the Model panel."""
    if len(text) > 4 * limit + 64:
        start = one_line(text[: 4 * limit + 64])
        if len(start) > limit:
            return start
    return one_line(text)


def is_long(text: str, limit: int = PREVIEW_CHARS) -> bool:
    """Whether `shorten` leaves part of `text` out."""
    return len(_flat_start(text, limit)) > limit


def shorten(text: str, limit: int = PREVIEW_CHARS, hint: str = "") -> str:
    """`one_line(text)`, cut to about `limit` characters with what was left out said:
    "' ⏎ 疗 ⏎ 绚 … (6,623 lines)"; `hint` says where the rest is: "… (6,623 lines; --json for
    all)". Short text comes back as `one_line` alone."""
    flat = _flat_start(text, limit)
    if len(flat) <= limit:
        return flat
    lines = line_count(text)
    size = f"{lines:,} lines" if lines > 1 else f"{len(text):,} characters"
    return f"{flat[:limit].rstrip()} … ({size}{'; ' + hint if hint else ''})"
