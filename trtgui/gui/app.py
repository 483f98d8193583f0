"""The `trtgui` entry point: `trtgui [FILE ...]`, `trtgui --demo`.

Creates the QApplication, applies the palette, installs the exception hooks that route into
the error funnel, shows the main window and opens FILE (by its extension) once the event loop
runs. Keep imports here light: onnx, onnxruntime, numpy and TensorRT load only after the
window is on screen (bench/startup.py measures it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Qt loads in main(), after the display check
    from PySide6.QtWidgets import QApplication, QWidget

_T0 = time.perf_counter()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from trtgui import __version__

    parser = argparse.ArgumentParser(
        prog="trtgui",
        description="Desktop app: turn ONNX models into TensorRT engines and check them.",
    )
    parser.add_argument(
        "files", nargs="*", metavar="FILE", help="ONNX models, engines, images or settings JSON"
    )
    parser.add_argument("--demo", action="store_true", help="open the bundled demo")
    parser.add_argument(
        "--theme", choices=("system", "light", "dark"), help="colour scheme (remembered)"
    )
    parser.add_argument("--version", action="version", version=f"trtgui {__version__}")
    return parser.parse_args(list(argv) if argv is not None else None)


def no_display_message() -> str | None:
    """One line telling how to start the window when Linux has no display to show it on, else
    None. Without it Qt aborts (exit 134) blaming a missing xcb-cursor library."""
    if not sys.platform.startswith("linux"):
        return None
    if any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return None
    return (
        "trtgui: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set): "
        "run it in a desktop session, under a virtual display with `xvfb-run trtgui`, or "
        "without a window with `QT_QPA_PLATFORM=offscreen trtgui`."
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    message = no_display_message()
    if message is not None:
        print(message, file=sys.stderr)
        return 1

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setOrganizationName("trtgui")
    app.setApplicationName("trtgui")
    app.setApplicationDisplayName("trtgui")
    app.setDesktopFileName("io.github.trtgui.trtgui")
    from trtgui.gui import gc_guard

    gc_guard.install(app)  # cycles are collected on this thread only (see gc_guard)

    from trtgui.gui.errors import install_excepthooks
    from trtgui.gui.main_window import MainWindow
    from trtgui.gui.style import apply_theme

    install_excepthooks()
    window = MainWindow()
    theme = args.theme or window.theme()
    if args.theme:
        window.set_theme(theme)
    else:
        apply_theme(app, theme)
    window.show()
    _report_startup(app, window)

    def after_show() -> None:
        window.probe_backends()
        from trtgui.gui import build_child  # light: #15's idle build child imports TensorRT

        build_child.prestart()  # now (at low priority), so the first build need not wait
        if args.demo:
            window.open_demo()
        elif args.files:
            window.open_paths([Path(f) for f in args.files])

    QTimer.singleShot(0, after_show)
    from trtgui.gui import smoke

    smoke.install(app, window)
    code = int(app.exec())
    # app.quit() (smoke hook, session end) skips closeEvent: join the workers here, because a
    # QThread destroyed while running aborts the process.
    # After a close the window has waited already: only look again.
    stuck = window.shutdown(100 if window.has_closed() else None)
    if not window.has_closed():
        window.state.sync()  # app.quit() skipped closeEvent, which writes the settings
    # Still importing the panels' modules (closed within a second of starting): Python's
    # shutdown must not run under a thread inside an extension module's initialisation.
    if stuck or not window.warm_up.wait(0.2):
        leave_now(code)
    return code


def leave_now(code: int) -> None:
    """End the process at once, without Python's shutdown: for when a worker thread is still
    inside a call that cannot be interrupted (TensorRT, a read blocked in the kernel) after
    the window asked it to stop and waited, or the warm-up thread is still importing.
    Returning normally would destroy its running QThread ("QThread: Destroyed while thread is
    still running", then abort: exit 134) or wait for it for good. The window's settings were
    saved and synced by closeEvent/save_state and nothing trtgui writes is half-done (every
    write is a temporary file renamed into place), so all that is left to do is flush what
    was printed and logged."""
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: nothing more to say
            pass
    os._exit(code)


def _report_startup(app: QApplication, window: QWidget) -> None:
    """With TRTGUI_STARTUP_PROBE set, print when the window is shown and which heavy modules
    were loaded by then, then quit (bench/startup.py)."""
    if not os.environ.get("TRTGUI_STARTUP_PROBE"):
        return
    from PySide6.QtCore import QTimer

    def shown() -> None:
        import json

        heavy = [
            m
            for m in ("onnx", "onnxruntime", "numpy", "tensorrt", "tensorrt_rtx", "PIL", "cuda")
            if m in sys.modules
        ]
        print(
            "trtgui-startup "
            + json.dumps(
                {
                    "shown_s": time.perf_counter() - _T0,
                    "heavy_modules": heavy,
                    "visible": window.isVisible(),
                }
            ),
            flush=True,
        )
        app.quit()

    QTimer.singleShot(0, shown)


if __name__ == "__main__":
    raise SystemExit(main())
