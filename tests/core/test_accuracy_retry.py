"""A broken INT8 conversion is refused, and the automatic retry says what it would take (#13):
yolov8n-doclaynet quantized the way ONNX Runtime's quantize_static does by default (every op
it knows, the output Concat included) loses every detection; with its decoding tail in float
it keeps them, and the one-line refusal gives the --int8-exclude options."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import onnx
import pytest

from trtgui.cli.main import main
from trtgui.core.build.accuracy_record import (
    BROKEN,
    OK,
    AccuracyReport,
    ConversionSample,
    RetryAttempt,
)
from trtgui.core.model import int8, qdq_placement


def ort_default_quantizer(
    model: onnx.ModelProto,
    out: Path,
    reader: object,
    placement: qdq_placement.Placement,
    scratch: Path,
    found: int,
) -> object:
    """A stand-in for trtgui's own writer: ONNX Runtime's quantize_static with its default op
    list (no op_types_to_quantize: Concat, Sigmoid, Mul, Add... all get Q/DQ), with only the
    settings FACTS.md says TensorRT needs (symmetric INT8, no INT32 bias). The excluded nodes
    are still passed on, so the retry's --int8-exclude patterns act as they would."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    from trtgui.core.model.convert_base import save_model
    from trtgui.core.model.qdq_writer import CalibrationStats

    save_model(model, scratch)
    quantize_static(
        str(scratch),
        str(out),
        reader,  # type: ignore[arg-type]
        quant_format=QuantFormat.QDQ,
        nodes_to_exclude=list(placement.excluded),
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        extra_options={"ActivationSymmetric": True, "WeightSymmetric": True, "QuantizeBias": False},
    )
    return CalibrationStats(amax={})  # no FP32 outputs kept: the check runs the original


def test_decoder_tail_of_doclaynet(shared_models: Path) -> None:
    model = onnx.load(
        str(shared_models / "onnx" / "yolov8n-doclaynet.onnx"), load_external_data=False
    )
    tail = qdq_placement.decoder_tail(model)
    # Read off the graph (Netron): output0 = Concat_3(boxes from the DFL Conv, Sigmoid of the
    # three class-score Convs cv3.*.2); those four Convs are the last compute layers.
    assert tail.after[-1] == "/model.22/Concat_3" and "/model.22/Sigmoid" in tail.after
    assert set(tail.last_compute) == {
        "/model.22/cv3.0/cv3.0.2/Conv",
        "/model.22/cv3.1/cv3.1.2/Conv",
        "/model.22/cv3.2/cv3.2.2/Conv",
        "/model.22/dfl/conv/Conv",
    }
    assert tail.last_op == "Conv"
    assert not any(n.startswith("/model.22/cv2") for n in tail.after)  # behind the DFL Conv


def test_retry_round_trips_through_the_record() -> None:
    attempt = RetryAttempt(
        what="the 16 nodes after the last Conv",
        kept_float=("/model.22/Concat_3",),
        patterns=("Sigmoid", "/model.22/Concat_3", "it's"),
        verdict=OK,
        deciding_metric="detection_f1",
        value=0.91,
    )
    report = AccuracyReport(verdict=BROKEN, retries=(attempt,))
    assert AccuracyReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    assert report.fix == attempt and attempt.figure == "F1 0.91"
    # Pasteable: the shell gives back the patterns exactly.
    assert shlex.split(attempt.flags)[1::2] == list(attempt.patterns)


