"""The window and the schema cases of the corpus (issue #12, "Python internals leaking"):
malformed settings files, demo.json files and build records go through the drop path
(`MainWindow.open_path`), tiny pictures and a model with unusable "names" metadata run in the
Inference panel. Each bad file gets exactly one one-line message (a malformed demo.json gave 6),
no "Unexpected error" box, and the window keeps working. Boxes are recorded, not shown.
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

# Settings files that reached Python's own errors or TensorRT before issue #12.
SETTINGS_IDS = (
    "deep_list",
    "deep_value",
    "long_number",
    "calibration_1e18",
    "workspace_2_66",
    "profile_dim_1e20",
    "preprocess_mean_5",
    "preprocess_pad_null",
    "preprocess_side_huge",
)


def _assert_one_clear_box(new: list[str], what: str) -> None:
    assert len(new) == 1, f"{what}: {len(new)} message boxes: {new}"
    text = new[0]
    assert text.strip() and "\n" not in text, (what, text)
    for word in ("Unexpected error", "Traceback", "RecursionError", "ValueError", "TypeError"):
        assert word not in text, (what, text)


def test_bad_settings_files_give_one_line_each(
    qtbot: Any, window: Any, boxes: list[str], tmp_path: Path
) -> None:
    for case_id in SETTINGS_IDS:
        text = next(t for i, t, _ in corpus.BAD_SETTINGS if i == case_id)
        path = tmp_path / f"{case_id}.json"
        path.write_text(text, encoding="utf-8")
        before = len(boxes)
        window.open_path(path)
        settle(qtbot, window)
        _assert_one_clear_box(boxes[before:], case_id)
    assert window.isVisible() and window.isEnabled()


def test_a_malformed_demo_json_gives_one_box(
    qtbot: Any, window: Any, boxes: list[str], tmp_path: Path
) -> None:
    for case in corpus.bad_demos(tmp_path / "demos"):
        before = len(boxes)
        window.open_path(case.path)  # dropping demo.json opens the demo it describes
        settle(qtbot, window)
        _assert_one_clear_box(boxes[before:], case.id)
        assert case.path.name in boxes[-1]
    assert QtWidgets.QApplication.activeModalWidget() is None


def test_an_engine_with_a_bad_record_still_shows(
    qtbot: Any, window: Any, boxes: list[str], tmp_path: Path
) -> None:
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings

    model = onnx_factory.static_conv(tmp_path)
    good = tmp_path / "good.engine"
    build_engine(BuildSettings(onnx_path=str(model.path), output_path=str(good)))
    cases = {c.id: c for c in corpus.bad_records(tmp_path / "records", good.read_bytes())}
    for case_id in ("tensor_shape_5", "build_seconds_text", "deep", "settings_precision_null"):
        window.open_path(cases[case_id].path)
        settle(qtbot, window)
        panel = window.engine_panel()
        assert panel is not None
        # The rest of the engine is shown; the record's problem is said where it belongs.
        assert "Build record not read: The build record" in panel.banner.details(), case_id
        value = panel.build_view.values().get("Build record", "")
        assert value.startswith("not read: The build record"), (case_id, value)
    assert not [b for b in boxes if "Unexpected" in b], boxes


def _predict(qtbot: Any, window: Any, model: Path, image: Path) -> Any:
    panel = window.inference_panel()
    assert panel is not None
    panel.set_model(model)
    qtbot.waitUntil(lambda: not panel.is_loading(), timeout=30000)
    assert panel.open_image(image)
    qtbot.waitUntil(lambda: not panel.is_loading(), timeout=30000)
    with qtbot.waitSignal(panel.run_finished, timeout=60000):
        panel.controls.run_button.click()
    panel.wait()
    settle(qtbot, window)
    return panel.report()


def test_tiny_pictures_and_unusable_names_run_with_a_note(
    qtbot: Any, window: Any, boxes: list[str], tmp_path: Path
) -> None:
    model = onnx_factory.static_conv(tmp_path).path
    for case in corpus.tiny_images(tmp_path / "tiny")[:3]:  # 1×1, 2×2, 5×300
        report = _predict(qtbot, window, model, case.path)
        assert report is not None, (case.id, boxes)
        assert any("too small to write the result on" in n for n in report.notes), report.notes
        assert report.annotated().size == report.image.size
    named = {c.id: c for c in corpus.models_with_bad_names(tmp_path / "names")}
    photo = corpus.tiny_images(tmp_path / "more")[-1].path  # 23×23
    for case_id in ("text_keys", "deep"):
        report = _predict(qtbot, window, named[case_id].path, photo)
        assert report is not None, (case_id, boxes)
        assert any('"names" metadata is not used' in n for n in report.notes), report.notes
    assert boxes == [], boxes
