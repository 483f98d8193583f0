"""What the window does in the background so its thread never waits (issue #12, "no GUI-thread
stall over 250 ms"): the window's settings are written by a thread of their own (a QSettings
sync fsyncs, 400-600 ms on a busy disk, traced in bench/robustness.py), and the panels'
modules are imported by the warm-up thread, which closing never waits for."""

from __future__ import annotations

import gc
import importlib
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")
QtCore = pytest.importorskip("PySide6.QtCore")
from trtgui.gui import warm_up, window_state  # noqa: E402
from trtgui.gui.window_state import WindowState  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _ini(path: Path) -> Any:
    return QtCore.QSettings(str(path), QtCore.QSettings.Format.IniFormat)


def test_settings_are_written_by_their_own_thread(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "trtgui.ini"
    writers: list[str] = []  # a spy around the real writer: which thread wrote
    real_write = window_state.write_settings

    def spying_write(*args: Any) -> None:
        writers.append(threading.current_thread().name)
        real_write(*args)

    monkeypatch.setattr(window_state, "write_settings", spying_write)
    state = WindowState(_ini(path))
    state.remember_folder(tmp_path / "photo.jpg")
    state.add_recent("models", tmp_path / "m.onnx")
    assert not path.exists()  # nothing written on the GUI thread, on the spot
    assert state.last_folder() == str(tmp_path.resolve())  # but read back at once

    qtbot.waitUntil(lambda: path.is_file() and "m.onnx" in path.read_text(), timeout=10_000)
    assert writers == ["trtgui-save settings"]  # both changes, one write, off the GUI thread
    again = WindowState(_ini(path))
    assert again.last_folder() == str(tmp_path.resolve())
    assert again.recent("models") == [str((tmp_path / "m.onnx").resolve())]


def test_sync_writes_what_is_pending_at_once(tmp_path: Path) -> None:
    """Closing the window (`save_state` → `sync`) must not lose a change still waiting."""
    path = tmp_path / "trtgui.ini"
    state = WindowState(_ini(path))
    state.set_theme("dark")
    state.clear_recent()
    state.sync()
    assert "theme=dark" in path.read_text()
    assert WindowState(_ini(path)).theme() == "dark"


def test_warm_up_imports_in_its_own_thread_then_freezes_the_heap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "warm_probe_ok.py").write_text(
        "import threading\nTHREAD = threading.current_thread().name\n", encoding="utf-8"
    )
    (tmp_path / "warm_probe_broken.py").write_text("raise ImportError('gone')\n", "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    gc.unfreeze()
    job = warm_up.WarmUp(
        [
            lambda: importlib.import_module("warm_probe_broken"),
            lambda: importlib.import_module("warm_probe_ok"),
        ]
    )
    assert not job.is_done()
    job.start()
    assert job.wait(30) and job.is_done()
    assert sys.modules["warm_probe_ok"].THREAD == "trtgui-warm up"
    # A module that fails is left for the panel's own import, which says why, visibly.
    assert "warm_probe_broken" not in sys.modules
    assert gc.get_freeze_count() > 0  # what was alive is out of the collector's scans


def test_a_stopped_warm_up_imports_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "warm_probe_never.py").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    job = warm_up.WarmUp([lambda: importlib.import_module("warm_probe_never")])
    job.stop()  # the window closed before it began
    job.start()
    assert job.wait(5) and not job.is_running()
    assert "warm_probe_never" not in sys.modules


# A real `trtgui` whose warm-up is inside an import that takes 30 s (as a slow disk or a huge
# extension would), then the window is closed.
_CLOSE_SCRIPT = textwrap.dedent(
    """
    import importlib, sys, time
    from trtgui.gui import app, smoke, warm_up

    slow = (lambda: importlib.import_module("slow_import_probe"),)
    real_init = warm_up.WarmUp.__init__
    warm_up.WarmUp.__init__ = lambda self, imports=slow: real_init(self, imports)

    def arm(qt_app, window, deadline_ms=None):
        from PySide6.QtCore import QTimer

        def close():
            print("closing", time.monotonic(), flush=True)
            window.close()
        QTimer.singleShot(800, close)
        return True

    smoke.install = arm
    sys.exit(app.main([]))
    """
)


def test_closing_during_the_warm_up_exits_within_2_s(tmp_path: Path) -> None:
    (tmp_path / "slow_import_probe.py").write_text(
        "import time\nprint('importing', flush=True)\ntime.sleep(30)\n", encoding="utf-8"
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", _CLOSE_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(ROOT),
    )
    ended = time.monotonic()
    lines = done.stdout.splitlines()
    assert "importing" in lines, (done.stdout, done.stderr[-2000:])  # it was under way
    closing = [line for line in lines if line.startswith("closing")]
    assert closing, (done.stdout, done.stderr[-2000:])
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert ended - float(closing[0].split()[1]) < 2.0
