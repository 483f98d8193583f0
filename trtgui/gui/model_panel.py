"""The Model panel: what is inside an ONNX model (`ModelInfo`), and the intent to build it.

Summary (file, IR, opsets, producer, counts), the inputs/outputs table (symbolic dims shown by
name), the operator histogram, and warnings (missing external data, custom ops, shape
inference failure). It renders a core result and emits `build_requested`; it loads nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QWidget,
)

from trtgui.gui.table_models import (
    OpHistogramModel,
    TensorTableModel,
    format_bytes,
    format_count,
)
from trtgui.gui.widgets import (
    column,
    data_table,
    group_box,
    hbox,
    selectable_label,
    splitter,
    vbox,
)


def make_table(model: Any, stretch_column: int | None = 1) -> QTableView:
    """`data_table` (the look of every other table) with columns fitted to their contents and
    `stretch_column` taking the rest of the width."""
    view = data_table(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    if stretch_column is not None:
        header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    return view


class ModelPanel(QWidget):
    """Renders a `ModelInfo`. `build_requested` asks the window to go to the Build panel."""

    build_requested = Signal()
    open_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info: Any = None

        self.title = selectable_label("No model open")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.path_label = selectable_label(
            "Open an ONNX model with File > Open (Ctrl+O) or drop it here.", wrap=True
        )
        self.open_button = QPushButton("Open model…")
        self.open_button.clicked.connect(self.open_requested)
        self.build_button = QPushButton("Build engine…")
        self.build_button.setToolTip("Go to the Build panel with this model (Ctrl+2)")
        self.build_button.setEnabled(False)
        self.build_button.clicked.connect(self.build_requested)

        head = hbox((vbox(self.title, self.path_label), 1), self.open_button, self.build_button)

        self.summary_box = QGroupBox("Summary")
        self.summary = QFormLayout(self.summary_box)
        self.summary.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.summary.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._fields: dict[str, QLabel] = {}
        for key in (
            "File size",
            "IR version",
            "Opsets",
            "Producer",
            "Graph",
            "Nodes",
            "Initializers",
            "Parameters",
            "Metadata",
        ):
            label = selectable_label("—", wrap=True)
            self._fields[key] = label
            self.summary.addRow(key + ":", label)

        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setTextFormat(Qt.TextFormat.RichText)
        self.warnings.setVisible(False)
        self.warnings.setStyleSheet(
            "QLabel { background: rgba(230, 160, 40, 60); border: 1px solid rgba(200,130,0,150);"
            " border-radius: 4px; padding: 6px; }"
        )

        self.io_model = TensorTableModel(parent=self)
        self.io_table = make_table(self.io_model, stretch_column=1)
        self.io_table.setObjectName("io_table")
        io_box = group_box("Inputs and outputs", self.io_table)

        self.ops_model = OpHistogramModel(parent=self)
        self.ops_table = make_table(self.ops_model, stretch_column=0)
        self.ops_table.setObjectName("ops_table")
        self.ops_box = group_box("Operators", self.ops_table)

        left = column(self.summary_box, self.warnings, (self.ops_box, 1))
        self.splitter = splitter(
            Qt.Orientation.Horizontal, left, io_box, stretch=(2, 3), collapsible=False
        )
        self.setLayout(vbox(head, (self.splitter, 1)))

    def set_model(self, info: Any) -> None:
        """Show `info` (a `trtgui.core.onnx_model.ModelInfo`)."""
        self.info = info
        self.title.setText(info.path.name)
        self.path_label.setText(str(Path(info.path).resolve()))
        f = self._fields
        f["File size"].setText(format_bytes(info.file_size))
        f["IR version"].setText(str(info.ir_version))
        f["Opsets"].setText(
            ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in sorted(info.opsets.items())) or "—"
        )
        producer = " ".join(p for p in (info.producer_name, info.producer_version) if p)
        f["Producer"].setText(producer or "—")
        f["Graph"].setText(info.graph_name or "—")
        f["Nodes"].setText(format_count(info.node_count))
        f["Initializers"].setText(format_count(info.initializer_count))
        f["Parameters"].setText(
            f"{format_count(info.parameter_count)} ({format_bytes(info.parameter_bytes)})"
        )
        meta = info.metadata or {}
        f["Metadata"].setText(
            "; ".join(f"{k}={v}" for k, v in list(meta.items())[:6])
            + (" …" if len(meta) > 6 else "")
            if meta
            else "—"
        )
        if info.doc_string:
            f["Graph"].setToolTip(info.doc_string)
        self.io_model.set_model_io(info.inputs, info.outputs)
        self.ops_model.set_histogram(dict(info.op_histogram))
        self.ops_box.setTitle(f"Operators ({len(info.op_histogram)} types)")
        self._show_warnings(info)
        self.build_button.setEnabled(True)

    def clear(self) -> None:
        self.info = None
        self.title.setText("No model open")
        self.io_model.set_records([])
        self.ops_model.set_records([])
        for label in self._fields.values():
            label.setText("—")
        self.warnings.setVisible(False)
        self.build_button.setEnabled(False)

    def warning_texts(self, info: Any) -> list[str]:
        out = []
        for ext in getattr(info, "external_data", ()):
            if not ext.exists:
                out.append(
                    f"External data file <b>{ext.location}</b> is missing (expected next to the "
                    f"model at {ext.path}); the model cannot be built without it."
                )
        external = [e for e in getattr(info, "external_data", ()) if e.exists]
        if external:
            out.append(
                f"Weights are stored in {len(external)} external data file(s): "
                + ", ".join(e.location for e in external)
                + ". Keep them beside the model."
            )
        if getattr(info, "custom_ops", ()):
            out.append(
                "Custom operators: <b>"
                + ", ".join(info.custom_ops)
                + "</b>. TensorRT needs a plugin for each of them."
            )
        if not getattr(info, "shape_inference_ok", True):
            out.append(
                "ONNX shape inference failed: "
                + (info.shape_inference_error.splitlines()[0] if info.shape_inference_error else "")
            )
        return out

    def _show_warnings(self, info: Any) -> None:
        texts = self.warning_texts(info)
        self.warnings.setText("<br>".join(f"⚠ {t}" for t in texts))
        self.warnings.setVisible(bool(texts))
