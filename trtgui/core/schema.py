"""Records read from files: the one JSON parser and pydantic's findings said in words.

Every JSON record trtgui reads (build settings, build records, demo.json, preprocessing,
model metadata values) goes through `parse_json` (or `read_json`, which reads the file
through `reading` first) and is checked against a pydantic model by `validate`. So a file
that is not JSON, nests too deeply for Python (json.loads raises RecursionError at about
1,000 levels, and every recursive walk after it too), or has a field of the wrong type or
out of range gets one line naming the field and what it must be, never Python's own text.

The models say what a field must be in its `Field(description=...)`, in words ("an integer
from 0 to 5"); a nested model says what it is as a whole in its `WHAT` class attribute.
`finding` turns pydantic's first error into `Finding(field, problem)` from those words.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from trtgui.core.errors import TrtGuiError
from trtgui.core.reading import LIMITS, read_regular_text, shown_path
from trtgui.core.text import shown

# trtgui's own files nest 5 levels at most (a record's settings' profiles' inputs' shapes);
# 64 leaves room for newer versions and is far below Python's recursion limit.
MAX_DEPTH = 64

M = TypeVar("M", bound=BaseModel)


# -- JSON ---------------------------------------------------------------------------------------


class JsonProblem(ValueError):
    """Why a text is not JSON trtgui can use: `predicate` follows the text's name ("is not
    valid JSON (line 3, column 5: Expecting value)"), `short` stands in parentheses."""

    def __init__(self, predicate: str, short: str, details: str) -> None:
        super().__init__(predicate)
        self.predicate = predicate
        self.short = short
        self.details = details


def loads(text: str) -> Any:
    """`json.loads(text)`, and no deeper than MAX_DEPTH; raises JsonProblem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise JsonProblem(
            f"is not valid JSON ({where}: {exc.msg})", f"not JSON: {exc.msg} at {where}", str(exc)
        ) from exc
    except RecursionError as exc:
        raise _too_deep(str(exc)) from exc
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise JsonProblem(
            "holds a number too long to read", "a number too long to read", str(exc)
        ) from exc
    if nesting_depth(data) > MAX_DEPTH:
        raise _too_deep(f"nested more than {MAX_DEPTH} levels deep")
    return data


def _too_deep(details: str) -> JsonProblem:
    return JsonProblem(
        f"is nested too deeply (more than {MAX_DEPTH} levels of lists or objects), so it is "
        "not a file trtgui wrote",
        f"nested more than {MAX_DEPTH} levels deep",
        details,
    )


def parse_json(text: str, what: str, error: type[TrtGuiError]) -> Any:
    """`text` decoded as JSON. `what` names the text in messages ("The settings file x.json");
    `error` is the exception raised, with one line: not JSON (where), too deeply nested."""
    try:
        return loads(text)
    except JsonProblem as problem:
        raise error(f"{what} {problem.predicate}.", details=problem.details) from problem


def read_json(path: str | Path, kind: str) -> Any:
    """The JSON in the regular file `path` of `kind` (a key of `reading.LIMITS`: its size
    limit and its error class)."""
    file_kind = LIMITS[kind]
    text = read_regular_text(path, kind)
    return parse_json(text, f"The {file_kind.noun} {shown_path(path)}", file_kind.error)


def nesting_depth(value: Any) -> int:
    """How many lists and objects deep `value` goes (0 for a number or a string); without
    recursion, so any depth json.loads returned is measured."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


# -- pydantic's first error, in words -------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """The first thing wrong in a record: `field` as people write it ("profiles[0].min";
    "" for the record itself) and `problem`, a clause that follows it ('must be a list of
    integers, got 5'), or with `own` a sentence of its own (an unknown key, a validator's
    words) that names what it is about; `sentence` is the whole, with no stop at the end."""

    field: str
    problem: str
    own: bool = False

    @property
    def sentence(self) -> str:
        if self.own:  # as its author wrote it ("Unknown build setting …", "io_tensors[0] …")
            return self.problem
        if not self.field:
            return self.problem[:1].upper() + self.problem[1:]
        return f"{self.field} {self.problem}"  # as in the file: "preprocess.mean must be …"


# Called for a key the model does not know: (the key, the path of the object holding it, ""
# at the top) -> the whole sentence.
UnknownKey = Callable[[str, str], str]


def _unknown_default(key: str, parent: str) -> str:
    where = f" in {parent}" if parent else ""
    return f"Unknown key {shown(key)}{where}: check the spelling."


def _fields_by_key(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A model's fields by every key JSON may use for them: the name and each alias."""
    found: dict[str, FieldInfo] = {}
    for name, info in model.model_fields.items():
        found[name] = info
        alias = info.validation_alias
        choices = getattr(alias, "choices", None)
        if isinstance(alias, str):
            found[alias] = info
        elif choices is not None:
            found.update({c: info for c in choices if isinstance(c, str)})
        if info.alias:
            found[info.alias] = info
    return found


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside a field's type (X, X | None, list[X], tuple[X, ...])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _inner_model(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple):
        for arg in typing.get_args(annotation):
            inner = _inner_model(arg)
            if inner is not None:
                return inner
    return None


