"""The build's child processes: the idle one started ahead of time, and those building.

Python and TensorRT take seconds to import, so one idle child (`trtgui-cli build --events
--request-stdin`) is started ahead of time (`prestart`: once the window shows, and again after
each build) and waits at its `ready` line; a build takes it (`take`) and hands it its request.
A child started with another environment or working folder than ours now (a test switching
the crash stand-in on) is not used. Imports nothing heavy: the window calls `prestart` while
it is still starting.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, QTimer

from trtgui.gui.child_command import (
    child_command,
    child_environment,
    new_child_temp_dir,
    remove_child_temp_dir,
)

# The child builds at a lower priority than the window: when both want the CPU, the window's
# event loop runs first (measured on a loaded 2-core machine: UI heartbeat p99 during a
# VERBOSE build 12-31 ms at nice 10, 50-66 ms at nice 0). On an otherwise idle machine a
# build runs as fast; against other busy programs it gets a smaller share.
CHILD_NICE = 10


@dataclass
class Child:
    """A started child process, the temporary folder it writes in, and what it inherited."""

    process: QProcess
    temp_dir: Path
    inherited: tuple[tuple[str, str], ...]  # our environment and folder when it started
    started_at: float = field(default_factory=time.perf_counter)
    retire_timer: QTimer | None = None

    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning


def _inherited() -> tuple[tuple[str, str], ...]:
    # pytest rewrites PYTEST_CURRENT_TEST around every test: not something a build reads.
    env = sorted((k, v) for k, v in os.environ.items() if not k.startswith("PYTEST_"))
    return (("", os.getcwd()), *env)


def start_child() -> Child:
    """A new child, importing; it waits for its request at `ready`."""
    temp_dir = new_child_temp_dir()
    env = QProcessEnvironment()
    for key, value in child_environment(temp_dir).items():
        env.insert(key, value)
    process = QProcess()
    process.setProcessEnvironment(env)
    program, *args = child_command()
    process.start(program, args)
    pid = int(process.processId())
    if pid and hasattr(os, "setpriority"):
        # Its threads (TensorRT's) are made later, by this one, and inherit its priority.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, CHILD_NICE)
    return Child(process, temp_dir, _inherited())


# -- the pre-started child ----------------------------------------------------------------------

_spare: Child | None = None
building: list[Child] = []


def prestart() -> None:
    """Start the idle child the next build will use, unless one waits already."""
    global _spare
    if _spare is not None and _spare.running() and _spare.inherited == _inherited():
        return
    discard_spare()
    _spare = start_child()


def spare_ready() -> bool:
    """Whether the idle child has finished importing (its `ready` line waits to be read)."""
    return _spare is not None and _spare.running() and _spare.process.canReadLine()


def discard_spare() -> None:
    """End the idle child (window shutdown, tests)."""
    global _spare
    spare, _spare = _spare, None
    if spare is not None:
        end(spare)


def take() -> Child:
    """The idle child when it still runs and has our environment (a test may change it),
    else a new one."""
    global _spare
    spare, _spare = _spare, None
    if spare is not None and spare.running() and spare.inherited == _inherited():
        return spare
    if spare is not None:
        end(spare)
    return start_child()


def end(child: Child) -> None:
    """Kill `child` (idle: it has nothing to write) and remove its temporary folder."""
    if child.running():
        child.process.kill()
        child.process.waitForFinished(2000)
    remove_child_temp_dir(child.temp_dir)


def running_children(*, idle: bool = True) -> list[QProcess]:
    """Child processes started here that still run: any building, and the idle one unless
    `idle` is False."""
    children = [c for c in building if c.running()]
    if idle and _spare is not None and _spare.running():
        children.append(_spare)
    return [c.process for c in children]


def retire(child: Child, grace_s: float) -> None:
    """`child` has written its last event: its files have landed or been removed. It only
    has to exit (TensorRT-RTX's teardown takes ~0.2 s after a cancel); killed if it is still
    there `grace_s` later, forgotten (its temporary folder removed) once it has ended."""
    if not child.running():
        _forget(child)
        return
    child.process.finished.connect(lambda *_: _forget(child))
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(lambda: child.process.kill() if child.running() else None)
    timer.start(int(grace_s * 1000))
    child.retire_timer = timer


def _forget(child: Child) -> None:
    if child.retire_timer is not None:
        child.retire_timer.stop()
    if child in building:
        building.remove(child)
    remove_child_temp_dir(child.temp_dir)


def end_all() -> None:
    """Kill every child started here (window close: a build's child was cancelled first)."""
    discard_spare()
    for child in list(building):
        end(child)
        _forget(child)


def has_spare() -> bool:
    """Whether an idle child runs (importing, or ready)."""
    return _spare is not None and _spare.running()


atexit.register(end_all)  # never leave a child behind the app
