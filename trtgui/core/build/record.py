"""The build record: the `<engine>.json` a build writes beside the engine, and its one reader.

It says how the engine was made (which ONNX file and its hash, the settings, the backend, the
GPUs, the precision method) and what came out (the network's tensors, size, timings). This
module names its path (`record_path`), writes it (`record_json`, through the builder's
atomic writer), reads and validates it (`read_record`), and answers "which ONNX was this
engine built from" (`onnx_for_engine`). Files of older trtgui versions read back (missing
fields take defaults, the old "network_io" key is accepted); a foreign or malformed file
raises `BuildRecordError` naming the bad field and what it must be.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import BuildRecordError, SettingsError, TrtGuiError
from trtgui.core.model.graph_check import check_is_onnx
from trtgui.core.model.profiles import Precision, ShapeProfile
from trtgui.core.reading import LIMITS, read_regular, shown_path
from trtgui.core.schema import JsonProblem, finding, loads
from trtgui.core.tensors import TensorSpec

RECORD_FORMAT = "trtgui-engine-sidecar/1"
_FORMAT_FAMILY = RECORD_FORMAT.rsplit("/", 1)[0]
# A record is a few kB; anything this large beside an engine is not one.
MAX_RECORD_BYTES = LIMITS["record"].max_bytes


def record_path(engine_path: str | Path) -> Path:
    """model.engine → model.engine.json."""
    path = Path(engine_path)
    return path.with_name(path.name + ".json")


# -- fields that hold core records ---------------------------------------------------------------


def _read_settings(value: Any) -> BuildSettings | None:
    if value is None or isinstance(value, BuildSettings):
        return value
    try:  # the settings file's own reader: the same rules and messages, fields as settings.x
        return BuildSettings.from_dict(value, where="settings")
    except SettingsError as err:
        raise ValueError(err.message) from err


def _read_profiles(value: Any) -> tuple[ShapeProfile, ...]:
    if isinstance(value, tuple) and all(isinstance(p, ShapeProfile) for p in value):
        return value
    try:  # a settings file's profiles, read by its reader
        return BuildSettings.from_dict({"profiles": value or []}).profiles
    except SettingsError as err:
        raise ValueError(err.message) from err


class RecordedTensor(BaseModel):
    """One tensor as the build wrote it: {"name", "is_input", "dtype", "shape"}; records of
    other tools say "mode": "input" instead of "is_input"."""

    model_config = ConfigDict(frozen=True, extra="allow")
    WHAT: ClassVar[str] = 'an object with a "name" string'

    name: StrictStr = Field(description="a string")
    is_input: StrictBool | None = Field(None, description="true or false")
    mode: StrictStr = Field("", description="a string")
    dtype: StrictStr = Field("unknown", description="a string")
    shape: list[StrictInt] | None = Field(None, description="a list of integers or null")


class _RecordedTensors(BaseModel):
    """The record's tensor list, under the key it is written as (for the message's names)."""

    io_tensors: list[RecordedTensor] = Field(description="a list of tensors")


def _read_tensors(value: Any) -> tuple[TensorSpec, ...]:
    if isinstance(value, tuple) and all(isinstance(t, TensorSpec) for t in value):
        return value
    data = {"io_tensors": value}
    try:
        tensors = _RecordedTensors.model_validate(data).io_tensors
    except ValidationError as exc:
        raise ValueError(finding(exc, _RecordedTensors, data).sentence) from exc
    return tuple(
        TensorSpec(
            name=t.name,
            dtype=t.dtype,
            shape=None if t.shape is None else tuple(t.shape),
            is_input=t.mode.lower() == "input" if t.is_input is None else t.is_input,
        )
        for t in tensors
    )


def tensor_json(tensor: TensorSpec) -> dict[str, Any]:
    """A network tensor as build records and `build --json` write it: name, is_input, dtype,
    shape (the key order since the first version)."""
    data = tensor.to_dict()
    return {"name": data.pop("name"), "is_input": tensor.is_input, **data}


def _tensors_json(tensors: tuple[TensorSpec, ...]) -> list[dict[str, Any]]:
    return [tensor_json(t) for t in tensors]


def profiles_json(profiles: tuple[ShapeProfile, ...]) -> list[dict[str, Any]]:
    """Shape profiles as build records and `build --json` write them."""
    return [
        {
            "inputs": [
                {"name": i.name, "min": list(i.min), "opt": list(i.opt), "max": list(i.max)}
                for i in p.inputs
            ]
        }
        for p in profiles
    ]


def _path_json(path: Path | None) -> str | None:
    return None if path is None else str(path)


_Settings = Annotated[
    BuildSettings | None,
    PlainValidator(_read_settings),
    PlainSerializer(lambda s: None if s is None else s.to_dict()),
]
_Profiles = Annotated[
    tuple[ShapeProfile, ...], PlainValidator(_read_profiles), PlainSerializer(profiles_json)
]
_Tensors = Annotated[
    tuple[TensorSpec, ...], PlainValidator(_read_tensors), PlainSerializer(_tensors_json)
]
_OptionalPath = Annotated[Path | None, PlainSerializer(_path_json)]


_TEXT = "a string"
_COUNT = "an integer or null"
_SECONDS = "a number of seconds or null"
_PATH = "a path (a string) or null"


class RecordedGpu(BaseModel):
    """A GPU of the machine that built the engine."""

    model_config = ConfigDict(frozen=True, extra="allow")
    WHAT: ClassVar[str] = (
        'an object with "index", "name", "compute_capability" and "total_memory_bytes"'
    )

    index: int = Field(description="an integer")
    name: str = Field(description=_TEXT)
    compute_capability: str = Field(description='a string such as "8.6"')
    total_memory_bytes: int = Field(description="an integer")


class BuildRecord(BaseModel):
    """What `<engine>.json` holds. Fields are written in this order; keys this version does
    not know (written by a newer trtgui) are kept, so nothing read is lost when shown."""

    model_config = ConfigDict(frozen=True, extra="allow", validate_by_name=True)

    # What each field must be, in words, is its description: a wrong one is named with it.
    format: str = Field(default=RECORD_FORMAT, description=_TEXT)
    trtgui_version: str = Field(default="", description=_TEXT)
    created: str = Field(default="", description=_TEXT)  # "2025-01-31T12:00:00+00:00", UTC
    onnx_path: _OptionalPath = Field(default=None, description=_PATH)  # absolute, as resolved
    onnx_sha256: str = Field(default="", description=_TEXT)
    backend: str = Field(default="", description=_TEXT)  # "tensorrt" or "rtx"
    backend_title: str = Field(default="", description=_TEXT)
    backend_version: str = Field(default="", description=_TEXT)
    gpu: RecordedGpu | None = None  # the first of `gpus`
    gpus: tuple[RecordedGpu, ...] = Field(default=(), description="a list of GPUs")
    gpu_reason: str = Field(default="", description=_TEXT)  # why `gpus` is empty
    driver_cuda_version: str | None = Field(default=None, description="a string or null")
    precision: Precision = Field(
        default=Precision.FP32, description=f"one of {', '.join(p.value for p in Precision)}"
    )
    precision_method: str = Field(default="as is", description=_TEXT)
    calibration_images: int = Field(default=0, description="an integer")
    # INT8: the calibration preprocessing as used (resolved: the guess when none was given),
    # the user's keep-in-float patterns, and the nodes that really stayed float.
    preprocess: dict[str, Any] | None = Field(
        default=None, description="an object of preprocessing settings or null"
    )
    int8_exclude: tuple[str, ...] = Field(default=(), description="a list of strings")
    int8_excluded_nodes: tuple[str, ...] = Field(default=(), description="a list of strings")
    converted_onnx_path: _OptionalPath = Field(default=None, description=_PATH)  # when kept
    settings: _Settings = None
    build_seconds: float | None = Field(default=None, description=_SECONDS)
    engine_build_seconds: float | None = Field(default=None, description=_SECONDS)
    engine_bytes: int | None = Field(default=None, description=_COUNT)
    warning_count: int | None = Field(default=None, description=_COUNT)
    error_count: int | None = Field(default=None, description=_COUNT)
    tensors: _Tensors = Field(
        default=(),
        validation_alias=AliasChoices("io_tensors", "network_io", "tensors"),
        serialization_alias="io_tensors",
    )
    profiles: _Profiles = ()
    notes: tuple[str, ...] = Field(default=(), description="a list of strings")
    engine_file: str = Field(default="", description=_TEXT)
    # The precision check of a converted model (`accuracy_record.AccuracyReport.to_dict`).
    accuracy: dict[str, Any] | None = Field(default=None, description="an object or null")

    @model_validator(mode="before")
    @classmethod
    def _older_records(cls, data: Any) -> Any:
        """Records that keep the ONNX path and precision only in their settings; "" for a
        path means none (Path("") would be the current folder)."""
        if not isinstance(data, dict):
            return data
        filled = dict(data)
        settings = data.get("settings")
        for key in ("onnx_path", "precision"):
            if not filled.get(key) and isinstance(settings, dict) and settings.get(key):
                filled[key] = settings[key]
        for key in ("onnx_path", "converted_onnx_path"):
            if filled.get(key) == "":
                filled[key] = None
        return filled


def record_json(record: BuildRecord) -> bytes:
    """The file's bytes: indented JSON, one trailing newline."""
    data = record.model_dump(mode="json", by_alias=True)
    return (json.dumps(data, indent=2) + "\n").encode()


