"""The Build panel: choose how to build, build in a worker thread, watch it, see the result.

Backend and precision (options the backend lacks are disabled with a tooltip saying why), a
shape-profile editor pre-filled with `suggest_profiles` and validated live with
`validate_profiles`, INT8 calibration folder, advanced options, output path; Build / Cancel;
a progress bar with the current phase, step and elapsed time; the log view; after success the
result with the network's I/O tensors and profiles. Errors go through the error funnel.

The build itself is `trtgui.gui.workers.build_job` in a QThread; this panel never calls
TensorRT. How much of TensorRT's log a build records is the log view's severity chooser (one
control for what is recorded and shown).

The default engine name carries the precision (model.fp16.engine; model.engine for FP32) and
follows the precision while the user has not chosen another path; an existing engine file is
replaced only after the user says so.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from trtgui.core.backends import backend_title
from trtgui.core.build.settings import BuildSettings, Precision
from trtgui.core.errors import ProfileError, SettingsError, TrtGuiError
from trtgui.gui.errors import show_error
from trtgui.gui.log_view import LogView
from trtgui.gui.model_panel import make_table
from trtgui.gui.table_models import (
    NetworkTensorModel,
    ProfileEditModel,
    ProfileRowsModel,
    format_bytes,
    format_shape,
    model_shapes,
)
from trtgui.gui.widgets import error_html, take_given_width

log = logging.getLogger("trtgui.gui")

PRECISIONS: tuple[tuple[str, str], ...] = (
    ("fp32", "FP32"),
    ("fp16", "FP16 (model converted to half precision)"),
    ("bf16", "BF16 (model converted to bfloat16)"),
    ("int8", "INT8 (explicit Q/DQ, calibrated on images)"),
    ("auto", "TensorRT chooses (weak typing, TensorRT 10)"),
)
BACKENDS: tuple[tuple[str, str], ...] = (
    ("", "Default (best installed)"),
    ("tensorrt", "NVIDIA TensorRT"),
    ("rtx", "TensorRT for RTX"),
)
VERBOSITIES = (("detailed", "Detailed"), ("layer_names_only", "Layer names only"), ("none", "None"))
HW_COMPAT = (
    ("none", "None (this GPU only)"),
    ("ampere_plus", "Ampere and newer"),
    ("same_compute_capability", "Same compute capability"),
)
VERBOSE = 5  # TensorRT's VERBOSE severity as a logging level (trtgui.core.build.trt_log.VERBOSE)


def _set_item_enabled(combo: QComboBox, index: int, enabled: bool, tip: str) -> None:
    model = combo.model()
    if isinstance(model, QStandardItemModel):
        item = model.item(index)
        if item is not None:
            item.setEnabled(enabled)
            item.setToolTip(tip)


def _select_data(combo: QComboBox, value: Any) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


def _size_text(n: int | None) -> str:
    if not n:
        return ""
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def default_output_for(model: Path, precision: Precision | str = Precision.FP32) -> Path:
    """model.engine (FP32) or model.fp16.engine, … beside the model, or in the user's data
    folder when the model's folder is not writable or is the app's own resources (the demo
    inside an installed package)."""
    from trtgui.core.build.settings import default_engine_path
    from trtgui.core.resources import resources_dir

    beside = default_engine_path(model, precision)
    folder = model.resolve().parent
    shipped = folder.is_relative_to(resources_dir().resolve())
    if not shipped and os.access(folder, os.W_OK):
        return beside
    from trtgui.core.paths import engines_dir

    target = engines_dir()
    target.mkdir(parents=True, exist_ok=True)
    return target / beside.name


class BuildPanel(QWidget):
    """Settings → build in a worker → progress, log, result.

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
        self.model_info: Any = None
        self.result: Any = None
        self.backends: dict[str, Any] = {}
        self._handle: Any = None
        self._pending: BuildSettings | None = None
        self._profile_error = ""
        self._validating = False
        self._elapsed = QElapsedTimer()
        self._last_event: Any = None
        self._cancelling = False
        self._succeeded = False
        self._default_output = ""  # the default path last put in output_edit
        self.steps_seen = 0

        # -- model and output
        self.model_label = QLabel("No model: open one in the Model panel.")
        self.model_label.setWordWrap(True)
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.output_edit = QLineEdit()
        self.output_edit.setPlaceholderText("beside the model, named for the precision")
        self.output_browse = QToolButton()
        self.output_browse.setText("…")
        self.output_browse.setToolTip("Choose where to write the engine")
        self.output_browse.clicked.connect(self._browse_output)
        out_row = QHBoxLayout()
        out_row.addWidget(self.output_edit, 1)
        out_row.addWidget(self.output_browse)
        io_box = QGroupBox("Model and engine file")
        io_form = QFormLayout(io_box)
        io_form.addRow("Model:", self.model_label)
        io_form.addRow("Engine:", out_row)

        # -- backend and precision
        self.backend_combo = QComboBox()
        for value, label in BACKENDS:
            self.backend_combo.addItem(label, value)
        self.backend_combo.currentIndexChanged.connect(self._backend_changed)
        self.precision_combo = QComboBox()
        for value, label in PRECISIONS:
            self.precision_combo.addItem(label, value)
        self.precision_combo.currentIndexChanged.connect(self._precision_changed)
        self.backend_note = QLabel()
        self.backend_note.setWordWrap(True)
        note_font = self.backend_note.font()
        note_font.setItalic(True)
        self.backend_note.setFont(note_font)
        bp_box = QGroupBox("Backend and precision")
        bp_form = QFormLayout(bp_box)
        bp_form.addRow("Backend:", self.backend_combo)
        bp_form.addRow("Precision:", self.precision_combo)
        bp_form.addRow(self.backend_note)

        # -- profiles
        self.profile_model = ProfileEditModel(self)
        self.profile_model.dataChanged.connect(self._profiles_edited)
        self.profile_model.modelReset.connect(self._profiles_edited)
        self.profile_model.rowsInserted.connect(self._profiles_edited)
        self.profile_table = QTableView()
        self.profile_table.setModel(self.profile_model)
        self.profile_table.verticalHeader().setVisible(False)
        self.profile_table.verticalHeader().setDefaultSectionSize(22)
        self.profile_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.profile_table.horizontalHeader().setStretchLastSection(True)
        self.profile_table.setMinimumHeight(50)
        self.add_profile_button = QPushButton("Add profile")
        self.add_profile_button.clicked.connect(self.profile_model.add_profile)
        self.remove_profile_button = QPushButton("Remove last")
        self.remove_profile_button.clicked.connect(self.profile_model.remove_last_profile)
        self.reset_profile_button = QPushButton("Suggest")
        self.reset_profile_button.setToolTip("Reset to the suggested profile for this model")
        self.reset_profile_button.clicked.connect(self.reset_profiles)
        self.profile_error = QLabel()
        self.profile_error.setWordWrap(True)
        self.profile_error.setVisible(False)
        self.profile_note = QLabel("The model has no dynamic inputs: no profile needed.")
        self.profile_note.setWordWrap(True)
        prof_box = QGroupBox("Shape profiles (min / opt / max per dynamic input)")
        prof_layout = QVBoxLayout(prof_box)
        prof_layout.addWidget(self.profile_note)
        prof_layout.addWidget(self.profile_table)
        prof_buttons = QHBoxLayout()
        for b in (self.add_profile_button, self.remove_profile_button, self.reset_profile_button):
            prof_buttons.addWidget(b)
        prof_buttons.addStretch(1)
        prof_layout.addLayout(prof_buttons)
        prof_layout.addWidget(self.profile_error)
        self.profile_box = prof_box

        # -- INT8 calibration
        self.calib_edit = QLineEdit()
        self.calib_edit.setPlaceholderText("a folder of representative images")
        self.calib_browse = QToolButton()
        self.calib_browse.setText("…")
        self.calib_browse.clicked.connect(self._browse_calibration)
        self.calib_max = QSpinBox()
        self.calib_max.setRange(1, 10000)
        self.calib_max.setValue(64)
        calib_row = QHBoxLayout()
        calib_row.addWidget(self.calib_edit, 1)
        calib_row.addWidget(self.calib_browse)
        self.calib_box = QGroupBox("INT8 calibration")
        calib_form = QFormLayout(self.calib_box)
        calib_form.addRow("Images:", calib_row)
        calib_form.addRow("At most:", self.calib_max)

        # -- advanced
        self.workspace_edit = QLineEdit()
        self.workspace_edit.setPlaceholderText("TensorRT default (e.g. 2G, 512M)")
        self.opt_level = QSpinBox()
        self.opt_level.setRange(0, 5)
        self.opt_level.setValue(3)
        self.opt_level.setToolTip("Builder optimization level: higher builds slower, runs faster")
        self.timing_cache_edit = QLineEdit()
        self.timing_cache_edit.setPlaceholderText("no timing cache")
        self.verbosity_combo = QComboBox()
        for value, label in VERBOSITIES:
            self.verbosity_combo.addItem(label, value)
        self.version_compat = QCheckBox("Version compatible (runs on later TensorRT versions)")
        self.hw_compat = QComboBox()
        for value, label in HW_COMPAT:
            self.hw_compat.addItem(label, value)
        self.cc_edit = QLineEdit()
        self.cc_edit.setPlaceholderText("this GPU (e.g. 8.6, 8.9, 12.0)")
        self.keep_onnx = QCheckBox("Keep the converted ONNX model beside the engine")
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced options")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced_box = QGroupBox()
        adv = QFormLayout(self.advanced_box)
        adv.addRow("Workspace:", self.workspace_edit)
        adv.addRow("Optimization level:", self.opt_level)
        adv.addRow("Timing cache:", self.timing_cache_edit)
        adv.addRow("Profiling verbosity:", self.verbosity_combo)
        adv.addRow(self.version_compat)
        adv.addRow("Hardware compatibility:", self.hw_compat)
        adv.addRow("Compute capabilities:", self.cc_edit)
        adv.addRow(self.keep_onnx)
        self.advanced_toggle.toggled.connect(self.show_advanced)
        self.show_advanced(False)

        # -- buttons
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

        form = QWidget()
        form_layout = QVBoxLayout(form)
        for w in (
            io_box,
            bp_box,
            prof_box,
            self.calib_box,
            self.advanced_toggle,
            self.advanced_box,
        ):
            form_layout.addWidget(w)
        form_layout.addStretch(1)
        self.form = form
        scroll = QScrollArea()
        scroll.setWidget(form)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(430)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(scroll, 1)
        left_layout.addLayout(buttons)

        # -- right: progress, log, result
        self.phase_label = QLabel("Ready.")
        self.phase_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        take_given_width(self.phase_label)
        self.elapsed_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        prog_row = QHBoxLayout()
        prog_row.addWidget(self.phase_label, 1)
        prog_row.addWidget(self.elapsed_label)
        self.log_view = LogView()

        self.result_summary = QLabel("Build an engine to see its summary here.")
        self.result_summary.setWordWrap(True)
        self.result_summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_summary.setAlignment(Qt.AlignmentFlag.AlignTop)
        take_given_width(self.result_summary)  # its Path: line does not wrap
        self.io_model = NetworkTensorModel(parent=self)
        self.io_table = make_table(self.io_model, stretch_column=1)
        self.profiles_model = ProfileRowsModel(parent=self)
        self.profiles_table = make_table(self.profiles_model, stretch_column=1)
        result = QWidget()
        result_layout = QVBoxLayout(result)
        self.show_engine_button = QPushButton("Open in the Engine panel")
        self.show_engine_button.setToolTip("Inspect the engine just built (Ctrl+3)")
        self.show_engine_button.setEnabled(False)
        self.show_engine_button.clicked.connect(self.show_engine_requested)
        summary_row = QHBoxLayout()
        summary_row.addWidget(self.result_summary, 1)
        summary_row.addWidget(self.show_engine_button, 0, Qt.AlignmentFlag.AlignTop)
        result_layout.addLayout(summary_row)
        result_layout.addWidget(QLabel("Network inputs and outputs:"))
        result_layout.addWidget(self.io_table, 2)
        result_layout.addWidget(QLabel("Shape profiles:"))
        result_layout.addWidget(self.profiles_table, 1)

        self.right_tabs = QTabWidget()
        self.right_tabs.addTab(self.log_view, "Log")
        self.right_tabs.addTab(result, "Result")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(prog_row)
        right_layout.addWidget(self.progress)
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

        self._tick = QTimer(self)
        self._tick.setInterval(100)
        self._tick.timeout.connect(self._update_elapsed)
        self._precision_changed()
        self._update_state()

    # -- model, backends, settings ------------------------------------------------------------

    def set_model(self, info: Any) -> None:
        """Use `info` (ModelInfo): default output path and the suggested profiles."""
        same = self.model_info is not None and Path(self.model_info.path) == Path(info.path)
        self.model_info = info
        self.model_label.setText(f"<b>{Path(info.path).name}</b><br>{Path(info.path).parent}")
        self.model_label.setToolTip(str(info.path))
        if not same or not self.output_edit.text():
            self._set_default_output()
        if not same and not self.is_building():
            self.clear_build_display()  # status, log and result were the last model's
        self.reset_profiles()
        pending, self._pending = self._pending, None
        if pending is not None and Path(pending.onnx_path) == Path(info.path):
            self.set_settings(pending)
        self._update_state()

    def _set_default_output(self) -> None:
        if self.model_info is None:
            return
        path = str(default_output_for(Path(self.model_info.path), self._precision()))
        self._default_output = path
        self.output_edit.setText(path)

    def _precision(self) -> Precision:
        return Precision(self.precision_combo.currentData())

    def clear_build_display(self) -> None:
        """Forget the last build: status, elapsed time, progress, log and result."""
        self.result = None
        self._last_event = None
        self.steps_seen = 0
        self._elapsed.invalidate()
        self.phase_label.setText("Ready.")
        self.phase_label.setToolTip("")
        self.elapsed_label.setText("")
        self._reset_progress()
        self.log_view.clear()
        self.result_summary.setText("Build an engine to see its summary here.")
        self.show_engine_button.setEnabled(False)
        self.io_model.set_records((), None)
        self.profiles_model.set_profiles(())
        self.right_tabs.setCurrentIndex(0)

    def set_pending_settings(self, settings: BuildSettings) -> None:
        """Apply `settings` in full once its model has been opened."""
        self._pending = settings

    def reset_profiles(self) -> None:
        from trtgui.core.build.settings import suggest_profiles

        if self.model_info is None:
            return
        templates = {t.name: format_shape(t.shape) for t in self.model_info.inputs}
        self.profile_model.set_profiles(suggest_profiles(self.model_info), templates)

    def set_backends(self, infos: list[Any], gpu: Any = None) -> None:
        """Enable what the installed backends can do (from `backends.available_backends()`)."""
        self.backends = {i.name: i for i in infos}
        for index in range(self.backend_combo.count()):
            name = self.backend_combo.itemData(index)
            info = self.backends.get(name)
            if info is None:
                continue
            tip = (
                f"{info.title} {info.version}"
                if info.available
                else f"{info.title} is not installed: {info.install_hint}"
            )
            _set_item_enabled(self.backend_combo, index, info.available, tip)
        current = self.backends.get(self.backend_combo.currentData())
        if current is not None and not current.available:
            _select_data(self.backend_combo, "")
        self._backend_changed()

    def current_backend(self) -> Any:
        """The BackendInfo the build will use, or None before probing."""
        name = self.backend_combo.currentData()
        if not name:
            name = next((n for n, i in self.backends.items() if i.available), "rtx")
        return self.backends.get(name)

    def _backend_changed(self) -> None:
        info = self.current_backend()
        if info is None:
            self.backend_note.setText("")
            return
        from trtgui.core.backends import precision_support

        reasons = precision_support(info)
        for index in range(self.precision_combo.count()):
            value = self.precision_combo.itemData(index)
            reason = reasons.get(value, "")
            _set_item_enabled(self.precision_combo, index, not reason, reason)
        if reasons.get(self.precision_combo.currentData()):
            _select_data(self.precision_combo, "fp32")
        lacks = f"not available with {info.title}"
        self._capability(self.timing_cache_edit, info.has_timing_cache, f"Timing cache is {lacks}")
        self._capability(
            self.version_compat, info.has_version_compatible, f"Version compatibility is {lacks}"
        )
        self._capability(
            self.hw_compat, info.has_hardware_compatibility, f"Hardware compatibility is {lacks}"
        )
        self._capability(
            self.cc_edit,
            info.has_compute_capability_targets,
            f"Compute capability targets are {lacks}",
        )
        gpu_note = "builds on the CPU, no GPU needed" if info.builds_without_gpu else "needs a GPU"
        self.backend_note.setText(
            f"{info.title} {info.version or ''}: {gpu_note}."
            if info.available
            else f"{info.title} is not installed: {info.install_hint}"
        )

    def _capability(self, widget: QWidget, available: bool, reason: str) -> None:
        widget.setEnabled(available)
        widget.setToolTip("" if available else reason)

    def _precision_changed(self) -> None:
        # The default name carries the precision: follow it unless the user chose a path.
        if self.output_edit.text() in ("", self._default_output):
            self._set_default_output()
        int8 = self.precision_combo.currentData() == "int8"
        self.calib_box.setEnabled(int8)
        self.calib_box.setToolTip("" if int8 else "Calibration images are used for INT8 only")

    def show_advanced(self, on: bool) -> None:
        self.advanced_box.setVisible(on)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        if self.advanced_toggle.isChecked() != on:
            self.advanced_toggle.setChecked(on)

    def settings(self) -> BuildSettings:
        """The settings the widgets describe. Raises ProfileError/SettingsError when invalid."""
        from trtgui.core.build.settings import parse_size

        try:
            profiles = self.profile_model.profiles()
        except ValueError as exc:
            raise ProfileError(str(exc)) from exc
        workspace_text = self.workspace_edit.text().strip()
        workspace = parse_size(workspace_text) if workspace_text else None
        ccs = tuple(
            c.strip() for c in self.cc_edit.text().replace(";", ",").split(",") if c.strip()
        )
        return BuildSettings(
            onnx_path=str(self.model_info.path) if self.model_info is not None else "",
            output_path=self.output_edit.text().strip(),
            backend=str(self.backend_combo.currentData() or ""),
            precision=Precision(self.precision_combo.currentData()),
            profiles=profiles,
            workspace_bytes=workspace,
            optimization_level=self.opt_level.value(),
            timing_cache_path=self.timing_cache_edit.text().strip()
            if self.timing_cache_edit.isEnabled()
            else "",
            profiling_verbosity=str(self.verbosity_combo.currentData()),
            version_compatible=self.version_compat.isChecked() and self.version_compat.isEnabled(),
            hardware_compatibility=str(self.hw_compat.currentData())
            if self.hw_compat.isEnabled()
            else "none",
            compute_capabilities=ccs if self.cc_edit.isEnabled() else (),
            calibration_dir=self.calib_edit.text().strip(),
            calibration_max_images=self.calib_max.value(),
            keep_converted_onnx=self.keep_onnx.isChecked(),
        )

    def set_settings(self, s: BuildSettings, *, with_paths: bool = True) -> None:
        """Show `s` in the widgets (profiles only when it has some)."""
        _select_data(self.backend_combo, s.backend)
        _select_data(self.precision_combo, s.precision.value)
        self.workspace_edit.setText(_size_text(s.workspace_bytes))
        self.opt_level.setValue(s.optimization_level)
        self.timing_cache_edit.setText(s.timing_cache_path)
        _select_data(self.verbosity_combo, s.profiling_verbosity)
        self.version_compat.setChecked(s.version_compatible)
        _select_data(self.hw_compat, s.hardware_compatibility)
        self.cc_edit.setText(", ".join(s.compute_capabilities))
        self.calib_edit.setText(s.calibration_dir)
        self.calib_max.setValue(s.calibration_max_images)
        self.keep_onnx.setChecked(s.keep_converted_onnx)
        if with_paths:
            if s.output_path:
                self.output_edit.setText(s.output_path)
            if s.profiles:
                templates = {}
                if self.model_info is not None:
                    templates = {t.name: format_shape(t.shape) for t in self.model_info.inputs}
                self.profile_model.set_profiles(s.profiles, templates)
        if (
            s.workspace_bytes
            or s.timing_cache_path
            or s.version_compatible
            or s.compute_capabilities
            or s.optimization_level != 3
        ):
            self.show_advanced(True)

    def restore_options_json(self, text: str) -> None:
        """Restore the remembered options (not the model, output or profiles)."""
        self.set_settings(BuildSettings.from_json(text), with_paths=False)

    def set_log_level(self, level: int) -> None:
        """How much of TensorRT's log the next build records and the log view shows (the log
        view's severity chooser; 5 = VERBOSE, everything)."""
        self.log_view.set_min_level(level)

    # -- validation ---------------------------------------------------------------------------

    def _profiles_edited(self, *_args: object) -> None:
        # Highlighting bad cells emits dataChanged again: do not re-enter.
        if not self._validating:
            self.validate()

    def validate(self) -> str:
        """Check the profiles now; shows the problem inline and returns it ("" = fine)."""
        error = ""
        has_rows = bool(self.profile_model.live_rows)
        self.profile_table.setVisible(has_rows)
        # Fit the table to its rows (up to 6) instead of leaving an empty box.
        header = self.profile_table.horizontalHeader().sizeHint().height()
        rows = min(max(len(self.profile_model.live_rows), 1), 6)
        self.profile_table.setFixedHeight(header + rows * 22 + 4)
        self.add_profile_button.setVisible(has_rows)
        self.remove_profile_button.setVisible(has_rows)
        self.reset_profile_button.setVisible(has_rows)
        self.profile_note.setVisible(not has_rows and self.model_info is not None)
        bad: set[tuple[int, int]] = set()
        if self.model_info is not None:
            from trtgui.core.build.settings import validate_profiles

            try:
                profiles = self.profile_model.profiles(mark=False)
                validate_profiles(self.model_info, profiles)
            except ValueError as exc:
                error = str(exc)
                bad = self.profile_model.unparsable_cells()
            except ProfileError as exc:
                error = exc.message
                bad = self._cells_named_in(error)
        self._validating = True
        try:
            self.profile_model.set_bad_cells(bad)
        finally:
            self._validating = False
        self._profile_error = error
        self.profile_error.setText(error_html(error) if error else "")
        self.profile_error.setVisible(bool(error))
        self._update_state()
        return error

    def _cells_named_in(self, message: str) -> set[tuple[int, int]]:
        """The cells of the input (and min/opt/max column, when named) a ProfileError names."""
        rows = self.profile_model.live_rows
        name = next(
            (r.name for r in rows if f"'{r.name}'" in message or f'"{r.name}"' in message), None
        )
        lower = message.lower()
        columns = [c for c, word in ((2, "min"), (3, "opt"), (4, "max")) if word in lower]
        columns = columns or [2, 3, 4]
        return {(r, c) for r, row in enumerate(rows) if row.name == name for c in columns}

    # -- building -----------------------------------------------------------------------------

    def is_building(self) -> bool:
        return self._handle is not None and self._handle.is_running()

    def start_build(self) -> None:
        """Start a build with the current settings (errors go to the funnel)."""
        from trtgui.gui.workers import build_job, start_worker

        if self.is_building():
            return
        if self.model_info is None:
            show_error(self, TrtGuiError("Open an ONNX model first (File > Open, Ctrl+O)."))
            return
        try:
            settings = self.settings()
            from trtgui.core.build.settings import validate_profiles

            validate_profiles(self.model_info, settings.profiles)
        except (ProfileError, SettingsError) as exc:
            show_error(self, exc)
            return
        if settings.precision is Precision.INT8 and not settings.calibration_dir:
            show_error(
                self,
                SettingsError(
                    "INT8 needs calibration images: choose a calibration folder of images like "
                    "the ones the model will see (INT8 calibration, Images)."
                ),
            )
            return
        engine = Path(
            settings.output_path or default_output_for(Path(settings.onnx_path), settings.precision)
        )
        if engine.is_file() and not self._confirm_replace(engine):
            self.phase_label.setText(f"Not built: {engine.name} was kept.")
            return
        self.result = None
        self.steps_seen = 0
        self._last_event = None
        self._cancelling = False
        self._succeeded = False
        level = self.log_view.min_level()  # the one log control: what is recorded and shown
        self.log_view.sink(logging.INFO, f"Building {engine} …")
        self.progress.setRange(0, 0)  # busy until the first progress event
        self.progress.setFormat("")
        self.phase_label.setText("Starting…")
        self.phase_label.setToolTip("")
        self.elapsed_label.setText("0.0 s")
        self.right_tabs.setCurrentIndex(0)
        self._elapsed.start()
        self._tick.start()
        self._handle = start_worker(
            build_job(settings.with_changes(output_path=str(engine)), log_level=level),
            log_sink=self.log_view.sink,
            name="build",
            on_progress=self._on_progress,
            on_succeeded=self._on_succeeded,
            on_failed=self._on_failed,
            on_cancelled=self._on_cancelled,
            on_finished=self._on_finished,
            start=False,
        )
        self._handle.start()
        self._update_state()
        self.busy_changed.emit(True)

    def _confirm_replace(self, engine: Path) -> bool:
        """Ask before a build replaces an existing engine file (No is the default)."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Replace the engine?",
            f"{engine.name} already exists in {engine.parent}.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setInformativeText("Building replaces it. Choose another engine file to keep it.")
        box.button(QMessageBox.StandardButton.Yes).setText("Replace")
        box.button(QMessageBox.StandardButton.No).setText("Keep it")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        return box.exec() == QMessageBox.StandardButton.Yes

    def cancel_build(self) -> None:
        """Ask the build to stop; says so at once (TensorRT stops at its next step)."""
        if self.is_building() and not self._cancelling:
            self._cancelling = True
            self._handle.cancel()
            self.phase_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)
            self.phase_label.repaint()  # before the caller blocks (window close waits)

    def wait(self, timeout_ms: int = 60000) -> bool:
        return self._handle.wait(timeout_ms) if self._handle is not None else True

    def shutdown(self, timeout_ms: int = 60000) -> bool:
        """Cancel a running build and wait for its thread (window close)."""
        if self._handle is None:
            return True
        self.cancel_build()
        self._handle.cancel()
        return bool(self._handle.wait(timeout_ms))

    @Slot(object)
    def _on_progress(self, event: Any) -> None:
        phases = getattr(event, "phases", ())
        self._last_event = event
        self.steps_seen += 1
        if not phases or self._cancelling:
            return  # events already queued when Cancel was clicked keep "Cancelling…"
        top = phases[0]
        inner = phases[-1]
        if top.num_steps > 0:
            self.progress.setRange(0, top.num_steps)
            self.progress.setValue(min(top.step, top.num_steps))
            self.progress.setFormat(f"{top.name}: {top.step}/{top.num_steps}")
        names = " › ".join(p.name for p in phases)
        step = f"  (step {inner.step}/{inner.num_steps})" if inner.num_steps > 0 else ""
        self.phase_label.setText(names + step)

    def _update_elapsed(self) -> None:
        if self._elapsed.isValid():
            self.elapsed_label.setText(f"{self._elapsed.elapsed() / 1000:.1f} s")

    @Slot(object)
    def _on_succeeded(self, result: Any) -> None:
        self.result = result
        self._succeeded = True
        self.show_result(result)
        name = Path(result.engine_path).name
        self.phase_label.setText(f"Built {name}")
        self.phase_label.setToolTip(str(result.engine_path))
        seconds = result.build_seconds
        self.log_view.sink(logging.INFO, f"Built {result.engine_path} in {seconds:.2f} s")
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat("done")
        self.build_succeeded.emit(result)

    @Slot(object)
    def _on_failed(self, err: BaseException) -> None:
        message = err.message if isinstance(err, TrtGuiError) else str(err)
        self.phase_label.setText(f"Build failed: {message}")
        self.phase_label.setToolTip(message)
        self.log_view.sink(logging.ERROR, f"Build failed: {message}")
        self._reset_progress()
        show_error(self, err)
        self.build_failed.emit(err)

    @Slot()
    def _on_cancelled(self) -> None:
        self.phase_label.setText("Build cancelled: nothing was written.")
        self.log_view.sink(logging.WARNING, "Build cancelled by the user: nothing was written.")
        self._reset_progress()
        self.build_cancelled.emit()

    @Slot()
    def _on_finished(self) -> None:
        # build_finished must go out whatever happens here: callers (the main window, tests)
        # wait for it, and would hang on an exception in the panel's own clean-up.
        try:
            self._tick.stop()
            self._update_elapsed()
            self._cancelling = False
            self.log_view.drain()
            if self._succeeded:  # the result, once the build is over (never mid-build)
                self.right_tabs.setCurrentIndex(1)
            self._update_state()
        except Exception as exc:  # shown to the user; the signals below still go out
            show_error(self, exc)
        finally:
            self.busy_changed.emit(False)
            self.build_finished.emit()

    def _reset_progress(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")

    def show_result(self, result: Any) -> None:
        """Show a BuildResult: summary, network I/O tensors and profiles."""
        s = result.settings
        lines = [
            f"<b>{Path(result.engine_path).name}</b> — {format_bytes(result.engine_bytes)}, "
            f"built in {result.build_seconds:.2f} s",
            f"Path: {result.engine_path}",
            f"Backend: {backend_title(result.backend)} {result.backend_version}; precision "
            f"{s.precision.value.upper()} ({getattr(result, 'precision_method', '')})",
            f"Warnings: {result.warning_count}, errors: {result.error_count}; sidecar "
            f"{Path(result.sidecar_path).name}",
        ]
        if getattr(result, "converted_onnx_path", None):
            lines.append(f"Converted model kept at {result.converted_onnx_path}")
        for note in getattr(result, "notes", ()):
            lines.append(f"Note: {note}")
        self.result_summary.setText("<br>".join(lines))
        self.show_engine_button.setEnabled(True)
        model = self.model_info
        same_model = model is not None and Path(model.path) == Path(s.onnx_path)
        self.io_model.set_records(result.io_tensors, model_shapes(model) if same_model else None)
        self.profiles_model.set_profiles(getattr(result, "profiles", ()) or s.profiles)

    def _update_state(self) -> None:
        building = self.is_building()
        self.form.setEnabled(not building)
        can_build = self.model_info is not None and not self._profile_error and not building
        self.build_button.setEnabled(can_build)
        self.build_button.setToolTip(
            self._profile_error
            or ("Open a model first" if self.model_info is None else "Build the engine (Ctrl+B)")
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
        from PySide6.QtWidgets import QApplication

        QApplication.clipboard().setText(text)
        window = self.window()
        if hasattr(window, "statusBar"):
            window.statusBar().showMessage("Command line copied to the clipboard", 5000)
        return text

    # -- dialogs ------------------------------------------------------------------------------

    def _browse_output(self) -> None:
        start = self.output_edit.text() or ""
        path, _ = QFileDialog.getSaveFileName(
            self, "Engine file", start, "TensorRT engines (*.engine *.plan *.trt)"
        )
        if path:
            self.output_edit.setText(path)

    def _browse_calibration(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Calibration images", self.calib_edit.text())
        if path:
            self.calib_edit.setText(path)
