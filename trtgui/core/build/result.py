"""What a build produces: `BuildResult` (returned to the CLI and the GUI) and the files it
writes, the engine and its build record, together through the one atomic writer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trtgui import __version__
from trtgui.core.backends import BackendInfo
from trtgui.core.build.record import (
    BuildRecord,
    RecordedGpu,
    profiles_json,
    record_path,
    tensor_json,
)
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import EngineBuildError
from trtgui.core.files import write_together
from trtgui.core.gpus import GpuReport
from trtgui.core.model import precision
from trtgui.core.model.profiles import ShapeProfile
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
) -> None:
    """Engine, build record (and the kept converted model) written atomically; all or
    nothing. Raises EngineBuildError."""
    try:
        write_together(
            [(record_path(engine_path), record), (engine_path, memoryview(serialized))], copies
        )
    except OSError as exc:
        raise EngineBuildError(
            f"The engine was built but could not be written to {engine_path}: "
            f"{exc.strerror or exc}.",
            details=repr(exc),
        ) from exc
