"""`trtgui-cli run MODEL_OR_ENGINE [--input NAME=FILE.npy ...] [--shape NAME:1x3x224x224 ...]
[--compare-onnx MODEL] [--json]`: run an ONNX model (ONNX Runtime) or an engine (TensorRT).

Inputs not given as .npy files are random with a fixed seed (`--seed`). A dynamic dimension
without `--shape` takes, as in Polygraphy, the opt shape of a profile (the `--settings` file's,
else the engine's build record's), else 1, or for image height and width the size build
suggests (224); a note on stderr says which. An engine that cannot run here (no usable GPU)
runs as the ONNX model its build record names, with ONNX Runtime, and a note says so. With
`--compare-onnx` the same inputs also go through ONNX Runtime and the outputs are compared
(tolerances per `--precision`, or `--atol/--rtol`); a failed comparison gives exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trtgui.core.model.profiles import PRECISIONS

if TYPE_CHECKING:
    import numpy as np

    from trtgui.core.engine.default_shapes import DefaultShape
    from trtgui.core.engine.runners import OrtRunner
    from trtgui.core.engine.trt_runner import TrtRunner
    from trtgui.core.model.profiles import ShapeProfile


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
        help="shape of a random input with dynamic dimensions (repeatable; default: a "
        "profile's opt shape, else 1, or 224 for image height and width)",
    )
    parser.add_argument(
        "--settings",
        metavar="FILE.json",
        help="build settings whose first profile's opt shapes fill dynamic dimensions",
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
        choices=PRECISIONS,
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
    from trtgui.core.shapes import split_dims

    name, sep, dims = text.rpartition(":")
    try:
        shape = tuple(int(d) for d in split_dims(dims))  # 1x3x224x224 or a pasted 1×3×224×224
    except ValueError:
        shape = ()
    if not sep or not name or not shape or any(d < 0 for d in shape):
        raise argparse.ArgumentTypeError(f"expected NAME:1x3x224x224, got {text!r}")
    return name, shape


def open_runner_for(args: argparse.Namespace, notes: list[str]) -> OrtRunner | TrtRunner:
    """OrtRunner for .onnx files, TrtRunner for engines; an engine that cannot run here runs
    as the ONNX model its build record names (as predict does), with a note in `notes`."""
    from trtgui.core.engine.runners import OrtRunner
    from trtgui.core.engine.trt_runner import TrtRunner
    from trtgui.core.errors import BackendUnavailable, InferenceError
    from trtgui.core.predict.runner_choice import is_onnx

    path = Path(args.model)
    if is_onnx(path):
        return OrtRunner(path)
    try:
        return TrtRunner(path, cuda_api=args.cuda_api)
    except BackendUnavailable as err:
        # Only "cannot run here" falls back: a missing or broken engine file stays an error.
        from trtgui.core.build.record import onnx_for_engine

        why_not = err.message.strip().removesuffix(".")
        onnx, why = onnx_for_engine(path)
        if onnx is None:
            raise InferenceError(
                f"The engine cannot run here ({why_not}) and no ONNX model is known for it "
                f"({why}): run its ONNX model instead.",
                details=err.details,
            ) from err
    notes.append(
        f"TensorRT cannot run {path.name} here ({why_not}); running the ONNX model it was "
        f"built from, {onnx}, with ONNX Runtime instead"
    )
    return OrtRunner(onnx)


def _profiles_for(args: argparse.Namespace, notes: list[str]) -> list[tuple[str, ShapeProfile]]:
    """Profiles whose opt shapes fill unset dynamic dims, the --settings file's first."""
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.engine.default_shapes import record_profile
    from trtgui.core.predict.runner_choice import is_onnx

    profiles: list[tuple[str, ShapeProfile]] = []
    if args.settings:
        settings = BuildSettings.load(args.settings)
        if settings.profiles:
            profiles.append(
                (f"the first profile in {Path(args.settings).name}", settings.profiles[0])
            )
    if not is_onnx(Path(args.model)):
        profile, problem = record_profile(args.model)
        if profile is not None:
            profiles.append(("the engine's build record", profile))
        elif problem:
            notes.append(f"{problem.removesuffix('.')}; dynamic dims get default sizes")
    return profiles


