"""Real engine builds with TensorRT-RTX on the CPU: outputs, failures, cancel, callbacks."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from trtgui.core import backends
from trtgui.core.build import trt_log
from trtgui.core.build.builder import BuildResult, build_engine
from trtgui.core.build.failures import explain_build_failure, explain_profile_message
from trtgui.core.build.progress import ProgressEvent
from trtgui.core.build.record import record_path
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import (
    BuildCancelled,
    EngineBuildError,
    OnnxParseError,
    OutputPathError,
    ProfileError,
    SettingsError,
)
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.model.profiles import InputShape, Precision, ShapeProfile, suggest_profiles

pytestmark = pytest.mark.skipif(
    not backends.probe_backend("rtx").available, reason="TensorRT-RTX is not installed"
)


def settings_for(model: Path, out: Path, **changes: object) -> BuildSettings:
    profiles = suggest_profiles(inspect_onnx(model))
    base = BuildSettings(
        onnx_path=str(model), output_path=str(out), backend="rtx", profiles=profiles
    )
    return base.with_changes(**changes)


def only_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def check_written(result: BuildResult) -> dict[str, object]:
    assert result.engine_path.is_file()
    assert result.engine_path.stat().st_size == result.engine_bytes > 0
    assert result.sidecar_path == record_path(result.engine_path)
    sidecar = json.loads(result.sidecar_path.read_text())
    assert sidecar["engine_bytes"] == result.engine_bytes
    assert sidecar["backend"] == "rtx" and sidecar["backend_version"]
    assert len(sidecar["onnx_sha256"]) == 64
    assert "gpu" in sidecar and "build_seconds" in sidecar
    assert BuildSettings.from_dict(sidecar["settings"]) == result.settings
    return sidecar  # type: ignore[no-any-return]


def test_static_fp32_build_writes_engine_and_sidecar(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines: list[tuple[int, str]] = []
    events: list[ProgressEvent] = []
    out = tmp_path / "static.engine"
    result = build_engine(
        settings_for(made_models["static_conv"].path, out),
        on_log=lambda level, msg: lines.append((level, msg)),
        on_progress=events.append,
        log_level=logging.INFO,
    )
    sidecar = check_written(result)
    assert only_files(tmp_path) == ["static.engine", "static.engine.json"]
    assert [(t.name, t.is_input, t.dtype, t.shape) for t in result.io_tensors] == [
        ("input", True, "float32", (1, 3, 16, 16)),
        ("output", False, "float32", (1, 8)),
    ]
    assert sidecar["io_tensors"][0]["name"] == "input"
    assert lines, "the log callback got TensorRT's messages"
    names = {p.name for e in events for p in e.phases}
    assert "Building engine" in names and "Parsing the ONNX model" in names
    assert result.settings.profiling_verbosity == "detailed"


def test_dynamic_fp16_with_profile_and_kept_onnx(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "dyn.engine"
    settings = settings_for(
        made_models["dynamic_batch"].path, out, precision=Precision.FP16, keep_converted_onnx=True
    )
    result = build_engine(settings)
    sidecar = check_written(result)
    assert "fp16" in result.precision_method
    assert result.converted_onnx_path == tmp_path / "dyn.fp16.onnx"
    assert result.converted_onnx_path.is_file()
    assert result.io_tensors[0].shape == (-1, 3, 16, 16)
    assert sidecar["profiles"][0]["inputs"][0]["max"] == [8, 3, 16, 16]


def test_external_weights_build(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = build_engine(settings_for(made_models["external_data"].path, tmp_path / "e.engine"))
    assert result.io_tensors[-1].shape == (1, 64)


def test_int8_calibrated_on_real_images(made_models, shared_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(
        made_models["dynamic_spatial"].path,
        tmp_path / "q.engine",
        precision=Precision.INT8,
        calibration_dir=str(shared_models / "images"),
        profiles=(
            ShapeProfile((InputShape("input", (1, 3, 32, 32), (1, 3, 64, 64), (2, 3, 96, 96)),)),
        ),
    )
    result = build_engine(settings)
    sidecar = check_written(result)
    assert sidecar["calibration_images"] == 5
    assert result.precision_method == "onnxruntime QDQ int8"
    # #13: the converted model is kept beside the engine (predict runs it where no GPU can).
    assert only_files(tmp_path) == ["q.engine", "q.engine.json", "q.int8.onnx"]


def test_parse_failure_names_the_node(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OnnxParseError) as info:
        build_engine(settings_for(made_models["unknown_op"].path, tmp_path / "u.engine"))
    err = info.value
    assert "fancy0" in err.message and "FancyOp" in err.message
    assert err.errors and "node 1 'fancy0' (FancyOp)" in err.errors[0]
    assert only_files(tmp_path) == []


def test_impossible_profile_rejected_before_building(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    events: list[ProgressEvent] = []
    bad = ShapeProfile((InputShape("input", (4, 3, 16, 16), (2, 3, 16, 16), (8, 3, 16, 16)),))
    with pytest.raises(ProfileError) as info:
        build_engine(
            settings_for(made_models["dynamic_batch"].path, tmp_path / "p.engine", profiles=(bad,)),
            on_progress=events.append,
        )
    assert "'input'" in info.value.message and "dimension 0" in info.value.message
    assert not any(p.name == "Building engine" for e in events for p in e.phases)
    assert only_files(tmp_path) == []


def test_profile_rejected_by_tensorrt_in_plain_words(shared_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The text-direction classifier names height and width both "?": TensorRT wants them equal.
    model = shared_models / "onnx" / "ch_ppocr_mobile_v2.0_cls_infer.onnx"
    profile = ShapeProfile((InputShape("x", (1, 3, 48, 192), (1, 3, 48, 192), (4, 3, 48, 192)),))
    with pytest.raises(EngineBuildError) as info:
        build_engine(settings_for(model, tmp_path / "c.engine", profiles=(profile,)))
    assert info.value.message.startswith("TensorRT rejected the shape profile")
    assert "equal" in info.value.message
    assert "Error Code" in info.value.details
    assert only_files(tmp_path) == []


def test_cancel_from_progress_callback_leaves_nothing(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cancel = threading.Event()

    def on_progress(event: ProgressEvent) -> None:
        if any(p.name == "Building engine" and p.step >= 1 for p in event.phases):
            cancel.set()

    with pytest.raises(BuildCancelled):
        build_engine(
            settings_for(made_models["dynamic_spatial"].path, tmp_path / "x.engine"),
            on_progress=on_progress,
            cancel=cancel,
        )
    assert only_files(tmp_path) == []


def test_cancel_before_start(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(BuildCancelled):
        build_engine(
            settings_for(made_models["static_conv"].path, tmp_path / "s.engine"), cancel=cancel
        )
    assert only_files(tmp_path) == []


def test_failing_callbacks_do_not_break_the_build(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def boom(*_: object) -> None:
        raise RuntimeError("callback bug")

    result = build_engine(
        settings_for(made_models["static_conv"].path, tmp_path / "s.engine"),
        on_log=boom,
        on_progress=boom,
    )
    assert result.engine_path.is_file()
    assert any("callback bug" in n for n in result.notes)


def test_settings_errors(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = made_models["static_conv"].path
    with pytest.raises(SettingsError, match="weak typing"):
        build_engine(settings_for(model, tmp_path / "a.engine", precision=Precision.AUTO))
    with pytest.raises(SettingsError, match="calibration"):
        build_engine(settings_for(model, tmp_path / "a.engine", precision=Precision.INT8))
    # Issue #11: a missing output folder is an output-path error, not a profile error.
    with pytest.raises(OutputPathError, match="does not exist"):
        build_engine(settings_for(model, tmp_path / "missing" / "a.engine"))
    assert only_files(tmp_path) == []


def test_real_model_fp32(shared_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = shared_models / "onnx" / "mtcnn_pnet.onnx"
    result = build_engine(settings_for(model, tmp_path / "pnet.engine"))
    check_written(result)
    assert [t.name for t in result.io_tensors] == ["input", "reg", "prob"]


def test_explain_messages_seen_from_tensorrt() -> None:
    kmin = (
        "Profile kMIN values are not self-consistent. /conv1/Conv: spatial dimension of "
        "convolution/deconvolution output cannot be negative (build-time output dimension of "
        "axis 2 is (+ height -2)) Condition '<' violated: 1 >= 1. In operator() at x.cpp:628"
    )
    text = explain_profile_message(kmin)
    assert text is not None and "min shapes" in text and "/conv1/Conv" in text
    err = explain_build_failure(["IBuilder::buildSerializedNetwork: Error Code 4: " + kmin])
    assert (
        err.message.startswith("TensorRT rejected the shape profile")
        and "Error Code 4" in err.details
    )
    oom = explain_build_failure(["Error Code 2: OutOfMemory (Requested size was 999 bytes.)"])
    assert "out of memory" in oom.message
    other = explain_build_failure(
        ["IBuilder::buildSerializedNetwork: Error Code 9: API Usage Error (x)"]
    )
    assert other.message.startswith("TensorRT could not build the engine: API Usage Error")


def test_real_model_fp16(shared_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = shared_models / "onnx" / "mtcnn_pnet.onnx"
    result = build_engine(settings_for(model, tmp_path / "pnet16.engine", precision=Precision.FP16))
    check_written(result)
    assert "fp16" in result.precision_method


def test_real_model_int8(shared_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    profile = ShapeProfile(
        (InputShape("input", (1, 3, 224, 224), (1, 3, 224, 224), (2, 3, 224, 224)),)
    )
    settings = settings_for(
        model,
        tmp_path / "eff8.engine",
        precision=Precision.INT8,
        profiles=(profile,),
        calibration_dir=str(shared_models / "images"),
        calibration_max_images=3,
    )
    result = build_engine(settings)
    sidecar = check_written(result)
    assert sidecar["calibration_images"] == 3
    # INT8 weights: the engine is well under the FP32 weights' 18 MB.
    assert result.engine_bytes < 15_000_000


# -- issue #10: engine names, replacing, a user's cancel ------------------------------------------


def test_default_engine_names_carry_the_precision() -> None:
    # The naming rule of issue #10 (FP32 keeps model.engine; the others add the precision).
    from trtgui.core.build.settings import converted_onnx_path, default_engine_path

    names = {p.value: default_engine_path("/m/det.v4.onnx", p).name for p in Precision}
    assert names == {
        "fp32": "det.v4.engine",
        "fp16": "det.v4.fp16.engine",
        "bf16": "det.v4.bf16.engine",
        "int8": "det.v4.int8.engine",
        "auto": "det.v4.auto.engine",
    }
    assert default_engine_path("/m/det.v4.onnx", "int8").parent == Path("/m")
    # The kept converted model is named for the precision once, whatever the engine is called.
    assert converted_onnx_path("/m/det.fp16.engine", Precision.FP16) == Path("/m/det.fp16.onnx")
    assert converted_onnx_path("/m/det.engine", "int8") == Path("/m/det.int8.onnx")


def test_fp16_then_int8_without_output_keep_both(
    made_models, shared_models, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Building INT8 after FP16 used to replace the FP16 engine (both were model.engine)."""
    model = tmp_path / "m.onnx"
    model.write_bytes(made_models["static_conv"].path.read_bytes())
    fp16 = build_engine(settings_for(model, Path(), output_path="", precision=Precision.FP16))
    int8 = build_engine(
        settings_for(
            model,
            Path(),
            output_path="",
            precision=Precision.INT8,
            calibration_dir=str(shared_models / "images"),
            calibration_max_images=2,
        )
    )
    assert fp16.engine_path == tmp_path / "m.fp16.engine"
    assert int8.engine_path == tmp_path / "m.int8.engine"
    assert only_files(tmp_path) == [  # #13: each converted model kept beside its engine
        "m.fp16.engine",
        "m.fp16.engine.json",
        "m.fp16.onnx",
        "m.int8.engine",
        "m.int8.engine.json",
        "m.int8.onnx",
        "m.onnx",
    ]


