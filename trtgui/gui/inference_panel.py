"""The Inference panel: one real image through the model, the answer drawn on the picture.

The user drops or opens an image (the panel accepts drops itself), checks the preprocessing
in an editable form (preset, size, resize mode, channel order, layout, scale, mean/std —
pre-filled by `trtgui.core.imaging.guess_preprocess`) and the tensor it produces (shape,
dtype, min/max/mean and a thumbnail of what the network sees), then presses Run. The
prediction runs in a worker thread (`trtgui.core.inference.run_prediction`); the panel shows
the annotated picture, a top-k list for classifiers or a box list for detectors, timings,
which runner ran and why, and — when TensorRT and ONNX Runtime both ran — their comparison
with a clear PASS/FAIL.

Errors (a bad image, a failed run) go through the error funnel; the panel stays usable.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from trtgui.core import imaging
from trtgui.core.errors import InferenceError, TrtGuiError
from trtgui.core.settings import PreprocessSpec
from trtgui.gui.image_view import ImageView, pil_to_qimage

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm")
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"
MODEL_FILTER = "Models and engines (*.onnx *.engine *.plan *.trt);;All files (*)"
KIND_CHOICES = ("auto", "classification", "detection", "segmentation", "raw")
CUSTOM = "custom"
MUTED = "#5f6368"
PASS_STYLE = "background:#e6f4ea; color:#0d5223; border:1px solid #34a853;"
FAIL_STYLE = "background:#fce8e6; color:#8c1d18; border:1px solid #d93025;"


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    """First present attribute (or key) of `names`: report records are read by name."""
    for name in names:
        if isinstance(obj, Mapping):
            if obj.get(name) is not None:
                return obj[name]
        elif obj is not None:
            value = getattr(obj, name, None)
            if value is not None:
                return value
    return default


def _html(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def parse_number(text: str) -> float:
    """ "1/255" -> 0.00392…, "0.5" -> 0.5; raises ValueError."""
    text = text.strip()
    if "/" in text:
        num, den = text.split("/", 1)
        return float(num) / float(den)
    return float(text)


def format_number(value: float) -> str:
    """0.00392… -> "1/255"; 127.0 -> "127"."""
    if value and value < 1:
        inverse = 1 / value
        if abs(inverse - round(inverse)) < 1e-6:
            return f"1/{round(inverse)}"
    return f"{value:g}"


def parse_vector(text: str) -> tuple[float, ...]:
    """ "0.485, 0.456 0.406" -> (0.485, 0.456, 0.406); raises ValueError when empty/bad."""
    parts = [p for p in re.split(r"[,\s;]+", text.strip().strip("()[]")) if p]
    if not parts:
        raise ValueError("empty")
    return tuple(parse_number(p) for p in parts)


def format_vector(values: Sequence[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def tensor_preview(tensor: np.ndarray, spec: PreprocessSpec) -> Image.Image:
    """The picture a tensor holds (batch entry 0), normalisation undone, as RGB for display."""
    arr = np.asarray(tensor, dtype=np.float32)
    while arr.ndim > 3:
        arr = arr[0]
    if arr.ndim == 2:
        arr = arr[None] if spec.layout == "NCHW" else arr[..., None]
    if spec.layout == "NCHW":
        arr = np.transpose(arr, (1, 2, 0))
    channels = arr.shape[2]
    mean = np.resize(np.asarray(spec.mean, np.float32), channels)
    std = np.resize(np.asarray(spec.std, np.float32), channels)
    pixels = (arr * std + mean) / (spec.scale or 1.0)
    pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    if channels == 1:
        return Image.fromarray(pixels[..., 0], "L").convert("RGB")
    if spec.channel_order == "BGR":
        pixels = pixels[..., ::-1]
    return Image.fromarray(np.ascontiguousarray(pixels[..., :3]), "RGB")


@dataclasses.dataclass(frozen=True)
class TensorSummary:
    shape: tuple[int, ...]
    dtype: str
    min: float
    max: float
    mean: float

    def text(self) -> str:
        shape = "×".join(str(d) for d in self.shape)
        return (
            f"{shape}  {self.dtype}\nmin  {self.min:.4g}\nmax  {self.max:.4g}\nmean {self.mean:.4g}"
        )


def summarise_tensor(tensor: np.ndarray) -> TensorSummary:
    values = np.asarray(tensor, dtype=np.float32)
    return TensorSummary(
        shape=tuple(int(d) for d in tensor.shape),
        dtype=str(tensor.dtype),
        min=float(values.min()),
        max=float(values.max()),
        mean=float(values.mean()),
    )


# ---------------------------------------------------------------------------------------------
# Result tables


class ClassScoreModel(QAbstractTableModel):
    """# | Class | Score — the top-k list of a classifier."""

    COLUMNS = ("#", "Class", "Score")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[Any] = []

    def set_items(self, items: Sequence[Any]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def labels(self) -> list[str]:
        return [str(_get(c, "label", default="")) for c in self._items]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self._items[index.row()]
        col = index.column()
        score = float(_get(item, "score", default=0.0))
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return index.row() + 1
            if col == 1:
                label = str(_get(item, "label", default=""))
                return f"{label}  (class {_get(item, 'index', default='?')})"
            return f"{score:.1%}"
        if role == Qt.ItemDataRole.UserRole and col == 2:
            return score  # the bar delegate's fraction
        if role == Qt.ItemDataRole.FontRole and index.row() == 0 and col == 1:
            font = QLabel().font()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and col != 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class BoxModel(QAbstractTableModel):
    """# | Label | Score | x1 | y1 | x2 | y2 — detections in original-image pixels."""

    COLUMNS = ("#", "Label", "Score", "x1", "y1", "x2", "y2")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._boxes: list[Any] = []

    def set_boxes(self, boxes: Sequence[Any]) -> None:
        self.beginResetModel()
        self._boxes = list(boxes)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._boxes)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        b = self._boxes[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return index.row() + 1
            if col == 1:
                return str(_get(b, "label", default=""))
            if col == 2:
                return f"{float(_get(b, 'score', default=0.0)):.1%}"
            return f"{float(_get(b, ('x1', 'y1', 'x2', 'y2')[col - 3], default=0.0)):.0f}"
        if role == Qt.ItemDataRole.UserRole and col == 2:
            return float(_get(b, "score", default=0.0))
        if role == Qt.ItemDataRole.TextAlignmentRole and col != 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class KeyValueModel(QAbstractTableModel):
    """Two or more text columns: timings, output statistics, comparison rows."""

    def __init__(self, columns: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self._columns = tuple(columns)
        self._rows: list[tuple[str, ...]] = []

    def set_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        self.beginResetModel()
        self._rows = [tuple(str(v) for v in r) for r in rows]
        self.endResetModel()

    def rows(self) -> list[tuple[str, ...]]:
        return list(self._rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._columns[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        value = self._rows[index.row()][index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return value
        if role == Qt.ItemDataRole.ForegroundRole:
            if value == "PASS":
                return QColor("#188038")
            if value == "FAIL":
                return QColor("#c5221f")
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ScoreBarDelegate(QStyledItemDelegate):
    """Draws the score as a bar behind its percentage (UserRole holds the 0..1 fraction)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        fraction = index.data(Qt.ItemDataRole.UserRole)
        if isinstance(fraction, float):
            painter.save()
            rect = QRect(option.rect).adjusted(2, 4, -2, -4)
            rect.setWidth(max(1, int(rect.width() * max(0.0, min(1.0, fraction)))))
            painter.fillRect(rect, QColor(118, 185, 0, 90))  # NVIDIA-ish green, translucent
            painter.restore()
        super().paint(painter, option, index)


def _table(model: QAbstractTableModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(24)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setStretchLastSection(True)
    return view


def _muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {MUTED};")
    return label


# ---------------------------------------------------------------------------------------------
# The preprocessing form


class PreprocessForm(QWidget):
    """An editable `PreprocessSpec`: preset combo plus every field. Emits `spec_changed`.

    Choosing a preset loads it (fitted to the model's input shape); editing a field turns
    the preset into "custom". Invalid text marks its field red and keeps the last valid spec.
    """

    spec_changed = Signal(object)  # PreprocessSpec

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._updating = False
        self._shape: Sequence[int | str | None] | None = None
        self._dtype: str | None = None
        self._spec = PreprocessSpec()
        self._error = ""

        self.preset = QComboBox()
        self.preset.addItems([*imaging.PRESETS, CUSTOM])
        self.preset.setToolTip("A known preprocessing recipe; editing any field makes it custom")
        self.height_spin = QSpinBox()
        self.width_spin = QSpinBox()
        for spin in (self.height_spin, self.width_spin):
            spin.setRange(1, 8192)
            spin.setSuffix(" px")
        self.resize_mode = QComboBox()
        self.resize_mode.addItems(list(imaging.RESIZE_MODES))
        self.resize_short = QSpinBox()
        self.resize_short.setRange(0, 8192)
        self.resize_short.setSpecialValueText("= crop size")
        self.pad_value = QDoubleSpinBox()
        self.pad_value.setRange(0, 255)
        self.pad_value.setDecimals(1)
        self.limit_side = QSpinBox()
        self.limit_side.setRange(0, 8192)
        self.limit_side.setSpecialValueText("image size")
        self.multiple = QSpinBox()
        self.multiple.setRange(1, 256)
        self.channel_order = QComboBox()
        self.channel_order.addItems(list(imaging.CHANNEL_ORDERS))
        self.layout_combo = QComboBox()
        self.layout_combo.addItems(list(imaging.LAYOUTS))
        self.scale = QLineEdit()
        self.scale.setToolTip("Pixels (0-255) are multiplied by this first, e.g. 1/255")
        self.mean = QLineEdit()
        self.std = QLineEdit()
        self.mean.setToolTip("Subtracted per channel after scaling, e.g. 0.485, 0.456, 0.406")
        self.std.setToolTip("Divides per channel after the mean, e.g. 0.229, 0.224, 0.225")
        self.dtype = QComboBox()
        self.dtype.addItems(list(imaging.DTYPES))
        self.formula = _muted()
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        size_row = QHBoxLayout()
        size_row.addWidget(self.height_spin)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.width_spin)
        size = QWidget()
        size.setLayout(size_row)
        size_row.setContentsMargins(0, 0, 0, 0)
        order_row = QHBoxLayout()
        order_row.setContentsMargins(0, 0, 0, 0)
        order_row.addWidget(self.channel_order)
        order_row.addWidget(self.layout_combo)
        order_row.addWidget(self.dtype)
        order = QWidget()
        order.setLayout(order_row)

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(4)
        form.addRow("Preset", self.preset)
        form.addRow("Size (H × W)", size)
        self._size_row = size
        form.addRow("Resize", self.resize_mode)
        form.addRow("Short side", self.resize_short)
        form.addRow("Pad value", self.pad_value)
        form.addRow("Long side ≤", self.limit_side)
        form.addRow("Multiple of", self.multiple)
        form.addRow("Order / layout", order)
        form.addRow("Scale", self.scale)
        form.addRow("Mean", self.mean)
        form.addRow("Std", self.std)
        form.addRow(self.formula)
        self._form = form

        self.preset.currentTextChanged.connect(self._preset_chosen)
        for spin in (
            self.height_spin,
            self.width_spin,
            self.resize_short,
            self.limit_side,
            self.multiple,
        ):
            spin.valueChanged.connect(self._edited)
        self.pad_value.valueChanged.connect(self._edited)
        for combo in (self.resize_mode, self.channel_order, self.layout_combo, self.dtype):
            combo.currentTextChanged.connect(self._edited)
        for line in (self.scale, self.mean, self.std):
            line.textEdited.connect(self._edited)
        self._show(self._spec)

    # -- API

    def spec(self) -> PreprocessSpec:
        """The last valid spec."""
        return self._spec

    def error(self) -> str:
        """Why the current text is not a valid spec ("" when it is)."""
        return self._error

    def set_input(self, shape: Sequence[int | str | None] | None, dtype: str | None) -> None:
        """The model's image input: presets are fitted to it."""
        self._shape = shape
        self._dtype = dtype if dtype in imaging.DTYPES else None

    def set_spec(self, spec: PreprocessSpec) -> None:
        self._spec = spec
        self._error = ""
        self._show(spec)
        self.spec_changed.emit(spec)

    def choose_preset(self, name: str) -> None:
        self.preset.setCurrentText(name)

    # -- internals

    def _show(self, spec: PreprocessSpec) -> None:
        self._updating = True
        try:
            name = spec.preset if spec.preset in imaging.PRESETS else CUSTOM
            self.preset.setCurrentText(name)
            self.height_spin.setValue(spec.height)
            self.width_spin.setValue(spec.width)
            self.resize_mode.setCurrentText(spec.resize)
            self.resize_short.setValue(spec.resize_short or 0)
            self.pad_value.setValue(spec.pad_value)
            self.limit_side.setValue(spec.limit_side or 0)
            self.multiple.setValue(spec.multiple)
            self.channel_order.setCurrentText(spec.channel_order)
            self.layout_combo.setCurrentText(spec.layout)
            self.dtype.setCurrentText(spec.dtype)
            self.scale.setText(format_number(spec.scale))
            self.mean.setText(format_vector(spec.mean))
            self.std.setText(format_vector(spec.std))
            for line in (self.scale, self.mean, self.std):
                line.setStyleSheet("")
        finally:
            self._updating = False
        self._update_visibility(spec.resize)
        self.formula.setText(imaging.describe_spec(spec))

    def _update_visibility(self, mode: str) -> None:
        rows = {
            self._size_row: mode != "fit",  # "fit" follows the image, capped by the long side
            self.resize_short: mode == "short_side_crop",
            self.pad_value: mode == "letterbox",
            self.limit_side: mode == "fit",
            self.multiple: mode == "fit",
        }
        for widget, visible in rows.items():
            self._form.setRowVisible(widget, visible)

    @Slot(str)
    def _preset_chosen(self, name: str) -> None:
        if self._updating or name == CUSTOM or name not in imaging.PRESETS:
            return
        spec = imaging.resolve_spec(imaging.PRESETS[name], self._shape, self._dtype)
        self.set_spec(spec)

    @Slot()
    def _edited(self, *_: Any) -> None:
        if self._updating:
            return
        self._update_visibility(self.resize_mode.currentText())
        fields: dict[str, Any] = {
            "height": self.height_spin.value(),
            "width": self.width_spin.value(),
            "resize": self.resize_mode.currentText(),
            "resize_short": self.resize_short.value() or None,
            "pad_value": self.pad_value.value(),
            "limit_side": self.limit_side.value() or None,
            "multiple": self.multiple.value(),
            "channel_order": self.channel_order.currentText(),
            "layout": self.layout_combo.currentText(),
            "dtype": self.dtype.currentText(),
            "preset": CUSTOM,
        }
        problems = []
        for key, line, parse in (
            ("scale", self.scale, parse_number),
            ("mean", self.mean, parse_vector),
            ("std", self.std, parse_vector),
        ):
            try:
                fields[key] = parse(line.text())
                line.setStyleSheet("")
            except (ValueError, ZeroDivisionError):
                line.setStyleSheet("border: 1px solid #d93025;")
                problems.append(f"{key}: '{line.text()}' is not a number")
        if problems:
            self._error = "; ".join(problems)
            self.formula.setText(f"<span style='color:#c5221f'>{_html(self._error)}</span>")
            return
        spec = dataclasses.replace(self._spec, **fields)
        try:
            imaging.validate_spec(spec)
        except InferenceError as exc:
            self._error = str(exc)
            self.formula.setText(f"<span style='color:#c5221f'>{_html(self._error)}</span>")
            return
        self._error = ""
        self._spec = spec
        self._updating = True
        self.preset.setCurrentText(CUSTOM)
        self._updating = False
        self.formula.setText(imaging.describe_spec(spec))
        self.spec_changed.emit(spec)


# ---------------------------------------------------------------------------------------------
# The panel


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


def run_request(request: PredictionRequest) -> Any:
    """Worker body: `trtgui.core.inference.run_prediction` with the request's settings."""
    from trtgui.core.inference import run_prediction

    kwargs: dict[str, Any] = {
        "spec": request.spec,
        "kind": request.kind,
        "top_k": request.top_k,
        "threshold": request.threshold,
    }
    if request.onnx_path is not None:
        kwargs["onnx_path"] = request.onnx_path
    if request.labels_path is not None:
        kwargs["labels"] = request.labels_path
    return run_prediction(request.model_path, request.image_path, **kwargs)


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
        self._model_info: Any = None
        self._image_path: Path | None = None
        self._image: Image.Image | None = None
        self._tensor: np.ndarray | None = None
        self._report: Any = None
        self._handle: Any = None
        self._last_error: BaseException | None = None
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(120)
        self._preview_timer.timeout.connect(self.update_preview)

        controls = self._build_controls()
        results = self._build_results()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(controls)
        split.addWidget(results)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([360, 900])
        split.setChildrenCollapsible(False)
        self.splitter = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(split)
        self._update_run_state()

    # -- construction -----------------------------------------------------------------------

    def _build_controls(self) -> QWidget:
        # Model
        self.model_label = QLabel("No model. Open an ONNX model or an engine.")
        self.model_label.setWordWrap(True)
        self.model_button = QPushButton("Model…")
        self.model_button.clicked.connect(self._ask_model)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_label, 1)
        model_row.addWidget(self.model_button)
        model_box = QGroupBox("Model")
        model_box.setLayout(model_row)

        # Image
        self.image_label = QLabel("Drop an image anywhere on this panel, or open one.")
        self.image_label.setWordWrap(True)
        self.image_button = QPushButton("Image…")
        self.image_button.clicked.connect(self._choose_image)
        image_row = QHBoxLayout()
        image_row.addWidget(self.image_label, 1)
        image_row.addWidget(self.image_button)
        image_box = QGroupBox("Image")
        image_box.setLayout(image_row)

        # Preprocessing + tensor
        self.form = PreprocessForm()
        self.form.spec_changed.connect(self._spec_changed)
        self.guess_button = QPushButton("Reset to the model's guess")
        self.guess_button.clicked.connect(self.reset_spec_to_guess)
        self.thumbnail = QLabel()
        self.thumbnail.setFixedSize(112, 112)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setStyleSheet("background:#2b2d31; border-radius:3px; color:#9aa0a6;")
        self.thumbnail.setText("no image")
        self.thumbnail.setToolTip("What the network sees: the tensor with normalisation undone")
        self.tensor_label = QLabel("—")
        self.tensor_label.setStyleSheet("font-family: monospace;")
        self.tensor_label.setWordWrap(True)
        self.tensor_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        tensor_row = QHBoxLayout()
        tensor_row.addWidget(self.thumbnail)
        tensor_text = QVBoxLayout()
        tensor_text.addWidget(QLabel("<b>Input tensor</b>"))
        tensor_text.addWidget(self.tensor_label)
        tensor_text.addStretch(1)
        tensor_row.addLayout(tensor_text, 1)
        pre_box = QGroupBox("Preprocessing")
        pre_layout = QVBoxLayout(pre_box)
        pre_layout.addWidget(self.form)
        pre_layout.addWidget(self.guess_button, 0, Qt.AlignmentFlag.AlignRight)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        pre_layout.addWidget(line)
        pre_layout.addLayout(tensor_row)

        # Output decoding
        self.kind_combo = QComboBox()
        self.kind_combo.addItems(list(KIND_CHOICES))
        self.kind_combo.setToolTip("How outputs are read; auto chooses from the output shapes")
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 100)
        self.top_k.setValue(5)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setSpecialValueText("default")
        self.labels_edit = QLineEdit()
        self.labels_edit.setPlaceholderText("labels file (optional; demo/ImageNet found itself)")
        out_box = QGroupBox("Output")
        out_form = QFormLayout(out_box)
        out_form.addRow("Kind", self.kind_combo)
        out_form.addRow("Top-k", self.top_k)
        out_form.addRow("Threshold", self.threshold)
        out_form.addRow("Labels", self.labels_edit)

        self.run_button = QPushButton("Run")
        self.run_button.setMinimumHeight(34)
        self.run_button.setStyleSheet(
            "QPushButton { background:#76b900; color:white; font-weight:bold; border-radius:4px;"
            " padding: 4px 18px; } QPushButton:disabled { background:#b9c7a6; }"
        )
        self.run_button.clicked.connect(self.run)
        self.run_hint = _muted()

        inner = QWidget()
        box = QVBoxLayout(inner)
        box.setContentsMargins(0, 0, 6, 0)
        box.addWidget(model_box)
        box.addWidget(image_box)
        box.addWidget(pre_box)
        box.addWidget(out_box)
        box.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QWidget()
        outer_box = QVBoxLayout(outer)
        outer_box.setContentsMargins(0, 0, 0, 0)
        outer_box.addWidget(scroll, 1)
        outer_box.addWidget(self.run_hint)
        outer_box.addWidget(self.run_button)
        outer.setMinimumWidth(340)
        outer.setMaximumWidth(520)
        return outer

    def _build_results(self) -> QWidget:
        self.view = ImageView(placeholder="Drop an image here\n(PNG, JPEG, BMP, WebP, TIFF)")
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.summary_label = QLabel()
        self.summary_label.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.runner_label = _muted()
        self.verdict_label = QLabel()
        self.verdict_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.verdict_label.setMinimumWidth(70)
        self.verdict_label.setVisible(False)
        head = QHBoxLayout()
        head_text = QVBoxLayout()
        head_text.addWidget(self.summary_label)
        head_text.addWidget(self.runner_label)
        head.addLayout(head_text, 1)
        head.addWidget(self.verdict_label)

        self.class_model = ClassScoreModel(self)
        self.class_view = _table(self.class_model)
        self.class_view.setItemDelegateForColumn(2, ScoreBarDelegate(self.class_view))
        self.class_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.class_view.horizontalHeader().setStretchLastSection(False)
        self.class_view.setColumnWidth(0, 36)
        self.class_view.setColumnWidth(2, 150)
        self.box_model = BoxModel(self)
        self.box_view = _table(self.box_model)
        self.box_view.setItemDelegateForColumn(2, ScoreBarDelegate(self.box_view))
        self.box_view.horizontalHeader().setStretchLastSection(False)
        self.result_note = _muted("Run the model to see its answer here.")
        self.result_note.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.result_stack = QStackedWidget()
        self.result_stack.addWidget(self.result_note)
        self.result_stack.addWidget(self.class_view)
        self.result_stack.addWidget(self.box_view)

        self.timing_model = KeyValueModel(("Step", "Time"), self)
        self.timing_view = _table(self.timing_model)
        self.compare_model = KeyValueModel(("Output", "Max abs err", "Mean abs err", "Result"))
        self.compare_view = _table(self.compare_model)
        self.compare_note = _muted(
            "The comparison appears when TensorRT and ONNX Runtime both ran."
        )
        compare_tab = QWidget()
        compare_box = QVBoxLayout(compare_tab)
        compare_box.setContentsMargins(4, 4, 4, 4)
        compare_box.addWidget(self.compare_note)
        compare_box.addWidget(self.compare_view, 1)
        self.stats_model = KeyValueModel(("Output", "Shape", "Min", "Max", "Mean", "Std"), self)
        self.stats_view = _table(self.stats_model)
        self.notes_text = QPlainTextEdit()
        self.notes_text.setReadOnly(True)

        self.result_tabs = QTabWidget()
        self.result_tabs.addTab(self.result_stack, "Result")
        self.result_tabs.addTab(self.timing_view, "Timings")
        self.result_tabs.addTab(compare_tab, "TensorRT vs ONNX Runtime")
        self.result_tabs.addTab(self.stats_view, "Outputs")
        self.result_tabs.addTab(self.notes_text, "Notes")

        bottom = QWidget()
        bottom_box = QVBoxLayout(bottom)
        bottom_box.setContentsMargins(0, 4, 0, 0)
        bottom_box.addLayout(head)
        bottom_box.addWidget(self.result_tabs, 1)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.view)
        split.addWidget(bottom)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([560, 240])
        split.setChildrenCollapsible(False)
        self.result_splitter = split
        return split

    # -- public API -------------------------------------------------------------------------

    def model_path(self) -> Path | None:
        return self._model_path

    def image_path(self) -> Path | None:
        return self._image_path

    def spec(self) -> PreprocessSpec:
        return self.form.spec()

    def set_spec(self, spec: PreprocessSpec) -> None:
        self.form.set_spec(spec)

    def report(self) -> Any:
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
        self, path: str | Path, onnx_path: str | Path | None = None, model_info: Any = None
    ) -> None:
        """Use `path` (ONNX model or engine); `onnx_path` is the ONNX twin of an engine (the
        reference run and the fallback without a GPU). Pre-fills the preprocessing guess."""
        path = Path(path)
        self._model_path = path
        self._onnx_path = Path(onnx_path) if onnx_path else None
        if self._onnx_path is None and path.suffix.lower() != ".onnx":
            self._onnx_path = _onnx_from_sidecar(path)
        onnx = path if path.suffix.lower() == ".onnx" else self._onnx_path
        self._model_info = model_info
        if self._model_info is None and onnx is not None and onnx.is_file():
            try:
                from trtgui.core.onnx_model import inspect_onnx

                self._model_info = inspect_onnx(onnx)
            except TrtGuiError as exc:  # the run will report it; the guess is only a start
                log.warning("could not inspect %s for the preprocessing guess: %s", onnx, exc)
        text = f"<b>{_html(path.name)}</b>"
        if self._onnx_path is not None and self._onnx_path != path:
            text += f"<br><span style='color:{MUTED}'>ONNX: {_html(self._onnx_path.name)}</span>"
        self.model_label.setText(text)
        self.model_label.setToolTip(str(path))
        self.reset_spec_to_guess()
        self._clear_results()
        self._update_run_state()

    @Slot()
    def reset_spec_to_guess(self) -> None:
        """Preprocessing back to `imaging.guess_preprocess(model)`."""
        info = self._model_info
        if info is None:
            return
        image_input = imaging._image_input(info)
        self.form.set_input(
            image_input.shape if image_input is not None else None,
            image_input.dtype if image_input is not None else None,
        )
        self.form.set_spec(imaging.guess_preprocess(info))

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
        self.image_label.setText(
            f"<b>{_html(path.name)}</b><br><span style='color:{MUTED}'>"
            f"{image.width}×{image.height}</span>"
        )
        self.image_label.setToolTip(str(path))
        self.view.set_image(image)
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
            self.tensor_label.setText("—")
            self.thumbnail.setText("no image")
            return
        spec = self.form.spec()
        try:
            tensor, _ = imaging.preprocess(self._image, spec)
        except (TrtGuiError, ValueError) as exc:
            self.tensor_label.setText(f"<span style='color:#c5221f'>{_html(str(exc))}</span>")
            self.thumbnail.setPixmap(QPixmap())
            self.thumbnail.setText("✖")
            self._update_run_state()
            return
        self._tensor = tensor
        self.tensor_label.setText(_html(summarise_tensor(tensor).text()).replace("\n", "<br>"))
        preview = tensor_preview(tensor, spec)
        pixmap = QPixmap.fromImage(pil_to_qimage(preview)).scaled(
            self.thumbnail.size(),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.thumbnail.setPixmap(pixmap)
        self._update_run_state()

    def request(self) -> PredictionRequest | None:
        """The run the current settings describe, or None when something is missing."""
        if self._model_path is None or self._image_path is None or self.form.error():
            return None
        labels = self.labels_edit.text().strip()
        kind = self.kind_combo.currentText()
        return PredictionRequest(
            model_path=self._model_path,
            image_path=self._image_path,
            spec=self.form.spec(),
            onnx_path=self._onnx_path if self._onnx_path != self._model_path else None,
            kind=None if kind == "auto" else kind,
            labels_path=Path(labels) if labels else None,
            top_k=self.top_k.value(),
            threshold=self.threshold.value() or None,
        )

    @Slot()
    def run(self) -> None:
        """Run the prediction in a worker; results arrive through `show_report`."""
        from trtgui.gui.workers import call_job, start_worker

        request = self.request()
        if request is None or self.is_busy():
            return
        self.run_button.setEnabled(False)
        self.run_button.setText("Running…")
        self.summary_label.setText("Running…")
        self.busy_changed.emit(True)
        self.prediction_started.emit()
        self._handle = start_worker(
            call_job(lambda: run_request(request)),
            name="prediction",
            on_succeeded=self._on_succeeded,
            on_failed=self._on_failed,
            on_finished=self._on_finished,
        )

    def show_report(self, report: Any) -> None:
        """Render a PredictionReport: picture, result list, runner, timings, comparison."""
        self._report = report
        prediction = _get(report, "prediction")
        kind = str(_get(prediction, "kind", default="raw"))
        summary = prediction.summary() if hasattr(prediction, "summary") else kind
        self.summary_label.setText(_html(summary))
        self.runner_label.setText(_html(runner_text(report)))
        self._show_picture(report, prediction)
        classes = _get(prediction, "classes", default=()) or ()
        boxes = _get(prediction, "boxes", default=()) or ()
        self.class_model.set_items(classes if kind == "classification" else [])
        self.box_model.set_boxes(boxes)
        if kind == "classification" and classes:
            self.result_stack.setCurrentWidget(self.class_view)
        elif boxes:
            self.result_stack.setCurrentWidget(self.box_view)
            self.box_view.resizeColumnsToContents()
            header = self.box_view.horizontalHeader()
            header.resizeSection(1, max(header.sectionSize(1), 160))
            header.resizeSection(2, max(header.sectionSize(2), 120))
            for col in range(3, 7):
                header.resizeSection(col, max(header.sectionSize(col) + 12, 56))
        else:
            notes = list(_get(prediction, "notes", default=()) or ())
            self.result_note.setText(_html("\n".join([summary, *notes])))
            self.result_stack.setCurrentWidget(self.result_note)
        self.timing_model.set_rows(timing_rows(_get(report, "timings")))
        self.timing_view.resizeColumnsToContents()
        self.stats_model.set_rows(stats_rows(_get(prediction, "stats", default=()) or ()))
        self.stats_view.resizeColumnsToContents()
        self._show_comparison(_get(report, "comparison"))
        notes = [str(n) for n in _get(report, "notes", default=()) or ()]
        spec = _get(report, "spec")
        lines = list(notes)
        if spec is not None:
            guessed = " (guessed from the model)" if _get(report, "spec_guessed") else ""
            lines.append(f"Preprocessing{guessed}: {imaging.describe_spec(spec)}")
        if _get(report, "labels_source"):
            lines.append(f"Labels: {_get(report, 'labels_source')}")
        self.notes_text.setPlainText("\n".join(lines))
        self.result_tabs.setTabText(4, f"Notes ({len(notes)})" if notes else "Notes")
        self.runner_label.setToolTip("\n".join(notes))
        self.result_tabs.setCurrentIndex(0)

    def set_model_path(self, path: str | Path) -> None:
        """Alias of `set_model(path)` (the name the main window calls)."""
        self.set_model(path)

    def open_demo(self, folder: str | Path | None = None) -> bool:
        """The shipped demo (resources/demo, or `folder` with a demo.json): its model, labels,
        preprocessing and first photo. Errors go to the error funnel; False then."""
        from trtgui.core.inference import load_demo

        try:
            if folder is None:
                demo = load_demo()
                model, labels, spec, images = demo.model, demo.labels, demo.spec, demo.images
            else:
                model, labels, spec, images = _demo_from_folder(Path(folder))
        except TrtGuiError as exc:
            self._report_error(exc)
            return False
        self.set_model(model)
        self.labels_edit.setText(str(labels) if labels else "")
        self.form.set_spec(imaging.resolve_spec(spec, self.form._shape, self.form._dtype))
        if not images:
            return False
        preferred = [p for p in images if "coffee" in p.name]
        return self.open_image((preferred or list(images))[0])

    def load_demo(self) -> bool:
        """Alias of `open_demo()`."""
        return self.open_demo()

    # -- rendering helpers ------------------------------------------------------------------

    def _show_picture(self, report: Any, prediction: Any) -> None:
        image = _get(report, "annotated_image", "annotated")
        if callable(image):
            try:
                image = image()
            except ImportError:
                image = None
            except Exception as exc:  # a drawing bug must not hide the result itself
                log.warning("could not draw the prediction: %s", exc)
                image = None
        if image is None and self._image is not None and prediction is not None:
            try:
                from trtgui.core.drawing import draw_prediction

                image = draw_prediction(self._image, prediction)
            except ImportError:
                image = self._image  # drawing not available: the plain picture still helps
            except Exception as exc:  # a drawing bug must not hide the result itself
                log.warning("could not draw the prediction: %s", exc)
                image = self._image
        if image is not None:
            self.view.set_image(image)

    def _show_comparison(self, comparison: Any) -> None:
        if comparison is None:
            self.verdict_label.setVisible(False)
            self.compare_model.set_rows([])
            self.compare_note.setText(
                "Only one runner ran, so there is nothing to compare. With an engine, a GPU "
                "that TensorRT supports and the ONNX model, both run and are compared here."
            )
            self.result_tabs.setTabText(2, "TensorRT vs ONNX Runtime")
            return
        passed = bool(_get(comparison, "passed", "ok", default=False))
        word = "PASS" if passed else "FAIL"
        self.verdict_label.setText(word)
        self.verdict_label.setStyleSheet(
            (PASS_STYLE if passed else FAIL_STYLE)
            + " font-weight:bold; font-size:15px; border-radius:4px; padding:4px 10px;"
        )
        self.verdict_label.setVisible(True)
        self.verdict_label.setToolTip("TensorRT vs ONNX Runtime")
        self.compare_model.set_rows(comparison_rows(comparison))
        self.compare_view.resizeColumnsToContents()
        text = _get(comparison, "summary", "message")
        if callable(text):
            text = text()
        self.compare_note.setText(_html(str(text or f"TensorRT vs ONNX Runtime: {word}")))
        self.result_tabs.setTabText(2, f"TensorRT vs ONNX Runtime: {word}")

    def _clear_results(self) -> None:
        self._report = None
        self.summary_label.setText("")
        self.runner_label.setText("")
        self.verdict_label.setVisible(False)
        self.class_model.set_items([])
        self.box_model.set_boxes([])
        self.timing_model.set_rows([])
        self.stats_model.set_rows([])
        self.compare_model.set_rows([])
        self.result_note.setText("Run the model to see its answer here.")
        self.result_stack.setCurrentWidget(self.result_note)

    def _update_run_state(self) -> None:
        busy = self.is_busy()
        reasons = []
        if self._model_path is None:
            reasons.append("choose a model")
        if self._image_path is None:
            reasons.append("drop or open an image")
        if self.form.error():
            reasons.append("fix the preprocessing")
        self.run_button.setEnabled(not reasons and not busy)
        self.run_hint.setText("To run: " + ", ".join(reasons) + "." if reasons else "")
        self.run_hint.setVisible(bool(reasons))

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
    def _choose_image(self) -> None:
        start = str(self._image_path.parent) if self._image_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", start, IMAGE_FILTER)
        if path:
            self.open_image(path)

    @Slot(object)
    def _on_succeeded(self, report: Any) -> None:
        self.show_report(report)
        self.prediction_finished.emit(report)

    @Slot(object)
    def _on_failed(self, err: BaseException) -> None:
        self.summary_label.setText("The run failed.")
        self.runner_label.setText(_html(str(err)))
        self._report_error(err)
        self.prediction_failed.emit(err)

    @Slot()
    def _on_finished(self) -> None:
        self._handle_done()
        self.busy_changed.emit(False)
        self.run_finished.emit()

    def _handle_done(self) -> None:
        self.run_button.setText("Run")
        # the thread is quitting now; treat the panel as idle for the button state
        self._handle = None
        self._update_run_state()

    # -- drag and drop ----------------------------------------------------------------------

    def dragEnterEvent(self, event: Any) -> None:
        if _dropped_path(event) is not None or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dragMoveEvent(self, event: Any) -> None:
        if _dropped_path(event) is not None or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        path = _dropped_path(event)
        if path is None:
            return
        event.acceptProposedAction()
        if path.suffix.lower() in (".onnx", ".engine", ".plan", ".trt"):
            self.set_model(path)
        else:
            self.open_image(path)


# ---------------------------------------------------------------------------------------------
# Report → rows (plain functions, tested without widgets)


def runner_text(report: Any) -> str:
    """Which runner ran and why, e.g. "ONNX Runtime (CPU) — no GPU for the engine"."""
    runner = str(_get(report, "runner", default="") or "")
    detail = str(_get(report, "runner_detail", default="") or runner)
    detail = (
        detail.replace("CPUExecutionProvider", "CPU")
        .replace("CUDAExecutionProvider", "CUDA")
        .replace("TensorrtExecutionProvider", "TensorRT EP")
    )
    notes = [str(n) for n in _get(report, "notes", default=()) or ()]
    engine = _get(report, "engine_path")
    if runner == "TensorRT":
        if _get(report, "comparison") is not None:
            return f"{detail} — the engine ran on this GPU; ONNX Runtime ran as the reference"
        return f"{detail} — the engine ran on this GPU"
    if engine is not None:
        why = next((n for n in notes if n.startswith("TensorRT not used")), "")
        return f"{detail} — {_short_reason(why)}"
    return f"{detail} — an ONNX model was chosen (build an engine to run TensorRT)"


def _short_reason(note: str) -> str:
    """A few words for why TensorRT did not run, from the report's note."""
    text = note.removeprefix("TensorRT not used:").strip()
    low = text.lower()
    if "does not support this gpu" in low or "compute capability" in low:
        return "the engine's TensorRT does not support this GPU"
    if "gpu" in low and ("no " in low or "needs" in low or "insufficient" in low):
        return "no GPU for the engine"
    if "not installed" in low:
        return "the engine's TensorRT is not installed"
    if not text:
        return "the engine could not run here"
    text = text.split("; running the ONNX model")[0]
    return text if len(text) <= 110 else text[:107] + "…"


def _ms(value: Any) -> str:
    return f"{float(value):.2f} ms"


TIMING_NAMES = {
    "load_ms": "Load (image, session or engine)",
    "preprocess_ms": "Preprocess",
    "inference_ms": "Inference",
    "postprocess_ms": "Postprocess",
    "reference_inference_ms": "ONNX Runtime reference run",
}


def timing_rows(timings: Any) -> list[tuple[str, str]]:
    """Timings as (step, "12.34 ms") rows from a mapping or a record of *_ms fields."""
    if timings is None:
        return []
    if isinstance(timings, Mapping):
        items = list(timings.items())
    elif dataclasses.is_dataclass(timings) and not isinstance(timings, type):
        items = [(f.name, getattr(timings, f.name)) for f in dataclasses.fields(timings)]
    else:
        items = [(k, v) for k, v in vars(timings).items() if not k.startswith("_")]
    rows = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, (int, float)):
            name = TIMING_NAMES.get(key) or (
                key.removesuffix("_ms").removesuffix("_s").replace("_", " ").capitalize()
            )
            ms = value * 1000.0 if key.endswith("_s") else value
            rows.append((name, _ms(ms)))
        elif isinstance(value, Mapping):
            for sub, sub_value in value.items():
                if isinstance(sub_value, (int, float)):
                    rows.append((f"{key.replace('_', ' ')}: {sub}", _ms(sub_value)))
    return rows


def stats_rows(stats: Sequence[Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for s in stats:
        shape = "×".join(str(d) for d in _get(s, "shape", default=()))
        rows.append(
            (
                str(_get(s, "name", default="")),
                shape,
                f"{float(_get(s, 'min', default=0)):.4g}",
                f"{float(_get(s, 'max', default=0)):.4g}",
                f"{float(_get(s, 'mean', default=0)):.4g}",
                f"{float(_get(s, 'std', default=0)):.4g}",
            )
        )
    return rows


def comparison_rows(comparison: Any) -> list[tuple[str, ...]]:
    """One row per compared output: name, max/mean abs error, PASS/FAIL."""
    outputs = _get(comparison, "outputs", "per_output", default=()) or ()
    if isinstance(outputs, Mapping):
        outputs = [{**(_as_dict(v)), "name": k} for k, v in outputs.items()]
    rows: list[tuple[str, ...]] = []
    for o in outputs:
        passed = _get(o, "passed", "ok")
        rows.append(
            (
                str(_get(o, "name", default="")),
                f"{float(_get(o, 'max_abs', 'max_abs_error', default=float('nan'))):.3g}",
                f"{float(_get(o, 'mean_abs', 'mean_abs_error', default=float('nan'))):.3g}",
                "PASS" if passed else "FAIL" if passed is not None else "—",
            )
        )
    return rows


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return dict(vars(value))


def _demo_from_folder(
    folder: Path,
) -> tuple[Path, Path | None, PreprocessSpec, tuple[Path, ...]]:
    """(model, labels, spec, images) from `folder/demo.json` (same format as resources/demo)."""
    import json

    config = folder / "demo.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        model = folder / str(data["model"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InferenceError(
            f"The demo description {config} is missing or malformed.", details=str(exc)
        ) from exc
    preset = data.get("preset", "imagenet")
    spec = (
        imaging.spec_from_dict(preset) if isinstance(preset, dict) else imaging.get_preset(preset)
    )
    labels = folder / str(data["labels"]) if data.get("labels") else None
    images = tuple(folder / str(n) for n in data.get("images", ()) if (folder / str(n)).is_file())
    return model, labels if labels and labels.is_file() else None, spec, images


def _dropped_path(event: Any) -> Path | None:
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            return Path(url.toLocalFile())
    return None


def _onnx_from_sidecar(engine: Path) -> Path | None:
    """The ONNX model an engine was built from, per its sidecar (when it still exists)."""
    try:
        from trtgui.core.engine import read_sidecar

        sidecar, _ = read_sidecar(engine)
    except ImportError:
        return None
    settings = (sidecar or {}).get("settings") or {}
    onnx = settings.get("onnx_path") if isinstance(settings, Mapping) else None
    if onnx and Path(onnx).is_file():
        return Path(onnx)
    return None
