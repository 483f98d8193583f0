"""`trtgui-cli run MODEL_OR_ENGINE [--input NAME=FILE.npy ...] [--shape NAME:1x3x224x224 ...]
[--compare-onnx MODEL] [--json]`: run an ONNX model (ONNX Runtime) or an engine (TensorRT).

Inputs not given as .npy files are random with a fixed seed (`--seed`); dynamic dimensions
need `--shape`. With `--compare-onnx` the same inputs also go through ONNX Runtime and the
outputs are compared (tolerances per `--precision`, or `--atol/--rtol`); a failed comparison
gives exit status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from trtgui.core.runners import OrtRunner, TrtRunner


def add_io_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `run` and `bench`."""
    parser.add_argument("model", metavar="MODEL_OR_ENGINE", help=".onnx model or engine file")
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=FILE.npy",
        type=_input_arg,
        help="an input tensor from a .npy file (repeatable); others are random",
    )
    parser.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="NAME:1x3x224x224",
        type=_shape_arg,
        help="shape of a random input with dynamic dimensions (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of random inputs (default 0)")
    parser.add_argument(
        "--cuda-api",
        choices=("cuda-python", "pycuda"),
        default=None,
        help="CUDA layer for engines (default: cuda-python, else pycuda)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run an ONNX model or an engine once, optionally comparing with ONNX Runtime",
        description="Run an ONNX model with ONNX Runtime or an engine with TensorRT, on inputs "
        "from .npy files or random ones, and optionally compare with an ONNX model.",
    )
    add_io_arguments(parser)
    parser.add_argument(
        "--compare-onnx", metavar="MODEL", help="also run this ONNX model and compare outputs"
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "fp16", "bf16", "int8", "auto"),
        default="fp32",
        help="sets default comparison tolerances (default fp32)",
    )
    parser.add_argument("--atol", type=float, help="absolute tolerance (overrides --precision)")
    parser.add_argument("--rtol", type=float, help="relative tolerance (overrides --precision)")
    parser.add_argument("--save-outputs", metavar="DIR", help="write each output to DIR/<name>.npy")
    return parser


