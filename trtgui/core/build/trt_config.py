"""Where `BuildSettings` reach TensorRT: the one module that turns them into builder calls.

Network creation flags, precision flags, shape profiles, the workspace pool limit, profiling
verbosity, optimization level, the timing cache and the compatibility options, for each API
family (`backends.api_family`: NVIDIA TensorRT 10.x, 11.x, TensorRT-RTX). `check_settings`
refuses values no backend knows before any work starts; `configure` applies the rest and
returns notes about settings this backend ignores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trtgui.core.backends import BackendInfo, api_family
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import ProfileError, SettingsError
from trtgui.core.files import write_atomic
from trtgui.core.model.profiles import PRECISIONS, Precision

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
    if api_family(info) != "trt10":
        reasons[Precision.AUTO.value] = (
            f"{info.title} {info.version} has no weak typing: the precision comes from the "
            "model, so choose FP16, BF16 or INT8"
        )
    return reasons


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


def create_network(trt: Any, builder: Any, info: BackendInfo, precision: Precision) -> Any:
    """`Builder.create_network` with the flags `precision` needs.

    10.x: strongly typed unless "auto" (so a converted FP16/INT8 graph builds in the types it
    carries, as on 11.x). 11.x: strongly typed (the only mode; the flag is still accepted).
    RTX: 0, its networks are strongly typed already.
    """
    family = api_family(info)
    weakly_typed = family == "rtx" or (family == "trt10" and precision is Precision.AUTO)
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
    notes += _apply_precision_flags(trt, builder, config, settings.precision, has_qdq)
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
    return notes


def _apply_precision_flags(
    trt: Any, builder: Any, config: Any, precision: Precision, has_qdq: bool
) -> list[str]:
    """Only TensorRT 10.x "auto" sets flags (`check_settings` refused it elsewhere): FP16,
    plus INT8 when the model has Q/DQ nodes. Every other precision comes from the (converted)
    ONNX graph."""
    if precision is not Precision.AUTO:
        return []
    config.set_flag(trt.BuilderFlag.FP16)
    if has_qdq:
        config.set_flag(trt.BuilderFlag.INT8)
    if not builder.platform_has_fast_fp16:
        return ["This GPU has no fast FP16: 'auto' will mostly pick FP32 kernels."]
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


# -- the timing cache (NVIDIA TensorRT only) ------------------------------------------------------


def load_timing_cache(config: Any, info: BackendInfo, path: str) -> Any | None:
    """Give `config` the timing cache in `path` (empty when the file does not exist yet).

    Returns the cache object (keep it alive while building) or None when unused.
    """
    if not path or api_family(info) == "rtx":
        return None
    file = Path(path)
    data = file.read_bytes() if file.is_file() else b""
    cache = config.create_timing_cache(data)
    config.set_timing_cache(cache, False)
    return cache


def save_timing_cache(config: Any, info: BackendInfo, path: str) -> None:
    """Write the builder's timing cache back to `path` atomically."""
    if not path or api_family(info) == "rtx":
        return
    cache = config.get_timing_cache()
    if cache is None:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, bytes(memoryview(cache.serialize())))
