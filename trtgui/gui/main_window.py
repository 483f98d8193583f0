"""The main window: tabs for the Model, Build, Engine and Inference panels, and the routing
between them.

It sends a model to the Build and Inference panels and a build result to the Engine panel,
and owns the lifetime of their workers: closing the window cancels a running build and waits
for every thread. Panels other than Model are created on first use so the window shows before
heavy modules load; their modules are imported in the background meanwhile (`warm_up`).

Beside it: `window_open` (its base class: opening files by their kind, drops included),
`window_actions` (actions, menus, toolbar), `window_state` (QSettings), `settings_io` (import
and export of build settings), `panel` (how panels are held).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, QThread, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import QApplication, QLabel, QTabWidget

from trtgui.core.errors import TrtGuiError
from trtgui.gui import settings_io
from trtgui.gui.about import AboutDialog
from trtgui.gui.errors import show_error
from trtgui.gui.model_panel import ModelPanel
from trtgui.gui.open_files import DropFilter
from trtgui.gui.panel import LazyTab
from trtgui.gui.warm_up import WarmUp
from trtgui.gui.window_actions import WindowActions, app_icon
from trtgui.gui.window_open import BUILD_TAB, ENGINE_TAB, FileOpening
from trtgui.gui.window_state import RecentKind, WindowState

if TYPE_CHECKING:
    from trtgui.core.build.builder import BuildResult
    from trtgui.core.doctor import BackendStatus
    from trtgui.core.imaging import PreprocessSpec
    from trtgui.core.model.onnx_model import ModelInfo
    from trtgui.gui.build_panel import BuildPanel
    from trtgui.gui.engine_panel import EnginePanel
    from trtgui.gui.inference_panel import InferencePanel
    from trtgui.gui.workers import WorkerHandle

log = logging.getLogger("trtgui.gui")

# How long closing the window waits for workers to stop after asking them to: the window
# must be gone within 2 s even with a worker stuck (app.main then exits without it). Leaves
# room for a worker holding the GIL in C (TensorRT's import: ~0.5 s) to delay the wake-up.
CLOSE_WAIT_MS = 1000
# After the first show, the panels' modules are imported in the background (`warm_up`), once
# the window has painted.
WARM_UP_DELAY_MS = 100


class MainWindow(FileOpening):
    """The trtgui main window. Pass `settings` (a QSettings) to persist elsewhere (tests)."""

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.state = WindowState(settings if settings is not None else QSettings())
        self.setWindowTitle("trtgui")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.resize(1200, 800)
        self.model_info: ModelInfo | None = None
        self._open_handle: WorkerHandle | None = None
        self._show_model_panel = True  # bring the Model panel forward when a model opens
        self._probe_handle: WorkerHandle | None = None
        self.backend_status: BackendStatus | None = None
        self.about_dialog: AboutDialog | None = None
        self._demo_handle: WorkerHandle | None = None
        self._demo_folder: Path | None = None
        self._import_handle: WorkerHandle | None = None
        self._closing = False
        self.warm_up = WarmUp()

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.model_panel = ModelPanel()
        self.build_tab: LazyTab[BuildPanel] = LazyTab("Build", self._make_build_panel)
        self.engine_tab: LazyTab[EnginePanel] = LazyTab("Engine", self._make_engine_panel)
        self.inference_tab: LazyTab[InferencePanel] = LazyTab(
            "Inference", self._make_inference_panel
        )
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

        self.menu_actions = WindowActions(self)
        self.recent_menu = self.menu_actions.recent_menu
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        self._drop_filter = DropFilter(self, self.open_paths)  # watches once shown
        self._restore_state()
        self._update_actions()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._drop_filter.watch()
        if not self._closing:
            QTimer.singleShot(WARM_UP_DELAY_MS, self.warm_up.start)  # once: start() ignores more

    def _update_actions(self) -> None:
        self.menu_actions.update(has_model=self.model_info is not None, building=self.is_building())

    # -- panels -------------------------------------------------------------------------------

    def _make_build_panel(self) -> BuildPanel:
        from trtgui.gui.build_panel import BuildPanel

        panel = BuildPanel()
        self.state.restore_splitter("build", panel.splitter)
        panel.busy_changed.connect(self._build_busy_changed)
        panel.build_succeeded.connect(self._build_succeeded)
        panel.show_engine_requested.connect(lambda: self.show_tab(ENGINE_TAB))
        panel.calibration_spec = self._inference_spec_for
        last = self.state.build_settings_json()
        if last:
            try:
                panel.restore_options_json(last)
            except TrtGuiError as exc:
                log.warning("ignoring saved build settings: %s", exc)
        if self.backend_status is not None:
            panel.set_backends(list(self.backend_status.backends))
        if self.model_info is not None:
            panel.set_model(self.model_info)
        return panel

    def _make_engine_panel(self) -> EnginePanel:
        from trtgui.gui.engine_panel import EnginePanel

        panel = EnginePanel()
        panel.run_on_image_requested.connect(self._run_engine_on_image)
        panel.open_engine_requested.connect(self._engine_opened_in_panel)
        return panel

    def _make_inference_panel(self) -> InferencePanel:
        from trtgui.gui.inference_panel import InferencePanel

        panel = InferencePanel()
        panel.open_model_requested.connect(self.open_dialog)
        panel.image_loaded.connect(self._image_loaded)
        if self.model_info is not None:
            panel.set_model(self.model_info.path, model_info=self.model_info)
        return panel

    @Slot(str)
    def _image_loaded(self, path: str) -> None:
        self.add_recent("images", Path(path))
        self.state.remember_folder(Path(path))

    def _inference_spec_for(self, model: Path) -> PreprocessSpec | None:
        """The Inference panel's preprocessing when it is open on `model` (INT8 calibration
        then uses what the user checked there); None: the build guesses from the model."""
        panel = self.inference_tab.panel  # not created for this: no panel, no choice made
        if panel is None or panel.model_path() is None:
            return None
        if Path(panel.model_path() or "").resolve() != model.resolve():
            return None
        return panel.spec()

    def build_panel(self) -> BuildPanel | None:
        return self.build_tab.ensure()

    def engine_panel(self) -> EnginePanel | None:
        return self.engine_tab.ensure()

    def inference_panel(self) -> InferencePanel | None:
        return self.inference_tab.ensure()

    def _tab_changed(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if isinstance(widget, LazyTab):
            widget.ensure()

    def show_tab(self, index: int) -> None:
        self.tabs.setCurrentIndex(index)

    def show_build(self) -> None:
        self.show_tab(BUILD_TAB)

    # -- build --------------------------------------------------------------------------------

    def is_building(self) -> bool:
        panel = self.build_tab.panel
        return panel is not None and panel.is_building()

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
            panel.cancel_build()

    @Slot(bool)
    def _build_busy_changed(self, busy: bool) -> None:
        self._update_actions()
        if busy:
            self._save_build_settings()

    @Slot(object)
    def _build_succeeded(self, result: BuildResult) -> None:
        self.add_recent("engines", Path(result.engine_path))
        panel = self.engine_tab.ensure()
        if panel is not None:
            panel.show_build_result(result)

    def copy_command_line(self) -> str:
        panel = self.build_panel()
        return panel.copy_command_line() if panel is not None else ""

    def import_settings(self, path: str | Path) -> None:
        """Read a build settings file in a worker, then show it in the Build panel."""
        self._import_handle = settings_io.import_settings(self, path)

    def export_settings(self, path: str | Path) -> None:
        settings_io.export_settings(self, path)

    # -- backends, theme and About ------------------------------------------------------------

    def probe_backends(self) -> None:
        """Find TensorRT / TensorRT-RTX and GPUs in a worker (imports are slow)."""
        from trtgui.core.doctor import backend_status
        from trtgui.gui.workers import call_job, start_worker

        self._probe_handle = start_worker(
            call_job(backend_status),
            name="probe backends",
            on_succeeded=self._backends_probed,
            on_failed=self._open_failed,
        )

    @Slot(object)
    def _backends_probed(self, status: BackendStatus) -> None:
        self.backend_status = status
        self.backend_label.setText(status.summary())
        self.backend_label.setToolTip(status.details())
        if self.build_tab.panel is not None:
            self.build_tab.panel.set_backends(list(status.backends))

    def set_theme(self, mode: str) -> None:
        from trtgui.gui.style import apply_theme

        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, mode)
        if mode in self.menu_actions.theme:
            self.menu_actions.theme[mode].setChecked(True)
        self.state.set_theme(mode)

    def theme(self) -> str:
        return self.state.theme()

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self)
        dialog.open()
        self.about_dialog = dialog
        return dialog

    # -- recent files and folders -------------------------------------------------------------

    def recent(self, kind: RecentKind) -> list[str]:
        return self.state.recent(kind)

    def add_recent(self, kind: RecentKind, path: str | Path) -> None:
        self.state.add_recent(kind, path)
        self._fill_recent_menu()

    def clear_recent(self) -> None:
        self.state.clear_recent()
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.menu_actions.fill_recent_menu(self.state, self.open_path, self.clear_recent)

    def last_folder(self) -> str:
        return self.state.last_folder()

    # -- persistence and shutdown -------------------------------------------------------------

    def _restore_state(self) -> None:
        self.state.restore_window(self)
        self.state.restore_splitter("model", self.model_panel.splitter)
        tab = self.state.tab()
        if 0 <= tab < self.tabs.count():
            self.tabs.setCurrentIndex(tab)
        self.menu_actions.theme[self.state.theme()].setChecked(True)

    def _save_build_settings(self) -> None:
        panel = self.build_tab.panel
        if panel is not None:
            try:
                self.state.set_build_settings_json(panel.settings().to_json())
            except TrtGuiError as exc:  # half-edited profiles: keep the previous settings
                log.debug("build settings not saved: %s", exc)

    def save_state(self) -> None:
        self.state.save_window(self)
        self.state.save_splitter("model", self.model_panel.splitter)
        if self.build_tab.panel is not None:
            self.state.save_splitter("build", self.build_tab.panel.splitter)
        self.state.set_tab(self.tabs.currentIndex())
        self._save_build_settings()
        self.state.sync()

    def has_closed(self) -> bool:
        """Whether the window was closed (and so saved its state and stopped its workers)."""
        return self._closing

    def shutdown(self, timeout_ms: int | None = None) -> list[QThread]:
        """Cancel the build and every worker, and wait for their threads, `timeout_ms` in
        all; returns the threads still running then (stuck in a call that cannot be
        interrupted: TensorRT, a read in the kernel), for `app.main` to leave without them."""
        from trtgui.gui.workers import stop_all

        self.warm_up.stop()
        if self.build_tab.panel is not None:
            self.build_tab.panel.shutdown()  # cancels; its child is gone within ~0.3 s
        inference = self.inference_tab.panel
        if inference is not None:
            inference.cancel()
        # Cancels every worker, then waits for all of them together.
        stuck = stop_all(CLOSE_WAIT_MS if timeout_ms is None else timeout_ms)
        if stuck:
            names = ", ".join(t.objectName() for t in stuck)
            log.error("%d worker thread(s) did not stop: %s", len(stuck), names)
        return stuck

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing:
            self._closing = True
            if self.is_building():
                self.cancel_build()  # the Build panel says "Cancelling…" at once
                self.statusBar().showMessage("Cancelling the build…")
                self.repaint()  # painted now: shutdown() waits for TensorRT to stop
            self.save_state()  # first: whatever happens to the threads, the settings are kept
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self.shutdown()
            finally:
                QApplication.restoreOverrideCursor()
        event.accept()
