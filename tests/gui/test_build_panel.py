"""The Build panel with real TensorRT-RTX CPU builds: build, cancel, a failing build through the
error funnel, live profile validation, capabilities, settings round trip, command line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QMessageBox, QWidget

from tests.gui import build_support
from trtgui.core.build.settings import BuildSettings
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.model.profiles import Precision
from trtgui.gui import errors
from trtgui.gui.build_panel import BuildPanel

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


panel = build_support.panel  # the shared fixture
_model = build_support.load_model


def test_build_shows_result(qtbot, panel, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _model(panel, made_models["dynamic_batch"].path, tmp_path)
    assert panel.form.profiles.profile_model.rowCount() == 1  # the suggested profile
    assert panel.build_button.isEnabled()
    with qtbot.waitSignals(
        [panel.build_succeeded, panel.build_finished], order="strict", timeout=60000
    ):
        qtbot.mouseClick(panel.build_button, Qt.MouseButton.LeftButton)
        assert panel.is_building() or panel.result is not None
    assert not panel.is_building()
    assert (tmp_path / "out.engine").is_file()
    assert panel.result.engine_path == tmp_path / "out.engine"
    assert panel.result_view.io_model.rowCount() == 2
    # the engine's -1 dims take the ONNX model's names, written as the Model panel writes them
    shapes = [panel.result_view.io_model.index(r, 3).data() for r in range(2)]
    assert shapes == ["batch×3×16×16", "batch×8"]
    assert panel.result_view.profiles_model.rowCount() == 1
    assert "out.engine" in panel.result_view.result_summary.text()
    assert "Backend: TensorRT for RTX " in panel.result_view.result_summary.text()
    assert panel.log_view.lines_received > 0
    assert panel.progress.value() == panel.progress.maximum()
    with qtbot.waitSignal(panel.show_engine_requested, timeout=1000):
        qtbot.mouseClick(panel.result_view.show_engine_button, Qt.MouseButton.LeftButton)


def test_cancel_leaves_nothing(qtbot, panel, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _model(panel, made_models["static_conv"].path, tmp_path)
    with qtbot.waitSignals(
        [panel.build_cancelled, panel.build_finished], order="strict", timeout=60000
    ):
        panel.start_build()
        panel.cancel_build()
    assert "cancelled" in panel.phase_label.text()
    assert not list(tmp_path.iterdir())
    assert panel.build_button.isEnabled()


def test_failing_build_goes_to_the_funnel(qtbot, panel, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _model(panel, made_models["unknown_op"].path, tmp_path)
    with qtbot.waitSignals(
        [panel.build_failed, panel.build_finished], order="strict", timeout=60000
    ):
        panel.start_build()
    box = errors.last_box
    assert box is not None and box.isVisible()
    assert box.text()
    assert box.detailedText()
    assert "failed" in panel.phase_label.text()
    assert not (tmp_path / "out.engine").exists()


def test_profile_validated_live(qtbot, panel, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _model(panel, made_models["dynamic_batch"].path, tmp_path)
    m = panel.form.profiles.profile_model
    assert not panel.form.profiles.profile_error.isVisible()
    m.setData(m.index(0, 2), "16x3x16x16")  # min batch above max
    assert panel.form.profiles.profile_error.isVisible()
    assert "input" in panel.form.profiles.profile_error.text()
    assert not panel.build_button.isEnabled()
    assert (0, 2) in m.bad_cells
    m.setData(m.index(0, 2), "1x3x16x17")  # a static dim changed
    assert "input" in panel.form.profiles.profile_error.text()
    m.setData(m.index(0, 2), "banana")
    assert "not a shape" in panel.form.profiles.profile_error.text()
    m.setData(m.index(0, 2), "1x3x16x16")
    assert not panel.form.profiles.profile_error.isVisible()
    assert panel.build_button.isEnabled()


def test_static_model_needs_no_profile(qtbot, panel, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _model(panel, made_models["static_conv"].path, tmp_path)
    assert panel.form.profiles.profile_model.rowCount() == 0
    assert panel.form.profiles.profile_note.isVisible()
    assert panel.settings().profiles == ()


def test_capabilities_disable_with_reason(qtbot, panel) -> None:  # type: ignore[no-untyped-def]
    index = panel.form.backend_combo.findData("rtx")
    panel.form.backend_combo.setCurrentIndex(index)
    auto = panel.form.precision_combo.findData("auto")
    item = panel.form.precision_combo.model().item(auto)
    assert not item.isEnabled()
    assert "weak typing" in item.toolTip()
    assert not panel.form.timing_cache_edit.isEnabled()
    assert "not available with TensorRT for RTX" in panel.form.timing_cache_edit.toolTip()
    assert not panel.form.version_compat.isEnabled()
    trt = panel.form.backend_combo.model().item(panel.form.backend_combo.findData("tensorrt"))
    assert not trt.isEnabled()  # NVIDIA TensorRT is not installable here
    assert "pip install" in trt.toolTip()


def test_settings_round_trip_and_command_line(qtbot, panel, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _model(panel, made_models["dynamic_batch"].path, tmp_path)
    s = panel.settings().with_changes(
        precision=Precision.FP16,
        optimization_level=2,
        workspace_bytes=1 << 30,
        keep_converted_onnx=True,
    )
    panel.set_settings(s)
    got = panel.settings()
    assert got == s.with_changes(backend=got.backend)
    text = panel.command_line()
    assert text.splitlines()[-1].startswith("trtgui-cli build") or "trtgui-cli build" in text
    assert "--precision fp16" in text
    assert "--workspace 1G" in text
    assert "--opt-level 2" in text
    assert "input:1x3x16x16:1x3x16x16:8x3x16x16" in text
    exported = tmp_path / "s.json"
    s.save(exported)
    assert BuildSettings.load(exported) == s


def test_cancel_mid_build(qtbot, panel, shared_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Cancel once TensorRT is reporting progress: the build stops and writes nothing."""
    _model(panel, shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx", tmp_path)
    panel.set_log_level(5)  # VERBOSE: a longer build
    with qtbot.waitSignals(
        [panel.build_cancelled, panel.build_finished], order="strict", timeout=60000
    ):
        panel.start_build()
        qtbot.waitUntil(lambda: panel.steps_seen > 3, timeout=30000)
        assert panel.cancel_button.isEnabled()
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert panel.result is None
    assert not list(tmp_path.iterdir())
    assert panel.log_view.lines_received > 0


def test_finished_is_emitted_when_the_panel_clean_up_raises(  # type: ignore[no-untyped-def]
    qtbot, panel, made_models, tmp_path, monkeypatch
) -> None:
    """An exception in the panel's own end-of-build handling goes to the error funnel, and
    build_finished still goes out (callers wait for it)."""
    _model(panel, made_models["static_conv"].path, tmp_path)

    real_update_state = panel._update_state
    armed: list[bool] = []  # set when the build has succeeded

    def broken_update_state() -> None:
        # Fail once, and only inside the end-of-build handling: timers and backend probes
        # also call _update_state, at moments a test cannot control.
        if armed and sys._getframe(1).f_code.co_name == "_on_finished":
            armed.clear()
            raise RuntimeError("clean-up broke")
        real_update_state()

    monkeypatch.setattr(panel, "_update_state", broken_update_state)
    panel.build_succeeded.connect(lambda _result: armed.append(True))
    busy: list[bool] = []
    panel.busy_changed.connect(busy.append)
    with qtbot.waitSignals(
        [panel.build_succeeded, panel.build_finished], order="strict", timeout=60000
    ):
        panel.start_build()
    box = errors.last_box
    assert box is not None and box.isVisible()
    assert "clean-up broke" in box.text()
    assert busy == [True, False]
    assert not panel.is_building()


# -- issue #10: names, replacing, a fresh panel per model, one log control, cancel feedback ------


def _answer_next_box(button: QMessageBox.StandardButton) -> list[tuple[str, bool]]:
    """Answer the next modal message box with `button`; returns (text, No is the default)."""
    asked: list[tuple[str, bool]] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        no = box.button(QMessageBox.StandardButton.No)
        asked.append((box.text(), box.defaultButton() is no))
        box.button(button).click()

    QTimer.singleShot(0, answer)
    return asked


def _build(qtbot, panel: BuildPanel) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignals(
        [panel.build_succeeded, panel.build_finished], order="strict", timeout=60000
    ):
        panel.start_build()
    panel.log_view.flush()


def test_default_engine_name_follows_the_precision(qtbot, panel, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from trtgui.core.build.settings import default_engine_path

    model = tmp_path / "m.onnx"
    model.write_bytes(made_models["static_conv"].path.read_bytes())
    panel.set_model(inspect_onnx(model))
    names = {}
    for value in ("fp16", "int8", "fp32"):
        panel.form.precision_combo.setCurrentIndex(panel.form.precision_combo.findData(value))
        names[value] = panel.form.output_edit.text()
        # the CLI's default for the same precision (trtgui-cli build without -o)
        assert names[value] == str(default_engine_path(model, value))
    assert {k: Path(v).name for k, v in names.items()} == {
        "fp16": "m.fp16.engine",
        "int8": "m.int8.engine",
        "fp32": "m.engine",
    }
    chosen = str(tmp_path / "mine.engine")  # a path the user typed stays whatever the precision
    panel.form.output_edit.setText(chosen)
    panel.form.precision_combo.setCurrentIndex(panel.form.precision_combo.findData("fp16"))
    assert panel.form.output_edit.text() == chosen


def test_an_existing_engine_is_replaced_only_when_the_user_says_so(  # type: ignore[no-untyped-def]
    qtbot, panel, made_models, tmp_path
) -> None:
    _model(panel, made_models["static_conv"].path, tmp_path)
    engine = tmp_path / "out.engine"
    engine.write_bytes(b"the user's engine")
    asked = _answer_next_box(QMessageBox.StandardButton.No)
    panel.start_build()
    assert asked == [(f"out.engine already exists in {tmp_path}.", True)]
    assert not panel.is_building()
    assert engine.read_bytes() == b"the user's engine"
    assert panel.phase_label.text() == "Not built: out.engine was kept."
    asked = _answer_next_box(QMessageBox.StandardButton.Yes)
    _build(qtbot, panel)
    assert len(asked) == 1
    assert engine.stat().st_size == panel.result.engine_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.engine", "out.engine.json"]


def test_opening_another_model_clears_the_last_build(qtbot, panel, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _model(panel, made_models["static_conv"].path, tmp_path)
    _build(qtbot, panel)
    assert panel.elapsed_label.text().endswith(" s") and panel.log_view.plain_text()
    assert panel.right_tabs.currentIndex() == 1
    panel.set_model(inspect_onnx(made_models["dynamic_batch"].path))
    assert panel.phase_label.text() == "Ready."
    assert panel.elapsed_label.text() == ""
    assert panel.log_view.plain_text() == ""
    assert panel.result is None
    view = panel.result_view
    assert view.io_model.rowCount() == 0 and view.profiles_model.rowCount() == 0
    assert panel.result_view.result_summary.text() == "Build an engine to see its summary here."
    assert not panel.result_view.show_engine_button.isEnabled()
    assert panel.right_tabs.currentIndex() == 0
    assert panel.progress.value() == 0
    # The next build's clock starts at zero, not at the last build's time.
    panel.form.output_edit.setText(str(tmp_path / "second.engine"))
    with qtbot.waitSignal(panel.build_finished, timeout=60000):
        panel.start_build()
        assert panel.elapsed_label.text() == "0.0 s"


def test_window_keeps_its_width_when_the_result_appears(  # type: ignore[no-untyped-def]
    qtbot, window, made_models, tmp_path
) -> None:
    """A long engine path in the result (and in the Engine panel, which gets the result too)
    raised the window's minimum width: the window grew past 1200 px and remembered it."""
    pytest.importorskip("tensorrt_rtx")
    window.resize(1200, 800)
    window.open_path(made_models["dynamic_batch"].path)
    qtbot.waitUntil(lambda: window.model_info is not None, timeout=20000)
    window._open_handle.wait()
    panel = window.build_panel()
    folder = tmp_path / ("engines-" + "x" * 150)
    folder.mkdir()
    panel.form.output_edit.setText(str(folder / "dynamic_batch.fp16.engine"))
    with qtbot.waitSignal(panel.build_finished, timeout=60000):
        window.start_build()
    qtbot.wait(100)  # the layout requests that would grow the window are posted events
    assert panel.result is not None and panel.right_tabs.currentIndex() == 1
    assert window.width() == 1200
    assert window.minimumSizeHint().width() <= 1200


def test_one_log_control_decides_what_a_build_records(qtbot, panel, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    labels = [label.text() for label in panel.findChildren(QLabel)]
    assert "Build log:" not in labels  # the second switch (in Advanced options) is gone
    _model(panel, made_models["static_conv"].path, tmp_path)
    view = panel.log_view
    view.severity.setCurrentIndex(view.severity.findText("Verbose"))
    _build(qtbot, panel)
    first = view.plain_text().splitlines()
    assert any(line.startswith("[V] ") for line in first)
    ours = ("[I] Building ", "[I] Built ", "[I] [trtgui]")
    tensorrt_info = {ln for ln in first if ln.startswith("[I] ") and not ln.startswith(ours)}
    assert tensorrt_info  # e.g. "[I] Detected 1 inputs and 1 output network tensors."

    view.clear()
    view.severity.setCurrentIndex(view.severity.findText("Warnings"))
    panel.form.output_edit.setText(str(tmp_path / "warnings.engine"))
    _build(qtbot, panel)
    saved = tmp_path / "log.txt"
    view.save(saved)  # every line the view received, whatever it shows
    recorded = saved.read_text().splitlines()
    assert not [ln for ln in recorded if ln.startswith("[V] ") or ln in tensorrt_info]
    assert not [ln for ln in view.plain_text().splitlines() if ln.startswith(("[I] ", "[V] "))]


def test_the_result_tab_appears_only_when_the_build_is_over(  # type: ignore[no-untyped-def]
    qtbot, panel, made_models, tmp_path
) -> None:
    _model(panel, made_models["dynamic_batch"].path, tmp_path)
    panel.right_tabs.setCurrentIndex(1)  # looking at an earlier result
    changes: list[tuple[int, bool]] = []
    panel.right_tabs.currentChanged.connect(lambda i: changes.append((i, panel.is_building())))
    _build(qtbot, panel)
    assert changes == [(0, False), (1, False)]  # the log as it starts, the result at the end


def test_cancel_says_cancelling_at_once_and_cancelled_once(  # type: ignore[no-untyped-def]
    qtbot, panel, shared_models, tmp_path
) -> None:
    _model(panel, shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx", tmp_path)
    with qtbot.waitSignals(
        [panel.build_cancelled, panel.build_finished], order="strict", timeout=60000
    ):
        panel.start_build()
        qtbot.waitUntil(lambda: panel.steps_seen > 3, timeout=30000)
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        assert panel.phase_label.text() == "Cancelling…"
        panel._on_progress(panel._last_event)  # an event that was queued before the click
        assert panel.phase_label.text() == "Cancelling…"
    log = panel.log_view.plain_text()
    said = [ln for ln in log.splitlines() if "cancel" in ln.replace(str(tmp_path), "").lower()]
    assert said == ["[W] Build cancelled by the user: nothing was written."], log
    assert "[E]" not in log, log
    assert panel.phase_label.text() == "Build cancelled: nothing was written."


def test_closing_during_a_build_shows_cancelling_first(  # type: ignore[no-untyped-def]
    qtbot, window, shared_models, tmp_path
) -> None:
    """Ctrl+Q waits for the build's child to end: "Cancelling…" must be painted before that
    wait."""
    pytest.importorskip("tensorrt_rtx")
    from trtgui.gui import build_process, workers

    window.open_path(shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx")
    qtbot.waitUntil(lambda: window.model_info is not None, timeout=20000)
    window._open_handle.wait()
    panel = window.build_panel()
    panel.form.output_edit.setText(str(tmp_path / "det.engine"))
    window.start_build()
    qtbot.waitUntil(lambda: panel.steps_seen > 3, timeout=30000)

    painted: list[str] = []

    class PaintSpy(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                painted.append(panel.phase_label.text())
            return False

    spy = PaintSpy()
    panel.phase_label.installEventFilter(spy)
    at_wait: list[tuple[list[str], str]] = []
    process = panel.build_process
    real_shutdown = process.shutdown

    def shutdown(timeout_ms: int = 2000) -> bool:
        at_wait.append((list(painted), window.statusBar().currentMessage()))
        return bool(real_shutdown(timeout_ms))

    process.shutdown = shutdown
    window.close()
    painted_then, status_then = at_wait[0]
    assert "Cancelling…" in painted_then
    assert status_then == "Cancelling the build…"
    assert not workers.running_threads()
    assert not build_process.running_children()  # the build's child and the idle one
    assert not (tmp_path / "det.engine").exists()


def test_panel_text_has_no_command_line_flags(qtbot, panel, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _model(panel, made_models["static_conv"].path, tmp_path)
    panel.form.precision_combo.setCurrentIndex(panel.form.precision_combo.findData("int8"))
    panel.show_advanced(True)
    texts: list[str] = []
    for widget in panel.findChildren(QWidget):
        texts.append(widget.toolTip())
        for getter in ("text", "title", "placeholderText"):
            value = getattr(widget, getter, None)
            if callable(value):
                texts.append(str(value()))
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(widget.count())]
    assert not [t for t in texts if "--" in t]
    # INT8 with no calibration folder: said in the panel's words, and nothing starts.
    panel.start_build()
    box = errors.last_box
    assert box is not None and box.isVisible()
    assert "calibration folder" in box.text() and "--" not in box.text()
    assert not panel.is_building()
