"""The Build panel with real TensorRT-RTX CPU builds: build, cancel, a failing build through the
error funnel, live profile validation, capabilities, settings round trip, command line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from trtgui.core.backends import available_backends, gpu_report
from trtgui.core.onnx_model import inspect_onnx
from trtgui.core.settings import BuildSettings, Precision
from trtgui.gui import errors
from trtgui.gui.build_panel import BuildPanel

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def panel(qtbot):  # type: ignore[no-untyped-def]
    pytest.importorskip("tensorrt_rtx")
    p = BuildPanel()
    qtbot.addWidget(p)
    p.set_backends(available_backends(), gpu_report())
    p.show()
    yield p
    p.shutdown()


def _model(panel: BuildPanel, path: Path, tmp_path: Path) -> None:
    panel.set_model(inspect_onnx(path))
    panel.output_edit.setText(str(tmp_path / "out.engine"))


def test_build_shows_result(qtbot, panel, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _model(panel, made_models["dynamic_batch"].path, tmp_path)
    assert panel.profile_model.rowCount() == 1  # the suggested profile
    assert panel.build_button.isEnabled()
    with qtbot.waitSignals(
        [panel.build_succeeded, panel.build_finished], order="strict", timeout=60000
    ):
        qtbot.mouseClick(panel.build_button, Qt.MouseButton.LeftButton)
        assert panel.is_building() or panel.result is not None
    assert not panel.is_building()
    assert (tmp_path / "out.engine").is_file()
    assert panel.result.engine_path == tmp_path / "out.engine"
    assert panel.io_model.rowCount() == 2
    # the engine's -1 dims take the ONNX model's names, written as the Model panel writes them
    shapes = [panel.io_model.index(r, 3).data() for r in range(2)]
    assert shapes == ["batch×3×16×16", "batch×8"]
    assert panel.profiles_model.rowCount() == 1
    assert "out.engine" in panel.result_summary.text()
    assert "Backend: TensorRT for RTX " in panel.result_summary.text()
    assert panel.log_view.lines_received > 0
    assert panel.progress.value() == panel.progress.maximum()
    with qtbot.waitSignal(panel.show_engine_requested, timeout=1000):
        qtbot.mouseClick(panel.show_engine_button, Qt.MouseButton.LeftButton)


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
    m = panel.profile_model
    assert not panel.profile_error.isVisible()
    m.setData(m.index(0, 2), "16x3x16x16")  # min batch above max
    assert panel.profile_error.isVisible()
    assert "input" in panel.profile_error.text()
    assert not panel.build_button.isEnabled()
    assert (0, 2) in m.bad_cells
    m.setData(m.index(0, 2), "1x3x16x17")  # a static dim changed
    assert "input" in panel.profile_error.text()
    m.setData(m.index(0, 2), "banana")
    assert "not a shape" in panel.profile_error.text()
    m.setData(m.index(0, 2), "1x3x16x16")
    assert not panel.profile_error.isVisible()
    assert panel.build_button.isEnabled()


def test_static_model_needs_no_profile(qtbot, panel, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _model(panel, made_models["static_conv"].path, tmp_path)
    assert panel.profile_model.rowCount() == 0
    assert panel.profile_note.isVisible()
    assert panel.settings().profiles == ()


def test_capabilities_disable_with_reason(qtbot, panel) -> None:  # type: ignore[no-untyped-def]
    index = panel.backend_combo.findData("rtx")
    panel.backend_combo.setCurrentIndex(index)
    auto = panel.precision_combo.findData("auto")
    item = panel.precision_combo.model().item(auto)
    assert not item.isEnabled()
    assert "weak typing" in item.toolTip()
    assert not panel.timing_cache_edit.isEnabled()
    assert "not available with TensorRT for RTX" in panel.timing_cache_edit.toolTip()
    assert not panel.version_compat.isEnabled()
    trt = panel.backend_combo.model().item(panel.backend_combo.findData("tensorrt"))
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
