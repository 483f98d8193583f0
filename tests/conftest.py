"""Shared test setup: offscreen Qt, the real-model folder, and a guard against stray QThreads."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests import onnx_factory

SHARED_MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "models"


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """../shared/models with the real trained models and photos, or skip."""
    if not (SHARED_MODELS / "onnx").is_dir():
        pytest.skip(f"real models not present at {SHARED_MODELS}")
    return SHARED_MODELS


@pytest.fixture(scope="session")
def made_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, onnx_factory.MadeModel]:
    """Every generated test model, by factory name."""
    tmp = tmp_path_factory.mktemp("models")
    return {f.__name__: f(tmp) for f in onnx_factory.ALL_FACTORIES}


def _keep_app_alive_when_windows_close() -> None:
    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setQuitOnLastWindowClosed(False)
            from trtgui.gui import gc_guard

            gc_guard.install(app)  # as the app does: no garbage collection in worker threads


@pytest.fixture(autouse=True)
def _one_app_for_all_tests():  # type: ignore[no-untyped-def]
    """Closing a test's last window must not post a Quit to the shared QApplication: a stray
    Quit makes every later event loop (qtbot.wait) return at once, so queued signals from
    worker threads would only arrive at teardown."""
    _keep_app_alive_when_windows_close()
    yield
    _keep_app_alive_when_windows_close()


@pytest.fixture(autouse=True)
def _no_leftover_threads():  # type: ignore[no-untyped-def]
    """Fail a test that leaves a new non-daemon Python thread running.

    tests/gui/conftest.py adds the same guard for QThreads.
    """
    before = {t.ident for t in threading.enumerate()}
    yield
    left = [
        t for t in threading.enumerate() if t.ident not in before and t.is_alive() and not t.daemon
    ]
    assert not left, f"test left threads running: {[t.name for t in left]}"
