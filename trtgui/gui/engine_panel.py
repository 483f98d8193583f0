"""The Engine panel: what an engine file is, whether it loads here, and what is inside it.

It renders core results — `EngineCheck` (`trtgui.core.engine.plan.check_engine`: plan header,
compatibility verdict, build sidecar), `EngineInfo` (`inspect_engine`: I/O tensors with
profiles, layers, device memory) and `BuildResult` (a finished build) — and emits intents.
When the engine cannot be loaded on this machine (no GPU, a GPU the backend refuses, a version
mismatch) a coloured banner says so in one line, with the details one click away, and the panel
still shows the header, the sidecar and the network I/O recorded at build time.

`open_engine(path)` runs check + inspect in a worker thread (`trtgui.gui.workers`); the
`show_*` methods render results the caller already has.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QWidget,
)

from trtgui.core.backends import backend_title
from trtgui.core.build.settings import Precision
from trtgui.core.engine.plan import verdict_words
from trtgui.core.errors import BackendUnavailable, EngineLoadError, TrtGuiError
from trtgui.gui.engine_models import (
    PRECISION_COLOURS,
    IoTableModel,
    LayerTableModel,
    PrecisionSummaryModel,
    io_rows_from_tensors,
    layer_rows_from,
    precision_summary,
)
from trtgui.gui.table_models import format_bytes, model_shapes
from trtgui.gui.table_models import get_field as _get
from trtgui.gui.widgets import (
    MutedLabel,
    column,
    data_table,
    dropped_path,
    group_box,
    hbox,
    html_escape,
    muted_label,
    selectable_label,
    show_file,
    splitter,
    vbox,
)

ENGINE_FILTER = "TensorRT engines (*.engine *.plan *.trt);;All files (*)"

BANNER_STYLES: dict[str, tuple[str, str, str]] = {
    # level: (background, border, text)
    "ok": ("#e6f4ea", "#34a853", "#0d5223"),
    "info": ("#e8f0fe", "#4285f4", "#174ea6"),
    "warning": ("#fef7e0", "#f9ab00", "#7a4f01"),
    "error": ("#fce8e6", "#d93025", "#8c1d18"),
}
BANNER_ICONS = {"ok": "✔", "info": "ℹ", "warning": "⚠", "error": "✖"}
# Verdict.status of trtgui.core.engine.plan -> banner level. A missing GPU is amber: the engine is
# fine, this machine just cannot load it; a version or backend mismatch is red: rebuild.
VERDICT_LEVELS = {
    "ok": "ok",
    "needs_gpu": "warning",
    "needs_backend": "error",
    "rebuild": "error",
    "unknown": "warning",
}


@dataclasses.dataclass(frozen=True)
class EngineLoadOutcome:
    """What the open-engine worker hands back: the check, and the inspection or why not."""

    path: Path
    check: Any
    info: Any | None
    inspect_error: TrtGuiError | None
    model: Any | None = None  # the ONNX model's ModelInfo, when the sidecar names a file here


def load_engine_job(path: str | Path) -> EngineLoadOutcome:
    """Worker body: check the file (no GPU needed), then try to inspect it (needs a GPU).

    A check failure raises (a corrupt or foreign file); an inspection failure is part of the
    outcome, because the panel still has the header and sidecar to show.
    """
    from trtgui.core.engine.plan import check_engine, inspect_engine

    check = check_engine(path)
    info = None
    error: TrtGuiError | None = None
    try:
        info = inspect_engine(path)
    except (BackendUnavailable, EngineLoadError) as exc:
        error = exc
    return EngineLoadOutcome(Path(path), check, info, error, _source_model(check))


def _source_model(check: Any) -> Any | None:
    """The ModelInfo of the ONNX file the sidecar names, if it is still there: its symbolic
    dim names ("batch") label the engine's dynamic dims. Weights are not read."""
    from trtgui.core.model.onnx_model import inspect_onnx

    sidecar = _get(check, "sidecar")
    onnx_path = _get(_get(sidecar, "settings"), "onnx_path") if sidecar else None
    if not onnx_path or not Path(onnx_path).is_file():
        return None
    try:
        return inspect_onnx(onnx_path)
    except TrtGuiError:  # moved or replaced since the build: the dims stay "?"
        return None


