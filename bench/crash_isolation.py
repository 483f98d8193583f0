"""Crash isolation (#15): a TensorRT crash in the build's child never takes the window down.

The Build panel (offscreen) builds a generated conv net N times with the test-only crash
stand-in `TRTGUI_TEST_CRASH` set (the child raises SIGSEGV or calls abort() when a chosen
phase first appears; it stands in for a crash inside libtensorrt_rtx.so). Each time: the
panel must report the failure in one line naming the signal, the window's event loop must
keep running (a 5 ms heartbeat QTimer; its longest gap is printed), nothing may be written,
and no child may be left. Then one build without the stand-in must succeed.

    python bench/crash_isolation.py [--crashes 10]

PASS when every crash is reported with its signal, the heartbeat never stops for more than
100 ms, and the build after the crashes works.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (stand-in setting, the signal the message must name)
CRASHES = (
    ("segv@Building engine", "signal 11, SIGSEGV"),
    ("abort@start", "signal 6, SIGABRT"),
    ("segv@start", "signal 11, SIGSEGV"),
    ("abort@Building engine", "signal 6, SIGABRT"),
    ("segv@Parsing", "signal 11, SIGSEGV"),
)
STALL_BOUND_MS = 100.0


def one_build(app: Any, panel: Any, out: Path, crash: str | None) -> dict[str, Any]:
    from PySide6.QtCore import QEventLoop, QTimer

    from trtgui.gui import build_process, errors

    if crash is None:
        os.environ.pop("TRTGUI_TEST_CRASH", None)
    else:
        os.environ["TRTGUI_TEST_CRASH"] = crash  # the test-only crash stand-in
    out.mkdir(parents=True)
    panel.form.output_edit.setText(str(out / "m.engine"))
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    got: list[object] = []
    loop = QEventLoop()
    panel.build_failed.connect(got.append)
    panel.build_succeeded.connect(got.append)
    panel.build_finished.connect(loop.quit)
    heartbeat.start()
    panel.start_build()
    loop.exec()
    # The window after the crash: the event loop must still turn.
    end = time.perf_counter() + 0.2
    while time.perf_counter() < end:
        app.processEvents()
    heartbeat.stop()
    for signal in (panel.build_failed, panel.build_succeeded, panel.build_finished):
        signal.disconnect()
    box = errors.last_box
    if box is not None:
        box.close()
        errors.last_box = None
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(beats)]
    outcome = got[0] if got else None
    return {
        "message": getattr(outcome, "message", "") if outcome is not None else "",
        "succeeded": outcome is not None and hasattr(outcome, "engine_path"),
        "max_gap_ms": max(gaps) if gaps else float("inf"),
        "files": sorted(p.name for p in out.iterdir()),
        "children_left": len(build_process.running_children(idle=False)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--crashes", type=int, default=10)
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from tests import onnx_factory
    from trtgui.core.backends import available_backends
    from trtgui.core.model.onnx_model import inspect_onnx
    from trtgui.gui import build_process
    from trtgui.gui.build_panel import BuildPanel

    app = QApplication.instance() or QApplication([])
    panel = BuildPanel()
    panel.show()
    panel.set_backends(available_backends())
    rows = []
    with tempfile.TemporaryDirectory(prefix="trtgui-crash-") as tmp:
        folder = Path(tmp)
        model = onnx_factory.static_conv(folder).path
        panel.set_model(inspect_onnx(model))
        for i in range(args.crashes):
            crash, named = CRASHES[i % len(CRASHES)]
            r = one_build(app, panel, folder / f"crash_{i}", crash)
            r["ok"] = (
                named in r["message"]
                and "\n" not in r["message"]
                and r["max_gap_ms"] <= STALL_BOUND_MS
                and not r["files"]
                and not r["children_left"]
            )
            rows.append(r)
            print(f"{'ok  ' if r['ok'] else 'FAIL'} {crash:<24} longest UI gap "
                  f"{r['max_gap_ms']:5.1f} ms: {r['message']}", flush=True)  # fmt: skip
        after = one_build(app, panel, folder / "after", None)
    panel.shutdown()
    build_process.discard_spare()
    good = sum(r["ok"] for r in rows)
    worst = max(r["max_gap_ms"] for r in rows)
    passed = good == len(rows) and after["succeeded"]
    print(
        f"{good}/{len(rows)} injected crashes reported with their signal, window responsive "
        f"(longest heartbeat gap {worst:.1f} ms, bound {STALL_BOUND_MS:.0f} ms); the build "
        f"after them {'succeeded' if after['succeeded'] else 'FAILED: ' + after['message']}; "
        f"{'PASS' if passed else 'FAIL'}"
    )
    figures = [
        {
            "metric": "injected child crashes reported, window responsive (#15)",
            "value": good,
            "unit": "crashes",
            "reference": len(rows),
            "ratio": round(good / len(rows), 3) if rows else None,
            "target": f"{len(rows)}/{len(rows)}",
            "pass": good == len(rows),
        },
        {
            "metric": "longest UI heartbeat gap around a child crash",
            "value": round(worst, 1),
            "unit": "ms",
            "reference": STALL_BOUND_MS,
            "ratio": round(worst / STALL_BOUND_MS, 3),
            "target": f"<= {STALL_BOUND_MS:.0f} ms",
            "pass": worst <= STALL_BOUND_MS,
        },
        {
            "metric": "a build after the crashes",
            "value": int(after["succeeded"]),
            "unit": "ok",
            "reference": 1,
            "ratio": None,
            "target": "succeeds",
            "pass": after["succeeded"],
        },
    ]
    print("BENCH_JSON " + json.dumps({"name": "crash_isolation", "figures": figures}))
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
