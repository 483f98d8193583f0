"""The window's parts on their own: QSettings persistence, lazily created tabs, settings
import/export errors, the status bar's backend line."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel

from trtgui.gui import errors
from trtgui.gui.panel import LazyTab
from trtgui.gui.window_state import MAX_RECENT, WindowState


def test_recent_files_newest_first_without_duplicates(qsettings: QSettings, tmp_path: Path) -> None:
    state = WindowState(qsettings)
    paths = [tmp_path / f"m{i}.onnx" for i in range(MAX_RECENT + 2)]
    for p in paths:
        state.add_recent("models", p)
    state.add_recent("models", paths[5])  # opened again: moves to the front
    recent = state.recent("models")
    assert len(recent) == MAX_RECENT
    assert recent[0] == str(paths[5].resolve())
    assert len(set(recent)) == len(recent)
    assert state.recent("engines") == []
    state.remove_recent("models", paths[5])
    assert str(paths[5].resolve()) not in state.recent("models")
    state.clear_recent()
    assert state.recent("models") == []


def test_state_round_trips_through_the_ini_file(settings_file: Path, tmp_path: Path) -> None:
    first = WindowState(QSettings(str(settings_file), QSettings.Format.IniFormat))
    first.remember_folder(tmp_path / "photo.jpg")  # a file: its folder is remembered
    first.set_theme("dark")
    first.set_tab(2)
    first.set_build_settings_json('{"optimization_level": 2}')
    first.sync()
    again = WindowState(QSettings(str(settings_file), QSettings.Format.IniFormat))
    assert again.last_folder() == str(tmp_path.resolve())
    assert again.theme() == "dark"
    assert again.tab() == 2
    assert again.build_settings_json() == '{"optimization_level": 2}'


def test_unknown_theme_reads_as_system(qsettings: QSettings) -> None:
    qsettings.setValue("view/theme", "solarized")  # hand-edited or from a newer trtgui
    assert WindowState(qsettings).theme() == "system"


def test_lazy_tab_creates_its_panel_once(qtbot) -> None:  # type: ignore[no-untyped-def]
    made: list[QLabel] = []

    def factory() -> QLabel:
        made.append(QLabel("panel"))
        return made[-1]

    tab = LazyTab("Build", factory)
    qtbot.addWidget(tab)
    assert tab.panel is None and not made  # nothing built before first use
    assert tab.ensure() is made[0]
    assert tab.ensure() is made[0] and len(made) == 1


def test_lazy_tab_without_its_module_says_so(qtbot) -> None:  # type: ignore[no-untyped-def]
    def factory() -> QLabel:
        raise ModuleNotFoundError("No module named 'trtgui.gui.gone'", name="trtgui.gui.gone")

    tab = LazyTab("Engine", factory)
    qtbot.addWidget(tab)
    assert tab.ensure() is None
    texts = [label.text() for label in tab.findChildren(QLabel)]
    assert "The Engine panel is not available." in texts


def test_export_to_a_folder_shows_one_line_error(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("tensorrt_rtx")
    window.export_settings(tmp_path)  # a folder, not a file
    box = errors.last_box
    assert box is not None
    # Issue #12: refused by the output check before writing, naming what the path is.
    assert box.text().startswith(f"The settings file {tmp_path} is a folder, not a file")
    assert "\n" not in box.text()


def test_import_of_a_broken_file_names_it(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "b.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    window.import_settings(bad)  # read in a worker (issue #12): wait for its answer
    qtbot.waitUntil(lambda: errors.last_box is not None, timeout=20000)
    box = errors.last_box
    assert box is not None and "JSON object" in box.text()
    assert window.tabs.currentIndex() == 0  # nothing loaded: the Build panel is not shown


def test_backend_line_in_the_status_bar(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from trtgui.core.doctor import backend_status

    window.probe_backends()
    qtbot.waitUntil(lambda: window.backend_status is not None, timeout=20000)
    window._probe_handle.wait()
    expected = backend_status()  # cached probes: the same answer
    assert window.backend_label.text() == expected.summary()
    assert window.backend_label.toolTip() == expected.details()
