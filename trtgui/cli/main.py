"""Entry point of `trtgui-cli`: argument parsing, subcommand dispatch and the error funnel.

Each subcommand lives in its own module `trtgui.cli.cmd_<name>` exposing
`add_parser(subparsers) -> argparse.ArgumentParser` and `run(args) -> int`; modules import
lazily so `trtgui-cli --help` stays fast. Exit codes: 0 success, 2 usage error, 1 any other
error, with a one-line message on stderr (details with --verbose), 130 after Ctrl-C, 141
(quietly) when the reader of stdout went away, as for other Unix tools.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import textwrap
import threading
from collections.abc import Sequence

from trtgui import __version__
from trtgui.cli.output import guarded_streams
from trtgui.core.errors import TrtGuiError
from trtgui.core.text import message_line

# What a shell reports for a tool that SIGPIPE ended (128 + 13), as `yes | head -1` does.
EXIT_BROKEN_PIPE = 141

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
    args._own_process = argv is None  # the command line itself: `build --events` may os._exit
    # Everything printed from here may quote a file: no control character of its reaches the
    # terminal (cli/output.py).
    with guarded_streams():
        code = _dispatch(args)
    if argv is None and threading.current_thread() is threading.main_thread():
        # The command line itself, and its work is done: only the interpreter's exit is left.
        # A late Ctrl-C (the second of two, just after a cancelled build ended) would turn
        # the status chosen here into a death by SIGINT.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code


def _dispatch(args: argparse.Namespace) -> int:
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # here, so a closed pipe is seen below and not at exit
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except TrtGuiError as err:
        print(f"error: {err.message}", file=sys.stderr)
        if getattr(args, "verbose", False) and err.details:
            # Indented: details quote the file (parser output, names), which must not be
            # able to start a line of its own such as a fake "error:".
            print(textwrap.indent(err.details, "  ", lambda line: True), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last net: no traceback for people unless they ask
        print(f"error: unexpected {type(exc).__name__}: {message_line(str(exc))}", file=sys.stderr)
        if getattr(args, "verbose", False):
            import traceback

            traceback.print_exc()
        return 1


def _stdout_closed() -> int:
    """The reader of stdout went away (`trtgui-cli inspect m.onnx | head -1`): stop quietly
    as other Unix tools do. stdout now points at devnull, so the interpreter's last flush of
    what is still buffered finds nowhere to fail (the recipe of Python's `signal` docs)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    raise SystemExit(main())
