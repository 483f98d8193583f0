"""The Inference panel: one real image through the model, the answer drawn on the picture.

The user drops or opens an image (the panel accepts drops itself), checks the preprocessing
in an editable form (`preprocess_form.PreprocessForm`, pre-filled by
`trtgui.core.imaging.guess_preprocess`) and the tensor it produces (shape, dtype, min/max/mean
and a thumbnail of what the network sees), then presses Run. The prediction runs in a worker
thread (`trtgui.core.predict.flow.run_prediction`); the panel shows the annotated picture, a top-k
list for classifiers or a box list for detectors, timings, which runner ran and why, and —
when TensorRT and ONNX Runtime both ran — their comparison with a clear PASS/FAIL.

The left column is `inference_controls.InferenceControls`, the right `inference_view.
PredictionView`; this module holds the state and the flow between them. Errors (a bad image,
a failed run) go through the error funnel; the panel stays usable.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QWidget

from trtgui.core import imaging
from trtgui.core.build.record import onnx_for_engine
from trtgui.core.errors import TrtGuiError
from trtgui.core.imaging import PreprocessSpec
from trtgui.core.model.onnx_model import ModelInfo, inspect_onnx
from trtgui.core.paths import ENGINE_SUFFIXES, IMAGE_SUFFIXES, MODEL_SUFFIXES
from trtgui.core.predict.flow import PredictionReport, is_onnx, load_demo, run_prediction
from trtgui.core.predict.labels import default_labels_source
from trtgui.gui.inference_controls import InferenceControls
from trtgui.gui.inference_view import PredictionView
from trtgui.gui.widgets import dropped_path, show_file, splitter, vbox
from trtgui.gui.workers import WorkerHandle

log = logging.getLogger(__name__)

IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"
MODEL_FILTER = (
    "Models and engines ("
    + " ".join(f"*{s}" for s in (*MODEL_SUFFIXES, *ENGINE_SUFFIXES))
    + ");;All files (*)"
)
LABELS_FILTER = "Labels (*.txt *.names *.labels);;All files (*)"


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


def run_request(request: PredictionRequest) -> PredictionReport:
    """Worker body: `trtgui.core.predict.flow.run_prediction` with the request's settings."""
    return run_prediction(
        request.model_path,
        request.image_path,
        spec=request.spec,
        labels=request.labels_path,
        top_k=request.top_k,
        threshold=request.threshold,
        kind=request.kind,
        onnx_path=request.onnx_path,
    )


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
        self._model_info: ModelInfo | None = None
        self._image_path: Path | None = None
        self._image: Image.Image | None = None
        self._tensor: np.ndarray | None = None
        self._report: PredictionReport | None = None
        self._handle: WorkerHandle | None = None
        self._last_error: BaseException | None = None
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(120)
        self._preview_timer.timeout.connect(self.update_preview)

        self.controls = InferenceControls()
        self.results = PredictionView()
        controls = self.controls
        controls.model_button.clicked.connect(self._ask_model)
        controls.image_button.clicked.connect(self._choose_image)
        controls.run_button.clicked.connect(self.run)
        controls.guess_button.clicked.connect(self.reset_spec_to_guess)
        controls.labels_button.clicked.connect(self._choose_labels)
        controls.form.spec_changed.connect(self._spec_changed)
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
        return self._model_path

    def image_path(self) -> Path | None:
        return self._image_path

    def spec(self) -> PreprocessSpec:
        return self.controls.form.spec()

    def set_spec(self, spec: PreprocessSpec) -> None:
        self.controls.form.set_spec(spec)

    def report(self) -> PredictionReport | None:
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
        self,
        path: str | Path,
        onnx_path: str | Path | None = None,
        model_info: ModelInfo | None = None,
    ) -> None:
        """Use `path` (ONNX model or engine); `onnx_path` is the ONNX twin of an engine (the
        reference run and the fallback without a GPU; default: the one its build record
        names). `model_info` is the ONNX model's, when the caller has it. Pre-fills the
        preprocessing guess."""
        path = Path(path)
        before = {self._model_path, self._onnx_path} - {None}
        self._model_path = path
        self._onnx_path = Path(onnx_path) if onnx_path else None
        if self._onnx_path is None and not is_onnx(path):
            self._onnx_path, _why = onnx_for_engine(path)
        onnx = path if is_onnx(path) else self._onnx_path
        if not before & ({path, self._onnx_path} - {None}):
            # Another model (not this model's engine or ONNX twin): the labels, kind and
            # threshold chosen for the last one do not belong to it.
            self.controls.reset_choices()
        self._model_info = model_info
        if self._model_info is None and onnx is not None and onnx.is_file():
            try:
                self._model_info = inspect_onnx(onnx)
            except TrtGuiError as exc:  # the run will report it; the guess is only a start
                log.warning("could not inspect %s for the preprocessing guess: %s", onnx, exc)
        twin = self._onnx_path if self._onnx_path != path else None
        twin_text = f"ONNX: {twin.name}" if twin is not None else ""
        show_file(self.controls.model_label, path, twin_text, separator=" &nbsp; ")
        self._show_labels_default()
        self.reset_spec_to_guess()
        self._clear_results()
        self._update_run_state()

    def _show_labels_default(self) -> None:
        source = ""
        if self._model_path is not None:
            source = default_labels_source(self._model_path, self._model_info, self._onnx_path)
        self.controls.show_labels_default(source)

    @Slot()
    def reset_spec_to_guess(self) -> None:
        """Preprocessing back to `imaging.guess_preprocess(model)`."""
        info = self._model_info
        if info is None:
            return
        image_input = imaging.image_input(info)
        form = self.controls.form
        form.set_input(
            image_input.shape if image_input is not None else None,
            image_input.dtype if image_input is not None else None,
        )
        form.set_spec(imaging.guess_preprocess(info))

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
        show_file(
            self.controls.image_label, path, f"{image.width}×{image.height}", separator=" &nbsp; "
        )
        self.results.view.set_image(image)
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
            self.controls.show_no_image()
            return
        spec = self.controls.form.spec()
        try:
            tensor, _ = imaging.preprocess(self._image, spec)
        except (TrtGuiError, ValueError) as exc:
            self.controls.show_tensor_error(str(exc))
            self._update_run_state()
            return
        self._tensor = tensor
        self.controls.show_tensor(tensor, spec)
        self._update_run_state()

    def request(self) -> PredictionRequest | None:
        """The run the current settings describe, or None when something is missing."""
        controls = self.controls
        if self._model_path is None or self._image_path is None or controls.form.error():
            return None
        return PredictionRequest(
            model_path=self._model_path,
            image_path=self._image_path,
            spec=controls.form.spec(),
            onnx_path=self._onnx_path if self._onnx_path != self._model_path else None,
            kind=controls.kind(),
            labels_path=controls.labels_path(),
            top_k=controls.top_k.value(),
            threshold=controls.threshold_value(),
        )

    @Slot()
    def run(self) -> None:
        """Run the prediction in a worker; results arrive through `show_report`."""
        from trtgui.gui.workers import call_job, start_worker

        request = self.request()
        if request is None or self.is_busy():
            return
        self.controls.run_button.setEnabled(False)
        self.controls.run_button.setText("Running…")
        self.results.show_running()
        self.busy_changed.emit(True)
        self.prediction_started.emit()
        self._handle = start_worker(
            call_job(lambda: run_request(request)),
            name="prediction",
            on_succeeded=self._on_succeeded,
            on_failed=self._on_failed,
            on_finished=self._on_finished,
        )

    def show_report(self, report: PredictionReport) -> None:
        """Render a PredictionReport: picture, result list, runner, timings, comparison."""
        self._report = report
        self.results.show_report(report)

    def open_demo(self, folder: str | Path | None = None) -> bool:
        """The shipped demo (resources/demo, or `folder` with a demo.json): its model, labels,
        preprocessing and first photo. Errors go to the error funnel; False then."""
        try:
            demo = load_demo(folder)
        except TrtGuiError as exc:
            self._report_error(exc)
            return False
        self.set_model(demo.model)
        self.controls.labels_edit.setText(str(demo.labels) if demo.labels else "")
        self.controls.form.set_spec(self.controls.form.fitted(demo.spec))
        if not demo.images:
            return False
        preferred = [p for p in demo.images if "coffee" in p.name]
        return self.open_image((preferred or list(demo.images))[0])

    # -- helpers ----------------------------------------------------------------------------

    def _clear_results(self) -> None:
        self._report = None
        self.results.clear()

    def _update_run_state(self) -> None:
        missing = []
        if self._model_path is None:
            missing.append("choose a model")
        if self._image_path is None:
            missing.append("drop or open an image")
        if self.controls.form.error():
            missing.append("fix the preprocessing")
        self.controls.show_run_state(missing, self.is_busy())

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
        current = self.controls.labels_path()
        start = str(current.parent) if current else ""
        if not start and self._model_path is not None:
            start = str(self._model_path.parent)
        path, _ = QFileDialog.getOpenFileName(self, "Choose a labels file", start, LABELS_FILTER)
        if path:
            self.controls.labels_edit.setText(path)

    @Slot()
    def _choose_image(self) -> None:
        start = str(self._image_path.parent) if self._image_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", start, IMAGE_FILTER)
        if path:
            self.open_image(path)

    # The signals go out even when rendering raises (the error still reaches the funnel
    # through the slot's exception hook), so nothing waiting on them hangs.

    @Slot(object)
    def _on_succeeded(self, report: PredictionReport) -> None:
        try:
            self.show_report(report)
        finally:
            self.prediction_finished.emit(report)

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
        if dropped_path(event) is not None or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if dropped_path(event) is not None or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = dropped_path(event)
        if path is None:
            return
        event.acceptProposedAction()
        if path.suffix.lower() in (*MODEL_SUFFIXES, *ENGINE_SUFFIXES):
            self.set_model(path)
        else:
            self.open_image(path)
