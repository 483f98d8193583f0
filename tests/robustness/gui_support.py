"""What the GUI robustness tests share besides their fixtures (those are in conftest.py): a
wait until every worker the window started has ended."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("PySide6.QtCore")

from trtgui.gui import workers


def settle(qtbot: Any, window: Any, timeout_ms: int = 30000) -> None:
    """Wait until every worker the window started has finished and its signals arrived."""
    qtbot.waitUntil(lambda: not workers.running_threads(), timeout=timeout_ms)
    for tab in (window.engine_tab, window.inference_tab):
        if tab.panel is not None and hasattr(tab.panel, "wait"):
            tab.panel.wait(timeout_ms)
    qtbot.wait(50)
