"""Frozen settings records and their JSON round-trip.

`BuildSettings` says how to build an engine, `ShapeProfile` gives min/opt/max shapes of the
dynamic inputs, `PreprocessSpec` says how an image becomes an input tensor.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

from trtgui.core.errors import SettingsError

Shape = tuple[int, ...]


class Precision(str, Enum):
    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    INT8 = "int8"
    # TensorRT 10.x only: weak typing, TensorRT picks per layer between FP32/FP16/INT8.
    AUTO = "auto"

    @property
    def label(self) -> str:
        return "TensorRT chooses (weak typing)" if self is Precision.AUTO else self.name


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
        return _listify(data)  # type: ignore[no-any-return]

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
        try:
            kwargs = dict(data)
            if "precision" in kwargs:
                kwargs["precision"] = Precision(str(kwargs["precision"]).lower())
            if "profiles" in kwargs:
                kwargs["profiles"] = tuple(_profile_from(p) for p in kwargs["profiles"])
            if kwargs.get("preprocess") is not None:
                pp = dict(kwargs["preprocess"])
                for key in ("mean", "std"):
                    if key in pp:
                        pp[key] = tuple(float(v) for v in pp[key])
                kwargs["preprocess"] = PreprocessSpec(**pp)
            if "compute_capabilities" in kwargs:
                kwargs["compute_capabilities"] = tuple(str(c) for c in kwargs["compute_capabilities"])
            settings = cls(**kwargs)
        except SettingsError:
            raise
        except (TypeError, ValueError, KeyError) as exc:
            raise SettingsError(f"The build settings are malformed: {exc}", details=repr(data)) from exc
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
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"Cannot read the settings file {path}: {exc}") from exc
        return cls.from_json(text)


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    return value


def _shape(value: Any, what: str) -> Shape:
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in value
    ):
        raise SettingsError(f"{what} must be a list of integers, got {value!r}.")
    return tuple(value)


def _profile_from(data: Any) -> ShapeProfile:
    if not isinstance(data, dict) or not isinstance(data.get("inputs"), list):
        raise SettingsError('Each profile must be an object with an "inputs" list.')
    shapes = []
    for item in data["inputs"]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise SettingsError('Each profile input needs a "name" and min/opt/max shapes.')
        name = item["name"]
        shapes.append(
            InputShape(
                name,
                _shape(item.get("min"), f"{name} min"),
                _shape(item.get("opt"), f"{name} opt"),
                _shape(item.get("max"), f"{name} max"),
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
        raise SettingsError(f"workspace_bytes must be a positive integer, got {s.workspace_bytes!r}.")
    for key in ("onnx_path", "output_path", "backend", "timing_cache_path", "calibration_dir"):
        if not isinstance(getattr(s, key), str):
            raise SettingsError(f"{key} must be a string.")
    if s.backend not in ("", "tensorrt", "rtx"):
        raise SettingsError(f"backend must be 'tensorrt' or 'rtx', got {s.backend!r}.")
