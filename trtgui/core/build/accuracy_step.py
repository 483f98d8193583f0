"""The build's precision-check step: run the injected check on a converted model before
TensorRT's verdict is committed, and when INT8 is broken, find out what it would take.

The retry (#13): a broken INT8 conversion is quantized again with the model's decoding tail
in float (the nodes after the last compute layer that feeds each output; then those last
compute layers too), checked again, and the first attempt that is ok or degraded is reported
with the `--int8-exclude` options that give it. It is **reported, not built**: the user asked
for the refused model, and a model with more float layers is a different (slower) engine
whose choice is theirs; the message and the record say exactly how to build it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from trtgui.core.build.accuracy_record import (
    AccuracyReport,
    ConversionCheck,
    ConversionRejected,
    ConversionSample,
    RetryAttempt,
    held_back,
)
from trtgui.core.build.progress import ProgressTracker
from trtgui.core.build.settings import BuildSettings
from trtgui.core.model.precision import PreparedModel
from trtgui.core.model.profiles import Precision

ACCURACY_PHASE = "Checking the converted model's accuracy"
RETRY_PHASE = "Retrying INT8 with the decoding tail in float"

# (extra --int8-exclude patterns, a work folder) -> the model quantized again with them.
Requantize = Callable[[tuple[str, ...], Path], PreparedModel]


def check_images(settings: BuildSettings) -> tuple[tuple[Path, ...], str]:
    """The images the check runs on, and how they were chosen, in words."""
    if not settings.calibration_dir:
        return (), ""
    from trtgui.core.model.int8 import list_calibration_images

    found = list_calibration_images(settings.calibration_dir, settings.calibration_max_images)
    if settings.precision is not Precision.INT8:
        return tuple(found), f"{len(found)} images from the calibration folder"
    _calibration, images = held_back(found)
    if len(images) == len(found):
        return images, f"all {len(images)} calibration images reused: too few to hold some back"
    return images, f"{len(images)} images held back from calibration"


def make_sample(settings: BuildSettings, source: Path, prepared: PreparedModel) -> ConversionSample:
    images, note = check_images(settings)
    return ConversionSample(
        original=source,
        converted=prepared.path,
        precision=settings.precision.value,
        images=images,
        images_note=note,
        preprocess=settings.preprocess,
        excluded_nodes=prepared.int8_excluded,
        reference_outputs=prepared.reference_outputs,
    )


class PendingCheck:
    """The precision check running in a helper thread while TensorRT builds.

    Why beside TensorRT: the check is ONNX Runtime work on the converted file, which TensorRT
    only reads, and TensorRT's engine stays in memory until the build writes it, after the
    verdict: so a broken conversion still writes nothing, and the check costs the build only
    the time it outlasts TensorRT. A broken verdict (unless the loss is accepted) stops
    TensorRT through the progress monitor at once (`tracker.stop`), so a long GPU build is not
    waited for only to be thrown away.
    """

    def __init__(
        self,
        check: ConversionCheck,
        sample: ConversionSample,
        tracker: ProgressTracker,
        stop_when_broken: bool,
    ) -> None:
        self._abandon = threading.Event()
        self.sample = replace(sample, abandon=self._abandon)
        self.check = check
        self._tracker = tracker
        self._stop_when_broken = stop_when_broken
        self._report: AccuracyReport | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="trtgui-precision-check")
        self._thread.start()

    def _run(self) -> None:
        try:
            self._report = self.check(self.sample)
        except BaseException as exc:  # re-raised in the build's thread by result()
            self._error = exc
            return
        if self._report.broken and self._stop_when_broken:
            self._tracker.stop.set()

    @property
    def stopped_tensorrt(self) -> bool:
        return self._tracker.stop.is_set()

    def result(self) -> AccuracyReport:
        """The report; while the check still runs, a progress phase says what is awaited."""
        if self._thread.is_alive():
            self._tracker.phase_start(ACCURACY_PHASE, None, 1)
            self._thread.join()
            self._tracker.step_complete(ACCURACY_PHASE, 0)
            self._tracker.phase_finish(ACCURACY_PHASE)
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._report is not None
        return self._report

    def __enter__(self) -> PendingCheck:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:  # cancelled, or TensorRT failed: the answer is not wanted
            self._abandon.set()
        self._thread.join()  # never leave it running past the build (its files go)


def retry_broken_int8(
    report: AccuracyReport,
    sample: ConversionSample,
    settings: BuildSettings,
    prepared: PreparedModel,
    check: ConversionCheck,
    requantize: Requantize,
    workdir: Path,
    tracker: ProgressTracker,
) -> AccuracyReport:
    """`report` with the retries of a broken INT8 conversion added (none for other cases)."""
    if not report.broken or settings.precision is not Precision.INT8:
        return report
    plans = _retry_plans(sample.original, prepared)
    if not plans:
        return report
    tracker.phase_start(RETRY_PHASE, None, len(plans))
    attempts: list[RetryAttempt] = []
    for number, (what, names) in enumerate(plans):
        started = time.perf_counter()
        folder = workdir / f"retry-{number + 1}"
        folder.mkdir(exist_ok=True)
        patterns = tuple(dict.fromkeys((*settings.int8_exclude, *names)))
        retried = requantize(patterns, folder)
        again = check(
            replace(
                sample,
                converted=retried.path,
                excluded_nodes=retried.int8_excluded,
                reference_outputs=retried.reference_outputs,
            )
        )
        attempts.append(
            RetryAttempt(
                what=what,
                kept_float=names,
                patterns=patterns,
                verdict=again.verdict,
                deciding_metric=again.deciding_metric,
                value=float(again.metrics.get(again.deciding_metric, 0.0)),
                summary=again.summary,
                seconds=time.perf_counter() - started,
            )
        )
        tracker.step_complete(RETRY_PHASE, number)
        if attempts[-1].helped:
            break
    tracker.phase_finish(RETRY_PHASE)
    return replace(report, retries=tuple(attempts))


def _retry_plans(source: Path, prepared: PreparedModel) -> list[tuple[str, tuple[str, ...]]]:
    """(what in words, the nodes to keep in float): first the tail after the last compute
    layers, then those layers too. Only nodes the broken model really quantized are named
    (the rest are float already); an attempt that would change nothing is left out."""
    from trtgui.core.model import qdq_placement
    from trtgui.core.model.convert_base import load_model

    tail = qdq_placement.decoder_tail(load_model(source, with_weights=False))
    quantized = set(prepared.int8_quantized)
    after = tuple(n for n in tail.after if n in quantized)
    last = tuple(n for n in tail.last_compute if n in quantized)
    count = len(tail.after)
    op = tail.last_op
    plans: list[tuple[str, tuple[str, ...]]] = []
    if after:
        # The flags name only the quantized ones: say how many of the tail are float already.
        already = count - len(after)
        note = f" ({already} of them float already)" if already else ""
        plans.append((f"the {count} nodes after the last {op}{note}", after))
    if last:
        n = len(tail.last_compute)
        layers = f"{n} last {op} layer{'s' if n != 1 else ''}"
        what = f"the {layers} and the {count} nodes after them" if count else f"the {layers}"
        plans.append((what, after + last))
    return plans


def rejection(report: AccuracyReport, precision: Precision, details: str) -> ConversionRejected:
    """The refusal of a broken conversion: one line with the figure and what to do."""
    return ConversionRejected(
        f"{report.summary}: {advice(report, precision)}", report, details=details
    )


def advice(report: AccuracyReport, precision: Precision) -> str:
    anyway = "--accept-accuracy-loss builds anyway"
    if precision is not Precision.INT8:
        return f"build in FP32 or another precision ({anyway})"
    fix = report.fix
    if fix is not None:
        return (
            f"INT8 is {fix.verdict} ({fix.figure}) when {fix.what} stay in float: use "
            f"{fix.flags}, or FP16 ({anyway})"
        )
    if report.retries:
        last = report.retries[-1]
        return (
            f"keeping {last.what} in float does not help ({last.figure}): use FP16, or keep "
            f"more layers in float with --int8-exclude PATTERN ({anyway})"
        )
    what = "the detector head" if report.task in ("detection", "faces") else "the sensitive layers"
    return f"keep {what} in float with --int8-exclude PATTERN, or use FP16 ({anyway})"


def retry_lines(report: AccuracyReport) -> list[str]:
    """The retries in plain text, one line each (the CLI summary prints them)."""
    lines = []
    for attempt in report.retries:
        outcome = f"{attempt.verdict} ({attempt.figure})"
        line = f"retried with {attempt.what} in float: {outcome}"
        if attempt.helped:
            line += f"; rebuild with {attempt.flags}"
        lines.append(line)
    return lines