def make_feeds(
    args: argparse.Namespace, runner: OrtRunner | TrtRunner, notes: list[str]
) -> tuple[dict[str, np.ndarray], tuple[DefaultShape, ...]]:
    """Inputs from --input files, the rest random (fixed seed); dynamic dims from --shape,
    else the defaults of `default_shapes` (returned, each with a note in `notes`)."""
    import numpy as np

    from trtgui.core.engine.default_shapes import default_shapes
    from trtgui.core.engine.runners import random_feeds
    from trtgui.core.errors import InferenceError
    from trtgui.core.reading import open_regular
    from trtgui.core.shapes import shape_arg, shape_text

    names = {t.name for t in runner.input_infos}
    given: dict[str, np.ndarray] = {}
    for name, file in args.input:
        if name not in names:
            raise InferenceError(
                f"--input names {name!r}, but the model's inputs are {', '.join(sorted(names))}."
            )
        try:
            # A regular file within LIMITS["npy"]: a FIFO here blocked `run` for good.
            with open_regular(file, "npy") as handle:
                given[name] = np.load(handle, allow_pickle=False)
        except InferenceError as exc:  # missing, not a regular file, over its size limit
            said = exc.message[:1].lower() + exc.message[1:]
            raise InferenceError(f"Cannot read input {name!r}: {said}") from exc
        except ValueError as exc:
            if "allow_pickle" not in str(exc):
                raise InferenceError(f"Cannot read input {name!r} from {file}: {exc}") from exc
            # Unpickling runs code the file names: never done, whoever wrote the file.
            raise InferenceError(
                f"The input array file {file} holds Python objects (a pickle), which trtgui "
                "never loads: save a numeric array instead.",
                details=str(exc),
            ) from exc
        except (OSError, EOFError) as exc:
            raise InferenceError(f"Cannot read input {name!r} from {file}: {exc}") from exc
    shapes = dict(args.shape)
    unknown = [n for n in shapes if n not in names]
    if unknown:
        raise InferenceError(
            f"--shape names {unknown[0]!r}, but the model's inputs are {', '.join(sorted(names))}."
        )
    rest = [t for t in runner.input_infos if t.name not in given]
    known = {**shapes, **{n: a.shape for n, a in given.items()}}
    defaults = default_shapes(rest, known, _profiles_for(args, notes))
    for d in defaults:
        notes.append(
            f"input {d.name!r} has dynamic dims {shape_text(d.model_shape)}; using "
            f"{shape_text(d.shape)} ({d.source}); choose with --shape {d.name}:{shape_arg(d.shape)}"
        )
    shapes.update({d.name: d.shape for d in defaults})
    # Outputs too: their memory counts where their size is known (random_feeds checks it).
    feeds = random_feeds(rest, shapes, seed=args.seed, outputs=runner.output_infos) if rest else {}
    ordered = {
        t.name: given[t.name] if t.name in given else feeds[t.name] for t in runner.input_infos
    }
    return ordered, defaults


def print_notes(notes: Sequence[str]) -> None:
    from trtgui.core.text import message_line

    for note in notes:  # notes quote tensor names from the model: one bounded line each
        print(f"note: {message_line(note)}", file=sys.stderr)