# ---------------------------------------------------------------------------------------------
# Small widgets


class Banner(QFrame):
    """One coloured line (icon, message, "Details" link) with the details folded beneath."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self._level = "info"
        self._icon = QLabel()
        self._text = selectable_label(wrap=True)
        self._text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._link = QLabel('<a href="#details">Details…</a>')
        self._link.setTextFormat(Qt.TextFormat.RichText)
        self._link.linkActivated.connect(self.toggle_details)
        self._details = QPlainTextEdit()
        self._details.setReadOnly(True)
        self._details.setMaximumHeight(140)
        self._details.setVisible(False)
        box = vbox(
            hbox(self._icon, (self._text, 1), self._link, margins=0),
            self._details,
            margins=(10, 6, 10, 6),
        )
        box.setSpacing(4)
        self.setLayout(box)
        self.setVisible(False)

    def show_message(self, level: str, message: str, details: str = "") -> None:
        self._level = level
        bg, border, fg = BANNER_STYLES.get(level, BANNER_STYLES["info"])
        self.setStyleSheet(
            f"QFrame#banner {{ background: {bg}; border: 1px solid {border};"
            f" border-left: 5px solid {border}; border-radius: 4px; }}"
            f" QFrame#banner QLabel {{ color: {fg}; background: transparent; border: none; }}"
            f" QFrame#banner QLabel a {{ color: {fg}; }}"
        )
        self._icon.setText(f"<b style='font-size:15px'>{BANNER_ICONS.get(level, '')}</b>")
        self._text.setText(f"<b>{html_escape(message)}</b>")
        self._details.setPlainText(details)
        self._link.setVisible(bool(details))
        self._details.setVisible(False)
        self.setVisible(True)

    def clear(self) -> None:
        self.setVisible(False)
        self._details.clear()

    @Slot()
    def toggle_details(self) -> None:
        show = not self._details.isVisible()
        self._details.setVisible(show)
        self._link.setText(f'<a href="#details">{"Hide details" if show else "Details…"}</a>')

    def level(self) -> str:
        return self._level if self.isVisibleTo(self.parentWidget() or self) else ""

    def message(self) -> str:
        return self._text.text().removeprefix("<b>").removesuffix("</b>")

    def details(self) -> str:
        return self._details.toPlainText()

    def details_visible(self) -> bool:
        return not self._details.isHidden()


class PrecisionBar(QWidget):
    """A horizontal stacked bar: one coloured segment per precision, width ∝ layer count."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._summary: dict[str, int] = {}
        self.setMinimumHeight(18)
        self.setMaximumHeight(18)

    def set_summary(self, summary: Mapping[str, int]) -> None:
        self._summary = dict(summary)
        self.setToolTip(", ".join(f"{k}: {v}" for k, v in self._summary.items()))
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        total = sum(self._summary.values())
        rect = self.rect().adjusted(0, 1, -1, -1)
        if total <= 0:
            painter.setPen(QColor("#c8c8c8"))
            painter.drawRoundedRect(rect, 3, 3)
            return
        x = float(rect.left())
        for name, count in self._summary.items():
            width = rect.width() * count / total
            painter.fillRect(
                int(x),
                rect.top(),
                max(1, round(width)),
                rect.height(),
                QColor(PRECISION_COLOURS.get(name, "#888888")),
            )
            x += width


def _pretty_value(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_pretty_value(v) for v in value) if value else "—"
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    if value is None or value == "":
        return "—"
    return str(value)


