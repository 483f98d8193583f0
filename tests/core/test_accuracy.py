"""The precision check (#13): a converted model is compared with the original by ONNX Runtime,
decoded by predict's decoders, before TensorRT builds; a broken one writes no engine."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from trtgui.cli.main import main
from trtgui.core.build.accuracy_record import (
    BROKEN,
    OK,
    AccuracyReport,
    ConversionSample,
    held_back,
    verdict_for,
)
from trtgui.core.build.builder import build_engine
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import EngineBuildError
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.model.profiles import Precision, suggest_profiles
from trtgui.core.predict.accuracy import check_conversion, edit_distance

# -- the figures, by hand --------------------------------------------------------------------


def test_edit_distance_by_hand() -> None:
    # Hand count: kitten → sitten (k→s) → sittin (e→i) → sitting (+g) = 3 edits.
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0


def test_verdict_thresholds_follow_the_table() -> None:
    # The table in accuracy_record's docstring (and the README).
    assert verdict_for("top1_agreement", 0.99) == OK
    assert verdict_for("top1_agreement", 0.95) == "degraded"
    assert verdict_for("detection_f1", 0.69) == BROKEN
    assert verdict_for("character_error_rate", 0.01) == OK
    assert verdict_for("character_error_rate", 0.5) == BROKEN


def test_few_images_are_all_reused_many_are_split() -> None:
    few = [Path(f"{i}.png") for i in range(8)]
    assert held_back(few) == (tuple(few), tuple(few))
    many = [Path(f"{i}.png") for i in range(12)]
    calib, check = held_back(many)
    assert check == (many[3], many[7], many[11]) and not set(calib) & set(check)


# -- a real broken conversion: ORT's default Q/DQ on doclaynet's output Concat -----------------


def _quantize_output(source: Path, out: Path, scale: float) -> None:
    """What ONNX Runtime's default quantization does to the detector (issue #13): one int8
    Q/DQ pair on the graph output, whose box pixels set the scale for the class scores too."""
    model = onnx.load(str(source))
    name = model.graph.output[0].name
    producer = next(n for n in model.graph.node if name in n.output)
    producer.output[list(producer.output).index(name)] = f"{name}_float"
    model.graph.initializer.extend(
        [
            helper.make_tensor("out_scale", TensorProto.FLOAT, [], [scale]),
            helper.make_tensor("out_zp", TensorProto.INT8, [], [0]),
        ]
    )
    model.graph.node.extend(
        [
            helper.make_node("QuantizeLinear", [f"{name}_float", "out_scale", "out_zp"], ["q"]),
            helper.make_node("DequantizeLinear", ["q", "out_scale", "out_zp"], [name]),
        ]
    )
    onnx.save(model, str(out))


def test_doclaynet_with_a_quantized_output_is_broken(shared_models: Path, tmp_path: Path) -> None:
    source = shared_models / "onnx" / "yolov8n-doclaynet.onnx"
    broken = tmp_path / "doclaynet.qdq-output.onnx"
    # Symmetric int8 scale for box pixels in a 1024 input: 1024 / 127 ≈ 8.06, so every class
    # score (0..1) rounds to 0 — the failure the issue measured (scale 5.03 on YOLOv3-tiny).
    _quantize_output(source, broken, 1024 / 127)
    images = tuple(shared_models / "images" / n for n in ("page.png", "coffee.png"))
    report = check_conversion(
        ConversionSample(source, broken, "int8", images=images, images_note="2 images")
    )
    assert report.verdict == BROKEN and report.task == "detection"
    assert report.metrics["converted_boxes"] == 0
    # The shared README's reference results: page.png has 2 boxes, coffee.png 1 (at 0.3).
    assert report.metrics["reference_boxes"] >= 3
    assert report.metrics["detection_f1"] == 0.0
    assert report.summary.startswith("INT8 keeps 0 of ")
    assert "detections of the FP32 model on 2 images (F1 0.00)" in report.summary
    assert {name for name, _ in report.worst_images} == {"page.png", "coffee.png"}


def test_a_model_onnx_runtime_cannot_load_is_not_checked(
    shared_models: Path, tmp_path: Path
) -> None:
    source = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx file")
    report = check_conversion(ConversionSample(source, bad, "bf16"))
    assert report.verdict == "not checked"
    assert "converted model" in report.reason and report.summary.startswith("The BF16 model")


# -- through the build ------------------------------------------------------------------------


def _fp16_settings(source: Path, out: Path, **changes: object) -> BuildSettings:
    info = inspect_onnx(source)
    return BuildSettings(
        onnx_path=str(source),
        output_path=str(out),
        backend="rtx",
        precision=Precision.FP16,
        profiles=suggest_profiles(info),
    ).with_changes(**changes)


def _broken(sample: ConversionSample) -> AccuracyReport:
    # A stand-in check (the real one is tested above): its verdict is what the builder acts on.
    return AccuracyReport(verdict=BROKEN, summary="FP16 agrees on 0 of 4 images (0.00)")


def test_a_broken_verdict_writes_no_engine(shared_models: Path, tmp_path: Path) -> None:
    source = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    out = tmp_path / "e.engine"
    with pytest.raises(EngineBuildError) as caught:
        build_engine(_fp16_settings(source, out), check_conversion=_broken)
    assert caught.value.message.startswith("FP16 agrees on 0 of 4 images (0.00): ")
    assert "--accept-accuracy-loss" in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_accept_accuracy_loss_builds_and_records_it(shared_models: Path, tmp_path: Path) -> None:
    source = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    out = tmp_path / "e.engine"
    result = build_engine(
        _fp16_settings(source, out), check_conversion=_broken, accept_accuracy_loss=True
    )
    record = json.loads(result.sidecar_path.read_text())
    assert record["accuracy"]["verdict"] == BROKEN and record["accuracy"]["accepted_loss"]
    assert AccuracyReport.from_dict(record["accuracy"]) == replace(
        _broken(ConversionSample(source, source, "fp16")), accepted_loss=True
    )


def test_fp16_efficientnet_is_ok_with_figures_in_the_record(
    shared_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    out = tmp_path / "e16.engine"
    images = str(shared_models / "images")
    code = main(
        [
            "build",
            str(source),
            "--precision",
            "fp16",
            "-o",
            str(out),
            "--calib-dir",
            images,
            "--json",
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    record = json.loads((tmp_path / "e16.engine.json").read_text())
    accuracy = record["accuracy"]
    assert printed["accuracy"] == accuracy
    # The issue: FP16 of EfficientNet-Lite0 is "ok". Every shared photo's top-1 class must
    # agree (a ≥ 0.99 agreement on 5 images means all 5).
    assert accuracy["verdict"] == OK and accuracy["task"] == "classification"
    assert accuracy["samples"] == 5 and accuracy["metrics"]["top1_agreement"] == 1.0
    assert accuracy["metrics"]["cosine_similarity"] >= 0.999
    assert {"top5_overlap", "max_relative_error", "mean_relative_error"} <= set(accuracy["metrics"])


def test_fp16_without_images_checks_seeded_random_pictures(
    shared_models: Path, tmp_path: Path
) -> None:
    source = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    converted = tmp_path / "e.fp16.onnx"
    from trtgui.core.model.precision import convert_float

    path, _method = convert_float(source, tmp_path, Precision.FP16)
    path.rename(converted)
    first = check_conversion(ConversionSample(source, converted, "fp16"))
    again = check_conversion(ConversionSample(source, converted, "fp16"))
    assert first.samples == 4 and "seeded random pictures" in first.samples_note
    assert first.metrics == again.metrics  # seeded: the same inputs each time
    assert first.metrics["cosine_similarity"] >= 0.99


# -- the visual check runs what was built ------------------------------------------------------


def test_predict_on_an_int8_engine_runs_its_qdq_model(
    made_models, shared_models: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    from trtgui.core.imaging import load_image, preprocess
    from trtgui.core.predict.flow import run_prediction

    source = made_models["static_conv"].path
    out = tmp_path / "s8.engine"
    images = str(shared_models / "images")
    code = main(
        ["build", str(source), "--precision", "int8", "-o", str(out), "--calib-dir", images]
    )
    assert code == 0
    qdq = tmp_path / "s8.int8.onnx"  # kept beside the engine by default
    assert qdq.is_file()
    record = json.loads((tmp_path / "s8.engine.json").read_text())
    assert Path(record["converted_onnx_path"]).name == qdq.name
    # Five photos are too few to hold some back: all are reused, and the record says so.
    assert record["accuracy"]["samples"] == 5
    assert record["accuracy"]["samples_note"].startswith("all 5 calibration images reused")
    photo = shared_models / "images" / "coffee.png"
    report = run_prediction(out, photo, compare=False)
    assert report.onnx_path == qdq
    assert any(f"the INT8 model the engine was built from ({qdq})" in n for n in report.notes)
    # Independent run: ONNX Runtime on the Q/DQ file with the very input predict fed, every
    # graph optimization off (each Q, DQ and Conv its reference kernel: what the operators
    # define and TensorRT computes). Not bit-equal: trtgui's session fuses float ops.
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(qdq), options, providers=["CPUExecutionProvider"])
    tensor, _box = preprocess(load_image(photo), report.spec)
    (expected,) = session.run(None, {report.input_name: tensor})
    (got,) = report.outputs.values()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_an_engine_that_fails_at_its_own_min_shape_is_not_written(
    shared_models: Path, tmp_path: Path
) -> None:
    from trtgui.core.model.profiles import InputShape, ShapeProfile

    source = shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx"
    # 33×33 is no multiple of 32: TensorRT-RTX 1.7 builds the engine but warns "Profile kMIN
    # values are not self-consistent" at an Add of the FPN (seen running it).
    profile = ShapeProfile((InputShape("x", (1, 3, 33, 33), (1, 3, 64, 64), (1, 3, 64, 64)),))
    settings = BuildSettings(
        onnx_path=str(source),
        output_path=str(tmp_path / "det.engine"),
        backend="rtx",
        profiles=(profile,),
    )
    with pytest.raises(EngineBuildError) as caught:
        build_engine(settings)
    message = caught.value.message
    assert message.startswith("TensorRT says the engine would fail at its own profile")
    assert "(min shape: x 1x3x33x33)" in message and "no engine was written" in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def _efficientnet_int8_record(
    shared_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, Any]:
    """`trtgui-cli build` of EfficientNet-Lite0 in INT8 on the shared photos: its record."""
    source = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    images = str(shared_models / "images")
    out = tmp_path / "e8.engine"
    argv = ["build", str(source), "--precision", "int8", "--calib-dir", images, "-o", str(out)]
    assert main([*argv, *extra]) == 0, capsys.readouterr().err
    record: dict[str, Any] = json.loads((tmp_path / "e8.engine.json").read_text())
    return record


def _graph_counts(shared_models: Path) -> Counter[str]:
    """EfficientNet-Lite0's own graph, read with onnx (not trtgui): its op types, and how
    many of its nodes are the blocks' projection Convs."""
    import onnx

    graph = onnx.load(
        str(shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"), load_external_data=False
    ).graph
    counts = Counter(node.op_type for node in graph.node)
    counts["project_conv"] = sum(node.name.endswith("_project_conv/Conv") for node in graph.node)
    return counts


def test_int8_efficientnet_is_not_broken_with_the_default_placement(
    shared_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The default placement quantizes every compute layer and the residual Adds' skip inputs
    # (qdq_placement): on the H200 that engine computed in 0.289 ms at batch 1 against
    # 0.296 ms for FP16 (bench/results/gpu_int8_placement.json), and the build is not refused.
    record = _efficientnet_int8_record(shared_models, tmp_path, capsys)
    accuracy = record["accuracy"]
    assert accuracy["verdict"] in (OK, "degraded"), accuracy["summary"]
    assert accuracy["excluded_nodes"] == []
    # The counts come from the graph itself: 49 Convs + 1 Gemm, and 9 Adds, all of them the
    # residual Adds of EfficientNet-Lite0's blocks (each adds a block's input to its output).
    counts = _graph_counts(shared_models)
    compute, adds = counts["Conv"] + counts["Gemm"], counts["Add"]
    assert (compute, adds) == (50, 9)
    (note,) = [n for n in record["notes"] if n.startswith("Calibrated on")]
    assert (
        f"{compute} compute layer(s) and {adds} residual Add(s) quantized, 0 node(s) kept" in note
    )
    assert not any("slower than FP16" in n for n in record["notes"]), record["notes"]
    # The shared README: coffee.png is espresso at 0.957 in FP32, so no near-tie: must agree.
    assert accuracy["worst_images"] == [] or "coffee.png" not in dict(accuracy["worst_images"])
    assert accuracy["metrics"]["top1_agreement"] >= 0.9
    assert accuracy["metrics"]["cosine_similarity"] >= 0.95


def test_int8_with_many_compute_layers_kept_float_says_it_may_be_slow(
    shared_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The 16 projection Convs kept in float by the user: on the H200 that placement computed
    # in 0.932 ms at batch 1 against 0.296 ms for FP16 (bench/results/gpu_int8_placement.json,
    # variant v0): the build says the engine may be slower than FP16.
    record = _efficientnet_int8_record(
        shared_models, tmp_path, capsys, "--int8-exclude", "*_project_conv/Conv"
    )
    counts = _graph_counts(shared_models)  # 16 blocks, one projection Conv each
    kept, compute = counts["project_conv"], counts["Conv"] + counts["Gemm"]
    assert (kept, compute) == (16, 50)
    (caution,) = [n for n in record["notes"] if "slower than FP16" in n]
    assert f"{kept} of {compute} compute layers stay in float between INT8 ones" in caution
    assert "/_blocks.15/_project_conv/Conv" in record["accuracy"]["excluded_nodes"]


def test_a_refused_build_keeps_the_converted_model_only_with_keep_onnx(
    shared_models: Path, tmp_path: Path
) -> None:
    source = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    out = tmp_path / "e.engine"
    settings = _fp16_settings(source, out, keep_converted_onnx=True)
    with pytest.raises(EngineBuildError):
        build_engine(settings, check_conversion=_broken)
    # For inspection: the converted model, and still no engine and no record.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.fp16.onnx"]
