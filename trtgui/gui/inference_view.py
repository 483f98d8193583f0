"""The Inference panel's right side: the picture with the answer drawn on it, a one-line
summary, which runner ran, the PASS/FAIL verdict, and tabs for the result list, timings,
the TensorRT vs ONNX Runtime comparison, output statistics and notes.

`PredictionView.show_report` renders a `PredictionReport`; nothing here runs a model.
"""

from __future__ import annotations

import logging

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from trtgui.core import imaging
from trtgui.core.predict.compare import Comparison
from trtgui.core.predict.report import PredictionReport
from trtgui.gui.image_view import ImageView, display_image
from trtgui.gui.inference_results import (
    BoxModel,
    ClassScoreModel,
    KeyValueModel,
    ScoreBarDelegate,
    TextLineModel,
    comparison_rows,
    runner_text,
    stats_rows,
    timing_rows,
)
from trtgui.gui.widgets import (
    column,
    data_table,
    hbox,
    html_escape,
    muted_label,
    selectable_label,
    splitter,
    vbox,
)

log = logging.getLogger(__name__)

PASS_STYLE = "background:#e6f4ea; color:#0d5223; border:1px solid #34a853;"
FAIL_STYLE = "background:#fce8e6; color:#8c1d18; border:1px solid #d93025;"
COMPARE_TAB = 2
NOTES_TAB = 4
COMPARE_TITLE = "TensorRT vs ONNX Runtime"
NO_RESULT_TEXT = "Run the model to see its answer here."


