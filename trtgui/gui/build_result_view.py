"""The Build panel's result tab: what a `BuildResult` says, the precision check of a
converted model (the "Precision check" card, also shown for a build it refused), the
network's I/O tensors and the shape profiles, and a button to inspect the engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from trtgui.core.backends import backend_title
from trtgui.core.build.accuracy_record import (
    BROKEN,
    DEGRADED,
    METRIC_TITLES,
    NOT_CHECKED,
    OK,
    AccuracyReport,
)
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


# The verdict in words, with a colour people read at a glance (text says it too).
_VERDICTS = {
    OK: ("OK", "#1a7f37"),
    DEGRADED: ("Degraded", "#9a6700"),
    BROKEN: ("Broken", "#cf222e"),
    NOT_CHECKED: ("Not checked", "#57606a"),
}
_COUNTS = ("reference_boxes", "converted_boxes")
_GENERIC = ("cosine_similarity", "max_relative_error", "mean_relative_error")
_MAX_NODES_SHOWN = 12


def _figure(key: str, value: float) -> str:
    """Counts as integers; fractions to 3 places (tiny errors in 2 significant digits)."""
    if key in _COUNTS:
        return f"{value:.0f}"
    return f"{value:.3f}" if value == 0 or abs(value) >= 0.001 else f"{value:.2g}"


def precision_lines(report: AccuracyReport, refused: bool = False) -> list[str]:
    """The Precision check card's rich text: verdict, figures, worst images, float nodes."""
    word, colour = _VERDICTS.get(report.verdict, (report.verdict, "#57606a"))
    lines = [f'<b style="color:{colour}">{word}</b> — {html_escape(report.summary)}']
    if report.accepted_loss and not refused:
        lines.append("Built anyway: the loss of accuracy was accepted.")
    if report.reason and report.verdict == NOT_CHECKED:
        lines.append(f"Why: {html_escape(report.reason)}")
    # The figure the verdict is read from first. A task's own figure (detections kept, top-1)
    # decides over the raw outputs' cosine, which would read as a contradiction beside it
    # ("cosine 1.000" next to "0 of 3 detections"): those stay in the record only.
    task_decided = report.deciding_metric not in _GENERIC
    shown = [k for k in report.metrics if not (task_decided and k in _GENERIC)]
    keys = sorted(shown, key=lambda k: (k != report.deciding_metric, shown.index(k)))
    for key in keys:
        value = report.metrics[key]
        figure = _figure(key, value)
        mark = " (decides the verdict)" if key == report.deciding_metric else ""
        lines.append(f"{html_escape(METRIC_TITLES.get(key, key))}: {figure}{mark}")
    if report.samples:
        note = f" ({html_escape(report.samples_note)})" if report.samples_note else ""
        lines.append(f"Compared on {report.samples} input(s){note} in {report.seconds:.1f} s")
    if report.worst_images:
        worst = ", ".join(f"{html_escape(n)} ({v:.2f})" for n, v in report.worst_images)
        lines.append(f"Worst images: {worst}")
    if report.excluded_nodes:
        nodes = report.excluded_nodes
        lines.append(f"Kept in float ({len(nodes)} node(s)): {_node_list(nodes)}")
    lines += _retry_lines(report)
    return lines


def _node_list(nodes: tuple[str, ...]) -> str:
    shown = ", ".join(html_escape(n) for n in nodes[:_MAX_NODES_SHOWN])
    more = f" and {len(nodes) - _MAX_NODES_SHOWN} more" if len(nodes) > _MAX_NODES_SHOWN else ""
    return shown + more


def _retry_lines(report: AccuracyReport) -> list[str]:
    """What the automatic INT8 retries kept in float and what they gave (reported, not
    built): the nodes, the figure, and the options that rebuild it."""
    lines = []
    for attempt in report.retries:
        word, colour = _VERDICTS.get(attempt.verdict, (attempt.verdict, "#57606a"))
        lines.append(
            f"<b>Retried</b> with {html_escape(attempt.what)} in float: "
            f'<b style="color:{colour}">{word}</b> ({html_escape(attempt.figure)})'
        )
        lines.append(f"&nbsp;&nbsp;Kept in float: {_node_list(attempt.kept_float)}")
        if attempt.helped:
            lines.append(
                "&nbsp;&nbsp;Not built automatically. To build it, add these nodes to "
                f"“Keep in float”, or build with: <code>{html_escape(attempt.flags)}</code>"
            )
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
        self.precision_card = QGroupBox("Precision check")
        self.precision_text = QLabel()
        self.precision_text.setWordWrap(True)
        self.precision_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        QVBoxLayout(self.precision_card).addWidget(self.precision_text)
        self.precision_card.hide()  # only for a converted model's build
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
        layout.addWidget(self.precision_card)
        # The engine's tables; hidden after a refused build, which has no engine to describe.
        self.tables = QWidget()
        tables = QVBoxLayout(self.tables)
        tables.setContentsMargins(0, 0, 0, 0)
        tables.addWidget(QLabel("Network inputs and outputs:"))
        tables.addWidget(self.io_table, 2)
        tables.addWidget(QLabel("Shape profiles:"))
        tables.addWidget(self.profiles_table, 1)
        layout.addWidget(self.tables, 1)
        self.refused_stretch = QWidget()  # keeps the card at the top when the tables are gone
        self.refused_stretch.hide()
        layout.addWidget(self.refused_stretch, 1)

    def show_result(self, result: BuildResult, model: ModelInfo | None) -> None:
        """Show `result`; `model` (the ONNX model open now) names the network's -1 dims when
        it is the model the engine was built from."""
        self.result_summary.setText("<br>".join(summary_lines(result)))
        self.show_engine_button.setEnabled(True)
        same_model = model is not None and Path(model.path) == Path(result.settings.onnx_path)
        self.io_model.set_records(result.io_tensors, model_shapes(model) if same_model else None)
        self.profiles_model.set_profiles(result.profiles or result.settings.profiles)
        self._show_precision(result.accuracy)
        self._show_tables(True)

    def show_rejected(self, report: AccuracyReport) -> None:
        """A build the precision check refused: no result, only the card and why."""
        self.clear()
        self.result_summary.setText("<b>No engine was written</b>: the precision check failed.")
        self._show_precision(report, refused=True)
        self._show_tables(False)

    def _show_tables(self, on: bool) -> None:
        self.tables.setVisible(on)
        self.refused_stretch.setVisible(not on)

    def _show_precision(self, report: AccuracyReport | None, refused: bool = False) -> None:
        self.precision_card.setVisible(report is not None)
        self.precision_text.setText("<br>".join(precision_lines(report, refused)) if report else "")

    def clear(self) -> None:
        self.result_summary.setText(EMPTY_SUMMARY)
        self.show_engine_button.setEnabled(False)
        self.io_model.set_records((), None)
        self.profiles_model.set_profiles(())
        self._show_precision(None)
        self._show_tables(True)
