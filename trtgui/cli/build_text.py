"""`trtgui-cli build`'s words for people: the progress bar (or phase lines), TensorRT's log
lines, the cancel messages (`TextSink`, a `build_run.BuildSink`), and the summary of a
finished build (`format_result`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, TextIO

from trtgui.cli.output import write_control
from trtgui.core.text import clip, message_line

if TYPE_CHECKING:
    from collections.abc import Mapping

    from trtgui.core.build.progress import ProgressEvent
    from trtgui.core.build.result import BuildResult
    from trtgui.core.shapes import Dim

# A TensorRT log line longer than this is cut (it may quote a 100,000-character name).
LOG_CHARS = 1000
_LEVEL_NAMES = {
    logging.CRITICAL: "error",
    logging.ERROR: "error",
    logging.WARNING: "warning",
    logging.INFO: "info",
}


class ProgressDisplay:
    """A one-line bar redrawn in place on a terminal; phase lines otherwise. Thread-safe."""

    BAR_WIDTH = 24

    def __init__(self, stream: TextIO, live: bool, min_interval: float = 0.05) -> None:
        self.stream = stream
        self.live = live
        self.min_interval = min_interval
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._drawn = False
        self._last_phase: tuple[str, ...] = ()

    def progress(self, event: ProgressEvent) -> None:
        with self._lock:
            if self.live:
                now = time.monotonic()
                if now - self._last_draw >= self.min_interval or not event.phases:
                    self._last_draw = now
                    self._draw(event)
            else:
                top = tuple(p.name for p in event.phases[:2])
                if top and top != self._last_phase and len(top) <= 2:
                    if not self._last_phase or top[0] != self._last_phase[0] or len(top) > 1:
                        self.stream.write(f"[{self._elapsed()}] {' › '.join(top)}\n")
                        self.stream.flush()
                    self._last_phase = top

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:6.1f}s"

    def _draw(self, event: ProgressEvent) -> None:
        fraction = event.fraction
        filled = round(fraction * self.BAR_WIDTH)
        bar = "█" * filled + "·" * (self.BAR_WIDTH - filled)
        text = f"{bar} {fraction * 100:3.0f}% {self._elapsed()} {event.describe()}"
        width = 119
        write_control(self.stream, "\r")  # past the terminal guard (cli/output.py): ours
        self.stream.write(text[:width].ljust(width if self._drawn else 0))
        self.stream.flush()
        self._drawn = True

    def message(self, line: str) -> None:
        """Print a log line without tearing the bar."""
        with self._lock:
            self._clear()
            self.stream.write(line + "\n")
            self.stream.flush()

    def _clear(self) -> None:
        if self.live and self._drawn:
            write_control(self.stream, "\r\x1b[2K")
            self._drawn = False

    def finish(self) -> None:
        with self._lock:
            self._clear()
            self.stream.flush()


class TextSink:
    """A build's life on stderr: the progress display, TensorRT's lines prefixed with their
    level, and the cancel messages. Error lines show only with --verbose (`show_errors`):
    the final error message sums them up."""

    def __init__(self, display: ProgressDisplay, show_errors: bool) -> None:
        self.display = display
        self.show_errors = show_errors

    def progress(self, event: ProgressEvent) -> None:
        self.display.progress(event)

    def log(self, level: int, message: str) -> None:
        if level >= logging.ERROR and not self.show_errors:
            return
        # TensorRT quotes layer and tensor names from the model: each of its lines gets our
        # prefix (a name cannot start a line of its own, such as a fake "error:") and a cap.
        name = _LEVEL_NAMES.get(level, "verbose")
        for part in message.splitlines() or [""]:
            self.display.message(f"tensorrt {name}: {clip(part, LOG_CHARS)}")

    def cancelling(self) -> None:
        self.display.message("cancelling… (Ctrl-C again to quit at once)")

    def interrupted(self) -> None:
        clear = "\r\x1b[2K" if self.display.live else ""
        os.write(2, f"{clear}interrupted: stopped at once; nothing was written\n".encode())

    def finish(self) -> None:
        self.display.finish()


def format_result(
    result: BuildResult, model_shapes: Mapping[str, tuple[Dim, ...] | None] | None = None
) -> str:
    """The text summary printed after a successful build; `model_shapes` (tensor name -> the
    ONNX model's shape) names the dims the network only knows as -1, as the GUI does."""
    from trtgui.core.backends import backend_title
    from trtgui.core.shapes import shape_text
    from trtgui.core.text import format_bytes

    lines = [
        f"engine: {result.engine_path} ({format_bytes(result.engine_bytes)})",
        f"sidecar: {result.sidecar_path}",
        f"backend: {backend_title(result.backend)} {result.backend_version}; "
        f"precision {result.settings.precision.value} ({result.precision_method})",
        f"time: {result.build_seconds:.2f} s (TensorRT build {result.engine_build_seconds:.2f} s); "
        f"TensorRT warnings {result.warning_count}, errors {result.error_count}",
    ]
    if result.converted_onnx_path:
        lines.append(f"converted model kept: {result.converted_onnx_path}")
    if result.accuracy is not None:
        check = result.accuracy
        accepted = " (built anyway: --accept-accuracy-loss)" if check.accepted_loss else ""
        lines.append(f"precision check: {check.verdict}{accepted}: {message_line(check.summary)}")
        if check.worst_images:
            worst = ", ".join(f"{clip(name)} {value:.2f}" for name, value in check.worst_images)
            lines.append(f"  worst images: {worst}")
    lines.append("tensors:")
    for t in result.io_tensors:
        shape = shape_text(t.shape, (model_shapes or {}).get(t.name))
        lines.append(f"  {'in ' if t.is_input else 'out'} {clip(t.name)}: {t.dtype} {shape}")
    for number, profile in enumerate(result.profiles, start=1):
        for item in profile.inputs:
            shapes = " / ".join(shape_text(s) for s in (item.min, item.opt, item.max))
            lines.append(f"profile {number}: {clip(item.name)} min/opt/max {shapes}")
    lines += [f"note: {message_line(note)}" for note in result.notes]
    return "\n".join(lines)
