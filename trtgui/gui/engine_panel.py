"""The Engine panel: what an engine file is, whether it loads here, and what is inside it.

It renders core records — `EngineCheck` (`core.engine.plan.check_engine`: plan header,
compatibility verdict, build record), `EngineInfo` (`core.engine.info.inspect_engine`: I/O
tensors with profiles, layers, device memory) and `BuildResult` (a finished build) — and emits
intents. When the engine cannot be loaded on this machine (no GPU, a GPU the backend refuses, a
version mismatch) a coloured banner says so in one line, with the details one click away, and
the panel still shows the header, the build record and the network I/O recorded at build time.

`open_engine(path)` runs `core.engine.load.load_engine` in a worker thread; the `show_*`
methods render records the caller already has. The words are in `engine_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QWidget,
)

from trtgui.core.build.record import record_path
from trtgui.core.build.result import BuildResult
from trtgui.core.engine.info import EngineInfo
from trtgui.core.engine.load import EngineLoadOutcome, load_engine
from trtgui.core.engine.plan import EngineCheck
from trtgui.core.errors import BackendUnavailable, TrtGuiError
from trtgui.core.shapes import Dim
from trtgui.core.tensors import TensorSpec
from trtgui.core.text import format_bytes
from trtgui.gui.engine_models import (
    IoTableModel,
    LayerTableModel,
    PrecisionSummaryModel,
    io_rows_from_tensors,
    layer_rows_from,
    precision_summary,
)
from trtgui.gui.engine_text import (
    header_items,
    record_items,
    result_items,
    sidecar_text,
    unique_lines,
    verdict_banner,
)
from trtgui.gui.engine_widgets import Banner, KeyValueView, PrecisionBar
from trtgui.gui.table_models import model_shapes
from trtgui.gui.widgets import (
    column,
    data_table,
    dropped_path,
    group_box,
    hbox,
    muted_label,
    selectable_label,
    show_file,
    splitter,
    vbox,
)
from trtgui.gui.workers import WorkerHandle, call_job, start_worker

ENGINE_FILTER = "TensorRT engines (*.engine *.plan *.trt);;All files (*)"
SIDECAR_CUT_NOTE = "Long values and lists are shortened here; the file has them in full."


@dataclass(frozen=True)
class ShownEngine:
    """What the open-engine worker hands over: the outcome, and the sidecar tab's text made
    from it (a build record can hold anything: formatting it is work for the worker)."""

    outcome: EngineLoadOutcome
    sidecar: str
    sidecar_cut: bool


def open_engine_job(path: Path) -> ShownEngine:
    outcome = load_engine(path)
    text, cut = sidecar_text(outcome.check.record)
    return ShownEngine(outcome, text, cut)


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
        self._check: EngineCheck | None = None
        self._info: EngineInfo | None = None
        self._build_result: BuildResult | None = None  # the build that made it, when seen
        self._handle: WorkerHandle | None = None
        self._last_error: BaseException | None = None
        # ONNX tensor name -> shape: its symbolic dims name the engine's -1 dims
        self._model_shapes: dict[str, tuple[Dim, ...] | None] = {}

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
        self.sidecar_note = muted_label(SIDECAR_CUT_NOTE, padding=2)
        self.sidecar_open = QPushButton("Open the file")
        self.sidecar_open.setToolTip("Open the whole build record in the program your system uses")
        self.sidecar_open.clicked.connect(self._open_sidecar)
        self.sidecar_bar = QWidget()
        self.sidecar_bar.setLayout(hbox((self.sidecar_note, 1), self.sidecar_open, margins=0))
        self.sidecar_bar.setVisible(False)
        sidecar_tab = column(self.sidecar_bar, (self.sidecar_text, 1), margins=4)

        self.tabs = QTabWidget()
        self.tabs.addTab(io_tab, "I/O tensors")
        self.tabs.addTab(layers_tab, "Layers")
        self.tabs.addTab(sidecar_tab, "Build sidecar (JSON)")

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
        self.sidecar_bar.setVisible(False)
        self.run_button.setEnabled(False)
        self._update_tab_titles()

    def open_engine(self, path: str | Path) -> None:
        """Check and inspect `path` in a worker; results arrive through the `show_*` methods."""
        if self.is_busy():
            return
        path = Path(path)
        self._set_path(path)
        self.banner.show_message("info", f"Reading {path.name}…")
        self.busy_changed.emit(True)
        self._handle = start_worker(
            call_job(lambda: open_engine_job(path)),
            name="open engine",
            on_succeeded=self._on_loaded,
            on_failed=self._on_load_failed,
            on_finished=self._on_load_finished,
        )

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the open-engine worker has stopped (tests, shutdown)."""
        return self._handle.wait(timeout_ms) if self._handle is not None else True

    def show_build_result(self, result: BuildResult) -> None:
        """Arrive from a finished build: show the build summary and network I/O, then open it."""
        self.clear()
        self._build_result = result
        path = result.engine_path
        self._set_path(path)
        self.build_view.set_items(result_items(result))
        self._show_network_io(result.io_tensors, "recorded by the build")
        if path.is_file():
            self.open_engine(path)

    def show_check(self, check: EngineCheck, sidecar: tuple[str, bool] | None = None) -> None:
        """Render an `EngineCheck`: header, verdict banner, build record and the recorded I/O.

        `sidecar`: the sidecar tab's text and whether it was shortened (`sidecar_text`), made
        in the worker; without it, it is made here."""
        self._check = check
        self._set_path(check.header.path)
        self.header_view.set_items(header_items(self._path, check, self._info))
        record = check.record
        # A build just seen says the same as its record, and is what the user watched.
        result = self._build_result
        self.build_view.set_items(
            result_items(result) if result else record_items(record, check.record_problem)
        )
        text, cut = sidecar if sidecar is not None else sidecar_text(record)
        self.sidecar_text.setPlainText(text)
        self.sidecar_bar.setVisible(cut)
        if self._info is None and check.build_io:
            self._show_network_io(check.build_io, "recorded at build time (sidecar)")
        self.banner.show_message(*verdict_banner(check))

    def show_info(self, info: EngineInfo) -> None:
        """Render an `EngineInfo` (needs a GPU to have been made): I/O, profiles, layers."""
        self._info = info
        if self._path is None:
            self._set_path(info.path)
        self.io_model.set_rows(
            io_rows_from_tensors(info.tensors, self._model_shapes), num_profiles=info.num_profiles
        )
        self.io_note.setText(
            f"I/O tensors of the deserialized engine · {info.num_profiles} optimization "
            f"profile(s) · device memory {format_bytes(info.device_memory_bytes)}"
        )
        rows = layer_rows_from(info.layers)
        self.layer_model.set_rows(rows)
        # Counted from the rows so the summary and the table always agree on the names.
        self.summary_model.set_summary(precision_summary(rows))
        self.precision_bar.set_summary(self.summary_model.summary())
        self.summary_view.resizeColumnsToContents()
        note = info.layer_note
        if rows:
            self.layer_note.setText(f"{info.num_layers} layers" + (f" — {note}" if note else ""))
        else:
            self.layer_note.setText(
                f"{info.num_layers} layers; no per-layer details in this engine (build it with "
                "profiling verbosity 'detailed' to see types, precisions and tactics)."
            )
        self.header_view.set_items(header_items(self._path, self._check, info))
        self._resize_io_columns()
        self._resize_layer_columns()
        self._update_tab_titles()
        self.run_button.setEnabled(self._path is not None)
        if self._check is None:
            self.banner.show_message("ok", "The engine loads on this machine.")

    def show_unavailable(self, err: TrtGuiError) -> None:
        """The engine could not be inspected here: a banner with why, the rest stays."""
        self._last_error = err
        message = str(err) or type(err).__name__
        details = err.details
        level = "error"
        if self._check is not None:
            c_level, c_message, c_details = verdict_banner(self._check)
            if c_level in ("error", "warning") and c_message:
                # The check already said why the engine cannot load here (no GPU, backend
                # missing): a BackendUnavailable from inspecting it says the same again, so
                # only what it adds (its details) goes beneath.
                said = isinstance(err, BackendUnavailable) and not self._check.verdict.loadable_here
                extra = (details,) if said else (message, details)
                details = unique_lines(c_details, *extra)
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

    def _show_network_io(self, tensors: Sequence[TensorSpec], where: str) -> None:
        rows = io_rows_from_tensors(tensors, self._model_shapes)
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
        tensors = sum(r.more or 1 for r in self.io_model.rows())
        self.tabs.setTabText(0, f"I/O tensors ({tensors:,})")
        n = sum(r.more or 1 for r in self.layer_model.rows())
        self.tabs.setTabText(1, f"Layers ({n:,})" if n else "Layers")

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

    @Slot()
    def _open_sidecar(self) -> None:
        if self._path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(record_path(self._path))))

    @Slot(object)
    def _on_loaded(self, shown: ShownEngine) -> None:
        # engine_loaded goes out even when rendering raises (the error still reaches the
        # funnel through the slot's exception hook), so nothing waiting on it hangs.
        outcome = shown.outcome
        try:
            self._info = None
            self._model_shapes = model_shapes(outcome.model)
            self.layer_model.set_rows([])
            self.summary_model.set_summary({})
            self.precision_bar.set_summary({})
            self.show_check(outcome.check, (shown.sidecar, shown.sidecar_cut))
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
        details = err.details if isinstance(err, TrtGuiError) else ""
        self.banner.show_message("error", str(err) or type(err).__name__, details)
        self.header_view.set_items([("File", self._path.name if self._path else "—")])
        self.run_button.setEnabled(False)
        show_error(self, err)

    @Slot()
    def _on_load_finished(self) -> None:
        self.busy_changed.emit(False)
        self.load_finished.emit()

    # -- drag and drop ----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            self.request_open(path)
