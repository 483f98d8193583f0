"""The TensorRT 8.6 path on the CPU: real 8.6 inspector JSON from an H200, network flags and
precision flags as 8.6 needs them, tactic sources, progress read from the build log, and the
calibration batches TensorRT's own INT8 calibrator gets.

TensorRT 8.6 cannot be installed here, so builder calls go to a small recorder that answers
the few 8.6 calls these functions make (names checked against the real 8.6.1 bindings in
test_trt_api_names.py); the real builds run on the H200 in tests/gpu/test_trt86_*.py.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from trtgui.core import backends
from trtgui.core.build import trt_config
from trtgui.core.build.progress import LogProgress, ProgressTracker, make_progress_monitor
from trtgui.core.build.settings import BuildSettings
from trtgui.core.engine.info import parse_inspector_json, precision_from_tactic, precision_summary
from trtgui.core.errors import SettingsError
from trtgui.core.model.profiles import InputShape, Precision, ShapeProfile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FP32_JSON = FIXTURES / "effnet_lite0_fp32.inspector.trt860-h200.json"
FP16_JSON = FIXTURES / "effnet_lite0_fp16.inspector.trt860-h200.json"
ENGINE_INFO = FIXTURES / "effnet_lite0_fp16.engine_info.trt860-h200.json"
BUILD_LOG = FIXTURES / "effnet_lite0_fp16.build-verbose.trt860-h200.log"
LOGITS = FIXTURES / "effnet_lite0_coffee_logits.trt860-h200.npz"

TRT86 = backends.BackendInfo(
    "tensorrt", "NVIDIA TensorRT", "tensorrt", available=True, version="8.6.0", major=8,
    has_precision_flags=True, has_progress_monitor=False, has_timing_cache=True,
)  # fmt: skip


# -- the real inspector JSON --------------------------------------------------------------------


def test_real_86_inspector_json_with_raw_record_separators_is_read() -> None:
    text = FP32_JSON.read_text(encoding="utf-8")
    assert "\x1e" in text  # TensorRT 8.6 writes raw 0x1E inside "Metadata" strings
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)  # what made `engine --layers` fail on the H200
    layers, io = parse_inspector_json(text)
    # Counted in the file with Python's own json.loads(strict=False) (the independent
    # reader): 54 layers, I/O "input" and "logits".
    raw = json.loads(text, strict=False)["Layers"]
    assert len(layers) == len(raw) == 54
    assert io == ("input", "logits")
    stem = layers[1]
    assert stem.name == "/_conv_stem/static_padding/Pad + /_conv_stem/Conv + PWN(/_swish/Clip)"
    assert stem.type == "CaskConvolution"
    assert stem.tactic.startswith("sm80_xmma_fprop_implicit_gemm_indexed_wo_smem_f32f32_tf32f32")
    # The ONNX nodes the layer came from, 0x1E-separated in the file, readable here.
    assert stem.metadata == (
        "[ONNX Layer: /_conv_stem/static_padding/Pad]; [ONNX Layer: /_conv_stem/Conv]; "
        "[ONNX Layer: /_swish/Clip]"
    )
    types = {la.type for la in layers}
    assert {"CaskConvolution", "CaskGemmConvolution", "CaskPooling", "Reformat"} <= types


def test_dynamic_86_engine_precision_is_read_from_kernel_names() -> None:
    """For a dynamic-shape engine TensorRT 8.6 writes "N/A due to dynamic shapes" for every
    tensor (seen on the H200 with and without an execution context): the precision then
    comes from the kernel name, and says so."""
    layers, _io = parse_inspector_json(FP16_JSON.read_text(encoding="utf-8"))
    assert len(layers) == 55
    assert all("N/A due to dynamic shapes" in " ".join(la.outputs) for la in layers)
    raw = json.loads(FP16_JSON.read_text(encoding="utf-8"), strict=False)["Layers"]
    # Counted independently in the file: kernels whose names carry an FP16 type token.
    fp16 = [r for r in raw if re.search(r"f16|fp16", str(r.get("TacticName", "")), re.I)]
    assert precision_summary(layers) == {"FP16": len(fp16), "unknown": 55 - len(fp16)}
    assert len(fp16) == 51  # 4 left: 2 Reformat, 2 NoOp (they have no kernel name)
    assert all(la.precision_from_kernel for la in layers if la.precision)
    fp32_layers, _ = parse_inspector_json(FP32_JSON.read_text(encoding="utf-8"))
    by_name = {la.name: la.precision for la in fp32_layers}
    # "…_f32f32_tf32f32_f32_…": FP32 tensors, TF32 math (TensorRT's FP32 default).
    assert (
        by_name["/_conv_stem/static_padding/Pad + /_conv_stem/Conv + PWN(/_swish/Clip)"] == "TF32"
    )
    assert precision_from_tactic("sm50_xmma_fprop_conv2d_c1_k1_f32f32_f32_f32_nchwkcrs") == "FP32"
    assert precision_from_tactic("sm80_xmma_fprop_first_layer_i8i8_i8i32_f32_nchw") == "INT8"
    assert precision_from_tactic("sm50_xmma_pooling_fw_4d_FP16FP32NHWC_Average") == "FP16"
    assert precision_from_tactic("0x0000000000000000") == ""


def test_real_engine_info_from_the_h200_round_trips_its_layer_table() -> None:
    """inspect_engine's JSON of the FP16 engine on the H200 (TensorRT 8.6.0), as it ran: I/O
    with formats and locations, the profile, device memory, 55 layers with tactics."""
    data = json.loads(ENGINE_INFO.read_text(encoding="utf-8"))
    assert data["backend_version"] == "8.6.0" and data["num_profiles"] == 1
    (inp, out) = data["tensors"]
    assert (inp["name"], inp["location"], inp["format"]) == ("input", "device", "LINEAR")
    assert inp["profiles"] == [
        {"min": [1, 3, 224, 224], "opt": [4, 3, 224, 224], "max": [8, 3, 224, 224]}
    ]
    assert out["name"] == "logits" and data["device_memory_bytes"] == 33818624
    assert len(data["layers"]) == data["num_layers"] == 55
    assert all(la["tactic"] for la in data["layers"] if la["type"].startswith("Cask"))


# -- network and precision flags ----------------------------------------------------------------


class _Recorder:
    """Answers the builder and config calls the 8.6 path makes, and remembers them."""

    def __init__(self) -> None:
        self.flags: list[str] = []
        self.network_flags: int | None = None
        self.tactic_mask = 0b11111  # cuBLAS, cuBLASLt, cuDNN, edge-mask, JIT: 8.6's default
        self.platform_has_fast_fp16 = True
        self.profiling_verbosity = None
        self.builder_optimization_level = None
        self.profiles: list[Any] = []

    # builder
    def create_network(self, flags: int) -> str:
        self.network_flags = flags
        return "network"

    # config
    def set_flag(self, flag: str) -> None:
        self.flags.append(flag)

    def get_tactic_sources(self) -> int:
        return self.tactic_mask

    def set_tactic_sources(self, mask: int) -> bool:
        self.tactic_mask = mask
        return True


def _trt86() -> Any:
    """The 8.6 names these functions use, with 8.6's enum values."""
    return SimpleNamespace(
        NetworkDefinitionCreationFlag=SimpleNamespace(EXPLICIT_BATCH=0),  # no STRONGLY_TYPED
        BuilderFlag=SimpleNamespace(FP16="FP16", INT8="INT8"),
        TacticSource=SimpleNamespace(
            CUBLAS=0, CUBLAS_LT=1, CUDNN=2, EDGE_MASK_CONVOLUTIONS=3, JIT_CONVOLUTIONS=4
        ),
        ProfilingVerbosity=SimpleNamespace(DETAILED="DETAILED"),
    )


