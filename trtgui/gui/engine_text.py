"""What the Engine panel says about core records, as (label, value) lines and banner text.

Pure functions of `EngineCheck`, `EngineInfo`, `BuildRecord` and `BuildResult`, so the words
are tested without widgets; the panel only places them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trtgui.core.backends import backend_title
from trtgui.core.build.record import BuildRecord
from trtgui.core.build.result import BuildResult
from trtgui.core.build.settings import BuildSettings
from trtgui.core.engine.info import EngineInfo
from trtgui.core.engine.plan import EngineCheck, PlanHeader, verdict_words
from trtgui.core.text import format_bytes, one_line

Items = list[tuple[str, str]]

# What the panel shows of values read from a build record (a file anyone can write): a
# 10 MB string pasted into a label or the sidecar tab froze the window for minutes.
VALUE_CHARS = 300  # one value in the Engine and Build boxes
SIDECAR_STRING_CHARS = 2000  # one string in the sidecar tab
# list items or object keys in the sidecar tab: 1,000 tensors made 135,000 characters, whose
# layout alone held the GUI thread 65 ms
SIDECAR_ITEMS = 200
SIDECAR_DEPTH = 12  # nesting levels shown in the sidecar tab
NO_SIDECAR_TEXT = (
    "No sidecar JSON found next to the engine (engines built by trtgui write <engine>.json)."
)

# Verdict.status -> banner level. A missing GPU is amber: the engine is fine, this machine
# just cannot load it; a version or backend mismatch is red: rebuild.
VERDICT_LEVELS = {
    "ok": "ok",
    "needs_gpu": "warning",
    "needs_backend": "error",
    "rebuild": "error",
    "unknown": "warning",
}
NO_RECORD = [("Sidecar", "none — not built by trtgui, or the .json was not kept")]


def short_value(text: str, limit: int = VALUE_CHARS) -> str:
    """`text` on one line (controls escaped), cut to `limit` characters with the full length
    said: "…  (10,485,760 characters)". Cheap for any length: only the start is looked at."""
    if len(text) <= limit:
        return one_line(text)
    return f"{one_line(text[:limit]).rstrip()} … ({len(text):,} characters)"


def _bounded(value: Any, depth: int = 0) -> tuple[Any, bool]:
    """`value` (decoded JSON) with long strings, long lists, large objects and deep nesting
    cut, and whether anything was cut."""
    if isinstance(value, str):
        if len(value) <= SIDECAR_STRING_CHARS:
            return value, False
        return f"{value[:SIDECAR_STRING_CHARS]}… ({len(value):,} characters)", True
    if not isinstance(value, (list, tuple, dict)):
        return value, False
    if depth >= SIDECAR_DEPTH:
        return "…", True
    cut = len(value) > SIDECAR_ITEMS
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key in list(value)[:SIDECAR_ITEMS]:
            out[short_value(str(key), 200)], inner = _bounded(value[key], depth + 1)
            cut = cut or inner or len(str(key)) > 200
        if len(value) > SIDECAR_ITEMS:
            out["…"] = f"{len(value) - SIDECAR_ITEMS:,} more keys"
        return out, cut
    items = []
    for item in list(value[:SIDECAR_ITEMS]):
        shown, inner = _bounded(item, depth + 1)
        items.append(shown)
        cut = cut or inner
    if len(value) > SIDECAR_ITEMS:
        items.append(f"… {len(value) - SIDECAR_ITEMS:,} more")
    return items, cut


def sidecar_text(record: BuildRecord | None) -> tuple[str, bool]:
    """The sidecar tab's text — the build record as indented JSON, long strings and lists
    shortened so the tab stays quick whatever the file holds — and whether anything was
    shortened (the file itself has it all)."""
    if record is None:
        return NO_SIDECAR_TEXT, False
    shown, cut = _bounded(record.model_dump(mode="json", by_alias=True))
    return json.dumps(shown, indent=2, ensure_ascii=False), cut


def _shortened(items: Items) -> Items:
    return [(key, short_value(value)) for key, value in items]


def enum_words(name: str) -> str:
    """A TensorRT enum name for people: "DETAILED" → "detailed", "LAYER_NAMES_ONLY" →
    "layer names only"."""
    return name.rsplit(".", 1)[-1].lower().replace("_", " ")


def backend_text(backend: str, version: str) -> str:
    """ "TensorRT for RTX 1.7.1.116" from a backend name and version."""
    return f"{backend_title(backend or '?')} {version}".strip()


# -- the Engine box ------------------------------------------------------------------------------


def header_items(path: Path | None, check: EngineCheck | None, info: EngineInfo | None) -> Items:
    """The file, what built it, this machine, and what the deserialized engine holds."""
    items: Items = []
    header: PlanHeader | None = check.header if check is not None else None
    if header is None and info is not None:
        header = info.header
    if path is not None:
        items.append(("File", path.name))
    if header is not None:
        items.append(("Size", format_bytes(header.file_size)))
        items.append(("Built with", f"{header.backend_title} {header.version_str}"))
        items.append(
            (
                "Plan header",
                f"tag '{header.tag}', serialization version {header.serialization_version}",
            )
        )
    elif path is not None and path.is_file():
        items.append(("Size", format_bytes(path.stat().st_size)))
    if check is not None:
        items += _machine_items(check)
    if info is not None:
        items.append(("Loaded by", backend_text(info.backend, info.backend_version)))
        items.append(("Profiles", str(info.num_profiles)))
        items.append(("Device memory", format_bytes(info.device_memory_bytes)))
        items.append(("Layers", str(info.num_layers)))
        if info.profiling_verbosity:
            items.append(("Profiling verbosity", enum_words(info.profiling_verbosity)))
    return items


def _machine_items(check: EngineCheck) -> Items:
    installed = "; ".join(
        f"{b.title} " + ((b.version or "") if b.available else "(not installed)")
        for b in check.installed
    )
    if check.gpus:
        gpu_text = "; ".join(
            f"{g.name} (compute capability {g.compute_capability_str})" for g in check.gpus
        )
    else:
        gpu_text = "none — " + (check.gpu_reason or "not found")
    items = [("Installed here", installed or "—"), ("GPU", gpu_text)]
    if check.validity:
        problems = ", ".join(check.validity_problems)
        items.append(
            (
                "Engine validity",
                f"{enum_words(check.validity)}{': ' + problems if problems else ''}",
            )
        )
    return items


# -- the Build box -------------------------------------------------------------------------------


def record_items(record: BuildRecord | None, problem: str = "") -> Items:
    """What people ask about a build, from the build record; the whole record has its tab.
    `problem`: why a record beside the engine could not be read (the rest is still shown)."""
    if record is None and problem:
        return [("Build record", f"not read: {problem}")]
    if record is None:
        return list(NO_RECORD)
    return _shortened(
        _build_items(
            backend=record.backend,
            backend_version=record.backend_version,
            created=record.created,
            build_seconds=record.build_seconds,
            engine_bytes=record.engine_bytes,
            warning_count=record.warning_count,
            error_count=record.error_count,
            settings=record.settings,
        )
    )


def result_items(result: BuildResult) -> Items:
    """The same lines for a build that just finished."""
    return _build_items(
        backend=result.backend,
        backend_version=result.backend_version,
        created="",
        build_seconds=result.build_seconds,
        engine_bytes=result.engine_bytes,
        warning_count=result.warning_count,
        error_count=result.error_count,
        settings=result.settings,
    )


def _build_items(
    *,
    backend: str,
    backend_version: str,
    created: str,
    build_seconds: float | None,
    engine_bytes: int | None,
    warning_count: int | None,
    error_count: int | None,
    settings: BuildSettings | None,
) -> Items:
    items: Items = []
    if backend:
        items.append(("Backend", backend_text(backend, backend_version)))
    if created:
        items.append(("Built on", created.replace("T", " ")))
    if build_seconds is not None:
        items.append(("Build time", f"{build_seconds:.2f} s"))
    if engine_bytes is not None:
        items.append(("Engine size", format_bytes(engine_bytes)))
    if warning_count is not None:
        items.append(("Warnings / errors", f"{warning_count} / {error_count or 0}"))
    if settings is not None:
        items += settings_items(settings)
    return items


def settings_items(s: BuildSettings) -> Items:
    """The build settings people ask about first, in a fixed order, in the Build panel's
    words."""
    return [
        ("ONNX model", s.onnx_path or "—"),
        ("Precision", s.precision.label),
        ("Backend setting", backend_title(s.backend) if s.backend else "default (best installed)"),
        ("Optimization level", str(s.optimization_level)),
        ("Workspace", format_bytes(s.workspace_bytes) if s.workspace_bytes else "TensorRT default"),
        ("Profiling verbosity", s.profiling_verbosity or "—"),
        ("Compute capabilities", ", ".join(s.compute_capabilities) or "—"),
        ("Profiles", str(len(s.profiles)) if s.profiles else "none (static shapes)"),
    ]


# -- the banner ----------------------------------------------------------------------------------


def verdict_banner(check: EngineCheck) -> tuple[str, str, str]:
    """(banner level, one line, details) from the check's verdict."""
    verdict = check.verdict
    message = verdict.message or (
        "The engine loads on this machine."
        if verdict.loadable_here
        else "The engine cannot be loaded on this machine."
    )
    lines = [f"Verdict: {verdict_words(verdict.status)}", message[:1].upper() + message[1:]]
    lines += [f"Note: {n}" for n in verdict.notes]
    if check.gpu_reason:
        lines.append(f"GPU: {check.gpu_reason}")
    for b in check.installed:
        state = b.version if b.available else "not installed"
        lines.append(f"Backend: {b.title}: {state}")
    if check.record_problem:
        lines.append(f"Build record not read: {check.record_problem}")
    level = VERDICT_LEVELS.get(verdict.status, "warning")
    return level, headline(verdict.status, message, check), "\n".join(lines)


