"""What the CLI writes to a terminal: nothing from a file may drive it.

Tensor names, graph names, doc strings, labels and the libraries' error texts all come from
files the user opened, and a file can put an ESC sequence in a name (clear the screen, hide
text, set the window title) or a carriage return that overwrites a line. `guarded_streams`
wraps stdout and stderr for the whole command, so every write, however it is made (print,
logging, warnings), has its control characters shown as \\x.., line feeds and tabs kept. The
line structure is ours: file values inside a line go through `core.text.clip` (which escapes
line breaks too), messages through `message_line` (every `TrtGuiError` does). JSON is
unaffected: `json.dumps` escapes control characters itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from trtgui.core.text import terminal_text


class TerminalStream:
    """A text stream that escapes control characters on the way to `raw`; everything else
    (flush, isatty, fileno, encoding) is `raw`'s."""

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw

    def write(self, text: str) -> int:
        self.raw.write(terminal_text(text))
        return len(text)

    def write_control(self, text: str) -> int:
        """Our own cursor movements (the build's progress bar redraws its line in place)."""
        return self.raw.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def write_control(stream: TextIO, text: str) -> None:
    """Write our own control sequence to `stream`, past its guard when it has one."""
    getattr(stream, "write_control", stream.write)(text)


@contextmanager
def guarded_streams() -> Iterator[None]:
    """sys.stdout and sys.stderr wrapped in `TerminalStream` for the duration (whatever they
    are then: a terminal, a pipe, pytest's capture), and put back after."""
    saved = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, TerminalStream):
        sys.stdout = TerminalStream(sys.stdout)
    if not isinstance(sys.stderr, TerminalStream):
        sys.stderr = TerminalStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
