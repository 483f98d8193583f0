"""`BuildSettings`, the frozen record of how to build an engine, and its JSON round-trip.

Its parts come from the stages below: `Precision` and `ShapeProfile` from
`trtgui.core.model.profiles`, `PreprocessSpec` (INT8 calibration images) from
`trtgui.core.imaging`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from trtgui.core.errors import SettingsError
from trtgui.core.files import write_atomic
from trtgui.core.imaging import PreprocessSpec, read_spec
from trtgui.core.model.profiles import InputShape, Precision, Shape, ShapeProfile
from trtgui.core.text import shown

ENGINE_SUFFIX = ".engine"


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
    preprocess: PreprocessSpec | None = None  # INT8 calibration preprocessing
    keep_converted_onnx: bool = False  # keep the FP16/BF16/INT8 ONNX beside the engine

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
    def from_dict(cls, data: dict[str, Any]) -> BuildSettings:
        if not isinstance(data, dict):
            raise SettingsError("A build settings file must hold a JSON object.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(
                f"Unknown build setting {unknown[0]!r}: check the spelling in the settings file.",
                details=f"unknown keys: {unknown}; known keys: {sorted(known)}",
            )
        # Each value is checked for its type first, so a wrong one is named with what it
        # must be, rather than surfacing as Python's own error text.
        kwargs = {key: _FIELD_READERS[key](value, key) for key, value in data.items()}
        try:
            settings = cls(**kwargs)
        except (TypeError, ValueError) as exc:  # last resort: the readers cover every field
            raise SettingsError(
                "The build settings are malformed: check the settings file.",
                details=f"{type(exc).__name__}: {exc}\n{data!r}",
            ) from exc
        _check_types(settings)
        return settings

    @classmethod
    def from_json(cls, text: str) -> BuildSettings:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SettingsError(
                f"The settings file is not valid JSON (line {exc.lineno}, column {exc.colno}).",
                details=str(exc),
            ) from exc
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        """Write the settings file atomically. Raises OSError."""
        write_atomic(Path(path), (self.to_json() + "\n").encode("utf-8"))

    @classmethod
    def load(cls, path: str | Path) -> BuildSettings:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise SettingsError(
                f"The settings file {path} is not UTF-8 text: choose a .json settings file.",
                details=str(exc),
            ) from exc
        except OSError as exc:
            raise SettingsError(
                f"Cannot read the settings file {path}: {exc.strerror or exc}.",
                details=repr(exc),
            ) from exc
        return cls.from_json(text)


def jsonable(value: Any) -> Any:
    """`value` with tuples turned into lists, recursively (what json.dumps writes anyway), so
    a record's dict compares equal to its JSON round trip."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _wrong(key: str, kind: str, value: Any) -> SettingsError:
    return SettingsError(f"{key} must be {kind}, got {shown(value)}.", details=f"{key} = {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _read_str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise _wrong(key, "a string", value)
    return value


def _read_bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _wrong(key, "true or false", value)
    return value


def _read_int(value: Any, key: str) -> int:
    if not _is_int(value):
        raise _wrong(key, "an integer", value)
    return int(value)


def _read_optional_int(value: Any, key: str) -> int | None:
    if value is not None and not _is_int(value):
        raise _wrong(key, "an integer or null", value)
    return None if value is None else int(value)


def _read_precision(value: Any, key: str) -> Precision:
    choices = ", ".join(p.value for p in Precision)
    if isinstance(value, str):
        try:
            return Precision(value.lower())
        except ValueError:
            pass
    raise _wrong(key, f"one of {choices}", value)


def _read_capabilities(value: Any, key: str) -> tuple[str, ...]:
    # Numbers are taken as written ("compute_capabilities": [8.6] means "8.6").
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(c, str) or _is_number(c) for c in value
    ):
        raise _wrong(key, 'a list of compute capabilities such as ["8.6", "8.9"]', value)
    return tuple(str(c) for c in value)


def _read_profiles(value: Any, key: str) -> tuple[ShapeProfile, ...]:
    if not isinstance(value, (list, tuple)):
        raise _wrong(key, "a list of profiles", value)
    return tuple(_profile_from(p) for p in value)


def _read_preprocess(value: Any, key: str) -> PreprocessSpec | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _wrong(key, "an object of preprocessing settings or null", value)
    return read_spec(value, where=key)


# One reader per BuildSettings field: checks the JSON value's type, returns the field value.
_FIELD_READERS: dict[str, Callable[[Any, str], Any]] = {
    "onnx_path": _read_str,
    "output_path": _read_str,
    "backend": _read_str,
    "precision": _read_precision,
    "profiles": _read_profiles,
    "workspace_bytes": _read_optional_int,
    "optimization_level": _read_int,
    "timing_cache_path": _read_str,
    "profiling_verbosity": _read_str,
    "version_compatible": _read_bool,
    "hardware_compatibility": _read_str,
    "compute_capabilities": _read_capabilities,
    "calibration_dir": _read_str,
    "calibration_max_images": _read_int,
    "preprocess": _read_preprocess,
    "keep_converted_onnx": _read_bool,
}


def _shape(value: Any, what: str) -> Shape:
    if not isinstance(value, (list, tuple)) or not all(_is_int(d) for d in value):
        raise SettingsError(f"{what} must be a list of integers, got {shown(value)}.")
    return tuple(value)


def _profile_from(data: Any) -> ShapeProfile:
    if not isinstance(data, dict) or not isinstance(data.get("inputs"), list):
        raise SettingsError(
            f'Each profile must be an object with an "inputs" list, got {shown(data)}.'
        )
    shapes = []
    for item in data["inputs"]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise SettingsError(
                f'Each profile input needs a "name" and min/opt/max shapes, got {shown(item)}.'
            )
        name = item["name"]
        shapes.append(
            InputShape(
                name,
                _shape(item.get("min"), f"The min shape of profile input {shown(name)}"),
                _shape(item.get("opt"), f"The opt shape of profile input {shown(name)}"),
                _shape(item.get("max"), f"The max shape of profile input {shown(name)}"),
            )
        )
    return ShapeProfile(tuple(shapes))


def _check_types(s: BuildSettings) -> None:
    if not isinstance(s.optimization_level, int) or not 0 <= s.optimization_level <= 5:
        raise SettingsError(
            f"optimization_level must be an integer from 0 to 5, got {s.optimization_level!r}."
        )
    if s.workspace_bytes is not None and (
        not isinstance(s.workspace_bytes, int) or s.workspace_bytes <= 0
    ):
        raise SettingsError(
            f"workspace_bytes must be a positive integer, got {s.workspace_bytes!r}."
        )
    for key in ("onnx_path", "output_path", "backend", "timing_cache_path", "calibration_dir"):
        if not isinstance(getattr(s, key), str):
            raise SettingsError(f"{key} must be a string.")
    if s.backend not in ("", "tensorrt", "rtx"):
        raise SettingsError(f"backend must be 'tensorrt' or 'rtx', got {shown(s.backend)}.")


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
    if unit not in _SIZE_UNITS or value <= 0:
        raise SettingsError(
            f"Cannot read the size {text!r}: write a positive number with an optional unit, "
            "e.g. 512M or 2G."
        )
    return int(value * _SIZE_UNITS[unit])


def size_arg(n: int) -> str:
    """A byte count as `parse_size` reads it back, in the largest unit that divides it
    exactly: 2147483648 -> "2G", 524288 -> "512K", 1000 -> "1000"."""
    for unit in ("T", "G", "M", "K"):
        size = _SIZE_UNITS[unit.lower()]
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)
