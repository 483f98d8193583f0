"""Model preparation for FP16 / BF16 / INT8 (ONNX-level; builds are in test_build.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto

from trtgui.core.errors import SettingsError
from trtgui.core.model import convert_base, graph_check, precision
from trtgui.core.model.precision import Calibration
from trtgui.core.model.profiles import Precision


def run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]  # type: ignore[no-any-return]


def elem_types(model: onnx.ModelProto) -> set[int]:
    return {t.data_type for t in model.graph.initializer}


def test_fp16_keeps_io_types_and_values(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = made_models["static_conv"].path
    out, method = precision.convert_float(src, tmp_path, Precision.FP16)
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert "fp16" in method
    assert elem_types(model) == {TensorProto.FLOAT16}
    assert model.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT
    x = np.random.default_rng(1).standard_normal((1, 3, 16, 16)).astype(np.float32)
    np.testing.assert_allclose(run(out, x), run(src, x), atol=2e-3, rtol=1e-2)


def test_bf16_retypes_everything(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, method = precision.convert_float(
        made_models["dynamic_batch"].path, tmp_path, Precision.BF16
    )
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert "bf16" in method
    assert elem_types(model) == {TensorProto.BFLOAT16}
    casts = [a.i for n in model.graph.node if n.op_type == "Cast" for a in n.attribute]
    assert TensorProto.BFLOAT16 in casts and TensorProto.FLOAT16 not in casts
    assert model.graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT


def test_bf16_rounding() -> None:
    values = np.array([1.0, -2.0, 1.0 + 2**-9, 3.0e38, np.nan], dtype=np.float32)
    bits = precision.float_to_bf16_bits(values)
    assert bits[0] == 0x3F80 and bits[1] == 0xC000
    assert bits[2] == 0x3F80  # halfway rounds to even
    assert bits[4] == 0x7FC0


def test_prepare_fp32_and_existing_qdq(made_models, tmp_path: Path, shared_models) -> None:  # type: ignore[no-untyped-def]
    src = made_models["static_conv"].path
    assert precision.prepare_model(src, Precision.FP32, tmp_path) == precision.PreparedModel(
        src, False, "as is"
    )
    q = precision.prepare_model(
        src, Precision.INT8, tmp_path, calibration=Calibration(str(shared_models / "images"))
    )
    assert q.converted and graph_check.has_qdq(q.path)
    # The record says so itself, with the files a "keep the converted model" copies.
    assert q.has_qdq and q.files == (q.path,)
    again = precision.prepare_model(q.path, Precision.FP16, tmp_path)
    assert not again.converted and "Q/DQ" in again.note
    assert again.has_qdq and again.files == ()
    # A caller that ran the graph pre-check passes its answer: the file is not read again.
    told = precision.prepare_model(src, Precision.AUTO, tmp_path, has_qdq=True)
    assert told == precision.PreparedModel(src, False, "as is", has_qdq=True)


def test_int8_from_ir14_model(made_models, tmp_path: Path, shared_models) -> None:  # type: ignore[no-untyped-def]
    model = onnx.load(str(made_models["dynamic_batch"].path))
    model.ir_version = 14  # what onnx 1.23 writes; onnxruntime 1.31 refuses > 13
    src = tmp_path / "ir14.onnx"
    onnx.save(model, str(src))
    steps: list[tuple[str, int]] = []
    prepared = precision.prepare_model(
        src,
        Precision.INT8,
        tmp_path,
        calibration=Calibration(str(shared_models / "images"), max_images=2),
        on_step=lambda name, step: steps.append((name, step)),
    )
    assert prepared.calibration_images == 2 and len(steps) == 2
    quantized = onnx.load(str(prepared.path))
    ops = {n.op_type for n in quantized.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    # Bias stays float (TensorRT rejects INT32 biases); zero points are symmetric (0).
    zps = [
        onnx.numpy_helper.to_array(t)
        for t in quantized.graph.initializer
        if t.name.endswith("_zero_point")
    ]
    assert zps and all(int(np.abs(z).max()) == 0 for z in zps)
    x = np.zeros((1, 3, 16, 16), np.float32)
    assert run(prepared.path, x).shape == (1, 8)


def test_int8_needs_images(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = made_models["static_conv"].path
    with pytest.raises(SettingsError, match="calibration images"):
        precision.prepare_model(src, Precision.INT8, tmp_path)
    with pytest.raises(SettingsError, match="calibration images"):
        precision.prepare_model(src, Precision.INT8, tmp_path, calibration=Calibration(""))
    with pytest.raises(SettingsError, match="no images"):
        precision.prepare_model(
            src, Precision.INT8, tmp_path, calibration=Calibration(str(tmp_path))
        )
    (tmp_path / "a.png").write_bytes(b"")
    with pytest.raises(SettingsError, match="one image input"):
        precision.prepare_model(
            made_models["multi_io"].path,
            Precision.INT8,
            tmp_path,
            calibration=Calibration(str(tmp_path)),
        )


def test_lower_ir_version() -> None:
    model = onnx.helper.make_model(
        onnx.helper.make_graph([], "g", [], []),
        opset_imports=[onnx.helper.make_opsetid("", 17)],
    )
    model.ir_version = 14
    assert convert_base.lower_ir_version(model) and model.ir_version == 10
    assert not convert_base.lower_ir_version(model)
