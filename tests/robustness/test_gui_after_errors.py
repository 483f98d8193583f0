"""The main window survives a series of bad files and still opens a good model afterwards.

Bad ONNX files, engines, images, a settings file and an unknown file type go through the
window's one open-file entry point (`MainWindow.open_path`, what the Open dialog, drag and
drop and the command line use). Error boxes are recorded instead of shown.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests import onnx_factory
from tests.robustness import corpus
from tests.robustness.gui_support import settle

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest.importorskip("pytestqt")
QtCore = pytest.importorskip("PySide6.QtCore")
QtWidgets = pytest.importorskip("PySide6.QtWidgets")
try:
    import trtgui.gui.main_window  # noqa: F401  (the module-level skip below needs the GUI)
except ImportError as exc:  # the GUI is optional for the core suite
    pytest.skip(f"the GUI is not importable: {exc}", allow_module_level=True)


def _bad_files(root: Path) -> list[Path]:
    onnx_cases = {c.id: c for c in corpus.broken_onnx(root / "onnx")}
    engine = (root / "valid.engine").read_bytes()
    engine_cases = {c.id: c for c in corpus.broken_engines(root / "engines", engine)}
    image_cases = {c.id: c for c in corpus.broken_images(root / "images")}
    settings = root / "bad_settings.json"
    settings.write_text(next(t for i, t, _ in corpus.BAD_SETTINGS if i == "not_json"))
    unknown = root / "notes.xyz"
    unknown.write_text("what is this")
    return [
        onnx_cases["empty"].path,
        onnx_cases["random_0"].path,
        onnx_cases["truncated_45"].path,
        onnx_cases["png_renamed"].path,
        onnx_cases["gzipped"].path,
        engine_cases["random"].path,
        engine_cases["truncated_50"].path,
        image_cases["bomb"].path,
        image_cases["png_truncated"].path,
        settings,
        unknown,
        root / "does_not_exist.onnx",
    ]


def test_window_usable_after_bad_files(
    qtbot: Any, window: Any, boxes: list[str], tmp_path: Path
) -> None:
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings

    good = onnx_factory.dynamic_batch(tmp_path)
    build_engine(
        BuildSettings(
            onnx_path=str(onnx_factory.static_conv(tmp_path).path),
            output_path=str(tmp_path / "valid.engine"),
        )
    )
    bad = _bad_files(tmp_path)
    for path in bad:
        window.open_path(path)
        settle(qtbot, window, 20000)
        assert window.isVisible()

    # Every bad file reached the user as a one-line message.
    assert len(boxes) >= len(bad), boxes
    for text in boxes:
        assert text.strip() and "\n" not in text and "Traceback" not in text, text
    assert window.model_info is None
    assert QtWidgets.QApplication.activeModalWidget() is None

    # Still usable: a good model opens, shows, and every tab can be visited.
    shown_before = len(boxes)
    window.open_path(good.path)
    qtbot.waitUntil(lambda: window.model_info is not None, timeout=20000)
    settle(qtbot, window, 20000)
    assert Path(window.model_info.path) == good.path
    assert [t.name for t in window.model_info.inputs] == ["input"]
    assert good.path.name in window.windowTitle()
    assert len(boxes) == shown_before, boxes[shown_before:]
    for index in range(window.tabs.count()):
        window.show_tab(index)
        qtbot.wait(10)
        assert window.tabs.currentIndex() == index
    assert window.isEnabled()