def _label(where: str, loc: tuple[int | str, ...]) -> str:
    text = where
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _value_at(data: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        in_object = isinstance(data, Mapping) and part in data
        in_list = isinstance(data, (list, tuple)) and isinstance(part, int) and part < len(data)
        if not (in_object or in_list):
            return None
        data = data[part]
    return data


def _described(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[int, str]:
    """How far along `loc` the innermost part that says what it must be sits, and its words
    (a field's description or a nested model's WHAT); (-1, "") when none does."""
    found = (-1, "")
    current: type[BaseModel] | None = model
    for i, part in enumerate(loc):
        if current is None:
            break
        if isinstance(part, int):  # an item of a list of models
            what = str(getattr(current, "WHAT", ""))
            if what and i > 0:
                found = (i, what)
            continue
        info = _fields_by_key(current).get(part)
        if info is None:
            break
        if info.description:
            found = (i, info.description)
        inner = _inner_model(info.annotation)
        inner_what = str(getattr(inner, "WHAT", "")) if inner is not None else ""
        if inner_what and not info.description:
            found = (i, inner_what)
        current = inner
    return found


def finding(
    exc: ValidationError,
    model: type[BaseModel],
    data: Any,
    where: str = "",
    unknown: UnknownKey = _unknown_default,
) -> Finding:
    """The first of `exc`'s errors (from validating `data` against `model`) in words; `where`
    is the key the record sits under in a larger file ("preprocess"), prefixed to fields."""
    first = exc.errors(include_url=False)[0]
    loc = tuple(first["loc"])
    kind = first["type"]
    if kind == "extra_forbidden" and loc:
        holder = _label(where, loc[:-1])
        return Finding(holder, unknown(str(loc[-1]), holder).rstrip(". "), own=True)
    if kind == "missing" and loc:
        parent = loc[:-1]
        what = _described(model, parent)[1] if parent else str(getattr(model, "WHAT", ""))
        problem = f"has no {shown(str(loc[-1]))}"
        if what:
            problem += f": it must be {what}"
        return Finding(_label(where, parent) or "it", problem)
    if kind in ("value_error", "assertion_error"):
        # Our own validators' words: a whole sentence naming the field.
        message = str(first.get("ctx", {}).get("error", first["msg"]))
        return Finding(_label(where, loc), message.rstrip(". "), own=True)
    at, what = _described(model, loc)
    if at < 0:
        what = getattr(model, "WHAT", "") if not loc else ""
        if not what:  # no words for it: pydantic's, made to read as ours
            text = str(first["msg"]).replace("Input should be", "must be")
            return Finding(_label(where, loc) or "it", text.rstrip(". "))
        return Finding(where or "it", f"must be {what}, got {shown(data)}")
    path = loc[: at + 1]
    bound = _bound(kind, first.get("ctx", {}))
    if bound:  # in range words: "an integer of at most 5", "a list of integers, each …"
        what = what.removesuffix(" or null")  # null is fine; the number given is not
        each = len(loc) > len(path)  # the error is in an item of the field's list
        what += f", each {bound.removeprefix('that is ')}" if each else f" {bound}"
    return Finding(_label(where, path), f"must be {what}, got {shown(_value_at(data, path))}")


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _bound(kind: str, ctx: Mapping[str, Any]) -> str:
    """The limit a range error broke, as words that follow "an integer" or ", each"."""
    phrases = {
        "greater_than_equal": ("ge", "of at least"),
        "less_than_equal": ("le", "of at most"),
        "greater_than": ("gt", "above"),
        "less_than": ("lt", "below"),
    }
    if kind in phrases:
        key, words = phrases[kind]
        return f"{words} {_number(ctx.get(key))}"
    if kind == "finite_number":
        return "that is finite"
    if kind == "too_short":
        return f"of at least {_number(ctx.get('min_length', 0))} items"
    if kind == "too_long":
        return f"of at most {_number(ctx.get('max_length', 0))} items"
    return ""


def validate(
    model: type[M],
    data: Any,
    error: type[TrtGuiError],
    *,
    where: str = "",
    unknown: UnknownKey = _unknown_default,
    context: Mapping[str, Any] | None = None,
) -> M:
    """`data` as a `model`; raises `error` with `finding`'s sentence (pydantic's full report
    in the details)."""
    try:
        return model.model_validate(data, context=dict(context) if context else None)
    except ValidationError as exc:
        found = finding(exc, model, data, where, unknown)
        raise error(found.sentence + ".", details=str(exc)) from exc
    except RecursionError as exc:  # data built in memory, deeper than any file may be
        problem = _too_deep(str(exc))
        raise error(f"{where or 'The record'} {problem.predicate}.", details=str(exc)) from exc


__all__ = [
    "MAX_DEPTH",
    "Finding",
    "JsonProblem",
    "UnknownKey",
    "finding",
    "loads",
    "nesting_depth",
    "parse_json",
    "read_json",
    "validate",
]