def read_record(engine_path: str | Path) -> BuildRecord | None:
    """The build record beside `engine_path`, or None when there is none.

    Raises BuildRecordError (one line: which file, which field, what it must be) when the file
    is unreadable, not JSON, another program's, or has a field of the wrong kind.
    """
    path = record_path(engine_path)
    if not path.exists():
        return None
    name = path.name
    if not path.is_file():
        raise BuildRecordError(
            f"The build record {name} is a folder or a special file: remove or rename it."
        )
    # A regular file within MAX_RECORD_BYTES, read with a bounded read (reading.py).
    raw = read_regular(path, "record")
    try:
        # The one JSON parser: a record nested 100,000 deep raised RecursionError here.
        data = loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, JsonProblem) as exc:
        why = exc.short if isinstance(exc, JsonProblem) else _first_line(exc)
        raise BuildRecordError(
            f"The build record {name} is unreadable ({why}): rebuild the engine "
            "or remove the file.",
            details=repr(exc),
        ) from exc
    return parse_record(data, name)


def parse_record(data: Any, name: str = "build record") -> BuildRecord:
    """Validate decoded JSON as a build record (see `read_record`)."""
    if not isinstance(data, dict):
        raise BuildRecordError(
            f"The build record {name} is not a JSON object: rebuild the engine or remove the file."
        )
    fmt = data.get("format", RECORD_FORMAT)
    if not isinstance(fmt, str) or not fmt.startswith(_FORMAT_FAMILY + "/"):
        raise BuildRecordError(
            f"The build record {name} is not trtgui's (its format is {fmt!r}, not "
            f"{RECORD_FORMAT!r}): rename it if another program needs it.",
        )
    try:
        return BuildRecord.model_validate(data)
    except ValidationError as exc:
        found = finding(exc, BuildRecord, data)
        raise BuildRecordError(
            f"The build record {name} has a bad field: {found.sentence}; rebuild the engine "
            "or fix the file.",
            details=str(exc),
        ) from exc


