"""The build child's command line, environment and temporary folder (no Qt, no heavy import:
the window starts its idle child right after it shows)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

CHILD_MODULE_ARGS = ("-m", "trtgui.cli.main", "build", "--events", "--request-stdin")


def child_command() -> list[str]:
    """The pre-started worker's command line: this interpreter, this trtgui."""
    return [sys.executable, *CHILD_MODULE_ARGS]


def child_environment(temp_dir: Path) -> dict[str, str]:
    """The child's environment: ours, with its own temporary folder (removed after it ends,
    so a killed child leaves nothing in the system's) and Python's fault handler on, so a
    crash prints where it was on stderr (shown in Details)."""
    env = dict(os.environ)
    env["TMPDIR"] = str(temp_dir)
    env["PYTHONFAULTHANDLER"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def new_child_temp_dir() -> Path:
    """A new folder for one child's temporary files, named after this (the window's)
    process. Those of windows that are gone (ended by `os._exit` after a stuck worker, or
    killed) are removed first."""
    _remove_orphaned_temp_dirs()
    return Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))


_PREFIX = "trtgui-child-"


def _remove_orphaned_temp_dirs() -> None:
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return
    for entry in entries:
        owner = entry.name[len(_PREFIX) :].split("-", 1)[0]
        if entry.name.startswith(_PREFIX) and owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if os.name == "nt":
        return True  # os.kill(pid, 0) would end the process there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def remove_child_temp_dir(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
