"""Opening an engine file to show it: the check, the inspection when this machine can do it,
and the ONNX model it was built from.

`load_engine(path)` is what the Engine panel's worker runs. A file that is no engine raises;
an engine that cannot be deserialized here (no GPU, a version mismatch) is still an outcome,
because its header and build record are worth showing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trtgui.core.build.record import BuildRecord, onnx_for_engine, onnx_named_by
from trtgui.core.engine.info import EngineInfo, inspect_engine
from trtgui.core.engine.plan import EngineCheck, check_engine
from trtgui.core.errors import BackendUnavailable, EngineLoadError, TrtGuiError
from trtgui.core.model.onnx_model import ModelInfo, inspect_onnx


@dataclass(frozen=True)
class EngineLoadOutcome:
    """The check, and the inspection or why it could not be done here."""

    path: Path
    check: EngineCheck
    info: EngineInfo | None
    inspect_error: BackendUnavailable | EngineLoadError | None
    model: ModelInfo | None = None  # the ONNX model it was built from, when still there


def load_engine(path: str | Path) -> EngineLoadOutcome:
    """Check the file (no GPU needed), then try to inspect it (needs a GPU).

    Raises EngineLoadError when the file is no readable engine.
    """
    check = check_engine(path)
    info = None
    error: BackendUnavailable | EngineLoadError | None = None
    try:
        info = inspect_engine(path)
    except (BackendUnavailable, EngineLoadError) as exc:
        error = exc
    # No record (or an unreadable one): no ONNX named, and no second read to find that out.
    model = source_model(path, check.record) if check.record is not None else None
    return EngineLoadOutcome(Path(path), check, info, error, model)


def source_model(engine_path: str | Path, record: BuildRecord | None = None) -> ModelInfo | None:
    """The ModelInfo of the ONNX file the engine was built from, if it is still there: its
    symbolic dim names ("batch") label the engine's dynamic dims. Weights are not read.
    `record`: the engine's build record when already read."""
    if record is not None:
        onnx, _why = onnx_named_by(engine_path, record)
    else:
        onnx, _why = onnx_for_engine(engine_path)
    if onnx is None:
        return None
    try:
        return inspect_onnx(onnx)
    except TrtGuiError:  # replaced by something unreadable since the build: dims stay "?"
        return None
