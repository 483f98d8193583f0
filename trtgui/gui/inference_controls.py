"""The Inference panel's left column: the model and image, the preprocessing form with the
tensor it makes, how outputs are read (kind, top-k, threshold, labels), and Run.

`InferenceControls` only builds and shows; the panel connects its buttons and decides.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from trtgui.core.imaging import PreprocessSpec, PresetGuess, get_preset
from trtgui.core.predict.decoders import decoders
from trtgui.core.predict.labels import IMAGENET_LABELS_SOURCE
from trtgui.gui.image_view import pil_to_qimage
from trtgui.gui.preprocess_form import PreprocessForm, summarise_tensor, tensor_preview
from trtgui.gui.widgets import error_html, hbox, html_escape, muted_label, selectable_label, vbox

AUTO_KIND = "auto"
AUTO_WORDS = "Automatic (from the output shapes)"
# What the empty Labels field means, by `default_labels_source`'s answer.
NO_LABELS_TEXT = "none"
METADATA_SOURCE = "model metadata"


class InferenceControls(QWidget):
    """Files, preprocessing, output reading and the Run button, in a scroll area that fits a
    1200×800 window without scrolling."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_label = QLabel("No model. Open an ONNX model or an engine.")
        self.model_button = QPushButton("Model…")
        self.image_label = QLabel("Drop an image anywhere on this panel, or open one.")
        self.image_button = QPushButton("Image…")
        self.run_button = QPushButton("Run")
        self.run_button.setMinimumHeight(34)
        self.run_button.setStyleSheet(
            "QPushButton { background:#76b900; color:white; font-weight:bold; border-radius:4px;"
            " padding: 4px 18px; } QPushButton:disabled { background:#b9c7a6; }"
        )
        self.run_hint = muted_label()

        boxes = vbox(
            self._files_box(),
            self._preprocessing_box(),
            self._output_box(),
            margins=(0, 0, 6, 0),
        )
        boxes.addStretch(1)
        inner = QWidget()
        inner.setLayout(boxes)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setLayout(vbox((scroll, 1), self.run_hint, self.run_button, margins=0))
        self.setMinimumWidth(340)
        self.setMaximumWidth(520)

    # -- construction -----------------------------------------------------------------------

    def _files_box(self) -> QGroupBox:
        # One box for both files: two group titles cost the height the form needs to fit
        # a 1200×800 window without scrolling.
        box = QGroupBox("Model and image")
        files = QGridLayout(box)
        files.setVerticalSpacing(3)
        for row, (label, button) in enumerate(
            ((self.model_label, self.model_button), (self.image_label, self.image_button))
        ):
            label.setWordWrap(True)
            files.addWidget(label, row, 0)
            files.addWidget(button, row, 1, Qt.AlignmentFlag.AlignTop)
        files.setColumnStretch(0, 1)
        return box

    def _preprocessing_box(self) -> QGroupBox:
        """The form, the reset button, and the tensor it makes (thumbnail and statistics)."""
        self.form = PreprocessForm()
        self.guess_button = QPushButton("Reset to guess")
        self.guess_button.setToolTip("Set the preprocessing back to what the model suggests")
        self.thumbnail = QLabel()
        self.thumbnail.setFixedSize(80, 80)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setStyleSheet("background:#2b2d31; border-radius:3px; color:#9aa0a6;")
        self.thumbnail.setText("no image")
        self.thumbnail.setToolTip("What the network sees: the tensor with normalisation undone")
        self.tensor_label = selectable_label("—", wrap=True)
        self.tensor_label.setStyleSheet("font-family: monospace;")
        # The reset button shares the title's row rather than taking one of its own: the
        # controls must fit a 1200×800 window without scrolling.
        title = hbox((QLabel("<b>Input tensor</b>"), 1), self.guess_button, margins=0)
        # Why this preprocessing was guessed, and the other presets when the guess is unsure.
        self.guess_label = muted_label()
        self.guess_label.hide()
        self.alternatives = QWidget()
        self._alternatives_row = QHBoxLayout(self.alternatives)
        self._alternatives_row.setContentsMargins(0, 0, 0, 0)
        self.alternatives.hide()
        tensor_text = vbox(title, self.tensor_label)
        tensor_text.addStretch(1)
        tensor_row = hbox(self.thumbnail, (tensor_text, 1))
        tensor_row.setAlignment(self.thumbnail, Qt.AlignmentFlag.AlignTop)
        box = QGroupBox("Preprocessing")
        layout = QVBoxLayout(box)
        layout.setSpacing(3)  # the guess's line must not push Run off a 1200×800 window
        layout.addWidget(self.guess_label)
        layout.addWidget(self.alternatives)
        layout.addWidget(self.form)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        layout.addLayout(tensor_row)
        return box

    def _output_box(self) -> QGroupBox:
        """How the outputs are decoded: kind, top-k, threshold, labels."""
        self.kind_combo = QComboBox()
        self.kind_combo.addItem(AUTO_WORDS, AUTO_KIND)
        for decoder in decoders():
            self.kind_combo.addItem(decoder.title, decoder.kind)
        # Its longest words must not widen the column (the popup shows them in full).
        self.kind_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.kind_combo.setMinimumContentsLength(8)
        self.kind_combo.setToolTip("How outputs are read; automatic chooses from their shapes")
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 100)
        self.top_k.setValue(5)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setSpecialValueText("default")
        self.labels_edit = QLineEdit()
        self.labels_edit.setClearButtonEnabled(True)
        self.labels_button = QPushButton("…")
        self.labels_button.setToolTip("Choose a labels file")
        self.labels_button.setFixedWidth(32)
        self.show_labels_default("")
        box = QGroupBox("Output")
        form = QFormLayout(box)
        form.setVerticalSpacing(4)
        form.addRow("Kind", self.kind_combo)
        # Why the last run read the outputs as it did ("faces: RetinaFace outputs loc …").
        self.kind_reason_label = muted_label()
        self.kind_reason_label.hide()
        form.addRow(self.kind_reason_label)
        # Top-k and threshold share a row so the controls fit a 1200×800 window.
        numbers = hbox(self.top_k, QLabel("Threshold"), self.threshold, margins=0)
        numbers.insertSpacing(1, 10)
        form.addRow("Top-k", numbers)
        form.addRow("Labels", hbox((self.labels_edit, 1), self.labels_button, margins=0))
        return box

    # -- what the panel reads ---------------------------------------------------------------

    def kind(self) -> str | None:
        """The chosen decoder kind; None = guess from the output shapes."""
        kind = str(self.kind_combo.currentData())
        return None if kind == AUTO_KIND else kind

    def labels_path(self) -> Path | None:
        text = self.labels_edit.text().strip()
        return Path(text) if text else None

    def threshold_value(self) -> float | None:
        """The threshold; None = the decoder's default (the spin box at its minimum)."""
        return self.threshold.value() or None

    # -- what the panel shows ---------------------------------------------------------------

    def reset_choices(self) -> None:
        """Labels, kind and threshold back to their defaults (another model was chosen)."""
        self.labels_edit.clear()
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(AUTO_KIND))
        self.show_kind_reason("")
        self.threshold.setValue(self.threshold.minimum())  # shows "default"

    def show_labels_default(self, source: str) -> None:
        """The empty Labels field says what a run will use (`default_labels_source`): the
        model's labels, the built-in ImageNet names for a 1000-class output, or none."""
        if source == IMAGENET_LABELS_SOURCE:
            text = source
        elif source:
            named = Path(source).name if source != METADATA_SOURCE else "its metadata"
            text = f"from the model ({named})"
        else:
            text = NO_LABELS_TEXT
        self.labels_edit.setPlaceholderText(text)
        # The full path of a labels file found beside the model is in the tooltip.
        empty = (
            source if source and source not in (IMAGENET_LABELS_SOURCE, METADATA_SOURCE) else text
        )
        self.labels_edit.setToolTip(f"Class names, one per line (line i = class i). Empty: {empty}")

    def show_preset_guess(self, guess: PresetGuess | None) -> None:
        """Say why the preprocessing was guessed; an unsure guess gets a button per other preset
        (it sets the form to that preset, fitted to the input)."""
        layout = self._alternatives_row
        while layout.count():
            item = layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        if guess is None:
            self.guess_label.hide()
            self.alternatives.hide()
            return
        self.guess_label.setText(f"Guessed: {html_escape(guess.reason)}")  # ends "→ preset"
        self.guess_label.show()
        if guess.alternatives:
            layout.addWidget(QLabel("Unsure; also fits:"))
            for name in guess.alternatives:
                button = QPushButton(name)
                button.setToolTip(f"Use the {name} preprocessing instead")
                button.clicked.connect(lambda _=False, n=name: self._use_preset(n))
                layout.addWidget(button)
            layout.addStretch(1)
        self.alternatives.setVisible(bool(guess.alternatives))

    def _use_preset(self, name: str) -> None:
        self.form.set_spec(self.form.fitted(get_preset(name)))

    def show_kind_reason(self, reason: str) -> None:
        """Why the outputs were read as they were (the prediction's kind_reason); "" hides it."""
        self.kind_reason_label.setText(html_escape(reason))
        self.kind_reason_label.setVisible(bool(reason))

    def show_tensor(self, tensor: np.ndarray, spec: PreprocessSpec) -> None:
        """The tensor's statistics and its picture as the network sees it."""
        picture = pil_to_qimage(tensor_preview(tensor, spec))
        self.show_tensor_preview(summarise_tensor(tensor).text(), picture)

    def show_tensor_preview(self, text: str, picture: QImage) -> None:
        """`show_tensor` from the statistics' text and the picture, made beforehand (the
        Inference panel makes them in a worker: a tensor can be large)."""
        self.tensor_label.setText(html_escape(text).replace("\n", "<br>"))
        pixmap = QPixmap.fromImage(picture).scaled(
            self.thumbnail.size(),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.thumbnail.setPixmap(pixmap)

    def show_tensor_error(self, message: str) -> None:
        self.tensor_label.setText(error_html(message))
        self.thumbnail.setPixmap(QPixmap())
        self.thumbnail.setText("✖")

    def show_no_image(self) -> None:
        self.tensor_label.setText("—")
        self.thumbnail.setText("no image")

    def show_run_state(self, missing: list[str], busy: bool) -> None:
        """Run is enabled when nothing is `missing` and no run is going; the hint says what
        is missing."""
        self.run_button.setEnabled(not missing and not busy)
        self.run_hint.setText("To run: " + ", ".join(missing) + "." if missing else "")
        self.run_hint.setVisible(bool(missing))