def test_an_existing_engine_is_replaced_atomically(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "s.engine"
    out.write_bytes(b"an older engine")
    result = build_engine(settings_for(made_models["static_conv"].path, out))
    check_written(result)
    assert out.read_bytes() != b"an older engine"
    assert only_files(tmp_path) == ["s.engine", "s.engine.json"]  # no temporary file left


def test_output_that_is_a_folder_or_the_model_is_refused(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "engines.engine"
    folder.mkdir()
    # Issue #11 (one error class per kind of failure): these are output-path errors too.
    # Issue #12: the message names what the path is ("a folder"), not "a folder or a special file".
    with pytest.raises(OutputPathError, match="is a folder, not a file: choose another file name"):
        build_engine(settings_for(made_models["static_conv"].path, folder))
    assert only_files(folder) == []
    model = tmp_path / "m.onnx"
    original = made_models["static_conv"].path.read_bytes()
    model.write_bytes(original)
    with pytest.raises(OutputPathError, match="is the ONNX model itself"):
        build_engine(settings_for(model, model))
    assert model.read_bytes() == original
    assert only_files(tmp_path) == ["engines.engine", "m.onnx"]


def test_a_users_cancel_is_not_logged_as_an_error(made_models, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """TensorRT reports the stop it was asked for as "Error Code 7: BuildCanceled" at error
    severity: after a cancel it reaches the build's log and `logging` as VERBOSE."""
    cancel = threading.Event()
    lines: list[tuple[int, str]] = []

    def on_progress(event: ProgressEvent) -> None:
        if any(p.name == "Building engine" and p.step >= 1 for p in event.phases):
            cancel.set()

    caplog.set_level(logging.WARNING, logger="trtgui.tensorrt")
    with pytest.raises(BuildCancelled):
        build_engine(
            settings_for(made_models["dynamic_spatial"].path, tmp_path / "x.engine"),
            on_log=lambda level, message: lines.append((level, message)),
            on_progress=on_progress,
            cancel=cancel,
            log_level=trt_log.VERBOSE,
        )
    cancel_lines = [(lv, m) for lv, m in lines if "cancel" in m.lower()]
    assert cancel_lines, lines  # TensorRT did say it (the test sees the real message)
    assert {lv for lv, _ in cancel_lines} == {trt_log.VERBOSE}
    assert not [m for lv, m in lines if lv >= logging.ERROR]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_int8_calibration_leaves_the_root_logger_alone(  # type: ignore[no-untyped-def]
    made_models, shared_models, tmp_path: Path
) -> None:
    """onnxruntime's quantizer logs with `logging.warning()`, which installs a root handler when
    there is none; that handler printed every later TensorRT warning a second time
    ("WARNING:trtgui.tensorrt:…" beside the CLI's own "tensorrt warning: …")."""
    root = logging.getLogger()
    saved = root.handlers[:]  # pytest's capture handlers: without them basicConfig would run
    root.handlers.clear()
    try:
        build_engine(
            settings_for(
                made_models["static_conv"].path,
                tmp_path / "q.engine",
                precision=Precision.INT8,
                calibration_dir=str(shared_models / "images"),
                calibration_max_images=2,
            )
        )
        assert root.handlers == []
    finally:
        root.handlers[:] = saved
