"""The Inference panel's preprocessing form, and what it shows of the tensor it makes.

`PreprocessForm` edits a `PreprocessSpec` (preset, size, resize mode, channel order, layout,
scale, mean/std); the text fields take numbers like "1/255" and lists like "0.485, 0.456,
0.406" (`parse_number`, `parse_vector`). `tensor_preview` and `summarise_tensor` show what the
network will see: the tensor's picture with normalisation undone, and its statistics.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from trtgui.core import imaging
from trtgui.core.errors import PreprocessError
from trtgui.core.imaging import PreprocessSpec
from trtgui.core.shapes import shape_text
from trtgui.gui.widgets import error_html, muted_label

CUSTOM = "custom"  # the preset name once a field was edited by hand

# What the combo boxes show; the raw values (PreprocessSpec's) are the items' data.
PRESET_WORDS: dict[str, str] = {
    "imagenet": "ImageNet (torchvision, mean/std)",
    "tflite": "TF-Lite ((x − 127) / 128)",
    "yolo": "YOLO (letterbox, /255)",
    "yolo-stretch": "YOLO, stretched (/255)",
    "yolox": "YOLOX (BGR 0–255, letterbox top-left)",
    "paddleocr-det": "PaddleOCR text detection",
    "paddleocr-cls": "PaddleOCR text direction",
    "paddleocr-rec": "PaddleOCR text recognition",
    "mtcnn": "MTCNN faces",
    "retinaface": "RetinaFace (BGR − mean, image size)",
    "u2net": "U²-Net masks (Lanczos, ÷ max)",
    "unit": "Pixels 0–1 only (/255)",
    CUSTOM: "Custom (edited)",
}
RESIZE_WORDS: dict[str, str] = {
    "stretch": "Stretch to the size",
    "short_side_crop": "Resize short side, centre crop",
    "letterbox": "Letterbox (keep aspect, pad)",
    "letterbox_top_left": "Letterbox at the top-left (keep aspect, pad)",
    "fit": "Image size (long side limit)",
    "fit_height": "Text line (height fixed, width in proportion)",
}
CHANNEL_WORDS: dict[str, str] = {"RGB": "RGB", "BGR": "BGR", "GRAY": "Grey"}


def fill_combo(combo: QComboBox, values: Sequence[str], words: dict[str, str]) -> None:
    """Items that read as words and carry their raw value as data."""
    for value in values:
        combo.addItem(words.get(value, value), value)
    if any(len(words.get(v, v)) > 12 for v in values):
        # Long words must not widen the whole column: the popup shows them in full.
        policy = QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        combo.setSizeAdjustPolicy(policy)
        combo.setMinimumContentsLength(8)


def set_combo_value(combo: QComboBox, value: str) -> None:
    """Select the item whose data is `value` (nothing changes for an unknown value)."""
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


def combo_value(combo: QComboBox) -> str:
    return str(combo.currentData())


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
        return (
            f"{shape_text(self.shape)}  {self.dtype}\n"
            f"min  {self.min:.4g}\nmax  {self.max:.4g}\nmean {self.mean:.4g}"
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
        fill_combo(self.preset, [*imaging.PRESETS, CUSTOM], PRESET_WORDS)
        self.preset.setToolTip("A known preprocessing recipe; editing any field makes it custom")
        # Width first, as image sizes are quoted (640×480) and `predict --size WxH` reads them;
        # created in that order so Tab goes width -> height too.
        self.width_spin = QSpinBox()
        self.height_spin = QSpinBox()
        for spin, what in ((self.width_spin, "Width"), (self.height_spin, "Height")):
            spin.setRange(1, 8192)
            spin.setSuffix(" px")
            spin.setToolTip(f"{what} of the input tensor in pixels")
        self.resize_mode = QComboBox()
        fill_combo(self.resize_mode, imaging.RESIZE_MODES, RESIZE_WORDS)
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
        fill_combo(self.channel_order, imaging.CHANNEL_ORDERS, CHANNEL_WORDS)
        self.layout_combo = QComboBox()
        fill_combo(self.layout_combo, imaging.LAYOUTS, {})
        self.scale = QLineEdit()
        self.scale.setToolTip("Pixels (0-255) are multiplied by this first, e.g. 1/255")
        self.mean = QLineEdit()
        self.std = QLineEdit()
        self.mean.setToolTip("Subtracted per channel after scaling, e.g. 0.485, 0.456, 0.406")
        self.std.setToolTip("Divides per channel after the mean, e.g. 0.229, 0.224, 0.225")
        self.dtype = QComboBox()
        fill_combo(self.dtype, imaging.DTYPES, {})
        self.formula = muted_label()
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        size_row = QHBoxLayout()
        size_row.addWidget(self.width_spin)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_spin)
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
        form.addRow("Size (W × H)", size)
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

        self.preset.currentIndexChanged.connect(self._preset_chosen)
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
            combo.currentIndexChanged.connect(self._edited)
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

    def fitted(self, spec: PreprocessSpec) -> PreprocessSpec:
        """`spec` fitted to the model's image input (its static size, layout and type)."""
        return imaging.resolve_spec(spec, self._shape, self._dtype)

    def set_spec(self, spec: PreprocessSpec) -> None:
        self._spec = spec
        self._error = ""
        self._show(spec)
        self.spec_changed.emit(spec)

    def choose_preset(self, name: str) -> None:
        set_combo_value(self.preset, name)

    def preset_name(self) -> str:
        """The chosen preset's name ("tflite", or "custom" once a field was edited)."""
        return combo_value(self.preset)

    # -- internals

    def _show(self, spec: PreprocessSpec) -> None:
        self._updating = True
        try:
            name = spec.preset if spec.preset in imaging.PRESETS else CUSTOM
            set_combo_value(self.preset, name)
            self.height_spin.setValue(spec.height)
            self.width_spin.setValue(spec.width)
            set_combo_value(self.resize_mode, spec.resize)
            self.resize_short.setValue(spec.resize_short or 0)
            self.pad_value.setValue(spec.pad_value)
            self.limit_side.setValue(spec.limit_side or 0)
            self.multiple.setValue(spec.multiple)
            set_combo_value(self.channel_order, spec.channel_order)
            set_combo_value(self.layout_combo, spec.layout)
            set_combo_value(self.dtype, spec.dtype)
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
            self.pad_value: mode in ("letterbox", "letterbox_top_left", "fit_height"),
            self.limit_side: mode in ("fit", "fit_height"),
            self.multiple: mode == "fit",
        }
        for widget, visible in rows.items():
            self._form.setRowVisible(widget, visible)

    @Slot(int)
    def _preset_chosen(self, _index: int) -> None:
        name = combo_value(self.preset)
        if self._updating or name == CUSTOM or name not in imaging.PRESETS:
            return
        self.set_spec(self.fitted(imaging.PRESETS[name]))

    @Slot()
    def _edited(self, *_: Any) -> None:
        if self._updating:
            return
        self._update_visibility(combo_value(self.resize_mode))
        fields: dict[str, Any] = {
            "height": self.height_spin.value(),
            "width": self.width_spin.value(),
            "resize": combo_value(self.resize_mode),
            "resize_short": self.resize_short.value() or None,
            "pad_value": self.pad_value.value(),
            "limit_side": self.limit_side.value() or None,
            "multiple": self.multiple.value(),
            "channel_order": combo_value(self.channel_order),
            "layout": combo_value(self.layout_combo),
            "dtype": combo_value(self.dtype),
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
            self.formula.setText(error_html(self._error))
            return
        spec = dataclasses.replace(self._spec, **fields)
        try:
            imaging.validate_spec(spec)
        except PreprocessError as exc:
            self._error = str(exc)
            self.formula.setText(error_html(self._error))
            return
        self._error = ""
        self._spec = spec
        self._updating = True
        set_combo_value(self.preset, CUSTOM)
        self._updating = False
        self.formula.setText(imaging.describe_spec(spec))
        self.spec_changed.emit(spec)
