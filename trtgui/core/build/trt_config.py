"""Where `BuildSettings` reach TensorRT: the one module that turns them into builder calls.

Network creation flags, precision flags, shape profiles, the workspace pool limit, profiling
verbosity, optimization level, tactic sources and the compatibility options, for each API
family (`backends.api_family`: NVIDIA TensorRT 8.6, 10.x, 11.x, TensorRT-RTX).
`check_settings` refuses values a backend does not know before any work
starts; `configure` applies the rest and returns notes about settings this backend ignores.
The timing cache is read and written by `timing_cache`.

TensorRT 8.6 (seen on an H200 with 8.6.0): its ONNX parser needs `EXPLICIT_BATCH`; there is
no strong typing, so FP16 and INT8 are builder flags (INT8 from Q/DQ nodes, or from TensorRT's
entropy calibrator over the user's images: `trt_calibrator`); no BF16; no progress monitor
(the builder reads progress from the log instead).

`TRTGUI_TACTIC_SOURCES` (trtexec's `--tacticSources` syntax, e.g. `-CUBLAS,-CUBLAS_LT,-CUDNN`)
turns tactic sources on or off for NVIDIA TensorRT builds: needed where cuBLAS or cuDNN are
missing or do not match the TensorRT build.
"""

from __future__ import annotations

import os
from typing import Any

from trtgui.core.backends import TACTIC_SOURCES, BackendInfo, api_family
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import ProfileError, SettingsError
from trtgui.core.model.profiles import PRECISIONS, Precision

TACTIC_SOURCES_ENV = "TRTGUI_TACTIC_SOURCES"

# BuildSettings value → TensorRT enum member name.
VERBOSITIES: dict[str, str] = {
    "detailed": "DETAILED",
    "layer_names_only": "LAYER_NAMES_ONLY",
    "none": "NONE",
}
HARDWARE_LEVELS: dict[str, str] = {
    "ampere_plus": "AMPERE_PLUS",
    "same_compute_capability": "SAME_COMPUTE_CAPABILITY",
}
COMPUTE_CAPABILITIES: dict[str, str] = {
    "current": "CURRENT",
    "7.5": "SM75",
    "8.0": "SM80",
    "8.6": "SM86",
    "8.9": "SM89",
    "12.0": "SM120",
    "12.1": "SM121",
}


def precision_support(info: BackendInfo) -> dict[str, str]:
    """Precision value -> "" when usable with this backend, else the reason it is not.

    FP16/BF16/INT8 work everywhere because the ONNX model is converted before building;
    "auto" (TensorRT picks per layer) needs the weak-typing flags of TensorRT 10.x.
    """
    reasons = dict.fromkeys(PRECISIONS, "")
    if not info.available:
        return dict.fromkeys(PRECISIONS, f"{info.title} is not installed")
    family = api_family(info)
    if family not in ("trt8", "trt10"):
        reasons[Precision.AUTO.value] = (
            f"{info.title} {info.version} has no weak typing: the precision comes from the "
            "model, so choose FP16, BF16 or INT8"
        )
    if family == "trt8":
        reasons[Precision.BF16.value] = (
            f"{info.title} {info.version} has no BF16 (it came with TensorRT 9): choose FP16 "
            "or INT8"
        )
    return reasons


def precision_from_onnx(info: BackendInfo, settings: BuildSettings) -> bool:
    """Whether the precision comes from converting the ONNX model first (True) or from
    builder flags on the model as it is (False: FP32, "auto", TensorRT 8.6's FP16, and INT8
    by TensorRT's calibrator)."""
    precision = settings.precision
    if precision in (Precision.FP32, Precision.AUTO):
        return False
    if precision is Precision.INT8 and settings.int8_method == "calibrator":
        return False
    return not (api_family(info) == "trt8" and precision is Precision.FP16)


def flag_method(info: BackendInfo, settings: BuildSettings) -> str:
    """How the precision was given when no conversion happens (for the build record)."""
    precision = settings.precision
    if precision is Precision.INT8:
        return f"{info.title} {info.version} INT8 entropy calibrator"
    if precision is Precision.FP16:
        return f"{info.title} {info.version} FP16 builder flag"
    return "as is"


def backend_notes(info: BackendInfo) -> list[str]:
    """What a user should know about building with this backend (the Build panel shows it)."""
    if not info.available or info.has_progress_monitor or info.name == "rtx":
        return []
    return [
        f"{info.title} {info.version} reports no build progress: the progress bar follows the "
        "phases in its build log, and Cancel takes effect when TensorRT finishes the engine "
        "(nothing is written)."
    ]


