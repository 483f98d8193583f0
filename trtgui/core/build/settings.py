"""`BuildSettings`, the frozen record of how to build an engine, and its JSON round-trip.

Its parts come from the stages below: `Precision` and `ShapeProfile` from
`trtgui.core.model.profiles`, `PreprocessSpec` (INT8 calibration images) from
`trtgui.core.imaging`. A settings file is checked against the pydantic schema `SettingsFile`
(types and ranges, in words), so a wrong field is named with what it must be.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)
from pydantic_core import PydanticCustomError

from trtgui.core.errors import SettingsError
from trtgui.core.files import write_atomic
from trtgui.core.imaging import PreprocessSpec, read_spec
from trtgui.core.model.profiles import MAX_DIM, PRECISIONS, InputShape, Precision, ShapeProfile
from trtgui.core.reading import read_regular_text
from trtgui.core.schema import UnknownKey, parse_json, validate
from trtgui.core.text import shown

ENGINE_SUFFIX = ".engine"
# How INT8 gets its scales: trtgui's Q/DQ quantizer (ONNX Runtime's, with TensorRT's placement),
# NVIDIA ModelOpt's Q/DQ quantizer (when installed), or TensorRT's entropy calibrator.
INT8_METHODS = ("qdq", "modelopt", "calibrator")


def default_engine_path(onnx_path: str | Path, precision: Precision | str = Precision.FP32) -> Path:
    """The engine file a build writes when none is chosen, beside the model: model.engine for
    FP32 and model.fp16.engine, model.bf16.engine, model.int8.engine, model.auto.engine
    otherwise, so engines of different precisions never replace one another."""
    source = Path(onnx_path)
    value = Precision(precision).value
    tag = "" if value == Precision.FP32.value else f".{value}"
    return source.with_name(f"{source.stem}{tag}{ENGINE_SUFFIX}")


def converted_onnx_path(engine_path: str | Path, precision: Precision | str) -> Path:
    """Where "keep the converted model" puts it: <engine stem>.<precision>.onnx beside the
    engine, without repeating a precision the engine's name already ends with (model.fp16.engine
    keeps model.fp16.onnx, not model.fp16.fp16.onnx)."""
    engine = Path(engine_path)
    value = Precision(precision).value
    stem = engine.stem.removesuffix(f".{value}")
    return engine.with_name(f"{stem}.{value}.onnx")


@dataclass(frozen=True)
class BuildSettings:
    """Everything that decides how an engine is built. JSON round-trips exactly."""

    onnx_path: str = ""
    output_path: str = ""
    backend: str = ""  # "" = default backend (trtgui.core.backends.default_backend_name)
    precision: Precision = Precision.FP32
    profiles: tuple[ShapeProfile, ...] = ()
    workspace_bytes: int | None = None  # memory-pool limit; None = TensorRT's default
    optimization_level: int = 3  # builder optimization level 0-5
    timing_cache_path: str = ""  # NVIDIA TensorRT only
    profiling_verbosity: str = "detailed"  # "layer_names_only" | "detailed" | "none"
    version_compatible: bool = False  # NVIDIA TensorRT only
    hardware_compatibility: str = "none"  # NVIDIA TensorRT: "none" | "ampere_plus" | ...
    compute_capabilities: tuple[str, ...] = ()  # TensorRT-RTX targets, e.g. ("8.6", "8.9")
    calibration_dir: str = ""  # INT8: folder of images
    calibration_max_images: int = 64
    # INT8: "qdq" = trtgui inserts Q/DQ nodes (every backend); "modelopt" = NVIDIA ModelOpt
    # inserts them (when installed); "calibrator" = TensorRT's own entropy calibrator over the
    # same images (NVIDIA TensorRT 8.6 and 10.x only).
    int8_method: str = "qdq"
    # INT8 Q/DQ: node names or op types (fnmatch patterns) kept in float.
    int8_exclude: tuple[str, ...] = ()
    preprocess: PreprocessSpec | None = None  # INT8 calibration preprocessing
    keep_converted_onnx: bool = False  # keep the FP16/BF16/INT8 ONNX beside the engine
    # Build even when the precision check finds the conversion broken (recorded as such).
    accept_accuracy_loss: bool = False

    def with_changes(self, **changes: Any) -> BuildSettings:
        return replace(self, **changes)

    # -- JSON ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["precision"] = self.precision.value
        plain: dict[str, Any] = jsonable(data)
        return plain

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "") -> BuildSettings:
        """Settings from decoded JSON, checked against `SettingsFile`: one SettingsError (a
        PreprocessError for the "preprocess" part) naming the first wrong field and what it
        must be. `where` is the key the settings sit under in a larger file ("settings" in a
        build record): messages name fields as `where.field`."""
        if not isinstance(data, dict):
            what = where or "A build settings file"
            raise SettingsError(f"{what} must hold a JSON object, got {shown(data)}.")
        checked = validate(
            SettingsFile, data, SettingsError, where=where, unknown=_unknown_setting(where)
        )
        return cls(**{k: _field_value(checked, k, where) for k in checked.model_fields_set})

    @classmethod
    def from_json(cls, text: str) -> BuildSettings:
        return cls.from_dict(parse_json(text, "The settings file", SettingsError))

    def save(self, path: str | Path) -> None:
        """Write the settings file atomically. Raises OSError."""
        write_atomic(Path(path), (self.to_json() + "\n").encode("utf-8"))

    @classmethod
    def load(cls, path: str | Path) -> BuildSettings:
        # A regular file within LIMITS["settings"]: a FIFO would block for good.
        return cls.from_json(read_regular_text(Path(path), "settings"))


def jsonable(value: Any) -> Any:
    """`value` with tuples turned into lists, recursively (what json.dumps writes anyway), so
    a record's dict compares equal to its JSON round trip."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


