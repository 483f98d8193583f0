"""Build, check and run the bundled demo model, end to end (`trtgui-cli demo`).

Inspect the demo ONNX model, build a TensorRT engine from it (TensorRT-RTX builds on the
CPU), check the engine file, and run it on a photo — with TensorRT when this machine has a
GPU the engine runs on, otherwise with ONNX Runtime on the same model — then save the picture
with the result drawn on it. Exit 1 when the result is not the expected class.

Everything goes to the user's data folder (`trtgui.core.paths.demo_output_dir()`, e.g.
`~/.local/share/trtgui/demo`), never the current folder, unless `--out DIR` says otherwise;
`trtgui --demo` opens the engine built there.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trtgui.core.model.onnx_model import ModelInfo


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="build, check and run the bundled demo model end to end",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    from trtgui.core.paths import demo_output_dir

    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for the engine, its build record and the annotated picture "
        f"(default: {demo_output_dir()}, which trtgui --demo opens)",
    )
    parser.add_argument("--no-build", action="store_true", help="skip the engine build")
    return parser


def run(args: argparse.Namespace) -> int:
    from trtgui.core import backends
    from trtgui.core.model.onnx_model import inspect_onnx
    from trtgui.core.paths import demo_output_dir
    from trtgui.core.predict.demo import load_demo
    from trtgui.core.predict.flow import run_prediction
    from trtgui.core.predict.picture_file import check_picture_path, save_picture

    demo = load_demo()
    out: Path = args.out if args.out is not None else demo_output_dir()
    _make_folder(out)
    image = demo.images[0]
    annotated = out / f"{image.stem}-annotated.png"
    # Before any work (the engine's files are checked by the build): with --out set to the
    # demo's own folder, the picture must not replace the photo it is drawn on.
    check_picture_path(
        annotated, inputs=[(image, "the demo photo"), (demo.model, "the demo model")]
    )
    print(f"Writing the demo's engine and picture to {out}")

    info = inspect_onnx(demo.model)
    from trtgui.core.shapes import shape_text
    from trtgui.core.text import clip, message_line

    # The title, names and labels come from demo.json, the model and its labels: clipped.
    inputs = ", ".join(f"{clip(t.name)} {t.dtype} {shape_text(t.shape)}" for t in info.inputs)
    outputs = ", ".join(f"{clip(t.name)} {t.dtype} {shape_text(t.shape)}" for t in info.outputs)
    print(f"1. model   {clip(demo.title)}: {info.node_count} nodes, {inputs} -> {outputs}")

    model_or_engine: Path = demo.model
    backend = backends.default_backend_name()
    if args.no_build:
        print("2. build   skipped (--no-build)")
    elif not backends.probe_backend(backend).available:
        hint = backends.probe_backend(backend).install_hint
        print(f"2. build   skipped: no TensorRT installed ({hint})")
    else:
        model_or_engine = _build(demo.model, info, out / "demo.engine", backend)

    report = run_prediction(model_or_engine, image, spec=demo.spec, labels=demo.labels, top_k=3)
    top = ", ".join(f"{clip(c.label)} {c.score:.1%}" for c in report.prediction.classes)
    print(f"4. predict {image.name} with {report.runner_detail or report.runner}: {top}")
    for note in report.notes:
        print(f"           note: {message_line(note)}")
    if report.comparison is not None:
        print(f"           TensorRT vs ONNX Runtime: {report.comparison.summary()}")
    save_picture(report.annotated(), annotated)
    print(f"           picture with the result: {annotated}")

    expected = demo.expected.get(image.name)
    got = report.prediction.classes[0].label if report.prediction.classes else ""
    if expected and expected not in got:
        print(f"error: expected {expected!r} as the top class, got {got!r}")
        return 1
    if model_or_engine != demo.model and out == demo_output_dir():
        print("           open this engine in the desktop app: trtgui --demo")
    return 0


def _make_folder(out: Path) -> None:
    """Create the output folder, or say in one line why it cannot be used."""
    from trtgui.core.errors import TrtGuiError

    if out.exists() and not out.is_dir():
        raise TrtGuiError(f"{out} is a file, not a folder: choose another folder with --out DIR.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrtGuiError(
            f"Cannot create the demo folder {out} ({exc.strerror or exc}): "
            "choose a writable folder with --out DIR.",
            details=str(exc),
        ) from exc


def _build(model: Path, info: ModelInfo, engine: Path, backend: str) -> Path:
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.engine.plan import check_engine
    from trtgui.core.model.profiles import suggest_profiles

    settings = BuildSettings(
        onnx_path=str(model),
        output_path=str(engine),
        backend=backend,
        profiles=suggest_profiles(info),
    )
    result = build_engine(settings)
    title = backends_title(result.backend)
    print(
        f"2. build   {title} {result.backend_version}: {result.engine_path} "
        f"({result.engine_bytes / 2**20:.1f} MiB) in {result.build_seconds:.1f} s"
    )
    check = check_engine(result.engine_path)
    print(f"3. engine  {check.verdict.message}")
    return result.engine_path


def backends_title(name: str) -> str:
    from trtgui.core.backends import backend_title

    return backend_title(name)
