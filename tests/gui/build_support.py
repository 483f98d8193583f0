"""The Build panel as the GUI build tests use it: real backends, shown, shut down after."""

from __future__ import annotations

from pathlib import Path

import pytest

from trtgui.core.backends import available_backends
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.gui.build_panel import BuildPanel


@pytest.fixture
def panel(qtbot):  # type: ignore[no-untyped-def]
    pytest.importorskip("tensorrt_rtx")
    p = BuildPanel()
    qtbot.addWidget(p)
    p.set_backends(available_backends())
    p.show()
    yield p
    p.shutdown()


def load_model(panel: BuildPanel, path: Path, out: Path) -> None:
    """Open `path` in the panel and point its engine at `out`/out.engine."""
    panel.set_model(inspect_onnx(path))
    panel.form.output_edit.setText(str(out / "out.engine"))
