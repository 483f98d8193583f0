"""The pieces of an ONNX protobuf every reader in trtgui needs: the parsed model without its
external weights (`read_model`, with the plain-language errors of `onnx_file`), element types
by name and size, the graph and its If/Loop/Scan subgraphs, free text and names decoded from
protobuf's bytes, and a graph input or output as a `TensorSpec`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import onnx
from onnx import AttributeProto, GraphProto, ModelProto, TensorProto

from trtgui.core.errors import ModelLoadError
from trtgui.core.model import onnx_file
from trtgui.core.reading import read_regular
from trtgui.core.shapes import Dim
from trtgui.core.tensors import TensorSpec

# Element type -> (numpy-style name, bits per element). Names of the float8/float4 types follow
# ml_dtypes, which is what numpy users see for them.
_DTYPES: dict[int, tuple[str, int]] = {
    TensorProto.FLOAT: ("float32", 32),
    TensorProto.UINT8: ("uint8", 8),
    TensorProto.INT8: ("int8", 8),
    TensorProto.UINT16: ("uint16", 16),
    TensorProto.INT16: ("int16", 16),
    TensorProto.INT32: ("int32", 32),
    TensorProto.INT64: ("int64", 64),
    TensorProto.STRING: ("string", 0),
    TensorProto.BOOL: ("bool", 8),
    TensorProto.FLOAT16: ("float16", 16),
    TensorProto.DOUBLE: ("float64", 64),
    TensorProto.UINT32: ("uint32", 32),
    TensorProto.UINT64: ("uint64", 64),
    TensorProto.COMPLEX64: ("complex64", 64),
    TensorProto.COMPLEX128: ("complex128", 128),
    TensorProto.BFLOAT16: ("bfloat16", 16),
    TensorProto.FLOAT8E4M3FN: ("float8_e4m3fn", 8),
    TensorProto.FLOAT8E4M3FNUZ: ("float8_e4m3fnuz", 8),
    TensorProto.FLOAT8E5M2: ("float8_e5m2", 8),
    TensorProto.FLOAT8E5M2FNUZ: ("float8_e5m2fnuz", 8),
    TensorProto.UINT4: ("uint4", 4),
    TensorProto.INT4: ("int4", 4),
    TensorProto.FLOAT4E2M1: ("float4_e2m1fn", 4),
}
# Types newer than some supported onnx releases: look them up by name so older onnx still works.
for _name, _np_name, _bits in (
    ("FLOAT8E8M0", "float8_e8m0fnu", 8),
    ("UINT2", "uint2", 2),
    ("INT2", "int2", 2),
    ("FLOAT6E2M3", "float6_e2m3fn", 6),
    ("FLOAT6E3M2", "float6_e3m2fn", 6),
):
    if _name in TensorProto.DataType.keys():  # noqa: SIM118  (an enum wrapper, not a dict)
        _DTYPES[TensorProto.DataType.Value(_name)] = (_np_name, _bits)


def dtype_name(elem_type: int) -> str:
    """Numpy-style name of an ONNX element type ("float32", "bfloat16", ...) or "unknown"."""
    if elem_type in _DTYPES:
        return _DTYPES[elem_type][0]
    if elem_type == TensorProto.UNDEFINED:
        return "unknown"
    try:
        return str(TensorProto.DataType.Name(elem_type)).lower()
    except ValueError:
        return "unknown"


def read_model(path: Path) -> tuple[ModelProto, int]:
    """Parse the model proto without external data; (proto, file size). Raises ModelLoadError."""
    size = onnx_file.checked_size(path)
    # Bounded by the protobuf limit even if the file grows after checked_size's stat.
    data = read_regular(path, "onnx", onnx_file.PROTOBUF_LIMIT)
    onnx_file.check_not_foreign(path, data)
    try:
        # Same as onnx.load(path, load_external_data=False), from the bytes already read.
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf's DecodeError, or anything a corrupt file provokes
        raise onnx_file.damaged(
            path,
            f"{size} bytes, first bytes {data[:16]!r}\n{type(exc).__name__}: {exc}",
        ) from None
    del data
    if not model.HasField("graph"):
        raise onnx_file.no_graph(
            path,
            "parsed as protobuf but ModelProto.graph is absent "
            f"(ir_version={model.ir_version}, {len(model.opset_import)} opset imports)",
        )
    return model, size


def _subgraphs(node: onnx.NodeProto) -> Iterator[GraphProto]:
    for attr in node.attribute:
        if attr.type == AttributeProto.GRAPH:
            yield attr.g
        elif attr.type == AttributeProto.GRAPHS:
            yield from attr.graphs


def all_graphs(graph: GraphProto) -> Iterator[GraphProto]:
    """The graph and every subgraph of If/Loop/Scan nodes, depth first."""
    yield graph
    for node in graph.node:
        for sub in _subgraphs(node):
            yield from all_graphs(sub)


def node_tensors(graph: GraphProto) -> Iterator[TensorProto]:
    """Tensors held in node attributes (Constant values), which may also be external."""
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == AttributeProto.TENSOR:
                yield attr.t
            elif attr.type == AttributeProto.TENSORS:
                yield from attr.tensors


def numel(dims: Iterable[int]) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def tensor_nbytes(tensor: TensorProto) -> int:
    bits = _DTYPES.get(tensor.data_type, ("", 0))[1]
    return (numel(tensor.dims) * bits + 7) // 8


def proto_text(value: str | bytes) -> str:
    """A free-text field (doc string, producer, metadata, dim name) as str.

    ONNX's proto2 string fields may hold any bytes; protobuf hands back `bytes` when they are
    not valid UTF-8. Such text only describes the model, so show what can be read of it.
    """
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def checked_name(value: str | bytes, what: str, model: Path, where: str) -> str:
    """A name the model is used by (tensor, operator, domain, weights file) as str.

    Invalid UTF-8 in one is refused: replacing characters would rename it, and TensorRT's and
    ONNX Runtime's Python bindings cannot give such a name back, so a build or a run would
    fail later with a confusing error. `where` says where it sits, for the details.
    """
    if not isinstance(value, bytes):
        return value
    shown = value.decode("utf-8", errors="backslashreplace")
    if len(shown) > 40:
        shown = shown[:39] + "…"
    raise ModelLoadError(
        f"{model.name or model} has {what} that is not valid UTF-8 ({shown}): the file is "
        "damaged or its exporter is faulty; re-export the model.",
        details=f"{model}: {where}: {value!r} is not valid UTF-8",
    )


def tensor_spec(value: onnx.ValueInfoProto, model: Path, where: str) -> TensorSpec:
    is_input = where == "input"
    name = checked_name(value.name, f"an {where} name", model, f"graph {where}")
    tp = value.type
    kind = tp.WhichOneof("value")
    if kind != "tensor_type":
        # Sequences, maps and optionals: describe the kind; TensorRT takes none of them.
        dtype = kind.removesuffix("_type") if kind else "unknown"
        return TensorSpec(name, dtype, None, is_input)
    tt = tp.tensor_type
    if not tt.HasField("shape"):
        return TensorSpec(name, dtype_name(tt.elem_type), None, is_input)
    dims: list[Dim] = []
    for d in tt.shape.dim:
        if d.HasField("dim_value") and d.dim_value >= 0:
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param not in ("", "?"):
            dims.append(proto_text(d.dim_param))
        else:  # no value, a negative value (some exporters write -1) or the name "?"
            dims.append(None)
    return TensorSpec(name, dtype_name(tt.elem_type), tuple(dims), is_input)