def onnx_for_engine(engine_path: str | Path) -> tuple[Path | None, str]:
    """The ONNX model an engine was built from, or None and the reason in words.

    The one answer to "which ONNX": the converted FP16/BF16/INT8 model kept beside the engine
    when the record names one and it is there (the model the engine was built from), else the
    record's ONNX path (a relative one is taken from the engine's folder), when that file is
    still there. The record is only a file beside the
    engine, which anyone can edit, and predict, run and bench feed the path it names to ONNX
    Runtime: so it is followed only to a regular `.onnx` file that parses as an ONNX model,
    never to /etc/passwd, a device or a FIFO. Callers say which file they used.
    """
    try:
        record = read_record(engine_path)
    except BuildRecordError as err:
        return None, err.message
    if record is None:
        return None, "the engine has no build record (.json) naming its ONNX model"
    return onnx_named_by(engine_path, record)


def onnx_named_by(engine_path: str | Path, record: BuildRecord) -> tuple[Path | None, str]:
    """`onnx_for_engine` with the engine's record already read: a record listing thousands
    of tensors takes ~100 ms to read, with the GIL held for much of it (the Engine panel's
    load reads it once)."""
    # The model the engine was built from: the converted FP16/BF16/INT8 model kept beside it
    # (#13), else the original. A kept copy that is gone or unusable falls back to it.
    if record.converted_onnx_path is not None and str(record.converted_onnx_path):
        kept = Path(engine_path).resolve().parent / record.converted_onnx_path.name
        found, _why = _usable_onnx(kept)
        if found is not None:
            return found, ""
    if record.onnx_path is None or not str(record.onnx_path):
        return None, "the engine's build record names no ONNX model"
    path = record.onnx_path
    if not path.is_absolute():
        path = Path(engine_path).resolve().parent / path
    return _usable_onnx(path)


def converted_model_precision(engine_path: str | Path, onnx: Path) -> str:
    """ "INT8" when `onnx` is the converted model the engine's record names (kept beside the
    engine), "" otherwise: for the note that says which model ran instead of the engine."""
    try:
        record = read_record(engine_path)
    except BuildRecordError:
        return ""
    if record is None or record.converted_onnx_path is None:
        return ""
    if onnx.name != record.converted_onnx_path.name:
        return ""
    return record.precision.value.upper()


def _usable_onnx(path: Path) -> tuple[Path | None, str]:
    """`path` when it is a regular .onnx file holding an ONNX graph, else None and why."""
    shown = shown_path(path)
    if not path.exists():
        return None, f"the ONNX model the engine was built from is gone: {shown}"
    if path.suffix.lower() != ".onnx":
        return None, (
            f"the engine's build record names {shown}, which is not an .onnx file; it is not "
            "used (fix the record or pass the ONNX model)"
        )
    try:
        check_is_onnx(path)  # a regular file (no FIFO or device) holding an ONNX graph
    except TrtGuiError as err:
        return None, (
            f"the engine's build record names {shown}, which is not a usable ONNX model "
            f"({err.message.strip().removesuffix('.')}); it is not used"
        )
    return path, ""


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = [
    "MAX_RECORD_BYTES",
    "RECORD_FORMAT",
    "BuildRecord",
    "RecordedGpu",
    "converted_model_precision",
    "onnx_for_engine",
    "onnx_named_by",
    "parse_record",
    "profiles_json",
    "read_record",
    "record_json",
    "record_path",
    "tensor_json",
]