@pytest.mark.parametrize("precision", list(Precision))
def test_every_86_network_is_explicit_batch_and_never_strongly_typed(precision: Precision) -> None:
    rec = _Recorder()
    trt_config.create_network(_trt86(), rec, TRT86, precision)
    assert rec.network_flags == 1 << 0  # EXPLICIT_BATCH; "auto" gave 0 (implicit) before #16


@pytest.mark.parametrize(
    ("precision", "method", "flags", "converts"),
    [
        (Precision.FP32, "qdq", [], False),
        (Precision.FP16, "qdq", ["FP16"], False),  # a flag, no ONNX conversion on 8.6
        (Precision.INT8, "qdq", ["INT8"], True),  # trtgui's Q/DQ model, built with INT8 on
        (Precision.INT8, "calibrator", ["INT8"], False),  # TensorRT calibrates the model as is
        (Precision.AUTO, "qdq", ["FP16"], False),
    ],
)
def test_86_precision_comes_from_builder_flags(
    precision: Precision, method: str, flags: list[str], converts: bool
) -> None:
    settings = BuildSettings(precision=precision, int8_method=method)
    trt_config.check_settings(TRT86, settings)
    rec = _Recorder()
    notes = trt_config._apply_precision_flags(_trt86(), rec, rec, TRT86, settings, has_qdq=False)
    assert rec.flags == flags and notes == []
    assert trt_config.precision_from_onnx(TRT86, settings) is converts


