"""`trtgui-cli bench MODEL_OR_ENGINE [--iterations N | --duration S] [--warmup MS] [--json]`:
latency.

ONNX models run with ONNX Runtime, engines with TensorRT (or, where the engine cannot run, the
ONNX model it was built from, as `run` does). Engines are timed as trtexec times them
(`bench.time_runner`): the inputs staged once in pinned buffers, then per run only the H2D
copies, `execute_async_v3` and the D2H copies on one stream, with the CUDA-event split "H2D
Latency" / "GPU Compute Time" / "D2H Latency" named as trtexec names them. Units follow
trtexec: `--warmup` in milliseconds (its `--warmUp`), `--duration` in seconds. `--json` keys
are snake_case with their unit (`latency_ms`, `gpu_compute_time_ms`), for scripts.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from trtgui.cli.cmd_run import (
    add_io_arguments,
    explain_default_shapes,
    make_feeds,
    open_runner_for,
    print_notes,
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bench",
        help="time an ONNX model or an engine (latency percentiles, throughput)",
        description="Time repeated runs of an ONNX model (ONNX Runtime) or an engine "
        "(TensorRT): latency mean/median/percentiles and throughput, as trtexec reports them.",
    )
    add_io_arguments(parser)
    how = parser.add_mutually_exclusive_group()
    how.add_argument(
        "--iterations", type=_positive_int, default=100, metavar="N", help="timed runs (100)"
    )
    how.add_argument(
        "--duration", type=_positive_seconds, metavar="S", help="time runs for S seconds"
    )
    parser.add_argument(
        "--warmup",
        type=_warmup_ms,
        default=200.0,  # trtexec's default
        metavar="MS",
        help="milliseconds of untimed runs first, like trtexec's --warmUp (200)",
    )
    return parser


def _warmup_ms(text: str) -> float:
    try:
        value = float(text.lower().removesuffix("ms"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected milliseconds such as 200, got {text!r}"
        ) from exc
    if not 0 <= value <= MAX_SECONDS * 1000:  # False for nan as well
        raise argparse.ArgumentTypeError(
            f"must be 0 or more milliseconds, at most {MAX_SECONDS * 1000:,.0f} (a day), "
            f"got {text!r}"
        )
    return value


# The longest timed run and warm-up accepted: --duration 1e300 (or nan, inf) would never
# end, and a day is far beyond any useful benchmark.
MAX_SECONDS = 86_400.0
MAX_ITERATIONS = 100_000_000


def _positive_seconds(text: str) -> float:
    try:
        value = float(text.lower().removesuffix("s"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected seconds such as 10, got {text!r}") from exc
    if not 0 < value <= MAX_SECONDS:  # False for nan as well
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MAX_SECONDS:,.0f} seconds (a day), got {text!r}"
        )
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if not 1 <= value <= MAX_ITERATIONS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_ITERATIONS:,}, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from trtgui.core.engine.bench import time_runner

    notes: list[str] = []
    with open_runner_for(args, notes) as runner:
        feeds, defaults = make_feeds(args, runner, notes)
        print_notes(notes)
        batch = next((int(a.shape[0]) for a in feeds.values() if a.ndim), 1)
        with explain_default_shapes(defaults):
            # Engines: inputs staged once, then copies + launch per run, as trtexec times them.
            stats = time_runner(
                runner,
                feeds,
                warmup_ms=args.warmup,
                iterations=args.iterations,
                duration=args.duration,
                batch=batch,
            )
        kind = runner.title
    if args.json:
        data = {
            "model": str(args.model),
            "runner": kind,
            # A list, not a dict keyed by tensor name: every JSON key stays snake_case.
            "inputs": [
                {"name": n, "shape": list(a.shape), "dtype": str(a.dtype)} for n, a in feeds.items()
            ],
            **stats.to_dict(),
            "notes": notes,
        }
        print(json.dumps(data, indent=2))
    else:
        print(
            f"Timed {args.model} with {kind}, after {stats.warmup_ms:g} ms of warm-up "
            f"({stats.warmup_runs} run{'' if stats.warmup_runs == 1 else 's'})"
        )
        from trtgui.core.shapes import shape_text

        # Latency depends on the shapes timed (the batch above all): say which they were.
        from trtgui.core.text import clip

        # Names come from the model: clipped (control characters, line breaks, length).
        timed = ", ".join(f"{clip(n)} {shape_text(a.shape)} {a.dtype}" for n, a in feeds.items())
        print(f"  Inputs: {timed}")
        for line in stats.lines():
            print(f"  {line}")
    return 0