def _as_mapping(obj: Any) -> dict[str, Any]:
    """A record's fields as a dict (dataclass, mapping or `to_dict()`), else {}."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        data = to_dict()
        return dict(data) if isinstance(data, Mapping) else {}
    return {}


class KeyValueView(QWidget):
    """A two-column form of "Key: value" lines, replaced as a whole."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._form = QFormLayout(self)
        self._form.setContentsMargins(8, 6, 8, 6)
        self._form.setHorizontalSpacing(14)
        self._form.setVerticalSpacing(3)
        self._form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self._values: dict[str, str] = {}

    def set_items(self, items: list[tuple[str, str]]) -> None:
        while self._form.rowCount():
            self._form.removeRow(0)
        self._values = {}
        for key, value in items:
            label = selectable_label(value, wrap=True)
            label.setToolTip(value)
            key_label = MutedLabel(f"{key}:")
            self._form.addRow(key_label, label)
            self._values[key] = value

    def values(self) -> dict[str, str]:
        return dict(self._values)


# ---------------------------------------------------------------------------------------------
# The panel


class EnginePanel(QWidget):
    """Engine file check, I/O tensors with profiles, layers with precisions, device memory.

    Signals:
        open_engine_requested(str): the user picked an engine file (the panel opens it too).
        engine_loaded(object): an `EngineLoadOutcome` after `open_engine` finished.
        run_on_image_requested(str): "Test on an image" was pressed (engine path).
        busy_changed(bool): a worker started (True) or finished (False).
        load_finished(): the open-engine worker finished (success or failure), always last.
    """

    open_engine_requested = Signal(str)
    engine_loaded = Signal(object)
    run_on_image_requested = Signal(str)
    busy_changed = Signal(bool)
    load_finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._path: Path | None = None
        self._check: Any = None
        self._info: Any = None
        self._build_result: Any = None
        self._handle: Any = None
        self._last_error: BaseException | None = None
        self._model_shapes: dict[str, Any] = {}  # ONNX tensor name -> shape, names dims

        # -- top bar
        self.open_button = QPushButton("Open engine…")
        self.open_button.clicked.connect(self._choose_file)
        self.path_label = selectable_label("No engine open. Open an engine file, or build one.")
        self.run_button = QPushButton("Test on an image →")
        self.run_button.setEnabled(False)
        self.run_button.clicked.connect(self._request_run)
        top = hbox(self.open_button, (self.path_label, 1), self.run_button)

        self.banner = Banner()

        # -- summary: header / this machine, and the build sidecar
        self.header_view = KeyValueView()
        self.build_view = KeyValueView()
        summary = QWidget()
        summary.setLayout(
            hbox(
                (group_box("Engine", self.header_view), 1),
                (group_box("Build (sidecar)", self.build_view), 1),
                margins=0,
            )
        )

        # -- I/O tab
        self.io_model = IoTableModel(self)
        self.io_view = data_table(self.io_model)
        self.io_note = muted_label(padding=2)
        io_tab = column(self.io_note, (self.io_view, 1), margins=4)

        # -- Layers tab: filterable table | precision summary
        self.layer_model = LayerTableModel(self)
        self.layer_proxy = QSortFilterProxyModel(self)
        self.layer_proxy.setSourceModel(self.layer_model)
        self.layer_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.layer_proxy.setFilterKeyColumn(-1)
        self.layer_proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.layer_view = data_table(self.layer_proxy)
        self.layer_view.setSortingEnabled(True)
        self.layer_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.layer_filter = QLineEdit()
        self.layer_filter.setPlaceholderText("Filter layers by name, type, precision or tactic…")
        self.layer_filter.setClearButtonEnabled(True)
        self.layer_filter.textChanged.connect(self.layer_proxy.setFilterFixedString)
        self.layer_note = muted_label(padding=2)
        left = column(self.layer_filter, self.layer_note, (self.layer_view, 1))

        self.summary_model = PrecisionSummaryModel(self)
        self.summary_view = data_table(self.summary_model)
        self.summary_view.setMinimumWidth(220)
        self.precision_bar = PrecisionBar()
        self.summary_title = QLabel("<b>Precision summary</b>")
        right = column(self.summary_title, self.precision_bar, (self.summary_view, 1))
        layer_split = splitter(
            Qt.Orientation.Horizontal, left, right, stretch=(4, 1), sizes=[800, 260]
        )
        layers_tab = column(layer_split, margins=4)

        # -- Sidecar tab: the raw JSON
        self.sidecar_text = QPlainTextEdit()
        self.sidecar_text.setReadOnly(True)
        self.sidecar_text.setStyleSheet("font-family: monospace;")

        self.tabs = QTabWidget()
        self.tabs.addTab(io_tab, "I/O tensors")
        self.tabs.addTab(layers_tab, "Layers")
        self.tabs.addTab(self.sidecar_text, "Build sidecar (JSON)")

        # The summary keeps its natural height (it changes with each engine); the tabs get
        # the rest, so no splitter that would remember a stale size.
        self.setLayout(vbox(top, self.banner, summary, (self.tabs, 1), margins=8))
        self.clear()

    # -- public API -------------------------------------------------------------------------

    def engine_path(self) -> Path | None:
        return self._path

    def is_busy(self) -> bool:
        return self._handle is not None and self._handle.is_running()

    def clear(self) -> None:
        self._path = None
        self._check = None
        self._info = None
        self._build_result = None
        self._model_shapes = {}
        self.path_label.setText("No engine open. Open an engine file, or build one.")
        self.banner.clear()
        self.header_view.set_items([])
        self.build_view.set_items([("Sidecar", "—")])
        self.io_model.set_rows([])
        self.io_note.setText("")
        self.layer_model.set_rows([])
        self.summary_model.set_summary({})
        self.precision_bar.set_summary({})
        self.layer_note.setText("Layers appear when the engine is inspected on a GPU.")
        self.sidecar_text.setPlainText("")
        self.run_button.setEnabled(False)
        self._update_tab_titles()

    def open_engine(self, path: str | Path) -> None:
        """Check and inspect `path` in a worker; results arrive through the `show_*` methods."""
        from trtgui.gui.workers import call_job, start_worker

        if self.is_busy():
            return
        path = Path(path)
        self._set_path(path)
        self.banner.show_message("info", f"Reading {path.name}…")
        self.busy_changed.emit(True)
        self._handle = start_worker(
            call_job(lambda: load_engine_job(path)),
            name="open engine",
            on_succeeded=self._on_loaded,
            on_failed=self._on_load_failed,
            on_finished=self._on_load_finished,
        )

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the open-engine worker has stopped (tests, shutdown)."""
        return self._handle.wait(timeout_ms) if self._handle is not None else True

    def show_build_result(self, result: Any) -> None:
        """Arrive from a finished build: show the build summary and network I/O, then open it."""
        self.clear()
        self._build_result = result
        path = Path(_get(result, "engine_path", default=""))
        self._set_path(path)
        self.build_view.set_items(self._build_items(None))
        self._show_network_io(_get(result, "io_tensors", default=()), "recorded by the build")
        if path.is_file():
            self.open_engine(path)

    def show_check(self, check: Any) -> None:
        """Render an `EngineCheck`: header, verdict banner, sidecar and the recorded I/O."""
        self._check = check
        path = _get(check, "path") or _get(_get(check, "header"), "path")
        if path:
            self._set_path(Path(path))
        self.header_view.set_items(self._header_items())
        self.build_view.set_items(self._build_items(self._sidecar()))
        sidecar = self._sidecar()
        self.sidecar_text.setPlainText(
            json.dumps(sidecar, indent=2, default=str)
            if sidecar
            else "No sidecar JSON found "
            "next to the engine (engines built by trtgui write <engine>.json)."
        )
        if self._info is None:
            tensors = _get(check, "build_io") or _sidecar_io(sidecar)
            if tensors:
                self._show_network_io(tensors, "recorded at build time (sidecar)")
        level, message, details = self._verdict()
        self.banner.show_message(level, message, details)

    def show_info(self, info: Any) -> None:
        """Render an `EngineInfo` (needs a GPU to have been made): I/O, profiles, layers."""
        self._info = info
        if self._path is None and _get(info, "path"):
            self._set_path(Path(_get(info, "path")))
        num_profiles = _get(info, "num_profiles", "profile_count")
        self.io_model.set_rows(
            io_rows_from_tensors(
                _get(info, "tensors", "io_tensors", default=()), self._model_shapes
            ),
            num_profiles=num_profiles,
        )
        self.io_note.setText(
            f"I/O tensors of the deserialized engine · {num_profiles or 0} optimization "
            f"profile(s) · device memory {format_bytes(_device_memory(info))}"
        )
        rows = layer_rows_from(_get(info, "layers", default=()))
        self.layer_model.set_rows(rows)
        # Counted from the rows so the summary and the table always agree on the names.
        summary = precision_summary(rows)
        self.summary_model.set_summary(summary)
        self.precision_bar.set_summary(self.summary_model.summary())
        self.summary_view.resizeColumnsToContents()
        layer_count = _get(info, "num_layers", "layer_count", default=len(rows))
        note = str(_get(info, "layer_note", default="") or "")
        if rows:
            self.layer_note.setText(f"{layer_count} layers" + (f" — {note}" if note else ""))
        else:
            self.layer_note.setText(
                f"{layer_count} layers; no per-layer details in this engine (build it with "
                "profiling verbosity 'detailed' to see types, precisions and tactics)."
            )
        self.header_view.set_items(self._header_items())
        self._resize_io_columns()
        self._resize_layer_columns()
        self._update_tab_titles()
        self.run_button.setEnabled(self._path is not None)
        if self._check is None:
            self.banner.show_message("ok", "The engine loads on this machine.")

    def show_unavailable(self, err: BaseException) -> None:
        """The engine could not be inspected here: a banner with why, the rest stays."""
        self._last_error = err
        message = str(err) or type(err).__name__
        details = getattr(err, "details", "") or ""
        level = "error"
        if self._check is not None:
            c_level, c_message, c_details = self._verdict()
            if c_level in ("error", "warning") and c_message:
                # The check already said why the engine cannot load here (no GPU, backend
                # missing): a BackendUnavailable from inspecting it says the same again, so
                # only what it adds (its details) goes beneath.
                said = isinstance(err, BackendUnavailable) and not _get(
                    _get(self._check, "verdict"), "loadable_here"
                )
                extra = (details,) if said else (message, details)
                details = _unique_lines(c_details, *extra)
                message = c_message
                level = c_level
        self.banner.show_message(level, message, details or message)
        self.layer_note.setText(
            "Layers, device memory and profiles need the engine deserialized on a GPU the "
            "backend supports; what the build recorded is shown instead."
        )
        self.run_button.setEnabled(self._path is not None)

    # -- rendering helpers ------------------------------------------------------------------

    def _set_path(self, path: Path) -> None:
        self._path = path
        show_file(self.path_label, path, str(path.parent), separator=" &nbsp; ")
        self.run_button.setEnabled(True)

    def _sidecar(self) -> dict[str, Any]:
        sidecar = _get(self._check, "sidecar") if self._check is not None else None
        return dict(sidecar) if isinstance(sidecar, Mapping) else _as_mapping(sidecar)

    def _header_items(self) -> list[tuple[str, str]]:
        items: list[tuple[str, str]] = []
        check, info, path = self._check, self._info, self._path
        header = _get(check, "header") if check is not None else _get(info, "header")
        if path is not None:
            items.append(("File", path.name))
        if header is not None:
            items.append(("Size", format_bytes(_get(header, "file_size"))))
            title = _get(header, "backend_title", default="TensorRT")
            items.append(("Built with", f"{title} {_get(header, 'version_str', default='?')}"))
            items.append(
                (
                    "Plan header",
                    f"tag '{_get(header, 'tag', default='?')}', serialization "
                    f"version {_get(header, 'serialization_version', default='?')}",
                )
            )
        elif path is not None and path.is_file():
            items.append(("Size", format_bytes(path.stat().st_size)))
        if check is not None:
            installed = _get(check, "installed", default=()) or ()
            items.append(
                (
                    "Installed here",
                    "; ".join(
                        f"{_get(b, 'title', 'name', default='?')} "
                        + (
                            str(_get(b, "version", default=""))
                            if _get(b, "available")
                            else "(not installed)"
                        )
                        for b in installed
                    )
                    or "—",
                )
            )
            gpus = _get(check, "gpus", default=()) or ()
            if gpus:
                gpu_text = "; ".join(
                    f"{_get(g, 'name', default='GPU')} (compute capability "
                    f"{_get(g, 'compute_capability_str', default='?')})"
                    for g in gpus
                )
            else:
                gpu_text = "none — " + str(_get(check, "gpu_reason", default="") or "not found")
            items.append(("GPU", gpu_text))
            validity = _get(check, "validity")
            if validity:
                problems = ", ".join(_get(check, "validity_problems", default=()) or ())
                items.append(
                    (
                        "Engine validity",
                        f"{_enum_words(validity)}{': ' + problems if problems else ''}",
                    )
                )
        if info is not None:
            items.append(("Loaded by", _backend_text(info)))
            items.append(("Profiles", str(_get(info, "num_profiles", default="—"))))
            items.append(("Device memory", format_bytes(_device_memory(info))))
            items.append(("Layers", str(_get(info, "num_layers", "layer_count", default="—"))))
            verbosity = _get(info, "profiling_verbosity")
            if verbosity:
                items.append(("Profiling verbosity", _enum_words(verbosity)))
        return items

    def _build_items(self, sidecar: Mapping[str, Any] | None) -> list[tuple[str, str]]:
        """The build record people ask about, from the finished build or else the sidecar
        (both carry the same fields); the whole sidecar is in its own tab."""
        record: Any = self._build_result
        if record is None:
            if not sidecar:
                return [("Sidecar", "none — not built by trtgui, or the .json was not kept")]
            record = sidecar
        items: list[tuple[str, str]] = []
        if _get(record, "backend"):
            items.append(("Backend", _backend_text(record)))
        if _get(record, "created"):
            items.append(("Built on", str(_get(record, "created")).replace("T", " ")))
        if _get(record, "build_seconds") is not None:
            items.append(("Build time", f"{float(_get(record, 'build_seconds')):.2f} s"))
        if _get(record, "engine_bytes") is not None:
            items.append(("Engine size", format_bytes(_get(record, "engine_bytes"))))
        if _get(record, "warning_count") is not None:
            items.append(
                (
                    "Warnings / errors",
                    f"{_get(record, 'warning_count', default=0)} / "
                    f"{_get(record, 'error_count', default=0)}",
                )
            )
        items += _settings_items(_as_mapping(_get(record, "settings")))
        return items

    def _verdict(self) -> tuple[str, str, str]:
        """(banner level, one line, details) from the EngineCheck's verdict."""
        check = self._check
        if check is None:
            return "info", "", ""
        verdict = _get(check, "verdict")
        status = str(_get(verdict, "status", default="unknown"))
        message = str(_get(verdict, "message", default="") or "")
        if not message:
            message = (
                "The engine loads on this machine."
                if _get(verdict, "loadable_here")
                else "The engine cannot be loaded on this machine."
            )
        level = VERDICT_LEVELS.get(status, "warning")
        headline = _headline(status, message, check)
        lines = [f"Verdict: {verdict_words(status)}", message[:1].upper() + message[1:]]
        lines += [f"Note: {n}" for n in _get(verdict, "notes", default=()) or ()]
        gpu_reason = _get(check, "gpu_reason")
        if gpu_reason:
            lines.append(f"GPU: {gpu_reason}")
        for b in _get(check, "installed", default=()) or ():
            state = _get(b, "version") if _get(b, "available") else "not installed"
            lines.append(f"Backend: {_get(b, 'title', default='?')}: {state}")
        problem = _get(check, "sidecar_problem")
        if problem:
            lines.append(f"Sidecar: {problem}")
        return level, headline, "\n".join(lines)

    def _show_network_io(self, tensors: Any, where: str) -> None:
        rows = io_rows_from_tensors(tensors or (), self._model_shapes)
        if not rows:
            return
        self.io_model.set_rows(rows)
        self.io_note.setText(
            f"Network I/O {where}; ? or a name = dynamic. Formats, locations and per-profile "
            "shapes need the engine deserialized on a GPU."
        )
        self._resize_io_columns()
        self._update_tab_titles()

    def _resize_io_columns(self) -> None:
        rows = self.io_model.rows()
        self.io_view.setColumnHidden(4, not any(r.format for r in rows))
        self.io_view.setColumnHidden(5, not any(r.location for r in rows))
        self.io_view.resizeColumnsToContents()
        header = self.io_view.horizontalHeader()
        for col in range(self.io_model.columnCount()):
            header.resizeSection(col, min(max(header.sectionSize(col) + 16, 70), 420))

    def _resize_layer_columns(self) -> None:
        self.layer_view.resizeColumnsToContents()
        header = self.layer_view.horizontalHeader()
        header.resizeSection(1, min(max(header.sectionSize(1), 200), 460))
        header.resizeSection(2, min(max(header.sectionSize(2) + 12, 110), 260))

    def _update_tab_titles(self) -> None:
        self.tabs.setTabText(0, f"I/O tensors ({self.io_model.rowCount()})")
        n = self.layer_model.rowCount()
        self.tabs.setTabText(1, f"Layers ({n})" if n else "Layers")

    # -- slots ------------------------------------------------------------------------------

    @Slot()
    def _choose_file(self) -> None:
        start = str(self._path.parent) if self._path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a TensorRT engine", start, ENGINE_FILTER)
        if path:
            self.request_open(path)

    def request_open(self, path: str | Path) -> None:
        """What the Open button and a drop do: announce the intent and open the file."""
        self.open_engine_requested.emit(str(path))
        self.open_engine(path)

    @Slot()
    def _request_run(self) -> None:
        if self._path is not None:
            self.run_on_image_requested.emit(str(self._path))

    @Slot(object)
    def _on_loaded(self, outcome: EngineLoadOutcome) -> None:
        # engine_loaded goes out even when rendering raises (the error still reaches the
        # funnel through the slot's exception hook), so nothing waiting on it hangs.
        try:
            self._info = None
            self._model_shapes = model_shapes(outcome.model)
            self.layer_model.set_rows([])
            self.summary_model.set_summary({})
            self.precision_bar.set_summary({})
            self.show_check(outcome.check)
            if outcome.info is not None:
                self.show_info(outcome.info)
            elif outcome.inspect_error is not None:
                self.show_unavailable(outcome.inspect_error)
        finally:
            self.engine_loaded.emit(outcome)

    @Slot(object)
    def _on_load_failed(self, err: BaseException) -> None:
        from trtgui.gui.errors import show_error

        self._last_error = err
        details = getattr(err, "details", "") or ""
        self.banner.show_message("error", str(err) or type(err).__name__, details)
        self.header_view.set_items([("File", self._path.name if self._path else "—")])
        self.run_button.setEnabled(False)
        show_error(self, err)

    @Slot()
    def _on_load_finished(self) -> None:
        self.busy_changed.emit(False)
        self.load_finished.emit()

    # -- drag and drop ----------------------------------------------------------------------

    def dragEnterEvent(self, event: Any) -> None:
        if dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        path = dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            self.request_open(path)


