"""The main window: tabs for the Model, Build, Engine and Inference panels, menus with
shortcuts, recent files, drag and drop anywhere, persistence (QSettings), About.

It owns the routing between panels (open a file by extension, model → Build panel, build
result → Engine panel) and the lifetime of their workers: closing the window cancels a
running build and waits for every thread. Panels other than Model are created lazily on first
use so the window shows before heavy modules load.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from trtgui.core.errors import TrtGuiError
from trtgui.gui.errors import show_error
from trtgui.gui.model_panel import ModelPanel

log = logging.getLogger("trtgui.gui")

MODEL_EXTS = (".onnx",)
ENGINE_EXTS = (".engine", ".plan", ".trt")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm")
SETTINGS_EXTS = (".json",)
RECENT_KINDS = ("models", "engines", "images")
MAX_RECENT = 10

MODEL_FILTER = "ONNX models (*.onnx)"
ENGINE_FILTER = "TensorRT engines (*.engine *.plan *.trt)"
IMAGE_FILTER = "Images (" + " ".join(f"*{e}" for e in IMAGE_EXTS) + ")"
OPEN_FILTER = ";;".join(
    [
        "Models, engines and images (*.onnx *.engine *.plan *.trt "
        + " ".join(f"*{e}" for e in IMAGE_EXTS)
        + ")",
        MODEL_FILTER,
        ENGINE_FILTER,
        IMAGE_FILTER,
        "All files (*)",
    ]
)


def kind_of(path: str | Path) -> str | None:
    """ "models" | "engines" | "images" | "settings" for a file name, or None."""
    suffix = Path(path).suffix.lower()
    if suffix in MODEL_EXTS:
        return "models"
    if suffix in ENGINE_EXTS:
        return "engines"
    if suffix in IMAGE_EXTS:
        return "images"
    if suffix in SETTINGS_EXTS:
        return "settings"
    return None


def toolbar_icon(name: str) -> QIcon:
    from trtgui.core.resources import resource_path

    path = resource_path("icons", "toolbar", f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()


class LazyTab(QWidget):
    """A tab whose panel is created on first use; shows a placeholder until then."""

    def __init__(self, title: str, factory: Callable[[], QWidget]) -> None:
        super().__init__()
        self.title = title
        self._factory = factory
        self.panel: QWidget | None = None
        self.error: BaseException | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._placeholder = QLabel(f"{title} panel — opening…")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self._placeholder)

    def ensure(self) -> QWidget | None:
        """The panel, created now if needed; None when it is not available."""
        if self.panel is None and self.error is None:
            try:
                self.panel = self._factory()
            except ModuleNotFoundError as exc:
                self.error = exc
                self._placeholder.setText(f"The {self.title} panel is not available yet.")
                log.warning("%s panel not available: %s", self.title, exc)
                return None
            self._layout.removeWidget(self._placeholder)
            self._placeholder.deleteLater()
            self._layout.addWidget(self.panel)
        return self.panel


class _DropFilter(QObject):
    """Application-wide filter: files dropped on any widget of the window open in it.

    Text fields would otherwise swallow a dropped file as its path text.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        etype = event.type()
        if etype not in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            return False
        if not isinstance(obj, QWidget) or obj.window() is not self.window:
            return False
        paths = self.window.dropped_paths(event.mimeData())  # type: ignore[attr-defined]
        if not paths:
            return False
        if etype == QEvent.Type.Drop:
            event.acceptProposedAction()  # type: ignore[attr-defined]
            self.window.open_paths(paths)
        else:
            event.acceptProposedAction()  # type: ignore[attr-defined]
        return True


