"""Issue #10: every panel writes shapes as `core.shapes.shape_text` does ("batch×3×224×224"),
the CLI's one writer; typed shapes read "×" too; image sizes read width × height everywhere."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from trtgui.core import backends
from trtgui.core.imaging import PreprocessSpec
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.model.profiles import InputShape, ShapeProfile
from trtgui.core.predict.decoders.raw import output_stats
from trtgui.core.predict.demo import load_demo
from trtgui.core.shapes import shape_text
from trtgui.gui.inference_results import stats_rows
from trtgui.gui.model_panel import ModelPanel
from trtgui.gui.preprocess_form import PreprocessForm, summarise_tensor
from trtgui.gui.table_models import ProfileEditModel

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _column(model: Any, col: int) -> list[str]:
    return [model.index(r, col).data() for r in range(model.rowCount())]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """dynamic_batch ([batch,3,16,16] -> [batch,8]) built with the suggested profile."""
    if not backends.probe_backend("rtx").available:
        pytest.skip("TensorRT for RTX is not installed")
    from tests import onnx_factory
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.model.profiles import suggest_profiles

    tmp = tmp_path_factory.mktemp("notation")
    model = onnx_factory.dynamic_batch(tmp).path
    info = inspect_onnx(model)
    result = build_engine(
        BuildSettings(
            onnx_path=str(model),
            output_path=str(tmp / "m.engine"),
            backend="rtx",
            profiles=suggest_profiles(info),
        )
    )
    return info, result


def test_model_panel(qtbot) -> None:  # type: ignore[no-untyped-def]
    info = inspect_onnx(load_demo().model)
    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.set_model(info)
    shown = _column(panel.io_model, 3)
    assert shown == [shape_text(t.shape) for t in (*info.inputs, *info.outputs)]
    assert shown == ["batch×3×224×224", "batch×1000"]  # the demo model: EfficientNet-Lite0


def test_build_panel(qtbot, built) -> None:  # type: ignore[no-untyped-def]
    from trtgui.gui.build_panel import BuildPanel

    info, result = built
    panel = BuildPanel()
    qtbot.addWidget(panel)
    panel.set_model(info)
    panel.show_result(result)
    names = {t.name: t.shape for t in (*info.inputs, *info.outputs)}
    expected = [shape_text(t.shape, names[t.name]) for t in result.io_tensors]
    assert _column(panel.result_view.io_model, 3) == expected == ["batch×3×16×16", "batch×8"]
    item = result.profiles[0].inputs[0]
    assert _column(panel.result_view.profiles_model, 2) == [shape_text(item.min)]
    assert _column(panel.result_view.profiles_model, 4) == [shape_text(item.max)] == ["8×3×16×16"]
    panel.shutdown()


def test_engine_panel(qtbot, built) -> None:  # type: ignore[no-untyped-def]
    from trtgui.gui.engine_panel import EnginePanel

    info, result = built
    panel = EnginePanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.load_finished, timeout=20000):
        panel.show_build_result(result)
    panel.wait()
    names = {t.name: t.shape for t in (*info.inputs, *info.outputs)}
    expected = [shape_text(t.shape, names[t.name]) for t in result.io_tensors]
    assert _column(panel.io_model, 3) == expected


def test_inference_texts() -> None:
    tensor = np.zeros((1, 3, 224, 224), np.float32)
    assert summarise_tensor(tensor).text().split()[0] == shape_text(tensor.shape) == "1×3×224×224"
    stats = output_stats("logits", np.zeros((1, 1000), np.float32))
    assert stats_rows([stats])[0][1] == shape_text((1, 1000))


def test_profile_cells_read_a_pasted_shape(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = ProfileEditModel()
    model.set_profiles(
        [ShapeProfile((InputShape("input", (1, 3, 16, 16), (2, 3, 16, 16), (4, 3, 16, 16)),))]
    )
    assert model.index(0, 2).data() == "1x3x16x16"  # cells hold the typed form
    model.setData(model.index(0, 4), shape_text((8, 3, 16, 16)))  # pasted from a table
    assert model.profiles()[0].inputs[0].max == (8, 3, 16, 16)


def test_preprocess_size_reads_width_then_height(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Images are quoted width × height (640×480), as `predict --size WxH` reads them."""
    form = PreprocessForm()
    qtbot.addWidget(form)
    form.set_spec(PreprocessSpec(width=640, height=480, resize="stretch"))
    row = form._size_row
    label = form._form.labelForField(row)
    assert label.text() == "Size (W × H)"
    spins = [row.layout().itemAt(i).widget() for i in (0, 2)]
    assert [s.value() for s in spins] == [640, 480]
    assert spins[0] is form.width_spin
    assert form.width_spin.toolTip().startswith("Width")


def test_shape_tooltip_has_the_whole_shape(qtbot, made_models) -> None:  # type: ignore[no-untyped-def]
    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.set_model(inspect_onnx(made_models["dynamic_spatial"].path))
    tip = panel.io_model.data(panel.io_model.index(0, 3), Qt.ItemDataRole.ToolTipRole)
    assert tip.splitlines()[0] == "N×3×H×W"
