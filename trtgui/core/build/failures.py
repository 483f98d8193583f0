"""TensorRT's failures in plain words: ONNX parser errors, build failures and warnings.

TensorRT reports in C++ terms ("Assertion failed: ...", "Error Code 4: ..."); people get one
line saying what is wrong with their model or settings and what to do, and TensorRT's own
lines go into the error's details.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trtgui.core.errors import EngineBuildError, OnnxParseError
from trtgui.core.model.profiles import ShapeProfile

# -- the ONNX parser ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ParserError:
    """What one TensorRT ParserError says; older bindings lack some accessors."""

    node: int
    name: str
    op: str
    code: str
    desc: str

    @classmethod
    def read(cls, err: Any) -> _ParserError:
        def get(accessor: Callable[[], Any], default: Any) -> Any:
            try:
                return accessor()
            except Exception:  # this bindings version lacks the accessor
                return default

        return cls(
            node=int(get(lambda: int(err.node()), -1)),
            name=str(get(lambda: err.node_name(), "")),
            op=str(get(lambda: err.node_operator(), "")),
            code=str(get(lambda: getattr(err.code(), "name", str(err.code())), "")),
            desc=str(get(lambda: err.desc(), str(err))),
        )

    def line(self) -> str:
        where = f"node {self.node} '{self.name}' ({self.op})" if self.node >= 0 else "model"
        return f"{where}: [{self.code}] {self.desc}"


def parser_failure(parser: Any, original: Path) -> OnnxParseError | None:
    """None when TensorRT's parser logged no error; else the error for people, naming the
    first failing node in plain words, with every parser error line in `errors`."""
    errors = [_ParserError.read(parser.get_error(i)) for i in range(parser.num_errors)]
    if not errors:
        return None
    first = errors[0]
    reason = explain_parser_error(first.desc, first.code, first.name, first.op)
    return _parse_error(original, [e.line() for e in errors], reason, first)


def parse_failed_silently(original: Path) -> OnnxParseError:
    """The parser said "failed" and logged nothing."""
    message = "the parser reported failure without an error message"
    return _parse_error(original, [message], explain_parser_error(message), None)


def _parse_error(
    original: Path, lines: list[str], reason: str, first: _ParserError | None
) -> OnnxParseError:
    where = ""
    if first is not None and (first.name or first.op) and f"'{first.name}'" not in reason:
        where = (
            f" at node {first.node} '{first.name}' ({first.op})"
            if first.node >= 0
            else f" at '{first.name}' ({first.op})"
        )
    count = len(lines)
    more = f" (and {count - 1} more error{'s' if count > 2 else ''})" if count > 1 else ""
    return OnnxParseError(
        f"TensorRT cannot read the model {original.name}{where}{more}: {reason}.",
        errors=lines,
    )


# TensorRT's ONNX parser asserts in C++ terms: (text it contains, plain words). The first
# match wins; "{node}" becomes "node 'name' (Op)" or "a node" when TensorRT names none.
_PARSER_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("toposort", "sort the model topologically"),
        "the graph has a cycle (a node needs its own output, directly or through others): "
        "re-export the model",
    ),
    (
        ("Node input was not registered",),
        "{node} reads a tensor that no node, input or initializer produces: re-export the model",
    ),
    (
        ("checkSpatialDims", "misaligns with the input kernel shape"),
        "the kernel_shape of {conv} does not match its weights: re-export the model",
    ),
    (
        ("convertOnnxWeights", "Failed to import initializer"),
        "the weights of {initializer} could not be read (a weights file beside the model is "
        "missing, short or damaged): copy the model with its weights files again",
    ),
)


def explain_parser_error(desc: str, code: str = "", name: str = "", op: str = "") -> str:
    """Plain words for one TensorRT parser error (no C++ assertion text)."""
    node = f"node '{name}' ({op})" if name and op else f"node '{name}'" if name else "a node"
    for needles, words in _PARSER_PHRASES:
        if any(n in desc for n in needles):
            initializer = desc.rsplit("Failed to import initializer:", 1)[-1].strip(" .")
            if "Count of weights exceeds maximum" in initializer:  # TensorRT's text, no name
                initializer = ""
            return words.format(
                node=node,
                conv=node if name else "a Conv node",
                initializer=f"initializer '{initializer}'"
                if initializer and initializer != desc.strip(" .")
                else "an initializer",
            )
    if op and (code == "UNSUPPORTED_NODE" or "Plugin not found" in desc):
        return (
            f"TensorRT has no layer or plugin for the operator {op}: change the export to "
            "avoid it, or load a plugin that implements it"
        )
    if "Assertion failed" in desc:
        # "Assertion failed: <C++ expression>: <what it means>" → what it means.
        tail = desc.rsplit("): ", 1)[-1] if "): " in desc else ""
        if tail and "Assertion failed" not in tail:
            return _first_sentence(tail).rstrip(".")
        return "TensorRT's ONNX parser rejected it (its own message is in the details)"
    return _first_sentence(desc).rstrip(".")


def _first_sentence(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    cut = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return cut if len(cut) <= limit else cut[: limit - 1] + "…"


# -- failures in plain words --------------------------------------------------------------------

_PROFILE_RE = re.compile(
    r"Profile k(?P<which>MIN|OPT|MAX) values are not self-consistent\.\s*(?P<layer>[^:]+):\s*"
    r"(?P<reason>.*?)(?:\s*Condition|\s*In operator|$)",
    re.S,
)
# TensorRT-RTX / 10.x: "kOPT values for profile 0 violate shape constraints: LAYER: REASON".
_VIOLATE_RE = re.compile(
    r"k(?P<which>MIN|OPT|MAX) values for profile \d+ violate shape constraints:\s*"
    r"(?P<layer>[^:]+):\s*(?P<reason>.*?)(?:\s*Condition|\s*In operator|\)?$)",
    re.S,
)
# A Reshape whose target sizes were fixed at export ("reshape … volume 13440 to 3360").
_RESHAPE_RE = re.compile(r"(?P<layer>[^\s:]*[Rr]eshape[^\s:]*)[^\n]*volume \d+ to \d+")
_SAME_NAME_RE = re.compile(r"(?P<name>[^\s(]+): Input dimensions with this name have different")
_NAMED_EQUAL_RE = re.compile(
    r"Profile k(?P<which>MIN|OPT|MAX) values are not self-consistent\.\s*Dimensions with name "
    r"(?P<name>\S+) must be equal"
)


def explain_profile_message(line: str) -> str | None:
    """A plain-words reading of TensorRT's profile-consistency messages, or None."""
    match = _NAMED_EQUAL_RE.search(line)
    if match:
        which = match["which"].lower()
        return (
            f"at the {which} shapes, the model needs dimensions that share a name "
            f"({match['name']}) to be equal, e.g. height = width: give them equal values"
        )
    match = _PROFILE_RE.search(line)
    if match:
        which = match["which"].lower()
        reason = " ".join(match["reason"].split()).rstrip(". ")
        return (
            f"at the {which} shapes, layer '{match['layer'].strip()}' cannot work ({reason}): "
            f"choose {which} sizes the model accepts (many CNNs need multiples of 32)"
        )
    match = _SAME_NAME_RE.search(line)
    if match:
        return (
            f"the model gives several input dimensions the same name ('{match['name']}'), so "
            "TensorRT requires them to be equal (e.g. height = width), but the profile gives "
            "them different values: use equal values for them"
        )
    return None