def _headline(status: str, message: str, check: Any) -> str:
    """The banner's one line: can it load here, and the reason in a few words."""
    header = _get(check, "header")
    title = _get(header, "backend_title", default="TensorRT")
    built = f"{title} {_get(header, 'short_version', default='')}"
    gpus = _get(check, "gpus", default=()) or ()
    if status == "ok":
        names = ", ".join(str(_get(g, "name", default="GPU")) for g in gpus)
        return f"This engine loads on this machine ({names or 'GPU found'})."
    if status == "needs_gpu":
        if not gpus:
            return (
                "This engine cannot be loaded here: no usable NVIDIA GPU on this machine. "
                "Header, build record and build-time I/O are shown."
            )
        g = gpus[0]
        return (
            f"This engine cannot be loaded here: {built.strip()} does not support "
            f"{_get(g, 'name', default='this GPU')} (compute capability "
            f"{_get(g, 'compute_capability_str', default='?')})."
        )
    if status == "needs_backend":
        return (
            f"This engine cannot be loaded here: it needs {built.strip()}, which is not installed."
        )
    if status == "rebuild":
        return f"This engine cannot be loaded here: {message}"
    return message


def _enum_words(value: Any) -> str:
    """A TensorRT enum name for people: "DETAILED" → "detailed", "LAYER_NAMES_ONLY" →
    "layer names only"."""
    return str(getattr(value, "name", value)).split(".")[-1].lower().replace("_", " ")