def test_86_refuses_what_it_lacks_before_any_work() -> None:
    reasons = trt_config.precision_support(TRT86)
    assert "no BF16" in reasons["bf16"] and reasons["auto"] == ""
    with pytest.raises(SettingsError, match="no BF16"):
        trt_config.check_settings(TRT86, BuildSettings(precision=Precision.BF16))
    with pytest.raises(SettingsError, match="only the hardware compatibility ampere_plus"):
        trt_config.check_settings(
            TRT86, BuildSettings(hardware_compatibility="same_compute_capability")
        )
    rtx = backends.BackendInfo("rtx", "TensorRT for RTX", "tensorrt_rtx", True, "1.7", 1)
    with pytest.raises(SettingsError, match="has no INT8 calibrator"):
        trt_config.check_settings(
            rtx, BuildSettings(precision=Precision.INT8, int8_method="calibrator")
        )


def test_the_build_panel_says_86_reads_progress_from_its_log() -> None:
    (note,) = trt_config.backend_notes(TRT86)
    assert "progress bar follows the phases in its build log" in note
    assert "Cancel takes effect when TensorRT finishes" in note
    assert trt_config.backend_notes(
        backends.BackendInfo("tensorrt", "NVIDIA TensorRT", "tensorrt", True, "10.16", 10,
                             has_progress_monitor=True)
    ) == []  # fmt: skip


# -- tactic sources -------------------------------------------------------------------------------


def test_tactic_sources_env_turns_cublas_and_cudnn_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(trt_config.TACTIC_SOURCES_ENV, "-CUBLAS, -cublasLt,-CUDNN")
    rec = _Recorder()
    notes = trt_config._apply_tactic_sources(_trt86(), rec, TRT86)
    assert rec.tactic_mask == 0b11000  # only edge-mask and JIT convolutions left (bits 3, 4)
    assert notes == [
        "Tactic sources from TRTGUI_TACTIC_SOURCES: without CUBLAS, without CUBLAS_LT, "
        "without CUDNN."
    ]
    monkeypatch.setenv(trt_config.TACTIC_SOURCES_ENV, "CUBLAS")
    with pytest.raises(SettingsError, match=r"e\.g\. -CUBLAS,-CUBLAS_LT,-CUDNN; 'CUBLAS'"):
        trt_config.check_settings(TRT86, BuildSettings())
    monkeypatch.delenv(trt_config.TACTIC_SOURCES_ENV)
    assert trt_config._apply_tactic_sources(_trt86(), _Recorder(), TRT86) == []


