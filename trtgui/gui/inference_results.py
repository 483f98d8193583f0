"""The Inference panel's result tables: top-k and box tables, key/value tables, score bars,
and the plain functions that turn the parts of a `PredictionReport` into their rows (tested
without widgets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QLabel, QStyledItemDelegate, QStyleOptionViewItem

from trtgui.core.predict.compare import Comparison
from trtgui.core.predict.decoders import Box, ClassScore, OutputStats, TextLine, unnamed_label
from trtgui.core.shapes import shape_text
from trtgui.gui.table_models import RowTableModel
from trtgui.gui.widgets import error_colour

Index = QModelIndex | QPersistentModelIndex

# ---------------------------------------------------------------------------------------------
# Result tables


class ClassScoreModel(RowTableModel):
    """# | Class | Score — the top-k list of a classifier."""

    COLUMNS = ("#", "Class", "Score")
    RIGHT_ALIGNED = frozenset({0, 2})

    def set_items(self, items: Sequence[ClassScore]) -> None:
        self.set_rows(items)

    def labels(self) -> list[str]:
        return [c.label for c in self._rows]

    def display(self, record: ClassScore, row: int, column: int) -> Any:
        if column == 0:
            return row + 1
        if column == 1:
            return class_text(record)
        return f"{record.score:.1%}"

    def role_data(self, record: ClassScore, row: int, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.UserRole and column == 2:
            return record.score  # the bar delegate's fraction
        if role == Qt.ItemDataRole.FontRole and row == 0 and column == 1:
            font = QLabel().font()
            font.setBold(True)
            return font
        return None


class BoxModel(RowTableModel):
    """# | Label | Score | x1 | y1 | x2 | y2 — detections in original-image pixels."""

    COLUMNS = ("#", "Label", "Score", "x1", "y1", "x2", "y2")
    RIGHT_ALIGNED = frozenset({0, 2, 3, 4, 5, 6})

    def set_boxes(self, boxes: Sequence[Box]) -> None:
        self.set_rows(boxes)

    def display(self, record: Box, row: int, column: int) -> Any:
        if column == 0:
            return row + 1
        if column == 1:
            return record.label
        if column == 2:
            return f"{record.score:.1%}"
        corners = (record.x1, record.y1, record.x2, record.y2)
        return f"{corners[column - 3]:.0f}"

    def role_data(self, record: Box, row: int, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.UserRole and column == 2:
            return record.score
        return None


class TextLineModel(RowTableModel):
    """# | Text | Confidence — the lines a text recogniser read."""

    COLUMNS = ("#", "Text", "Confidence")
    RIGHT_ALIGNED = frozenset({0, 2})

    def set_lines(self, lines: Sequence[TextLine]) -> None:
        self.set_rows(lines)

    def display(self, record: TextLine, row: int, column: int) -> Any:
        if column == 0:
            return row + 1
        if column == 1:
            return record.text
        return f"{record.score:.1%}"

    def role_data(self, record: TextLine, row: int, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.UserRole and column == 2:
            return record.score  # the bar delegate's fraction
        return None


class KeyValueModel(RowTableModel):
    """Two or more text columns: timings, output statistics, comparison rows."""

    def __init__(self, columns: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self._columns = tuple(columns)
        self.RIGHT_ALIGNED = frozenset(range(1, len(self._columns)))

    def set_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        super().set_rows([tuple(str(v) for v in r) for r in rows])

    def headers(self) -> Sequence[str]:
        return self._columns

    def display(self, record: tuple[str, ...], row: int, column: int) -> Any:
        return record[column]

    def role_data(self, record: tuple[str, ...], row: int, column: int, role: int) -> Any:
        value = record[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return value
        if role == Qt.ItemDataRole.ForegroundRole:
            if value == "PASS":
                return QColor("#188038")
            if value == "FAIL":
                return error_colour()
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


# ---------------------------------------------------------------------------------------------
# Report → rows (plain functions, tested without widgets)


def class_text(record: ClassScore) -> str:
    """ "espresso  (class 967)" for a named class; "class 282" for one no labels named (its
    label is already the number, so it is not said twice)."""
    unnamed = unnamed_label(record.index)
    if not record.label or not record.is_named:
        return unnamed
    return f"{record.label}  ({unnamed})"


def runner_text(
    runner: str,
    detail: str,
    *,
    engine_given: bool,
    compared: bool,
    notes: Sequence[str] = (),
) -> str:
    """Which runner ran and why, e.g. "ONNX Runtime (CPU) — no GPU for the engine".

    runner: "TensorRT" or "ONNX Runtime"; detail: the report's runner detail; engine_given:
    the user chose an engine; compared: ONNX Runtime ran as the reference; notes: the
    report's notes (the one saying why TensorRT did not run)."""
    detail = (
        (detail or runner)
        .replace("CPUExecutionProvider", "CPU")
        .replace("CUDAExecutionProvider", "CUDA")
        .replace("TensorrtExecutionProvider", "TensorRT EP")
    )
    if runner == "TensorRT":
        if compared:
            return f"{detail} — the engine ran on this GPU; ONNX Runtime ran as the reference"
        return f"{detail} — the engine ran on this GPU"
    if engine_given:
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


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


TIMING_NAMES = {
    "load_ms": "Load (image, session or engine)",
    "preprocess_ms": "Preprocess",
    "inference_ms": "Inference",
    "postprocess_ms": "Postprocess",
    "reference_inference_ms": "ONNX Runtime reference run",
}


def timing_rows(timings: Mapping[str, float | None]) -> list[tuple[str, str]]:
    """(step, "12.34 ms") rows from `Timings.to_dict()`; steps that did not run are left out."""
    return [
        (TIMING_NAMES.get(key) or key.removesuffix("_ms").replace("_", " ").capitalize(), _ms(ms))
        for key, ms in timings.items()
        if ms is not None
    ]


def stats_rows(stats: Sequence[OutputStats]) -> list[tuple[str, ...]]:
    return [
        (
            s.name,
            shape_text(s.shape),
            f"{s.min:.4g}",
            f"{s.max:.4g}",
            f"{s.mean:.4g}",
            f"{s.std:.4g}",
        )
        for s in stats
    ]


def comparison_rows(comparison: Comparison) -> list[tuple[str, ...]]:
    """One row per compared output: name, max/mean abs error, PASS/FAIL."""
    return [
        (o.name, f"{o.max_abs:.3g}", f"{o.mean_abs:.3g}", "PASS" if o.passed else "FAIL")
        for o in comparison.outputs
    ]
