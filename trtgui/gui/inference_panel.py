"""The Inference panel: one real image through the model, the answer drawn on the picture.

The user drops or opens an image (the panel accepts drops itself), checks the preprocessing
in an editable form (`preprocess_form.PreprocessForm`, pre-filled by
`trtgui.core.imaging.guess_preprocess`) and the tensor it produces (shape, dtype, min/max/mean
and a thumbnail of what the network sees), then presses Run. The prediction runs in a worker
thread (`trtgui.core.predict.flow.run_prediction`); the panel shows the annotated picture, a top-k
list for classifiers or a box list for detectors, timings, which runner ran and why, and —
when TensorRT and ONNX Runtime both ran — their comparison with a clear PASS/FAIL.

The left column is `inference_controls.InferenceControls`, the right `inference_view.
PredictionView`; this module holds the state and the flow between them. The work itself runs
in `inference_jobs`; the Open dialogs and drops are `inference_files`'. Errors (a bad image, a
failed run) go through the error funnel; the panel stays usable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QWidget

from trtgui.core import imaging
from trtgui.core.errors import InferenceError
from trtgui.core.imaging import PreprocessSpec
from trtgui.core.model.onnx_model import ModelInfo
from trtgui.core.predict.demo import Demo, load_demo
from trtgui.core.predict.report import PredictionReport
from trtgui.gui.inference_controls import InferenceControls
from trtgui.gui.inference_files import (
    ask_image,
    ask_labels,
    ask_model,
    drag_is_welcome,
    is_model_or_engine,
)
from trtgui.gui.inference_jobs import (
    LoadedImage,
    ModelChoice,
    PredictionRequest,
    ShownPrediction,
    TensorPreview,
    load_image_job,
    model_job,
    predict_and_draw,
    preview_job,
)
from trtgui.gui.inference_view import PredictionView
from trtgui.gui.widgets import dropped_path, show_file, splitter, vbox
from trtgui.gui.workers import LatestOnly, WorkerHandle


class InferencePanel(QWidget):
    """Image → preprocessing → Run → annotated picture, top-k, timings, comparison.

    Every file read, decode, preprocessing and drawing runs in a worker (`LatestOnly`: the
    newest request wins), so a large photo or a slow file never freezes the window; the
    results arrive through the slots below.

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
        self._model_path: Path | None = None
        self._onnx_path: Path | None = None
        self._model_info: ModelInfo | None = None
        self._image_path: Path | None = None
        self._image: Image.Image | None = None
        self._tensor: np.ndarray | None = None
        self._report: PredictionReport | None = None
        self._picture: ShownPrediction | None = None  # the last run's drawn picture
        self._handle: WorkerHandle | None = None
        self._last_error: BaseException | None = None
        self._run_pending = False  # Run asked for while the model or image was loading
        # What set_model was asked to apply once the model is known.
        self._model_before: set[Path] = set()
        self._then_spec: PreprocessSpec | None = None
        self._then_labels: Path | None = None
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(120)
        self._preview_timer.timeout.connect(self.update_preview)
        self._model_loader = LatestOnly(
            "open model", self._on_model_ready, self._on_model_failed, self
        )
        self._image_loader = LatestOnly(
            "load image", self._on_image_loaded, self._on_image_failed, self
        )
        self._preview_loader = LatestOnly(
            "preview tensor", self._on_preview, self._on_preview_failed, self
        )
        self._demo_loader = LatestOnly("open demo", self.show_demo, self._on_demo_failed, self)
        self._loaders = (
            self._model_loader,
            self._image_loader,
            self._preview_loader,
            self._demo_loader,
        )
        for loader in self._loaders:
            loader.idle.connect(self._loader_idle)

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
        """The preprocessed tensor of the current image and spec (None without an image, or
        while it is being made)."""
        return self._tensor

    def is_busy(self) -> bool:
        """A run is going."""
        return self._handle is not None and self._handle.is_running()

    def is_loading(self) -> bool:
        """A model, image, demo or tensor preview is being read or made in a worker."""
        return any(loader.is_busy() for loader in self._loaders)

    def _inputs_loading(self) -> bool:
        return any(
            loader.is_busy()
            for loader in (self._model_loader, self._image_loader, self._demo_loader)
        )

    def wait(self, timeout_ms: int = 60000) -> bool:
        """Block until the run's and the loaders' threads have stopped (shutdown, tests)."""
        done = self._handle.wait(timeout_ms) if self._handle is not None else True
        return all([loader.wait(timeout_ms) for loader in self._loaders]) and done

    def cancel(self) -> None:
        """Ask every loader to stop (window close); a run ends with its current step."""
        for loader in self._loaders:
            loader.drop()
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
        path = Path(path)
        self._model_before = {p for p in (self._model_path, self._onnx_path) if p is not None}
        self._model_path = path
        self._onnx_path = Path(onnx_path) if onnx_path else None
        self._then_spec = spec
        self._then_labels = labels
        show_file(self.controls.model_label, path, "", separator=" &nbsp; ")
        self._clear_results()
        self._update_run_state()
        self._model_loader.request(model_job(path, self._onnx_path, model_info))

    @Slot(object)
    def _on_model_ready(self, choice: ModelChoice) -> None:
        if choice.path != self._model_path:
            return
        if not self._model_before & ({choice.path, choice.onnx_path} - {None}):
            # Another model (not this model's engine or ONNX twin): the labels, kind and
            # threshold chosen for the last one do not belong to it.
            self.controls.reset_choices()
        self._onnx_path = choice.onnx_path
        self._model_info = choice.info
        twin = choice.onnx_path if choice.onnx_path != choice.path else None
        twin_text = f"ONNX: {twin.name}" if twin is not None else ""
        show_file(self.controls.model_label, choice.path, twin_text, separator=" &nbsp; ")
        self.controls.show_labels_default(choice.labels_source)
        self.reset_spec_to_guess()
        if self._then_spec is not None:
            self.controls.form.set_spec(self.controls.form.fitted(self._then_spec))
        if self._then_labels is not None:
            self.controls.labels_edit.setText(str(self._then_labels))
        self._then_spec = self._then_labels = None
        self._update_run_state()
        self.model_ready.emit()

    @Slot(object)
    def _on_model_failed(self, err: BaseException) -> None:
        self._report_error(err)

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
        self.controls.show_preset_guess(imaging.guess_preset(info))

    def open_image(self, path: str | Path) -> bool:
        """Read, decode and show an image in a worker; `image_loaded` or `image_failed` (the
        error goes to the funnel) tells how it went. True: the load started."""
        self._image_loader.request(load_image_job(Path(path)))
        self._update_run_state()
        return True

    @Slot(object)
    def _on_image_loaded(self, loaded: LoadedImage) -> None:
        image = loaded.image
        self._image_path = loaded.path
        self._image = image
        show_file(
            self.controls.image_label,
            loaded.path,
            f"{image.width}×{image.height}",
            separator=" &nbsp; ",
        )
        self.results.view.set_image(loaded.preview, source_size=image.size)
        self._clear_results()
        self.update_preview()
        self._update_run_state()
        self.image_loaded.emit(str(loaded.path))

    @Slot(object)
    def _on_image_failed(self, err: BaseException) -> None:
        self._report_error(err)
        self._update_run_state()
        self.image_failed.emit(err)

    @Slot()
    def update_preview(self) -> None:
        """Preprocess the current image with the current spec in a worker; the shape, the
        statistics and a thumbnail follow (`preview_updated`)."""
        self._tensor = None
        if self._image is None:
            self.controls.show_no_image()
            return
        self._preview_loader.request(preview_job(self._image, self.controls.form.spec()))

    @Slot(object)
    def _on_preview(self, preview: TensorPreview) -> None:
        self._tensor = preview.tensor
        self.controls.show_tensor_preview(preview.text, preview.picture)
        self._update_run_state()
        self.preview_updated.emit()

    @Slot(object)
    def _on_preview_failed(self, err: BaseException) -> None:
        if isinstance(err, MemoryError):
            err = InferenceError("Not enough memory to make the input tensor.")
        self.controls.show_tensor_error(str(err))
        self._update_run_state()
        self.preview_updated.emit()

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
        """Run the prediction in a worker; results arrive through `show_report`. Asked while
        the model or image is still loading, it runs once they are there."""
        from trtgui.gui.workers import call_job, start_worker

        if self._inputs_loading():
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
        root = Path(folder) if folder is not None else None
        self._demo_loader.request(lambda ctx: load_demo(root))
        return True

    @Slot(object)
    def show_demo(self, demo: Demo) -> None:
        """Use a demo already read (`load_demo`): its model, labels, preprocessing and photo."""
        self.set_model(demo.model, spec=demo.spec, labels=demo.labels)
        if not demo.labels:
            self.controls.labels_edit.setText("")
        if demo.images:
            preferred = [p for p in demo.images if "coffee" in p.name]
            self.open_image((preferred or list(demo.images))[0])

    @Slot(object)
    def _on_demo_failed(self, err: BaseException) -> None:
        self._report_error(err)

    # -- helpers ----------------------------------------------------------------------------

    def _clear_results(self) -> None:
        self._report = None
        self._picture = None
        self.results.clear()

    def _update_run_state(self) -> None:
        missing = []
        if self._model_path is None:
            missing.append("choose a model")
        if self._image_path is None:
            loading = self._image_loader.is_busy() or self._demo_loader.is_busy()
            missing.append("wait for the image to load" if loading else "drop or open an image")
        elif self._image_loader.is_busy():
            missing.append("wait for the image to load")
        if self._model_loader.is_busy():
            missing.append("wait for the model to open")
        if self.controls.form.error():
            missing.append("fix the preprocessing")
        self.controls.show_run_state(missing, self.is_busy())

    @Slot()
    def _loader_idle(self) -> None:
        self._update_run_state()
        if self._run_pending and not self._inputs_loading():
            self.run()

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
        path = ask_model(self, self._model_path)
        if path is not None:
            self.set_model(path)

    @Slot()
    def _choose_labels(self) -> None:
        path = ask_labels(self, self.controls.labels_path(), self._model_path)
        if path is not None:
            self.controls.labels_edit.setText(str(path))

    @Slot()
    def _choose_image(self) -> None:
        path = ask_image(self, self._image_path)
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