def _input_arg(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=FILE.npy, got {text!r}")
    return name, path


def _shape_arg(text: str) -> tuple[str, tuple[int, ...]]:
    name, sep, dims = text.rpartition(":")
    try:
        shape = tuple(int(d) for d in dims.lower().split("x"))
    except ValueError:
        shape = ()
    if not sep or not name or not shape or any(d < 0 for d in shape):
        raise argparse.ArgumentTypeError(f"expected NAME:1x3x224x224, got {text!r}")
    return name, shape


def open_runner_for(args: argparse.Namespace) -> OrtRunner | TrtRunner:
    from trtgui.core.runners import OrtRunner, TrtRunner

    path = Path(args.model)
    if path.suffix.lower() == ".onnx":
        return OrtRunner(path)
    return TrtRunner(path, cuda_api=args.cuda_api)


def make_feeds(args: argparse.Namespace, runner: OrtRunner | TrtRunner) -> dict[str, np.ndarray]:
    """Inputs from --input files, the rest random (fixed seed, --shape for dynamic dims)."""
    import numpy as np

    from trtgui.core.errors import InferenceError
    from trtgui.core.runners import random_feeds

    names = {t.name for t in runner.input_infos}
    given: dict[str, np.ndarray] = {}
    for name, file in args.input:
        if name not in names:
            raise InferenceError(
                f"--input names {name!r}, but the model's inputs are {', '.join(sorted(names))}."
            )
        try:
            given[name] = np.load(file, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InferenceError(f"Cannot read input {name!r} from {file}: {exc}") from exc
    shapes = dict(args.shape)
    unknown = [n for n in shapes if n not in names]
    if unknown:
        raise InferenceError(
            f"--shape names {unknown[0]!r}, but the model's inputs are {', '.join(sorted(names))}."
        )
    rest = [t for t in runner.input_infos if t.name not in given]
    feeds = random_feeds(rest, shapes, seed=args.seed) if rest else {}
    return {t.name: given[t.name] if t.name in given else feeds[t.name] for t in runner.input_infos}


def runner_kind(runner: OrtRunner | TrtRunner) -> str:
    from trtgui.core.runners import OrtRunner

    if isinstance(runner, OrtRunner):
        return f"ONNX Runtime ({', '.join(runner.providers)})"
    return f"TensorRT ({runner.cuda_api_name})"


def _array_stats(a: np.ndarray) -> dict[str, Any]:
    import numpy as np

    data: dict[str, Any] = {"shape": list(a.shape), "dtype": str(a.dtype)}
    if a.size and (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        f = a.astype(np.float64)
        data.update(min=float(f.min()), max=float(f.max()), mean=float(f.mean()))
        if a.ndim in (1, 2) and a.shape[-1] >= 2 and np.issubdtype(a.dtype, np.floating):
            row = f.reshape(-1, a.shape[-1])[0]
            data["top5"] = [int(i) for i in np.argsort(-row, kind="stable")[:5]]
    return data


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from trtgui.core.compare import compare_outputs
    from trtgui.core.runners import OrtRunner

    with open_runner_for(args) as runner:
        feeds = make_feeds(args, runner)
        outputs = runner.run(feeds)
        kind = runner_kind(runner)
        timing: dict[str, float] = {}
        if isinstance(runner, OrtRunner):
            timing["Latency"] = float(runner.last_run_ms or 0.0)
        elif runner.last_timings is not None:
            timing = {**runner.last_timings.as_phases(), "Latency": runner.last_timings.host_ms}
    comparison = None
    if args.compare_onnx:
        with OrtRunner(args.compare_onnx) as ref_runner:
            reference = ref_runner.run(feeds)
        comparison = compare_outputs(reference, outputs, args.precision, args.atol, args.rtol)
    if args.save_outputs:
        out_dir = Path(args.save_outputs)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, value in outputs.items():
            np.save(out_dir / f"{_safe_name(name)}.npy", value)
    given = {name for name, _ in args.input}
    report: dict[str, Any] = {
        "model": str(args.model),
        "runner": kind,
        "inputs": {
            name: {
                "shape": list(a.shape),
                "dtype": str(a.dtype),
                "source": "file" if name in given else f"random (seed {args.seed})",
            }
            for name, a in feeds.items()
        },
        "outputs": {name: _array_stats(a) for name, a in outputs.items()},
        "timing_ms": timing,
        "comparison": comparison.to_dict() if comparison is not None else None,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"Ran {args.model} with {kind}")
        for name, info in report["inputs"].items():
            print(f"  input  {name:<24} {info['dtype']:<8} {info['shape']}  {info['source']}")
        for name, info in report["outputs"].items():
            extra = ""
            if "min" in info:
                extra = f"  min {info['min']:.4g} max {info['max']:.4g} mean {info['mean']:.4g}"
            if "top5" in info:
                extra += f"  top-5 {info['top5']}"
            print(f"  output {name:<24} {info['dtype']:<8} {info['shape']}{extra}")
        print("  time   " + ", ".join(f"{k} {v:.3f} ms" for k, v in timing.items()))
        if comparison is not None:
            print(f"Compared with {args.compare_onnx}: {comparison.summary()}")
            for o in comparison.outputs:
                top = ""
                if o.top_k is not None:
                    top = f", top-1 agree {o.top_k.top1_agreement:.0%}"
                    top += f", top-{o.top_k.k} overlap {o.top_k.topk_overlap:.0%}"
                note = f" ({o.message})" if o.message else ""
                print(
                    f"  {o.name:<24} {'ok  ' if o.passed else 'FAIL'} max abs {o.max_abs:.3g}, "
                    f"mean abs {o.mean_abs:.3g}, max rel {o.max_rel:.3g}, "
                    f"cosine {o.cosine:.6f}{top}{note}"
                )
    if comparison is not None and not comparison.passed:
        print(f"error: {comparison.summary()}", file=sys.stderr)
        return 1
    return 0


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
