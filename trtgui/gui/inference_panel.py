"""The Inference panel: one real image through the model, the answer drawn on the picture.

The user drops or opens an image (the panel accepts drops itself), checks the preprocessing
in an editable form (`preprocess_form.PreprocessForm`, pre-filled by
`trtgui.core.imaging.guess_preprocess`) and the tensor it produces (shape, dtype, min/max/mean
and a thumbnail of what the network sees), then presses Run. The prediction runs in a worker
thread (`trtgui.core.predict.flow.run_prediction`); the panel shows the annotated picture, a top-k
list for classifiers or a box list for detectors (`inference_results`), timings, which runner
ran and why, and — when TensorRT and ONNX Runtime both ran — their comparison with a clear
PASS/FAIL.

Errors (a bad image, a failed run) go through the error funnel; the panel stays usable.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from trtgui.core import imaging
from trtgui.core.build.settings import PreprocessSpec
from trtgui.core.errors import InferenceError, TrtGuiError
from trtgui.gui.image_view import ImageView, pil_to_qimage
from trtgui.gui.inference_results import (
    BoxModel,
    ClassScoreModel,
    KeyValueModel,
    ScoreBarDelegate,
    comparison_rows,
    runner_text,
    stats_rows,
    timing_rows,
)
from trtgui.gui.preprocess_form import PreprocessForm, summarise_tensor, tensor_preview
from trtgui.gui.table_models import get_field as _get
from trtgui.gui.widgets import (
    column,
    data_table,
    dropped_path,
    error_html,
    hbox,
    html_escape,
    muted_label,
    selectable_label,
    show_file,
    splitter,
    vbox,
)

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm")
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"
MODEL_FILTER = "Models and engines (*.onnx *.engine *.plan *.trt);;All files (*)"
KIND_CHOICES = ("auto", "classification", "detection", "segmentation", "raw")
KIND_WORDS = {
    "auto": "Automatic (from the output shapes)",
    "classification": "Classification",
    "detection": "Detection (boxes)",
    "segmentation": "Segmentation, probability map",
    "raw": "Raw outputs (statistics only)",
}
LABELS_FILTER = "Labels (*.txt *.names *.labels);;All files (*)"
# What the empty Labels field means, by `default_labels_source`'s answer.
NO_LABELS_TEXT = "none"
PASS_STYLE = "background:#e6f4ea; color:#0d5223; border:1px solid #34a853;"
FAIL_STYLE = "background:#fce8e6; color:#8c1d18; border:1px solid #d93025;"


# ---------------------------------------------------------------------------------------------
# The panel


@dataclasses.dataclass(frozen=True)
class PredictionRequest:
    """What one Run needs; the worker body is `run_request(request)`."""

    model_path: Path
    image_path: Path
    spec: PreprocessSpec
    onnx_path: Path | None = None
    kind: str | None = None
    labels_path: Path | None = None
    top_k: int = 5
    threshold: float | None = None


def run_request(request: PredictionRequest) -> Any:
    """Worker body: `trtgui.core.predict.flow.run_prediction` with the request's settings."""
    from trtgui.core.predict.flow import run_prediction

    kwargs: dict[str, Any] = {
        "spec": request.spec,
        "kind": request.kind,
        "top_k": request.top_k,
        "threshold": request.threshold,
    }
    if request.onnx_path is not None:
        kwargs["onnx_path"] = request.onnx_path
    if request.labels_path is not None:
        kwargs["labels"] = request.labels_path
    return run_prediction(request.model_path, request.image_path, **kwargs)