# -- progress without IProgressMonitor ----------------------------------------------------------


def test_86_has_no_progress_monitor() -> None:
    assert make_progress_monitor(SimpleNamespace(), ProgressTracker()) is None


def _log_lines() -> list[str]:
    """A build log in TensorRT 8.6's words (the lines LogProgress keys on, as logged on the
    H200; see the real one below), for a network fused to 4 layers."""
    return [
        "[MemUsageChange] Init builder kernel library: CPU +0, GPU +0, now: CPU 0, GPU 0 (MiB)",
        "Original: 10 layers",
        "After dead-layer removal: 10 layers",
        "After concat removal: 4 layers",  # after fusion: the layers timed next
        "Constructing optimization profile number 0 [1/1].",
        "=============== Computing costs for /conv1/Conv",
        "*************** Autotuning format combination: Float(150528,50176,224,1) -> ...",
        "=============== Computing costs for /conv2/Conv",
        "=============== Computing costs for /pool/GlobalAveragePool",
        "Formats and tactics selection completed in 1.5 seconds.",
        "Total Activation Memory: 1234",
        "Engine generation completed in 2.1 seconds.",
    ]


def test_log_progress_follows_the_86_build_log() -> None:
    events: list[tuple[float, str]] = []
    tracker = ProgressTracker(lambda e: events.append((e.fraction, e.describe())))
    progress = LogProgress(tracker, num_layers=10)  # the parsed network's count, before fusion
    progress.start()
    for line in _log_lines():
        progress.feed(logging.INFO, line)
    described = [d for _, d in events]
    assert described[:2] == [
        "Building the engine (0/3)",
        "Building the engine › Optimizing the network (0/1)",
    ]
    assert "Building the engine › Timing kernels (3/4)" in described  # 3 of the 4 layers timed
    assert any(d.startswith("Building the engine › Assigning memory") for d in described)
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions)  # never goes back
    assert fractions[-1] == 1.0
    # Timing is shown complete only once TensorRT says tactic selection is done.
    done = described.index("Building the engine › Timing kernels (4/4)")
    assert described[done + 1].startswith("Building the engine › Assigning memory")


def test_log_progress_on_the_real_86_build_log_of_the_h200() -> None:
    """The VERBOSE log of the FP16 EfficientNet-Lite0 build on the H200 (TensorRT 8.6.0),
    trimmed of its per-tactic timing lines (16,597 → 917 lines; every line LogProgress reads
    is kept). Counted in the file: 52 "Computing costs for" lines after "After concat
    removal: 52 layers", so timing runs 1/52 … 52/52 and ends exactly at tactic selection."""
    lines: list[list[str]] = []
    for line in BUILD_LOG.read_text(encoding="utf-8").splitlines():
        level, tab, message = line.partition("\t")
        if tab and level.isdigit():
            lines.append([level, message])
        else:  # a message of several lines continues
            lines[-1][1] += "\n" + line
    events: list[tuple[float, str]] = []
    tracker = ProgressTracker(lambda e: events.append((e.fraction, e.describe())))
    progress = LogProgress(tracker, num_layers=115)  # the ONNX graph's layers, before fusion
    progress.start()
    for level, message in lines:
        progress.feed(int(level), message)
    described = [d for _, d in events]
    assert "Building the engine › Timing kernels (51/52)" in described
    done = described.index("Building the engine › Timing kernels (52/52)")
    assert described[done + 1].startswith("Building the engine › Assigning memory")
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_log_progress_counts_more_timed_layers_than_expected_without_finishing() -> None:
    tracker = ProgressTracker()
    progress = LogProgress(tracker, num_layers=2)
    progress.start()
    for _ in range(10):
        progress.feed(logging.INFO, "=============== Computing costs for x")
    phase = tracker.snapshot().current
    assert phase is not None and phase.name == "Timing kernels"
    assert phase.step == 1 and phase.num_steps == 2  # held one short of done


