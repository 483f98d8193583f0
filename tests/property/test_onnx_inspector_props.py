"""Properties of `inspect_onnx`: it reports exactly the I/O a random valid model declares, and
a damaged file only ever raises `ModelLoadError`."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import onnx
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from tests import onnx_factory
from trtgui.core.errors import ModelLoadError
from trtgui.core.model.onnx_model import ModelInfo, inspect_onnx

# ONNX element type -> the numpy-style name the inspector must report.
DTYPES = {
    TensorProto.FLOAT: "float32",
    TensorProto.FLOAT16: "float16",
    TensorProto.BFLOAT16: "bfloat16",
    TensorProto.DOUBLE: "float64",
    TensorProto.INT64: "int64",
    TensorProto.INT32: "int32",
    TensorProto.INT8: "int8",
    TensorProto.UINT8: "uint8",
    TensorProto.BOOL: "bool",
}

Dim = int | str | None

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    min_size=1,
    max_size=12,
)
symbols = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True)
dims: st.SearchStrategy[Dim] = st.one_of(st.integers(0, 4096), symbols, st.none())
shapes = st.lists(dims, min_size=0, max_size=5).map(tuple)


@dataclass(frozen=True)
class Tensor:
    name: str
    elem: int
    shape: tuple[Dim, ...] | None  # None: no shape at all (rank unknown)


@st.composite
def models(draw: st.DrawFn) -> tuple[list[Tensor], list[Tensor]]:
    count = draw(st.integers(1, 4))
    all_names = draw(st.lists(names, min_size=2 * count, max_size=2 * count, unique=True))
    inputs, outputs = [], []
    for i in range(count):
        elem = draw(st.sampled_from(sorted(DTYPES)))
        shape = draw(st.one_of(shapes, st.none()))
        inputs.append(Tensor(all_names[i], elem, shape))
        outputs.append(Tensor(all_names[count + i], elem, shape))
    return inputs, outputs


def _value_info(t: Tensor) -> onnx.ValueInfoProto:
    if t.shape is None:
        return helper.make_tensor_value_info(t.name, t.elem, None)
    return helper.make_tensor_value_info(t.name, t.elem, list(t.shape))


def _expected_shape(shape: tuple[Dim, ...] | None) -> tuple[Dim, ...] | None:
    return shape


@settings(max_examples=60)
@given(models())
def test_inspector_reports_exactly_the_declared_io(io: tuple[list[Tensor], list[Tensor]]) -> None:
    inputs, outputs = io
    nodes = [
        helper.make_node("Identity", [i.name], [o.name], name=f"id{n}")
        for n, (i, o) in enumerate(zip(inputs, outputs, strict=True))
    ]
    graph = helper.make_graph(
        nodes, "random", [_value_info(t) for t in inputs], [_value_info(t) for t in outputs]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = onnx_factory.IR_VERSION
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.onnx"
        onnx.save(model, str(path))
        info = inspect_onnx(path)
    assert isinstance(info, ModelInfo)
    for got, want in ((info.inputs, inputs), (info.outputs, outputs)):
        assert [t.name for t in got] == [t.name for t in want]
        assert [t.dtype for t in got] == [DTYPES[t.elem] for t in want]
        assert [t.shape for t in got] == [_expected_shape(t.shape) for t in want]
        for t in got:
            assert t.is_dynamic == (t.shape is None or any(not isinstance(d, int) for d in t.shape))
    assert info.node_count == len(inputs)
    assert info.op_histogram == {"Identity": len(inputs)}


_GOOD: bytes | None = None


def _good_bytes() -> bytes:
    global _GOOD
    if _GOOD is None:
        with tempfile.TemporaryDirectory() as tmp:
            _GOOD = onnx_factory.multi_io(Path(tmp)).path.read_bytes()
    return _GOOD


@st.composite
def mutations(draw: st.DrawFn) -> bytes:
    data = bytearray(_good_bytes())
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(("flip", "set", "cut", "insert", "delete")))
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[pos : pos + draw(st.integers(1, 16))]
    return bytes(data)


@settings(max_examples=100)
@given(mutations())
def test_damaged_models_raise_only_model_load_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "damaged.onnx"
        path.write_bytes(data)
        try:
            info = inspect_onnx(path)
        except ModelLoadError as err:
            assert err.message and "\n" not in err.message
        else:
            assert isinstance(info, ModelInfo)
            names = [t.name for t in (*info.inputs, *info.outputs)]
            assert all(isinstance(n, str) for n in [*names, *info.op_histogram])
            # Invalid UTF-8 anywhere in the file must never break `inspect --json`.
            json.dumps(info.to_dict())


@settings(max_examples=60)
@given(st.binary(max_size=512))
def test_random_bytes_raise_only_model_load_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.onnx"
        path.write_bytes(data)
        try:
            inspect_onnx(path)
        except ModelLoadError as err:
            assert err.message and "\n" not in err.message
