"""The Inference panel with qtbot: the demo (or the shared EfficientNet-Lite0) on a real photo →
Run → "espresso" on top; a bad image → the error funnel, and the panel still works."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from trtgui.core import imaging
from trtgui.core.imaging import PreprocessSpec
from trtgui.core.predict.compare import Comparison, OutputComparison
from trtgui.core.resources import resource_path
from trtgui.gui import errors, workers
from trtgui.gui.inference_panel import InferencePanel
from trtgui.gui.inference_results import runner_text, timing_rows
from trtgui.gui.preprocess_form import (
    PRESET_WORDS,
    format_number,
    parse_number,
    parse_vector,
    tensor_preview,
)


@pytest.fixture
def demo() -> tuple[Path, Path]:
    """(model, coffee photo) of the shipped demo."""
    model = resource_path("demo", "model.onnx")
    images = sorted(resource_path("demo").glob("coffee.*"))
    if not model.is_file() or not images:
        pytest.skip("the demo is not in resources/demo")
    return model, images[0]


@pytest.fixture
def panel(qtbot) -> InferencePanel:  # type: ignore[no-untyped-def]
    widget = InferencePanel()
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    return widget


def _settle(qtbot, panel: InferencePanel) -> None:  # type: ignore[no-untyped-def]
    """Wait for the panel's workers: the model, the image and the tensor preview are read
    and made off the GUI thread (issue #12), so they arrive a moment after the call."""
    qtbot.waitUntil(lambda: not panel.is_loading(), timeout=30000)


def _run(qtbot, panel: InferencePanel) -> None:  # type: ignore[no-untyped-def]
    _settle(qtbot, panel)
    with qtbot.waitSignal(panel.run_finished, timeout=60000):
        panel.controls.run_button.click()
    panel.wait()
    assert not workers.running_threads()


def _close_error_box() -> None:
    if errors.last_box is not None:
        errors.last_box.close()


def test_demo_image_run_shows_espresso(qtbot, panel: InferencePanel, demo) -> None:  # type: ignore[no-untyped-def]
    model, photo = demo
    panel.set_model(model)
    _settle(qtbot, panel)
    assert not panel.controls.run_button.isEnabled()  # no image yet
    assert panel.open_image(photo)
    _settle(qtbot, panel)
    assert panel.controls.run_button.isEnabled()
    # the preprocessing form is pre-filled by the model's guess, and the tensor is previewed
    assert panel.controls.form.preset_name() == "tflite"
    assert panel.controls.form.preset.currentText() == PRESET_WORDS["tflite"]  # words, not "tflite"
    tensor = panel.input_tensor()
    assert tensor is not None and tensor.shape == (1, 3, 224, 224)
    assert "1×3×224×224" in panel.controls.tensor_label.text()
    assert (
        panel.controls.thumbnail.pixmap() is not None
        and not panel.controls.thumbnail.pixmap().isNull()
    )

    with qtbot.waitSignal(panel.prediction_finished, timeout=60000) as done:
        _run(qtbot, panel)
    report = done.args[0]
    assert panel.results.class_model.labels()[0] == "espresso"
    assert panel.results.result_stack.currentWidget() is panel.results.class_view
    assert "espresso" in panel.results.summary_label.text()
    assert panel.results.runner_label.text().startswith("ONNX Runtime (CPU)")
    assert [r[0] for r in panel.results.timing_model.rows()][:2] == [
        "Load (image, session or engine)",
        "Preprocess",
    ]
    assert panel.results.view.has_image()
    assert report.prediction.top.label == "espresso"
    assert not panel.is_busy()


def test_shared_model_on_coffee(qtbot, panel: InferencePanel, shared_models: Path) -> None:  # type: ignore[no-untyped-def]
    panel.set_model(shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx")
    panel.open_image(shared_models / "images" / "coffee.png")
    panel.controls.labels_edit.setText(str(shared_models / "imagenet_labels.txt"))
    _run(qtbot, panel)
    assert panel.results.class_model.labels()[0] == "espresso"


def test_bad_image_goes_to_error_funnel_and_panel_still_works(  # type: ignore[no-untyped-def]
    qtbot, panel: InferencePanel, demo, tmp_path: Path
) -> None:
    model, photo = demo
    panel.set_model(model)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 4)
    with qtbot.waitSignal(panel.image_failed, timeout=30000):
        panel.open_image(bad)
    _settle(qtbot, panel)
    assert errors.last_box is not None
    assert "broken.png" in errors.last_box.text() or "image" in errors.last_box.text().lower()
    _close_error_box()
    assert panel.image_path() is None
    assert not panel.controls.run_button.isEnabled()

    # dropping a good image afterwards works, and so does a run
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo))])
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(panel.image_loaded):
        panel.dropEvent(drop)
    assert panel.image_path() == photo
    _run(qtbot, panel)
    assert panel.results.class_model.labels()[0] == "espresso"


