"""How the window holds its panels: `Panel`, what the window calls on every panel that runs
work, and `LazyTab`, a tab that creates its panel on first use.

The window keeps each panel as its own class (`LazyTab[BuildPanel]`), so every call it makes
on a panel is checked by mypy: no probing for methods by name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from trtgui.gui.warm_up import freeze_heap

log = logging.getLogger("trtgui.gui")


class Panel(Protocol):
    """A panel that runs work in threads (Build, Engine, Inference)."""

    def wait(self, timeout_ms: int = ...) -> bool:
        """Block until its workers have finished; False when `timeout_ms` passed first."""
        ...


P = TypeVar("P", bound=QWidget)


class LazyTab(QWidget, Generic[P]):
    """A tab whose panel is created on first use; shows a placeholder until then.

    Creating the Build, Engine and Inference panels imports numpy and more: the window shows
    before that happens.
    """

    def __init__(self, title: str, factory: Callable[[], P]) -> None:
        super().__init__()
        self.title = title
        self._factory = factory
        self.panel: P | None = None
        self.error: BaseException | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._placeholder = QLabel(f"{title} panel — opening…")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self._placeholder)

    def ensure(self) -> P | None:
        """The panel, created now if needed; None when it cannot be (a missing module)."""
        if self.panel is None and self.error is None:
            try:
                panel = self._factory()
            except ModuleNotFoundError as exc:
                self.error = exc
                self._placeholder.setText(f"The {self.title} panel is not available.")
                log.warning("%s panel not available: %s", self.title, exc)
                return None
            self.panel = panel
            self._layout.removeWidget(self._placeholder)
            self._placeholder.deleteLater()
            self._layout.addWidget(panel)
            freeze_heap()  # its widgets live as long as the window: no need to scan them
        return self.panel
