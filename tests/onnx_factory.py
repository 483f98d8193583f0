"""Small ONNX models generated for tests, each with its expected I/O.

Every factory writes `<tmp>/<name>.onnx` and returns a `MadeModel` with the path and the
inputs/outputs the inspector should report (shape entries: int = static, str = symbolic,
None = unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # onnxruntime accepts up to IR 13; keep generated models loadable everywhere

Dim = int | str | None


@dataclass(frozen=True)
class ExpectedTensor:
    name: str
    dtype: str
    shape: tuple[Dim, ...]


@dataclass(frozen=True)
class MadeModel:
    path: Path
    inputs: tuple[ExpectedTensor, ...]
    outputs: tuple[ExpectedTensor, ...]
    ops: dict[str, int]


def _vi(name: str, elem: int, shape: tuple[Dim, ...]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, list(shape))


def _save(model: onnx.ModelProto, path: Path, **kwargs: object) -> None:
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, str(path), **kwargs)  # type: ignore[arg-type]


def _conv_relu_graph(
    batch: Dim, name: str, channels: int = 8, hw: tuple[Dim, Dim] = (16, 16)
) -> tuple[onnx.GraphProto, dict[str, int]]:
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(
        rng.standard_normal((channels, 3, 3, 3)).astype(np.float32) * 0.1, "w"
    )
    b = numpy_helper.from_array(np.zeros(channels, np.float32), "b")
    nodes = [
        helper.make_node("Conv", ["input", "w", "b"], ["conv"], name="conv0", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu0"),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"], name="pool0"),
        helper.make_node("Flatten", ["pool"], ["output"], name="flatten0"),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [_vi("input", TensorProto.FLOAT, (batch, 3, *hw))],
        [_vi("output", TensorProto.FLOAT, (batch, channels))],
        initializer=[w, b],
    )
    return graph, {"Conv": 1, "Relu": 1, "GlobalAveragePool": 1, "Flatten": 1}


def static_conv(tmp: Path) -> MadeModel:
    """[1,3,16,16] → Conv/Relu/GAP/Flatten → [1,8]."""
    graph, ops = _conv_relu_graph(1, "static_conv")
    path = tmp / "static_conv.onnx"
    _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), path)
    return MadeModel(
        path,
        (ExpectedTensor("input", "float32", (1, 3, 16, 16)),),
        (ExpectedTensor("output", "float32", (1, 8)),),
        ops,
    )


def dynamic_batch(tmp: Path) -> MadeModel:
    """['batch',3,16,16] → ['batch',8]: one symbolic dimension."""
    graph, ops = _conv_relu_graph("batch", "dynamic_batch")
    path = tmp / "dynamic_batch.onnx"
    _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), path)
    return MadeModel(
        path,
        (ExpectedTensor("input", "float32", ("batch", 3, 16, 16)),),
        (ExpectedTensor("output", "float32", ("batch", 8)),),
        ops,
    )


def dynamic_spatial(tmp: Path) -> MadeModel:
    """['N',3,'H','W'] → ['N',8]: batch and spatial dims all symbolic."""
    graph, ops = _conv_relu_graph("N", "dynamic_spatial", hw=("H", "W"))
    path = tmp / "dynamic_spatial.onnx"
    _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), path)
    return MadeModel(
        path,
        (ExpectedTensor("input", "float32", ("N", 3, "H", "W")),),
        (ExpectedTensor("output", "float32", ("N", 8)),),
        ops,
    )


def multi_io(tmp: Path) -> MadeModel:
    """Two inputs (float32 [2,4], int64 [2,4]) → three outputs (sum, product, the cast)."""
    nodes = [
        helper.make_node("Cast", ["b"], ["b_float"], name="cast0", to=TensorProto.FLOAT),
        helper.make_node("Add", ["a", "b_float"], ["sum"], name="add0"),
        helper.make_node("Mul", ["a", "b_float"], ["product"], name="mul0"),
        helper.make_node("Identity", ["b_float"], ["b_as_float"], name="id0"),
    ]
    graph = helper.make_graph(
        nodes,
        "multi_io",
        [_vi("a", TensorProto.FLOAT, (2, 4)), _vi("b", TensorProto.INT64, (2, 4))],
        [
            _vi("sum", TensorProto.FLOAT, (2, 4)),
            _vi("product", TensorProto.FLOAT, (2, 4)),
            _vi("b_as_float", TensorProto.FLOAT, (2, 4)),
        ],
    )
    path = tmp / "multi_io.onnx"
    _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), path)
    return MadeModel(
        path,
        (ExpectedTensor("a", "float32", (2, 4)), ExpectedTensor("b", "int64", (2, 4))),
        (
            ExpectedTensor("sum", "float32", (2, 4)),
            ExpectedTensor("product", "float32", (2, 4)),
            ExpectedTensor("b_as_float", "float32", (2, 4)),
        ),
        {"Cast": 1, "Add": 1, "Mul": 1, "Identity": 1},
    )


def external_data(tmp: Path) -> MadeModel:
    """Like static_conv, with its weights in a separate `external_data.bin` file."""
    graph, ops = _conv_relu_graph(1, "external_data", channels=64)
    path = tmp / "external_data.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.save(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="external_data.bin",
        size_threshold=0,
    )
    return MadeModel(
        path,
        (ExpectedTensor("input", "float32", (1, 3, 16, 16)),),
        (ExpectedTensor("output", "float32", (1, 64)),),
        ops,
    )


def unknown_op(tmp: Path) -> MadeModel:
    """A node `FancyOp` in custom domain `com.example`, which no TensorRT parser knows."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu0"),
        helper.make_node("FancyOp", ["r"], ["y"], name="fancy0", domain="com.example"),
    ]
    graph = helper.make_graph(
        nodes,
        "unknown_op",
        [_vi("x", TensorProto.FLOAT, (1, 4))],
        [_vi("y", TensorProto.FLOAT, (1, 4))],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.example", 1)],
    )
    model.ir_version = IR_VERSION
    path = tmp / "unknown_op.onnx"
    onnx.save(model, str(path))  # the checker rejects unknown domains' schemas: skip it
    return MadeModel(
        path,
        (ExpectedTensor("x", "float32", (1, 4)),),
        (ExpectedTensor("y", "float32", (1, 4)),),
        {"Relu": 1, "FancyOp": 1},
    )


ALL_FACTORIES = (static_conv, dynamic_batch, dynamic_spatial, multi_io, external_data, unknown_op)