def headline(status: str, message: str, check: EngineCheck) -> str:
    """The banner's one line: can it load here, and the reason in a few words."""
    header = check.header
    built = f"{header.backend_title} {header.short_version}"
    if status == "ok":
        names = ", ".join(g.name for g in check.gpus)
        return f"This engine loads on this machine ({names or 'GPU found'})."
    if status == "needs_gpu":
        if not check.gpus:
            return (
                "This engine cannot be loaded here: no usable NVIDIA GPU on this machine. "
                "Header, build record and build-time I/O are shown."
            )
        g = check.gpus[0]
        return (
            f"This engine cannot be loaded here: {built.strip()} does not support "
            f"{g.name} (compute capability {g.compute_capability_str})."
        )
    if status == "needs_backend":
        return (
            f"This engine cannot be loaded here: it needs {built.strip()}, which is not installed."
        )
    if status == "rebuild":
        return f"This engine cannot be loaded here: {message}"
    return message


def unique_lines(*blocks: str) -> str:
    """The blocks' lines, each said once: a line already said, or inside one said before
    ("GPU: <reason>" holds "<reason>"), is left out; blocks stay apart by a blank line."""
    said: list[str] = []
    out: list[str] = []
    for block in blocks:
        fresh = []
        for line in (block or "").splitlines():
            text = line.strip()
            if text and not any(text in old for old in said):
                said.append(text)
                fresh.append(line)
        if fresh:
            out.append("\n".join(fresh))
    return "\n\n".join(out)
