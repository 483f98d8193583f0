"""Building an engine: plan → pre-check → prepare → parse → configure → build → save.

`build_engine(settings, on_log, on_progress, cancel)` is the one entry point (the CLI, the GUI
worker and the benchmarks call it); each step is a function named for it below. Settings
reach TensorRT in `trtgui.core.build.trt_config`; TensorRT's failures are put in plain words
by `trtgui.core.build.failures`. The engine and its build record (`<engine>.json`,
`trtgui.core.build.record`) are written together through the one atomic writer; a failed or
cancelled build leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from trtgui.core import backends, gpus
from trtgui.core.build import accuracy_step, failures, trt_calibrator, trt_config, trt_log
from trtgui.core.build.accuracy_record import AccuracyReport, ConversionCheck
from trtgui.core.build.progress import (
    LogProgress,
    ProgressCallback,
    ProgressTracker,
    make_progress_monitor,
)
from trtgui.core.build.record import record_json, record_path
from trtgui.core.build.result import (
    BuildResult,
    build_record,
    check_build_outputs,
    keeps_converted,
    kept_copies,
    write_outputs,
)
from trtgui.core.build.settings import BuildSettings, converted_onnx_path, default_engine_path
from trtgui.core.build.timing_cache import load_timing_cache, save_timing_cache
from trtgui.core.errors import BuildCancelled, EngineBuildError, ModelLoadError
from trtgui.core.files import InputFile, Output, write_together
from trtgui.core.model import graph_check, precision
from trtgui.core.model.profiles import Precision, validate_profiles
from trtgui.core.tensors import TensorSpec

if TYPE_CHECKING:  # onnx loads only when profiles are checked against the file
    from trtgui.core.model.onnx_model import ModelInfo

log = logging.getLogger(__name__)

PARSE_PHASE = "Parsing the ONNX model"

LogCallback = Callable[[int, str], None]


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    import hashlib  # loads OpenSSL (~4 ms): only in the thread that hashes

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# -- the build ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """A build whose paths and backend are settled and whose settings were checked."""

    settings: BuildSettings  # output path and backend filled in, as the record keeps them
    source: Path
    engine_path: Path
    trt: ModuleType
    info: backends.BackendInfo

    @property
    def converting(self) -> bool:
        """FP16/BF16/INT8 convert the ONNX model first; FP32, "auto" and what the backend
        takes as builder flags (TensorRT 8.6's FP16, INT8 by calibrator) build it as it is."""
        return trt_config.precision_from_onnx(self.info, self.settings)


@dataclass(frozen=True)
class _Built:
    """What TensorRT returned, and what its log said about it."""

    serialized: Any  # IHostMemory
    seconds: float
    notes: tuple[str, ...]
    calibration_images: int = 0  # INT8 by TensorRT's calibrator: the images it was given


def build_engine(
    settings: BuildSettings,
    on_log: LogCallback | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    *,
    log_level: int = logging.INFO,
    check_conversion: ConversionCheck | None = None,
    accept_accuracy_loss: bool = False,
) -> BuildResult:
    """Build the engine `settings` describe and write it (plus its build record) atomically.

    `on_log(level, message)` gets TensorRT's messages at `log_level` and above (use
    `trt_log.VERBOSE` for everything); `on_progress(event)` gets phase/step updates; set
    `cancel` to stop. Both callbacks run on TensorRT's threads and must be cheap.
    `check_conversion` (the predict stage's `accuracy.check_conversion`, injected: the build
    stage does not import predict) compares a converted model with the original beside
    TensorRT's build, before anything is written; a broken verdict stops the build (and
    TensorRT) unless `accept_accuracy_loss` (or the settings' `accept_accuracy_loss`).

    Raises BuildCancelled, OnnxParseError, ProfileError, SettingsError, OutputPathError,
    EngineBuildError, ModelLoadError, BackendUnavailable.
    """
    started = time.perf_counter()
    tracker = ProgressTracker(on_progress, cancel)
    if accept_accuracy_loss:  # the CLI flag: recorded in the settings like the GUI's switch
        settings = settings.with_changes(accept_accuracy_loss=True)
    job = _plan(settings)
    # Read once here, so preparing the model need not read it again.
    has_qdq, weights = _precheck(job)
    _check_cancel(tracker.cancel)
    # The ONNX hash and the GPU list (slow without a GPU: the driver probe fails) are only
    # needed for the record: get them while TensorRT builds (it releases the GIL).
    extras = _Background(lambda: (file_sha256(job.source), gpus.gpu_report()))
    logger, hub = trt_log.get_trt_logger(job.info.name, job.trt)
    with (
        extras,
        trt_log.capture(hub, on_log, log_level, cancel=tracker.cancel) as capture,
        _workdir(job.converting, job.engine_path.parent) as workdir,
    ):
        prepared = _prepare(job, Path(workdir), has_qdq, tracker, capture)
        pending = _start_check(job, prepared, check_conversion, tracker)
        with pending or contextlib.nullcontext():
            try:
                _check_cancel(tracker.cancel)
                builder, network = _parse_network(job, logger, prepared.path, tracker)
                built = _build_serialized(job, builder, network, prepared.has_qdq, tracker, capture)
            except EngineBuildError:
                # TensorRT stopped because the check refused the model: that refusal is the
                # answer (raised below), not TensorRT's failure to finish.
                if pending is None or not pending.stopped_tensorrt:
                    raise
            accuracy = _check_accuracy(job, prepared, pending, tracker, capture, Path(workdir))
        if built.calibration_images:
            prepared = replace(prepared, calibration_images=built.calibration_images)
        kept = (
            converted_onnx_path(job.engine_path, job.settings.precision)
            if prepared.converted and keeps_converted(job.settings)
            else None
        )
        result = BuildResult(
            engine_path=job.engine_path,
            sidecar_path=record_path(job.engine_path),
            settings=job.settings,
            backend=job.info.name,
            backend_version=job.info.version or "unknown",
            build_seconds=time.perf_counter() - started,
            engine_bytes=int(built.serialized.nbytes),
            warning_count=capture.warning_count,
            error_count=capture.error_count,
            io_tensors=network_io(network),
            converted_onnx_path=kept,
            profiles=job.settings.profiles,
            notes=((prepared.note,) if prepared.note else ()) + built.notes,
            precision_method=prepared.method,
            engine_build_seconds=built.seconds,
            accuracy=accuracy,
        )
        onnx_sha256, report = extras.result()
        record = build_record(result, job.info, prepared, onnx_sha256, report)
        copies = kept_copies(prepared, kept)
        # Once more with the converted model's weights file, whose name is known only now
        # (and in case a path changed during the build): a refusal still writes nothing.
        extra = [Output(t, "converted model's weights file") for _, t in copies if t != kept]
        check_build_outputs(job.settings, also=extra, reads=weights)
        write_outputs(
            job.engine_path,
            built.serialized,
            record_json(record),
            copies,
            cancel=tracker.cancel,
        )
    return result


def _plan(settings: BuildSettings) -> _Job:
    """Settle the paths and the backend, and check the settings, before any work."""
    source = Path(settings.onnx_path)
    if not settings.onnx_path or not source.is_file():
        raise ModelLoadError(
            f"The ONNX model {settings.onnx_path or '(none)'} does not exist: choose a model file."
        )
    engine_path = (
        Path(settings.output_path)
        if settings.output_path
        else default_engine_path(source, settings.precision)
    )
    # Every file the build writes, as one unit, before any work (the model's weights files
    # are checked by the pre-check, which reads their names).
    check_build_outputs(settings.with_changes(output_path=str(engine_path)))
    backend_name = settings.backend or backends.default_backend_name()
    trt = backends.load_trt(backend_name)
    info = backends.probe_backend(backend_name)
    trt_config.check_settings(info, settings)
    # Record what was really used, so the record's settings rebuild the same engine.
    settings = settings.with_changes(output_path=str(engine_path), backend=backend_name)
    return _Job(settings, source, engine_path, trt, info)


def _precheck(job: _Job) -> tuple[bool, tuple[InputFile, ...]]:
    """Broken graphs, impossible opsets or dims and missing weights, in plain words, before
    TensorRT reads the file: its parser asserts in C++ terms, and builds some of them.
    Returns whether the model holds Q/DQ nodes, and its external weights files (checked
    here: no output may replace one)."""
    facts = graph_check.precheck_model(job.source)
    model_info = _inspect(job.source) if facts.has_external_data or job.converting else None
    weights: tuple[InputFile, ...] = ()
    if model_info is not None and model_info.external_data:
        weights = tuple(
            (f.path, f"{f.path.name}, the model's weights file") for f in model_info.external_data
        )
        check_build_outputs(job.settings, reads=weights)
    # Converting is slow: check the profiles against the ONNX file first. Otherwise they are
    # checked against the parsed network, which costs nothing extra.
    if job.converting and model_info is not None:
        validate_profiles(model_info, job.settings.profiles)
    return facts.has_qdq, weights


def _prepare(
    job: _Job,
    workdir: Path,
    has_qdq: bool,
    tracker: ProgressTracker,
    capture: trt_log.LogCapture,
) -> precision.PreparedModel:
    """The ONNX file to parse: the model itself, or its FP16/BF16/INT8 conversion.
    `has_qdq`: the pre-check's answer for the model, so it is not read again."""
    s = job.settings
    prepared = precision.prepare_model(
        job.source,
        # A precision given by builder flags builds the model as it is, like FP32.
        s.precision if job.converting else Precision.FP32,
        workdir,
        has_qdq=has_qdq,
        calibration=precision.Calibration(
            s.calibration_dir, s.calibration_max_images, s.preprocess, s.profiles
        ),
        int8_exclude=s.int8_exclude,
        # "qdq" is ONNX Runtime's quantizer; "calibrator" builds the model as it is (above).
        int8_method="modelopt" if s.int8_method == "modelopt" else "ort",
        cancel=tracker.cancel,
        on_phase=lambda name, steps: tracker.phase_start(name, None, steps),
        on_step=tracker.step_complete,
    )
    if not job.converting and s.precision not in (Precision.FP32, Precision.AUTO):
        prepared = replace(prepared, method=trt_config.flag_method(job.info, s))
    if prepared.note:
        _tell(capture, logging.INFO, prepared.note)
    _check_cancel(tracker.cancel)
    return prepared


def _start_check(
    job: _Job,
    prepared: precision.PreparedModel,
    check: ConversionCheck | None,
    tracker: ProgressTracker,
) -> accuracy_step.PendingCheck | None:
    """Start the injected precision check of a converted model beside TensorRT's build."""
    if check is None or not prepared.converted:
        return None
    sample = accuracy_step.make_sample(job.settings, job.source, prepared)
    return accuracy_step.PendingCheck(
        check, sample, tracker, stop_when_broken=not job.settings.accept_accuracy_loss
    )


def _check_accuracy(
    job: _Job,
    prepared: precision.PreparedModel,
    pending: accuracy_step.PendingCheck | None,
    tracker: ProgressTracker,
    capture: trt_log.LogCapture,
    workdir: Path,
) -> AccuracyReport | None:
    """The precision check's verdict (`accuracy_step`); a broken one raises
    ConversionRejected (nothing is written) unless the settings accept the loss, after the
    INT8 retries found what it would take."""
    if pending is None:
        return None
    s = job.settings
    sample = pending.sample
    report = pending.result()
    if report.broken and s.accept_accuracy_loss:
        report = replace(report, accepted_loss=True)
    else:

        def requantize(patterns: tuple[str, ...], folder: Path) -> precision.PreparedModel:
            retry = replace(job, settings=s.with_changes(int8_exclude=patterns))
            return _prepare(retry, folder, False, tracker, capture)

        report = accuracy_step.retry_broken_int8(
            report, sample, s, prepared, pending.check, requantize, workdir, tracker
        )
    _tell(capture, logging.INFO, f"Precision check: {report.verdict}. {report.summary}")
    for line in accuracy_step.retry_lines(report):
        _tell(capture, logging.INFO, f"Precision check {line}")
    if report.broken and not s.accept_accuracy_loss:
        kept = ""
        if s.keep_converted_onnx:  # for inspection, only when asked: the engine is not built
            target = converted_onnx_path(job.engine_path, s.precision)
            write_together([], kept_copies(prepared, target))
            kept = f" The converted model is kept at {target}."
        raise accuracy_step.rejection(
            report,
            s.precision,
            details="The converted model was compared with the original by ONNX Runtime "
            f"while TensorRT built; no engine was written.{kept}",
        )
    return report


def _parse_network(job: _Job, logger: Any, path: Path, tracker: ProgressTracker) -> tuple[Any, Any]:
    """(IBuilder, INetworkDefinition) of the parsed model; profiles checked against it."""
    tracker.phase_start(PARSE_PHASE, None, 1)
    builder = job.trt.Builder(logger)
    network = trt_config.create_network(
        job.trt, builder, job.info, job.settings.precision, job.settings.int8_method
    )
    parser = job.trt.OnnxParser(network, logger)
    ok = parser.parse_from_file(str(path))  # reads external weights beside the file
    failure = failures.parser_failure(parser, job.source)
    if failure is not None:
        raise failure
    if not ok:
        raise failures.parse_failed_silently(job.source)
    if not job.converting:
        validate_profiles(_NetworkModel.of(network), job.settings.profiles)
    tracker.step_complete(PARSE_PHASE, 0)
    tracker.phase_finish(PARSE_PHASE)
    _check_cancel(tracker.cancel)
    return builder, network


def _build_serialized(
    job: _Job,
    builder: Any,
    network: Any,
    has_qdq: bool,
    tracker: ProgressTracker,
    capture: trt_log.LogCapture,
) -> _Built:
    """Configure the builder and let TensorRT build; the serialized engine, or an error in
    plain words (or BuildCancelled)."""
    config = builder.create_builder_config()
    notes = trt_config.configure(job.trt, builder, network, config, job.info, job.settings, has_qdq)
    monitor = make_progress_monitor(job.trt, tracker)
    log_progress = None
    if monitor is not None:
        config.progress_monitor = monitor
    else:  # TensorRT 8.6: no progress monitor; its VERBOSE log names the phases
        log_progress = LogProgress(tracker, network.num_layers, len(job.settings.profiles))
    calibration = trt_calibrator.make_calibrator(
        job.trt,
        builder,
        network,
        config,
        job.info,
        job.settings,
        job.source,
        tracker.cancel,
        on_phase=log_progress.side_phase
        if log_progress is not None
        else (lambda name, steps: tracker.phase_start(name, None, steps)),
        on_step=tracker.step_complete,
    )
    timing_cache = load_timing_cache(config, job.info, job.settings.timing_cache_path)
    for note in notes:
        _tell(capture, logging.INFO, note)
    started = time.perf_counter()
    try:
        with _log_progress(job, log_progress):
            serialized = builder.build_serialized_network(network, config)
    except MemoryError as exc:
        raise EngineBuildError(
            "TensorRT ran out of memory while building: lower the max shapes or the "
            "workspace limit, or close other programs.",
            details=str(exc),
        ) from exc
    except Exception as exc:  # the bindings raise RuntimeError/TypeError on API misuse
        raise EngineBuildError(
            "TensorRT stopped with an internal error while building the engine.",
            details=f"{type(exc).__name__}: {exc}\n" + "\n".join(capture.errors),
        ) from exc
    finally:
        if calibration is not None:
            calibration.close()
    seconds = time.perf_counter() - started
    if monitor is not None:
        config.progress_monitor = None
    del monitor
    if calibration is not None and calibration.error is not None:
        _check_cancel(tracker.cancel)
        raise EngineBuildError(
            f"INT8 calibration stopped: {calibration.error}",
            details=f"{type(calibration.error).__name__}: {calibration.error}",
        ) from calibration.error
    if serialized is None:
        _check_cancel(tracker.cancel)
        raise failures.explain_build_failure(
            list(capture.errors), list(capture.warnings), job.settings.profiles
        )
    _check_cancel(tracker.cancel)  # a cancel after the last step still wins: write nothing
    # An engine TensorRT says will fail at its own profile's min or max shapes is no success
    # (#13): nothing is written, and the message names the layer and dimension.
    inconsistent = failures.profile_inconsistency(capture.warnings, job.settings.profiles)
    if inconsistent is not None:
        raise inconsistent
    notes += failures.explain_warnings(capture.warnings)
    notes += _callback_problems(tracker, capture)
    save_timing_cache(config, job.info, job.settings.timing_cache_path)
    del timing_cache
    images = 0
    if calibration is not None:
        images = calibration.images
        notes.append(f"TensorRT calibrated INT8 in {calibration.batches} batch(es) of images.")
        # Nothing converted to compare: say so rather than let silence read as "checked".
        notes.append(
            "The precision check did not run: TensorRT's calibrator quantizes inside the "
            "engine, so there is no converted model for ONNX Runtime to compare. Compare the "
            "engine on a GPU (trtgui-cli run ENGINE --compare-onnx MODEL), or use the default "
            "INT8 method, which is checked."
        )
    return _Built(serialized, seconds, tuple(notes), images)


@contextlib.contextmanager
def _log_progress(job: _Job, progress: LogProgress | None) -> Iterator[None]:
    """While TensorRT builds: feed every log line, VERBOSE included, to `progress` (a build
    without a progress monitor)."""
    if progress is None:
        yield
        return
    _logger, hub = trt_log.get_trt_logger(job.info.name, job.trt)
    progress.start()
    with trt_log.capture(hub, progress.feed, trt_log.VERBOSE):
        yield


def network_io(network: Any) -> tuple[TensorSpec, ...]:
    """The network's inputs, then its outputs, as TensorRT parsed them (-1 = dynamic)."""
    ends = [(network.get_input(i), True) for i in range(network.num_inputs)]
    ends += [(network.get_output(i), False) for i in range(network.num_outputs)]
    return tuple(
        TensorSpec(
            name=t.name,
            dtype=backends.trt_dtype_name(t.dtype),
            shape=tuple(int(d) for d in t.shape),
            is_input=is_input,
        )
        for t, is_input in ends
    )


@dataclass(frozen=True)
class _NetworkModel:
    """The parsed network's inputs as `validate_profiles` reads a model (-1 → None)."""

    inputs: tuple[TensorSpec, ...]

    @classmethod
    def of(cls, network: Any) -> _NetworkModel:
        inputs = (network.get_input(i) for i in range(network.num_inputs))
        return cls(
            tuple(
                TensorSpec(t.name, "", tuple(None if int(d) < 0 else int(d) for d in t.shape))
                for t in inputs
            )
        )


# -- small steps ----------------------------------------------------------------------------------


def _check_cancel(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise BuildCancelled("The build was cancelled; nothing was written.")


def _inspect(source: Path) -> ModelInfo:
    from trtgui.core.model.onnx_model import inspect_onnx, require_external_data

    model_info = inspect_onnx(source)
    require_external_data(model_info)
    return model_info


@contextlib.contextmanager
def _workdir(needed: bool, unused: Path) -> Iterator[str]:
    """A temporary folder for the converted model; none (and no tempfile import) for FP32,
    where `prepare_model` returns the source as it is and never writes."""
    if not needed:
        yield str(unused)
        return
    from trtgui.core.files import temp_folder

    # Listed with the writer's temporary files, so a hard exit (second Ctrl-C) removes it.
    with temp_folder("trtgui-build-") as folder:
        yield str(folder)


def _tell(capture: trt_log.LogCapture, level: int, message: str) -> None:
    """Our own notes go to the build's log view too (not counted as TensorRT's)."""
    log.log(level, "%s", message)
    if capture.on_log is not None and level >= capture.level:
        with contextlib.suppress(Exception):
            capture.on_log(level, f"[trtgui] {message}")


def _callback_problems(tracker: ProgressTracker, capture: trt_log.LogCapture) -> list[str]:
    problems = [*tracker.callback_errors, *capture.callback_errors]
    if not problems:
        return []
    first = problems[0]
    return [
        f"A progress or log callback failed {len(problems)} time(s) during the build "
        f"(first: {type(first).__name__}: {first}); the build itself went on."
    ]


T = TypeVar("T")


class _Background(Generic[T]):
    """Run `fn` in a helper thread; a context manager that always joins it on exit."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._value: list[T] = []  # [the value] once `fn` returned
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="trtgui-build-extras")

    def _run(self) -> None:
        try:
            self._value.append(self._fn())
        except BaseException as exc:  # re-raised in the caller's thread by result()
            self._error = exc

    def __enter__(self) -> _Background[T]:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value[0]


__all__ = ["PARSE_PHASE", "BuildResult", "build_engine", "file_sha256", "network_io"]
