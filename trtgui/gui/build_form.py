"""The Build panel's settings form: widgets ⇄ `BuildSettings`.

Model and engine file, backend and precision (options the backend lacks are disabled with a
tooltip saying why), shape profiles (`ProfileEditor`), INT8 calibration and the advanced
options. `settings()` reads the widgets, `set_settings()` shows a `BuildSettings`.

The default engine name carries the precision (model.fp16.engine; model.engine for FP32) and
follows the precision while the user has not chosen another path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from trtgui.core.backends import BACKEND_NAMES, BackendInfo, backend_title
from trtgui.core.build.settings import (
    MAX_CALIBRATION_IMAGES,
    BuildSettings,
    default_engine_path,
    parse_size,
    size_arg,
)
from trtgui.core.build.trt_config import (
    HARDWARE_LEVELS,
    VERBOSITIES,
    backend_notes,
    precision_support,
)
from trtgui.core.model.profiles import PRECISIONS, Precision
from trtgui.gui.profile_editor import ProfileEditor

if TYPE_CHECKING:  # onnx loads with the model, not with the panel
    from trtgui.core.imaging import PreprocessSpec
    from trtgui.core.model.onnx_model import ModelInfo

# Words for the values of the core's lists (trtgui.core.model.profiles.PRECISIONS, ...).
PRECISION_LABELS: dict[str, str] = {
    "fp32": "FP32",
    "fp16": "FP16 (model converted to half precision)",
    "bf16": "BF16 (model converted to bfloat16)",
    "int8": "INT8 (explicit Q/DQ, calibrated on images)",
    "auto": "TensorRT chooses (weak typing, TensorRT 10)",
}
DEFAULT_BACKEND_LABEL = "Default (best installed)"
VERBOSITY_LABELS: dict[str, str] = {
    "detailed": "Detailed",
    "layer_names_only": "Layer names only",
    "none": "None",
}
HW_COMPAT_LABELS: dict[str, str] = {
    "none": "None (this GPU only)",
    "ampere_plus": "Ampere and newer",
    "same_compute_capability": "Same compute capability",
}
DEFAULT_OPT_LEVEL = BuildSettings().optimization_level


def _set_item_enabled(combo: QComboBox, index: int, enabled: bool, tip: str) -> None:
    model = combo.model()
    if isinstance(model, QStandardItemModel):
        item = model.item(index)
        if item is not None:
            item.setEnabled(enabled)
            item.setToolTip(tip)


def _select_data(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


def _combo(items: Sequence[tuple[str, str]]) -> QComboBox:
    """A combo box of (value, label) items."""
    combo = QComboBox()
    for value, label in items:
        combo.addItem(label, value)
    return combo


def _browse_row(
    edit: QLineEdit, tip: str, on_browse: Callable[[], None]
) -> tuple[QHBoxLayout, QToolButton]:
    button = QToolButton()
    button.setText("…")
    button.setToolTip(tip)
    button.clicked.connect(on_browse)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row, button


def default_output_for(model: Path, precision: Precision | str = Precision.FP32) -> Path:
    """model.engine (FP32) or model.fp16.engine, … beside the model, or in the user's data
    folder when the model's folder is not writable or is the app's own resources (the demo
    inside an installed package)."""
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


class BuildForm(QWidget):
    """The settings widgets; `profiles` is the profile editor. `changed()` whenever the
    profile check ran (its problem, if any, is `problem`)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_info: ModelInfo | None = None
        self.backends: dict[str, BackendInfo] = {}
        self._default_output = ""  # the default path last put in output_edit

        # -- model and output
        self.model_label = QLabel("No model: open one in the Model panel.")
        self.model_label.setWordWrap(True)
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.output_edit = QLineEdit()
        self.output_edit.setPlaceholderText("beside the model, named for the precision")
        out_row, self.output_browse = _browse_row(
            self.output_edit, "Choose where to write the engine", self._browse_output
        )
        io_box = QGroupBox("Model and engine file")
        io_form = QFormLayout(io_box)
        io_form.addRow("Model:", self.model_label)
        io_form.addRow("Engine:", out_row)

        # -- backend and precision
        self.backend_combo = _combo(
            [("", DEFAULT_BACKEND_LABEL), *((n, backend_title(n)) for n in BACKEND_NAMES)]
        )
        self.backend_combo.currentIndexChanged.connect(self._backend_changed)
        self.precision_combo = _combo([(p, PRECISION_LABELS[p]) for p in PRECISIONS])
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
        self.profiles = ProfileEditor()
        self.profiles.validated.connect(self.changed)

        # -- INT8 calibration
        self.calib_edit = QLineEdit()
        self.calib_edit.setPlaceholderText("a folder of representative images")
        calib_row, self.calib_browse = _browse_row(
            self.calib_edit, "Choose the folder of calibration images", self._browse_calibration
        )
        self.calib_max = QSpinBox()
        self.calib_max.setRange(1, MAX_CALIBRATION_IMAGES)  # what a settings file may hold
        self.calib_max.setValue(BuildSettings().calibration_max_images)
        self.calib_box = QGroupBox("INT8 calibration")
        calib_form = QFormLayout(self.calib_box)
        calib_form.addRow("Images:", calib_row)
        calib_form.addRow("At most:", self.calib_max)
        self.int8_exclude_edit = QLineEdit()
        self.int8_exclude_edit.setPlaceholderText("node names or op types, comma-separated")
        self.int8_exclude_edit.setToolTip(
            "These nodes get no INT8 quantization, e.g. Concat, Sigmoid or /model.22/* "
            "(wildcards allowed). The detector's output and decoding stay in float anyway."
        )
        calib_form.addRow("Keep in float:", self.int8_exclude_edit)
        # A loaded settings file's INT8 method and preprocessing, which no widget shows: kept
        # so that building from it (and saving it again) does not drop them.
        self._int8_method = BuildSettings().int8_method
        self._preprocess: PreprocessSpec | None = None

        # -- advanced
        self.workspace_edit = QLineEdit()
        self.workspace_edit.setPlaceholderText("TensorRT default (e.g. 2G, 512M)")
        self.opt_level = QSpinBox()
        self.opt_level.setRange(0, 5)
        self.opt_level.setValue(DEFAULT_OPT_LEVEL)
        self.opt_level.setToolTip("Builder optimization level: higher builds slower, runs faster")
        self.timing_cache_edit = QLineEdit()
        self.timing_cache_edit.setPlaceholderText("no timing cache")
        self.verbosity_combo = _combo([(v, VERBOSITY_LABELS[v]) for v in VERBOSITIES])
        self.version_compat = QCheckBox("Version compatible (runs on later TensorRT versions)")
        self.hw_compat = _combo([(v, HW_COMPAT_LABELS[v]) for v in ("none", *HARDWARE_LEVELS)])
        self.cc_edit = QLineEdit()
        self.cc_edit.setPlaceholderText("this GPU (e.g. 8.6, 8.9, 12.0)")
        self.keep_onnx = QCheckBox("Keep the converted ONNX model beside the engine")
        self.accept_loss = QCheckBox("Build even if the precision check fails")
        self.accept_loss.setToolTip(
            "FP16, BF16 and INT8 models are compared with the original before the build; a "
            "conversion that loses too much is not built unless this is on (the build record "
            "then says it was built anyway)."
        )
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
        adv.addRow(self.accept_loss)
        self.advanced_toggle.toggled.connect(self.show_advanced)
        self.show_advanced(False)

        layout = QVBoxLayout(self)
        for w in (
            io_box,
            bp_box,
            self.profiles,
            self.calib_box,
            self.advanced_toggle,
            self.advanced_box,
        ):
            layout.addWidget(w)
        layout.addStretch(1)
        self._precision_changed()

    @property
    def problem(self) -> str:
        """Why the profiles cannot be built ("" when they can)."""
        return self.profiles.problem

    # -- model and backends -------------------------------------------------------------------

    def set_model(self, info: ModelInfo, *, same: bool) -> None:
        """Use `info`: its name, the default output path (for a new model) and the suggested
        profiles."""
        self.model_info = info
        self.model_label.setText(f"<b>{Path(info.path).name}</b><br>{Path(info.path).parent}")
        self.model_label.setToolTip(str(info.path))
        if not same or not self.output_edit.text():
            self._set_default_output()
        self.profiles.set_model(info)

    def _set_default_output(self) -> None:
        if self.model_info is None:
            return
        path = str(default_output_for(Path(self.model_info.path), self.precision()))
        self._default_output = path
        self.output_edit.setText(path)

    def precision(self) -> Precision:
        return Precision(self.precision_combo.currentData())

    def set_backends(self, infos: Sequence[BackendInfo]) -> None:
        """Enable what the installed backends can do (from `backends.available_backends()`)."""
        self.backends = {i.name: i for i in infos}
        for index in range(self.backend_combo.count()):
            info = self.backends.get(self.backend_combo.itemData(index))
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

    def current_backend(self) -> BackendInfo | None:
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
        reasons = precision_support(info)
        for index in range(self.precision_combo.count()):
            reason = reasons.get(self.precision_combo.itemData(index), "")
            _set_item_enabled(self.precision_combo, index, not reason, reason)
        if reasons.get(self.precision_combo.currentData()):
            _select_data(self.precision_combo, Precision.FP32.value)
        lacks = f"not available with {info.title}"
        for widget, available, what in (
            (self.timing_cache_edit, info.has_timing_cache, "Timing cache is"),
            (self.version_compat, info.has_version_compatible, "Version compatibility is"),
            (self.hw_compat, info.has_hardware_compatibility, "Hardware compatibility is"),
            (self.cc_edit, info.has_compute_capability_targets, "Compute capability targets are"),
        ):
            widget.setEnabled(available)
            widget.setToolTip("" if available else f"{what} {lacks}")
        gpu_note = "builds on the CPU, no GPU needed" if info.builds_without_gpu else "needs a GPU"
        self.backend_note.setText(
            " ".join([f"{info.title} {info.version or ''}: {gpu_note}.", *backend_notes(info)])
            if info.available
            else f"{info.title} is not installed: {info.install_hint}"
        )

    def _precision_changed(self) -> None:
        # The default name carries the precision: follow it unless the user chose a path.
        if self.output_edit.text() in ("", self._default_output):
            self._set_default_output()
        int8 = self.precision() is Precision.INT8
        self.calib_box.setEnabled(int8)
        self.calib_box.setToolTip("" if int8 else "Calibration images are used for INT8 only")
        # Only a converted model (FP16, BF16, INT8) is checked against the original.
        self.accept_loss.setEnabled(
            self.precision() in (Precision.FP16, Precision.BF16, Precision.INT8)
        )

    def show_advanced(self, on: bool) -> None:
        self.advanced_box.setVisible(on)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        if self.advanced_toggle.isChecked() != on:
            self.advanced_toggle.setChecked(on)

    # -- widgets ⇄ settings ---------------------------------------------------------------------

    def settings(self) -> BuildSettings:
        """The settings the widgets describe. Raises ProfileError/SettingsError when invalid."""
        profiles = self.profiles.profiles()
        workspace_text = self.workspace_edit.text().strip()
        ccs = tuple(
            c.strip() for c in self.cc_edit.text().replace(";", ",").split(",") if c.strip()
        )
        return BuildSettings(
            onnx_path=str(self.model_info.path) if self.model_info is not None else "",
            output_path=self.output_edit.text().strip(),
            backend=str(self.backend_combo.currentData() or ""),
            precision=self.precision(),
            profiles=profiles,
            workspace_bytes=parse_size(workspace_text) if workspace_text else None,
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
            int8_method=self._int8_method,
            int8_exclude=tuple(
                p.strip() for p in self.int8_exclude_edit.text().split(",") if p.strip()
            ),
            preprocess=self._preprocess,
            keep_converted_onnx=self.keep_onnx.isChecked(),
            accept_accuracy_loss=self.accept_loss.isChecked(),
        )

    def set_settings(self, s: BuildSettings, *, with_paths: bool = True) -> None:
        """Show `s` in the widgets (profiles only when it has some)."""
        _select_data(self.backend_combo, s.backend)
        _select_data(self.precision_combo, s.precision.value)
        self.workspace_edit.setText(size_arg(s.workspace_bytes) if s.workspace_bytes else "")
        self.opt_level.setValue(s.optimization_level)
        self.timing_cache_edit.setText(s.timing_cache_path)
        _select_data(self.verbosity_combo, s.profiling_verbosity)
        self.version_compat.setChecked(s.version_compatible)
        _select_data(self.hw_compat, s.hardware_compatibility)
        self.cc_edit.setText(", ".join(s.compute_capabilities))
        self.calib_edit.setText(s.calibration_dir)
        self.calib_max.setValue(s.calibration_max_images)
        self.int8_exclude_edit.setText(", ".join(s.int8_exclude))
        self._int8_method = s.int8_method
        self._preprocess = s.preprocess
        self.keep_onnx.setChecked(s.keep_converted_onnx)
        self.accept_loss.setChecked(s.accept_accuracy_loss)
        if with_paths:
            if s.output_path:
                self.output_edit.setText(s.output_path)
            if s.profiles:
                self.profiles.set_profiles(s.profiles)
        if (
            s.workspace_bytes
            or s.timing_cache_path
            or s.version_compatible
            or s.compute_capabilities
            or s.optimization_level != DEFAULT_OPT_LEVEL
        ):
            self.show_advanced(True)

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