class PredictionView(QWidget):
    """The picture above, the answer below (summary, verdict, result tabs)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = ImageView(placeholder="Drop an image here\n(PNG, JPEG, BMP, WebP, TIFF, GIF)")
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.summary_label = selectable_label()
        self.summary_label.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.runner_label = muted_label()
        self.verdict_label = QLabel()
        self.verdict_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.verdict_label.setMinimumWidth(70)
        self.verdict_label.setVisible(False)
        head = hbox((vbox(self.summary_label, self.runner_label), 1), self.verdict_label)

        self.result_tabs = QTabWidget()
        self.result_tabs.addTab(self._result_stack(), "Result")
        self.timing_model = KeyValueModel(("Step", "Time"), self)
        self.timing_view = data_table(self.timing_model)
        self.result_tabs.addTab(self.timing_view, "Timings")
        self.compare_model = KeyValueModel(("Output", "Max abs err", "Mean abs err", "Result"))
        self.compare_view = data_table(self.compare_model)
        self.compare_note = muted_label(
            "The comparison appears when TensorRT and ONNX Runtime both ran."
        )
        # Plain text: the summary holds ">=", which an escaped auto-format label showed as "&gt;".
        self.compare_note.setTextFormat(Qt.TextFormat.PlainText)
        compare_tab = column(self.compare_note, (self.compare_view, 1), margins=4)
        self.result_tabs.addTab(compare_tab, COMPARE_TITLE)
        self.stats_model = KeyValueModel(("Output", "Shape", "Min", "Max", "Mean", "Std"), self)
        self.stats_view = data_table(self.stats_model)
        self.result_tabs.addTab(self.stats_view, "Outputs")
        self.notes_text = QPlainTextEdit()
        self.notes_text.setReadOnly(True)
        self.result_tabs.addTab(self.notes_text, "Notes")

        bottom = column(head, (self.result_tabs, 1), margins=(0, 4, 0, 0))
        self.result_splitter = splitter(
            Qt.Orientation.Vertical,
            self.view,
            bottom,
            stretch=(3, 1),
            sizes=[560, 240],
            collapsible=False,
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.result_splitter)

    def _result_stack(self) -> QStackedWidget:
        """The top-k table, the box table, or a note, whichever the prediction has."""
        self.class_model = ClassScoreModel(self)
        self.class_view = data_table(self.class_model)
        self.class_view.setItemDelegateForColumn(2, ScoreBarDelegate(self.class_view))
        self.class_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.class_view.horizontalHeader().setStretchLastSection(False)
        self.class_view.setColumnWidth(0, 36)
        self.class_view.setColumnWidth(2, 150)
        self.box_model = BoxModel(self)
        self.box_view = data_table(self.box_model)
        self.box_view.setItemDelegateForColumn(2, ScoreBarDelegate(self.box_view))
        self.box_view.horizontalHeader().setStretchLastSection(False)
        # The label takes the spare width, as in the class table (no blank strip on the right).
        self.box_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.text_model = TextLineModel(self)
        self.text_view = data_table(self.text_model)
        self.text_view.setItemDelegateForColumn(2, ScoreBarDelegate(self.text_view))
        self.text_view.horizontalHeader().setStretchLastSection(False)
        self.text_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.text_view.setColumnWidth(0, 36)
        self.text_view.setColumnWidth(2, 150)
        self.result_note = muted_label(NO_RESULT_TEXT)
        self.result_note.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.result_stack = QStackedWidget()
        self.result_stack.addWidget(self.result_note)
        self.result_stack.addWidget(self.class_view)
        self.result_stack.addWidget(self.box_view)
        self.result_stack.addWidget(self.text_view)
        return self.result_stack

    # -- rendering --------------------------------------------------------------------------

    def show_report(self, report: PredictionReport, picture: QImage | None = None) -> None:
        """Picture, result list, runner, timings, comparison, statistics and notes.

        `picture`: the annotated picture already drawn and scaled for the screen in a worker
        (`display_image(annotated_picture(report))`); without it, it is drawn here."""
        prediction = report.prediction
        summary = prediction.summary()
        self.summary_label.setText(html_escape(summary))
        self.runner_label.setText(
            html_escape(
                runner_text(
                    report.runner,
                    report.runner_detail,
                    engine_given=report.engine_path is not None,
                    compared=report.comparison is not None,
                    notes=report.notes,
                )
            )
        )
        if picture is None:
            picture = display_image(annotated_picture(report))
        self.view.set_image(picture, source_size=report.image.size)
        self._show_result(report)
        self.timing_model.set_rows(timing_rows(report.timings.to_dict()))
        self.timing_view.resizeColumnsToContents()
        self.stats_model.set_rows(stats_rows(prediction.stats))
        self.stats_view.resizeColumnsToContents()
        self._show_comparison(report.comparison)
        notes = list(report.notes)
        guessed = " (guessed from the model)" if report.spec_guessed else ""
        lines = [*notes, f"Preprocessing{guessed}: {imaging.describe_spec(report.spec)}"]
        if report.labels_source:
            lines.append(f"Labels: {report.labels_source}")
        self.notes_text.setPlainText("\n".join(lines))
        self.result_tabs.setTabText(NOTES_TAB, f"Notes ({len(notes)})" if notes else "Notes")
        self.runner_label.setToolTip("\n".join(notes))
        self.result_tabs.setCurrentIndex(0)

    def _show_result(self, report: PredictionReport) -> None:
        """The top-k list of a classifier, the boxes of a detector, or the summary and notes."""
        prediction = report.prediction
        classified = prediction.kind == "classification"
        self.class_model.set_items(prediction.classes if classified else [])
        self.box_model.set_boxes(prediction.boxes)
        self.text_model.set_lines(prediction.texts)
        if classified and prediction.classes:
            self.result_stack.setCurrentWidget(self.class_view)
        elif prediction.texts:  # a text recogniser: what it read, and how sure it is
            self.result_stack.setCurrentWidget(self.text_view)
        elif prediction.boxes:
            self.result_stack.setCurrentWidget(self.box_view)
            self.box_view.resizeColumnsToContents()
            header = self.box_view.horizontalHeader()
            header.resizeSection(1, max(header.sectionSize(1), 160))
            header.resizeSection(2, max(header.sectionSize(2), 120))
            for col in range(3, 7):
                header.resizeSection(col, max(header.sectionSize(col) + 12, 56))
        else:
            text = "\n".join([prediction.summary(), *prediction.notes])
            self.result_note.setText(html_escape(text))
            self.result_stack.setCurrentWidget(self.result_note)

    def _show_comparison(self, comparison: Comparison | None) -> None:
        if comparison is None:
            self.verdict_label.setVisible(False)
            self.compare_model.set_rows([])
            self.compare_note.setText(
                "Only one runner ran, so there is nothing to compare. With an engine, a GPU "
                "that TensorRT supports and the ONNX model, both run and are compared here."
            )
            self.result_tabs.setTabText(COMPARE_TAB, COMPARE_TITLE)
            return
        word = "PASS" if comparison.passed else "FAIL"
        self.verdict_label.setText(word)
        self.verdict_label.setStyleSheet(
            (PASS_STYLE if comparison.passed else FAIL_STYLE)
            + " font-weight:bold; font-size:15px; border-radius:4px; padding:4px 10px;"
        )
        self.verdict_label.setVisible(True)
        self.verdict_label.setToolTip(COMPARE_TITLE)
        self.compare_model.set_rows(comparison_rows(comparison))
        self.compare_view.resizeColumnsToContents()
        self.compare_note.setText(comparison.summary())
        self.result_tabs.setTabText(COMPARE_TAB, f"{COMPARE_TITLE}: {word}")

    def show_running(self) -> None:
        self.summary_label.setText("Running…")

    def show_failure(self, err: BaseException) -> None:
        self.summary_label.setText("The run failed.")
        self.runner_label.setText(html_escape(str(err)))

    def clear(self) -> None:
        """No result (another model or image was chosen)."""
        self.summary_label.setText("")
        self.runner_label.setText("")
        self.verdict_label.setVisible(False)
        self.class_model.set_items([])
        self.box_model.set_boxes([])
        self.text_model.set_lines([])
        self.timing_model.set_rows([])
        self.stats_model.set_rows([])
        self.compare_model.set_rows([])
        self.result_note.setText(NO_RESULT_TEXT)
        self.result_stack.setCurrentWidget(self.result_note)


def annotated_picture(report: PredictionReport) -> Image.Image:
    """The picture with the prediction drawn on it; the plain picture when drawing fails (a
    drawing bug must not hide the result itself)."""
    try:
        return report.annotated()
    except Exception as exc:  # logged; the plain picture still helps
        log.warning("could not draw the prediction: %s", exc)
        return report.image
