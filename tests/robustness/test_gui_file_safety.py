"""The window's drop path (`MainWindow.open_path`, what drag and drop, the Open dialog and the
command line use) with hostile files (issue #12, "Nothing executed from a file"): pictures in
formats outside the allow-list are refused by name without Ghostscript ever being asked, and a
model whose weights file lies outside its folder, or is a device, is flagged as such.
Error boxes are recorded instead of shown.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.robustness import corpus
from tests.robustness.gui_support import settle

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest.importorskip("pytestqt")
QtCore = pytest.importorskip("PySide6.QtCore")
QtWidgets = pytest.importorskip("PySide6.QtWidgets")
try:
    from trtgui.gui import workers
    from trtgui.gui.main_window import MainWindow
except ImportError as exc:  # the GUI is optional for the core suite
    pytest.skip(f"the GUI is not importable: {exc}", allow_module_level=True)


@pytest.fixture
def no_ghostscript(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any attempt to parse PostScript or start a program is recorded (and fails)."""
    import subprocess

    from PIL import EpsImagePlugin

    calls: list[str] = []

    def refuse(name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} was called")

        return record

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", refuse("EpsImageFile._open"))
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", refuse("EpsImagePlugin.Ghostscript"))
    monkeypatch.setattr(subprocess, "Popen", refuse("subprocess.Popen"))
    return calls


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    settings = QtCore.QSettings(str(tmp_path / "trtgui.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    workers.stop_all(30000)


def test_dropped_foreign_pictures_are_refused_by_name(
    qtbot: Any, window: Any, boxes: list[str], no_ghostscript: list[str], tmp_path: Path
) -> None:
    cases = {c.id: c for c in corpus.foreign_images(tmp_path / "pictures")}
    for case_id in ("eps_as_png", "eps_loop", "pdf_as_png", "tga_as_png"):
        before = len(boxes)
        window.open_path(cases[case_id].path)
        settle(qtbot, window)
        assert window.isVisible()
        said = boxes[before:]
        assert len(said) == 1, said
        assert "\n" not in said[0] and "not an image trtgui opens" in said[0], said[0]
    assert "EPS (PostScript)" in boxes[0] and "EPS (PostScript)" in boxes[1]
    assert no_ghostscript == []


@pytest.mark.parametrize("case_id", ["dotdot_etc_passwd", "dev_zero", "link_to_etc_passwd"])
def test_a_model_with_weights_outside_its_folder_is_flagged(
    case_id: str, qtbot: Any, window: Any, boxes: list[str], tmp_path: Path
) -> None:
    """The model opens (its structure is fine); the Model panel's warning names the real
    problem with its weights file, not "is missing"."""
    case = {c.id: c for c in corpus.escaping_weights(tmp_path / "weights")}[case_id]
    words = next(w for i, _, w in corpus.ESCAPING_WEIGHTS if i == case_id)
    window.open_path(case.path)
    qtbot.waitUntil(lambda: window.model_info is not None, timeout=20000)
    settle(qtbot, window)
    texts = window.model_panel.warning_texts(window.model_info)
    assert any(words.split(" (")[0] in t and "missing" not in t for t in texts), texts
    assert boxes == []