# -- the calibrator's batches ---------------------------------------------------------------------


def test_calibrator_batches_are_the_qdq_quantizers_images_at_the_calibration_shape(
    shared_models: Path, tmp_path: Path
) -> None:
    from trtgui.core import imaging
    from trtgui.core.model.int8 import Calibration, calibration_batches

    photos = shared_models / "images"
    model = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    profile = ShapeProfile(
        (InputShape("input", (1, 3, 224, 224), (4, 3, 224, 224), (8, 3, 224, 224)),)
    )
    spec = imaging.PRESETS["tflite"]
    steps: list[int] = []
    count, batches = calibration_batches(
        model, Calibration(str(photos), 64, spec, (profile,)), "input", (4, 3, 224, 224),
        on_step=lambda phase, step: steps.append(step), phase="calibrating",
    )  # fmt: skip
    got = list(batches)
    images = sorted(p for p in photos.iterdir() if p.suffix.lower() in {".png", ".jpg"})
    assert count == len(got) == -(-len(images) // 4)  # 5 photos: 2 batches of 4
    assert all(b.shape == (4, 3, 224, 224) and b.dtype == np.float32 for b in got)
    assert steps == list(range(count))
    # The same tensor the Q/DQ quantizer and the predict flow make: imaging.preprocess.
    resolved = imaging.resolve_spec(spec, (4, 3, 224, 224), "float32")
    first, _ = imaging.preprocess(imaging.load_image(images[0]), resolved)
    np.testing.assert_array_equal(got[0][0], first.reshape(3, 224, 224))
    # The last batch is filled up with its last image (TensorRT calibrates at one shape).
    np.testing.assert_array_equal(got[1][1], got[1][0])


# -- TensorRT's outputs on the H200 against ONNX Runtime -------------------------------------------


def test_real_tensorrt_outputs_pass_in_the_tasks_terms_and_int8_shows_its_loss() -> None:
    """Logits of coffee.png from the H200 (TensorRT 8.6.0 engines, TrtRunner) and from ONNX
    Runtime. The reference is checked against the shared models README first (espresso
    0.957), so the test does not lean on trtgui's own numbers."""
    from trtgui.core.predict.compare import compare_outputs

    z = np.load(LOGITS)
    ort = z["ort_coffee"]
    p = np.exp(ort[0] - ort[0].max())
    assert int(ort[0].argmax()) == 967 and round(float(p.max() / p.sum()), 3) == 0.957

    def check(name: str, precision: str, reference: np.ndarray = ort) -> Any:
        return compare_outputs({"logits": reference}, {"logits": z[name]}, precision)

    fp32, fp16 = check("trt_effnet.fp32_coffee", "fp32"), check("trt_effnet.fp16_coffee", "fp16")
    # TF32 and FP16 noise (max abs 0.010 and 0.021): outside 1e-5 / 1e-3, but they agree.
    assert fp32.passed and fp32.outputs[0].passed_by == "agreement"
    assert fp16.passed and fp16.outputs[0].cosine > 0.99999
    # INT8 from trtgui's Q/DQ model (5 calibration images): TensorRT runs the Q/DQ model
    # faithfully (cosine 0.998 to ONNX Runtime running the same Q/DQ model) ...
    assert check("trt_effnet.int8_coffee", "int8", z["ort_qdq_coffee"]).passed
    # ... and the quantization itself costs accuracy: far from FP32 (cosine 0.86), espresso
    # still first. TensorRT's own calibrator on the same images stays closer (0.979).
    qdq = check("trt_effnet.int8_coffee", "int8")
    cal = check("trt_effnet.int8cal_coffee", "int8")
    assert not qdq.passed and qdq.outputs[0].cosine < 0.9 < cal.outputs[0].cosine
    assert int(z["trt_effnet.int8_coffee"][0].argmax()) == 967
    assert int(z["trt_effnet.int8cal_coffee"][0].argmax()) == 967
