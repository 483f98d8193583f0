"""`trtgui-cli bench MODEL_OR_ENGINE [--iterations N | --duration S] [--json]`: latency.

ONNX models run with ONNX Runtime, engines with TensorRT; engines also report the CUDA-event
split "H2D Latency" / "GPU Compute Time" / "D2H Latency", named as trtexec names them.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from trtgui.cli.cmd_run import add_io_arguments, make_feeds, open_runner_for, runner_kind


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bench",
        help="time an ONNX model or an engine (latency percentiles, throughput)",
        description="Time repeated runs of an ONNX model (ONNX Runtime) or an engine "
        "(TensorRT): latency mean/median/percentiles and throughput, as trtexec reports them.",
    )
    add_io_arguments(parser)
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--iterations", type=_positive_int, default=100, help="timed runs (100)")
    how.add_argument("--duration", type=float, metavar="S", help="time runs for S seconds")
    parser.add_argument("--warmup", type=int, default=10, help="untimed runs first (10)")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    from trtgui.core.bench import measure_latency
    from trtgui.core.runners import TrtRunner

    with open_runner_for(args) as runner:
        feeds = make_feeds(args, runner)
        phases = None
        if isinstance(runner, TrtRunner):
            trt_runner = runner

            def phases() -> dict[str, float] | None:
                t = trt_runner.last_timings
                return t.as_phases() if t is not None else None

        batch = next((int(a.shape[0]) for a in feeds.values() if a.ndim), 1)
        stats = measure_latency(
            lambda: runner.run(feeds),
            warmup=args.warmup,
            iterations=args.iterations,
            duration=args.duration,
            phases=phases,
            batch=batch,
        )
        kind = runner_kind(runner)
    if args.json:
        data = {
            "model": str(args.model),
            "runner": kind,
            "inputs": {
                n: {"shape": list(a.shape), "dtype": str(a.dtype)} for n, a in feeds.items()
            },
            **stats.to_dict(),
        }
        print(json.dumps(data, indent=2))
    else:
        print(f"Timed {args.model} with {kind}, {stats.warmup} warm-up runs")
        for line in stats.lines():
            print(f"  {line}")
    return 0
