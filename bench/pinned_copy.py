"""Pinned host ↔ device copy bandwidth: trtgui's cuda-python and pycuda layers next to torch.

All three copy the same number of bytes between page-locked host memory and the GPU on a
non-default stream, timed with each library's own CUDA events, interleaved round by round so
clock and link drift hit all of them alike. Prints GB/s (median and best) per direction and
the ratio to torch (target >= 0.9x).

    python bench/pinned_copy.py [--mib 256] [--rounds 20] [--out FILE]

Needs a CUDA GPU; pycuda and torch are optional (reported as missing).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trtgui.core.engine.cuda import CudaApi, open_cuda

Timer = Callable[[], tuple[float, float]]  # one round: (h2d ms, d2h ms)


def trtgui_timer(api: CudaApi, nbytes: int) -> Timer:
    host = api.alloc_pinned(nbytes, "host")
    host.array[:] = np.random.default_rng(0).integers(0, 255, nbytes, dtype=np.uint8)
    dev = api.alloc_device(nbytes, "dev")
    stream = api.create_stream()
    e0, e1, e2 = api.create_event(), api.create_event(), api.create_event()

    def one() -> tuple[float, float]:
        with api.activated():
            api.record(e0, stream)
            api.copy_htod_async(dev, host, nbytes, stream)
            api.record(e1, stream)
            api.copy_dtoh_async(host, dev, nbytes, stream)
            api.record(e2, stream)
            api.synchronize(stream)
            return api.elapsed_ms(e0, e1), api.elapsed_ms(e1, e2)

    return one


def torch_timer(nbytes: int) -> Timer:
    import torch

    host = torch.empty(nbytes, dtype=torch.uint8, pin_memory=True)
    host.random_(0, 255)
    dev = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    stream = torch.cuda.Stream()
    e0, e1, e2 = (torch.cuda.Event(enable_timing=True) for _ in range(3))

    def one() -> tuple[float, float]:
        with torch.cuda.stream(stream):
            e0.record(stream)
            dev.copy_(host, non_blocking=True)
            e1.record(stream)
            host.copy_(dev, non_blocking=True)
            e2.record(stream)
        stream.synchronize()
        return e0.elapsed_time(e1), e1.elapsed_time(e2)

    return one


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    nbytes = args.mib << 20
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    timers: dict[str, Timer] = {}
    apis: list[CudaApi] = []
    missing: dict[str, str] = {}
    try:
        import torch

        timers["torch"] = torch_timer(nbytes)
        say(f"torch {torch.__version__}, GPU {torch.cuda.get_device_name(0)}")
    except Exception as exc:  # report and go on with what is there
        missing["torch"] = str(exc)
    for name in ("cuda-python", "pycuda"):
        try:
            api = open_cuda(name)
            apis.append(api)
            timers[f"trtgui/{name}"] = trtgui_timer(api, nbytes)
        except Exception as exc:
            missing[f"trtgui/{name}"] = str(exc)
    say(f"python {platform.python_version()}, {args.mib} MiB per copy, {args.rounds} rounds")
    for name, why in missing.items():
        say(f"  {name}: not measured ({why.splitlines()[0][:120]})")
    for timer in timers.values():  # warm-up
        timer()
        timer()
    results: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in timers}
    start = time.perf_counter()
    for _ in range(args.rounds):
        for name, timer in timers.items():
            h2d, d2h = timer()
            results[name][0].append(nbytes / (h2d * 1e-3) / 1e9)
            results[name][1].append(nbytes / (d2h * 1e-3) / 1e9)
    say(f"measured in {time.perf_counter() - start:.1f} s")
    say(
        f"{'layer':<20} {'H2D median':>11} {'H2D best':>9} {'D2H median':>11} {'D2H best':>9}"
        f" {'H2D vs torch':>13} {'D2H vs torch':>13}"
    )
    ref = results.get("torch")
    for name, (h2d, d2h) in results.items():
        h_med, d_med = statistics.median(h2d), statistics.median(d2h)
        ratio_h = f"{h_med / statistics.median(ref[0]):.3f}x" if ref else "-"
        ratio_d = f"{d_med / statistics.median(ref[1]):.3f}x" if ref else "-"
        say(
            f"{name:<20} {h_med:>8.2f} GB/s {max(h2d):>6.2f} {d_med:>8.2f} GB/s {max(d2h):>6.2f}"
            f" {ratio_h:>13} {ratio_d:>13}"
        )
    for api in apis:
        api.close()
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    # One machine-readable line for bench/run_all.py.
    figures = []
    for name, (h2d, d2h) in results.items():
        if name == "torch":
            continue  # the reference, given in each figure's "reference"
        for direction, values, index in (("H2D", h2d, 0), ("D2H", d2h, 1)):
            value = statistics.median(values)
            reference = statistics.median(ref[index]) if ref else None
            ratio = value / reference if reference else None
            figures.append(
                {
                    "metric": f"{name} pinned {direction} {args.mib} MiB (median)",
                    "value": round(value, 2),
                    "unit": "GB/s",
                    "reference": round(reference, 2) if reference else None,
                    "ratio": round(ratio, 3) if ratio else None,
                    "target": ">= 0.9x torch",
                    "pass": ratio >= 0.9 if ratio else None,
                }
            )
    print("BENCH_JSON " + json.dumps({"name": "pinned_copy", "figures": figures}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