def _unique_lines(*blocks: str) -> str:
    """The blocks' lines, each said once: a line already said, or inside one said before
    ("GPU: <reason>" holds "<reason>"), is left out; blocks stay apart by a blank line."""
    said: list[str] = []
    out: list[str] = []
    for block in blocks:
        fresh = []
        for line in (block or "").splitlines():
            text = line.strip()
            if text and not any(text in old for old in said):
                said.append(text)
                fresh.append(line)
        if fresh:
            out.append("\n".join(fresh))
    return "\n\n".join(out)


def _backend_text(record: Any) -> str:
    """ "TensorRT for RTX 1.7.1.116" from a record's backend name and version."""
    name = str(_get(record, "backend", default="?"))
    return f"{backend_title(name)} {_get(record, 'backend_version', default='')}".strip()


def _precision_text(value: Any) -> str:
    """ "FP16", or "TensorRT chooses (weak typing)": the Build panel's words."""
    try:
        return Precision(_pretty_value(value)).label
    except ValueError:
        return _pretty_value(value)


def _device_memory(info: Any) -> int | None:
    value = _get(info, "device_memory_bytes", "device_memory_size", "device_memory")
    return int(value) if value is not None else None


def _sidecar_io(sidecar: Mapping[str, Any]) -> Any:
    for key in ("io_tensors", "network_io", "io"):
        if sidecar.get(key):
            return sidecar[key]
    return None


def _settings_items(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The build settings people ask about first, in a fixed order."""
    items = []
    for key, label in (
        ("onnx_path", "ONNX model"),
        ("precision", "Precision"),
        ("backend", "Backend setting"),
        ("optimization_level", "Optimization level"),
        ("workspace_bytes", "Workspace"),
        ("profiling_verbosity", "Profiling verbosity"),
        ("compute_capabilities", "Compute capabilities"),
        ("profiles", "Profiles"),
    ):
        if key not in settings:
            continue
        value = settings[key]
        if key == "workspace_bytes":
            text = format_bytes(value) if value else "TensorRT default"
        elif key == "profiles":
            text = f"{len(value)}" if value else "none (static shapes)"
        elif key == "backend":
            text = backend_title(str(value)) if value else "default (best installed)"
        elif key == "precision" and value:
            text = _precision_text(value)
        else:
            text = _pretty_value(value)
        items.append((label, text))
    return items
