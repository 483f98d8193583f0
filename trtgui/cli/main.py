"""Entry point of `trtgui-cli`: argument parsing, subcommand dispatch and the error funnel.

Each subcommand lives in its own module `trtgui.cli.cmd_<name>` exposing
`add_parser(subparsers) -> argparse.ArgumentParser` and `run(args) -> int`; modules import
lazily so `trtgui-cli --help` stays fast. Exit codes: 0 success, 2 usage error, 1 any other
error, with a one-line message on stderr (details with --verbose).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from trtgui import __version__
from trtgui.core.errors import TrtGuiError

SUBCOMMANDS = ("demo", "inspect", "doctor", "build", "engine", "run", "bench", "predict")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """All subcommands; with `only`, just that one's module is imported (the others get a
    bare placeholder so argparse still knows their names): importing every command costs a
    `trtgui-cli build` ~20 ms."""
    parser = argparse.ArgumentParser(
        prog="trtgui-cli",
        description="Build, inspect and test NVIDIA TensorRT engines from ONNX models.",
    )
    parser.add_argument("--version", action="version", version=f"trtgui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        if only is not None and name != only:
            sub.add_parser(name)
            continue
        module = importlib.import_module(f"trtgui.cli.cmd_{name}")
        sub_parser = module.add_parser(sub)
        sub_parser.set_defaults(_run=module.run)
        if not any(a.dest == "verbose" for a in sub_parser._actions):
            sub_parser.add_argument(
                "-v", "--verbose", action="store_true", help="print error details"
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    first = next((w for w in words if not w.startswith("-")), None)
    parser = build_parser(first if first in SUBCOMMANDS else None)
    args = parser.parse_args(words)  # exits with 2 on usage errors
    try:
        return int(args._run(args) or 0)
    except TrtGuiError as err:
        print(f"error: {err.message}", file=sys.stderr)
        if getattr(args, "verbose", False) and err.details:
            print(err.details, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last net: no traceback for people unless they ask
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        if getattr(args, "verbose", False):
            import traceback

            traceback.print_exc()
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
