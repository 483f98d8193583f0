"""`trtgui-cli build MODEL [-o ENGINE] ...`: build a TensorRT engine from an ONNX model.

Settings come from `--settings FILE.json` (if given) and are then overridden by the options
on the command line (`build_args`). A live progress bar with the phase name is drawn on stderr
when it is a terminal (plain phase lines otherwise; `build_text`). The build runs in a worker
thread so Ctrl-C is seen at once (`build_run`): it sets the cancel event, the build stops at
TensorRT's next step, nothing is written and the exit status is 130 (a Ctrl-C while the
engine is being written still wins). A second Ctrl-C ends the process at once, also with 130
and nothing written. `--json` prints the `BuildResult` as JSON on stdout. `--events` writes
the build's life as JSON lines instead (the build event protocol, `build_events`), the way
the GUI's build child runs.

Without `-o` the engine goes beside the model as MODEL.engine (FP32) or MODEL.fp16.engine,
MODEL.int8.engine, …, so builds in other precisions do not replace it. An existing engine is
replaced like `cp` replaces a file (atomically: the new file is renamed over it), and the CLI
says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trtgui.core.text import clip

if TYPE_CHECKING:
    from trtgui.cli.build_run import Outcome
    from trtgui.core.build.result import BuildResult
    from trtgui.core.build.settings import BuildSettings


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from trtgui.cli.build_args import add_parser as add_build_parser

    return add_build_parser(subparsers)


def run(args: argparse.Namespace) -> int:
    from trtgui.cli.build_args import check_usage

    check_usage(args)
    if args.events:
        from trtgui.cli.build_events import run_events

        return run_events(args)
    return _run_text(args)


def _run_text(args: argparse.Namespace) -> int:
    from trtgui.cli.build_args import log_level, make_settings
    from trtgui.cli.build_run import EXIT_CANCELLED, BuildRun
    from trtgui.cli.build_text import ProgressDisplay, TextSink, format_result
    from trtgui.core.errors import BuildCancelled

    err = sys.stderr

    def say(line: str) -> None:
        print(line, file=err)

    settings = make_settings(args)
    save_to = check_outputs(args, settings)  # before any work, as one unit
    settings = with_suggested_profile(settings, say)
    replacing = Path(settings.output_path).is_file()  # the build refuses anything else there
    display = ProgressDisplay(err, live=err.isatty())
    outcome = BuildRun(TextSink(display, show_errors=args.verbose)).run(
        settings,
        log_level=log_level(args),
        accept_accuracy_loss=bool(args.accept_accuracy_loss),
    )
    if isinstance(outcome.error, BuildCancelled):
        say(outcome.error.message)  # "The build was cancelled; nothing was written."
        return EXIT_CANCELLED
    if outcome.error is not None:
        from trtgui.core.build.accuracy_record import ConversionRejected

        if args.json and isinstance(outcome.error, ConversionRejected):
            # A refused conversion's figures, and what the INT8 retry found, for scripts too.
            refused = {"error": outcome.error.message, "accuracy": outcome.error.report.to_dict()}
            print(json.dumps(refused, indent=2))
        raise outcome.error
    result = finish_build(outcome, settings, save_to, replacing, say)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        from trtgui.core.model.onnx_model import inspect_onnx

        model = inspect_onnx(result.settings.onnx_path)  # its dim names, for the shapes
        print(format_result(result, {t.name: t.shape for t in (*model.inputs, *model.outputs)}))
    return 0


def finish_build(
    outcome: Outcome,
    settings: BuildSettings,
    save_to: Path | None,
    replacing: bool,
    say: Callable[[str], None],
    cancel_name: str = "Ctrl-C",
) -> BuildResult:
    """After a build that wrote its files: save `settings` (only now: a failed or cancelled
    build saves nothing) and say what else happened. Raises OutputPathError."""
    assert outcome.result is not None
    result = outcome.result
    if outcome.cancel_requested:
        say(f"{cancel_name} came after the engine was written: it is kept.")
    if save_to is not None:
        _save_settings(settings, save_to, result.engine_path)
        say(f"settings saved to {save_to}")
    if replacing:
        say(f"replaced existing {result.engine_path}")
    return result


def with_suggested_profile(settings: BuildSettings, say: Callable[[str], None]) -> BuildSettings:
    """No profile given for a dynamic model: use the suggestion, and `say` so (notes)."""
    if settings.profiles:
        return settings
    from trtgui.core.model.onnx_model import inspect_onnx
    from trtgui.core.model.profile_check import check_suggestion
    from trtgui.core.shapes import shape_arg

    # Checked with ONNX Runtime dry runs, so e.g. a PP-OCR recogniser gets height 48.
    checked = check_suggestion(inspect_onnx(settings.onnx_path))
    profiles = checked.profiles
    for note in checked.notes:
        say(f"note: {note}")
    if profiles:
        # A command to copy and edit, so the typed "1x3x224x224" form (shape_arg), not the
        # printed "1×3×224×224" that is hard to type (--shapes reads both).
        shown = " ".join(
            f"{clip(i.name)}:{shape_arg(i.min)}:{shape_arg(i.opt)}:{shape_arg(i.max)}"
            for i in profiles[0].inputs
        )
        say(f"note: no --shapes given; using the suggested profile --shapes {shown}")
    return settings.with_changes(profiles=profiles)


def check_outputs(args: argparse.Namespace, settings: BuildSettings) -> Path | None:
    """Check every file the build writes, --save-settings included, before any work (none
    may be the model or another of them; a folder, a FIFO or a device is refused); the
    settings file to save after the build, if any."""
    from trtgui.core.build.result import check_build_outputs
    from trtgui.core.files import Output

    save_to = Path(args.save_settings) if getattr(args, "save_settings", None) else None
    # --settings is read whole before the build starts, so --save-settings may name it: that
    # is how a settings file is updated.
    check_build_outputs(settings, also=[Output(save_to, "settings file")] if save_to else [])
    return save_to


def _save_settings(settings: BuildSettings, path: Path, engine: Path) -> None:
    from trtgui.core.errors import OutputPathError
    from trtgui.core.files import os_reason

    try:
        settings.save(path)
    except OSError as exc:  # the atomic writer left any old settings file as it was
        raise OutputPathError(
            f"The engine {engine} was written, but not the settings file {path}: {os_reason(exc)}.",
            details=repr(exc),
        ) from exc
