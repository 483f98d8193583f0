"""The shape-profile editor of the Build panel: min / opt / max per dynamic input.

Pre-filled with `suggest_profiles` for the model and checked live with `validate_profiles`:
the problem is said under the table and the cells it names are marked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from trtgui.core.errors import ProfileError
from trtgui.core.model.profiles import ShapeProfile, suggest_profiles, validate_profiles
from trtgui.gui.table_models import ProfileEditModel, format_shape
from trtgui.gui.widgets import error_html

if TYPE_CHECKING:  # onnx loads with the model, not with the panel
    from trtgui.core.model.onnx_model import ModelInfo

ROW_HEIGHT = 22
MAX_ROWS_SHOWN = 6


class ProfileEditor(QGroupBox):
    """Profiles of the current model; `validated(problem)` after every check ("" = fine)."""

    validated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Shape profiles (min / opt / max per dynamic input)", parent)
        self.model_info: ModelInfo | None = None
        self.problem = ""
        self._validating = False
        self.profile_model = ProfileEditModel(self)
        self.profile_model.dataChanged.connect(self._edited)
        self.profile_model.modelReset.connect(self._edited)
        self.profile_model.rowsInserted.connect(self._edited)
        self.profile_table = QTableView()
        self.profile_table.setModel(self.profile_model)
        self.profile_table.verticalHeader().setVisible(False)
        self.profile_table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.profile_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.profile_table.horizontalHeader().setStretchLastSection(True)
        self.profile_table.setMinimumHeight(50)
        self.add_profile_button = QPushButton("Add profile")
        self.add_profile_button.clicked.connect(self.profile_model.add_profile)
        self.remove_profile_button = QPushButton("Remove last")
        self.remove_profile_button.clicked.connect(self.profile_model.remove_last_profile)
        self.reset_profile_button = QPushButton("Suggest")
        self.reset_profile_button.setToolTip("Reset to the suggested profile for this model")
        self.reset_profile_button.clicked.connect(self.reset_profiles)
        self.profile_error = QLabel()
        self.profile_error.setWordWrap(True)
        self.profile_error.setVisible(False)
        self.profile_note = QLabel("The model has no dynamic inputs: no profile needed.")
        self.profile_note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.profile_note)
        layout.addWidget(self.profile_table)
        buttons = QHBoxLayout()
        for b in (self.add_profile_button, self.remove_profile_button, self.reset_profile_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(self.profile_error)

    def set_model(self, info: ModelInfo) -> None:
        self.model_info = info
        self.reset_profiles()

    def reset_profiles(self) -> None:
        """The suggested profile for the model."""
        if self.model_info is not None:
            self.profile_model.set_profiles(suggest_profiles(self.model_info), self._templates())

    def set_profiles(self, profiles: tuple[ShapeProfile, ...]) -> None:
        self.profile_model.set_profiles(profiles, self._templates())

    def profiles(self) -> tuple[ShapeProfile, ...]:
        """The profiles in the table. Raises ProfileError for a cell that is not a shape."""
        try:
            return self.profile_model.profiles()
        except ValueError as exc:
            raise ProfileError(str(exc)) from exc

    def _templates(self) -> dict[str, str]:
        if self.model_info is None:
            return {}
        return {t.name: format_shape(t.shape) for t in self.model_info.inputs}

    def _edited(self, *_args: object) -> None:
        # Highlighting bad cells emits dataChanged again: do not re-enter.
        if not self._validating:
            self.validate()

    def validate(self) -> str:
        """Check the profiles now; shows the problem inline and returns it ("" = fine)."""
        error = ""
        rows = self.profile_model.live_rows
        self._fit(len(rows))
        self.profile_note.setVisible(not rows and self.model_info is not None)
        bad: set[tuple[int, int]] = set()
        if self.model_info is not None:
            try:
                validate_profiles(self.model_info, self.profile_model.profiles(mark=False))
            except ValueError as exc:
                error = str(exc)
                bad = self.profile_model.unparsable_cells()
            except ProfileError as exc:
                error = exc.message
                bad = self._cells_named_in(error)
        self._validating = True
        try:
            self.profile_model.set_bad_cells(bad)
        finally:
            self._validating = False
        self.problem = error
        self.profile_error.setText(error_html(error) if error else "")
        self.profile_error.setVisible(bool(error))
        self.validated.emit(error)
        return error

    def _fit(self, rows: int) -> None:
        """The table fits its rows (up to 6) instead of leaving an empty box."""
        has_rows = rows > 0
        self.profile_table.setVisible(has_rows)
        header = self.profile_table.horizontalHeader().sizeHint().height()
        shown = min(max(rows, 1), MAX_ROWS_SHOWN)
        self.profile_table.setFixedHeight(header + shown * ROW_HEIGHT + 4)
        for button in (
            self.add_profile_button,
            self.remove_profile_button,
            self.reset_profile_button,
        ):
            button.setVisible(has_rows)

    def _cells_named_in(self, message: str) -> set[tuple[int, int]]:
        """The cells of the input (and min/opt/max column, when named) a ProfileError names."""
        rows = self.profile_model.live_rows
        name = next(
            (r.name for r in rows if f"'{r.name}'" in message or f'"{r.name}"' in message), None
        )
        lower = message.lower()
        columns = [c for c, word in ((2, "min"), (3, "opt"), (4, "max")) if word in lower]
        columns = columns or [2, 3, 4]
        return {(r, c) for r, row in enumerate(rows) if row.name == name for c in columns}