# -- the settings file's schema ---------------------------------------------------------------

# Values beyond these never reach TensorRT: a workspace of 1e30 bytes failed inside its Python
# binding, a dimension of 10^20 too. 1 TiB is far above any GPU's memory; 100,000 calibration
# images is hours of calibration (TensorRT's samples use 500 to 1,000).
MAX_WORKSPACE_BYTES = 1 << 40
MAX_CALIBRATION_IMAGES = 100_000

_STRING = "a string"
_BOOL = "true or false"
_SHAPE = "a list of integers"
# A dimension TensorRT can hold (Dims are int32 in TensorRT 8 and 10); ≤ 0 is judged, with
# the input named, by `validate_profiles`.
_Dim = Annotated[StrictInt, Field(le=MAX_DIM)]


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:  # a type error in `finding`'s words: the field's description
            raise PydanticCustomError("not_one_of", "not one of the choices")
        return value

    return check


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value  # "FP16" is fp16


class InputShapeFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    WHAT: ClassVar[str] = 'an object with a "name" and "min", "opt" and "max" shapes'

    name: StrictStr = Field(description=_STRING)
    min: list[_Dim] = Field(description=_SHAPE)
    opt: list[_Dim] = Field(description=_SHAPE)
    max: list[_Dim] = Field(description=_SHAPE)


class ProfileFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    WHAT: ClassVar[str] = 'an object with an "inputs" list'

    inputs: list[InputShapeFile] = Field(description="a list of profile inputs")


