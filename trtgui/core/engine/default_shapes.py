"""Concrete shapes for the dynamic inputs of a run nobody gave a shape for.

`default_shapes` chooses them as Polygraphy does (a profile's opt shape first, then build's
suggestion for images, else 1); `record_profile` reads the profile an engine's build record
names, so a run of an engine uses the shapes it was built for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from trtgui.core.build.record import read_record
from trtgui.core.errors import BuildRecordError
from trtgui.core.model.profiles import ShapeProfile, suggest_profiles
from trtgui.core.shapes import Dim
from trtgui.core.tensors import TensorSpec


@dataclass(frozen=True)
class DefaultShape:
    """The concrete shape chosen for a dynamic input, and where it came from (in words)."""

    name: str
    model_shape: tuple[Dim, ...]  # as the model declares it, e.g. ("batch", 3, 224, 224)
    shape: tuple[int, ...]
    source: str  # e.g. "the opt shape of the engine's build record"


@dataclass(frozen=True)
class _OneInput:
    """A model-like holding one input, for settings.suggest_profiles."""

    inputs: tuple[TensorSpec, ...]


# ONNX Runtime names an unnamed dim "?": two such dims are not the same dim.
_UNNAMED_DIMS = ("", "?")


def default_shapes(
    inputs: Sequence[TensorSpec],
    given: Mapping[str, Sequence[int]] | None = None,
    profiles: Sequence[tuple[str, ShapeProfile]] = (),
) -> tuple[DefaultShape, ...]:
    """Concrete shapes for the dynamic inputs not in `given`, as Polygraphy chooses them.

    `profiles` are (where it came from, profile) in order of preference: an input a profile
    names gets that profile's opt shape. Otherwise image inputs (4-D) get the opt shape that
    build suggests for a profile (batch 1, height and width 224), and every other dynamic dim
    is 1, as in Polygraphy. A symbolic dim keeps one value across inputs (and follows
    `given`), because the model means the same size. Inputs of unknown rank are left out:
    only the user can know their shape.
    """
    given = given or {}
    by_dim: dict[str, int] = {}  # symbolic dim name -> the value it got

    def remember(info: TensorSpec, shape: Sequence[int]) -> None:
        if info.shape is None or len(info.shape) != len(shape):
            return
        for dim, value in zip(info.shape, shape, strict=True):
            if isinstance(dim, str) and dim not in _UNNAMED_DIMS:
                by_dim.setdefault(dim, int(value))

    for info in inputs:
        if info.name in given:
            remember(info, given[info.name])
    todo = [t for t in inputs if t.name not in given and t.is_dynamic and t.shape is not None]
    chosen: dict[str, DefaultShape] = {}
    for info in todo:
        for source, profile in profiles:
            item = profile.get(info.name)
            if item is not None and _fits(info.shape, item.opt):
                chosen[info.name] = DefaultShape(
                    info.name, info.shape or (), tuple(item.opt), f"the opt shape of {source}"
                )
                remember(info, item.opt)
                break
    # Image inputs first, so a size they share with another input is an image size.
    for info in sorted((t for t in todo if t.name not in chosen), key=lambda t: _rank(t) != 4):
        model_shape = info.shape or ()
        suggested: tuple[int, ...] = ()
        if len(model_shape) == 4:
            # Unnamed: suggest_profiles would make every "?" the same dim (the batch's value).
            unnamed = tuple(None if d in _UNNAMED_DIMS else d for d in model_shape)
            suggestion = suggest_profiles(_OneInput((TensorSpec(info.name, info.dtype, unnamed),)))
            suggested = suggestion[0].inputs[0].opt if suggestion else ()
        dims: list[int] = []
        shared: list[str] = []
        own = False  # whether any dim got a default here rather than another input's size
        for index, dim in enumerate(model_shape):
            if isinstance(dim, int) and dim >= 0:
                dims.append(dim)
            elif isinstance(dim, str) and dim in by_dim:
                dims.append(by_dim[dim])
                shared.append(dim)
            else:
                dims.append(suggested[index] if suggested else 1)
                own = True
        source = (
            "the opt shape trtgui suggests for build profiles"
            if suggested
            else "1 for each dynamic dim, as Polygraphy does"
        )
        if shared:
            same = f"{', '.join(shared)} as for the other inputs"
            source = f"{source}, with {same}" if own else same
        chosen[info.name] = DefaultShape(info.name, model_shape, tuple(dims), source)
        remember(info, dims)
    return tuple(chosen[t.name] for t in inputs if t.name in chosen)


def _rank(info: TensorSpec) -> int:
    return len(info.shape) if info.shape is not None else -1


def _fits(model_shape: tuple[Dim, ...] | None, shape: Sequence[int]) -> bool:
    """Whether `shape` can feed an input declared as `model_shape` (rank and static dims)."""
    if model_shape is None or len(model_shape) != len(shape):
        return False
    return all(
        d > 0 and (not isinstance(m, int) or m < 0 or m == d)
        for m, d in zip(model_shape, shape, strict=True)
    )


def record_profile(engine_path: str | Path) -> tuple[ShapeProfile | None, str]:
    """Profile 0 of an engine's build record (the one its execution context uses), or None
    and the problem in words ("" when there is no record, or it has no profile)."""
    try:
        record = read_record(engine_path)
    except BuildRecordError as err:
        return None, err.message
    if record is None:
        return None, ""
    # Older records hold the profiles only in their settings.
    profiles = record.profiles or (record.settings.profiles if record.settings else ())
    return (profiles[0] if profiles else None), ""
