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
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    model_validator,
)

from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import BuildRecordError, SettingsError
from trtgui.core.model.profiles import Precision, ShapeProfile
from trtgui.core.tensors import TensorSpec

RECORD_FORMAT = "trtgui-engine-sidecar/1"
_FORMAT_FAMILY = RECORD_FORMAT.rsplit("/", 1)[0]
# A record is a few kB; anything this large beside an engine is not one.
MAX_RECORD_BYTES = 8 << 20


def record_path(engine_path: str | Path) -> Path:
    """model.engine → model.engine.json."""
    path = Path(engine_path)
    return path.with_name(path.name + ".json")


# -- fields that hold core records ---------------------------------------------------------------


def _read_settings(value: Any) -> BuildSettings | None:
    if value is None or isinstance(value, BuildSettings):
        return value
    try:  # the settings file's own reader: the same rules and messages
        return BuildSettings.from_dict(value)
    except SettingsError as err:
        raise ValueError(err.message) from err


def _read_profiles(value: Any) -> tuple[ShapeProfile, ...]:
    if isinstance(value, tuple) and all(isinstance(p, ShapeProfile) for p in value):
        return value
    settings = _read_settings({"profiles": value or []})
    return () if settings is None else settings.profiles


def _read_tensor(value: Any) -> TensorSpec:
    """One tensor as the build wrote it: {"name", "is_input", "dtype", "shape"}; records of
    other tools say "mode": "input" instead of "is_input"."""
    if isinstance(value, TensorSpec):
        return value
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise ValueError('each tensor must be an object with a "name" string')
    is_input = value.get("is_input")
    if is_input is None:
        is_input = str(value.get("mode", "")).lower() == "input"
    shape = value.get("shape")
    if shape is not None and not (
        isinstance(shape, list)
        and all(isinstance(d, int) and not isinstance(d, bool) for d in shape)
    ):
        raise ValueError(f"the shape of tensor {value['name']!r} must be a list of integers")
    if not isinstance(is_input, bool):
        raise ValueError(f'"is_input" of tensor {value["name"]!r} must be true or false')
    return TensorSpec(
        name=value["name"],
        dtype=str(value.get("dtype", "unknown")),
        shape=None if shape is None else tuple(shape),
        is_input=is_input,
    )


def _read_tensors(value: Any) -> tuple[TensorSpec, ...]:
    if not isinstance(value, (list, tuple)):
        raise ValueError("must be a list of tensors")
    return tuple(_read_tensor(item) for item in value)


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


class RecordedGpu(BaseModel):
    """A GPU of the machine that built the engine."""

    model_config = ConfigDict(frozen=True, extra="allow")

    index: int
    name: str
    compute_capability: str  # "8.6"
    total_memory_bytes: int


class BuildRecord(BaseModel):
    """What `<engine>.json` holds. Fields are written in this order; keys this version does
    not know (written by a newer trtgui) are kept, so nothing read is lost when shown."""

    model_config = ConfigDict(frozen=True, extra="allow", validate_by_name=True)

    format: str = RECORD_FORMAT
    trtgui_version: str = ""
    created: str = ""  # "2025-01-31T12:00:00+00:00", UTC
    onnx_path: _OptionalPath = None  # absolute, as the build resolved it
    onnx_sha256: str = ""
    backend: str = ""  # "tensorrt" or "rtx"
    backend_title: str = ""
    backend_version: str = ""
    gpu: RecordedGpu | None = None  # the first of `gpus`
    gpus: tuple[RecordedGpu, ...] = ()
    gpu_reason: str = ""  # why `gpus` is empty
    driver_cuda_version: str | None = None
    precision: Precision = Precision.FP32
    precision_method: str = "as is"
    calibration_images: int = 0
    converted_onnx_path: _OptionalPath = None  # the kept converted model, when kept
    settings: _Settings = None
    build_seconds: float | None = None
    engine_build_seconds: float | None = None
    engine_bytes: int | None = None
    warning_count: int | None = None
    error_count: int | None = None
    tensors: _Tensors = Field(
        default=(),
        validation_alias=AliasChoices("io_tensors", "network_io", "tensors"),
        serialization_alias="io_tensors",
    )
    profiles: _Profiles = ()
    notes: tuple[str, ...] = ()
    engine_file: str = ""

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
    try:
        size = path.stat().st_size
        if size > MAX_RECORD_BYTES:
            raise BuildRecordError(
                f"The build record {name} is {size / 2**20:.0f} MiB, far too large for one: "
                "it is another file; remove or rename it."
            )
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BuildRecordError(
            f"The build record {name} is unreadable ({_first_line(exc)}): rebuild the engine "
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
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        what = str(first["msg"]).removeprefix("Value error, ").rstrip(". ")
        what = what.replace("Input should be", "it must be").replace(
            "Field required", "it is missing"
        )
        raise BuildRecordError(
            f"The build record {name} has a bad field {where!r}: {what}; rebuild the engine "
            "or fix the file.",
            details=str(exc),
        ) from exc


def onnx_for_engine(engine_path: str | Path) -> tuple[Path | None, str]:
    """The ONNX model an engine was built from, or None and the reason in words.

    The one answer to "which ONNX": the build record's path (a relative one is taken from the
    engine's folder), when that file is still there.
    """
    try:
        record = read_record(engine_path)
    except BuildRecordError as err:
        return None, err.message
    if record is None:
        return None, "the engine has no build record (.json) naming its ONNX model"
    if record.onnx_path is None or not str(record.onnx_path):
        return None, "the engine's build record names no ONNX model"
    path = record.onnx_path
    if not path.is_absolute():
        path = Path(engine_path).resolve().parent / path
    if not path.is_file():
        return None, f"the ONNX model the engine was built from is gone: {path}"
    return path, ""


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = [
    "MAX_RECORD_BYTES",
    "RECORD_FORMAT",
    "BuildRecord",
    "RecordedGpu",
    "onnx_for_engine",
    "parse_record",
    "profiles_json",
    "read_record",
    "record_json",
    "record_path",
    "tensor_json",
]
