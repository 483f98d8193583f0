"""Precisions and shape profiles: what a model can be built as.

`Precision` and `PRECISIONS` are the one list of precision values (the Build panel, `build`,
`run` and the backends offer these). `ShapeProfile` gives min/opt/max shapes of a model's
dynamic inputs; `suggest_profiles` proposes one and `validate_profiles` says, naming the input
and dimension, why one is impossible. `parse_shape_arg` reads the CLI's NAME:MIN:OPT:MAX form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from trtgui.core.errors import ProfileError, SettingsError
from trtgui.core.shapes import shape_text, split_dims

Shape = tuple[int, ...]

# TensorRT holds dimensions as int32 (Dims); a larger one failed inside its Python binding
# ("incompatible function arguments") or its profile check, with no input named.
MAX_DIM = 2**31 - 1


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


# The precision values, in the order every chooser offers them.
PRECISIONS: tuple[str, ...] = tuple(p.value for p in Precision)


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


# ---------------------------------------------------------------------------------------------
# Suggestion and validation against a model's inputs, and the CLI's text forms.


class _TensorLike(Protocol):
    """What profile code needs from a `TensorSpec`."""

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
    profile; ranks match; static dims are kept; 1 <= min <= opt <= max <= MAX_DIM; dims that
    share a symbolic name have equal values (TensorRT rejects the profile otherwise).
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
        if max(low, opt, high) > MAX_DIM:
            raise ProfileError(
                f"Input {name!r} {label}: {max(low, opt, high)} in {where} is more than "
                f"TensorRT can hold (at most {MAX_DIM:,}): choose a smaller size."
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
