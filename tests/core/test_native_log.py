"""`core.build.native_log`: TensorRT's C++ logger lines read back through fd 1 into the hub.

It takes the process's fd 1, so each case runs in a subprocess. The lines are written in the
format TensorRT-RTX 1.7's built-in logger prints (seen on this machine: `[12/01/2026-14:56:58]
[TRT] [E] ModelImporter.cpp:140: …`, a message's further lines unprefixed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, os, sys
from trtgui.core.build import trt_log
from trtgui.core.build.native_log import NativeLogPipe

hub = trt_log.TrtLogHub("test")
pipe = NativeLogPipe(hub, trt=None, logger=None)
hub.sync = pipe.sync
pipe.start()
got = []
with trt_log.capture(hub, lambda level, message: got.append([level, message]), 5) as cap:
    os.write(1, b"a stray line, not TensorRT's\n")
    os.write(1, b"[12/01/2026-14:56:58] [TRT] [W] first line\nits second line\n")
    os.write(1, b"[12/01/2026-14:56:58] [TRT] [E] ModelImporter.cpp:140: broken\n")
    os.write(1, b"[12/01/2026-14:56:58] [TRT] [V] chatter\n")
    # Read at once, as the builder reads them after TensorRT returns: no line may be late.
    counts = [cap.warning_count, cap.error_count, list(cap.errors), list(cap.warnings)]
with open(sys.argv[1], "w") as out:
    json.dump({"got": got, "counts": counts}, out)
"""


def test_lines_reach_the_hub_in_order_and_counts_wait_for_them(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["got"] == [
        [30, "first line\nits second line"],  # one message of two lines
        [40, "ModelImporter.cpp:140: broken"],
        [5, "chatter"],
    ]
    assert data["counts"] == [
        1,
        1,
        ["ModelImporter.cpp:140: broken"],
        ["first line\nits second line"],
    ]
    assert "a stray line, not TensorRT's" in proc.stderr  # passed on as free text
