"""Table models for the Engine panel: I/O tensors with their profiles, layers, precision summary.

The models hold row records (`IoRow`, `LayerRow`) built from core records: the I/O table from
any `TensorSpec` — an `EngineTensor` of `EngineInfo` (with format, location and profiles), the
tensors of a build record or of a finished build (name, dtype and shape only) — so one table
renders all of them; the layer table from `EngineLayer`s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont

from trtgui.core.engine.info import EngineLayer, EngineTensor, ProfileShapes
from trtgui.core.shapes import Dim, named_shape
from trtgui.core.tensors import TensorSpec
from trtgui.gui.table_models import RowTableModel
from trtgui.gui.table_models import format_shape as format_shape  # the GUI's one shape writer

ShapeLike = Sequence[Dim] | None

# Rows a table holds; past them one last row says how many more there are. A build record
# can list any number of tensors (a 200k-tensor sidecar took 20 s to show in full), and the
# table of a real engine never comes near these.
MAX_IO_ROWS = 2000
MAX_LAYER_ROWS = 20000
CELL_CHARS = 300  # of a name in a cell; the tooltip shows up to TOOLTIP_CHARS
TOOLTIP_CHARS = 2000


def _cell(text: str, limit: int = CELL_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


# One colour per precision, used in the layer table and the summary bar.
PRECISION_COLOURS: dict[str, str] = {
    "FP32": "#4e79a7",
    "TF32": "#76b7b2",
    "FP16": "#59a14f",
    "BF16": "#8cd17d",
    "FP8": "#f28e2b",
    "INT8": "#e15759",
    "INT4": "#b07aa1",
    "FP4": "#ff9da7",
    "INT32": "#9c755f",
    "INT64": "#bab0ac",
    "BOOL": "#bab0ac",
    "UINT8": "#edc948",
    "Mixed": "#a0a0a0",
    "Unknown": "#c8c8c8",
}


# ---------------------------------------------------------------------------------------------
# I/O tensors


def profile_text(profile: ProfileShapes) -> str:
    """ "1×3×224×224  ·  4×3×224×224  ·  8×3×224×224" (min · opt · max), one shape if fixed."""
    if profile.min == profile.opt == profile.max:
        return format_shape(profile.min)
    return "  ·  ".join(format_shape(s) for s in (profile.min, profile.opt, profile.max))


@dataclass(frozen=True)
class IoRow:
    name: str
    is_input: bool
    dtype: str
    shape: tuple[Dim, ...] | None
    format: str = ""
    location: str = ""
    profiles: tuple[ProfileShapes, ...] = ()
    more: int = 0  # > 0: not a tensor but the "… N more" row closing a capped table

    @property
    def is_dynamic(self) -> bool:
        return self.shape is None or any(
            d is None or isinstance(d, str) or (isinstance(d, int) and d < 0) for d in self.shape
        )


def more_row(count: int) -> IoRow:
    return IoRow(f"… {count:,} more", False, "", (), more=count)


def io_rows_from_tensors(
    tensors: Iterable[TensorSpec],
    model_shapes: Mapping[str, ShapeLike] | None = None,
    limit: int = MAX_IO_ROWS,
) -> list[IoRow]:
    """Rows from tensor specs; an `EngineTensor` adds its format, location and profiles.

    `model_shapes` (tensor name -> the ONNX model's shape) names the dims the engine only
    knows as -1, so the table says "batch×3×224×224" like the Model panel. At most `limit`
    tensors get a row (inputs first); a last row says how many more there are.
    """
    every = list(tensors)
    ordered = [t for t in every if t.is_input] + [t for t in every if not t.is_input]
    more = max(0, len(ordered) - limit)
    rows = _io_rows(ordered[:limit], model_shapes or {})
    return [*rows, more_row(more)] if more else rows


def _io_rows(tensors: Sequence[TensorSpec], names: Mapping[str, ShapeLike]) -> list[IoRow]:
    rows = []
    for t in tensors:
        shape = None if t.shape is None else named_shape(t.shape, names.get(t.name))
        if isinstance(t, EngineTensor):
            rows.append(IoRow(t.name, t.is_input, t.dtype, shape, t.format, t.location, t.profiles))
        else:
            rows.append(IoRow(t.name, t.is_input, t.dtype, shape))
    # Inputs first, then outputs, each in engine order: people read a network left to right.
    return rows


class IoTableModel(RowTableModel):
    """Name | I/O | Data type | Shape | Format | Location | Profile 0 (min · opt · max) | …"""

    BASE_COLUMNS = ("Name", "I/O", "Data type", "Shape", "Format", "Location")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._num_profiles = 0

    def set_rows(self, rows: Sequence[IoRow], num_profiles: int | None = None) -> None:
        with self.resetting():
            self._rows = list(rows)
            most = max((len(r.profiles) for r in self._rows), default=0)
            self._num_profiles = max(most, num_profiles or 0) if most else 0

    def headers(self) -> Sequence[str]:
        profiles = (f"Profile {k}  (min · opt · max)" for k in range(self._num_profiles))
        return (*self.BASE_COLUMNS, *profiles)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and section >= len(self.BASE_COLUMNS):
            return "Shapes this optimization profile accepts: minimum · optimum · maximum"
        return super().headerData(section, orientation, role)

    def display(self, record: IoRow, row: int, column: int) -> Any:
        if record.more:
            return record.name if column == 0 else ""
        if column < len(self.BASE_COLUMNS):
            kind = "Input" if record.is_input else "Output"
            shape = _cell(format_shape(record.shape))
            name = _cell(record.name)
            return (name, kind, record.dtype, shape, record.format, record.location)[column]
        k = column - len(self.BASE_COLUMNS)
        if k < len(record.profiles):
            return profile_text(record.profiles[k])
        return "—" if record.is_input else ""

    def role_data(self, record: IoRow, row: int, column: int, role: int) -> Any:
        if record.more:
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return _cell(record.name, TOOLTIP_CHARS)
            return self.display(record, row, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return QBrush(QColor("#2a7ab0" if record.is_input else "#b5651d"))
        if role == Qt.ItemDataRole.FontRole and column == 0:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.FontRole and (column == 3 or column >= len(self.BASE_COLUMNS)):
            font = QFont("monospace")
            font.setStyleHint(QFont.StyleHint.Monospace)
            return font
        return None


# ---------------------------------------------------------------------------------------------
# Layers and the precision summary


@dataclass(frozen=True)
class LayerRow:
    index: int
    name: str
    type: str
    precision: str
    tactic: str
    inputs: tuple[str, ...] = field(default_factory=tuple)
    outputs: tuple[str, ...] = field(default_factory=tuple)
    more: int = 0  # > 0: the "… N more" row closing a capped table


def normalise_precision(text: str) -> str:
    """ "Half" / "kHALF" / "Row major linear FP16 format" -> "FP16"; "" -> "Unknown"."""
    t = (text or "").upper()
    for key, label in (
        ("BF16", "BF16"),
        ("FP16", "FP16"),
        ("HALF", "FP16"),
        ("TF32", "TF32"),
        ("FP32", "FP32"),
        ("FLOAT", "FP32"),
        ("FP8", "FP8"),
        ("E4M3", "FP8"),
        ("FP4", "FP4"),
        ("INT64", "INT64"),
        ("INT32", "INT32"),
        ("INT8", "INT8"),
        ("INT4", "INT4"),
        ("UINT8", "UINT8"),
        ("BOOL", "BOOL"),
        ("MIXED", "Mixed"),
    ):
        if key in t:
            return label
    return "Unknown" if not t.strip() else text.strip()


def layer_rows_from(layers: Iterable[EngineLayer], limit: int = MAX_LAYER_ROWS) -> list[LayerRow]:
    """Rows from EngineInfo layers, precisions in the summary's words; at most `limit`, then
    a last row saying how many more there are."""
    every = list(layers)
    rows = [
        LayerRow(
            index=i,
            name=la.name,
            type=la.type,
            precision=normalise_precision(la.precision),
            tactic=la.tactic,
            inputs=la.inputs,
            outputs=la.outputs,
        )
        for i, la in enumerate(every[:limit])
    ]
    more = len(every) - limit
    if more > 0:
        rows.append(LayerRow(limit, f"… {more:,} more", "", "", "", more=more))
    return rows


def precision_summary(rows: Iterable[LayerRow]) -> dict[str, int]:
    """Layer count per precision, largest first (ties by name, so the order is stable)."""
    counts = Counter(r.precision for r in rows if not r.more)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


class LayerTableModel(RowTableModel):
    """# | Name | Type | Precision | Tactic"""

    COLUMNS = ("#", "Name", "Type", "Precision", "Tactic")
    RIGHT_ALIGNED = frozenset({0})

    def display(self, record: LayerRow, row: int, column: int) -> Any:
        r = record
        if r.more:
            return r.name if column == 1 else ""
        return (r.index, _cell(r.name), r.type, r.precision, _cell(r.tactic))[column]

    def role_data(self, record: LayerRow, row: int, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.UserRole and record.more:
            # sort key: the "… N more" row stays last when sorted ascending by any column
            return "\uffff" if column else record.index
        if record.more:
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 1:
                lines = [_cell(record.name, TOOLTIP_CHARS)]
                if record.inputs:
                    lines.append("in:  " + _cell(", ".join(record.inputs), TOOLTIP_CHARS))
                if record.outputs:
                    lines.append("out: " + _cell(", ".join(record.outputs), TOOLTIP_CHARS))
                return "\n".join(lines)
            return str(self.display(record, row, column))
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return self.display(record, row, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == 3:
            return QBrush(QColor(PRECISION_COLOURS.get(record.precision, "#666666")).darker(130))
        return None


class PrecisionSummaryModel(RowTableModel):
    """Precision | Layers | Share — one row per precision, largest first."""

    COLUMNS = ("Precision", "Layers", "Share")
    RIGHT_ALIGNED = frozenset({1, 2})

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._total = 0

    def set_summary(self, summary: Mapping[str, int]) -> None:
        with self.resetting():
            self._rows = sorted(summary.items(), key=lambda kv: (-kv[1], kv[0]))
            self._total = sum(summary.values())

    def summary(self) -> dict[str, int]:
        return dict(self._rows)

    def display(self, record: tuple[str, int], row: int, column: int) -> Any:
        name, count = record
        if column == 0:
            return name
        if column == 1:
            return count
        return f"{100.0 * count / self._total:.1f} %" if self._total else "—"

    def role_data(self, record: tuple[str, int], row: int, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return QColor(PRECISION_COLOURS.get(record[0], "#666666"))
        return None