def check_settings(info: BackendInfo, settings: BuildSettings) -> None:
    """Raise SettingsError, before any work, for a precision this backend cannot build or an
    option value no backend knows."""
    reason = precision_support(info).get(settings.precision.value)
    if reason:
        raise SettingsError(reason + ".")
    if settings.profiling_verbosity not in VERBOSITIES:
        raise SettingsError(
            f"profiling_verbosity must be one of {', '.join(VERBOSITIES)}, "
            f"got {settings.profiling_verbosity!r}."
        )
    level = _hardware_level(settings)
    if level != "none" and level not in HARDWARE_LEVELS:
        raise SettingsError(
            "hardware_compatibility must be none, ampere_plus or same_compute_capability, "
            f"got {settings.hardware_compatibility!r}."
        )
    family = api_family(info)
    calibrated = settings.precision is Precision.INT8 and settings.int8_method == "calibrator"
    if calibrated and family not in ("trt8", "trt10"):
        raise SettingsError(
            f"{info.title} {info.version} has no INT8 calibrator: use the INT8 "
            "method qdq (trtgui inserts Q/DQ nodes calibrated on the same images)."
        )
    if family == "trt8" and level == "same_compute_capability":
        raise SettingsError(
            f"{info.title} {info.version} knows only the hardware compatibility ampere_plus."
        )
    tactic_source_changes()  # a bad TRTGUI_TACTIC_SOURCES fails before any work
    targets = [t.lower() for t in settings.compute_capabilities]
    unknown = [t for t in settings.compute_capabilities if t.lower() not in COMPUTE_CAPABILITIES]
    if unknown:
        raise SettingsError(
            f"Unknown compute capability {unknown[0]!r}: choose from "
            f"{', '.join(COMPUTE_CAPABILITIES)}."
        )
    if "current" in targets and len(targets) > 1:
        # TensorRT-RTX accepts CURRENT only alone (it logs an API error and builds for none).
        raise SettingsError(
            "The compute capability 'current' (the GPU building) cannot be combined with "
            "others: give either 'current' or a list such as 8.6, 8.9."
        )


def create_network(
    trt: Any, builder: Any, info: BackendInfo, precision: Precision, int8_method: str = "qdq"
) -> Any:
    """`Builder.create_network` with the flags `precision` needs.

    8.6: explicit batch (its ONNX parser refuses implicit-batch networks), never strongly
    typed (8.6 has no strong typing: precision is in the builder flags).
    10.x: strongly typed unless "auto" or INT8 by calibrator (so a converted FP16/INT8 graph
    builds in the types it carries, as on 11.x). 11.x: strongly typed (the only mode; the flag
    is still accepted). RTX: 0, its networks are strongly typed already.
    """
    family = api_family(info)
    if family == "trt8":
        return builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    calibrated = precision is Precision.INT8 and int8_method == "calibrator"
    weakly_typed = family == "rtx" or (
        family == "trt10" and (precision is Precision.AUTO or calibrated)
    )
    flags = 0 if weakly_typed else 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    return builder.create_network(flags)


def configure(
    trt: Any,
    builder: Any,
    network: Any,
    config: Any,
    info: BackendInfo,
    settings: BuildSettings,
    has_qdq: bool,
) -> list[str]:
    """Apply every `BuildSettings` field to `config` (values checked by `check_settings`);
    returns notes about settings this backend ignores. `has_qdq`: the model to build holds
    Q/DQ nodes (only TensorRT 10's weak typing needs to know)."""
    notes = _apply_options(trt, config, info, settings)
    notes += _apply_precision_flags(trt, builder, config, info, settings, has_qdq)
    _add_profiles(builder, network, config, settings)
    return notes


def _hardware_level(settings: BuildSettings) -> str:
    return str(settings.hardware_compatibility or "none").lower()


def _apply_options(trt: Any, config: Any, info: BackendInfo, settings: BuildSettings) -> list[str]:
    notes: list[str] = []
    config.profiling_verbosity = getattr(
        trt.ProfilingVerbosity, VERBOSITIES[settings.profiling_verbosity]
    )
    config.builder_optimization_level = int(settings.optimization_level)
    if settings.workspace_bytes:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(settings.workspace_bytes))
    family = api_family(info)
    if settings.version_compatible:
        if family == "rtx":
            notes.append("Version-compatible engines are a NVIDIA TensorRT feature: ignored.")
        else:
            config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)
    level = _hardware_level(settings)
    if level != "none":
        if family == "rtx":
            notes.append(
                "Hardware compatibility is a NVIDIA TensorRT feature (TensorRT-RTX targets "
                "compute capabilities instead): ignored."
            )
        else:
            config.hardware_compatibility_level = getattr(
                trt.HardwareCompatibilityLevel, HARDWARE_LEVELS[level]
            )
    targets = tuple(settings.compute_capabilities)
    if targets:
        if family != "rtx":
            notes.append(
                "Compute-capability targets are a TensorRT-RTX feature (NVIDIA TensorRT builds "
                "for the GPU it runs on, or uses hardware compatibility): ignored."
            )
        else:
            config.num_compute_capabilities = len(targets)
            for index, target in enumerate(targets):
                value = getattr(trt.ComputeCapability, COMPUTE_CAPABILITIES[target.lower()])
                if not config.set_compute_capability(value, index):
                    raise SettingsError(
                        f"TensorRT-RTX refused the compute capability {target!r}: choose from "
                        f"{', '.join(COMPUTE_CAPABILITIES)}."
                    )
    if settings.timing_cache_path and family == "rtx":
        notes.append("The timing cache is a NVIDIA TensorRT feature: ignored by TensorRT-RTX.")
    notes += _apply_tactic_sources(trt, config, info)
    return notes


