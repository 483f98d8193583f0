"""Frozen settings records and their JSON round-trip.

`BuildSettings` says how to build an engine, `ShapeProfile` gives min/opt/max shapes of the
dynamic inputs, `PreprocessSpec` says how an image becomes an input tensor.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from trtgui.core.errors import ProfileError, SettingsError
from trtgui.core.shapes import shape_arg, shape_text, split_dims

Shape = tuple[int, ...]


class Precision(StrEnum):
    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    INT8 = "int8"
    # TensorRT 10.x only: weak typing, TensorRT picks per layer between FP32/FP16/INT8.
    AUTO = "auto"

    @property
    def label(self) -> str:
        return "TensorRT chooses (weak typing)" if self is Precision.AUTO else self.name


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
class InputShape:
    """min/opt/max shape of one dynamic input."""

    name: str
    min: Shape
    opt: Shape
    max: Shape


@dataclass(frozen=True)
class ShapeProfile:
    """One optimization profile: a min/opt/max shape for each dynamic input."""

    inputs: tuple[InputShape, ...]

    def get(self, name: str) -> InputShape | None:
        return next((i for i in self.inputs if i.name == name), None)


@dataclass(frozen=True)
class PreprocessSpec:
    """How an image becomes an input tensor.

    resize: "stretch" | "short_side_crop" (resize the short side to `resize_short`, then
    center-crop to height x width) | "letterbox" (keep aspect, pad with `pad_value`) |
    "fit" (keep aspect, long side at most `limit_side`, each side rounded to `multiple`; the
    tensor size follows the image, for models with dynamic height and width).
    Normalisation: x = (pixel * scale - mean) / std, per channel, in `channel_order`.
    """

    height: int = 224
    width: int = 224
    resize: str = "stretch"
    resize_short: int | None = None
    pad_value: float = 114.0
    channel_order: str = "RGB"  # or "BGR" or "GRAY"
    layout: str = "NCHW"  # or "NHWC"
    scale: float = 1.0
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    dtype: str = "float32"
    preset: str = "custom"
    limit_side: int | None = None  # "fit": longest side cap (None = keep the image size)
    multiple: int = 1  # "fit": height and width rounded to a multiple of this


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
        return jsonable(data)  # type: ignore[no-any-return]

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
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

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


def _shown(value: Any) -> str:
    """A value as the user wrote it in JSON (shortened), for messages."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _wrong(key: str, kind: str, value: Any) -> SettingsError:
    return SettingsError(
        f"{key} must be {kind}, got {_shown(value)}.", details=f"{key} = {value!r}"
    )


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


def _read_float(value: Any, key: str) -> float:
    if not _is_number(value):
        raise _wrong(key, "a number", value)
    return float(value)


def _read_floats(value: Any, key: str) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or not all(_is_number(v) for v in value):
        raise _wrong(key, "a list of numbers", value)
    return tuple(float(v) for v in value)


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


_PREPROCESS_READERS: dict[str, Callable[[Any, str], Any]] = {
    "height": _read_int,
    "width": _read_int,
    "resize": _read_str,
    "resize_short": _read_optional_int,
    "pad_value": _read_float,
    "channel_order": _read_str,
    "layout": _read_str,
    "scale": _read_float,
    "mean": _read_floats,
    "std": _read_floats,
    "dtype": _read_str,
    "preset": _read_str,
    "limit_side": _read_optional_int,
    "multiple": _read_int,
}


def _read_preprocess(value: Any, key: str) -> PreprocessSpec | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _wrong(key, "an object of preprocessing settings or null", value)
    unknown = sorted(set(value) - set(_PREPROCESS_READERS))
    if unknown:
        raise SettingsError(
            f"Unknown preprocess setting {_shown(unknown[0])}: check the spelling in the "
            "settings file.",
            details=f"unknown keys: {unknown}; known keys: {sorted(_PREPROCESS_READERS)}",
        )
    return PreprocessSpec(**{k: _PREPROCESS_READERS[k](v, f"{key}.{k}") for k, v in value.items()})


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
        raise SettingsError(f"{what} must be a list of integers, got {_shown(value)}.")
    return tuple(value)


