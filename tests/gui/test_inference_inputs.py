"""`InferenceInputs` on its own (no panel): the demo model and photo are read in workers, the
tensor preview follows, and `missing()` says what a run still waits for."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QWidget

from trtgui.core.resources import resource_path
from trtgui.gui.image_view import ImageView
from trtgui.gui.inference_controls import InferenceControls
from trtgui.gui.inference_inputs import InferenceInputs


@pytest.fixture
def inputs(qtbot):  # type: ignore[no-untyped-def]
    owner = QWidget()
    qtbot.addWidget(owner)
    made = InferenceInputs(InferenceControls(), ImageView(), owner)
    yield made
    made.cancel()
    assert made.wait()


def test_model_then_photo_then_tensor(qtbot, inputs: InferenceInputs) -> None:  # type: ignore[no-untyped-def]
    model = resource_path("demo", "model.onnx")
    photo = resource_path("demo", "coffee.jpg")
    if not model.is_file() or not photo.is_file():
        pytest.skip("the demo is not in resources/demo")
    assert inputs.missing() == ["choose a model", "drop or open an image"]
    cleared: list[bool] = []
    inputs.cleared.connect(lambda: cleared.append(True))
    with qtbot.waitSignal(inputs.model_ready, timeout=30000):
        inputs.set_model(model)
    assert inputs.model_path == model and inputs.model_info is not None
    with qtbot.waitSignals([inputs.image_loaded, inputs.preview_updated], timeout=30000):
        inputs.open_image(photo)
    qtbot.waitUntil(lambda: not inputs.is_loading(), timeout=30000)
    assert inputs.image_path == photo and inputs.missing() == []
    assert cleared == [True, True]  # a new model, then a new image: old results gone
    # The demo is EfficientNet-Lite0: input [batch,3,224,224] (shared models README).
    assert inputs.tensor is not None and inputs.tensor.shape == (1, 3, 224, 224)


def test_a_bad_image_is_reported_once(qtbot, inputs: InferenceInputs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "not_a_photo.png"
    bad.write_bytes(b"this is text, not a PNG")
    failures: list[BaseException] = []
    inputs.failed.connect(failures.append)
    with qtbot.waitSignal(inputs.image_failed, timeout=30000):
        inputs.open_image(bad)
    assert len(failures) == 1 and inputs.image_path is None
    qtbot.waitUntil(lambda: not inputs.is_loading(), timeout=30000)
    assert inputs.missing() == ["choose a model", "drop or open an image"]
