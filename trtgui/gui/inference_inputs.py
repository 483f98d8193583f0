"""What the Inference panel runs on: the model, the image and the input tensor made from them.

`InferenceInputs` reads the model (its ONNX twin, inspection and labels), the image and the
shipped demo, and makes the tensor preview, each in a worker where the newest request wins
(`LatestOnly`), and shows each as it arrives in the left column (`InferenceControls`) and the
picture view. The panel owns the run: it reads `model_path`, `onnx_path` and `image_path`
here, asks `missing()` what the run still waits for, and hears back through the signals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from trtgui.core import imaging
from trtgui.core.errors import InferenceError
from trtgui.core.imaging import PreprocessSpec
from trtgui.core.model.onnx_model import ModelInfo
from trtgui.core.predict.demo import Demo, load_demo
from trtgui.gui.image_view import ImageView
from trtgui.gui.inference_controls import InferenceControls
from trtgui.gui.inference_jobs import (
    LoadedImage,
    ModelChoice,
    TensorPreview,
    load_image_job,
    model_job,
    preview_job,
)
from trtgui.gui.widgets import show_file
from trtgui.gui.workers import LatestOnly

PREVIEW_DELAY_MS = 120  # the tensor preview follows spec edits once typing pauses this long


class InferenceInputs(QObject):
    """The model, image and tensor preview of the Inference panel, loaded in workers.

    Signals:
        model_ready(), image_loaded(str), image_failed(object), preview_updated(): as the
            panel's signals of those names (it relays them).
        failed(object): a model, image or demo could not be read (for the error funnel).
        cleared(): another model or image: the last run's results no longer apply.
        changed(): what the run waits for may have changed (`missing()`).
        idle(): a loader has nothing left to do.
    """

    model_ready = Signal()
    image_loaded = Signal(str)
    image_failed = Signal(object)
    preview_updated = Signal()
    failed = Signal(object)
    cleared = Signal()
    changed = Signal()
    idle = Signal()

    def __init__(
        self, controls: InferenceControls, view: ImageView, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.controls = controls
        self.view = view
        self.model_path: Path | None = None
        self.onnx_path: Path | None = None
        self.model_info: ModelInfo | None = None
        self.image_path: Path | None = None
        self._image: Image.Image | None = None
        self.tensor: np.ndarray | None = None
        # What set_model was asked to apply once the model is known.
        self._model_before: set[Path] = set()
        self._then_spec: PreprocessSpec | None = None
        self._then_labels: Path | None = None
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.update_preview)
        self._model_loader = LatestOnly("open model", self._on_model_ready, self.failed.emit, self)
        self._image_loader = LatestOnly(
            "load image", self._on_image_loaded, self._on_image_failed, self
        )
        self._preview_loader = LatestOnly(
            "preview tensor", self._on_preview, self._on_preview_failed, self
        )
        self._demo_loader = LatestOnly("open demo", self.show_demo, self.failed.emit, self)
        self._loaders = (
            self._model_loader,
            self._image_loader,
            self._preview_loader,
            self._demo_loader,
        )
        for loader in self._loaders:
            loader.idle.connect(self.idle)
        controls.guess_button.clicked.connect(self.reset_spec_to_guess)
        controls.form.spec_changed.connect(self._spec_changed)

    # -- the loaders, together --------------------------------------------------------------

    def is_loading(self) -> bool:
        """A model, image, demo or tensor preview is being read or made in a worker."""
        return any(loader.is_busy() for loader in self._loaders)

    def inputs_loading(self) -> bool:
        """The model, image or demo (what a run needs) is still being read."""
        return any(
            loader.is_busy()
            for loader in (self._model_loader, self._image_loader, self._demo_loader)
        )

    def wait(self, timeout_ms: int = 60000) -> bool:
        """Block until every loader's thread has stopped (shutdown, tests)."""
        return all([loader.wait(timeout_ms) for loader in self._loaders])

    def cancel(self) -> None:
        """Ask every loader to stop (window close)."""
        for loader in self._loaders:
            loader.drop()

    def missing(self) -> list[str]:
        """What the user must do (or wait for) before a run, in the Run button's words."""
        missing = []
        if self.model_path is None:
            missing.append("choose a model")
        if self.image_path is None:
            loading = self._image_loader.is_busy() or self._demo_loader.is_busy()
            missing.append("wait for the image to load" if loading else "drop or open an image")
        elif self._image_loader.is_busy():
            missing.append("wait for the image to load")
        if self._model_loader.is_busy():
            missing.append("wait for the model to open")
        if self.controls.form.error():
            missing.append("fix the preprocessing")
        return missing

    # -- the model ---------------------------------------------------------------------------

    def set_model(
        self,
        path: Path,
        onnx_path: str | Path | None = None,
        model_info: ModelInfo | None = None,
        *,
        spec: PreprocessSpec | None = None,
        labels: Path | None = None,
    ) -> None:
        """Find the twin, the inspection and the labels of `path` in a worker (the panel's
        `set_model` says what each argument is)."""
        self._model_before = {p for p in (self.model_path, self.onnx_path) if p is not None}
        self.model_path = path
        self.onnx_path = Path(onnx_path) if onnx_path else None
        self._then_spec = spec
        self._then_labels = labels
        show_file(self.controls.model_label, path, "", separator=" &nbsp; ")
        self.cleared.emit()
        self.changed.emit()
        self._model_loader.request(model_job(path, self.onnx_path, model_info))

    @Slot(object)
    def _on_model_ready(self, choice: ModelChoice) -> None:
        if choice.path != self.model_path:
            return
        if not self._model_before & ({choice.path, choice.onnx_path} - {None}):
            # Another model (not this model's engine or ONNX twin): the labels, kind and
            # threshold chosen for the last one do not belong to it.
            self.controls.reset_choices()
        self.onnx_path = choice.onnx_path
        self.model_info = choice.info
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
        self.changed.emit()
        self.model_ready.emit()

    @Slot()
    def reset_spec_to_guess(self) -> None:
        """Preprocessing back to `imaging.guess_preprocess(model)`."""
        info = self.model_info
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

    # -- the image ---------------------------------------------------------------------------

    def open_image(self, path: Path) -> None:
        """Read, decode and show an image in a worker."""
        self._image_loader.request(load_image_job(path))
        self.changed.emit()

    @Slot(object)
    def _on_image_loaded(self, loaded: LoadedImage) -> None:
        image = loaded.image
        self.image_path = loaded.path
        self._image = image
        show_file(
            self.controls.image_label,
            loaded.path,
            f"{image.width}×{image.height}",
            separator=" &nbsp; ",
        )
        self.view.set_image(loaded.preview, source_size=image.size)
        self.cleared.emit()
        self.update_preview()
        self.changed.emit()
        self.image_loaded.emit(str(loaded.path))

    @Slot(object)
    def _on_image_failed(self, err: BaseException) -> None:
        self.failed.emit(err)
        self.changed.emit()
        self.image_failed.emit(err)

    # -- the tensor preview ------------------------------------------------------------------

    @Slot()
    def update_preview(self) -> None:
        """Preprocess the current image with the current spec in a worker; the shape, the
        statistics and a thumbnail follow (`preview_updated`)."""
        self.tensor = None
        if self._image is None:
            self.controls.show_no_image()
            return
        self._preview_loader.request(preview_job(self._image, self.controls.form.spec()))

    @Slot(object)
    def _on_preview(self, preview: TensorPreview) -> None:
        self.tensor = preview.tensor
        self.controls.show_tensor_preview(preview.text, preview.picture)
        self.changed.emit()
        self.preview_updated.emit()

    @Slot(object)
    def _on_preview_failed(self, err: BaseException) -> None:
        if isinstance(err, MemoryError):
            err = InferenceError("Not enough memory to make the input tensor.")
        self.controls.show_tensor_error(str(err))
        self.changed.emit()
        self.preview_updated.emit()

    @Slot(object)
    def _spec_changed(self, spec: PreprocessSpec) -> None:
        self._preview_timer.start()
        self.changed.emit()

    # -- the demo ----------------------------------------------------------------------------

    def open_demo(self, folder: Path | None) -> None:
        """Read the demo (resources/demo, or `folder`) in a worker; `show_demo` follows."""
        self._demo_loader.request(lambda ctx: load_demo(folder))

    @Slot(object)
    def show_demo(self, demo: Demo) -> None:
        """Use a demo already read (`load_demo`): its model, labels, preprocessing and photo."""
        self.set_model(demo.model, spec=demo.spec, labels=demo.labels)
        if not demo.labels:
            self.controls.labels_edit.setText("")
        if demo.images:
            preferred = [p for p in demo.images if "coffee" in p.name]
            self.open_image((preferred or list(demo.images))[0])
