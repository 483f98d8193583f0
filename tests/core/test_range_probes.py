"""Calibration's range probes (`range_probes`): each probe's max|x| must equal NumPy's
max(|x|) of the very tensor, which the test reads as a plain graph output of the unmodified
model (the independent reference). One graph has every case: an input read through a zero
Pad by a Conv, a Relu and a Clip(0, 6) output (no negative side needed), a Conv output that
can be negative, a Pad with a non-zero value (must not be looked through), and a Gemm input
(rank 2: reductions, not pooling)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from trtgui.core.model import qdq_writer
from trtgui.core.model.range_probes import add_range_probes

RNG = np.random.default_rng(7)


def _model() -> onnx.ModelProto:
    w1 = RNG.normal(size=(4, 3, 3, 3)).astype(np.float32)
    w2 = RNG.normal(size=(4, 4, 1, 1)).astype(np.float32)
    w3 = RNG.normal(size=(4, 4, 3, 3)).astype(np.float32)
    wg = RNG.normal(size=(4, 5)).astype(np.float32)
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["x_pad"], mode="constant"),
        helper.make_node("Conv", ["x_pad", "w1"], ["c1"]),  # c1 can be negative
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"]),  # reads a Relu output
        helper.make_node("Constant", [], ["lo"], value=numpy_helper.from_array(np.float32(0))),
        helper.make_node("Constant", [], ["hi"], value=numpy_helper.from_array(np.float32(6))),
        helper.make_node("Clip", ["c2", "lo", "hi"], ["k2"]),
        helper.make_node("Conv", ["k2", "w2"], ["c3"]),  # reads a Clip(0, 6) output
        # Pad with the value 9: max|x| of its output is not its input's.
        helper.make_node("Pad", ["c3", "pads", "nine"], ["c3_pad"], mode="constant"),
        helper.make_node("Conv", ["c3_pad", "w3"], ["c4"]),
        helper.make_node("Conv", ["c1", "w2"], ["c5"]),  # c1 read directly too
        helper.make_node("GlobalAveragePool", ["c5"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wg"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "probes",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 5]),
            helper.make_tensor_value_info("c4", TensorProto.FLOAT, ["n", 4, 8, 8]),
        ],
        [
            numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"),
            numpy_helper.from_array(np.float32(9.0), "nine"),
            numpy_helper.from_array(w1, "w1"),
            numpy_helper.from_array(w2, "w2"),
            numpy_helper.from_array(w3, "w3"),
            numpy_helper.from_array(wg, "wg"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


PROBED = ("x_pad", "r1", "k2", "c3_pad", "c1", "f")


def _run(model: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in model.graph.output]
    return dict(zip(names, session.run(None, {"x": x}), strict=True))


def _exposed(model: onnx.ModelProto, names: tuple[str, ...]) -> onnx.ModelProto:
    plain = onnx.ModelProto()
    plain.CopyFrom(model)
    for name in names:
        plain.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    return plain


def test_each_probe_gives_numpy_max_abs_of_its_tensor() -> None:
    model = _model()
    x = RNG.normal(scale=3.0, size=(2, 3, 8, 8)).astype(np.float32)
    reference = _run(_exposed(model, PROBED), x)
    probed = onnx.ModelProto()
    probed.CopyFrom(model)
    probes = add_range_probes(probed, PROBED)
    onnx.checker.check_model(probed)
    values = _run(probed, x)
    for probe in probes:
        expected = float(np.abs(reference[probe.tensor]).max())
        assert probe.amax(values) == expected, probe  # exact: max is max
    by_tensor = {p.tensor: p for p in probes}
    # Where each was measured: the zero Pad is looked through (its input x), the non-zero
    # Pad is not; non-negative tensors get no negative side; rank 2 uses reductions.
    assert by_tensor["x_pad"].high.startswith("x__") and by_tensor["x_pad"].negated_high
    assert by_tensor["c3_pad"].high.startswith("c3_pad__")
    assert by_tensor["r1"].negated_high is None and by_tensor["k2"].negated_high is None
    assert by_tensor["c1"].negated_high is not None
    assert by_tensor["f"].low is not None and by_tensor["f"].negated_high is None
    ops = {n.op_type for n in probed.graph.node[len(model.graph.node) :]}
    assert ops == {"GlobalMaxPool", "Neg", "ReduceMax", "ReduceMin"}


def test_two_tensors_with_one_source_share_a_probe() -> None:
    model = _model()
    probed = onnx.ModelProto()
    probed.CopyFrom(model)
    # x_pad is measured at x: probing both must add x's probe once (one producer per name).
    probes = add_range_probes(probed, ("x_pad", "x"))
    onnx.checker.check_model(probed)
    assert probes[0].high == probes[1].high
    assert [p.tensor for p in probes] == ["x_pad", "x"]


def test_calibration_over_images_is_the_max_over_them(tmp_path: Path) -> None:
    model = _model()
    images = [RNG.normal(scale=s, size=(1, 3, 8, 8)).astype(np.float32) for s in (1.0, 4.0)]
    feeds = iter([(f"{i}.png", {"x": a}) for i, a in enumerate(images)])
    stats = qdq_writer.calibrate(model, PROBED, feeds, tmp_path / "aug.onnx")
    exposed = _exposed(model, PROBED)
    for name in PROBED:
        expected = max(float(np.abs(_run(exposed, a)[name]).max()) for a in images)
        assert stats.amax[name] == expected, name