def _varying_dims(profiles: Sequence[ShapeProfile]) -> str:
    """ "input 'x' dimension 2 (32/224/1024), dimension 3 (32/224/1024)": the dims a profile
    lets vary, the ones a shape constraint can break."""
    parts = []
    for item in profiles[0].inputs if profiles else ():
        dims = [
            f"dimension {i} ({item.min[i]}/{item.opt[i]}/{item.max[i]})"
            for i in range(len(item.min))
            if i > 0 and not item.min[i] == item.opt[i] == item.max[i]
        ]
        if dims:
            parts.append(f"input {item.name!r} " + ", ".join(dims))
    return "; ".join(parts)


def _shape_constraint(line: str, profiles: Sequence[ShapeProfile]) -> str | None:
    """A layer that cannot take the profile's sizes, named with the input dims that vary and
    the likely constraint, or None."""
    match = _VIOLATE_RE.search(line)
    reshape = _RESHAPE_RE.search(line)
    if match:
        which = match["which"].lower()
        # The first sentence: the rest is TensorRT's symbolic size algebra.
        reason = _first_sentence(match["reason"]).rstrip(". )")
        where = f"at the {which} shapes, layer '{match['layer'].strip()}' cannot work ({reason})"
    elif reshape:
        where = f"layer '{reshape['layer']}' reshapes to sizes fixed in the model"
    else:
        return None
    varying = _varying_dims(profiles)
    named = f"; the profile varies {varying}" if varying else ""
    return (
        f"{where}{named}: the model likely needs one of them fixed (a text recogniser's "
        "height is 48) or multiples of 32; use the suggested profile, which is checked "
        "against the model"
    )