class SettingsFile(BaseModel):
    """What a build settings file may hold: one field per `BuildSettings` field, its type and
    range in words (`Field.description`) for the message that names a wrong one. Names checked
    against the backend (profiling_verbosity, hardware_compatibility) are judged in
    trt_config.check_settings."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)
    WHAT: ClassVar[str] = "an object of build settings"

    onnx_path: StrictStr = Field("", description=_STRING)
    output_path: StrictStr = Field("", description=_STRING)
    backend: Annotated[StrictStr, AfterValidator(_one_of(("", "tensorrt", "rtx")))] = Field(
        "", description='"tensorrt" or "rtx" (or "" for the default)'
    )
    precision: Annotated[Precision, BeforeValidator(_lower)] = Field(
        Precision.FP32, description=f"one of {', '.join(PRECISIONS)}"
    )
    profiles: list[ProfileFile] = Field([], description="a list of profiles")
    workspace_bytes: StrictInt | None = Field(
        None, ge=1, le=MAX_WORKSPACE_BYTES, description="an integer or null"
    )
    optimization_level: StrictInt = Field(3, ge=0, le=5, description="an integer")
    timing_cache_path: StrictStr = Field("", description=_STRING)
    profiling_verbosity: StrictStr = Field("detailed", description=_STRING)
    version_compatible: StrictBool = Field(False, description=_BOOL)
    hardware_compatibility: StrictStr = Field("none", description=_STRING)
    # Numbers are taken as written ("compute_capabilities": [8.6] means "8.6").
    compute_capabilities: list[StrictStr | StrictInt | StrictFloat] = Field(
        [], description='a list of compute capabilities such as ["8.6", "8.9"]'
    )
    calibration_dir: StrictStr = Field("", description=_STRING)
    calibration_max_images: StrictInt = Field(
        64, ge=1, le=MAX_CALIBRATION_IMAGES, description="an integer"
    )
    int8_method: Annotated[StrictStr, AfterValidator(_one_of(INT8_METHODS))] = Field(
        "qdq", description=" or ".join(f'"{m}"' for m in INT8_METHODS)
    )
    int8_exclude: list[StrictStr] = Field(
        [], description='a list of node names or op types, e.g. ["Concat", "/model.22/*"]'
    )
    # Read by the one preprocessing reader (`read_spec`), which names its own fields.
    preprocess: dict[str, Any] | None = Field(
        None, description="an object of preprocessing settings or null"
    )
    keep_converted_onnx: StrictBool = Field(False, description=_BOOL)
    accept_accuracy_loss: StrictBool = Field(False, description=_BOOL)


def _unknown_setting(where: str) -> UnknownKey:
    def sentence(key: str, parent: str) -> str:
        if parent == where:
            inside = f" in {where}" if where else " in the settings file"
            return f"Unknown build setting {key!r}: check the spelling{inside}."
        return f"Unknown key {shown(key)} in {parent}: check the spelling."

    return sentence


def _field_value(checked: SettingsFile, key: str, where: str) -> Any:
    """The BuildSettings value of a checked field."""
    value = getattr(checked, key)
    if key == "profiles":
        return tuple(
            ShapeProfile(
                tuple(
                    InputShape(i.name, tuple(i.min), tuple(i.opt), tuple(i.max)) for i in p.inputs
                )
            )
            for p in value
        )
    if key == "compute_capabilities":
        return tuple(str(c) for c in value)
    if key == "int8_exclude":
        return tuple(value)
    if key == "preprocess":
        return None if value is None else read_spec(value, where=f"{where}.{key}".lstrip("."))
    return value


_SIZE_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "m": 1 << 20,
    "g": 1 << 30,
    "t": 1 << 40,
}


def parse_size(text: str) -> int:
    """ "2G" -> 2147483648. Units K, M, G, T are binary (also written KiB, MB, ...); a bare
    number is bytes; decimals are allowed ("1.5G")."""
    raw = text.strip().lower().replace(" ", "")
    number = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = raw[len(number) :]
    for suffix in ("ib", "b"):
        if unit.endswith(suffix) and len(unit) > len(suffix):
            unit = unit[: -len(suffix)]
            break
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in _SIZE_UNITS or not value > 0:  # "not >": NaN too
        raise SettingsError(
            f"Cannot read the size {text!r}: write a positive number with an optional unit, "
            "e.g. 512M or 2G."
        )
    size = value * _SIZE_UNITS[unit]
    if not size <= MAX_WORKSPACE_BYTES:  # 1e30G reached TensorRT's binding, which refused it
        raise SettingsError(
            f"The size {text!r} is more than {size_arg(MAX_WORKSPACE_BYTES)}, the most trtgui "
            "gives TensorRT: choose a smaller size, e.g. 2G."
        )
    return int(size)


def size_arg(n: int) -> str:
    """A byte count as `parse_size` reads it back, in the largest unit that divides it
    exactly: 2147483648 -> "2G", 524288 -> "512K", 1000 -> "1000"."""
    for unit in ("T", "G", "M", "K"):
        size = _SIZE_UNITS[unit.lower()]
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)
