"""Equivalent command lines for a `BuildSettings`: `trtgui-cli build …` and, where one exists,
NVIDIA's `trtexec`. Pure functions (no Qt), used by "Copy as command line".
"""

from __future__ import annotations

import shlex

from trtgui.core.build.settings import BuildSettings, converted_onnx_path, size_arg
from trtgui.core.model.profiles import Precision

_MIB = 1 << 20


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def cli_command(settings: BuildSettings) -> str:
    """The `trtgui-cli build` command that builds the same engine.

    Options the CLI has no flag for (several profiles, timing cache, compatibility modes,
    compute capability targets, …) travel in a settings file: the command then names
    `--settings build-settings.json` and the caller saves that file beside it.
    """
    s = settings
    args = [
        "trtgui-cli",
        "build",
        s.onnx_path or "MODEL.onnx",
        "-o",
        s.output_path or "MODEL.engine",
    ]
    if s.backend:
        args += ["--backend", s.backend]
    if s.precision is not Precision.FP32:
        args += ["--precision", s.precision.value]
    if len(s.profiles) == 1 and s.profiles[0].inputs:
        # one --shapes with every input (the option takes several values; repeating it would
        # keep only the last)
        args.append("--shapes")
        args += [
            f"{i.name}:{_dims(i.min)}:{_dims(i.opt)}:{_dims(i.max)}" for i in s.profiles[0].inputs
        ]
    if s.calibration_dir and s.precision is Precision.INT8:
        args += ["--calib-dir", s.calibration_dir]
        if s.calibration_max_images != 64:
            args += ["--calib-max", str(s.calibration_max_images)]
    if s.keep_converted_onnx:
        args.append("--keep-onnx")
    if s.accept_accuracy_loss:
        args.append("--accept-accuracy-loss")
    if s.workspace_bytes:
        args += ["--workspace", size_arg(s.workspace_bytes)]
    if s.optimization_level != 3:
        args += ["--opt-level", str(s.optimization_level)]
    if needs_settings_file(s):
        args += ["--settings", "build-settings.json"]
    return shlex.join(args)


def needs_settings_file(s: BuildSettings) -> bool:
    """True when some setting has no `trtgui-cli build` flag."""
    return bool(
        len(s.profiles) > 1
        or s.timing_cache_path
        or s.version_compatible
        or s.hardware_compatibility not in ("", "none")
        or s.compute_capabilities
        or s.profiling_verbosity != "detailed"
        or s.preprocess is not None
    )


_TRTEXEC_HW = {"ampere_plus": "ampere+", "same_compute_capability": "sameComputeCapability"}


def trtexec_command(settings: BuildSettings) -> tuple[str | None, str]:
    """(the equivalent `trtexec` command or None, a note saying why not / what differs).

    trtexec belongs to NVIDIA TensorRT; TensorRT-RTX builds have no trtexec equivalent here.
    FP16/BF16/INT8 in trtgui change the ONNX model first (strong typing), so trtexec can only
    reproduce them from the converted model that "keep converted ONNX" saves.
    """
    s = settings
    if s.backend == "rtx":
        return None, "trtexec is part of NVIDIA TensorRT; this build uses TensorRT for RTX."
    precision = s.precision.value
    onnx = s.onnx_path or "MODEL.onnx"
    note = ""
    if s.precision in (Precision.FP16, Precision.BF16, Precision.INT8):
        # where trtgui keeps the converted model: beside the engine, named for the precision
        onnx = str(converted_onnx_path(s.output_path or "MODEL.engine", s.precision))
        note = (
            f"trtgui converts the model to {precision.upper()} before building; this command "
            f"uses the converted model ({onnx}) that 'Keep converted ONNX' saves."
        )
    args = ["trtexec", f"--onnx={onnx}", f"--saveEngine={s.output_path or 'MODEL.engine'}"]
    if s.precision is Precision.AUTO:
        args += ["--fp16", "--int8"]
    inputs = s.profiles[0].inputs if s.profiles else ()
    for key, shapes in (
        ("minShapes", [(i.name, i.min) for i in inputs]),
        ("optShapes", [(i.name, i.opt) for i in inputs]),
        ("maxShapes", [(i.name, i.max) for i in inputs]),
    ):
        if shapes:
            args.append(f"--{key}={','.join(f'{n}:{_dims(d)}' for n, d in shapes)}")
    if len(s.profiles) > 1:
        note += " Only the first shape profile is shown (trtexec's --profile syntax differs)."
    if s.workspace_bytes:
        args.append(f"--memPoolSize=workspace:{max(1, s.workspace_bytes // _MIB)}M")
    args.append(f"--builderOptimizationLevel={s.optimization_level}")
    verbosity = {"detailed": "detailed", "layer_names_only": "layer_names_only", "none": "none"}
    args.append(f"--profilingVerbosity={verbosity.get(s.profiling_verbosity, 'detailed')}")
    if s.timing_cache_path:
        args.append(f"--timingCacheFile={s.timing_cache_path}")
    if s.version_compatible:
        args.append("--versionCompatible")
    if s.hardware_compatibility not in ("", "none"):
        level = _TRTEXEC_HW.get(s.hardware_compatibility, s.hardware_compatibility)
        args.append(f"--hardwareCompatibilityLevel={level}")
    return shlex.join(args), note.strip()


def command_text(settings: BuildSettings) -> str:
    """What "Copy as command line" puts on the clipboard."""
    lines = [cli_command(settings)]
    if needs_settings_file(settings):
        lines.insert(
            0, "# save the build settings as build-settings.json (Build > Export settings)"
        )
    trtexec, note = trtexec_command(settings)
    if trtexec:
        lines += ["", "# the same build with NVIDIA trtexec:"]
        if note:
            lines.append(f"# {note}")
        lines.append(trtexec)
    elif note:
        lines += ["", f"# no trtexec equivalent: {note}"]
    return "\n".join(lines) + "\n"
