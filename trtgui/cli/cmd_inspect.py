"""`trtgui-cli inspect MODEL [--json] [--check]`: what is inside an ONNX model.

Text for people by default, the stable `ModelInfo.to_dict()` JSON with --json. With --check
the ONNX checker runs too and its findings make the exit code 1. onnx is imported only in
`run()` so `trtgui-cli --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from trtgui.core.text import clip, escape_control, format_bytes, message_line, terminal_text

if TYPE_CHECKING:
    from trtgui.core.model.onnx_model import ModelInfo
    from trtgui.core.tensors import TensorSpec

TOP_OPS = 10
METADATA_CHARS = 100  # a metadata value's share of its one line; --json has all of it


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "inspect",
        help="show what is inside an ONNX model (I/O, opsets, operators, weights)",
        description="Show what is inside an ONNX model without loading its weights.",
    )
    parser.add_argument("model", metavar="MODEL", help="path of the .onnx file")
    parser.add_argument("--json", action="store_true", help="print stable JSON instead of text")
    parser.add_argument(
        "--check",
        action="store_true",
        help="also run the ONNX checker; exit status 1 when it finds problems",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from trtgui.core.model.onnx_model import check_onnx, inspect_onnx

    info = inspect_onnx(args.model)
    findings = check_onnx(args.model) if args.check else None
    if args.json:
        data = info.to_dict()
        if findings is not None:
            data["check"] = {"ok": not findings, "findings": findings}
        print(json.dumps(data, indent=2))
    else:
        print(format_model(info, findings))
    if findings:
        print(
            f"error: the ONNX checker found {len(findings)} problem(s) in {info.path.name}: "
            "fix the export (details above)",
            file=sys.stderr,
        )
        return 1
    return 0


def _io_table(title: str, tensors: tuple[TensorSpec, ...]) -> list[str]:
    lines = [f"{title} ({len(tensors)})"]
    if not tensors:
        return [*lines, "  (none)"]
    from trtgui.core.shapes import shape_text

    # Names and dim names come from the file: escaped (line breaks too) and capped.
    rows = [("NAME", "TYPE", "SHAPE")] + [
        (clip(t.name), t.dtype, clip(shape_text(t.shape))) for t in tensors
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines += [f"  {r[0].ljust(w0)}  {r[1].ljust(w1)}  {r[2]}".rstrip() for r in rows]
    return lines


def format_model(info: ModelInfo, findings: list[str] | None = None) -> str:
    """The readable summary printed by `trtgui-cli inspect`."""
    from trtgui.core.text import shorten

    # Every name and text below comes from the file: each goes through `clip` (control
    # characters and line breaks escaped, capped) so the file cannot add lines of its own or
    # send ESC sequences to the terminal.
    opsets = ", ".join(f"{clip(d or 'ai.onnx', 40)} {v}" for d, v in info.opsets.items()) or "none"
    producer = " ".join(p for p in (info.producer_name, info.producer_version) if p) or "-"
    lines = [
        f"Model          {escape_control(info.path.name)}  ({format_bytes(info.file_size)})",
        f"Path           {escape_control(str(info.path))}",
        f"Format         IR {info.ir_version}; opsets: {opsets}",
        f"Producer       {clip(producer, 100)}",
        f"Graph          {clip(info.graph_name or '-')}",
    ]
    if info.doc_string:
        first = info.doc_string.strip().splitlines()[0] if info.doc_string.strip() else ""
        lines.append(f"Description    {clip(first, 100)}")
    # One line per entry, however long the value: PP-OCR keeps a 6,623-line character list here.
    for key, value in info.metadata.items():
        shown = shorten(value, METADATA_CHARS, hint="--json for all")
        lines.append(f"Metadata       {shorten(key, 40)} = {shown}")
    lines += [
        f"Parameters     {info.parameter_count:,} ({format_bytes(info.parameter_bytes)}); "
        f"{info.initializer_count} initializers",
        f"Nodes          {info.node_count}",
        "",
        *_io_table("Inputs", info.inputs),
        *_io_table("Outputs", info.outputs),
        "",
    ]
    top = list(info.op_histogram.items())[:TOP_OPS]
    more = len(info.op_histogram) - len(top)
    entries = [f"{clip(op, 60)} {n}" for op, n in top] or ["none"]
    if more > 0:
        entries.append(f"... ({more} more kinds)")
    # Wrap between entries, never inside "Op count".
    row = "Operators      "
    for k, entry in enumerate(entries):
        piece = entry + ("," if k < len(entries) - 1 else "")
        if len(row) + len(piece) > 100 and row.strip() != "Operators":
            lines.append(row.rstrip())
            row = " " * 15
        row += piece + " "
    lines.append(row.rstrip())
    if info.custom_ops:
        lines.append(
            f"Custom ops     {', '.join(clip(op, 60) for op in info.custom_ops)}  "
            "(TensorRT needs a plugin for these)"
        )
    else:
        lines.append("Custom ops     none")
    if info.external_data:
        for i, f in enumerate(info.external_data):
            label = "External data" if i == 0 else ""
            if f.problem:
                state = f"REFUSED: {f.problem}"
            elif not f.exists:
                state = "MISSING: put it next to the model"
            elif f.truncated:
                state = f"INCOMPLETE: {format_bytes(f.actual_bytes or 0)} on disk"
            else:
                state = "present"
            lines.append(
                f"{label:<15}{clip(f.location)}  {format_bytes(f.expected_bytes)}  {state}"
            )
    else:
        lines.append("External data  none (weights inside the model file)")
    if info.shape_inference_ok:
        lines.append("Shape check    ONNX shape inference ok")
    else:
        problem = message_line(info.shape_inference_error)
        lines.append(f"Shape check    ONNX shape inference failed: {problem}")
    if findings is not None:
        if findings:
            lines.append("ONNX checker   problems found:")
            lines += [f"  {message_line(f)}" for f in findings]
        else:
            lines.append("ONNX checker   valid")
    # A last net for a caller that prints this past the CLI's terminal guard.
    return terminal_text("\n".join(lines))