def explain_build_failure(
    errors: Sequence[str], warnings: Iterable[str] = (), profiles: Sequence[ShapeProfile] = ()
) -> EngineBuildError:
    """`EngineBuildError` with a plain-words summary first and TensorRT's lines as details;
    `profiles` (the build's) lets a shape-constraint failure name the input dims involved."""
    lines = [e for e in errors if e.strip()]
    details = "\n".join(lines) or "TensorRT returned no engine and logged no error."
    warning_lines = [w for w in warnings if "not self-consistent" in w]
    if warning_lines:
        details += "\n\nRelated warnings:\n" + "\n".join(warning_lines)
    text = "\n".join(lines)
    low = text.lower()
    for line in lines:
        explained = explain_profile_message(line)
        if explained:
            return EngineBuildError(
                f"TensorRT rejected the shape profile: {explained}.", details=details
            )
    for line in lines:
        constraint = _shape_constraint(line, profiles)
        if constraint:
            return EngineBuildError(
                f"TensorRT rejected the shape profile: {constraint}.", details=details
            )
    if any(k in low for k in ("out of memory", "outofmemory", "mem_alloc_failed", "bad_alloc")) or (
        "error code 2" in low and "memory" in low
    ):
        return EngineBuildError(
            "TensorRT ran out of memory while building: lower the max shapes or the workspace "
            "limit, or close other programs, then build again.",
            details=details,
        )
    match = re.search(r"[Cc]ould not find any implementation for node ([^\s.]+)", text)
    if match:
        return EngineBuildError(
            f"TensorRT has no implementation for layer {match[1]} with these settings: try "
            "another precision or a larger workspace.",
            details=details,
        )
    if lines:
        last = re.sub(r"^IBuilder::buildSerializedNetwork: Error Code \d+: ", "", lines[-1])
        return EngineBuildError(
            f"TensorRT could not build the engine: {_first_sentence(last)}", details=details
        )
    return EngineBuildError(
        "TensorRT could not build the engine and gave no reason: build again with the verbose "
        "log to see what it did.",
        details=details,
    )


def profile_inconsistency(
    warnings: Iterable[str], profiles: Sequence[ShapeProfile] = ()
) -> EngineBuildError | None:
    """The error for a build whose engine TensorRT says will fail at its own profile's min
    or max shapes ("Profile kMIN/kMAX values are not self-consistent"), or None. The first
    profile's shapes at that end are named (which input, which dimensions)."""
    lines = [w for w in warnings if re.search(r"Profile k(MIN|MAX) values are not self", w)]
    for line in lines:
        explained = explain_profile_message(line)
        if not explained:
            continue
        which = "min" if "kMIN" in line else "max"
        shapes = ", ".join(
            f"{i.name} {'x'.join(str(d) for d in (i.min if which == 'min' else i.max))}"
            for i in (profiles[0].inputs if profiles else ())
        )
        named = f" ({which} shape: {shapes})" if shapes else ""
        return EngineBuildError(
            f"TensorRT says the engine would fail at its own profile{named}: {explained}; "
            "no engine was written.",
            details="\n".join(lines),
        )
    return None


def explain_warnings(warnings: Iterable[str]) -> list[str]:
    """Notes for warnings people should act on (shape profiles the model cannot run)."""
    notes = []
    for line in warnings:
        explained = explain_profile_message(line)
        if explained:
            notes.append(
                f"TensorRT warns that {explained}; the engine was built but will fail at "
                "those shapes."
            )
    return notes[:5]
