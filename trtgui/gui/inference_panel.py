"""The Inference panel: one real image through the model, the answer drawn on the picture.

The user drops or opens an image (the panel accepts drops itself), checks the preprocessing
in an editable form (`preprocess_form.PreprocessForm`, pre-filled by
`trtgui.core.imaging.guess_preprocess`) and the tensor it produces (shape, dtype, min/max/mean
and a thumbnail of what the network sees), then presses Run. The prediction runs in a worker
thread (`trtgui.core.predict.flow.run_prediction`); the panel shows the annotated picture, a top-k
list for classifiers or a box list for detectors, timings, which runner ran and why, and —
when TensorRT and ONNX Runtime both ran — their comparison with a clear PASS/FAIL.

The left column is `inference_controls.InferenceControls`, the right `inference_view.
PredictionView`. What the run runs on (the model, the image, the tensor preview, read in
workers) is `inference_inputs.InferenceInputs`'; this module holds the run and the flow
between them. The work itself runs in `inference_jobs`; the Open dialogs and drops are
`inference_files`'. Errors (a bad image, a failed run) go through the error funnel; the panel
stays usable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QWidget

from trtgui.core.imaging import PreprocessSpec
from trtgui.core.model.onnx_model import ModelInfo
from trtgui.core.predict.demo import Demo
from trtgui.core.predict.report import PredictionReport
from trtgui.gui.inference_controls import InferenceControls
from trtgui.gui.inference_files import (
    ask_image,
    ask_labels,
    ask_model,
    drag_is_welcome,
    is_model_or_engine,
)
from trtgui.gui.inference_inputs import InferenceInputs
from trtgui.gui.inference_jobs import PredictionRequest, ShownPrediction, predict_and_draw
from trtgui.gui.inference_view import PredictionView
from trtgui.gui.widgets import dropped_path, splitter, vbox
from trtgui.gui.workers import WorkerHandle


class InferencePanel(QWidget):
    """Image → preprocessing → Run → annotated picture, top-k, timings, comparison.

    Every file read, decode, preprocessing and drawing runs in a worker (`LatestOnly`: the
    newest request wins), so a large photo or a slow file never freezes the window; the
    results arrive through the slots below and `self.inputs` (`InferenceInputs`).

    Signals:
        open_model_requested(): the user wants to choose a model or engine (the main window
            may answer with `set_model`; without a listener the panel opens a file dialog).
        image_loaded(str): an image was loaded (path).
        image_failed(object): an image could not be loaded (the error, already shown).
        model_ready(): the model's ONNX twin, preprocessing guess and labels are known.
        preview_updated(): the tensor preview (or its error) is shown.
        prediction_started(): a run began.
        prediction_finished(object): the `PredictionReport` of a successful run.
        prediction_failed(object): the exception of a failed run (already shown to the user).
        run_finished(): the run's worker finished, always last.
        busy_changed(bool)
    """

    open_model_requested = Signal()
    image_loaded = Signal(str)
    image_failed = Signal(object)
    model_ready = Signal()
    preview_updated = Signal()
    prediction_started = Signal()
    prediction_finished = Signal(object)
    prediction_failed = Signal(object)
    run_finished = Signal()
    busy_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._report: PredictionReport | None = None
        self._picture: ShownPrediction | None = None  # the last run's drawn picture
        self._handle: WorkerHandle | None = None
        self._last_error: BaseException | None = None
        self._run_pending = False  # Run asked for while the model or image was loading

        self.controls = InferenceControls()
        self.results = PredictionView()
        controls = self.controls
        controls.model_button.clicked.connect(self._ask_model)
        controls.image_button.clicked.connect(self._choose_image)
        controls.run_button.clicked.connect(self.run)
        controls.labels_button.clicked.connect(self._choose_labels)
        self.inputs = InferenceInputs(controls, self.results.view, self)
        inputs = self.inputs
        inputs.cleared.connect(self._clear_results)
        inputs.changed.connect(self._update_run_state)
        inputs.failed.connect(self._report_error)
        inputs.idle.connect(self._loader_idle)
        inputs.model_ready.connect(self.model_ready)
        inputs.image_loaded.connect(self.image_loaded)
        inputs.image_failed.connect(self.image_failed)
        inputs.preview_updated.connect(self.preview_updated)
        self.splitter = splitter(
            Qt.Orientation.Horizontal,
            controls,
            self.results,
            stretch=(0, 1),
            sizes=[360, 900],
            collapsible=False,
        )
        self.setLayout(vbox(self.splitter, margins=8))
        self._update_run_state()

    # -- public API -------------------------------------------------------------------------

    def model_path(self) -> Path | None:
        return self.inputs.model_path

    def image_path(self) -> Path | None:
        return self.inputs.image_path

    def spec(self) -> PreprocessSpec:
        return self.controls.form.spec()

    def set_spec(self, spec: PreprocessSpec) -> None:
        self.controls.form.set_spec(spec)

    def report(self) -> PredictionReport | None:
        """The last successful PredictionReport, or None."""
        return self._report

    def input_tensor(self) -> np.ndarray | None:
        """The preprocessed tensor of the current image and spec (None without an image, or
        while it is being made)."""
        return self.inputs.tensor

    def is_busy(self) -> bool:
        """A run is going."""
        return self._handle is not None and self._handle.is_running()

    def is_loading(self) -> bool:
        """A model, image, demo or tensor preview is being read or made in a worker."""
        return self.inputs.is_loading()

    def wait(self, timeout_ms: int = 60000) -> bool:
        """Block until the run's and the loaders' threads have stopped (shutdown, tests)."""
        done = self._handle.wait(timeout_ms) if self._handle is not None else True
        return self.inputs.wait(timeout_ms) and done

    def cancel(self) -> None:
        """Ask every loader to stop (window close); a run ends with its current step."""
        self.inputs.cancel()
        if self._handle is not None:
            self._handle.cancel()

    def set_model(
        self,
        path: str | Path,
        onnx_path: str | Path | None = None,
        model_info: ModelInfo | None = None,
        *,
        spec: PreprocessSpec | None = None,
        labels: Path | None = None,
    ) -> None:
        """Use `path` (ONNX model or engine); `onnx_path` is the ONNX twin of an engine (the
        reference run and the fallback without a GPU; default: the one its build record
        names). `model_info` is the ONNX model's, when the caller has it.

        The twin, the model's inspection and its labels are found in a worker; then the
        preprocessing is pre-filled with the guess (or `spec`, fitted to the input) and
        `labels` fills the Labels field; `model_ready` says when.
        """
        self.inputs.set_model(Path(path), onnx_path, model_info, spec=spec, labels=labels)

    def open_image(self, path: str | Path) -> bool:
        """Read, decode and show an image in a worker; `image_loaded` or `image_failed` (the
        error goes to the funnel) tells how it went. True: the load started."""
        self.inputs.open_image(Path(path))
        return True

    def request(self) -> PredictionRequest | None:
        """The run the current settings describe, or None when something is missing."""
        controls, inputs = self.controls, self.inputs
        model, image = inputs.model_path, inputs.image_path
        if model is None or image is None or controls.form.error():
            return None
        return PredictionRequest(
            model_path=model,
            image_path=image,
            spec=controls.form.spec(),
            onnx_path=inputs.onnx_path if inputs.onnx_path != model else None,
            kind=controls.kind(),
            labels_path=controls.labels_path(),
            top_k=controls.top_k.value(),
            threshold=controls.threshold_value(),
        )

    @Slot()
    def run(self) -> None:
        """Run the prediction in a worker; results arrive through `show_report`. Asked while
        the model or image is still loading, it runs once they are there."""
        from trtgui.gui.workers import call_job, start_worker

        if self.inputs.inputs_loading():
            self._run_pending = True
            return
        self._run_pending = False
        request = self.request()
        if request is None or self.is_busy():
            return
        self.controls.run_button.setEnabled(False)
        self.controls.run_button.setText("Running…")
        self.results.show_running()
        self.busy_changed.emit(True)
        self.prediction_started.emit()
        self._handle = start_worker(
            call_job(lambda: predict_and_draw(request)),
            name="prediction",
            on_succeeded=self._on_succeeded,
            on_failed=self._on_failed,
            on_finished=self._on_finished,
        )

    def show_report(self, report: PredictionReport) -> None:
        """Render a PredictionReport: picture, result list, runner, timings, comparison."""
        self._report = report
        self.controls.show_kind_reason(report.prediction.kind_reason)
        shown = self._picture
        picture = shown.picture if shown is not None and shown.report is report else None
        self.results.show_report(report, picture)

    def open_demo(self, folder: str | Path | None = None) -> bool:
        """The shipped demo (resources/demo, or `folder` with a demo.json): its model, labels,
        preprocessing and first photo, read in a worker (`show_demo` follows). Errors go to
        the error funnel. True: the load started."""
        self.inputs.open_demo(Path(folder) if folder is not None else None)
        return True

    def show_demo(self, demo: Demo) -> None:
        """Use a demo already read (`load_demo`): its model, labels, preprocessing and photo."""
        self.inputs.show_demo(demo)

    # -- helpers ----------------------------------------------------------------------------

    @Slot()
    def _clear_results(self) -> None:
        self._report = None
        self._picture = None
        self.results.clear()

    @Slot()
    def _update_run_state(self) -> None:
        self.controls.show_run_state(self.inputs.missing(), self.is_busy())

    @Slot()
    def _loader_idle(self) -> None:
        self._update_run_state()
        if self._run_pending and not self.inputs.inputs_loading():
            self.run()

    @Slot(object)
    def _report_error(self, err: BaseException) -> None:
        from trtgui.gui.errors import show_error

        self._last_error = err
        show_error(self, err)

    # -- slots ------------------------------------------------------------------------------

    @Slot()
    def _ask_model(self) -> None:
        if self.receivers("2open_model_requested()") > 0:  # the main window chooses
            self.open_model_requested.emit()
            return
        path = ask_model(self, self.inputs.model_path)
        if path is not None:
            self.set_model(path)

    @Slot()
    def _choose_labels(self) -> None:
        path = ask_labels(self, self.controls.labels_path(), self.inputs.model_path)
        if path is not None:
            self.controls.labels_edit.setText(str(path))

    @Slot()
    def _choose_image(self) -> None:
        path = ask_image(self, self.inputs.image_path)
        if path is not None:
            self.open_image(path)

    # The signals go out even when rendering raises (the error still reaches the funnel
    # through the slot's exception hook), so nothing waiting on them hangs.

    @Slot(object)
    def _on_succeeded(self, shown: ShownPrediction) -> None:
        try:
            self._picture = shown
            self.show_report(shown.report)
        finally:
            self.prediction_finished.emit(shown.report)

    @Slot(object)
    def _on_failed(self, err: BaseException) -> None:
        try:
            self.results.show_failure(err)
            self._report_error(err)
        finally:
            self.prediction_failed.emit(err)

    @Slot()
    def _on_finished(self) -> None:
        try:
            self.controls.run_button.setText("Run")
            self._handle = None
            self._update_run_state()
        finally:
            self.busy_changed.emit(False)
            self.run_finished.emit()

    # -- drag and drop ----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if drag_is_welcome(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if drag_is_welcome(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = dropped_path(event)
        if path is None:
            return
        event.acceptProposedAction()
        if is_model_or_engine(path):
            self.set_model(path)
        else:
            self.open_image(path)
