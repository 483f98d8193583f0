"""GUI test setup: offscreen Qt, QSettings redirected to a temporary folder, no stray QThreads,
no leftover error dialogs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings


@pytest.fixture(scope="session", autouse=True)
def _isolated_qsettings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Nothing a test does may touch the user's real trtgui settings."""
    from PySide6.QtCore import QStandardPaths

    QStandardPaths.setTestModeEnabled(True)  # app-data folders go to ~/.qttest, not the user's
    folder = tmp_path_factory.mktemp("qsettings")
    # trtgui.core.paths.user_data_dir() (default engine folder, the demo's engine) follows it.
    os.environ["XDG_DATA_HOME"] = str(folder / "data")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
        QSettings.setPath(fmt, QSettings.Scope.SystemScope, str(folder / "system"))
    yield folder


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return tmp_path / "trtgui-test.ini"


@pytest.fixture
def qsettings(settings_file: Path) -> QSettings:
    return QSettings(str(settings_file), QSettings.Format.IniFormat)


@pytest.fixture(autouse=True)
def _no_running_qthreads(qapp) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Fail any test that leaves a QThread started through trtgui.gui.workers running.

    A thread gets a short grace period to finish quitting after its worker's `finished`.
    """
    yield
    from trtgui.gui import errors, workers

    left = []
    for thread in workers.running_threads():
        if not thread.wait(3000):
            left.append(thread.objectName())
    if left:
        workers.stop_all(30000)
    box = errors.last_box
    if box is not None:
        box.close()
        errors.last_box = None
    assert not left, f"test left QThreads running: {left}"


@pytest.fixture
def window(qtbot, qsettings):  # type: ignore[no-untyped-def]
    """A MainWindow persisting to a temporary ini file; closed (threads joined) afterwards."""
    from trtgui.gui.main_window import MainWindow

    win = MainWindow(qsettings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