def _profile_from(data: Any) -> ShapeProfile:
    if not isinstance(data, dict) or not isinstance(data.get("inputs"), list):
        raise SettingsError(
            f'Each profile must be an object with an "inputs" list, got {_shown(data)}.'
        )
    shapes = []
    for item in data["inputs"]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise SettingsError(
                f'Each profile input needs a "name" and min/opt/max shapes, got {_shown(item)}.'
            )
        name = item["name"]
        shapes.append(
            InputShape(
                name,
                _shape(item.get("min"), f"The min shape of profile input {_shown(name)}"),
                _shape(item.get("opt"), f"The opt shape of profile input {_shown(name)}"),
                _shape(item.get("max"), f"The max shape of profile input {_shown(name)}"),
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
        raise SettingsError(f"backend must be 'tensorrt' or 'rtx', got {_shown(s.backend)}.")


# ---------------------------------------------------------------------------------------------
# Shape profiles: suggestion and validation against a model's inputs, and the CLI's text forms.


class _TensorLike(Protocol):
    """What profile code needs from `trtgui.core.model.onnx_model.TensorInfo`."""

    @property
    def name(self) -> str: ...
    @property
    def shape(self) -> tuple[int | str | None, ...] | None: ...


class _ModelLike(Protocol):
    """What profile code needs from `trtgui.core.model.onnx_model.ModelInfo`."""

    @property
    def inputs(self) -> Sequence[_TensorLike]: ...


# Suggested values by role of a dimension: (min, opt, max).
SUGGESTED_BATCH: tuple[int, int, int] = (1, 1, 8)
SUGGESTED_SPATIAL: tuple[int, int, int] = (32, 224, 1024)  # multiples of 32 suit most CNNs
SUGGESTED_OTHER: tuple[int, int, int] = (1, 128, 512)


def _is_dynamic(shape: tuple[int | str | None, ...] | None) -> bool:
    return shape is None or any(not isinstance(d, int) or d < 0 for d in shape)


def _dim_role(shape: tuple[int | str | None, ...], index: int) -> str:
    if index == 0:
        return "batch"
    if len(shape) == 4:
        channels_first = not (isinstance(shape[3], int) and 0 < shape[3] <= 4)
        spatial = (2, 3) if channels_first else (1, 2)
        if index in spatial:
            return "spatial"
        return "channels"
    return "other"


def suggest_profiles(model: _ModelLike) -> tuple[ShapeProfile, ...]:
    """One profile covering every dynamic input, or () when nothing is dynamic.

    Batch dims get 1 / 1 / 8, image height and width 32 / 224 / 1024 (multiples of 32, so
    down- and up-sampling networks stay consistent), channels 3, anything else 1 / 128 / 512.
    Dims with the same symbolic name get the same values, because TensorRT requires it.
    Inputs of unknown rank are left out: the user has to give their shapes.
    """
    by_name: dict[str, tuple[int, int, int]] = {}
    shapes: list[InputShape] = []
    for tensor in model.inputs:
        shape = tensor.shape
        if shape is None or not _is_dynamic(shape):
            continue
        mins: list[int] = []
        opts: list[int] = []
        maxs: list[int] = []
        for index, dim in enumerate(shape):
            if isinstance(dim, int) and dim >= 0:
                values = (dim, dim, dim)
            elif isinstance(dim, str) and dim in by_name:
                values = by_name[dim]
            else:
                role = _dim_role(shape, index)
                values = {
                    "batch": SUGGESTED_BATCH,
                    "spatial": SUGGESTED_SPATIAL,
                    "channels": (3, 3, 3),
                }.get(role, SUGGESTED_OTHER)
                if isinstance(dim, str):
                    by_name[dim] = values
            mins.append(values[0])
            opts.append(values[1])
            maxs.append(values[2])
        shapes.append(InputShape(tensor.name, tuple(mins), tuple(opts), tuple(maxs)))
    return (ShapeProfile(tuple(shapes)),) if shapes else ()


def _dim_label(tensor: _TensorLike, index: int) -> str:
    dim = tensor.shape[index] if tensor.shape is not None and index < len(tensor.shape) else None
    return f"dimension {index}" + (f" ({dim!r})" if isinstance(dim, str) else "")


def validate_profiles(model: _ModelLike, profiles: Sequence[ShapeProfile]) -> None:
    """Raise `ProfileError` naming the input and dimension of the first impossible shape.

    Checks: every profile input exists in the model; every dynamic input has shapes in every
    profile; ranks match; static dims are kept; 1 <= min <= opt <= max; dims that share a
    symbolic name have equal values (TensorRT rejects the profile otherwise).
    """
    inputs = {t.name: t for t in model.inputs}
    dynamic = [t for t in model.inputs if _is_dynamic(t.shape)]
    if dynamic and not profiles:
        names = ", ".join(repr(t.name) for t in dynamic)
        raise ProfileError(
            f"The model has dynamic inputs ({names}): add a shape profile with min/opt/max "
            "shapes for them.",
            details=_model_inputs_text(model),
        )
    for number, profile in enumerate(profiles, start=1):
        where = f"profile {number}" if len(profiles) > 1 else "the shape profile"
        seen: set[str] = set()
        for item in profile.inputs:
            if item.name in seen:
                raise ProfileError(f"Input {item.name!r} appears twice in {where}: keep one.")
            seen.add(item.name)
            tensor = inputs.get(item.name)
            if tensor is None:
                raise ProfileError(
                    f"{where.capitalize()} gives shapes for {item.name!r}, but the model has no "
                    f"input of that name: use one of {', '.join(repr(n) for n in inputs)}.",
                    details=_model_inputs_text(model),
                )
            _validate_input(tensor, item, where)
        for tensor in dynamic:
            if tensor.name not in seen:
                raise ProfileError(
                    f"Input {tensor.name!r} is dynamic but {where} gives no shapes for it: "
                    "add its min/opt/max shapes.",
                    details=_model_inputs_text(model),
                )
        _validate_shared_names(profile, inputs, where)


def _validate_input(tensor: _TensorLike, item: InputShape, where: str) -> None:
    name = item.name
    ranks = {len(item.min), len(item.opt), len(item.max)}
    if len(ranks) != 1:
        raise ProfileError(
            f"Input {name!r} in {where}: min, opt and max must have the same number of "
            f"dimensions (got {len(item.min)}, {len(item.opt)} and {len(item.max)})."
        )
    rank = ranks.pop()
    if tensor.shape is not None and rank != len(tensor.shape):
        raise ProfileError(
            f"Input {name!r} in {where}: the model's input has {len(tensor.shape)} dimensions "
            f"{shape_text(tensor.shape)}, the profile gives {rank}.",
        )
    for index in range(rank):
        low, opt, high = item.min[index], item.opt[index], item.max[index]
        label = _dim_label(tensor, index)
        model_dim = tensor.shape[index] if tensor.shape is not None else None
        if isinstance(model_dim, int) and model_dim >= 0 and not low == opt == high == model_dim:
            raise ProfileError(
                f"Input {name!r} {label} is fixed at {model_dim} by the model, but {where} "
                f"gives {low}/{opt}/{high}: use {model_dim} for min, opt and max."
            )
        if low < 1:
            raise ProfileError(
                f"Input {name!r} {label}: min is {low} in {where}; it must be 1 or more."
            )
        if not low <= opt <= high:
            raise ProfileError(
                f"Input {name!r} {label}: {where} needs min <= opt <= max, got "
                f"{low} / {opt} / {high}."
            )


def _validate_shared_names(
    profile: ShapeProfile, inputs: dict[str, _TensorLike], where: str
) -> None:
    first: dict[str, tuple[str, int, tuple[int, int, int]]] = {}
    for item in profile.inputs:
        shape = inputs[item.name].shape
        if shape is None:
            continue
        for index, dim in enumerate(shape):
            if not isinstance(dim, str) or not dim:
                continue
            values = (item.min[index], item.opt[index], item.max[index])
            if dim not in first:
                first[dim] = (item.name, index, values)
                continue
            other_name, other_index, other_values = first[dim]
            if values != other_values:
                raise ProfileError(
                    f"Input {item.name!r} dimension {index} and input {other_name!r} dimension "
                    f"{other_index} share the name {dim!r} in the model, so they must have equal "
                    f"min/opt/max in {where} (got {'/'.join(map(str, values))} and "
                    f"{'/'.join(map(str, other_values))})."
                )


def _model_inputs_text(model: _ModelLike) -> str:
    return "model inputs:\n" + "\n".join(f"  {t.name}: {shape_text(t.shape)}" for t in model.inputs)


def format_shape(shape: Sequence[int]) -> str:
    """(1, 3, 224, 224) -> "1x3x224x224": the typed form of `--shapes` (`shapes.shape_arg`)."""
    return shape_arg(shape)


def _parse_dims(text: str, what: str) -> Shape:
    """Integers joined by 'x' (or '×', as shapes are printed). Zero and negative values are read
    as written: whether they fit is `validate_profiles`'s call, which names the input and dim."""
    parts = split_dims(text)
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise SettingsError(
            f"{what} {text!r} is not a shape: write dimensions joined by 'x', e.g. 1x3x224x224."
        ) from None
    return dims


def parse_shape_arg(text: str) -> InputShape:
    """ "NAME:1x3x224x224:4x3x224x224:8x3x224x224" -> InputShape; "NAME:1x3x224x224" fixes
    min = opt = max. The name may itself contain ':' (the shapes are taken from the right)."""
    parts = text.rsplit(":", 3)
    if len(parts) == 4 and parts[0] and all(_looks_like_dims(p) for p in parts[1:]):
        name, low, opt, high = parts
    else:
        name, _, only = text.rpartition(":")
        if not name or not only.strip():
            raise SettingsError(
                f"Cannot read the shape {text!r}: write NAME:MIN:OPT:MAX with dimensions joined "
                "by 'x', e.g. input:1x3x224x224:4x3x224x224:8x3x224x224."
            )
        if len(parts) == 4 and (
            _looks_like_dims(parts[1]) or _looks_like_dims(parts[2]) or not _looks_like_dims(only)
        ):
            name, low, opt, high = parts  # report the bad shape below
        else:
            dims = _parse_dims(only, f"The shape of {name!r}")
            return InputShape(name, dims, dims, dims)
    if not name:
        raise SettingsError(f"The shape {text!r} has no input name: write NAME:MIN:OPT:MAX.")
    return InputShape(
        name,
        _parse_dims(low, f"The min shape of {name!r}"),
        _parse_dims(opt, f"The opt shape of {name!r}"),
        _parse_dims(high, f"The max shape of {name!r}"),
    )


def _looks_like_dims(text: str) -> bool:
    return bool(text) and all(p.removeprefix("-").isdigit() for p in split_dims(text))


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
