"""What the window remembers across runs, in QSettings: recent files of each kind, the last
folder, the theme, the Build panel's settings, the geometry, the splitters and the tab.

Every key trtgui writes to QSettings is named here, so a renamed key cannot drift between
the code that saves it and the code that reads it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter

RecentKind = Literal["models", "engines", "images"]
# Menu order, with the section titles of File > Open Recent.
RECENT_KINDS: tuple[tuple[RecentKind, str], ...] = (
    ("models", "Models"),
    ("engines", "Engines"),
    ("images", "Images"),
)
MAX_RECENT = 10
THEMES = ("system", "light", "dark")


class WindowState:
    """Typed reads and writes of the window's QSettings."""

    def __init__(self, qsettings: QSettings) -> None:
        self.qsettings = qsettings

    # -- recent files and the last folder

    def recent(self, kind: RecentKind) -> list[str]:
        """The recent files of `kind`, newest first."""
        # A one-item list reads back as a str unless asked for as a list.
        value = self.qsettings.value(f"recent/{kind}", [], type=list)
        return [str(v) for v in (value if isinstance(value, list) else []) if v]

    def add_recent(self, kind: RecentKind, path: str | Path) -> None:
        text = str(Path(path).resolve())
        items = [text] + [p for p in self.recent(kind) if p != text]
        self.qsettings.setValue(f"recent/{kind}", items[:MAX_RECENT])

    def remove_recent(self, kind: RecentKind, path: str | Path) -> None:
        text = str(Path(path).resolve())
        items = [p for p in self.recent(kind) if p != text and p != str(path)]
        self.qsettings.setValue(f"recent/{kind}", items)

    def clear_recent(self) -> None:
        for kind, _title in RECENT_KINDS:
            self.qsettings.remove(f"recent/{kind}")

    def last_folder(self) -> str:
        """The folder of the last file opened or saved; the home folder at first."""
        return str(self.qsettings.value("folders/last", "", type=str) or Path.home())

    def remember_folder(self, path: Path) -> None:
        folder = path if path.is_dir() else path.parent
        self.qsettings.setValue("folders/last", str(folder.resolve()))

    # -- theme and build settings

    def theme(self) -> str:
        """ "system", "light" or "dark"."""
        theme = str(self.qsettings.value("view/theme", "system", type=str) or "system")
        return theme if theme in THEMES else "system"

    def set_theme(self, mode: str) -> None:
        self.qsettings.setValue("view/theme", mode)

    def build_settings_json(self) -> str:
        """The Build panel's settings when last used ("" at first)."""
        return str(self.qsettings.value("build/last_settings", "", type=str) or "")

    def set_build_settings_json(self, text: str) -> None:
        self.qsettings.setValue("build/last_settings", text)

    # -- geometry, splitters and the current tab

    def restore_window(self, window: QMainWindow) -> None:
        """Size, position, toolbars and docks as they were when the window closed."""
        geometry = self.qsettings.value("window/geometry", None)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            window.restoreGeometry(geometry)
        state = self.qsettings.value("window/state", None)
        if isinstance(state, QByteArray) and not state.isEmpty():
            window.restoreState(state)

    def save_window(self, window: QMainWindow) -> None:
        self.qsettings.setValue("window/geometry", window.saveGeometry())
        self.qsettings.setValue("window/state", window.saveState())

    def restore_splitter(self, key: str, splitter: QSplitter) -> None:
        state = self.qsettings.value(f"window/splitter_{key}", None)
        if isinstance(state, QByteArray) and not state.isEmpty():
            splitter.restoreState(state)

    def save_splitter(self, key: str, splitter: QSplitter) -> None:
        self.qsettings.setValue(f"window/splitter_{key}", splitter.saveState())

    def tab(self) -> int:
        value = self.qsettings.value("window/tab", 0, type=int)
        return value if isinstance(value, int) else 0

    def set_tab(self, index: int) -> None:
        self.qsettings.setValue("window/tab", index)

    def sync(self) -> None:
        self.qsettings.sync()
