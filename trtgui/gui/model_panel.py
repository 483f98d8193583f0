"""The Model panel: what is inside an ONNX model (`ModelInfo`), and the intent to build it.

Summary (file, IR, opsets, producer, counts, metadata), the inputs/outputs table (symbolic dims
shown by name), the operator histogram, and warnings (missing external data, custom ops, shape
inference failure). It renders a core result and emits `build_requested`; it loads nothing.

Metadata values can be huge (PP-OCR recognisers keep a 6,623-line character list in one): the
summary shows each value shortened to one line, and `MetadataDialog` shows them in full.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractItemModel, Qt, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTableView,
    QWidget,
)

from trtgui.core.text import format_bytes, is_long, line_count, shorten
from trtgui.gui.table_models import OpHistogramModel, TensorTableModel, format_count
from trtgui.gui.widgets import (
    column,
    data_table,
    group_box,
    hbox,
    html_escape,
    selectable_label,
    splitter,
    vbox,
)

if TYPE_CHECKING:  # onnx loads with the first model, not with the window
    from trtgui.core.model.onnx_model import ModelInfo

METADATA_ROWS = 6  # metadata entries the summary lists; the dialog has all of them
PREVIEW_CHARS = 200  # of one metadata value in the summary
TOOLTIP_CHARS = 500  # of the model's doc string in the Graph field's tooltip
FIELD_CHARS = 300  # of the producer or the graph's name in the summary
COLUMN_CHARS = 60  # widest an I/O table column gets before it elides (the tooltip has it all)


def make_table(model: QAbstractItemModel, stretch_column: int | None = 1) -> QTableView:
    """`data_table` (the look of every other table) with columns fitted to their contents (up
    to COLUMN_CHARS characters; longer text elides, the tooltip has it) and `stretch_column`
    taking the rest of the width. The other columns never shrink below their contents: a
    narrow view scrolls rather than squeezing "Name" to "Nam"."""
    view = data_table(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setMaximumSectionSize(view.fontMetrics().averageCharWidth() * COLUMN_CHARS)
    if stretch_column is not None:
        header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    return view


class MetadataDialog(QDialog):
    """Every metadata entry of a model in full: keys on the left, the chosen value on the right
    in a read-only, selectable text view."""

    def __init__(self, metadata: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model metadata")
        self.resize(760, 520)
        self._metadata = dict(metadata)
        self.keys = QListWidget()
        self.keys.addItems(list(self._metadata))
        self.keys.setMaximumWidth(max(160, self.fontMetrics().averageCharWidth() * 28))
        self.size_label = selectable_label()
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.keys.currentRowChanged.connect(self._show_row)
        body = hbox(self.keys, (vbox(self.size_label, (self.text, 1), margins=0), 1))
        self.setLayout(vbox((body, 1), buttons))
        if self._metadata:
            self.keys.setCurrentRow(0)

    def show_key(self, key: str) -> None:
        """Select `key` (its value fills the text view)."""
        keys = list(self._metadata)
        if key in keys:
            self.keys.setCurrentRow(keys.index(key))

    def value(self) -> str:
        """The value shown now, in full."""
        return self.text.toPlainText()

    @Slot(int)
    def _show_row(self, row: int) -> None:
        if not 0 <= row < len(self._metadata):
            return
        key = list(self._metadata)[row]
        value = self._metadata[key]
        lines = line_count(value)
        self.size_label.setText(
            f"{key}: {len(value):,} characters" + (f", {lines:,} lines" if lines > 1 else "")
        )
        self.text.setPlainText(value)


def metadata_html(metadata: dict[str, str]) -> str:
    """The summary's Metadata field: the first METADATA_ROWS entries one line each, long values
    shortened ("… (6,623 lines)") with a "Show…" link to the dialog; "—" when there are none."""
    if not metadata:
        return "—"
    rows = []
    for index, (key, value) in enumerate(list(metadata.items())[:METADATA_ROWS]):
        row = (
            f"<b>{html_escape(shorten(key, 60))}</b> = {html_escape(shorten(value, PREVIEW_CHARS))}"
        )
        if is_long(value, PREVIEW_CHARS) or is_long(key, 60):
            row += f' <a href="meta:{index}">Show…</a>'
        rows.append(row)
    if len(metadata) > METADATA_ROWS:
        rows.append(f'… {len(metadata) - METADATA_ROWS} more <a href="meta:">Show all…</a>')
    return "<br>".join(rows)


class ModelPanel(QWidget):
    """Renders a `ModelInfo`. `build_requested` asks the window to go to the Build panel."""

    build_requested = Signal()
    open_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info: ModelInfo | None = None

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
            # A long unbroken value (a path, a token) must not set the window's minimum width.
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self._fields[key] = label
            self.summary.addRow(key + ":", label)
        self.metadata_label = self._fields["Metadata"]
        self.metadata_label.setTextFormat(Qt.TextFormat.RichText)
        self.metadata_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.metadata_label.linkActivated.connect(self._metadata_link)
        self.metadata_dialog: MetadataDialog | None = None

        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setTextFormat(Qt.TextFormat.RichText)
        self.warnings.setVisible(False)
        self.warnings.setStyleSheet(
            "QLabel { background: rgba(230, 160, 40, 60); border: 1px solid rgba(200,130,0,150);"
            " border-radius: 4px; padding: 6px; }"
        )

        self.io_model = TensorTableModel(parent=self)
        # The Shape column stretches: long symbolic dims (p2o.DynamicDimension.0) get the room
        # there is and elide past it, while Name keeps its width.
        self.io_table = make_table(self.io_model, stretch_column=TensorTableModel.SHAPE_COLUMN)
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

    def set_model(self, info: ModelInfo) -> None:
        """Show what is inside a model."""
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
        # Shortened: a label lays out its whole text (100,000 characters: ~80 ms each time).
        f["Producer"].setText(shorten(producer, FIELD_CHARS) if producer else "—")
        f["Graph"].setText(shorten(info.graph_name, FIELD_CHARS) if info.graph_name else "—")
        f["Nodes"].setText(format_count(info.node_count))
        f["Initializers"].setText(format_count(info.initializer_count))
        f["Parameters"].setText(
            f"{format_count(info.parameter_count)} ({format_bytes(info.parameter_bytes)})"
        )
        self.metadata_label.setText(metadata_html(info.metadata))
        if self.metadata_dialog is not None:
            self.metadata_dialog.close()
            self.metadata_dialog = None
        # A tooltip can't scroll: a long doc string is shortened there too.
        f["Graph"].setToolTip(shorten(info.doc_string, TOOLTIP_CHARS) if info.doc_string else "")
        self.io_model.set_model_io(info.inputs, info.outputs)
        self.ops_model.set_histogram(dict(info.op_histogram))
        self.ops_box.setTitle(f"Operators ({len(info.op_histogram)} types)")
        self._show_warnings(info)
        self.build_button.setEnabled(True)

    def show_metadata(self, key: str | None = None) -> MetadataDialog:
        """The dialog with every metadata entry in full, at `key` (else the first)."""
        meta = dict(self.info.metadata) if self.info is not None else {}
        if self.metadata_dialog is None:
            self.metadata_dialog = MetadataDialog(meta, self)
        if key is not None:
            self.metadata_dialog.show_key(key)
        self.metadata_dialog.show()
        self.metadata_dialog.raise_()
        return self.metadata_dialog

    @Slot(str)
    def _metadata_link(self, href: str) -> None:
        # href is "meta:<index>" (an index, so a key with any characters round-trips) or "meta:"
        index = href.removeprefix("meta:")
        keys = list(self.info.metadata) if self.info is not None else []
        self.show_metadata(keys[int(index)] if index.isdigit() and int(index) < len(keys) else None)

    def clear(self) -> None:
        self.info = None
        if self.metadata_dialog is not None:
            self.metadata_dialog.close()
            self.metadata_dialog = None
        self.title.setText("No model open")
        self.io_model.set_records([])
        self.ops_model.set_records([])
        for label in self._fields.values():
            label.setText("—")
        self.warnings.setVisible(False)
        self.build_button.setEnabled(False)

    def warning_texts(self, info: ModelInfo) -> list[str]:
        """The warnings' rich text; names from the file are escaped (a file may name its
        weights "<b>" or worse)."""
        out = []
        for ext in info.external_data:
            if ext.problem:  # there, but not usable: a folder, a device, outside the folder
                out.append(
                    f"External data file <b>{html_escape(ext.location)}</b> "
                    f"{html_escape(ext.problem)}; the model cannot be built with it."
                )
            elif not ext.exists:
                out.append(
                    f"External data file <b>{html_escape(ext.location)}</b> is missing (expected "
                    f"next to the model at {html_escape(str(ext.path))}); the model cannot be "
                    "built without it."
                )
        external = [e for e in info.external_data if e.exists]
        if external:
            out.append(
                f"Weights are stored in {len(external)} external data file(s): "
                + html_escape(", ".join(e.location for e in external))
                + ". Keep them beside the model."
            )
        if info.custom_ops:
            out.append(
                "Custom operators: <b>"
                + html_escape(", ".join(info.custom_ops))
                + "</b>. TensorRT needs a plugin for each of them."
            )
        if not info.shape_inference_ok:
            first = info.shape_inference_error.splitlines()[0] if info.shape_inference_error else ""
            out.append("ONNX shape inference failed: " + html_escape(first))
        return out

    def _show_warnings(self, info: ModelInfo) -> None:
        texts = self.warning_texts(info)
        self.warnings.setText("<br>".join(f"⚠ {t}" for t in texts))
        self.warnings.setVisible(bool(texts))
