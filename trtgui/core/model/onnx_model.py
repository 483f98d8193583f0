"""Reading an ONNX model's structure without its weights: `inspect_onnx` -> `ModelInfo`.

This module owns everything trtgui learns from an ONNX file before TensorRT sees it: file
checks with plain-language errors for things that are not ONNX models, the I/O tensors
(symbolic dimensions kept by name), opsets, operator histogram and custom-domain ops,
parameter counts from initializer dims, the external weight files a model refers to, and
whether ONNX shape inference succeeds. Weights are never read: external data stays on disk,
and embedded weights are dropped before shape inference so it only sees shapes.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import onnx
from onnx import AttributeProto, GraphProto, ModelProto, TensorProto

from trtgui.core.errors import ModelLoadError
from trtgui.core.model import onnx_file
from trtgui.core.reading import read_regular
from trtgui.core.shapes import Dim
from trtgui.core.tensors import TensorSpec
from trtgui.core.text import clip

# Domains of the ONNX standard; ops from any other domain are "custom" (TensorRT's parser
# only knows them through plugins).
_STANDARD_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training"}
)

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

# Initializers larger than this are turned into placeholders before shape inference: their
# values never matter for shapes, while small ones (Reshape targets, Slice starts) do.
_SHAPE_ONLY_BYTES = 4096


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


@dataclass(frozen=True)
class ExternalDataFile:
    """A weights file the model refers to. `expected_bytes` is the sum of the lengths of the
    tensors stored in it; `actual_bytes` is its size on disk (None when missing). `problem`
    says why a name that is there cannot be used ("is a folder", "is outside the model's
    folder"); `exists` is true only for a usable regular file."""

    location: str
    path: Path
    exists: bool
    expected_bytes: int
    actual_bytes: int | None = None
    problem: str = ""

    @property
    def truncated(self) -> bool:
        """The file exists but is smaller than the data the model expects in it."""
        return self.actual_bytes is not None and self.actual_bytes < self.expected_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "path": str(self.path),
            "exists": self.exists,
            "expected_bytes": self.expected_bytes,
            "actual_bytes": self.actual_bytes,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class ModelInfo:
    """What is inside an ONNX model, read without its weights."""

    path: Path
    file_size: int
    ir_version: int
    opsets: dict[str, int]  # "" = ai.onnx
    producer_name: str
    producer_version: str
    graph_name: str
    doc_string: str
    metadata: dict[str, str]
    inputs: tuple[TensorSpec, ...]  # real graph inputs (initializers excluded)
    outputs: tuple[TensorSpec, ...]
    node_count: int  # including nodes inside If/Loop/Scan subgraphs
    initializer_count: int
    parameter_count: int  # elements of initializers and Constant-node tensors, from their dims
    parameter_bytes: int
    op_histogram: dict[str, int]  # most frequent first; non-default domains as "domain:Op"
    custom_ops: tuple[str, ...]  # "domain:Op" for ops outside the ONNX standard domains
    external_data: tuple[ExternalDataFile, ...]
    shape_inference_ok: bool
    shape_inference_error: str

    @property
    def is_dynamic(self) -> bool:
        """True when any input has a dimension that is not fixed."""
        return any(t.is_dynamic for t in self.inputs)

    @property
    def missing_external_data(self) -> tuple[ExternalDataFile, ...]:
        """Weights files that are absent or shorter than the model expects."""
        return tuple(f for f in self.external_data if not f.exists or f.truncated)

    @property
    def external_data_bytes(self) -> int:
        return sum(f.expected_bytes for f in self.external_data)

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON form: keys and their order do not change between releases."""
        return {
            "path": str(self.path),
            "file_size": self.file_size,
            "ir_version": self.ir_version,
            "opsets": dict(self.opsets),
            "producer_name": self.producer_name,
            "producer_version": self.producer_version,
            "graph_name": self.graph_name,
            "doc_string": self.doc_string,
            "metadata": dict(self.metadata),
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            "node_count": self.node_count,
            "initializer_count": self.initializer_count,
            "parameter_count": self.parameter_count,
            "parameter_bytes": self.parameter_bytes,
            "op_histogram": dict(self.op_histogram),
            "custom_ops": list(self.custom_ops),
            "external_data": [f.to_dict() for f in self.external_data],
            "shape_inference_ok": self.shape_inference_ok,
            "shape_inference_error": self.shape_inference_error,
        }


# ---------------------------------------------------------------------------------------------
# Reading the file.


def _read_model(path: Path) -> tuple[ModelProto, int]:
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


# ---------------------------------------------------------------------------------------------
# Walking the graph.


def _subgraphs(node: onnx.NodeProto) -> Iterator[GraphProto]:
    for attr in node.attribute:
        if attr.type == AttributeProto.GRAPH:
            yield attr.g
        elif attr.type == AttributeProto.GRAPHS:
            yield from attr.graphs


def _all_graphs(graph: GraphProto) -> Iterator[GraphProto]:
    """The graph and every subgraph of If/Loop/Scan nodes, depth first."""
    yield graph
    for node in graph.node:
        for sub in _subgraphs(node):
            yield from _all_graphs(sub)


def _node_tensors(graph: GraphProto) -> Iterator[TensorProto]:
    """Tensors held in node attributes (Constant values), which may also be external."""
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == AttributeProto.TENSOR:
                yield attr.t
            elif attr.type == AttributeProto.TENSORS:
                yield from attr.tensors


def _numel(dims: Iterable[int]) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def _tensor_nbytes(tensor: TensorProto) -> int:
    bits = _DTYPES.get(tensor.data_type, ("", 0))[1]
    return (_numel(tensor.dims) * bits + 7) // 8


def _text(value: str | bytes) -> str:
    """A free-text field (doc string, producer, metadata, dim name) as str.

    ONNX's proto2 string fields may hold any bytes; protobuf hands back `bytes` when they are
    not valid UTF-8. Such text only describes the model, so show what can be read of it.
    """
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _checked_name(value: str | bytes, what: str, model: Path, where: str) -> str:
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


def _tensor_spec(value: onnx.ValueInfoProto, model: Path, where: str) -> TensorSpec:
    is_input = where == "input"
    name = _checked_name(value.name, f"an {where} name", model, f"graph {where}")
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
            dims.append(_text(d.dim_param))
        else:  # no value, a negative value (some exporters write -1) or the name "?"
            dims.append(None)
    return TensorSpec(name, dtype_name(tt.elem_type), tuple(dims), is_input)


def _external_location(tensor: TensorProto, model: Path) -> tuple[str, int] | None:
    """(location, length in bytes) of a tensor stored outside the model file."""
    if tensor.data_location != TensorProto.EXTERNAL:
        return None
    entries = {_text(e.key): e.value for e in tensor.external_data}
    where = f"initializer {_text(tensor.name)!r} external data location"
    location = _checked_name(entries.get("location", ""), "a weights file name", model, where)
    try:
        length = int(entries["length"])
    except (KeyError, ValueError):
        length = _tensor_nbytes(tensor)  # "length" is optional: the whole tensor follows offset
    return location, length


def _external_files(model: Path, tensors: list[TensorProto]) -> tuple[ExternalDataFile, ...]:
    model_dir = model.parent
    expected: dict[str, int] = {}
    for tensor in tensors:
        loc = _external_location(tensor, model)
        if loc is not None:
            expected[loc[0]] = expected.get(loc[0], 0) + loc[1]
    files = []
    for location, nbytes in expected.items():
        path = model_dir / location
        try:
            st: os.stat_result | None = path.stat()
        except (OSError, ValueError):
            st = None
        problem = _weights_problem(location, path, model_dir, st)
        exists = st is not None and not problem
        actual = st.st_size if exists and st is not None else None
        files.append(ExternalDataFile(location, path, exists, nbytes, actual, problem))
    return tuple(files)


def _weights_problem(location: str, path: Path, model_dir: Path, st: os.stat_result | None) -> str:
    """Why the weights file a model names cannot be used, in words ("" when it can, or when
    it is simply not there). The model is someone else's file: its weights may only come
    from a regular file in its own folder, the rule ONNX Runtime applies too, so a model
    cannot make trtgui read /etc/passwd, /proc/self/environ or a device."""
    link = f" (it links to {os.path.realpath(path)})" if path.is_symlink() else ""
    if st is not None and stat.S_ISDIR(st.st_mode):
        return f"is a folder{link}, not a weights file"
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISFIFO(st.st_mode):
            what = "a named pipe (FIFO)"
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            what = "a device"
        else:
            what = "a special file"
        return f"is {what}{link}, not a weights file"
    if PurePath(location).is_absolute() or ".." in PurePath(location).parts:
        return "is outside the model's folder"
    if st is not None:
        try:
            inside = Path(os.path.realpath(path)).is_relative_to(os.path.realpath(model_dir))
        except (OSError, ValueError):
            inside = False
        if not inside:
            return f"is outside the model's folder{link}"
    return ""


def _drop_weights(tensors: list[TensorProto]) -> None:
    """Turn big embedded tensors into external references so shape inference copies no data.

    Shape inference reads only dims and type from them; the placeholder is never opened.
    """
    for tensor in tensors:
        if tensor.data_location == TensorProto.EXTERNAL:
            continue
        if tensor.ByteSize() <= _SHAPE_ONLY_BYTES:
            continue
        for field in (
            "raw_data",
            "float_data",
            "int32_data",
            "int64_data",
            "double_data",
            "uint64_data",
            "string_data",
        ):
            tensor.ClearField(field)
        tensor.data_location = TensorProto.EXTERNAL
        del tensor.external_data[:]
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", "trtgui-shape-only-placeholder"


def _shape_inference(model: ModelProto) -> tuple[bool, str]:
    try:
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as exc:  # InferenceError, ValidationError, or a C++ error string
        text = " ".join(str(exc).split())
        return False, text or type(exc).__name__
    return True, ""


def inspect_onnx(path: str | Path) -> ModelInfo:
    """Describe the ONNX model at `path` without loading its weights.

    Raises `ModelLoadError` for anything that is not a readable ONNX model. Missing external
    weight files are reported in `ModelInfo.external_data`, not raised: see
    `require_external_data`.
    """
    path = Path(path)
    model, file_size = _read_model(path)
    graph = model.graph

    graphs = list(_all_graphs(graph))
    initializers: list[TensorProto] = [t for g in graphs for t in g.initializer]
    sparse_values: list[TensorProto] = [s.values for g in graphs for s in g.sparse_initializer]
    all_tensors = initializers + sparse_values + [t for g in graphs for t in _node_tensors(g)]

    local_functions = {(_text(f.domain), _text(f.name)) for f in model.functions}
    ops: Counter[str] = Counter()
    custom: set[str] = set()
    node_count = 0
    for g in graphs:
        for index, node in enumerate(g.node):
            node_count += 1
            if isinstance(node.op_type, bytes) or isinstance(node.domain, bytes):
                where = f"node {index} {_text(node.name)!r} of graph {_text(g.name)!r}"
                _checked_name(node.op_type, "an operator name", path, f"{where} op_type")
                _checked_name(node.domain, "an operator domain", path, f"{where} domain")
            domain = "" if node.domain == "ai.onnx" else node.domain
            key = f"{domain}:{node.op_type}" if domain else node.op_type
            ops[key] += 1
            if domain not in _STANDARD_DOMAINS and (node.domain, node.op_type) not in (
                local_functions
            ):
                custom.add(key)

    init_names = {t.name for t in graph.initializer} | {
        s.values.name for s in graph.sparse_initializer
    }
    inputs = tuple(_tensor_spec(v, path, "input") for v in graph.input if v.name not in init_names)
    outputs = tuple(_tensor_spec(v, path, "output") for v in graph.output)
    # Some exporters (PaddlePaddle, TF converters) keep weights in Constant nodes: count them.
    weights = all_tensors
    parameter_count = sum(_numel(t.dims) for t in weights)
    parameter_bytes = sum(_tensor_nbytes(t) for t in weights)
    external = _external_files(path, all_tensors)

    opsets: dict[str, int] = {}
    for o in model.opset_import:
        domain = _checked_name(o.domain, "an opset domain", path, "opset_import domain")
        opsets["" if domain == "ai.onnx" else domain] = int(o.version)

    _drop_weights(all_tensors)
    shape_ok, shape_error = _shape_inference(model)

    return ModelInfo(
        path=path,
        file_size=file_size,
        ir_version=int(model.ir_version),
        opsets=opsets,
        producer_name=_text(model.producer_name),
        producer_version=_text(model.producer_version),
        graph_name=_text(graph.name),
        doc_string=_text(model.doc_string or graph.doc_string),
        metadata={_text(p.key): _text(p.value) for p in model.metadata_props},
        inputs=inputs,
        outputs=outputs,
        node_count=node_count,
        initializer_count=len(initializers) + len(sparse_values),
        parameter_count=parameter_count,
        parameter_bytes=parameter_bytes,
        op_histogram=dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
        custom_ops=tuple(sorted(custom)),
        external_data=external,
        shape_inference_ok=shape_ok,
        shape_inference_error=shape_error,
    )


def require_external_data(info: ModelInfo) -> None:
    """Raise `ModelLoadError` when a weights file the model needs is missing or too short.

    Call it before anything that reads the weights (building, running).
    """
    for f in info.external_data:
        if f.problem:
            raise ModelLoadError(
                f"Weights file {clip(f.location)} named by {info.path.name} {f.problem}: "
                "weights are read only from regular files beside the model; export the model "
                "again with its weights file next to it.",
                details=f"{info.path} stores {f.expected_bytes} bytes of weights in {f.path}",
            )
        if not f.exists:
            raise ModelLoadError(
                f"Weights file {clip(f.location)} is missing: put it next to the model "
                f"{info.path.name} ({info.path.parent}).",
                details=f"{info.path} stores {f.expected_bytes} bytes of weights in {f.path}, "
                "which does not exist",
            )
        if f.truncated:
            raise ModelLoadError(
                f"Weights file {f.location} is incomplete ({f.actual_bytes} of "
                f"{f.expected_bytes} bytes): copy or download it again.",
                details=f"{f.path}: {f.actual_bytes} bytes on disk, model expects at least "
                f"{f.expected_bytes}",
            )


def check_onnx(path: str | Path) -> list[str]:
    """Run the ONNX checker on the file; its findings, one line each ([] = valid).

    Raises `ModelLoadError` when the file is not an ONNX model at all.
    """
    path = Path(path)
    _read_model(path)  # the same plain-language errors as inspect_onnx for unusable files
    try:
        # Given a path, the checker also verifies external data files and models over 2 GB.
        onnx.checker.check_model(str(path))
    except Exception as exc:  # ValidationError, or the C++ checker's other errors
        lines = [" ".join(line.split()) for line in str(exc).splitlines() if line.strip()]
        return lines or [type(exc).__name__]
    return []
