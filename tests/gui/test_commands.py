""" "Copy as command line": the trtgui-cli command and the trtexec equivalent."""

from __future__ import annotations

import shlex

from trtgui.core.build.settings import BuildSettings
from trtgui.core.model.profiles import InputShape, Precision, ShapeProfile
from trtgui.gui.commands import cli_command, command_text, trtexec_command

PROFILE = ShapeProfile((InputShape("x", (1, 3, 32, 32), (1, 3, 224, 224), (8, 3, 640, 640)),))


def test_cli_command_flags() -> None:
    s = BuildSettings(
        onnx_path="/m/det model.onnx",
        output_path="/m/det.engine",
        backend="rtx",
        precision=Precision.INT8,
        profiles=(PROFILE,),
        calibration_dir="/imgs",
        workspace_bytes=2 << 30,
        optimization_level=5,
    )
    args = shlex.split(cli_command(s))
    assert args[:5] == ["trtgui-cli", "build", "/m/det model.onnx", "-o", "/m/det.engine"]
    assert args[args.index("--shapes") + 1] == "x:1x3x32x32:1x3x224x224:8x3x640x640"
    assert args[args.index("--precision") + 1] == "int8"
    assert args[args.index("--calib-dir") + 1] == "/imgs"
    assert args[args.index("--workspace") + 1] == "2G"
    assert args[args.index("--opt-level") + 1] == "5"
    assert "--settings" not in args


def test_several_inputs_share_one_shapes_option() -> None:
    two = ShapeProfile(
        (InputShape("a", (1, 4), (2, 4), (8, 4)), InputShape("b", (1, 2), (2, 2), (8, 2)))
    )
    s = BuildSettings(
        onnx_path="m.onnx",
        profiles=(two,),
        keep_converted_onnx=True,
        precision=Precision.INT8,
        calibration_dir="c",
        calibration_max_images=10,
    )
    args = shlex.split(cli_command(s))
    assert args.count("--shapes") == 1
    i = args.index("--shapes")
    assert args[i + 1 : i + 3] == ["a:1x4:2x4:8x4", "b:1x2:2x2:8x2"]
    assert "--keep-onnx" in args
    assert args[args.index("--calib-max") + 1] == "10"
    assert "--settings" not in args


def test_settings_file_when_no_flag_exists() -> None:
    s = BuildSettings(onnx_path="a.onnx", profiles=(PROFILE, PROFILE))
    text = command_text(s)
    assert "--settings build-settings.json" in text
    assert text.startswith("# save the build settings")


def test_trtexec_for_tensorrt_only() -> None:
    s = BuildSettings(
        onnx_path="a.onnx",
        output_path="a.engine",
        backend="tensorrt",
        profiles=(PROFILE,),
        timing_cache_path="cache.bin",
        version_compatible=True,
        hardware_compatibility="ampere_plus",
        workspace_bytes=1 << 30,
    )
    cmd, note = trtexec_command(s)
    assert cmd is not None and note == ""
    args = shlex.split(cmd)
    assert args[0] == "trtexec"
    assert "--onnx=a.onnx" in args and "--saveEngine=a.engine" in args
    assert "--minShapes=x:1x3x32x32" in args and "--maxShapes=x:8x3x640x640" in args
    assert "--memPoolSize=workspace:1024M" in args
    assert "--timingCacheFile=cache.bin" in args
    assert "--versionCompatible" in args
    assert "--hardwareCompatibilityLevel=ampere+" in args
    fp16, note = trtexec_command(s.with_changes(precision=Precision.FP16))
    assert fp16 is not None and "--onnx=a.fp16.onnx" in fp16 and "converts" in note
    none, why = trtexec_command(s.with_changes(backend="rtx"))
    assert none is None and "TensorRT for RTX" in why
    assert "no trtexec equivalent" in command_text(s.with_changes(backend="rtx"))