def tactic_source_changes() -> list[tuple[str, bool]]:
    """(TacticSource member name, on) for each item of TRTGUI_TACTIC_SOURCES, in order."""
    text = os.environ.get(TACTIC_SOURCES_ENV, "").strip()
    changes: list[tuple[str, bool]] = []
    for item in (i.strip() for i in text.split(",") if i.strip()):
        sign, name = item[0], item[1:].strip().lower().replace("-", "_")
        if sign not in "+-" or name not in TACTIC_SOURCES:
            raise SettingsError(
                f"{TACTIC_SOURCES_ENV} must list tactic sources as trtexec's --tacticSources "
                f"does, e.g. -CUBLAS,-CUBLAS_LT,-CUDNN; {item!r} is not one (known: "
                f"{', '.join(sorted({v for v in TACTIC_SOURCES.values()}))})."
            )
        changes.append((TACTIC_SOURCES[name], sign == "+"))
    return changes


def _apply_tactic_sources(trt: Any, config: Any, info: BackendInfo) -> list[str]:
    changes = tactic_source_changes()
    if not changes:
        return []
    if api_family(info) == "rtx":
        return [f"{TACTIC_SOURCES_ENV} is a NVIDIA TensorRT setting: ignored by TensorRT-RTX."]
    mask = int(config.get_tactic_sources())
    for name, on in changes:
        member = getattr(trt.TacticSource, name, None)
        if member is None:
            raise SettingsError(
                f"{info.title} {info.version} has no tactic source {name}: remove it from "
                f"{TACTIC_SOURCES_ENV}."
            )
        bit = 1 << int(member)
        mask = mask | bit if on else mask & ~bit
    if not config.set_tactic_sources(mask):
        raise SettingsError(f"{info.title} refused the tactic sources of {TACTIC_SOURCES_ENV}.")
    words = ", ".join(f"{'with' if on else 'without'} {name}" for name, on in changes)
    return [f"Tactic sources from {TACTIC_SOURCES_ENV}: {words}."]


def _apply_precision_flags(
    trt: Any,
    builder: Any,
    config: Any,
    info: BackendInfo,
    settings: BuildSettings,
    has_qdq: bool,
) -> list[str]:
    """Builder flags, where precision is a flag: TensorRT 10.x "auto" (FP16, plus INT8 when
    the model has Q/DQ nodes), INT8 by calibrator (8.6, 10.x), and every TensorRT 8.6
    precision (FP16; INT8 for Q/DQ models). Elsewhere precision comes from the (converted)
    ONNX graph and no flag is set."""
    precision = settings.precision
    family = api_family(info)
    fp16 = precision is Precision.AUTO or (family == "trt8" and precision is Precision.FP16)
    int8 = (precision is Precision.AUTO and has_qdq) or (
        precision is Precision.INT8 and (family == "trt8" or settings.int8_method == "calibrator")
    )
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    if int8:
        config.set_flag(trt.BuilderFlag.INT8)
    if fp16 and not builder.platform_has_fast_fp16:
        return ["This GPU has no fast FP16: FP16 will mostly pick FP32 kernels."]
    return []


def _add_profiles(builder: Any, network: Any, config: Any, settings: BuildSettings) -> None:
    dynamic = {
        network.get_input(i).name
        for i in range(network.num_inputs)
        if any(int(d) < 0 for d in network.get_input(i).shape)
    }
    for number, profile in enumerate(settings.profiles, start=1):
        trt_profile = builder.create_optimization_profile()
        for item in profile.inputs:
            if item.name not in dynamic:
                continue  # static input: its shape is already fixed
            trt_profile.set_shape(item.name, item.min, item.opt, item.max)
        if config.add_optimization_profile(trt_profile) < 0:
            raise ProfileError(
                f"TensorRT rejected shape profile {number}: check its min/opt/max shapes.",
                details=repr(profile),
            )