@contextlib.contextmanager
def explain_default_shapes(defaults: Sequence[DefaultShape]) -> Iterator[None]:
    """A run that fails on shapes trtgui chose says which, and how to give the right ones."""
    from trtgui.core.errors import InferenceError
    from trtgui.core.shapes import shape_arg, shape_text

    try:
        yield
    except InferenceError as err:
        if not defaults:
            raise
        d = defaults[0]
        chosen = ", ".join(f"{x.name!r} {shape_text(x.shape)}" for x in defaults)
        raise InferenceError(
            f"{err.message.strip().removesuffix('.')} (default shapes used: {chosen}): give "
            f"the shape the model needs, e.g. --shape {d.name}:{shape_arg(d.shape)} with your "
            "sizes.",
            details=err.details,
        ) from err


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
    from trtgui.core.engine.runners import OrtRunner
    from trtgui.core.predict.compare import compare_outputs

    notes: list[str] = []
    out_dir = _outputs_folder(args.save_outputs) if args.save_outputs else None
    with open_runner_for(args, notes) as runner:
        feeds, defaults = make_feeds(args, runner, notes)
        saving = _output_files(args, out_dir, runner) if out_dir is not None else {}
        print_notes(notes)
        with explain_default_shapes(defaults):
            outputs = runner.run(feeds)
        kind = runner.title
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
    if out_dir is not None:
        _save_outputs(out_dir, saving, outputs)
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
        "notes": notes,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        from trtgui.core.shapes import shape_text
        from trtgui.core.text import clip, message_line

        # Tensor names come from the model: clipped (control characters, line breaks, length).
        print(f"Ran {args.model} with {kind}")
        for name, info in report["inputs"].items():
            shape = shape_text(info["shape"])
            print(f"  input  {clip(name):<24} {info['dtype']:<8} {shape}  {info['source']}")
        for name, info in report["outputs"].items():
            extra = ""
            if "min" in info:
                extra = f"  min {info['min']:.4g} max {info['max']:.4g} mean {info['mean']:.4g}"
            if "top5" in info:
                extra += f"  top-5 {info['top5']}"
            shape = shape_text(info["shape"])
            print(f"  output {clip(name):<24} {info['dtype']:<8} {shape}{extra}")
        print("  time   " + ", ".join(f"{k} {v:.3f} ms" for k, v in timing.items()))
        if comparison is not None:
            print(f"Compared with {args.compare_onnx}: {message_line(comparison.summary())}")
            for o in comparison.outputs:
                top = ""
                if o.top_k is not None:
                    top = f", top-1 agree {o.top_k.top1_agreement:.0%}"
                    top += f", top-{o.top_k.k} overlap {o.top_k.topk_overlap:.0%}"
                note = f" ({message_line(o.message)})" if o.message else ""
                print(
                    f"  {clip(o.name):<24} {'ok  ' if o.passed else 'FAIL'} "
                    f"max abs {o.max_abs:.3g}, "
                    f"mean abs {o.mean_abs:.3g}, max rel {o.max_rel:.3g}, "
                    f"cosine {o.cosine:.6f}{top}{note}"
                )
    if comparison is not None and not comparison.passed:
        from trtgui.core.text import message_line

        print(f"error: {message_line(comparison.summary())}", file=sys.stderr)
        return 1
    return 0


# A file name made from a tensor name keeps this many characters (names can be 100,000 long).
_NAME_CHARS = 120


def _safe_name(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    if len(safe) > _NAME_CHARS:  # cut, with a hash of the whole so cut names stay apart
        import hashlib

        safe = f"{safe[:_NAME_CHARS]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return safe


def _outputs_folder(text: str) -> Path:
    """--save-outputs DIR, checked before any work: a folder (made when missing)."""
    from trtgui.core.errors import OutputPathError
    from trtgui.core.files import os_reason

    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(
            f"--save-outputs {folder} is a file, not a folder: name a folder (it is made when "
            "missing)."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(
            f"Cannot make the folder {folder} for --save-outputs ({os_reason(exc)}): choose "
            "another folder.",
            details=repr(exc),
        ) from exc
    return folder


def _output_files(
    args: argparse.Namespace, folder: Path, runner: OrtRunner | TrtRunner
) -> dict[str, Path]:
    """Output name -> DIR/<name>.npy, all checked before the run: none is a file the run
    reads (an --input .npy, the model), a folder or a special file, and no two are one."""
    from trtgui.core.files import InputFile, Output, check_outputs
    from trtgui.core.text import clip

    files: dict[str, Path] = {}
    taken: set[str] = set()
    for spec in runner.output_infos:
        stem = _safe_name(spec.name)
        number = 1
        while stem.lower() in taken:  # "a/b" and "a:b" are both a_b; lower: case-blind disks
            number += 1
            stem = f"{_safe_name(spec.name)}-{number}"
        taken.add(stem.lower())
        files[spec.name] = folder / f"{stem}.npy"
    inputs: list[InputFile] = [(args.model, "the model itself")]
    inputs += [(file, f"the --input file of {clip(name)!r}") for name, file in args.input]
    if args.compare_onnx:
        inputs.append((args.compare_onnx, "the --compare-onnx model"))
    check_outputs(
        [
            Output(path, f"file of output {clip(name)!r}", "choose another --save-outputs folder")
            for name, path in files.items()
        ],
        inputs=inputs,
    )
    return files


def _save_outputs(folder: Path, files: dict[str, Path], outputs: dict[str, np.ndarray]) -> None:
    """Every output as .npy, through the atomic writer as one unit (all land or none)."""
    import io

    import numpy as np

    from trtgui.core.files import write_failure, write_together

    writes = []
    for name, path in files.items():
        buffer = io.BytesIO()
        np.save(buffer, outputs[name], allow_pickle=False)
        writes.append((path, buffer.getbuffer()))
    try:
        write_together(writes)
    except OSError as exc:
        raise write_failure(exc, folder, "output arrays in the folder") from exc