@pytest.mark.slow
def test_ort_default_quantization_is_refused_and_the_retry_finds_the_fix(
    shared_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("tensorrt_rtx")
    monkeypatch.setattr(int8, "_quantize_builtin", ort_default_quantizer)
    # ONNX Runtime's default leaves the Concat's Q/DQ in place: trtgui's clean-up would remove it.
    monkeypatch.setattr(qdq_placement, "unquantize_non_compute", lambda model: False)
    source = shared_models / "onnx" / "yolov8n-doclaynet.onnx"
    images = str(shared_models / "images")
    engine = tmp_path / "doc.int8.engine"
    base = ["build", str(source), "--precision", "int8", "--calib-dir", images, "--preset", "yolo"]
    assert main([*base, "--backend", "rtx", "-o", str(engine), "--json"]) == 1
    captured = capsys.readouterr()
    err = captured.err
    # --json: the figures and the retry for scripts, as the build record would hold them.
    refused = json.loads(captured.out)["accuracy"]
    assert refused["verdict"] == BROKEN and refused["metrics"]["detection_f1"] == 0.0
    (retry,) = refused["retries"]
    assert retry["verdict"] in ("ok", "degraded") and retry["what"].startswith("the 16 nodes")
    assert "/model.22/Concat_3" in retry["patterns"] and retry["deciding_metric"] == "detection_f1"
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    line = lines[0]
    # The message: the figure first, then what it would take.
    assert line.startswith("error: INT8 keeps 0 of ") and "(F1 0.00)" in line
    # The options it gives, and the words: of the tail's 16 nodes, those not named in a flag
    # are float already (ONNX Runtime's quantizer left them so), and the message says how many.
    flags = shlex.split(line.split(": use ", 1)[1].split(", or FP16")[0])
    already = 16 - flags.count("--int8-exclude")
    assert already == 4
    assert (
        f"when the 16 nodes after the last Conv ({already} of them float already) stay in "
        "float: use --int8-exclude" in line
    )
    assert "/model.22/Concat_3" in line and line.endswith("(--accept-accuracy-loss builds anyway)")
    assert list(tmp_path.iterdir()) == []  # no engine, no record, no converted model
    # The options it gives rebuild an INT8 model the check passes: the engine is written.
    assert main([*base, "--backend", "rtx", "-o", str(engine), *flags, "--json"]) == 0
    record = json.loads(engine.with_name(engine.name + ".json").read_text())
    assert record["accuracy"]["verdict"] in ("ok", "degraded")
    assert "/model.22/Concat_3" in record["accuracy"]["excluded_nodes"]


def test_a_broken_verdict_stops_tensorrt_at_once(shared_models: Path, tmp_path: Path) -> None:
    """The check runs beside TensorRT; its broken verdict stops TensorRT's build through the
    progress monitor (no point finishing an engine that will not be written)."""
    pytest.importorskip("tensorrt_rtx")
    import logging

    from tests.core.test_accuracy import _broken, _fp16_settings
    from trtgui.core.build.builder import build_engine
    from trtgui.core.errors import EngineBuildError

    source = shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx"
    lines: list[str] = []
    with pytest.raises(EngineBuildError) as caught:
        build_engine(
            _fp16_settings(source, tmp_path / "det.engine"),
            on_log=lambda _level, message: lines.append(message),
            check_conversion=_broken,
            log_level=logging.INFO,
        )
    # The refusal is the answer, not TensorRT's "cancelled" (seen in its log).
    assert caught.value.message.startswith("FP16 agrees on 0 of 4 images (0.00): ")
    assert any("BuildCanceled" in line for line in lines)
    assert list(tmp_path.iterdir()) == []


def test_retry_plans_name_only_what_was_quantized(shared_models: Path) -> None:
    """With trtgui's own placement the tail is float already: the only retry worth trying is
    the last compute layers; with ONNX Runtime's default the tail comes first."""
    from trtgui.core.build.accuracy_step import _retry_plans
    from trtgui.core.model.precision import PreparedModel

    source = shared_models / "onnx" / "yolov8n-doclaynet.onnx"
    convs = ("/model.22/cv3.0/cv3.0.2/Conv", "/model.22/dfl/conv/Conv")
    ours = PreparedModel(source, True, "x", int8_quantized=convs)
    ((what, names),) = _retry_plans(source, ours)
    assert what == "the 4 last Conv layers and the 16 nodes after them" and names == convs
    theirs = PreparedModel(source, True, "x", int8_quantized=(*convs, "/model.22/Concat_3"))
    first, second = _retry_plans(source, theirs)
    # The words match the flags: 1 node named, the other 15 of the tail are float already.
    assert first == (
        "the 16 nodes after the last Conv (15 of them float already)",
        ("/model.22/Concat_3",),
    )
    assert second[1] == ("/model.22/Concat_3", *convs)


def test_a_cancelled_build_abandons_the_running_check(shared_models: Path, tmp_path: Path) -> None:
    """Cancel while TensorRT builds and the check runs beside it: the check stops before its
    next image (it is not waited for to the end), and nothing is written."""
    pytest.importorskip("tensorrt_rtx")
    import threading

    from tests.core.test_accuracy import _fp16_settings
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.progress import ProgressEvent
    from trtgui.core.errors import BuildCancelled
    from trtgui.core.predict.accuracy import check_conversion

    seen: list[AccuracyReport] = []

    def check_after_cancel(sample: ConversionSample) -> AccuracyReport:
        # A stand-in that starts the real check only once the build has given up on it.
        sample.abandon.wait(120)
        seen.append(check_conversion(sample))
        return seen[-1]

    cancel = threading.Event()

    def on_progress(event: ProgressEvent) -> None:
        if any(p.name == "Building engine" for p in event.phases):
            cancel.set()  # as the user's Cancel does, while TensorRT builds

    source = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    with pytest.raises(BuildCancelled):
        build_engine(
            _fp16_settings(source, tmp_path / "e.engine"),
            on_progress=on_progress,
            cancel=cancel,
            check_conversion=check_after_cancel,
        )
    (report,) = seen
    assert report.verdict == "not checked" and "the build stopped" in report.reason
    assert list(tmp_path.iterdir()) == []