class InferencePanel(QWidget):
    """Image → preprocessing → Run → annotated picture, top-k, timings, comparison.

    Signals:
        open_model_requested(): the user wants to choose a model or engine (the main window
            may answer with `set_model`; without a listener the panel opens a file dialog).
        image_loaded(str): an image was loaded (path).
        prediction_started(): a run began.
        prediction_finished(object): the `PredictionReport` of a successful run.
        prediction_failed(object): the exception of a failed run (already shown to the user).
        run_finished(): the run's worker finished, always last.
        busy_changed(bool)
    """

    open_model_requested = Signal()
    image_loaded = Signal(str)
    prediction_started = Signal()
    prediction_finished = Signal(object)
    prediction_failed = Signal(object)
    run_finished = Signal()
    busy_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._model_path: Path | None = None
        self._onnx_path: Path | None = None
        self._model_info: Any = None
        self._image_path: Path | None = None
        self._image: Image.Image | None = None
        self._tensor: np.ndarray | None = None
        self._report: Any = None
        self._handle: Any = None
        self._last_error: BaseException | None = None
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(120)
        self._preview_timer.timeout.connect(self.update_preview)

        self.splitter = splitter(
            Qt.Orientation.Horizontal,
            self._build_controls(),
            self._build_results(),
            stretch=(0, 1),
            sizes=[360, 900],
            collapsible=False,
        )
        self.setLayout(vbox(self.splitter, margins=8))
        self._update_run_state()

    # -- construction -----------------------------------------------------------------------

    def _build_controls(self) -> QWidget:
        self.model_label = QLabel("No model. Open an ONNX model or an engine.")
        self.model_button = QPushButton("Model…")
        self.model_button.clicked.connect(self._ask_model)
        self.image_label = QLabel("Drop an image anywhere on this panel, or open one.")
        self.image_button = QPushButton("Image…")
        self.image_button.clicked.connect(self._choose_image)
        # One box for both files: two group titles cost the height the form needs to fit
        # a 1200×800 window without scrolling.
        files_box = QGroupBox("Model and image")
        files = QGridLayout(files_box)
        files.setVerticalSpacing(6)
        for row, (label, button) in enumerate(
            ((self.model_label, self.model_button), (self.image_label, self.image_button))
        ):
            label.setWordWrap(True)
            files.addWidget(label, row, 0)
            files.addWidget(button, row, 1, Qt.AlignmentFlag.AlignTop)
        files.setColumnStretch(0, 1)

        self.run_button = QPushButton("Run")
        self.run_button.setMinimumHeight(34)
        self.run_button.setStyleSheet(
            "QPushButton { background:#76b900; color:white; font-weight:bold; border-radius:4px;"
            " padding: 4px 18px; } QPushButton:disabled { background:#b9c7a6; }"
        )
        self.run_button.clicked.connect(self.run)
        self.run_hint = muted_label()

        boxes = vbox(
            files_box,
            self._build_preprocessing(),
            self._build_output(),
            margins=(0, 0, 6, 0),
        )
        boxes.addStretch(1)
        inner = QWidget()
        inner.setLayout(boxes)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = column((scroll, 1), self.run_hint, self.run_button)
        outer.setMinimumWidth(340)
        outer.setMaximumWidth(520)
        return outer

    def _build_preprocessing(self) -> QGroupBox:
        """The form, the reset button, and the tensor it makes (thumbnail and statistics)."""
        self.form = PreprocessForm()
        self.form.spec_changed.connect(self._spec_changed)
        self.guess_button = QPushButton("Reset to guess")
        self.guess_button.setToolTip("Set the preprocessing back to what the model suggests")
        self.guess_button.clicked.connect(self.reset_spec_to_guess)
        self.thumbnail = QLabel()
        self.thumbnail.setFixedSize(88, 88)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setStyleSheet("background:#2b2d31; border-radius:3px; color:#9aa0a6;")
        self.thumbnail.setText("no image")
        self.thumbnail.setToolTip("What the network sees: the tensor with normalisation undone")
        self.tensor_label = selectable_label("—", wrap=True)
        self.tensor_label.setStyleSheet("font-family: monospace;")
        # The reset button shares the title's row rather than taking one of its own: the
        # controls must fit a 1200×800 window without scrolling.
        title = hbox((QLabel("<b>Input tensor</b>"), 1), self.guess_button, margins=0)
        tensor_text = vbox(title, self.tensor_label)
        tensor_text.addStretch(1)
        tensor_row = hbox(self.thumbnail, (tensor_text, 1))
        tensor_row.setAlignment(self.thumbnail, Qt.AlignmentFlag.AlignTop)
        pre_box = QGroupBox("Preprocessing")
        pre_layout = QVBoxLayout(pre_box)
        pre_layout.addWidget(self.form)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        pre_layout.addWidget(line)
        pre_layout.addLayout(tensor_row)
        return pre_box

    def _build_output(self) -> QGroupBox:
        """How the outputs are decoded: kind, top-k, threshold, labels."""
        self.kind_combo = QComboBox()
        for kind in KIND_CHOICES:
            self.kind_combo.addItem(KIND_WORDS[kind], kind)
        # Its longest words must not widen the column (the popup shows them in full).
        self.kind_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.kind_combo.setMinimumContentsLength(8)
        self.kind_combo.setToolTip("How outputs are read; automatic chooses from their shapes")
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 100)
        self.top_k.setValue(5)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setSpecialValueText("default")
        self.labels_edit = QLineEdit()
        self.labels_edit.setClearButtonEnabled(True)
        self.labels_button = QPushButton("…")
        self.labels_button.setToolTip("Choose a labels file")
        self.labels_button.setFixedWidth(32)
        self.labels_button.clicked.connect(self._choose_labels)
        self._show_labels_default()
        out_box = QGroupBox("Output")
        out_form = QFormLayout(out_box)
        out_form.setVerticalSpacing(4)
        out_form.addRow("Kind", self.kind_combo)
        # Top-k and threshold share a row so the controls fit a 1200×800 window.
        numbers = hbox(self.top_k, QLabel("Threshold"), self.threshold, margins=0)
        numbers.insertSpacing(1, 10)
        out_form.addRow("Top-k", numbers)
        out_form.addRow("Labels", hbox((self.labels_edit, 1), self.labels_button, margins=0))
        return out_box

    def _build_results(self) -> QWidget:
        self.view = ImageView(placeholder="Drop an image here\n(PNG, JPEG, BMP, WebP, TIFF)")
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.summary_label = selectable_label()
        self.summary_label.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.runner_label = muted_label()
        self.verdict_label = QLabel()
        self.verdict_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.verdict_label.setMinimumWidth(70)
        self.verdict_label.setVisible(False)
        head = hbox((vbox(self.summary_label, self.runner_label), 1), self.verdict_label)

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
        self.result_note = muted_label("Run the model to see its answer here.")
        self.result_note.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.result_stack = QStackedWidget()
        self.result_stack.addWidget(self.result_note)
        self.result_stack.addWidget(self.class_view)
        self.result_stack.addWidget(self.box_view)

        self.timing_model = KeyValueModel(("Step", "Time"), self)
        self.timing_view = data_table(self.timing_model)
        self.compare_model = KeyValueModel(("Output", "Max abs err", "Mean abs err", "Result"))
        self.compare_view = data_table(self.compare_model)
        self.compare_note = muted_label(
            "The comparison appears when TensorRT and ONNX Runtime both ran."
        )
        compare_tab = column(self.compare_note, (self.compare_view, 1), margins=4)
        self.stats_model = KeyValueModel(("Output", "Shape", "Min", "Max", "Mean", "Std"), self)
        self.stats_view = data_table(self.stats_model)
        self.notes_text = QPlainTextEdit()
        self.notes_text.setReadOnly(True)

        self.result_tabs = QTabWidget()
        self.result_tabs.addTab(self.result_stack, "Result")
        self.result_tabs.addTab(self.timing_view, "Timings")
        self.result_tabs.addTab(compare_tab, "TensorRT vs ONNX Runtime")
        self.result_tabs.addTab(self.stats_view, "Outputs")
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
        return self.result_splitter

    # -- public API -------------------------------------------------------------------------

    def model_path(self) -> Path | None:
        return self._model_path

    def image_path(self) -> Path | None:
        return self._image_path

    def spec(self) -> PreprocessSpec:
        return self.form.spec()

    def set_spec(self, spec: PreprocessSpec) -> None:
        self.form.set_spec(spec)

    def report(self) -> Any:
        """The last successful PredictionReport, or None."""
        return self._report

    def input_tensor(self) -> np.ndarray | None:
        """The preprocessed tensor of the current image and spec (None without an image)."""
        return self._tensor

    def is_busy(self) -> bool:
        return self._handle is not None and self._handle.is_running()

    def wait(self, timeout_ms: int = 60000) -> bool:
        return self._handle.wait(timeout_ms) if self._handle is not None else True

    def set_model(
        self, path: str | Path, onnx_path: str | Path | None = None, model_info: Any = None
    ) -> None:
        """Use `path` (ONNX model or engine); `onnx_path` is the ONNX twin of an engine (the
        reference run and the fallback without a GPU). Pre-fills the preprocessing guess."""
        path = Path(path)
        before = {self._model_path, self._onnx_path} - {None}
        self._model_path = path
        self._onnx_path = Path(onnx_path) if onnx_path else None
        if self._onnx_path is None and path.suffix.lower() != ".onnx":
            self._onnx_path = _onnx_from_sidecar(path)
        onnx = path if path.suffix.lower() == ".onnx" else self._onnx_path
        if not before & ({path, self._onnx_path} - {None}):
            # Another model (not this model's engine or ONNX twin): the labels, kind and
            # threshold chosen for the last one do not belong to it.
            self._reset_model_choices()
        self._model_info = model_info
        if self._model_info is None and onnx is not None and onnx.is_file():
            try:
                from trtgui.core.model.onnx_model import inspect_onnx

                self._model_info = inspect_onnx(onnx)
            except TrtGuiError as exc:  # the run will report it; the guess is only a start
                log.warning("could not inspect %s for the preprocessing guess: %s", onnx, exc)
        twin = self._onnx_path if self._onnx_path != path else None
        twin_text = f"ONNX: {twin.name}" if twin is not None else ""
        show_file(self.model_label, path, twin_text, separator=" &nbsp; ")
        self._show_labels_default()
        self.reset_spec_to_guess()
        self._clear_results()
        self._update_run_state()

    def _reset_model_choices(self) -> None:
        self.labels_edit.clear()
        self.kind_combo.setCurrentIndex(self.kind_combo.findData("auto"))
        self.threshold.setValue(self.threshold.minimum())  # shows "default"

    def _show_labels_default(self) -> None:
        """The empty Labels field says what a run will use: the model's labels, the built-in
        ImageNet names for a 1000-class output, or none."""
        from trtgui.core.predict.flow import default_labels_source
        from trtgui.core.predict.postprocess import IMAGENET_LABELS_SOURCE

        source = ""
        if self._model_path is not None:
            source = default_labels_source(self._model_path, self._model_info, self._onnx_path)
        if source == IMAGENET_LABELS_SOURCE:
            text = source
        elif source:
            named = Path(source).name if source != "model metadata" else "its metadata"
            text = f"from the model ({named})"
        else:
            text = NO_LABELS_TEXT
        self.labels_edit.setPlaceholderText(text)
        # The full path of a labels file found beside the model is in the tooltip.
        empty = (
            source if source and source not in (IMAGENET_LABELS_SOURCE, "model metadata") else text
        )
        self.labels_edit.setToolTip(f"Class names, one per line (line i = class i). Empty: {empty}")

    @Slot()
    def reset_spec_to_guess(self) -> None:
        """Preprocessing back to `imaging.guess_preprocess(model)`."""
        info = self._model_info
        if info is None:
            return
        image_input = imaging._image_input(info)
        self.form.set_input(
            image_input.shape if image_input is not None else None,
            image_input.dtype if image_input is not None else None,
        )
        self.form.set_spec(imaging.guess_preprocess(info))

    def open_image(self, path: str | Path) -> bool:
        """Load and show an image; a bad file goes to the error funnel. True when loaded."""
        path = Path(path)
        try:
            image = imaging.load_image(path)
        except TrtGuiError as exc:
            self._report_error(exc)
            return False
        self._image_path = path
        self._image = image
        show_file(self.image_label, path, f"{image.width}×{image.height}", separator=" &nbsp; ")
        self.view.set_image(image)
        self._clear_results()
        self.update_preview()
        self._update_run_state()
        self.image_loaded.emit(str(path))
        return True

    @Slot()
    def update_preview(self) -> None:
        """Preprocess the current image with the current spec; show shape, stats, thumbnail."""
        self._tensor = None
        if self._image is None:
            self.tensor_label.setText("—")
            self.thumbnail.setText("no image")
            return
        spec = self.form.spec()
        try:
            tensor, _ = imaging.preprocess(self._image, spec)
        except (TrtGuiError, ValueError) as exc:
            self.tensor_label.setText(error_html(str(exc)))
            self.thumbnail.setPixmap(QPixmap())
            self.thumbnail.setText("✖")
            self._update_run_state()
            return
        self._tensor = tensor
        stats = html_escape(summarise_tensor(tensor).text())
        self.tensor_label.setText(stats.replace("\n", "<br>"))
        preview = tensor_preview(tensor, spec)
        pixmap = QPixmap.fromImage(pil_to_qimage(preview)).scaled(
            self.thumbnail.size(),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.thumbnail.setPixmap(pixmap)
        self._update_run_state()

    def request(self) -> PredictionRequest | None:
        """The run the current settings describe, or None when something is missing."""
        if self._model_path is None or self._image_path is None or self.form.error():
            return None
        labels = self.labels_edit.text().strip()
        kind = str(self.kind_combo.currentData())
        return PredictionRequest(
            model_path=self._model_path,
            image_path=self._image_path,
            spec=self.form.spec(),
            onnx_path=self._onnx_path if self._onnx_path != self._model_path else None,
            kind=None if kind == "auto" else kind,
            labels_path=Path(labels) if labels else None,
            top_k=self.top_k.value(),
            threshold=self.threshold.value() or None,
        )

    @Slot()
    def run(self) -> None:
        """Run the prediction in a worker; results arrive through `show_report`."""
        from trtgui.gui.workers import call_job, start_worker

        request = self.request()
        if request is None or self.is_busy():
            return
        self.run_button.setEnabled(False)
        self.run_button.setText("Running…")
        self.summary_label.setText("Running…")
        self.busy_changed.emit(True)
        self.prediction_started.emit()
        self._handle = start_worker(
            call_job(lambda: run_request(request)),
            name="prediction",
            on_succeeded=self._on_succeeded,
            on_failed=self._on_failed,
            on_finished=self._on_finished,
        )

    def show_report(self, report: Any) -> None:
        """Render a PredictionReport: picture, result list, runner, timings, comparison."""
        self._report = report
        prediction = _get(report, "prediction")
        kind = str(_get(prediction, "kind", default="raw"))
        summary = prediction.summary() if hasattr(prediction, "summary") else kind
        self.summary_label.setText(html_escape(summary))
        self.runner_label.setText(html_escape(runner_text(report)))
        self._show_picture(report, prediction)
        classes = _get(prediction, "classes", default=()) or ()
        boxes = _get(prediction, "boxes", default=()) or ()
        self.class_model.set_items(classes if kind == "classification" else [])
        self.box_model.set_boxes(boxes)
        if kind == "classification" and classes:
            self.result_stack.setCurrentWidget(self.class_view)
        elif boxes:
            self.result_stack.setCurrentWidget(self.box_view)
            self.box_view.resizeColumnsToContents()
            header = self.box_view.horizontalHeader()
            header.resizeSection(1, max(header.sectionSize(1), 160))
            header.resizeSection(2, max(header.sectionSize(2), 120))
            for col in range(3, 7):
                header.resizeSection(col, max(header.sectionSize(col) + 12, 56))
        else:
            notes = list(_get(prediction, "notes", default=()) or ())
            self.result_note.setText(html_escape("\n".join([summary, *notes])))
            self.result_stack.setCurrentWidget(self.result_note)
        self.timing_model.set_rows(timing_rows(_get(report, "timings")))
        self.timing_view.resizeColumnsToContents()
        self.stats_model.set_rows(stats_rows(_get(prediction, "stats", default=()) or ()))
        self.stats_view.resizeColumnsToContents()
        self._show_comparison(_get(report, "comparison"))
        notes = [str(n) for n in _get(report, "notes", default=()) or ()]
        spec = _get(report, "spec")
        lines = list(notes)
        if spec is not None:
            guessed = " (guessed from the model)" if _get(report, "spec_guessed") else ""
            lines.append(f"Preprocessing{guessed}: {imaging.describe_spec(spec)}")
        if _get(report, "labels_source"):
            lines.append(f"Labels: {_get(report, 'labels_source')}")
        self.notes_text.setPlainText("\n".join(lines))
        self.result_tabs.setTabText(4, f"Notes ({len(notes)})" if notes else "Notes")
        self.runner_label.setToolTip("\n".join(notes))
        self.result_tabs.setCurrentIndex(0)

    def set_model_path(self, path: str | Path) -> None:
        """Alias of `set_model(path)` (the name the main window calls)."""
        self.set_model(path)

    def open_demo(self, folder: str | Path | None = None) -> bool:
        """The shipped demo (resources/demo, or `folder` with a demo.json): its model, labels,
        preprocessing and first photo. Errors go to the error funnel; False then."""
        from trtgui.core.predict.flow import load_demo

        try:
            if folder is None:
                demo = load_demo()
                model, labels, spec, images = demo.model, demo.labels, demo.spec, demo.images
            else:
                model, labels, spec, images = _demo_from_folder(Path(folder))
        except TrtGuiError as exc:
            self._report_error(exc)
            return False
        self.set_model(model)
        self.labels_edit.setText(str(labels) if labels else "")
        self.form.set_spec(imaging.resolve_spec(spec, self.form._shape, self.form._dtype))
        if not images:
            return False
        preferred = [p for p in images if "coffee" in p.name]
        return self.open_image((preferred or list(images))[0])

    def load_demo(self) -> bool:
        """Alias of `open_demo()`."""
        return self.open_demo()

    # -- rendering helpers ------------------------------------------------------------------

    def _show_picture(self, report: Any, prediction: Any) -> None:
        image = _get(report, "annotated_image", "annotated")
        if callable(image):
            try:
                image = image()
            except ImportError:
                image = None
            except Exception as exc:  # a drawing bug must not hide the result itself
                log.warning("could not draw the prediction: %s", exc)
                image = None
        if image is None and self._image is not None and prediction is not None:
            try:
                from trtgui.core.predict.drawing import draw_prediction

                image = draw_prediction(self._image, prediction)
            except ImportError:
                image = self._image  # drawing not available: the plain picture still helps
            except Exception as exc:  # a drawing bug must not hide the result itself
                log.warning("could not draw the prediction: %s", exc)
                image = self._image
        if image is not None:
            self.view.set_image(image)

    def _show_comparison(self, comparison: Any) -> None:
        if comparison is None:
            self.verdict_label.setVisible(False)
            self.compare_model.set_rows([])
            self.compare_note.setText(
                "Only one runner ran, so there is nothing to compare. With an engine, a GPU "
                "that TensorRT supports and the ONNX model, both run and are compared here."
            )
            self.result_tabs.setTabText(2, "TensorRT vs ONNX Runtime")
            return
        passed = bool(_get(comparison, "passed", "ok", default=False))
        word = "PASS" if passed else "FAIL"
        self.verdict_label.setText(word)
        self.verdict_label.setStyleSheet(
            (PASS_STYLE if passed else FAIL_STYLE)
            + " font-weight:bold; font-size:15px; border-radius:4px; padding:4px 10px;"
        )
        self.verdict_label.setVisible(True)
        self.verdict_label.setToolTip("TensorRT vs ONNX Runtime")
        self.compare_model.set_rows(comparison_rows(comparison))
        self.compare_view.resizeColumnsToContents()
        text = _get(comparison, "summary", "message")
        if callable(text):
            text = text()
        self.compare_note.setText(html_escape(str(text or f"TensorRT vs ONNX Runtime: {word}")))
        self.result_tabs.setTabText(2, f"TensorRT vs ONNX Runtime: {word}")

    def _clear_results(self) -> None:
        self._report = None
        self.summary_label.setText("")
        self.runner_label.setText("")
        self.verdict_label.setVisible(False)
        self.class_model.set_items([])
        self.box_model.set_boxes([])
        self.timing_model.set_rows([])
        self.stats_model.set_rows([])
        self.compare_model.set_rows([])
        self.result_note.setText("Run the model to see its answer here.")
        self.result_stack.setCurrentWidget(self.result_note)

    def _update_run_state(self) -> None:
        busy = self.is_busy()
        reasons = []
        if self._model_path is None:
            reasons.append("choose a model")
        if self._image_path is None:
            reasons.append("drop or open an image")
        if self.form.error():
            reasons.append("fix the preprocessing")
        self.run_button.setEnabled(not reasons and not busy)
        self.run_hint.setText("To run: " + ", ".join(reasons) + "." if reasons else "")
        self.run_hint.setVisible(bool(reasons))

    def _report_error(self, err: BaseException) -> None:
        from trtgui.gui.errors import show_error

        self._last_error = err
        show_error(self, err)

    # -- slots ------------------------------------------------------------------------------

    @Slot(object)
    def _spec_changed(self, spec: PreprocessSpec) -> None:
        self._preview_timer.start()
        self._update_run_state()

    @Slot()
    def _ask_model(self) -> None:
        if self.receivers("2open_model_requested()") > 0:  # the main window chooses
            self.open_model_requested.emit()
            return
        start = str(self._model_path.parent) if self._model_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a model or engine", start, MODEL_FILTER)
        if path:
            self.set_model(path)

    @Slot()
    def _choose_labels(self) -> None:
        current = self.labels_edit.text().strip()
        start = str(Path(current).parent) if current else ""
        if not start and self._model_path is not None:
            start = str(self._model_path.parent)
        path, _ = QFileDialog.getOpenFileName(self, "Choose a labels file", start, LABELS_FILTER)
        if path:
            self.labels_edit.setText(path)

    @Slot()
    def _choose_image(self) -> None:
        start = str(self._image_path.parent) if self._image_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", start, IMAGE_FILTER)
        if path:
            self.open_image(path)

    # The signals go out even when rendering raises (the error still reaches the funnel
    # through the slot's exception hook), so nothing waiting on them hangs.

    @Slot(object)
    def _on_succeeded(self, report: Any) -> None:
        try:
            self.show_report(report)
        finally:
            self.prediction_finished.emit(report)

    @Slot(object)
    def _on_failed(self, err: BaseException) -> None:
        try:
            self.summary_label.setText("The run failed.")
            self.runner_label.setText(html_escape(str(err)))
            self._report_error(err)
        finally:
            self.prediction_failed.emit(err)

    @Slot()
    def _on_finished(self) -> None:
        try:
            self._handle_done()
        finally:
            self.busy_changed.emit(False)
            self.run_finished.emit()

    def _handle_done(self) -> None:
        self.run_button.setText("Run")
        self._handle = None
        self._update_run_state()

    # -- drag and drop ----------------------------------------------------------------------

    def dragEnterEvent(self, event: Any) -> None:
        if dropped_path(event) is not None or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dragMoveEvent(self, event: Any) -> None:
        if dropped_path(event) is not None or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        path = dropped_path(event)
        if path is None:
            return
        event.acceptProposedAction()
        if path.suffix.lower() in (".onnx", ".engine", ".plan", ".trt"):
            self.set_model(path)
        else:
            self.open_image(path)


def _demo_from_folder(
    folder: Path,
) -> tuple[Path, Path | None, PreprocessSpec, tuple[Path, ...]]:
    """(model, labels, spec, images) from `folder/demo.json` (same format as resources/demo)."""
    import json

    config = folder / "demo.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        model = folder / str(data["model"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InferenceError(
            f"The demo description {config} is missing or malformed.", details=str(exc)
        ) from exc
    preset = data.get("preset", "imagenet")
    spec = (
        imaging.spec_from_dict(preset) if isinstance(preset, dict) else imaging.get_preset(preset)
    )
    labels = folder / str(data["labels"]) if data.get("labels") else None
    images = tuple(folder / str(n) for n in data.get("images", ()) if (folder / str(n)).is_file())
    return model, labels if labels and labels.is_file() else None, spec, images


def _onnx_from_sidecar(engine: Path) -> Path | None:
    """The ONNX model an engine was built from, per its sidecar (when it still exists)."""
    try:
        from trtgui.core.engine.plan import read_sidecar

        sidecar, _ = read_sidecar(engine)
    except ImportError:
        return None
    settings = (sidecar or {}).get("settings") or {}
    onnx = settings.get("onnx_path") if isinstance(settings, Mapping) else None
    if onnx and Path(onnx).is_file():
        return Path(onnx)
    return None