def test_failed_run_reports_and_recovers(
    qtbot, panel: InferencePanel, demo, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _, photo = demo
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07garbage")
    panel.set_model(broken)
    panel.open_image(photo)
    with qtbot.waitSignal(panel.prediction_failed, timeout=60000):
        _run(qtbot, panel)
    assert errors.last_box is not None
    _close_error_box()
    assert panel.controls.run_button.isEnabled()
    assert panel.report() is None


def test_preset_form_edits(qtbot, panel: InferencePanel) -> None:  # type: ignore[no-untyped-def]
    form = panel.controls.form
    form.choose_preset("imagenet")
    assert form.spec().preset == "imagenet"
    assert form.scale.text() == "1/255"
    assert not form._form.isRowVisible(form.pad_value)
    with qtbot.waitSignal(form.spec_changed):
        form.mean.setText("0.5, 0.5, 0.5")
        form.mean.textEdited.emit("0.5, 0.5, 0.5")
    assert form.spec().mean == (0.5, 0.5, 0.5)
    assert form.preset_name() == "custom"
    form.std.setText("abc")
    form.std.textEdited.emit("abc")
    assert form.error()
    assert form.spec().std == (0.229, 0.224, 0.225)  # the last valid spec is kept
    form.resize_mode.setCurrentIndex(form.resize_mode.findData("letterbox"))
    assert form._form.isRowVisible(form.pad_value)


def test_preprocessing_combos_show_words_and_keep_raw_values(qtbot, panel: InferencePanel) -> None:  # type: ignore[no-untyped-def]
    form = panel.controls.form
    combos = (form.preset, form.resize_mode, form.channel_order, panel.controls.kind_combo)
    for combo in combos:
        shown = [combo.itemText(i) for i in range(combo.count())]
        raw = [combo.itemData(i) for i in range(combo.count())]
        # no raw identifiers (short_side_crop, paddleocr-det) reach the user
        assert not any("_" in text or text in ("tflite", "paddleocr-det") for text in shown)
        assert all(isinstance(value, str) for value in raw)
    form.choose_preset("tflite")
    assert form.resize_mode.currentText() == "Resize short side, centre crop"
    assert form.resize_mode.currentData() == "short_side_crop"
    assert form.preset.currentText().startswith("TF-Lite (")
    # choosing by the shown words edits the spec with the raw value
    with qtbot.waitSignal(form.spec_changed):
        form.resize_mode.setCurrentIndex(form.resize_mode.findText("Stretch to the size"))
    assert form.spec().resize == "stretch" and form.preset_name() == "custom"
    panel.controls.kind_combo.setCurrentIndex(panel.controls.kind_combo.findData("detection"))
    panel.set_model(resource_path("demo", "model.onnx"))
    _settle(qtbot, panel)
    assert panel.controls.kind_combo.currentData() == "auto"


def test_labels_field_browse_placeholder_and_reset_per_model(  # type: ignore[no-untyped-def]
    qtbot, panel: InferencePanel, demo, shared_models: Path, monkeypatch, tmp_path: Path
) -> None:
    from PySide6.QtWidgets import QFileDialog

    model, _photo = demo
    panel.set_model(model)  # labels.txt beside it
    _settle(qtbot, panel)
    assert panel.controls.labels_edit.placeholderText() == "from the model (labels.txt)"
    chosen = tmp_path / "my labels.txt"
    chosen.write_text("a\nb\n", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(chosen), ""))
    panel.controls.labels_button.click()
    assert panel.controls.labels_edit.text() == str(chosen)
    panel.set_model(model)  # the same model again keeps the user's labels
    _settle(qtbot, panel)
    assert panel.controls.labels_edit.text() == str(chosen)

    # another model: its labels path does not carry over
    panel.set_model(shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx")
    _settle(qtbot, panel)
    assert panel.controls.labels_edit.text() == ""
    assert panel.controls.labels_edit.placeholderText() == "none"
    # a 1000-class classifier without labels beside it: the built-in ImageNet names
    panel.set_model(shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx")
    _settle(qtbot, panel)
    assert panel.controls.labels_edit.placeholderText() == "ImageNet (built in)"


def test_imagenet_model_without_labels_shows_names(  # type: ignore[no-untyped-def]
    qtbot, panel: InferencePanel, shared_models: Path
) -> None:
    panel.set_model(shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx")
    panel.open_image(shared_models / "images" / "coffee.png")
    _run(qtbot, panel)
    # coffee → espresso: the reference result in ../shared/models/README.md
    assert panel.results.class_model.labels()[0] == "espresso"
    assert panel.results.class_model.index(0, 1).data() == "espresso  (class 967)"
    assert "Labels: ImageNet (built in)" in panel.results.notes_text.toPlainText()


def test_a_class_without_labels_is_named_once(
    qtbot, panel: InferencePanel, made_models, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    image = tmp_path / "x.png"
    from PIL import Image as PilImage

    PilImage.new("RGB", (40, 30), (10, 200, 30)).save(image)
    panel.set_model(made_models["static_conv"].path)  # 8 classes, no labels anywhere
    panel.open_image(image)
    _run(qtbot, panel)
    shown = [
        panel.results.class_model.index(r, 1).data()
        for r in range(panel.results.class_model.rowCount())
    ]
    assert shown and all(re.fullmatch(r"class \d", text) for text in shown), shown


def test_controls_fit_a_1200x800_window_without_scrolling(qtbot, window, shared_models) -> None:  # type: ignore[no-untyped-def]
    """The whole form and the Run button are on screen at the default window size, for the
    classifier demo and for a text detector (its preprocessing shows one more row)."""
    from PySide6.QtWidgets import QScrollArea

    window.resize(1200, 800)
    window.show_tab(3)
    panel = window.inference_panel()
    ocr = shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx"
    for model, photo in (
        (resource_path("demo", "model.onnx"), resource_path("demo", "coffee.jpg")),
        (ocr, shared_models / "images" / "page.png"),
    ):
        panel.set_model(model)
        panel.open_image(photo)
        _settle(qtbot, panel)
        qtbot.wait(50)  # let the layouts settle
        scroll = panel.findChild(QScrollArea)
        assert scroll.verticalScrollBar().maximum() == 0, f"{model.name}: the controls scroll"
        assert scroll.widget().minimumSizeHint().width() <= scroll.viewport().width()
        run = panel.controls.run_button
        assert run.isVisible() and run.isEnabled()
        top_left = run.mapTo(panel, run.rect().topLeft())
        bottom_right = run.mapTo(panel, run.rect().bottomRight())
        assert panel.rect().contains(top_left) and panel.rect().contains(bottom_right)
        assert not run.visibleRegion().isEmpty()


def test_helpers() -> None:
    assert parse_number("1/255") == pytest.approx(1 / 255)
    assert format_number(1 / 255) == "1/255"
    assert format_number(127.0) == "127"
    assert parse_vector("(0.485, 0.456 0.406)") == (0.485, 0.456, 0.406)
    with pytest.raises(ValueError):
        parse_vector("")
    # the preview undoes the normalisation: a BGR ImageNet tensor of a red picture looks red
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    spec = PreprocessSpec(
        height=8,
        width=8,
        scale=1 / 255,
        channel_order="BGR",
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
    )
    tensor, _ = imaging.preprocess(red, spec)
    pixel = tensor_preview(tensor, spec).getpixel((4, 4))
    assert pixel[0] > 250 and pixel[1] < 5 and pixel[2] < 5
    rows = timing_rows({"inference_ms": 1.5, "reference_inference_ms": None})
    assert rows == [("Inference", "1.50 ms")]
    text = runner_text(
        "ONNX Runtime",
        "ONNX Runtime (CPUExecutionProvider)",
        engine_given=True,
        compared=False,
        notes=["TensorRT not used: Loading an engine needs an NVIDIA GPU, and none"],
    )
    assert text == "ONNX Runtime (CPU) — no GPU for the engine"


def test_open_demo_uses_its_preset_and_labels(qtbot, panel: InferencePanel, demo) -> None:  # type: ignore[no-untyped-def]
    assert panel.open_demo()
    _settle(qtbot, panel)
    assert panel.model_path() == demo[0]
    assert panel.image_path() is not None and panel.image_path().name.startswith("coffee")
    assert panel.controls.labels_edit.text().endswith("labels.txt")
    assert panel.spec().preset == "tflite"


def test_open_demo_of_a_broken_folder_goes_to_the_error_funnel(  # type: ignore[no-untyped-def]
    qtbot, panel: InferencePanel, tmp_path: Path
) -> None:
    """The panel reads a demo folder with the core's one demo.json reader."""
    (tmp_path / "demo.json").write_text('{"model": "model.onnx"}', encoding="utf-8")
    panel.open_demo(tmp_path)
    _settle(qtbot, panel)
    assert errors.last_box is not None
    assert "model.onnx is missing" in errors.last_box.text()
    _close_error_box()
    assert panel.model_path() is None and not panel.controls.run_button.isEnabled()


def test_kind_list_is_the_decoder_registry(qtbot, panel: InferencePanel) -> None:  # type: ignore[no-untyped-def]
    from trtgui.core.predict.decoders import decoders

    combo = panel.controls.kind_combo
    assert [combo.itemData(i) for i in range(combo.count())] == [
        "auto",
        *(d.kind for d in decoders()),
    ]
    assert combo.itemText(0) == "Automatic (from the output shapes)"
    combo.setCurrentIndex(combo.findData("raw"))
    assert panel.controls.kind() == "raw"
    combo.setCurrentIndex(0)
    assert panel.controls.kind() is None  # automatic: the run guesses from the shapes


def test_engine_without_gpu_falls_back_to_onnx_runtime(  # type: ignore[no-untyped-def]
    qtbot, panel: InferencePanel, demo, tmp_path: Path
) -> None:
    """A real engine of the demo model, built by TensorRT-RTX on the CPU: on a machine
    without a GPU the panel runs its ONNX model and says why."""
    from trtgui.core import backends, gpus

    if not backends.probe_backend("rtx").available:
        pytest.skip("TensorRT for RTX is not installed")
    if gpus.gpu_report().has_gpu:
        pytest.skip("this machine has a GPU; the fallback test is for machines without one")
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.model.onnx_model import inspect_onnx
    from trtgui.core.model.profiles import suggest_profiles

    model, photo = demo
    engine = tmp_path / "demo.engine"
    settings = BuildSettings(
        onnx_path=str(model),
        output_path=str(engine),
        backend="rtx",
        profiles=suggest_profiles(inspect_onnx(model)),
    )
    result = build_engine(settings)
    assert result.engine_path.is_file()
    panel.set_model(engine)
    _settle(qtbot, panel)
    assert panel.spec().preset == "tflite"  # guessed from the ONNX model its sidecar names
    panel.open_image(photo)
    _run(qtbot, panel)
    assert panel.results.runner_label.text() == "ONNX Runtime (CPU) — no GPU for the engine"
    assert panel.results.class_model.labels()[0] == "espresso"
    assert not panel.results.verdict_label.isVisible()


def _comparison(passed: bool) -> Comparison:
    """A one-output comparison record: "logits" within or far outside FP32's tolerance."""
    error = 2e-4 if passed else 0.5
    output = OutputComparison(
        name="logits",
        passed=passed,
        reference_shape=(1, 1000),
        candidate_shape=(1, 1000),
        max_abs=error,
        mean_abs=1e-5,
        max_rel=error,
        mean_rel=1e-5,
        cosine=1.0,
        mismatches=0 if passed else 1,
        elements=1000,
    )
    return Comparison(precision="fp32", atol=1e-5, rtol=1e-5, outputs=(output,))


def test_comparison_pass_and_fail(qtbot, panel: InferencePanel, demo) -> None:  # type: ignore[no-untyped-def]
    """A real report with a sample comparison attached: PASS and FAIL are shown plainly."""
    from trtgui.core.predict.flow import run_prediction

    model, photo = demo
    report = run_prediction(model, photo)
    panel.show()
    for passed in (True, False):
        panel.show_report(dataclasses.replace(report, comparison=_comparison(passed)))
        word = "PASS" if passed else "FAIL"
        assert panel.results.verdict_label.isVisible()
        assert panel.results.verdict_label.text() == word
        assert panel.results.compare_model.rows()[0][0] == "logits"
        assert panel.results.compare_model.rows()[0][3] == word
        assert panel.results.result_tabs.tabText(2).endswith(word)


def test_signals_go_out_when_rendering_raises(
    qtbot, panel: InferencePanel, demo, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    model, photo = demo
    panel.set_model(model)
    panel.open_image(photo)
    _settle(qtbot, panel)

    def broken(report: object) -> None:
        raise RuntimeError("a rendering bug")

    monkeypatch.setattr(panel, "show_report", broken)
    with qtbot.capture_exceptions() as caught:
        with qtbot.waitSignals([panel.prediction_finished, panel.run_finished], timeout=60000):
            panel.controls.run_button.click()
        panel.wait()
    assert [type(exc) for _, exc, _ in caught] == [RuntimeError]
    assert panel.controls.run_button.isEnabled()


def test_preview_refuses_a_tensor_too_large_to_make(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The tensor preview estimates the tensor's size before making it (issue #12)."""
    from PIL import Image as PilImage

    from trtgui.core.errors import InferenceError
    from trtgui.gui import inference_jobs
    from trtgui.gui.workers import JobContext

    spec = PreprocessSpec(height=64, width=64)
    # 1x3x64x64 float32 is 48 KiB (3 * 64 * 64 * 4 bytes): over a 40 KiB limit, under 64 KiB.
    assert inference_jobs.tensor_bytes((100, 80), spec) == (64, 64, 3, 49152)
    image = PilImage.new("RGB", (100, 80))
    monkeypatch.setattr(inference_jobs, "PREVIEW_MAX_BYTES", 40 * 1024)
    with pytest.raises(InferenceError, match=r"would be 3×64×64 \(48\.0 KiB\)"):
        inference_jobs.preview_job(image, spec)(JobContext())
    monkeypatch.setattr(inference_jobs, "PREVIEW_MAX_BYTES", 64 * 1024)
    preview = inference_jobs.preview_job(image, spec)(JobContext())
    assert preview.tensor.shape == (1, 3, 64, 64) and not preview.picture.isNull()
