"""The main window and the app: opening files, errors, persistence across a restart,
shortcuts, drag and drop anywhere, About, close during a build, lazy startup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication

from trtgui.gui import errors, workers
from trtgui.gui.main_window import MainWindow
from trtgui.gui.open_files import kind_of

ROOT = Path(__file__).resolve().parents[2]


def _open_model(qtbot, window: MainWindow, path: Path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(path)
    qtbot.waitUntil(lambda: window.model_info is not None, timeout=20000)
    window._open_handle.wait()


def test_open_model_shows_io(qtbot, window, made_models) -> None:  # type: ignore[no-untyped-def]
    _open_model(qtbot, window, made_models["dynamic_batch"].path)
    assert window.model_panel.io_model.rowCount() == 2
    assert "dynamic_batch.onnx" in window.windowTitle()
    assert window.menu_actions.build.isEnabled()
    assert window.recent("models") == [str(made_models["dynamic_batch"].path.resolve())]


def test_corrupt_model_shows_error_dialog(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not a model")
    window.open_path(bad)
    qtbot.waitUntil(lambda: errors.last_box is not None, timeout=20000)
    window._open_handle.wait()
    box = errors.last_box
    assert box.text() and "\n" not in box.text()
    assert box.detailedText() or True
    assert window.statusBar().currentMessage() == box.text()
    assert window.model_info is None


def test_unknown_extension_and_missing_file(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(tmp_path / "notes.txt")
    assert "does not know" in errors.last_box.text()
    errors.last_box.close()
    window.open_path(tmp_path / "gone.onnx")
    assert "does not exist" in errors.last_box.text()


def test_kind_of() -> None:
    assert kind_of("a.ONNX") == "models"
    assert kind_of("a.plan") == "engines"
    assert kind_of("a.jpg") == "images"
    assert kind_of("a.json") == "settings"
    assert kind_of("a.txt") is None


def test_persistence_across_restart(qtbot, made_models, settings_file) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("tensorrt_rtx")
    s1 = QSettings(str(settings_file), QSettings.Format.IniFormat)
    w1 = MainWindow(s1)
    qtbot.addWidget(w1)
    w1.show()
    w1.resize(720, 520)
    _open_model(qtbot, w1, made_models["static_conv"].path)
    w1.set_theme("dark")
    panel = w1.build_panel()
    panel.form.opt_level.setValue(2)
    panel.form.workspace_edit.setText("1G")
    w1.show_tab(0)
    w1.model_panel.splitter.setSizes([200, 500])
    model_sizes = w1.model_panel.splitter.sizes()
    w1.show_tab(1)
    w1.close()
    del s1

    s2 = QSettings(str(settings_file), QSettings.Format.IniFormat)
    w2 = MainWindow(s2)
    qtbot.addWidget(w2)
    # one-item lists come back as lists (FACTS.md: read with type=list)
    assert w2.recent("models") == [str(made_models["static_conv"].path.resolve())]
    assert w2.last_folder() == str(made_models["static_conv"].path.parent.resolve())
    assert w2.theme() == "dark"
    assert w2.menu_actions.theme["dark"].isChecked()
    assert w2.tabs.currentIndex() == 1
    assert (w2.width(), w2.height()) == (720, 520)
    w2.show()
    qtbot.waitExposed(w2)
    sizes = w2.model_panel.splitter.sizes()
    # restored as proportions of the panel's width
    assert abs(sizes[0] / sum(sizes) - model_sizes[0] / sum(model_sizes)) < 0.02
    restored = w2.build_panel()
    assert restored.form.opt_level.value() == 2
    assert restored.form.workspace_edit.text() == "1G"
    recent_menu_texts = [a.text() for a in w2.recent_menu.actions()]
    assert any("static_conv.onnx" in t for t in recent_menu_texts)
    w2.set_theme("system")
    w2.close()


def test_every_main_action_has_a_shortcut_in_the_menus(window) -> None:  # type: ignore[no-untyped-def]
    in_menus = []
    for menu_action in window.menuBar().actions():
        for act in menu_action.menu().actions():
            if act.menu() is not None:
                in_menus += act.menu().actions()
            elif not act.isSeparator():
                in_menus.append(act)
    main = [
        window.menu_actions.open,
        window.menu_actions.open_engine,
        window.menu_actions.open_image,
        window.menu_actions.demo,
        window.menu_actions.build,
        window.menu_actions.cancel,
        window.menu_actions.copy_command,
        window.menu_actions.import_settings,
        window.menu_actions.export_settings,
        window.menu_actions.about,
        window.menu_actions.quit,
        window.menu_actions.find_in_log,
        *window.menu_actions.view,
    ]
    for act in main:
        assert act in in_menus, act.text()
        assert not act.shortcut().isEmpty(), act.text()
    keys = [a.shortcut().toString() for a in main]
    assert len(keys) == len(set(keys))


def test_shortcuts_switch_panels(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    handle = window.windowHandle()
    qtbot.keyClick(handle, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 1
    assert window.build_tab.panel is not None  # created on first view
    qtbot.keyClick(handle, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 0
    assert window.menu_actions.build.shortcut() == QKeySequence("Ctrl+B")
    qtbot.keyClick(handle, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 1
    assert window.build_panel().log_view.search.hasFocus()


def test_build_shortcut_builds(qtbot, window, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("tensorrt_rtx")
    _open_model(qtbot, window, made_models["static_conv"].path)
    panel = window.build_panel()
    panel.form.output_edit.setText(str(tmp_path / "k.engine"))
    with qtbot.waitSignal(panel.build_finished, timeout=60000):
        qtbot.keyClick(window.windowHandle(), Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert (tmp_path / "k.engine").is_file()
    assert window.recent("engines")[0] == str((tmp_path / "k.engine").resolve())
    qtbot.mouseClick(panel.result_view.show_engine_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentIndex() == 2
    window.engine_tab.panel and window.engine_tab.panel.wait()  # type: ignore[attr-defined]


def _drop(widget, paths: list[Path]) -> QDropEvent:  # type: ignore[no-untyped-def]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, drop)
    return drop


def test_drop_model_on_any_widget(qtbot, window, made_models) -> None:  # type: ignore[no-untyped-def]
    # A table deep inside the Model panel: the drop still opens the model.
    target = window.model_panel.io_table.viewport()
    drop = _drop(target, [made_models["multi_io"].path])
    assert drop.isAccepted()
    qtbot.waitUntil(lambda: window.model_info is not None, timeout=20000)
    window._open_handle.wait()
    assert window.model_panel.io_model.rowCount() == 5


def test_drop_routes_by_extension(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, Path]] = []
    monkeypatch.setattr(window, "open_engine", lambda p: seen.append(("engine", Path(p))))
    monkeypatch.setattr(window, "open_image", lambda p: seen.append(("image", Path(p))))
    engine, image = tmp_path / "a.plan", tmp_path / "b.jpg"
    _drop(window.backend_label, [engine, image])
    assert seen == [("engine", engine), ("image", image)]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "c.txt"))])
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter.ignore()
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()  # files trtgui cannot open are refused


def test_about_dialog_lists_versions_and_copies(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from PySide6 import __version__ as pyside

    from trtgui import __version__

    dialog = window.show_about()
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    text = dialog.text.toPlainText()
    assert f"trtgui {__version__}" in text
    assert pyside in text
    assert "onnx" in text.lower()
    dialog.copy()
    assert QApplication.clipboard().text() == dialog.report
    dialog.close()


def test_settings_export_import(qtbot, window, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("tensorrt_rtx")
    _open_model(qtbot, window, made_models["dynamic_batch"].path)
    panel = window.build_panel()
    panel.form.opt_level.setValue(4)
    out = tmp_path / "b.json"
    window.export_settings(out)
    data = json.loads(out.read_text())
    assert data["optimization_level"] == 4
    assert data["onnx_path"] == str(made_models["dynamic_batch"].path)
    panel.form.opt_level.setValue(1)
    window.import_settings(out)  # read in a worker (issue #12): wait for it
    qtbot.waitUntil(lambda: panel.form.opt_level.value() == 4, timeout=20000)
    text = window.copy_command_line()
    assert "trtgui-cli build" in text and QApplication.clipboard().text() == text


def test_close_during_build_cancels_and_joins(qtbot, window, shared_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("tensorrt_rtx")
    _open_model(qtbot, window, shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx")
    panel = window.build_panel()
    panel.form.output_edit.setText(str(tmp_path / "det.engine"))
    panel.set_log_level(5)
    window.start_build()
    assert window.is_building()
    qtbot.wait(200)
    window.close()
    assert not workers.running_threads()
    assert not window.is_building()
    assert not (tmp_path / "det.engine").exists() or panel.result is not None


def test_startup_is_lazy(tmp_path: Path) -> None:
    """Before the window shows, none of onnx, onnxruntime, numpy or TensorRT is imported."""
    env = dict(
        os.environ,
        TRTGUI_STARTUP_PROBE="1",
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(tmp_path),
    )
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from trtgui.gui.app import main; sys.exit(main([]))"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("trtgui-startup "))
    report = json.loads(line.split(" ", 1)[1])
    assert report["visible"]
    assert report["heavy_modules"] == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland check is Linux's")
def test_no_display_says_how_to_run_in_one_line(tmp_path: Path) -> None:
    """Without a display Qt would abort (exit 134) blaming libxcb-cursor0: say what to do."""
    env = {k: v for k, v in os.environ.items() if k not in _DISPLAY_VARS}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "trtgui"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for hint in ("desktop session", "xvfb-run trtgui", "QT_QPA_PLATFORM=offscreen trtgui"):
        assert hint in lines[0]
    assert "xcb" not in proc.stderr  # not Qt's misleading plugin message
    version = subprocess.run(
        [sys.executable, "-m", "trtgui", "--version"], capture_output=True, text=True, env=env
    )
    assert version.returncode == 0 and version.stdout.startswith("trtgui ")


_DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def test_demo_opens_model_and_image(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from trtgui.core.resources import resource_path, resources_dir

    if not (resource_path("demo") / "demo.json").is_file():
        pytest.skip("the demo is not in this checkout")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # no demo engine built there
    window.open_demo()
    qtbot.waitUntil(lambda: window.model_info is not None, timeout=20000)
    window._open_handle.wait()
    assert window.model_info.path.name == "model.onnx"
    panel = window.build_panel()
    output = Path(panel.form.output_edit.text())
    # never write engines into the shipped resources
    assert not output.resolve().is_relative_to(resources_dir().resolve())
    # The XDG base directory spec: $XDG_DATA_HOME/<app>; "trtgui" once, not trtgui/trtgui.
    assert output == tmp_path / "trtgui" / "engines" / "model.engine"
    assert output.relative_to(tmp_path).parts.count("trtgui") == 1
    assert window.engine_tab.panel is None or window.engine_panel().engine_path() is None
    inference = window.inference_tab.panel
    assert inference is not None
    inference.wait()


def test_demo_opens_the_engine_the_cli_demo_built(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """README: `trtgui-cli demo && trtgui --demo` shows the engine the first command built."""
    from trtgui.cli.main import main as cli_main
    from trtgui.core.paths import demo_engine_path
    from trtgui.core.resources import resource_path

    pytest.importorskip("tensorrt_rtx")
    if not (resource_path("demo") / "demo.json").is_file():
        pytest.skip("the demo is not in this checkout")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert cli_main(["demo"]) == 0
    engine = tmp_path / "trtgui" / "demo" / "demo.engine"
    assert demo_engine_path() == engine and engine.is_file()

    window.open_demo()  # what `trtgui --demo` calls once the window is shown
    qtbot.waitUntil(lambda: window.model_info is not None, timeout=20000)
    window._open_handle.wait()
    engine_panel = window.engine_panel()
    engine_panel.wait()
    assert engine_panel.engine_path() == engine
    assert window.recent("engines")[0] == str(engine.resolve())
    assert errors.last_box is None  # no GPU here: a banner in the panel, not an error dialog
    assert window.tabs.currentIndex() == 3  # the result on the photo still comes first
    window.inference_tab.panel.wait()


def test_palettes_follow_the_choice(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QPalette

    from trtgui.gui.style import effective_mode

    app = QApplication.instance()
    try:
        window.set_theme("dark")
        dark = app.palette().color(QPalette.ColorRole.Window).lightness()
        window.set_theme("light")
        light = app.palette().color(QPalette.ColorRole.Window).lightness()
        assert dark < 100 < light
        window.set_theme("system")
        # Offscreen the OS colour scheme reads "Unknown": system falls back to light.
        assert effective_mode("system") in ("light", "dark")
        assert window.menu_actions.theme["system"].isChecked()
        assert window.theme() == "system"
    finally:
        window.set_theme("system")


def test_uncaught_exception_in_a_slot_reaches_the_funnel(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from trtgui.gui.errors import install_excepthooks, uninstall_excepthooks

    install_excepthooks()
    try:
        try:
            raise ZeroDivisionError("division by zero in a slot")
        except ZeroDivisionError:
            sys.excepthook(*sys.exc_info())  # what Qt calls for an exception in a slot
        qtbot.waitUntil(lambda: errors.last_box is not None, timeout=2000)
        assert errors.last_box.text().startswith("Unexpected error: ZeroDivisionError")
    finally:
        uninstall_excepthooks()


@pytest.mark.parametrize("kind", ["file", "demo"])
def test_command_line_opens_a_file_or_the_demo(tmp_path: Path, made_models, kind: str) -> None:  # type: ignore[no-untyped-def]
    """`trtgui FILE` and `trtgui --demo` in a fresh process, checked by the smoke hook."""
    from trtgui.core.resources import resource_path

    if kind == "demo":
        if not (resource_path("demo") / "demo.json").is_file():
            pytest.skip("the demo is not in this checkout")
        args, expect = ["--demo"], "model.onnx"
    else:
        args, expect = [str(made_models["multi_io"].path)], "b_as_float"  # an output's name
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(tmp_path),
        XDG_DATA_HOME=str(tmp_path),
        TRTGUI_QUIT_AFTER_MS="30000",
        TRTGUI_SMOKE_EXPECT=expect,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "trtgui", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
