"""`trtgui-cli doctor [--json]`: what trtgui can use on this machine and how to fix the rest.

Exit status 0 when everything trtgui needs is usable (optional parts such as TensorRT, CUDA
or a GPU may be missing), 1 when a required component is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "doctor",
        help="check Python, Qt, ONNX, TensorRT, CUDA and GPUs on this machine",
        description="List what trtgui can use here, what is missing and how to install it.",
    )
    parser.add_argument("--json", action="store_true", help="print stable JSON instead of text")
    return parser


def run(args: argparse.Namespace) -> int:
    from trtgui.core.doctor import doctor_report, format_text

    report = doctor_report()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(format_text(report))
    if not report.ok:
        names = ", ".join(i.name for i in report.problems)
        print(
            f"error: required components are missing or broken: {names} (install commands above)",
            file=sys.stderr,
        )
        return 1
    return 0
