"""The panels' modules, imported in the background soon after the window is shown.

The Build, Engine and Inference panels are made on first use, and their modules pull in
numpy, Pillow, pydantic, onnx and most of the core: 0.5-2 s of imports on a 2-core machine.
Imported on the GUI thread when the user first opened a tab or dropped a file, that froze the
window for as long. A daemon thread imports them instead: module code is Python, which hands
the GIL back every few milliseconds, so the window keeps painting; a panel made while its
module is still being imported waits only for what is left of it. (An extension module holds
the GIL while it initialises: ml_dtypes 0.7 took 1-3 s there, hence its pin in pyproject.toml.)

When the imports are done, the objects alive then (modules, classes, schemas: ~75,000) are
frozen out of the garbage collector's scans (`gc.freeze`): a full collection walked them
all, 50-120 ms with the GIL held, each time a worker's allocations (a build record listing
7,000 tensors) triggered one; frozen, it takes 1-20 ms (the frozen objects are still freed
by reference counting, only never scanned for cycles).

Closing never waits for it: `app.main` leaves with `leave_now` while it is still importing,
as it does for a stuck worker, so the window is gone within 2 s.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger("trtgui.gui")


# Plain import statements, not imports by name: nothing in trtgui imports a module whose name
# it was given (tests/robustness/test_file_safety.py checks).
def _import_build_panel() -> None:
    import trtgui.gui.build_panel  # noqa: F401


def _import_engine_panel() -> None:
    import trtgui.gui.engine_panel  # noqa: F401


def _import_inference_panel() -> None:
    import trtgui.gui.inference_panel  # noqa: F401


# The lazily made panels' modules, in the order a user most often needs them.
PANEL_IMPORTS: tuple[Callable[[], None], ...] = (
    _import_build_panel,
    _import_engine_panel,
    _import_inference_panel,
)


class WarmUp:
    """Runs `imports` in one daemon thread, once, when started."""

    def __init__(self, imports: Sequence[Callable[[], object]] = PANEL_IMPORTS) -> None:
        self.imports = tuple(imports)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="trtgui-warm up", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Begin no further import (the one under way cannot be interrupted)."""
        self._stop.set()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def is_done(self) -> bool:
        """Started and finished (False before `start`)."""
        return self._thread is not None and not self._thread.is_alive()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the imports; False when `timeout_s` passed first."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return not self.is_running()

    def _run(self) -> None:
        for step in self.imports:
            if self._stop.is_set():
                return
            try:
                step()
            except Exception as exc:  # the panel's own import, later, says why, visibly
                log.debug("warm-up import (%s) failed: %s", step.__name__, exc)
        freeze_heap()


def freeze_heap() -> None:
    """Leave what is alive now out of every later garbage collection (see the module's
    docstring): after the imports, and after a panel is made (its widgets live as long)."""
    gc.freeze()
