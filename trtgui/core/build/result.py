"""What a build produces: `BuildResult` (returned to the CLI and the GUI) and the files it
writes, the engine and its build record, together through the one atomic writer; and the
check, before any work, that those files can go where asked (`check_build_outputs`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trtgui import __version__
from trtgui.core.backends import BackendInfo
from trtgui.core.build.accuracy_record import AccuracyReport
from trtgui.core.build.record import (
    BuildRecord,
    RecordedGpu,
    profiles_json,
    record_path,
    tensor_json,
)
from trtgui.core.build.settings import (
    BuildSettings,
    converted_onnx_path,
    default_engine_path,
    jsonable,
)
from trtgui.core.errors import BuildCancelled, EngineBuildError
from trtgui.core.files import (
    InputFile,
    Output,
    WriteCancelled,
    check_outputs,
    os_reason,
    write_together,
)
from trtgui.core.gpus import GpuReport
from trtgui.core.model import precision
from trtgui.core.model.profiles import Precision, ShapeProfile
from trtgui.core.tensors import TensorSpec


@dataclass(frozen=True)
class BuildResult:
    """What a successful build produced."""

    engine_path: Path
    sidecar_path: Path  # the build record, `record.record_path(engine_path)`
    settings: BuildSettings
    backend: str
    backend_version: str
    build_seconds: float
    engine_bytes: int
    warning_count: int
    error_count: int
    io_tensors: tuple[TensorSpec, ...]  # the network's, as TensorRT parsed it (-1 = dynamic)
    converted_onnx_path: Path | None
    # Additions beyond the contract: the profiles used, plain-words notes (ignored settings,
    # profile warnings, how the precision was obtained), and TensorRT's own build time.
    profiles: tuple[ShapeProfile, ...] = ()
    notes: tuple[str, ...] = ()
    precision_method: str = "as is"
    engine_build_seconds: float = 0.0
    accuracy: AccuracyReport | None = None  # the precision check of a converted model

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine_path": str(self.engine_path),
            "sidecar_path": str(self.sidecar_path),
            "settings": self.settings.to_dict(),
            "backend": self.backend,
            "backend_version": self.backend_version,
            "build_seconds": round(self.build_seconds, 4),
            "engine_build_seconds": round(self.engine_build_seconds, 4),
            "engine_bytes": self.engine_bytes,
            "warning_count": self.warning_count,
            "error_count": self.error_count,
            "io_tensors": [tensor_json(t) for t in self.io_tensors],
            "profiles": profiles_json(self.profiles),
            "converted_onnx_path": str(self.converted_onnx_path)
            if self.converted_onnx_path
            else None,
            "precision_method": self.precision_method,
            "notes": list(self.notes),
            "accuracy": self.accuracy.to_dict() if self.accuracy is not None else None,
        }


def build_record(
    result: BuildResult,
    info: BackendInfo,
    prepared: precision.PreparedModel,
    onnx_sha256: str,
    report: GpuReport,
) -> BuildRecord:
    """The record written beside the engine: the result, plus where it came from."""
    machine = tuple(
        RecordedGpu(
            index=g.index,
            name=g.name,
            compute_capability=g.compute_capability_str,
            total_memory_bytes=g.total_memory_bytes,
        )
        for g in report.gpus
    )
    return BuildRecord(
        trtgui_version=__version__,
        created=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        onnx_path=Path(result.settings.onnx_path).resolve(),
        onnx_sha256=onnx_sha256,
        backend=result.backend,
        backend_title=info.title,
        backend_version=result.backend_version,
        gpu=machine[0] if machine else None,
        gpus=machine,
        gpu_reason=report.reason,
        driver_cuda_version=report.driver_cuda_version,
        precision=result.settings.precision,
        precision_method=prepared.method,
        calibration_images=prepared.calibration_images,
        preprocess=None if prepared.preprocess is None else jsonable(asdict(prepared.preprocess)),
        int8_exclude=result.settings.int8_exclude,
        int8_excluded_nodes=prepared.int8_excluded,
        converted_onnx_path=result.converted_onnx_path,
        settings=result.settings,
        build_seconds=round(result.build_seconds, 4),
        engine_build_seconds=round(result.engine_build_seconds, 4),
        engine_bytes=result.engine_bytes,
        warning_count=result.warning_count,
        error_count=result.error_count,
        tensors=result.io_tensors,
        profiles=result.profiles,
        notes=result.notes,
        engine_file=result.engine_path.name,
        accuracy=result.accuracy.to_dict() if result.accuracy is not None else None,
    )


def kept_copies(
    prepared: precision.PreparedModel, kept: Path | None
) -> tuple[tuple[Path, Path], ...]:
    """(source, target) of the converted model and its weights file, when kept."""
    if kept is None or not prepared.files:
        return ()
    converted = prepared.files[0]
    return tuple(
        (src, kept.with_name(kept.name + src.name[len(converted.name) :])) for src in prepared.files
    )


def write_outputs(
    engine_path: Path,
    serialized: Any,
    record: bytes,
    copies: Sequence[tuple[Path, Path]] = (),
    cancel: threading.Event | None = None,
) -> None:
    """Engine, build record (and the kept converted model) written atomically; all or
    nothing. A `cancel` set before the files are renamed into place wins: nothing lands.
    Raises EngineBuildError, BuildCancelled."""
    try:
        write_together(
            [(record_path(engine_path), record), (engine_path, memoryview(serialized))],
            copies,
            cancel=cancel,
        )
    except WriteCancelled:
        raise BuildCancelled("The build was cancelled; nothing was written.") from None
    except OSError as exc:
        raise EngineBuildError(
            f"The engine was built but could not be written to {engine_path}: "
            f"{os_reason(exc)}; nothing was changed.",
            details=repr(exc),
        ) from exc


# -- where the files go ---------------------------------------------------------------------------


def keeps_converted(settings: BuildSettings) -> bool:
    """Whether a build keeps its converted model beside the engine: always for FP16, BF16 and
    INT8 (#13: `predict` on an engine that cannot run here runs the model it was built from,
    not the FP32 original). `keep_converted_onnx` (--keep-onnx) now only keeps the converted
    model of a build the precision check refused."""
    return settings.precision not in (Precision.FP32, Precision.AUTO)


def build_outputs(settings: BuildSettings) -> tuple[Output, ...]:
    """The files a build of `settings` writes, as one unit: the engine, its build record, the
    converted model when kept, and the timing cache when one is named."""
    engine = (
        Path(settings.output_path)
        if settings.output_path
        else default_engine_path(settings.onnx_path, settings.precision)
    )
    named_after = "choose another engine file name (the {} is named after it)"
    outputs = [
        Output(settings.output_path or engine, "engine file"),
        Output(record_path(engine), "build record", named_after.format("record")),
    ]
    if keeps_converted(settings):
        kept = converted_onnx_path(engine, settings.precision)
        outputs.append(Output(kept, "converted model", named_after.format("converted model")))
    if settings.timing_cache_path:
        outputs.append(Output(Path(settings.timing_cache_path), "timing cache"))
    return tuple(outputs)


def check_build_outputs(
    settings: BuildSettings,
    *,
    also: Sequence[Output] = (),
    reads: Sequence[InputFile] = (),
) -> None:
    """Before any work: every file the build writes (and `also`, such as the settings file
    the CLI saves after it) can go where asked, and none is a file the build reads: the
    model, `reads` (its external weights, the settings file) or a calibration image.
    Raises OutputPathError."""
    inputs: list[InputFile] = [(settings.onnx_path, "the ONNX model itself"), *reads]
    if settings.precision is Precision.INT8 and settings.calibration_dir:
        inputs += _calibration_files(Path(settings.calibration_dir))
    check_outputs([*build_outputs(settings), *also], inputs=inputs)


def _calibration_files(folder: Path) -> list[InputFile]:
    """The files directly in the calibration folder (calibration reads images from there)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []  # the calibration step says why it cannot read the folder
    return [(p, f"{p.name}, a calibration image this build reads") for p in entries]
