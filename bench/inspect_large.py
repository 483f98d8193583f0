"""How fast and how lean `inspect_onnx` is on a model with ~500 MB of external weights.

Generates a MatMul chain whose weights live in one external file (in a temporary folder that
is deleted afterwards), then measures, each in a fresh subprocess so memory peaks do not mix:
`trtgui.core.model.onnx_model.inspect_onnx` and a full `onnx.load` of the same file. Prints time,
peak RSS above the process's baseline (after imports), and the ratios.

    python bench/inspect_large.py [--mb 512] [--repeat 3]

Targets (issue 2): inspection under 0.3 s and under 50 MB above baseline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = Path(__file__).resolve().parents[1]
SIDE = 2048  # each weight: 2048 x 2048 float32 = 16 MiB

# Runs in a child process: baseline after imports, then the method, then peak RSS.
_CHILD = r"""
import json, resource, sys, time
method, path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
import onnx
from trtgui.core.model.onnx_model import inspect_onnx
def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
base = peak_kib()
times = []
for _ in range(repeat):
    t0 = time.perf_counter()
    if method == "inspect_onnx":
        result = inspect_onnx(path)
    else:
        result = onnx.load(path)
    times.append(time.perf_counter() - t0)
    del result
print(json.dumps({"times": times, "peak_delta_kib": peak_kib() - base, "base_kib": base}))
"""


def make_model(folder: Path, megabytes: int) -> Path:
    """A chain of MatMuls with `megabytes` of float32 weights in `weights.bin`."""
    per = SIDE * SIDE * 4
    count = max(1, round(megabytes * 2**20 / per))
    bin_path = folder / "weights.bin"
    inits, nodes = [], []
    offset = 0
    with bin_path.open("wb") as f:
        for i in range(count):
            # Distinct content per tensor, written one tensor at a time to keep this process small.
            f.write(np.full((SIDE, SIDE), i + 1, dtype=np.float32).tobytes())
            t = TensorProto(name=f"w{i}", data_type=TensorProto.FLOAT, dims=[SIDE, SIDE])
            t.data_location = TensorProto.EXTERNAL
            for key, value in (
                ("location", bin_path.name),
                ("offset", str(offset)),
                ("length", str(per)),
            ):
                entry = t.external_data.add()
                entry.key, entry.value = key, value
            inits.append(t)
            src = "x" if i == 0 else f"h{i - 1}"
            dst = "y" if i == count - 1 else f"h{i}"
            nodes.append(helper.make_node("MatMul", [src, f"w{i}"], [dst], name=f"mm{i}"))
            offset += per
    graph = helper.make_graph(
        nodes,
        "large_external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", SIDE])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", SIDE])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = folder / "large_external.onnx"
    onnx.save(model, str(path))
    return path


def measure(method: str, path: Path, repeat: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, method, str(path), str(repeat)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "first_s": data["times"][0],
        "best_s": min(data["times"]),
        "peak_mib": data["peak_delta_kib"] / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=512, help="external weights in MiB")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="trtgui-bench-"))
    try:
        t0 = time.perf_counter()
        path = make_model(folder, args.mb)
        weights = (folder / "weights.bin").stat().st_size
        print(
            f"model: {path.stat().st_size} B graph + {weights / 2**20:.0f} MiB external "
            f"weights (generated in {time.perf_counter() - t0:.1f} s)"
        )
        results = {m: measure(m, path, args.repeat) for m in ("inspect_onnx", "onnx.load")}
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"{'method':<14} {'first run':>10} {'best of ' + str(args.repeat):>10} {'peak RSS +':>11}"
    )
    for name, r in results.items():
        print(f"{name:<14} {r['first_s']:>9.3f}s {r['best_s']:>9.3f}s {r['peak_mib']:>8.1f} MiB")
    ins, full = results["inspect_onnx"], results["onnx.load"]
    # Below 1 MiB the RSS peak is at the resolution of the measurement: say so, not x5000.
    mem = (
        f"x{full['peak_mib'] / ins['peak_mib']:.0f}"
        if ins["peak_mib"] >= 1
        else f"{full['peak_mib']:.0f} MiB vs < 1 MiB"
    )
    print(
        f"ratio onnx.load / inspect_onnx: time x{full['best_s'] / ins['best_s']:.0f} (best), "
        f"x{full['first_s'] / ins['first_s']:.0f} (first run); memory {mem}"
    )
    ok = ins["first_s"] < 0.3 and ins["peak_mib"] < 50
    print(f"target (< 0.3 s, < 50 MiB above baseline): {'met' if ok else 'NOT met'}")
    # One machine-readable line for bench/run_all.py.
    figures = [
        {
            "metric": f"inspect_onnx time, {args.mb} MiB external weights (first run)",
            "value": round(ins["first_s"], 4),
            "unit": "s",
            "reference": round(full["first_s"], 4),
            "ratio": round(ins["first_s"] / full["first_s"], 4),
            "target": "< 0.3 s",
            "pass": ins["first_s"] < 0.3,
        },
        {
            "metric": "inspect_onnx peak RSS above baseline",
            "value": round(ins["peak_mib"], 2),
            "unit": "MiB",
            "reference": round(full["peak_mib"], 1),
            "ratio": round(ins["peak_mib"] / full["peak_mib"], 4) if full["peak_mib"] else None,
            "target": "< 50 MiB",
            "pass": ins["peak_mib"] < 50,
        },
    ]
    print("BENCH_JSON " + json.dumps({"name": "inspect_large", "figures": figures}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
