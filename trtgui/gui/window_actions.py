"""The window's commands: every QAction with its shortcut and tip, the menus, the toolbar and
File > Open Recent.

Actions are added to the window itself too, so their shortcuts work while the menu bar is
hidden. What each action does stays in the window (`MainWindow.open_dialog`, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar

from trtgui.gui import settings_io
from trtgui.gui.window_state import MAX_RECENT, RECENT_KINDS, WindowState

if TYPE_CHECKING:
    from trtgui.gui.main_window import MainWindow

PANEL_NAMES = ("&Model", "&Build", "&Engine", "&Inference")  # tab order
# (mode, menu text, shortcut) of View > Theme
THEME_CHOICES = (
    ("system", "Follow &System", "Ctrl+Shift+0"),
    ("light", "&Light", "Ctrl+Shift+L"),
    ("dark", "&Dark", "Ctrl+Shift+K"),
)


def toolbar_icon(name: str) -> QIcon:
    """A shipped toolbar icon (resources/icons/toolbar/NAME.svg); empty when missing."""
    from trtgui.core.resources import resource_path

    path = resource_path("icons", "toolbar", f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()


def app_icon() -> QIcon:
    """The trtgui icon at every size shipped (SVG, then the PNG renderings)."""
    from trtgui.core.resources import resource_path

    svg = resource_path("icons", "trtgui.svg")
    icon = QIcon()
    if svg.is_file():
        icon.addFile(str(svg))
    png_dir = resource_path("icons", "png")
    if png_dir.is_dir():
        for png in sorted(png_dir.glob("trtgui-*.png")):
            icon.addFile(str(png))
    return icon


class WindowActions:
    """The actions of `window`, its menu bar and its toolbar."""

    def __init__(self, window: MainWindow) -> None:
        self._window = window
        w = window
        self.open = self._action(
            "&Open…", w.open_dialog, "Ctrl+O", "Open a model, engine or image", "open"
        )
        self.open_engine = self._action(
            "Open &Engine…",
            w.open_engine_dialog,
            "Ctrl+Shift+O",
            "Open a TensorRT engine file",
            "engine",
        )
        self.open_image = self._action(
            "Open &Image…",
            w.open_image_dialog,
            "Ctrl+Shift+M",
            "Open an image to run the model on",
            "image",
        )
        self.demo = self._action(
            "Open &Demo", w.open_demo, "Ctrl+Shift+D", "Open the bundled demo model and images"
        )
        self.import_settings = self._action(
            "&Import Build Settings…",
            partial(settings_io.import_dialog, w),
            "Ctrl+Shift+I",
            "Load build settings from a JSON file",
        )
        self.export_settings = self._action(
            "E&xport Build Settings…",
            partial(settings_io.export_dialog, w),
            "Ctrl+Shift+E",
            "Save the build settings as a JSON file",
        )
        self.quit = self._action("&Quit", w.close, "Ctrl+Q", "Quit trtgui")
        self.build = self._action(
            "&Build Engine",
            w.start_build,
            "Ctrl+B",
            "Build a TensorRT engine from the model",
            "build",
        )
        self.cancel = self._action(
            "&Cancel Build", w.cancel_build, "Ctrl+.", "Cancel the running build", "cancel"
        )
        self.copy_command = self._action(
            "Copy as &Command Line",
            w.copy_command_line,
            "Ctrl+Shift+C",
            "Copy the equivalent trtgui-cli (and trtexec) command",
        )
        self.find_in_log = self._action(
            "&Find in Build Log…", w.find_in_log, "Ctrl+F", "Search the build log"
        )
        self.view = [
            self._action(
                name,
                partial(w.show_tab, i),
                f"Ctrl+{i + 1}",
                f"Show the {name.strip('&')} panel",
            )
            for i, name in enumerate(PANEL_NAMES)
        ]
        self.about = self._action(
            "&About trtgui", w.show_about, "F1", "Versions of trtgui and every component"
        )
        self.theme_group = QActionGroup(window)
        self.theme: dict[str, QAction] = {}
        for mode, label, key in THEME_CHOICES:
            act = self._action(
                label,
                partial(w.set_theme, mode),
                key,
                f"Use the {mode} colour scheme",
            )
            act.setCheckable(True)
            self.theme_group.addAction(act)
            self.theme[mode] = act
        self.recent_menu = self._make_menus()
        self.toolbar = self._make_toolbar()

    def _action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: str | None = None,
        tip: str = "",
        icon: str = "",
    ) -> QAction:
        action = QAction(text, self._window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            native = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip} ({native})" if shortcut else tip)
        if icon:
            action.setIcon(toolbar_icon(icon))
        # triggered(bool) would pass `checked` as the slot's first argument
        action.triggered.connect(lambda checked=False: slot())
        self._window.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _make_menus(self) -> QMenu:
        """File, Build, View and Help; returns File > Open Recent."""
        bar = self._window.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open)
        file_menu.addAction(self.open_engine)
        file_menu.addAction(self.open_image)
        recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addAction(self.demo)
        file_menu.addSeparator()
        file_menu.addAction(self.quit)
        build_menu = bar.addMenu("&Build")
        build_menu.addAction(self.build)
        build_menu.addAction(self.cancel)
        build_menu.addSeparator()
        build_menu.addAction(self.find_in_log)
        build_menu.addSeparator()
        build_menu.addAction(self.copy_command)
        build_menu.addAction(self.import_settings)
        build_menu.addAction(self.export_settings)
        view_menu = bar.addMenu("&View")
        for act in self.view:
            view_menu.addAction(act)
        view_menu.addSeparator()
        theme_menu = view_menu.addMenu("&Theme")
        for act in self.theme.values():
            theme_menu.addAction(act)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about)
        return recent_menu

    def _make_toolbar(self) -> QToolBar:
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for act in (self.open, self.open_engine, self.open_image):
            tb.addAction(act)
        tb.addSeparator()
        tb.addAction(self.build)
        tb.addAction(self.cancel)
        self._window.addToolBar(tb)
        return tb

    def update(self, *, has_model: bool, building: bool) -> None:
        """Enable what can be done now."""
        self.build.setEnabled(has_model and not building)
        self.cancel.setEnabled(building)
        self.copy_command.setEnabled(has_model)
        self.export_settings.setEnabled(has_model)

    def fill_recent_menu(
        self, state: WindowState, open_path: Callable[[str], None], clear: Callable[[], None]
    ) -> None:
        """File > Open Recent: one section per kind, newest first."""
        menu = self.recent_menu
        menu.clear()
        any_item = False
        for kind, title in RECENT_KINDS:
            items = state.recent(kind)[:MAX_RECENT]
            if not items:
                continue
            menu.addSection(title)
            for path in items:
                act = menu.addAction(f"{Path(path).name}   —   {Path(path).parent}")
                act.setData(path)
                act.triggered.connect(lambda checked=False, p=path: open_path(p))
            any_item = True
        if any_item:
            menu.addSeparator()
            menu.addAction("Clear Recent Files", clear)
        else:
            act = menu.addAction("No recent files")
            act.setEnabled(False)
