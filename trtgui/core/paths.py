"""Where trtgui keeps what it makes for the user (the data folder, its engines, the demo's
output), and which suffixes name the files it opens.

One place for these paths, so the CLI demo, the desktop app's default engine folder and
`trtgui --demo` agree without Qt (QStandardPaths would add the organisation name a second
time: `~/.local/share/trtgui/trtgui`). The suffix lists live here, in a module that imports
neither numpy nor Pillow, so the window can route a dropped file before they load.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "trtgui"

# The one list of each kind of file trtgui opens, lower case.
MODEL_SUFFIXES = (".onnx",)
ENGINE_SUFFIXES = (".engine", ".plan", ".trt")
# Formats Pillow reads that photos and test images come in.
# The formats imaging.images opens (its OPEN_FORMATS allow-list), by their usual names.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif")


def user_data_dir() -> Path:
    """The user's trtgui data folder (not created here).

    Linux and other Unix: `$XDG_DATA_HOME/trtgui`, else `~/.local/share/trtgui` (the XDG base
    directory spec ignores an empty or relative XDG_DATA_HOME). macOS:
    `~/Library/Application Support/trtgui`. Windows: `%LOCALAPPDATA%\\trtgui` (engines are
    large and tied to this machine's GPU, so not the roaming profile).
    """
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", "")
        base = Path(local) if local else Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / APP_NAME


def engines_dir() -> Path:
    """Default folder for engines built from models whose own folder cannot take them."""
    return user_data_dir() / "engines"


def demo_output_dir() -> Path:
    """Where `trtgui-cli demo` writes its engine, build record and annotated picture."""
    return user_data_dir() / "demo"


def demo_engine_path() -> Path:
    """The engine `trtgui-cli demo` builds; `trtgui --demo` opens it when it exists."""
    return demo_output_dir() / "demo.engine"
