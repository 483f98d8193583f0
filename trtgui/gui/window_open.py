"""How the main window opens files: by their kind, from a drop anywhere on it, the Open
dialogs, the command line or File > Open Recent; a model in a worker, then in the Model, Build
and Inference panels; an engine in the Engine panel; an image in the Inference panel; a build
settings file in the Build panel; a demo folder.

`FileOpening` is the main window's base class for this one concern; `MainWindow` makes the
tabs and panels it routes to (declared here for the type checker).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow, QTabWidget

from trtgui.core.errors import TrtGuiError
from trtgui.gui.errors import show_error
from trtgui.gui.model_panel import ModelPanel
from trtgui.gui.open_files import ENGINE_FILTER, IMAGE_FILTER, OPEN_FILTER, dropped_paths, kind_of
from trtgui.gui.panel import LazyTab
from trtgui.gui.window_state import RecentKind, WindowState

if TYPE_CHECKING:
    from trtgui.core.model.onnx_model import ModelInfo
    from trtgui.core.predict.demo import Demo
    from trtgui.gui.build_panel import BuildPanel
    from trtgui.gui.engine_panel import EnginePanel
    from trtgui.gui.inference_panel import InferencePanel
    from trtgui.gui.workers import WorkerHandle

MODEL_TAB, BUILD_TAB, ENGINE_TAB, INFERENCE_TAB = range(4)


class FileOpening(QMainWindow):
    """Opening files by their kind (the main window's base class)."""

    # Made by MainWindow.__init__.
    state: WindowState
    tabs: QTabWidget
    model_panel: ModelPanel
    build_tab: LazyTab[BuildPanel]
    inference_tab: LazyTab[InferencePanel]
    model_info: ModelInfo | None
    _open_handle: WorkerHandle | None
    _show_model_panel: bool
    _demo_handle: WorkerHandle | None
    _demo_folder: Path | None

    if TYPE_CHECKING:  # MainWindow's, used here

        def show_tab(self, index: int) -> None: ...
        def engine_panel(self) -> EnginePanel | None: ...
        def inference_panel(self) -> InferencePanel | None: ...
        def add_recent(self, kind: RecentKind, path: str | Path) -> None: ...
        def _fill_recent_menu(self) -> None: ...
        def _update_actions(self) -> None: ...
        def import_settings(self, path: str | Path) -> None: ...
        def last_folder(self) -> str: ...

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def open_paths(self, paths: list[Path]) -> None:
        for path in paths:
            self.open_path(path)

    def open_path(self, path: str | Path) -> None:
        """Open a model, engine, image or build-settings file, chosen by its extension."""
        path = Path(path).expanduser()
        kind = kind_of(path)
        if kind == "models":
            self.open_model(path)
        elif kind == "engines":
            self.open_engine(path)
        elif kind == "images":
            self.open_image(path)
        elif kind == "settings":
            if path.name == "demo.json":
                self.open_demo(path.parent)
            else:
                self.import_settings(path)
        else:
            show_error(
                self,
                TrtGuiError(
                    f"trtgui does not know what to do with {path.name}: open an ONNX model "
                    "(.onnx), an engine (.engine, .plan, .trt) or an image.",
                ),
            )

    def open_model(self, path: str | Path, *, show_panel: bool = True) -> None:
        """Inspect `path` in a worker; the Model panel shows it when done (and comes to the
        front unless `show_panel` is False)."""
        from trtgui.gui.workers import inspect_job, start_worker

        self._show_model_panel = show_panel

        path = Path(path)
        if not path.exists():
            self._missing(path, "models")
            return
        self.state.remember_folder(path)
        self.statusBar().showMessage(f"Opening {path.name}…")
        self._open_handle = start_worker(
            inspect_job(str(path)),
            name=f"inspect {path.name}",
            on_succeeded=self._model_opened,
            on_failed=self._open_failed,
        )

    @Slot(object)
    def _model_opened(self, info: ModelInfo) -> None:
        self.model_info = info
        self.model_panel.set_model(info)
        self.add_recent("models", info.path)
        self.setWindowTitle(f"{info.path.name} — trtgui")
        self.statusBar().showMessage(f"Opened {info.path}", 5000)
        if self.build_tab.panel is not None:
            self.build_tab.panel.set_model(info)
        inference = self.inference_tab.panel
        if inference is not None and not inference.is_busy():
            inference.set_model(info.path, model_info=info)
        if self._show_model_panel and self.tabs.currentIndex() not in (MODEL_TAB, BUILD_TAB):
            self.show_tab(MODEL_TAB)
        self._update_actions()

    @Slot(object)
    def _open_failed(self, err: BaseException) -> None:
        self.statusBar().clearMessage()
        show_error(self, err)

    def open_engine(self, path: str | Path) -> None:
        path = Path(path)
        if not path.exists():
            self._missing(path, "engines")
            return
        self.state.remember_folder(path)
        panel = self.engine_panel()
        self.add_recent("engines", path)
        self.show_tab(ENGINE_TAB)
        if panel is not None:
            panel.open_engine(path)

    def _engine_opened_in_panel(self, path: str) -> None:
        self.add_recent("engines", Path(path))

    def open_image(self, path: str | Path) -> None:
        path = Path(path)
        if not path.exists():
            self._missing(path, "images")
            return
        self.state.remember_folder(path)
        panel = self.inference_panel()
        self.add_recent("images", path)
        self.show_tab(INFERENCE_TAB)
        if panel is not None:
            panel.open_image(path)

    def _run_engine_on_image(self, engine_path: str) -> None:
        panel = self.inference_panel()
        self.show_tab(INFERENCE_TAB)
        if panel is not None:
            panel.set_model(engine_path)

    def open_demo(self, folder: str | Path | None = None) -> None:
        """Open the bundled demo (or the one in `folder`): its model, the engine `trtgui-cli
        demo` built (when there is one), then its first image in the Inference panel.
        demo.json is read in a worker (`_demo_loaded` follows)."""
        from trtgui.core.predict.demo import load_demo
        from trtgui.gui.workers import call_job, start_worker

        root = Path(folder) if folder is not None else None
        self._demo_folder = root
        self._demo_handle = start_worker(
            call_job(lambda: load_demo(root)),
            name="open demo",
            on_succeeded=self._demo_loaded,
            on_failed=self._open_failed,
        )

    @Slot(object)
    def _demo_loaded(self, demo: Demo) -> None:
        from trtgui.core.paths import demo_engine_path

        self.open_model(demo.model, show_panel=False)
        # The engine `trtgui-cli demo` built (README: `trtgui-cli demo && trtgui --demo`).
        if self._demo_folder is None and demo_engine_path().is_file():
            self.open_engine(demo_engine_path())
        panel = self.inference_panel()
        # The demo shows its point at once: a result on a photo, without a click (the run
        # waits for the model and the photo to load).
        if panel is not None and demo.images:
            panel.show_demo(demo)
            self.show_tab(INFERENCE_TAB)
            panel.run()

    def _missing(self, path: Path, kind: RecentKind) -> None:
        self.state.remove_recent(kind, path)
        self._fill_recent_menu()
        show_error(self, TrtGuiError(f"{path} does not exist: it may have been moved or deleted."))

    def open_dialog(self) -> None:
        self._file_dialog("Open a model, engine or image", OPEN_FILTER)

    def open_engine_dialog(self) -> None:
        self._file_dialog("Open a TensorRT engine", ENGINE_FILTER + ";;All files (*)")

    def open_image_dialog(self) -> None:
        self._file_dialog("Open an image", IMAGE_FILTER + ";;All files (*)")

    def _file_dialog(self, title: str, filters: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, title, self.last_folder(), filters)
        if path:
            self.open_path(path)
