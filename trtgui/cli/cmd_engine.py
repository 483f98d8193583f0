"""`trtgui-cli engine ENGINE [--json] [--layers]`: check an engine file, and inspect it on a GPU.

Without a GPU (or with a GPU the backend refuses) it still prints the plan header, the
compatibility verdict, the build record (`<engine>.json`) and the I/O recorded at build time.
Exit status 0 when the file is a readable engine, 1 when it is not.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trtgui.core.text import clip, escape_control, message_line

if TYPE_CHECKING:
    from trtgui.core.engine.info import EngineInfo
    from trtgui.core.engine.plan import EngineCheck
    from trtgui.core.shapes import Dim


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "engine",
        help="check a TensorRT engine file (version, compatibility, I/O, layers)",
        description="Check a TensorRT engine file: which TensorRT built it, whether this "
        "machine can load it, its build record, and (with a GPU) its I/O, profiles and layers.",
    )
    parser.add_argument("engine", metavar="ENGINE", help="path of the engine (.engine/.plan)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--layers", action="store_true", help="list every layer (needs a GPU)")
    return parser


def run(args: argparse.Namespace) -> int:
    from trtgui.core.engine.info import inspect_engine
    from trtgui.core.engine.plan import check_engine
    from trtgui.core.errors import BackendUnavailable, EngineLoadError

    check = check_engine(args.engine)
    info: EngineInfo | None = None
    inspect_problem = ""
    if check.verdict.loadable_here:
        try:
            info = inspect_engine(args.engine)
        except (BackendUnavailable, EngineLoadError) as err:
            inspect_problem = err.message
    if args.json:
        data: dict[str, Any] = {"check": check.to_dict()}
        data["engine"] = info.to_dict() if info is not None else None
        data["inspect_problem"] = inspect_problem
        print(json.dumps(data, indent=2))
        return 0
    print(format_check(check))
    if inspect_problem:
        print(f"\nCould not inspect it: {inspect_problem}")
    if info is not None:
        print()
        print(format_info(info, layers=args.layers))
    elif args.layers:
        print(f"Layers       {_why_no_layers(check, inspect_problem)}")
    return 0


def _why_no_layers(check: EngineCheck, inspect_problem: str) -> str:
    """One line: the layer list comes from the deserialized engine, which did not happen."""
    if inspect_problem:
        return "not listed: the engine could not be inspected (see above)."
    if check.verdict.status == "needs_gpu":
        has = "has none" if not check.gpus else "has none that its TensorRT supports"
        need = f"a supported NVIDIA GPU, and this machine {has}"
    elif check.verdict.status == "needs_backend":
        need = f"{check.header.backend_title}, which is not installed here"
    else:
        need = "the engine to load on this machine, and it does not (see Verdict)"
    return f"not listed: listing layers means loading the engine, which needs {need}."


def _shape(shape: Sequence[Dim] | None) -> str:
    from trtgui.core.shapes import shape_text  # the one notation of every command and panel

    return shape_text(shape)


def format_check(check: EngineCheck) -> str:
    # The record, the names and the texts below come from files: each is clipped (control
    # characters and line breaks escaped, long ones cut) so no file can add lines of its own.
    h = check.header
    lines = [
        f"Engine       {escape_control(str(h.path))} ({h.file_size:,} bytes)",
        f"Built with   {h.backend_title} {h.version_str} (plan tag {h.tag!r})",
        "Installed    "
        + "; ".join(
            f"{b.title} {b.version if b.available else 'not installed'}" for b in check.installed
        ),
    ]
    if check.gpus:
        lines.append(
            "GPU          "
            + "; ".join(
                f"{g.name} (compute capability {g.compute_capability_str})" for g in check.gpus
            )
        )
    else:
        lines.append(f"GPU          none ({check.gpu_reason})")
    lines.append(f"Verdict      {check.verdict.words}")
    lines.append(f"             {check.verdict.message}")
    lines += [f"             note: {message_line(n)}" for n in check.verdict.notes]
    if check.validity:
        problems = ", ".join(check.validity_problems)
        extra = f" ({message_line(problems)})" if check.validity_problems else ""
        lines.append(f"Validity     {check.validity.lower()}{extra}")
    if check.record is not None:
        r = check.record
        facts = [
            f"backend {clip(r.backend or '?', 40)} {clip(r.backend_version, 40)}".strip(),
            f"precision {r.precision.value}",
        ]
        if r.onnx_sha256:
            facts.append(f"ONNX sha256 {clip(r.onnx_sha256[:16])}…")
        if r.onnx_path is not None:
            facts.append(f"from {clip(str(r.onnx_path), 1000)}")
        name = escape_control(check.record_path.name)
        lines.append(f"Build record {name}: " + ", ".join(facts))
    elif check.record_problem:
        lines.append(f"Build record not read: {check.record_problem}")
    else:
        lines.append("Build record none (no .json beside the engine)")
    if check.build_io:
        lines.append("I/O recorded at build time:")
        for t in check.build_io:
            kind = "input " if t.is_input else "output"
            lines.append(f"  {kind} {clip(t.name):<24} {clip(t.dtype, 20):<9} {_shape(t.shape)}")
    return "\n".join(lines)


def format_info(info: EngineInfo, layers: bool = False) -> str:
    lines = [
        f"Loaded with  {info.backend} {info.backend_version}",
        f"Profiles     {info.num_profiles}",
        f"Device memory {info.device_memory_bytes / 2**20:.1f} MiB",
        f"Layers       {info.num_layers}",
        "I/O tensors:",
    ]
    for t in info.tensors:
        fmt = t.format_desc or t.format
        name = clip(t.name)
        lines.append(f"  {t.mode:<6} {name:<24} {t.dtype:<9} {_shape(t.shape)}  {clip(fmt)}")
        for i, p in enumerate(t.profiles):
            lines.append(
                f"         profile {i}: min {_shape(p.min)} opt {_shape(p.opt)} max {_shape(p.max)}"
            )
    if info.precision_summary:
        lines.append(
            "Precisions   " + ", ".join(f"{k} {v}" for k, v in info.precision_summary.items())
        )
    if info.layer_note:
        lines.append(f"Note         {message_line(info.layer_note)}")
    if layers:
        lines.append("Layers:")
        for la in info.layers:
            lines.append(
                f"  {la.type:<18} {la.precision:<6} {clip(la.name)}  [{clip(la.tactic, 60)}]"
            )
    return "\n".join(lines)
