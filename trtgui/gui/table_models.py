"""Qt table models over core records (tensor specs, op histograms, shape profiles).

`RowTableModel` is the one base every table of the GUI uses: a list of rows, `COLUMNS` for the
headers, `display(record, row, column)` for the text and `role_data(...)` for colours, fonts,
tooltips and sort keys. `RecordTableModel` builds on it for tables declared as a list of
`Column`s; the concrete models below only declare columns. Views get real data (sorting by
number works), never strings pasted into widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from trtgui.core.shapes import Dim, dim_text, shape_arg, shape_text, split_dims
from trtgui.core.tensors import TensorSpec
from trtgui.core.text import format_bytes as format_bytes  # panels import it from here

if TYPE_CHECKING:
    from trtgui.core.model.onnx_model import ModelInfo
    from trtgui.core.model.profiles import ShapeProfile

Index = QModelIndex | QPersistentModelIndex
ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]  # display value
    tooltip: Callable[[Any], str] | None = None
    numeric: bool = False  # right-aligned; sorts by value


# The GUI writes shapes with core's one writer (the CLI uses it too), under the name the
# panels import.
format_shape = shape_text


def model_shapes(model: ModelInfo | None) -> dict[str, tuple[Dim, ...] | None]:
    """Tensor name -> shape of a `ModelInfo`'s inputs and outputs ({} for None)."""
    if model is None:
        return {}
    return {t.name: t.shape for t in (*model.inputs, *model.outputs)}