class MainWindow(QMainWindow):
    """The trtgui main window. Pass `settings` (a QSettings) to persist elsewhere (tests)."""

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.qsettings = settings if settings is not None else QSettings()
        self.setWindowTitle("trtgui")
        self.setWindowIcon(_app_icon())
        self.setAcceptDrops(True)
        self.resize(1200, 800)
        self.model_info: Any = None
        self._open_handle: Any = None
        self._show_model_panel = True  # bring the Model panel forward when a model opens
        self._probe_handle: Any = None
        self.backends: list[Any] = []
        self.gpu_report: Any = None
        self._closing = False

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.model_panel = ModelPanel()
        self.build_tab = LazyTab("Build", self._make_build_panel)
        self.engine_tab = LazyTab("Engine", self._make_engine_panel)
        self.inference_tab = LazyTab("Inference", self._make_inference_panel)
        self.tabs.addTab(self.model_panel, "Model")
        self.tabs.addTab(self.build_tab, "Build")
        self.tabs.addTab(self.engine_tab, "Engine")
        self.tabs.addTab(self.inference_tab, "Inference")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.setCentralWidget(self.tabs)
        self.model_panel.open_requested.connect(self.open_dialog)
        self.model_panel.build_requested.connect(self.show_build)

        self.backend_label = QLabel("Checking backends…")
        self.statusBar().addPermanentWidget(self.backend_label)

        self._make_actions()
        self._make_menus()
        self._make_toolbar()
        self._drop_filter = _DropFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._drop_filter)
        self._restore_state()
        self._update_actions()

    # -- actions and menus --------------------------------------------------------------------

    def _action(
        self,
        text: str,
        slot: Callable[..., Any],
        shortcut: QKeySequence | str | QKeySequence.StandardKey | None = None,
        tip: str = "",
        icon: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(
                f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                if shortcut
                else tip
            )
        if icon:
            action.setIcon(toolbar_icon(icon))
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _make_actions(self) -> None:
        A = self._action
        self.act_open = A(
            "&Open…", self.open_dialog, "Ctrl+O", "Open a model, engine or image", "open"
        )
        self.act_open_engine = A(
            "Open &Engine…",
            self.open_engine_dialog,
            "Ctrl+Shift+O",
            "Open a TensorRT engine file",
            "engine",
        )
        self.act_open_image = A(
            "Open &Image…",
            self.open_image_dialog,
            "Ctrl+Shift+M",
            "Open an image to run the model on",
            "image",
        )
        self.act_demo = A(
            "Open &Demo", self.open_demo, "Ctrl+Shift+D", "Open the bundled demo model and images"
        )
        self.act_import = A(
            "&Import Build Settings…",
            self.import_settings_dialog,
            "Ctrl+Shift+I",
            "Load build settings from a JSON file",
        )
        self.act_export = A(
            "E&xport Build Settings…",
            self.export_settings_dialog,
            "Ctrl+Shift+E",
            "Save the build settings as a JSON file",
        )
        self.act_quit = A("&Quit", self.close, "Ctrl+Q", "Quit trtgui")
        self.act_build = A(
            "&Build Engine",
            self.start_build,
            "Ctrl+B",
            "Build a TensorRT engine from the model",
            "build",
        )
        self.act_cancel = A(
            "&Cancel Build", self.cancel_build, "Ctrl+.", "Cancel the running build", "cancel"
        )
        self.act_copy_cmd = A(
            "Copy as &Command Line",
            self.copy_command_line,
            "Ctrl+Shift+C",
            "Copy the equivalent trtgui-cli (and trtexec) command",
        )
        self.act_find_log = A(
            "&Find in Build Log…", self.find_in_log, "Ctrl+F", "Search the build log"
        )
        self.act_view = []
        for i, name in enumerate(("&Model", "&Build", "&Engine", "&Inference")):
            self.act_view.append(
                A(
                    name,
                    lambda checked=False, i=i: self.show_tab(i),
                    f"Ctrl+{i + 1}",
                    f"Show the {name.strip('&')} panel",
                )
            )
        self.act_about = A(
            "&About trtgui", self.show_about, "F1", "Versions of trtgui and every component"
        )
        self.theme_group = QActionGroup(self)
        self.act_theme: dict[str, QAction] = {}
        for mode, label, key in (
            ("system", "Follow &System", "Ctrl+Shift+0"),
            ("light", "&Light", "Ctrl+Shift+L"),
            ("dark", "&Dark", "Ctrl+Shift+K"),
        ):
            act = A(
                label,
                lambda checked=False, m=mode: self.set_theme(m),
                key,
                f"Use the {mode} colour scheme",
            )
            act.setCheckable(True)
            self.theme_group.addAction(act)
            self.act_theme[mode] = act

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_open)
        file_menu.addAction(self.act_open_engine)
        file_menu.addAction(self.act_open_image)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        file_menu.addAction(self.act_demo)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        build_menu = bar.addMenu("&Build")
        build_menu.addAction(self.act_build)
        build_menu.addAction(self.act_cancel)
        build_menu.addSeparator()
        build_menu.addAction(self.act_find_log)
        build_menu.addSeparator()
        build_menu.addAction(self.act_copy_cmd)
        build_menu.addAction(self.act_import)
        build_menu.addAction(self.act_export)
        view_menu = bar.addMenu("&View")
        for act in self.act_view:
            view_menu.addAction(act)
        view_menu.addSeparator()
        theme_menu = view_menu.addMenu("&Theme")
        for act in self.act_theme.values():
            theme_menu.addAction(act)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_about)

    def _make_toolbar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for act in (self.act_open, self.act_open_engine, self.act_open_image):
            tb.addAction(act)
        tb.addSeparator()
        tb.addAction(self.act_build)
        tb.addAction(self.act_cancel)
        self.addToolBar(tb)
        self.toolbar = tb

    def _update_actions(self) -> None:
        building = self.is_building()
        has_model = self.model_info is not None
        self.act_build.setEnabled(has_model and not building)
        self.act_cancel.setEnabled(building)
        self.act_copy_cmd.setEnabled(has_model)
        self.act_export.setEnabled(has_model)

    # -- panels -------------------------------------------------------------------------------

    def _make_build_panel(self) -> QWidget:
        from trtgui.gui.build_panel import BuildPanel

        panel = BuildPanel()
        self._restore_splitter("build", panel.splitter)
        panel.busy_changed.connect(self._build_busy_changed)
        panel.build_succeeded.connect(self._build_succeeded)
        panel.show_engine_requested.connect(lambda: self.show_tab(2))
        last = self.qsettings.value("build/last_settings", "", type=str)
        if last:
            try:
                panel.restore_options_json(str(last))
            except TrtGuiError as exc:
                log.warning("ignoring saved build settings: %s", exc)
        if self.backends:
            panel.set_backends(self.backends, self.gpu_report)
        if self.model_info is not None:
            panel.set_model(self.model_info)
        return panel

    def _make_engine_panel(self) -> QWidget:
        from trtgui.gui.engine_panel import EnginePanel

        panel = EnginePanel()
        if hasattr(panel, "run_on_image_requested"):
            panel.run_on_image_requested.connect(self._run_engine_on_image)
        if hasattr(panel, "open_engine_requested"):
            panel.open_engine_requested.connect(self._engine_opened_in_panel)
        return panel

    def _make_inference_panel(self) -> QWidget:
        from trtgui.gui.inference_panel import InferencePanel

        panel = InferencePanel()
        if hasattr(panel, "open_model_requested"):
            panel.open_model_requested.connect(self.open_dialog)
        if hasattr(panel, "image_loaded"):
            panel.image_loaded.connect(self._image_loaded)
        if self.model_info is not None and hasattr(panel, "set_model"):
            panel.set_model(self.model_info.path, model_info=self.model_info)
        return panel

    @Slot(str)
    def _image_loaded(self, path: str) -> None:
        self.add_recent("images", Path(path))
        self._remember_folder(Path(path))

    def build_panel(self) -> Any:
        return self.build_tab.ensure()

    def engine_panel(self) -> Any:
        return self.engine_tab.ensure()

    def inference_panel(self) -> Any:
        return self.inference_tab.ensure()

    def _tab_changed(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if isinstance(widget, LazyTab):
            widget.ensure()

    def show_tab(self, index: int) -> None:
        self.tabs.setCurrentIndex(index)

    def show_build(self) -> None:
        self.show_tab(1)

    # -- opening files ------------------------------------------------------------------------

    def dropped_paths(self, mime: Any) -> list[Path]:
        if mime is None or not mime.hasUrls():
            return []
        paths = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
        return [p for p in paths if kind_of(p) is not None]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.dropped_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self.dropped_paths(event.mimeData())
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
        self._remember_folder(path)
        self.statusBar().showMessage(f"Opening {path.name}…")
        self._open_handle = start_worker(
            inspect_job(str(path)),
            name=f"inspect {path.name}",
            on_succeeded=self._model_opened,
            on_failed=self._open_failed,
        )

    @Slot(object)
    def _model_opened(self, info: Any) -> None:
        self.model_info = info
        self.model_panel.set_model(info)
        self.add_recent("models", info.path)
        self.setWindowTitle(f"{info.path.name} — trtgui")
        self.statusBar().showMessage(f"Opened {info.path}", 5000)
        if self.build_tab.panel is not None:
            self.build_tab.panel.set_model(info)  # type: ignore[attr-defined]
        inference = self.inference_tab.panel
        if (
            inference is not None
            and hasattr(inference, "set_model")
            and not getattr(inference, "is_busy", lambda: False)()
        ):
            inference.set_model(info.path, model_info=info)
        if self._show_model_panel and self.tabs.currentIndex() not in (0, 1):
            self.show_tab(0)
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
        self._remember_folder(path)
        panel = self.engine_panel()
        self.add_recent("engines", path)
        self.show_tab(2)
        if panel is not None:
            panel.open_engine(path)

    def _engine_opened_in_panel(self, path: str) -> None:
        self.add_recent("engines", Path(path))

    def open_image(self, path: str | Path) -> None:
        path = Path(path)
        if not path.exists():
            self._missing(path, "images")
            return
        self._remember_folder(path)
        panel = self.inference_panel()
        self.add_recent("images", path)
        self.show_tab(3)
        if panel is not None:
            for name in ("open_image", "set_image", "load_image"):
                if hasattr(panel, name):
                    getattr(panel, name)(path)
                    break

    def _run_engine_on_image(self, engine_path: str) -> None:
        panel = self.inference_panel()
        self.show_tab(3)
        if panel is not None and hasattr(panel, "set_model_path"):
            panel.set_model_path(engine_path)

    def open_demo(self, folder: str | Path | None = None) -> None:
        """Open the bundled demo: its model, the engine `trtgui-cli demo` built (when there is
        one), then its first image in the Inference panel."""
        import json

        from trtgui.core.resources import resource_path

        demo_dir = Path(folder) if folder else resource_path("demo")
        manifest = demo_dir / "demo.json"
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            show_error(
                self,
                TrtGuiError(
                    "The demo is not available in this installation.", details=f"{manifest}: {exc}"
                ),
            )
            return
        model = data.get("model")
        if model:
            self.open_model(demo_dir / model, show_panel=False)
        from trtgui.core.paths import demo_engine_path

        # The engine `trtgui-cli demo` built (README: `trtgui-cli demo && trtgui --demo`).
        if folder is None and demo_engine_path().is_file():
            self.open_engine(demo_engine_path())
        panel = self.inference_panel()
        # The demo shows its point at once: a result on a photo, without a click.
        if panel is not None and panel.open_demo(demo_dir):
            self.show_tab(3)
            panel.run()

    def _missing(self, path: Path, kind: str) -> None:
        self.remove_recent(kind, path)
        show_error(
            self,
            TrtGuiError(
                f"{path} does not exist: it may have been moved or deleted.",
            ),
        )

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

    # -- build --------------------------------------------------------------------------------

    def is_building(self) -> bool:
        panel = self.build_tab.panel
        return bool(panel is not None and panel.is_building())  # type: ignore[attr-defined]

    def start_build(self) -> None:
        if self.model_info is None:
            show_error(self, TrtGuiError("Open an ONNX model first (File > Open, Ctrl+O)."))
            return
        panel = self.build_panel()
        self.show_build()
        if panel is not None:
            panel.start_build()

    def find_in_log(self) -> None:
        panel = self.build_panel()
        self.show_build()
        if panel is not None:
            panel.right_tabs.setCurrentIndex(0)
            panel.log_view.search.setFocus()
            panel.log_view.search.selectAll()

    def cancel_build(self) -> None:
        panel = self.build_tab.panel
        if panel is not None:
            panel.cancel_build()  # type: ignore[attr-defined]

    @Slot(bool)
    def _build_busy_changed(self, busy: bool) -> None:
        self._update_actions()
        if busy:
            self._save_build_settings()

    @Slot(object)
    def _build_succeeded(self, result: Any) -> None:
        self.add_recent("engines", Path(result.engine_path))
        panel = self.engine_tab.ensure()
        if panel is not None and hasattr(panel, "show_build_result"):
            panel.show_build_result(result)

    def current_build_settings(self) -> Any:
        panel = self.build_panel()
        return panel.settings() if panel is not None else None

    def copy_command_line(self) -> str:
        panel = self.build_panel()
        return panel.copy_command_line() if panel is not None else ""

    def import_settings(self, path: str | Path) -> None:
        from trtgui.core.build.settings import BuildSettings

        try:
            settings = BuildSettings.load(path)
        except TrtGuiError as exc:
            show_error(self, exc)
            return
        self._remember_folder(Path(path))
        panel = self.build_panel()
        if panel is None:
            return
        if (
            settings.onnx_path
            and (self.model_info is None or Path(settings.onnx_path) != Path(self.model_info.path))
            and Path(settings.onnx_path).is_file()
        ):
            panel.set_pending_settings(settings)
            self.open_model(settings.onnx_path)
        else:
            panel.set_settings(settings)
        self.show_build()
        self.statusBar().showMessage(f"Build settings loaded from {path}", 5000)

    def export_settings(self, path: str | Path) -> None:
        settings = self.current_build_settings()
        if settings is None:
            return
        try:
            settings.save(path)
        except OSError as exc:
            show_error(self, TrtGuiError(f"Cannot write {path}: {exc}", details=repr(exc)))
            return
        self._remember_folder(Path(path))
        self.statusBar().showMessage(f"Build settings saved to {path}", 5000)

    def import_settings_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import build settings", self.last_folder(), "Build settings (*.json)"
        )
        if path:
            self.import_settings(path)

    def export_settings_dialog(self) -> None:
        start = self.last_folder()
        if self.model_info is not None:
            start = str(Path(self.model_info.path).with_suffix(".build.json"))
        path, _ = QFileDialog.getSaveFileName(
            self, "Export build settings", start, "Build settings (*.json)"
        )
        if path:
            self.export_settings(path)

    # -- backends -----------------------------------------------------------------------------

    def probe_backends(self) -> None:
        """Find TensorRT / TensorRT-RTX and GPUs in a worker (imports are slow)."""
        from trtgui.gui.workers import call_job, start_worker

        def probe() -> tuple[list[Any], Any]:
            from trtgui.core.backends import available_backends, gpu_report

            return available_backends(), gpu_report()

        self._probe_handle = start_worker(
            call_job(probe),
            name="probe backends",
            on_succeeded=self._backends_probed,
            on_failed=self._open_failed,
        )

    @Slot(object)
    def _backends_probed(self, outcome: tuple[list[Any], Any]) -> None:
        self.backends, self.gpu_report = outcome
        parts = []
        for info in self.backends:
            if info.available:
                parts.append(f"{info.title} {info.version} ✓")
            else:
                parts.append(f"{info.title} ✗")
        gpu = self.gpu_report
        if gpu is not None and gpu.has_gpu:
            g = gpu.gpus[0]
            parts.append(f"GPU: {g.name} (sm {g.compute_capability_str})")
        else:
            parts.append("no GPU")
        self.backend_label.setText("  ·  ".join(parts))
        tips = [f"{i.title}: {i.reason or 'available'}" for i in self.backends]
        if gpu is not None and gpu.reason:
            tips.append(f"GPU: {gpu.reason}")
        self.backend_label.setToolTip("\n".join(tips))
        if self.build_tab.panel is not None:
            self.build_tab.panel.set_backends(self.backends, self.gpu_report)  # type: ignore[attr-defined]

    # -- theme and About ----------------------------------------------------------------------

    def set_theme(self, mode: str) -> None:
        from trtgui.gui.style import apply_theme

        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, mode)
        if mode in self.act_theme:
            self.act_theme[mode].setChecked(True)
        self.qsettings.setValue("view/theme", mode)

    def about_text(self) -> str:
        from trtgui.gui.about import about_report

        return about_report()

    def show_about(self) -> Any:
        from trtgui.gui.about import AboutDialog

        dialog = AboutDialog(self)
        dialog.open()
        self.about_dialog = dialog
        return dialog

    # -- recent files and folders -------------------------------------------------------------

    def recent(self, kind: str) -> list[str]:
        value: Any = self.qsettings.value(f"recent/{kind}", [], type=list)
        return [str(v) for v in (value or []) if v]

    def add_recent(self, kind: str, path: str | Path) -> None:
        text = str(Path(path).resolve())
        items = [text] + [p for p in self.recent(kind) if p != text]
        self.qsettings.setValue(f"recent/{kind}", items[:MAX_RECENT])
        self._fill_recent_menu()

    def remove_recent(self, kind: str, path: str | Path) -> None:
        text = str(Path(path).resolve())
        items = [p for p in self.recent(kind) if p != text and p != str(path)]
        self.qsettings.setValue(f"recent/{kind}", items)
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        menu: QMenu = self.recent_menu
        menu.clear()
        any_item = False
        for kind, title in zip(RECENT_KINDS, ("Models", "Engines", "Images"), strict=True):
            items = self.recent(kind)
            if not items:
                continue
            menu.addSection(title)
            for i, path in enumerate(items):
                act = menu.addAction(f"{Path(path).name}   —   {Path(path).parent}")
                act.setData(path)
                act.triggered.connect(lambda checked=False, p=path: self.open_path(p))
                if i >= MAX_RECENT:
                    break
            any_item = True
        if any_item:
            menu.addSeparator()
            menu.addAction("Clear Recent Files", self.clear_recent)
        else:
            act = menu.addAction("No recent files")
            act.setEnabled(False)

    def clear_recent(self) -> None:
        for kind in RECENT_KINDS:
            self.qsettings.remove(f"recent/{kind}")
        self._fill_recent_menu()

    def last_folder(self) -> str:
        return str(self.qsettings.value("folders/last", "", type=str) or Path.home())

    def _remember_folder(self, path: Path) -> None:
        folder = path if path.is_dir() else path.parent
        self.qsettings.setValue("folders/last", str(folder.resolve()))

    # -- persistence and shutdown -------------------------------------------------------------

    def _restore_state(self) -> None:
        geometry = self.qsettings.value("window/geometry", None)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = self.qsettings.value("window/state", None)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        self._restore_splitter("model", self.model_panel.splitter)
        tab = int(self.qsettings.value("window/tab", 0, type=int))  # type: ignore[call-overload]
        if 0 <= tab < self.tabs.count():
            self.tabs.setCurrentIndex(tab)
        theme = str(self.qsettings.value("view/theme", "system", type=str) or "system")
        if theme in self.act_theme:
            self.act_theme[theme].setChecked(True)

    def theme(self) -> str:
        return str(self.qsettings.value("view/theme", "system", type=str) or "system")

    def _save_build_settings(self) -> None:
        panel = self.build_tab.panel
        if panel is not None:
            try:
                self.qsettings.setValue("build/last_settings", panel.settings().to_json())  # type: ignore[attr-defined]
            except TrtGuiError as exc:  # half-edited profiles: keep the previous settings
                log.debug("build settings not saved: %s", exc)

    def _splitters(self) -> dict[str, Any]:
        found = {"model": self.model_panel.splitter}
        for key, tab in (("build", self.build_tab), ("engine", self.engine_tab)):
            splitter = getattr(tab.panel, "splitter", None)
            if splitter is not None:
                found[key] = splitter
        return found

    def _restore_splitter(self, key: str, splitter: Any) -> None:
        state = self.qsettings.value(f"window/splitter_{key}", None)
        if isinstance(state, QByteArray) and not state.isEmpty():
            splitter.restoreState(state)

    def save_state(self) -> None:
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.qsettings.setValue("window/state", self.saveState())
        for key, splitter in self._splitters().items():
            self.qsettings.setValue(f"window/splitter_{key}", splitter.saveState())
        self.qsettings.setValue("window/tab", self.tabs.currentIndex())
        self._save_build_settings()
        self.qsettings.sync()

    def shutdown(self, timeout_ms: int = 60000) -> None:
        """Cancel the build and wait for every worker thread of this window."""
        from trtgui.gui.workers import stop_all

        panel = self.build_tab.panel
        if panel is not None:
            panel.shutdown(timeout_ms)  # type: ignore[attr-defined]
        for tab in (self.engine_tab, self.inference_tab):
            if tab.panel is not None and hasattr(tab.panel, "wait"):
                tab.panel.wait(timeout_ms)
        stuck = stop_all(timeout_ms)
        if stuck:
            log.error("%d worker thread(s) did not stop", len(stuck))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing:
            self._closing = True
            if self.is_building():
                self.cancel_build()  # the Build panel says "Cancelling…" at once
                self.statusBar().showMessage("Cancelling the build…")
                self.repaint()  # painted now: shutdown() blocks until TensorRT has stopped
            self.save_state()
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self.shutdown()
            finally:
                QApplication.restoreOverrideCursor()
            app = QApplication.instance()
            if app is not None:
                app.removeEventFilter(self._drop_filter)
        event.accept()


def _app_icon() -> QIcon:
    from trtgui.core.resources import resource_path

    svg = resource_path("icons", "trtgui.svg")
    icon = QIcon()
    if svg.is_file():
        icon.addFile(str(svg))
    png_dir = resource_path("icons", "png")
    if png_dir.is_dir():
        for png in sorted(png_dir.glob("trtgui-*.png")):
            icon.addFile(str(png))
    return icon
