"""The Inference panel's result views: top-k and box tables, key/value tables, score bars,
and the plain functions that turn a `PredictionReport` into their rows.

The row functions read report records by field name (`get_field`), so they are tested without
widgets and accept the dataclasses of `trtgui.core.predict.flow` as well as plain dicts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QLabel, QStyledItemDelegate, QStyleOptionViewItem

from trtgui.core.predict.postprocess import unnamed_label
from trtgui.core.shapes import shape_text
from trtgui.gui.table_models import RowTableModel
from trtgui.gui.table_models import get_field as _get
from trtgui.gui.widgets import error_colour

Index = QModelIndex | QPersistentModelIndex

# ---------------------------------------------------------------------------------------------
# Result tables


class ClassScoreModel(RowTableModel):
    """# | Class | Score — the top-k list of a classifier."""

    COLUMNS = ("#", "Class", "Score")
    RIGHT_ALIGNED = frozenset({0, 2})

    def set_items(self, items: Sequence[Any]) -> None:
        self.set_rows(items)

    def labels(self) -> list[str]:
        return [str(_get(c, "label", default="")) for c in self._rows]

    def display(self, record: Any, row: int, column: int) -> Any:
        if column == 0:
            return row + 1
        if column == 1:
            return class_text(record)
        return f"{float(_get(record, 'score', default=0.0)):.1%}"

    def role_data(self, record: Any, row: int, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.UserRole and column == 2:
            return float(_get(record, "score", default=0.0))  # the bar delegate's fraction
        if role == Qt.ItemDataRole.FontRole and row == 0 and column == 1:
            font = QLabel().font()
            font.setBold(True)
            return font
        return None


class BoxModel(RowTableModel):
    """# | Label | Score | x1 | y1 | x2 | y2 — detections in original-image pixels."""

    COLUMNS = ("#", "Label", "Score", "x1", "y1", "x2", "y2")
    RIGHT_ALIGNED = frozenset({0, 2, 3, 4, 5, 6})

    def set_boxes(self, boxes: Sequence[Any]) -> None:
        self.set_rows(boxes)

    def display(self, record: Any, row: int, column: int) -> Any:
        if column == 0:
            return row + 1
        if column == 1:
            return str(_get(record, "label", default=""))
        if column == 2:
            return f"{float(_get(record, 'score', default=0.0)):.1%}"
        return f"{float(_get(record, self.COLUMNS[column], default=0.0)):.0f}"

    def role_data(self, record: Any, row: int, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.UserRole and column == 2:
            return float(_get(record, "score", default=0.0))
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


def class_text(record: Any) -> str:
    """ "espresso  (class 967)" for a named class; "class 282" for one no labels named (its
    label is already the number, so it is not said twice)."""
    index = _get(record, "index", default="?")
    label = str(_get(record, "label", default="") or "")
    unnamed = unnamed_label(index) if isinstance(index, int) else f"class {index}"
    if not label or label == unnamed:
        return unnamed
    return f"{label}  ({unnamed})"


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
        shape = shape_text(_get(s, "shape", default=()))
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