def format_count(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


# What a cell and its tooltip show of a value at most: names come from files, and Qt lays out
# a 100,000-character tensor name whole each time it measures the column (~80 ms a time).
CELL_CHARS = 300
TOOLTIP_CHARS = 2000


def cut_text(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


class RowTableModel(QAbstractTableModel):
    """Read-only rows under the `COLUMNS` headers.

    Subclasses say what a cell shows in `display` and, for any other role, in `role_data`;
    columns listed in `RIGHT_ALIGNED` are right-aligned (numbers). `set_rows` replaces all
    rows at once (one model reset).
    """

    COLUMNS: tuple[str, ...] = ()
    RIGHT_ALIGNED: frozenset[int] = frozenset()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    # -- rows

    def set_rows(self, rows: Sequence[Any]) -> None:
        with self.resetting():
            self._rows = list(rows)

    def rows(self) -> list[Any]:
        return list(self._rows)

    def row(self, row: int) -> Any:
        return self._rows[row]

    @contextmanager
    def resetting(self) -> Iterator[None]:
        """`with self.resetting():` around a change of the rows (or of the columns)."""
        self.beginResetModel()
        try:
            yield
        finally:
            self.endResetModel()

    # -- what subclasses fill in

    def headers(self) -> Sequence[str]:
        return self.COLUMNS

    def display(self, record: Any, row: int, column: int) -> Any:
        raise NotImplementedError

    def role_data(self, record: Any, row: int, column: int, role: int) -> Any:
        """Anything but the display text and the alignment: colours, fonts, tooltips, keys."""
        return None

    # -- QAbstractTableModel

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers())

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers()[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        record = self._rows[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(record, row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in self.RIGHT_ALIGNED:
            return ALIGN_RIGHT
        return self.role_data(record, row, column, role)


class RecordTableModel(RowTableModel):
    """Read-only rows of records, one `Column` per column; row numbers as vertical headers."""

    columns: tuple[Column, ...] = ()

    def __init__(self, records: Sequence[Any] = (), parent: Any = None) -> None:
        super().__init__(parent)
        self._rows = list(records)

    def set_records(self, records: Sequence[Any]) -> None:
        """Alias of `set_rows` (the name the Build panel calls)."""
        self.set_rows(records)

    def headers(self) -> Sequence[str]:
        return tuple(c.header for c in self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Vertical:
            return section + 1
        return super().headerData(section, orientation, role)

    def display(self, record: Any, row: int, column: int) -> Any:
        value = self.columns[column].value(record)
        return value if isinstance(value, (int, float)) else cut_text(str(value), CELL_CHARS)

    def role_data(self, record: Any, row: int, column: int, role: int) -> Any:
        col = self.columns[column]
        if role == Qt.ItemDataRole.ToolTipRole and col.tooltip is not None:
            return cut_text(str(col.tooltip(record)), TOOLTIP_CHARS)
        if role == Qt.ItemDataRole.TextAlignmentRole and col.numeric:
            return ALIGN_RIGHT
        return None


def _dynamic_tip(t: TensorSpec) -> str:
    # The shape itself comes first: a long symbolic name may be elided in the cell.
    if t.shape is None:
        return "rank unknown: the model does not say"
    dims = [d for d in t.shape if not isinstance(d, int) or d < 0]
    if not dims:
        return f"{shape_text(t.shape)}: static shape"
    names = ", ".join(dim_text(d) for d in dims)
    return (
        f"{shape_text(t.shape)}\ndynamic dims: {names} — set them in the Build panel's "
        "shape profiles"
    )


def _network_tip(t: TensorSpec) -> str:
    if not t.is_dynamic:
        return "static shape"
    return "dynamic dims vary within the engine's shape profiles"


class TensorTableModel(RecordTableModel):
    """ONNX graph inputs/outputs (`TensorSpec`s), with a Kind column ("input"/"output")."""

    columns = (
        Column("Kind", lambda r: r[0]),
        Column("Name", lambda r: r[1].name, lambda r: r[1].name),
        Column("Type", lambda r: r[1].dtype),
        Column("Shape", lambda r: shape_text(r[1].shape), lambda r: _dynamic_tip(r[1])),
        Column("Dynamic", lambda r: "yes" if r[1].is_dynamic else "no"),
    )
    SHAPE_COLUMN = 3

    def set_model_io(self, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec]) -> None:
        self.set_records([("input", t) for t in inputs] + [("output", t) for t in outputs])


class OpHistogramModel(RecordTableModel):
    """(op type, count, share) rows, most frequent first."""

    columns = (
        Column("Operator", lambda r: r[0]),
        Column("Count", lambda r: r[1], numeric=True),
        Column("Share", lambda r: f"{r[2]:.1%}", numeric=True),
    )

    def set_histogram(self, histogram: dict[str, int]) -> None:
        total = sum(histogram.values()) or 1
        rows = sorted(histogram.items(), key=lambda kv: (-kv[1], kv[0]))
        self.set_records([(op, n, n / total) for op, n in rows])


class NetworkTensorModel(RecordTableModel):
    """The built network's I/O tensors (`TensorSpec`s); dynamic dims (-1) are named after the
    ONNX model's when `set_records` gets its shapes, else shown as "?"."""

    columns = (
        Column("Kind", lambda r: "input" if r.is_input else "output"),
        Column("Name", lambda r: r.name, lambda r: r.name),
        Column("Type", lambda r: r.dtype),
        Column("Shape", lambda r: shape_text(r.shape), lambda r: _network_tip(r)),
    )
    SHAPE_COLUMN = 3

    def __init__(self, records: Sequence[TensorSpec] = (), parent: Any = None) -> None:
        super().__init__(records, parent)
        self._model_shapes: dict[str, tuple[Dim, ...] | None] = {}

    def set_records(
        self,
        records: Sequence[TensorSpec],
        model_shapes: Mapping[str, tuple[Dim, ...] | None] | None = None,
    ) -> None:
        self._model_shapes = dict(model_shapes or {})
        super().set_records(records)

    def display(self, record: Any, row: int, column: int) -> Any:
        if column == self.SHAPE_COLUMN:
            return shape_text(record.shape, self._model_shapes.get(record.name))
        return super().display(record, row, column)


class ProfileRowsModel(RecordTableModel):
    """Read-only (profile index, InputShape) rows for showing built profiles."""

    columns = (
        Column("Profile", lambda r: r[0], numeric=True),
        Column("Input", lambda r: r[1].name),
        Column("Min", lambda r: shape_text(r[1].min)),
        Column("Opt", lambda r: shape_text(r[1].opt)),
        Column("Max", lambda r: shape_text(r[1].max)),
    )

    def set_profiles(self, profiles: Sequence[ShapeProfile]) -> None:
        self.set_records([(i, s) for i, p in enumerate(profiles) for s in p.inputs])


def _parse_shape(text: str) -> tuple[int, ...]:
    parts = split_dims(text.replace(",", "x"))  # "x", "×" (a shape pasted from a table) or ","
    if not parts or any(not p.lstrip("-").isdigit() for p in parts):
        raise ValueError(f"{text!r} is not a shape like 1x3x224x224")
    return tuple(int(p) for p in parts)


@dataclass
class ProfileRow:
    """One editable row: profile index, input name, min/opt/max as text."""

    profile: int
    name: str
    min: str
    opt: str
    max: str
    template: str = ""  # the model's shape, e.g. batch×3×224×224, for tooltips


class ProfileEditModel(RowTableModel):
    """Editable min/opt/max shapes per dynamic input per profile ("1x3x224x224" text)."""

    COLUMNS = ("Profile", "Input", "Min", "Opt", "Max")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.bad_cells: set[tuple[int, int]] = set()

    @property
    def live_rows(self) -> list[ProfileRow]:
        """The rows themselves (edited in place), unlike `rows()`'s copy."""
        return self._rows

    def set_rows(self, rows: Sequence[ProfileRow]) -> None:
        with self.resetting():
            self._rows = list(rows)
            self.bad_cells = set()

    def set_profiles(
        self, profiles: Sequence[ShapeProfile], templates: dict[str, str] | None = None
    ) -> None:
        templates = templates or {}
        rows = [
            ProfileRow(
                i,
                s.name,
                # Cells people edit hold the typed form ("x" is on every keyboard).
                shape_arg(s.min),
                shape_arg(s.opt),
                shape_arg(s.max),
                templates.get(s.name, ""),
            )
            for i, p in enumerate(profiles)
            for s in p.inputs
        ]
        self.set_rows(rows)

    def profiles(self, mark: bool = True) -> tuple[ShapeProfile, ...]:
        """The rows as `ShapeProfile`s; raises ValueError naming the bad cell.

        With `mark`, unparsable cells are highlighted (and earlier highlights cleared).
        """
        from trtgui.core.model.profiles import InputShape, ShapeProfile

        by_profile: dict[int, list[InputShape]] = {}
        bad: set[tuple[int, int]] = set()
        first_error: ValueError | None = None
        for r, row in enumerate(self.live_rows):
            shapes = []
            for c, text in ((2, row.min), (3, row.opt), (4, row.max)):
                try:
                    shapes.append(_parse_shape(text))
                except ValueError as exc:
                    bad.add((r, c))
                    if first_error is None:
                        first_error = ValueError(
                            f"{row.name}, {self.COLUMNS[c].lower()} of profile {row.profile}: {exc}"
                        )
            if len(shapes) == 3:
                by_profile.setdefault(row.profile, []).append(InputShape(row.name, *shapes))
        if mark:
            self._set_bad(bad)
        if first_error is not None:
            raise first_error
        return tuple(ShapeProfile(tuple(v)) for _, v in sorted(by_profile.items()))

    def mark_input_bad(self, name: str | None) -> None:
        """Highlight every row of input `name` (after a ProfileError naming it)."""
        rows = enumerate(self.live_rows)
        bad = {(r, c) for r, row in rows if row.name == name for c in (2, 3, 4)}
        self._set_bad(bad)

    def set_bad_cells(self, bad: set[tuple[int, int]]) -> None:
        self._set_bad(bad)

    def unparsable_cells(self) -> set[tuple[int, int]]:
        bad = set()
        for r, row in enumerate(self.live_rows):
            for c, text in ((2, row.min), (3, row.opt), (4, row.max)):
                try:
                    _parse_shape(text)
                except ValueError:
                    bad.add((r, c))
        return bad

    def _set_bad(self, bad: set[tuple[int, int]]) -> None:
        if bad != self.bad_cells:
            self.bad_cells = bad
            if self.live_rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self.live_rows) - 1, 4))

    def add_profile(self) -> None:
        """Append a copy of the last profile as a new one."""
        if not self.live_rows:
            return
        last = max(r.profile for r in self.live_rows)
        copies = [
            ProfileRow(last + 1, r.name, r.min, r.opt, r.max, r.template)
            for r in self.live_rows
            if r.profile == last
        ]
        first = len(self.live_rows)
        self.beginInsertRows(QModelIndex(), first, first + len(copies) - 1)
        self.live_rows.extend(copies)
        self.endInsertRows()

    def remove_last_profile(self) -> None:
        if not self.live_rows:
            return
        last = max(r.profile for r in self.live_rows)
        if last == 0:
            return
        self.set_rows([r for r in self.live_rows if r.profile != last])

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() >= 2:
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def display(self, record: ProfileRow, row: int, column: int) -> Any:
        return (record.profile, record.name, record.min, record.opt, record.max)[column]

    def role_data(self, record: ProfileRow, row: int, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.EditRole:
            return self.display(record, row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = f"model shape {record.template}" if record.template else ""
            return tip + ("\nFormat: 1x3x224x224 (x or ×)" if column >= 2 else "")
        if role == Qt.ItemDataRole.BackgroundRole and (row, column) in self.bad_cells:
            from PySide6.QtGui import QColor

            return QColor(230, 80, 80, 90)
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or index.column() < 2:
            return False
        row = self.live_rows[index.row()]
        text = str(value).strip()
        setattr(row, ("min", "opt", "max")[index.column() - 2], text)
        self.dataChanged.emit(index, index)
        return True
