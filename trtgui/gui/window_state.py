"""What the window remembers across runs, in QSettings: recent files of each kind, the last
folder, the theme, the Build panel's settings, the geometry, the splitters and the tab.

Every key trtgui writes to QSettings is named here, so a renamed key cannot drift between
the code that saves it and the code that reads it back.

The settings file is read once, when the window is made, and written off the GUI thread: a
QSettings written on the GUI thread syncs itself there on the next event-loop pass, and its
sync takes a lock file and fsyncs (`QLockFile::tryLock` -> `fdatasync`), which took 400-600 ms
on a busy disk each time a file from a new folder was opened (bench/robustness.py's worst
GUI-thread stall, traced with py-spy). Changes are kept in memory, gathered for
`WRITE_DELAY_MS`, then written by a short-lived thread through its own QSettings on the same
file; `sync()` (closing the window) writes what is left at once.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QByteArray, QSettings, QTimer
from PySide6.QtWidgets import QMainWindow, QSplitter

log = logging.getLogger("trtgui.gui")

RecentKind = Literal["models", "engines", "images"]
# Menu order, with the section titles of File > Open Recent.
RECENT_KINDS: tuple[tuple[RecentKind, str], ...] = (
    ("models", "Models"),
    ("engines", "Engines"),
    ("images", "Images"),
)
MAX_RECENT = 10
THEMES = ("system", "light", "dark")
# Changes within this time are written together, by one thread.
WRITE_DELAY_MS = 500
# How long `sync()` waits for a write under way before writing what is left itself.
SYNC_WAIT_S = 1.0
_REMOVED = object()  # a pending removal of a key


def write_settings(file_name: str, fmt: QSettings.Format, changes: dict[str, object]) -> None:
    """Apply `changes` (a value, or `_REMOVED`) to the settings at `file_name` through a
    QSettings of this thread, and sync it to disk. QSettings objects on one file in one
    process share what they hold, so the window's own object sees the changes."""
    store = QSettings(file_name, fmt)
    for key, value in changes.items():
        if value is _REMOVED:
            store.remove(key)
        else:
            store.setValue(key, value)
    store.sync()
    if store.status() != QSettings.Status.NoError:
        log.warning("could not save the window settings to %s: %s", file_name, store.status())


class _Store:
    """The settings as read at start plus the changes since, written in the background."""

    def __init__(self, qsettings: QSettings) -> None:
        self.file_name = qsettings.fileName()
        self.format = qsettings.format()
        self.values: dict[str, object] = {k: qsettings.value(k) for k in qsettings.allKeys()}
        self._pending: dict[str, object] = {}
        self._writer: threading.Thread | None = None
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(WRITE_DELAY_MS)
        self._timer.timeout.connect(self._write_soon)

    def get(self, key: str, default: object = None) -> object:
        return self.values.get(key, default)

    def set(self, key: str, value: object) -> None:
        self.values[key] = value
        self._pending[key] = value
        self._timer.start()

    def remove(self, key: str) -> None:
        self.values.pop(key, None)
        self._pending[key] = _REMOVED
        self._timer.start()

    def _write_soon(self) -> None:
        if self._writer is not None and self._writer.is_alive():
            self._timer.start()  # one writer at a time: try again shortly
            return
        changes, self._pending = self._pending, {}
        if changes:
            self._writer = threading.Thread(
                target=write_settings,
                args=(self.file_name, self.format, changes),
                name="trtgui-save settings",
                daemon=True,  # never holds the process open; sync() waits for it
            )
            self._writer.start()

    def sync(self) -> None:
        """Write every change now (on this thread), after the write under way."""
        self._timer.stop()
        if self._writer is not None:
            self._writer.join(SYNC_WAIT_S)
        changes, self._pending = self._pending, {}
        if changes:
            write_settings(self.file_name, self.format, changes)


class WindowState:
    """Typed reads and writes of the window's settings."""

    def __init__(self, qsettings: QSettings) -> None:
        # Read here, on the GUI thread, once; written only from `_Store`'s threads.
        self.qsettings = qsettings
        self._store = _Store(qsettings)

    # -- recent files and the last folder

    def recent(self, kind: RecentKind) -> list[str]:
        """The recent files of `kind`, newest first."""
        # A one-item list reads back as a str unless asked for as a list.
        value = self._store.get(f"recent/{kind}")
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value if isinstance(value, list) else []) if v]

    def add_recent(self, kind: RecentKind, path: str | Path) -> None:
        text = str(Path(path).resolve())
        items = [text] + [p for p in self.recent(kind) if p != text]
        self._store.set(f"recent/{kind}", items[:MAX_RECENT])

    def remove_recent(self, kind: RecentKind, path: str | Path) -> None:
        text = str(Path(path).resolve())
        items = [p for p in self.recent(kind) if p != text and p != str(path)]
        self._store.set(f"recent/{kind}", items)

    def clear_recent(self) -> None:
        for kind, _title in RECENT_KINDS:
            self._store.remove(f"recent/{kind}")

    def last_folder(self) -> str:
        """The folder of the last file opened or saved; the home folder at first."""
        return self._text("folders/last") or str(Path.home())

    def remember_folder(self, path: Path) -> None:
        folder = path if path.is_dir() else path.parent
        self._store.set("folders/last", str(folder.resolve()))

    # -- theme and build settings

    def theme(self) -> str:
        """ "system", "light" or "dark"."""
        theme = self._text("view/theme")
        return theme if theme in THEMES else "system"

    def set_theme(self, mode: str) -> None:
        self._store.set("view/theme", mode)

    def build_settings_json(self) -> str:
        """The Build panel's settings when last used ("" at first)."""
        return self._text("build/last_settings")

    def set_build_settings_json(self, text: str) -> None:
        self._store.set("build/last_settings", text)

    # -- geometry, splitters and the current tab

    def restore_window(self, window: QMainWindow) -> None:
        """Size, position, toolbars and docks as they were when the window closed."""
        geometry = self._store.get("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            window.restoreGeometry(geometry)
        state = self._store.get("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            window.restoreState(state)

    def save_window(self, window: QMainWindow) -> None:
        self._store.set("window/geometry", window.saveGeometry())
        self._store.set("window/state", window.saveState())

    def restore_splitter(self, key: str, splitter: QSplitter) -> None:
        state = self._store.get(f"window/splitter_{key}")
        if isinstance(state, QByteArray) and not state.isEmpty():
            splitter.restoreState(state)

    def save_splitter(self, key: str, splitter: QSplitter) -> None:
        self._store.set(f"window/splitter_{key}", splitter.saveState())

    def tab(self) -> int:
        value = self._store.get("window/tab", 0)
        if isinstance(value, str) and value.isdigit():  # as read back from the INI file
            return int(value)
        return value if isinstance(value, int) else 0

    def set_tab(self, index: int) -> None:
        self._store.set("window/tab", index)

    def sync(self) -> None:
        """Write every change to disk now (closing the window)."""
        self._store.sync()

    def _text(self, key: str) -> str:
        value = self._store.get(key)
        return value if isinstance(value, str) else ""
