"""A build in a child process without Qt: `subprocess` and `selectors` in the calling thread.

The same protocol and the same reading of the child's end as the GUI's QProcess client
(`trtgui.gui.build_process`): `jobs.build_job` runs it (the GPU check on a machine without Qt,
benches, scripts).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import threading
import time

from trtgui.core.build.events import CANCEL_LINE, BuildRequest, request_line
from trtgui.core.build.result import BuildResult
from trtgui.core.errors import BuildCancelled
from trtgui.gui.build_stream import (
    CANCEL_GRACE_S,
    EXIT_GRACE_S,
    ChildExit,
    EventStream,
    LogSink,
    OutputsSnapshot,
    ProgressSink,
    StderrTail,
    build_outcome,
)
from trtgui.gui.child_command import (
    child_command,
    child_environment,
    new_child_temp_dir,
    remove_child_temp_dir,
)


def run_build_child(
    request: BuildRequest,
    *,
    on_log: LogSink = lambda level, message: None,
    on_progress: ProgressSink = lambda event: None,
    cancel: threading.Event | None = None,
    grace_s: float = CANCEL_GRACE_S,
) -> BuildResult:
    """Build `request` in a fresh child process and wait for it (in the calling thread, with
    no other thread). Returns the BuildResult; raises the error the child reported,
    BuildProcessError when it died, BuildCancelled after `cancel` was set."""
    cancel = cancel or threading.Event()
    settings = request.build_settings()
    outputs = OutputsSnapshot.of(settings)
    temp_dir = new_child_temp_dir()
    stream = EventStream(on_log, on_progress)
    stderr = StderrTail()
    try:
        proc = subprocess.Popen(
            child_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_environment(temp_dir),
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write((request_line(request) + "\n").encode())
        proc.stdin.flush()
        ended = _follow(proc, stream, stderr, cancel, grace_s)
        cancel_requested = cancel.is_set()
    finally:
        with contextlib.suppress(NameError):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if ended.signal is not None or stream.final is None:
        outputs.remove_temps()
    remove_child_temp_dir(temp_dir)
    outcome = build_outcome(
        stream, ended, stderr.text(), cancel_requested=cancel_requested, outputs=outputs
    )
    if outcome.kind == "cancelled":
        raise BuildCancelled("The build was cancelled: nothing was written.")
    if outcome.error is not None:
        raise outcome.error
    assert outcome.result is not None
    return outcome.result


def _follow(
    proc: subprocess.Popen[bytes],
    stream: EventStream,
    stderr: StderrTail,
    cancel: threading.Event,
    grace_s: float,
) -> ChildExit:
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ, "out")
    selector.register(proc.stderr, selectors.EVENT_READ, "err")
    kill_at: float | None = None
    killed = False
    exit_grace = False
    open_streams = 2
    while open_streams:
        for key, _ in selector.select(timeout=0.05):
            data = os.read(key.fd, 1 << 16)
            if not data:
                selector.unregister(key.fileobj)
                open_streams -= 1
            elif key.data == "out":
                stream.feed(data)
                stream.pump()
            else:
                stderr.add(data)
        now = time.monotonic()
        if cancel.is_set() and kill_at is None:
            kill_at = now + grace_s
            with contextlib.suppress(OSError):
                proc.stdin.write((CANCEL_LINE + "\n").encode())
                proc.stdin.flush()
        if stream.final is not None and not exit_grace:
            exit_grace = True  # the child only has to exit now
            kill_at = min(kill_at or now + EXIT_GRACE_S, now + EXIT_GRACE_S)
        if kill_at is not None and now >= kill_at and proc.poll() is None:
            proc.kill()
            killed = True
            kill_at = float("inf")
    selector.close()
    stream.close()
    stream.pump()
    code = proc.wait()
    with contextlib.suppress(OSError):
        proc.stdin.close()
    if code < 0:
        return ChildExit(signal=-code, killed_by_us=killed)
    return ChildExit(code=code)
