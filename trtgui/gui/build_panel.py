"""The Build panel: choose how to build, build in a child process, watch it, see the result.

The settings form (`BuildForm`, with the shape-profile editor) on the left with Build /
Cancel / Copy command; on the right the build's status rows (`BuildStatus`: phase, step,
elapsed time, progress bar), the log view and the result (`BuildResultView`). What is checked
before a build starts is `build_preflight`'s. Errors go through the error funnel.

The build itself runs in a child process (`trtgui.gui.build_process`, the build event
protocol of `trtgui-cli build --events`); this panel never calls TensorRT, and a TensorRT
crash ends the child, not the window. How much of TensorRT's log a build records is the log
view's severity chooser (one control for what is recorded and shown). An existing engine file
is replaced only after the user says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from trtgui.core.backends import BackendInfo
from trtgui.core.build.accuracy_record import ConversionRejected
from trtgui.core.build.events import BuildRequest
from trtgui.core.build.progress import ProgressEvent
from trtgui.core.build.result import BuildResult
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import OutputPathError, TrtGuiError
from trtgui.core.model.profiles import Precision
from trtgui.gui import build_process
from trtgui.gui.build_form import BuildForm
from trtgui.gui.build_preflight import confirm_replace, settings_to_build
from trtgui.gui.build_process import BuildProcess
from trtgui.gui.build_result_view import BuildResultView
from trtgui.gui.build_status import BuildStatus
from trtgui.gui.errors import show_error
from trtgui.gui.log_view import LogView

if TYPE_CHECKING:  # onnx loads with the model, not with the panel
    from collections.abc import Callable

    from trtgui.core.imaging import PreprocessSpec
    from trtgui.core.model.onnx_model import ModelInfo

log = logging.getLogger("trtgui.gui")

RESULT_TAB = 1
# The window's close waits at most this long for the build's child, killed after its grace
# period (0.3 s): with the window's 1 s for its threads, within the 2 s close promise.
CLOSE_WAIT_MS = 900


class BuildPanel(QWidget):
    """Settings → build in a child process → progress, log, result.

    Signals: busy_changed(bool), build_succeeded(BuildResult), build_failed(exception),
    build_cancelled(), build_finished() (always last).
    """

    busy_changed = Signal(bool)
    build_succeeded = Signal(object)
    build_failed = Signal(object)
    build_cancelled = Signal()
    build_finished = Signal()
    show_engine_requested = Signal()  # "Open in the Engine panel" after a build

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: BuildResult | None = None
        # The last build's child client, kept until the next build (it owns the QProcess
        # whose `finished` it relays: dropping it inside that signal would delete the sender).
        self._process: BuildProcess | None = None
        self._shut_down = False
        self._pending: BuildSettings | None = None
        # INT8 calibration preprocessing for a model (the Inference panel's form when it shows
        # the same model; set by the main window), or None: the guess from the model.
        self.calibration_spec: Callable[[Path], PreprocessSpec | None] | None = None
        self._last_event: ProgressEvent | None = None
        self._cancelling = False
        self._succeeded = False
        self.steps_seen = 0

        self.form = BuildForm()
        self.form.changed.connect(self._update_state)

        self.build_button = QPushButton("Build engine")
        self.build_button.setDefault(True)
        self.build_button.setToolTip("Build the engine (Ctrl+B)")
        self.build_button.clicked.connect(self.start_build)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the build; nothing is written (Ctrl+.)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_build)
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy command")
        self.copy_button.setToolTip(
            "Copy the equivalent trtgui-cli (and trtexec) command line (Ctrl+Shift+C)"
        )
        self.copy_button.clicked.connect(self.copy_command_line)
        buttons = QHBoxLayout()
        buttons.addWidget(self.build_button, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.copy_button)

        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(430)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(scroll, 1)
        left_layout.addLayout(buttons)

        # -- right: status, log, result
        self.status = BuildStatus()
        self.phase_label = self.status.phase_label  # what the user reads (tests, the window)
        self.elapsed_label = self.status.elapsed_label
        self.progress = self.status.progress
        self.log_view = LogView()
        self.result_view = BuildResultView()
        self.result_view.show_engine_requested.connect(self.show_engine_requested)

        self.right_tabs = QTabWidget()
        self.right_tabs.addTab(self.log_view, "Log")
        self.right_tabs.addTab(self.result_view, "Result")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.status)
        right_layout.addWidget(self.right_tabs, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._update_state()

    # -- model, backends, settings ------------------------------------------------------------

    @property
    def model_info(self) -> ModelInfo | None:
        return self.form.model_info

    def set_model(self, info: ModelInfo) -> None:
        """Use `info`: default output path and the suggested profiles; a new model clears
        the last build's display."""
        current = self.form.model_info
        same = current is not None and Path(current.path) == Path(info.path)
        self.form.set_model(info, same=same)
        if not same and not self.is_building():
            self.clear_build_display()  # status, log and result were the last model's
        pending, self._pending = self._pending, None
        if pending is not None and Path(pending.onnx_path) == Path(info.path):
            self.set_settings(pending)
        self._update_state()

    def set_backends(self, infos: Sequence[BackendInfo]) -> None:
        """Enable what the installed backends can do (from `backends.available_backends()`)."""
        self.form.set_backends(infos)

    def settings(self) -> BuildSettings:
        """The settings the widgets describe. Raises ProfileError/SettingsError when invalid.
        INT8 calibrates with the preprocessing the Inference panel shows for the same model,
        so what was checked by eye there is what calibration sees."""
        settings = self.form.settings()
        if (
            settings.precision is Precision.INT8
            and settings.preprocess is None
            and self.calibration_spec is not None
            and settings.onnx_path
        ):
            spec = self.calibration_spec(Path(settings.onnx_path))
            if spec is not None:
                settings = settings.with_changes(preprocess=spec)
        return settings

    def set_settings(self, settings: BuildSettings, *, with_paths: bool = True) -> None:
        """Show `settings` in the widgets (profiles only when it has some)."""
        self.form.set_settings(settings, with_paths=with_paths)

    def set_pending_settings(self, settings: BuildSettings) -> None:
        """Apply `settings` in full once its model has been opened."""
        self._pending = settings

    def restore_options_json(self, text: str) -> None:
        """Restore the remembered options (not the model, output or profiles)."""
        self.set_settings(BuildSettings.from_json(text), with_paths=False)

    def show_advanced(self, on: bool) -> None:
        self.form.show_advanced(on)

    def set_log_level(self, level: int) -> None:
        """How much of TensorRT's log the next build records and the log view shows (the log
        view's severity chooser; trt_log.VERBOSE = everything)."""
        self.log_view.set_min_level(level)

    def clear_build_display(self) -> None:
        """Forget the last build: status, elapsed time, progress, log and result."""
        self.result = None
        self._last_event = None
        self.steps_seen = 0
        self.status.clear()
        self.log_view.clear()
        self.result_view.clear()
        self.right_tabs.setCurrentIndex(0)

    # -- building -----------------------------------------------------------------------------

    def is_building(self) -> bool:
        return self._process is not None and self._process.is_running()

    @property
    def build_process(self) -> BuildProcess | None:
        """The running (or last) build's child-process client."""
        return self._process

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # The first build should not wait for Python and TensorRT to import: start the idle
        # child once the panel is on screen.
        if not self._shut_down:
            QTimer.singleShot(0, self, self._prestart)

    def _prestart(self) -> None:
        if not self._shut_down and not self.is_building():
            build_process.prestart()

    def start_build(self) -> None:
        """Start a build with the current settings (errors go to the funnel)."""
        if self.is_building():
            return
        try:
            settings = settings_to_build(self.form.model_info, self.settings)
        except OutputPathError as exc:
            self.status.say("Not built: choose another engine file.")
            show_error(self, exc)
            return
        except TrtGuiError as exc:
            show_error(self, exc)
            return
        engine = Path(settings.output_path)
        if engine.is_file() and not confirm_replace(self, engine):
            self.status.say(f"Not built: {engine.name} was kept.")
            return
        self._start(settings, engine)

    def _start(self, settings: BuildSettings, engine: Path) -> None:
        self.result = None
        self.steps_seen = 0
        self._last_event = None
        self._cancelling = False
        self._succeeded = False
        level = self.log_view.min_level()  # the one log control: what is recorded and shown
        self.log_view.sink(logging.INFO, f"Building {engine} …")
        self.status.start()
        self.right_tabs.setCurrentIndex(0)
        # The form's "Build even if the precision check fails" is in the settings (#13).
        request = BuildRequest.of(
            settings, log_level=level, accept_accuracy_loss=settings.accept_accuracy_loss
        )
        process = BuildProcess(request, self.log_view.sink, self)
        process.progress.connect(self._on_progress)
        process.log.connect(self.log_view.sink)
        process.succeeded.connect(self._on_succeeded)
        process.failed.connect(self._on_failed)
        process.cancelled.connect(self._on_cancelled)
        process.finished.connect(self._on_finished)
        old, self._process = self._process, process
        if old is not None:
            old.deleteLater()
        process.start()
        self._update_state()
        self.busy_changed.emit(True)

    def cancel_build(self) -> None:
        """Ask the build to stop; says so at once. The child stops at TensorRT's next
        progress check, or is killed when it has not ended within the grace period."""
        if self._process is not None and self.is_building() and not self._cancelling:
            self._cancelling = True
            self._process.cancel()
            self.cancel_button.setEnabled(False)
            self.status.show_cancelling()

    def wait(self, timeout_ms: int = 60000) -> bool:
        """Block until the build's child has ended (tests); True when it has."""
        process = self._process
        if process is None or not process.is_running() or process.child is None:
            return True
        process.child.process.waitForFinished(timeout_ms)
        return not process.is_running()

    def shutdown(self, timeout_ms: int = CLOSE_WAIT_MS) -> bool:
        """Window close: cancel a running build, wait for its child at most `timeout_ms`
        (killed after the grace period), and end the idle child. True when none is left."""
        self._shut_down = True
        ended = True
        if self._process is not None and self.is_building():
            self.cancel_build()
            ended = self._process.shutdown(timeout_ms)
        build_process.end_all()  # the idle child, and one still exiting
        return ended

    @Slot(object)
    def _on_progress(self, event: ProgressEvent) -> None:
        self._last_event = event
        self.steps_seen += 1
        if not self._cancelling:  # events queued before Cancel was clicked keep "Cancelling…"
            self.status.show_progress(event)

    @Slot(object)
    def _on_succeeded(self, result: BuildResult) -> None:
        self.result = result
        self._succeeded = True
        self.show_result(result)
        self.status.show_built(result)
        self.log_view.sink(
            logging.INFO, f"Built {result.engine_path} in {result.build_seconds:.2f} s"
        )
        self.build_succeeded.emit(result)

    @Slot(object)
    def _on_failed(self, err: BaseException) -> None:
        message = err.message if isinstance(err, TrtGuiError) else str(err)
        self.status.show_failed(message)
        self.log_view.sink(logging.ERROR, f"Build failed: {message}")
        if isinstance(err, ConversionRejected):  # the figures, in the Precision check card
            self.result_view.show_rejected(err.report)
            self.right_tabs.setCurrentIndex(RESULT_TAB)
        show_error(self, err)
        self.build_failed.emit(err)

    @Slot()
    def _on_cancelled(self) -> None:
        self.status.show_cancelled()
        self.log_view.sink(logging.WARNING, "Build cancelled by the user: nothing was written.")
        self.build_cancelled.emit()

    @Slot()
    def _on_finished(self) -> None:
        # build_finished must go out whatever happens here: callers (the main window, tests)
        # wait for it, and would hang on an exception in the panel's own clean-up.
        try:
            self.status.stop_clock()
            self._cancelling = False
            self.log_view.drain()
            if self._succeeded:  # the result, once the build is over (never mid-build)
                self.right_tabs.setCurrentIndex(RESULT_TAB)
            self._update_state()
            if not self._shut_down:  # the next build's child imports while the user looks
                QTimer.singleShot(0, self, self._prestart)
        except Exception as exc:  # shown to the user; the signals below still go out
            show_error(self, exc)
        finally:
            self.busy_changed.emit(False)
            self.build_finished.emit()

    def show_result(self, result: BuildResult) -> None:
        """Show a BuildResult: summary, network I/O tensors and profiles."""
        self.result_view.show_result(result, self.form.model_info)

    def _update_state(self) -> None:
        building = self.is_building()
        self.form.setEnabled(not building)
        problem = self.form.problem
        no_model = self.form.model_info is None
        self.build_button.setEnabled(not no_model and not problem and not building)
        self.build_button.setToolTip(
            problem or ("Open a model first" if no_model else "Build the engine (Ctrl+B)")
        )
        self.cancel_button.setEnabled(building)

    def command_line(self) -> str:
        """The `trtgui-cli build …` (and trtexec) text for the current settings."""
        from trtgui.gui.commands import command_text

        return command_text(self.settings())

    def copy_command_line(self) -> str:
        try:
            text = self.command_line()
        except TrtGuiError as exc:
            show_error(self, exc)
            return ""
        QApplication.clipboard().setText(text)
        window = self.window()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage("Command line copied to the clipboard", 5000)
        return text
