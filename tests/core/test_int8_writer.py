"""trtgui's own INT8 calibration and Q/DQ writer (`qdq_writer`), checked by hand on a tiny
1x1 Conv, and the precision check's near-tie rule for top-1 classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from trtgui.core.model import qdq_placement, qdq_writer
from trtgui.core.predict.accuracy import _Pair, compare_pairs
from trtgui.core.predict.decoders.base import ClassScore, Prediction

# A 1x1 Conv, 2 input channels -> 2 output channels, by hand:
# out[0] = 1.0*x0 + 0.5*x1 + 0.1, out[1] = -0.25*x0 + 0.0*x1 - 0.2
WEIGHT = np.array([[[[1.0]], [[0.5]]], [[[-0.25]], [[0.0]]]], dtype=np.float32)
BIAS = np.array([0.1, -0.2], dtype=np.float32)


def _conv_model() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv")],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2, 2, 2])],
        [numpy_helper.from_array(WEIGHT, "w"), numpy_helper.from_array(BIAS, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


def _feeds() -> list[tuple[str, dict[str, np.ndarray]]]:
    a = np.zeros((1, 2, 2, 2), np.float32)
    a[0, 0, 0, 0] = 2.54  # the largest |value| of x over both images
    b = np.full((1, 2, 2, 2), -1.0, np.float32)
    b[0, 1, 1, 1] = 0.3
    return [("a.png", {"x": a}), ("b.png", {"x": b})]


def test_calibration_ranges_and_kept_outputs(tmp_path: Path) -> None:
    model = _conv_model()
    assert qdq_writer.activation_inputs(model, ["conv"]) == ("x",)
    stats = qdq_writer.calibrate(model, ["x"], iter(_feeds()), tmp_path / "aug.onnx")
    assert stats.images == 2 and stats.amax["x"] == np.float32(2.54)
    # The FP32 outputs kept per image, with the digest of the very feed.
    a_digest, a_outputs = stats.reference["a.png"]
    assert a_digest == qdq_writer.feed_digest(_feeds()[0][1]["x"])
    # By hand: at pixel (0,0) of image a, out[0] = 2.54 + 0.1, out[1] = -0.635 - 0.2.
    np.testing.assert_allclose(a_outputs["y"][0, :, 0, 0], [2.64, -0.835], rtol=1e-6)
    assert a_outputs["y"].shape == (1, 2, 2, 2)
    assert list(tmp_path.iterdir()) == []  # the augmented model is removed


def test_qdq_on_the_conv_inputs_by_hand(tmp_path: Path) -> None:
    model = _conv_model()
    done = qdq_writer.insert_qdq(model, ["conv"], {"x": 2.54})
    assert done == ("conv",) and qdq_placement.quantized_nodes(model) == ("conv",)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    # Activation: one symmetric scale, 2.54 / 127 = 0.02, zero point 0.
    (x_scale,) = [v for k, v in inits.items() if k == "x_scale"]
    assert np.isclose(x_scale, 0.02) and inits["x_zero_point"] == 0
    # Weights: per output channel, max|w| / 127 -> 1/127 and 0.25/127; int8 by rounding.
    w_scale = inits["w_axis0_scale"]
    np.testing.assert_allclose(w_scale, [1 / 127, 0.25 / 127], rtol=1e-6)
    np.testing.assert_array_equal(inits["w_axis0_quantized"].reshape(2, 2), [[127, 64], [-127, 0]])
    assert "w" not in inits and inits["b"].dtype == np.float32  # the bias stays float
    dq = next(n for n in model.graph.node if n.output == ["w_axis0_dequantized"])
    assert helper.get_attribute_value(dq.attribute[0]) == 0  # per-channel axis 0
    onnx.checker.check_model(model)
    # ONNX Runtime on the Q/DQ model = the by-hand quantized arithmetic: x rounded to steps
    # of 0.02, weights to 1/127 and 0.25/127 steps (0.5 -> 64/127).
    x = _feeds()[0][1]["x"]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": x})
    xq = np.clip(np.rint(x / 0.02), -127, 127) * 0.02
    wq = np.array([[1.0, 64 / 127], [-0.25, 0.0]], np.float32)
    expected = np.einsum("oc,nchw->nohw", wq, xq) + BIAS[None, :, None, None]
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def _classes(*scores: tuple[int, float]) -> Prediction:
    return Prediction("classification", classes=tuple(ClassScore(i, f"c{i}", s) for i, s in scores))


def test_a_near_tie_of_the_original_counts_as_agreement() -> None:
    # The FP32 model's own top two within 0.01 (EfficientNet-Lite0 on chelsea.png: tiger cat
    # 0.379, tabby 0.375, computed in the shared README's way): either pick agrees.
    tie = _Pair("tie.png", _classes((282, 0.379), (285, 0.375)), _classes((285, 0.38)), {}, {})
    # A clear winner (espresso 0.957): another class is a real disagreement.
    clear = _Pair("cup.png", _classes((967, 0.957), (968, 0.014)), _classes((968, 0.6)), {}, {})
    figures = compare_pairs([tie, clear], "INT8")
    assert figures.metrics["top1_agreement"] == 0.5  # the tie agrees, the cup does not
    assert figures.metrics["top1_identical"] == 0.0
    assert "1 of them FP32 near-ties" in figures.summary


def _residual_model() -> onnx.ModelProto:
    """x -> conv -> y = conv(x) + x (a residual block), and z = y + c (a constant offset) and
    w = x + x (no Conv before it): only the first Add is a residual Add."""
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w", "b"], ["c1"], name="conv"),
            helper.make_node("Add", ["c1", "x"], ["y"], name="residual"),
            helper.make_node("Add", ["y", "offset"], ["z"], name="offset_add"),
            helper.make_node("Add", ["x", "x"], ["u"], name="plain_add"),
        ],
        "residual",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, 2, 2])],
        [
            helper.make_tensor_value_info("z", TensorProto.FLOAT, ["n", 2, 2, 2]),
            helper.make_tensor_value_info("u", TensorProto.FLOAT, ["n", 2, 2, 2]),
        ],
        [
            numpy_helper.from_array(WEIGHT, "w"),
            numpy_helper.from_array(BIAS, "b"),
            numpy_helper.from_array(np.float32(0.5), "offset"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


def test_the_skip_input_of_a_residual_add_is_quantized(tmp_path: Path) -> None:
    model = _residual_model()
    placement = qdq_placement.plan_placement(model, [], "residual.onnx")
    # NVIDIA's residual rule: the Add after the quantized Conv gets its other input quantized;
    # an Add of a constant, or one with no Conv before it, does not.
    assert placement.quantize == ("conv",) and placement.residual == (("residual", 1),)
    assert qdq_placement.plan_placement(model, [], "r", residual=False).residual == ()
    assert qdq_writer.activation_inputs(model, placement.quantize, placement.residual) == ("x",)
    done = qdq_writer.insert_qdq(model, placement.quantize, {"x": 2.54}, placement.residual)
    assert done == ("conv", "residual")
    onnx.checker.check_model(model)
    add = next(n for n in model.graph.node if n.name == "residual")
    conv = next(n for n in model.graph.node if n.name == "conv")
    # One Q/DQ pair serves both readers of x: the Conv and the residual Add.
    assert add.input[1] == conv.input[0] == "x_dequantized" and add.input[0] == "c1"
    plain = next(n for n in model.graph.node if n.name == "plain_add")
    assert list(plain.input) == ["x", "x"]  # not a residual Add: reads the float value
    # By hand: the Add reads x rounded to steps of 2.54 / 127 = 0.02.
    x = _feeds()[0][1]["x"] + 0.013  # 0.013 rounds to 0.02, 2.553 clips to 2.54
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    z, u = session.run(None, {"x": x})
    xq = np.clip(np.rint(x / 0.02), -127, 127) * 0.02
    wq = np.array([[1.0, 64 / 127], [-0.25, 0.0]], np.float32)
    conv_q = np.einsum("oc,nchw->nohw", wq, xq) + BIAS[None, :, None, None]
    np.testing.assert_allclose(z, conv_q + xq + 0.5, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(u, 2 * x, rtol=1e-6)


def test_the_check_runs_qdq_as_the_onnx_operators_define_it(
    tmp_path: Path, shared_models: Path
) -> None:
    """trtgui's ONNX Runtime sessions (OrtRunner: the precision check, and predict/run on an
    INT8 engine's Q/DQ model) must compute a Q/DQ model as its operators define it, which is
    what TensorRT computes. The independent
    reference is ONNX Runtime with every graph optimization off: each QuantizeLinear,
    DequantizeLinear and Conv runs its own reference kernel. (ONNX Runtime's default session
    fuses Q/DQ into its own INT8 kernels; on this project's CPU machines that moved
    EfficientNet-Lite0's first depthwise Conv output by up to 2.5 and the logits' cosine to
    FP32 to 0.63-0.79, while TensorRT's engine on the H200 kept 0.977-0.98:
    bench/results/gpu_int8_placement.json.)"""
    from trtgui.core.engine.runners import OrtRunner
    from trtgui.core.imaging import guess_preprocess, load_image, preprocess, resolve_spec
    from trtgui.core.model.int8 import Calibration, quantize_int8
    from trtgui.core.model.onnx_model import inspect_onnx
    from trtgui.core.predict.accuracy import CHECK_SESSION

    source = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    quantized = tmp_path / "e.int8.onnx"
    quantize_int8(source, quantized, calibration=Calibration(str(shared_models / "images")))
    spec = resolve_spec(guess_preprocess(inspect_onnx(source)), (1, 3, 224, 224), "float32")
    x, _ = preprocess(load_image(shared_models / "images" / "coffee.png"), spec)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    plain = ort.InferenceSession(str(quantized), options, providers=["CPUExecutionProvider"])
    (reference,) = plain.run(None, {"input": x})
    with OrtRunner(quantized, session_config=CHECK_SESSION) as runner:
        logits = runner.run({"input": x})["logits"]
    # Not bit-equal: a float sum in another order can move a value across a rounding step of
    # the next QuantizeLinear (TensorRT too). Measured: cosine 0.999-1.000 on the 5 shared
    # photos; ONNX Runtime's default session 0.68-0.80 against the same reference.
    cosine = float((logits * reference).sum() / np.linalg.norm(logits) / np.linalg.norm(reference))
    assert cosine >= 0.998, cosine
    assert int(np.argmax(logits)) == int(np.argmax(reference))


@pytest.mark.parametrize("workers", [1, 3])
def test_calibration_images_are_read_in_order_however_many_threads_read_them(
    workers: int, tmp_path: Path, shared_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several threads read the calibration images ahead where cores are to spare
    (`int8.decode_workers`): the feeds come in the folder's order, each the image's own
    preprocessing (checked against reading it alone), and a broken image still stops
    calibration with its name."""
    from trtgui.core import imaging
    from trtgui.core.errors import SettingsError
    from trtgui.core.model import int8

    monkeypatch.setattr(int8, "decode_workers", lambda: workers)
    photos = sorted(p for p in (shared_models / "images").iterdir())
    spec = imaging.resolve_spec(imaging.PRESETS["tflite"], (1, 3, 224, 224), "float32")
    steps: list[int] = []
    reader = int8._ImageReader(photos, "x", spec, 1, None, lambda _p, n: steps.append(n), "c")
    got = list(reader.feeds())
    assert [name for name, _ in got] == [str(p) for p in photos]
    assert steps == list(range(len(photos))) and reader.count == len(photos)
    for photo, (_name, feed) in zip(photos, got, strict=True):
        alone, _ = imaging.preprocess(imaging.load_image(photo), spec)
        np.testing.assert_array_equal(feed["x"], alone.reshape(feed["x"].shape))
    broken = tmp_path / "b.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not a picture")
    reader = int8._ImageReader([*photos[:2], broken, photos[3]], "x", spec, 1, None, None, "c")
    with pytest.raises(SettingsError, match=r"cannot use b\.png from the calibration folder"):
        list(reader.feeds())
