"""Time from process start to the trtgui main window being shown (offscreen), several runs.

Each run starts a fresh interpreter that runs `trtgui.gui.app.main([])` with
TRTGUI_STARTUP_PROBE=1: the app prints a line once the window is shown and the event loop
runs, naming the heavy modules (onnx, onnxruntime, numpy, TensorRT, PIL) already imported by
then, and quits. The time is measured by this script from just before the process is spawned
to that line, so it includes interpreter start-up. Target: median under 1 s.

    python bench/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = "import sys; from trtgui.gui.app import main; sys.exit(main([]))"


def one_run(config_home: str) -> tuple[float, dict[str, object]]:
    env = dict(
        os.environ,
        TRTGUI_STARTUP_PROBE="1",
        QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        XDG_CONFIG_HOME=config_home,
    )
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CODE],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    report: dict[str, object] = {}
    shown = None
    for line in proc.stdout:
        if line.startswith("trtgui-startup "):
            shown = time.perf_counter() - t0
            report = json.loads(line.split(" ", 1)[1])
            break
    proc.wait(60)
    if shown is None:
        raise SystemExit(f"the app did not report a shown window (exit code {proc.returncode})")
    return shown, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    times = []
    heavy: set[str] = set()
    with tempfile.TemporaryDirectory() as config_home:
        one_run(config_home)  # warm the file cache; not counted
        for _ in range(args.runs):
            shown, report = one_run(config_home)
            times.append(shown)
            heavy.update(str(m) for m in report.get("heavy_modules", []))  # type: ignore[union-attr]
    median = statistics.median(times)
    print(f"runs: {args.runs}")
    print("process start -> window shown (s): " + ", ".join(f"{t:.3f}" for t in times))
    print(f"median {median:.3f} s, min {min(times):.3f} s, max {max(times):.3f} s (target < 1 s)")
    print(f"heavy modules imported before the window showed: {sorted(heavy) or 'none'}")
    print(f"verdict: {'OK' if median < 1.0 and not heavy else 'SLOW'}")
    # One machine-readable line for bench/run_all.py (reference: the 1 s target itself).
    figure = {
        "metric": "process start -> main window shown (median)",
        "value": round(median, 3),
        "unit": "s",
        "reference": 1.0,
        "ratio": round(median / 1.0, 3),
        "target": "< 1 s, no heavy module before the window",
        "pass": median < 1.0 and not heavy,
    }
    print("BENCH_JSON " + json.dumps({"name": "startup", "figures": [figure]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
