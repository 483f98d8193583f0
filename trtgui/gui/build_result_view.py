"""The Build panel's result tab: what a `BuildResult` says, the network's I/O tensors and
the shape profiles, and a button to inspect the engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from trtgui.core.backends import backend_title
from trtgui.core.build.result import BuildResult
from trtgui.gui.model_panel import make_table
from trtgui.gui.table_models import NetworkTensorModel, ProfileRowsModel, format_bytes, model_shapes
from trtgui.gui.widgets import html_escape, take_given_width

if TYPE_CHECKING:  # onnx loads with the model, not with the panel
    from trtgui.core.model.onnx_model import ModelInfo

EMPTY_SUMMARY = "Build an engine to see its summary here."


def summary_lines(result: BuildResult) -> list[str]:
    """The result in a few lines of rich text (paths and notes escaped)."""
    s = result.settings
    lines = [
        f"<b>{html_escape(result.engine_path.name)}</b> — {format_bytes(result.engine_bytes)}, "
        f"built in {result.build_seconds:.2f} s",
        f"Path: {html_escape(str(result.engine_path))}",
        f"Backend: {backend_title(result.backend)} {result.backend_version}; precision "
        f"{s.precision.value.upper()} ({result.precision_method})",
        f"Warnings: {result.warning_count}, errors: {result.error_count}; sidecar "
        f"{html_escape(result.sidecar_path.name)}",
    ]
    if result.converted_onnx_path:
        lines.append(f"Converted model kept at {html_escape(str(result.converted_onnx_path))}")
    lines += [f"Note: {html_escape(note)}" for note in result.notes]
    return lines


class BuildResultView(QWidget):
    """Shows one `BuildResult`; `show_engine_requested()` asks for the Engine panel."""

    show_engine_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result_summary = QLabel(EMPTY_SUMMARY)
        self.result_summary.setWordWrap(True)
        self.result_summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_summary.setAlignment(Qt.AlignmentFlag.AlignTop)
        take_given_width(self.result_summary)  # its Path: line does not wrap
        self.io_model = NetworkTensorModel(parent=self)
        self.io_table = make_table(self.io_model, stretch_column=1)
        self.profiles_model = ProfileRowsModel(parent=self)
        self.profiles_table = make_table(self.profiles_model, stretch_column=1)
        self.show_engine_button = QPushButton("Open in the Engine panel")
        self.show_engine_button.setToolTip("Inspect the engine just built (Ctrl+3)")
        self.show_engine_button.setEnabled(False)
        self.show_engine_button.clicked.connect(self.show_engine_requested)
        summary_row = QHBoxLayout()
        summary_row.addWidget(self.result_summary, 1)
        summary_row.addWidget(self.show_engine_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(summary_row)
        layout.addWidget(QLabel("Network inputs and outputs:"))
        layout.addWidget(self.io_table, 2)
        layout.addWidget(QLabel("Shape profiles:"))
        layout.addWidget(self.profiles_table, 1)

    def show_result(self, result: BuildResult, model: ModelInfo | None) -> None:
        """Show `result`; `model` (the ONNX model open now) names the network's -1 dims when
        it is the model the engine was built from."""
        self.result_summary.setText("<br>".join(summary_lines(result)))
        self.show_engine_button.setEnabled(True)
        same_model = model is not None and Path(model.path) == Path(result.settings.onnx_path)
        self.io_model.set_records(result.io_tensors, model_shapes(model) if same_model else None)
        self.profiles_model.set_profiles(result.profiles or result.settings.profiles)

    def clear(self) -> None:
        self.result_summary.setText(EMPTY_SUMMARY)
        self.show_engine_button.setEnabled(False)
        self.io_model.set_records((), None)
        self.profiles_model.set_profiles(())
