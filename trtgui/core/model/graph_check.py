"""A cheap structural check of an ONNX file before TensorRT sees it.

TensorRT's ONNX parser reports broken graphs with C++ assertion text ("Assertion failed:
toposort(...)"), and builds some models it should refuse (opset 999, a -5 or 2^40 input
dimension). `precheck_model(path)` finds those cases first and says in plain words what is
wrong and which node, input or tensor it is.

It reads the protobuf wire format directly and skips every weight's bytes, so it needs no
`import onnx` (which costs 0.15-0.2 s, more than a small engine's whole build) and loads no
weights: a few milliseconds for EfficientNet-Lite0's 456 nodes. Only when the file points
to external weights, or names an opset above any onnx release so far, does it ask the
`onnx` package (through `trtgui.core.model.onnx_model`).

Checked: the file is a readable ModelProto with a graph; external weight files exist; the
default-domain opset is one onnx knows; every node input is produced by a node, a graph
input or an initializer (outer-scope names of If/Loop/Scan bodies included); the graph has
no cycle (TensorRT sorts unsorted graphs itself, so order alone is not an error); graph
input dimensions are not negative (other than -1, a common spelling of "dynamic") and not
above 2^31 - 1.
"""

from __future__ import annotations

import mmap
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from trtgui.core.errors import ModelLoadError, OnnxParseError

# Largest dimension TensorRT networks are built with in practice (int32 volume math in
# many layers); ONNX files from real exporters never come near it.
MAX_DIM = 2**31 - 1
# protobuf cannot parse a message larger than this (2 GiB - 1).
PROTOBUF_LIMIT = 2**31 - 1
# Every onnx release since 1.16 (2024) knows opsets up to 21: above it, ask onnx itself.
_SURELY_KNOWN_OPSET = 21
_QDQ_OPS = frozenset({b"QuantizeLinear", b"DequantizeLinear"})

# Wire types.
_VARINT, _I64, _LEN, _SGROUP, _EGROUP, _I32 = 0, 1, 2, 3, 4, 5


class _Damaged(Exception):
    """The bytes are not a well-formed protobuf message."""


class _Node:
    __slots__ = ("domain", "inputs", "kernel_shape", "name", "op_type", "outputs", "subgraphs")

    def __init__(self) -> None:
        self.name = b""
        self.op_type = b""
        self.domain = b""
        self.inputs: list[bytes] = []
        self.outputs: list[bytes] = []
        self.subgraphs: list[_Graph] = []
        self.kernel_shape: list[int] | None = None


class _Input:
    __slots__ = ("dims", "name")

    def __init__(self) -> None:
        self.name = b""
        self.dims: list[int | None] = []  # None: symbolic or unknown


class _Graph:
    __slots__ = ("has_external_data", "initializer_dims", "initializers", "inputs", "nodes")

    def __init__(self, has_external_data: bool = False) -> None:
        self.nodes: list[_Node] = []
        self.inputs: list[_Input] = []
        self.initializers: set[bytes] = set()
        self.initializer_dims: dict[bytes, list[int]] = {}
        self.has_external_data = has_external_data


class _Model:
    __slots__ = ("graph", "opsets")

    def __init__(self) -> None:
        self.graph: _Graph | None = None
        self.opsets: dict[bytes, int] = {}


# Plain classes with __slots__ rather than dataclasses: they are built thousands of times
# per check, and a dataclass costs ~1 ms each at import (this runs on every CLI build).


@dataclass(frozen=True)
class ModelFacts:
    """What the check learnt about the model (cheap facts the build can reuse)."""

    node_count: int
    opset: int | None  # the default (ai.onnx) domain's opset; None when not imported
    has_external_data: bool
    has_qdq: bool


# -- the wire format ----------------------------------------------------------------------------


def _varint(buf: bytes | mmap.mmap, pos: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _Damaged(f"bad varint at byte {pos}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes | mmap.mmap, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value or start, end) for each field of one message.

    For length-delimited fields the value is the start offset of the payload; for varints
    it is the value and `end` is unused.
    """
    while pos < end:
        byte = buf[pos]
        if byte < 0x80:  # one-byte tag: nearly every ONNX field
            tag = byte
            pos += 1
        else:
            tag, pos = _varint(buf, pos, end)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise _Damaged(f"field number 0 at byte {pos}")
        if wire == _LEN:
            length = buf[pos] if pos < end else 0x80
            if length < 0x80:
                pos += 1
            else:
                length, pos = _varint(buf, pos, end)
            stop = pos + length
            if stop > end:
                raise _Damaged(f"field {number} runs past its message at byte {pos}")
            yield number, wire, pos, stop
            pos = stop
        elif wire == _VARINT:
            value, pos = _varint(buf, pos, end)
            yield number, wire, value, pos
        elif wire == _I64:
            pos += 8
        elif wire == _I32:
            pos += 4
        elif wire == _SGROUP:  # deprecated groups: skip to the matching end tag
            pos = _skip_group(buf, pos, end, number)
        else:
            raise _Damaged(f"wire type {wire} at byte {pos}")
    if pos != end:
        raise _Damaged("a fixed-size field runs past its message")


def _skip_group(buf: bytes | mmap.mmap, pos: int, end: int, number: int) -> int:
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        wire = tag & 7
        if wire == _EGROUP:
            if tag >> 3 != number:
                raise _Damaged("mismatched group end")
            return pos
        if wire == _VARINT:
            _, pos = _varint(buf, pos, end)
        elif wire == _I64:
            pos += 8
        elif wire == _I32:
            pos += 4
        elif wire == _LEN:
            length, pos = _varint(buf, pos, end)
            pos += length
        elif wire == _SGROUP:
            pos = _skip_group(buf, pos, end, tag >> 3)
        else:
            raise _Damaged(f"wire type {wire} in a group")
    raise _Damaged("unterminated group")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# -- ONNX messages (only the fields the checks need) -------------------------------------------


def _parse_graph(buf: bytes | mmap.mmap, pos: int, end: int) -> _Graph:
    """GraphProto: node = 1, initializer = 5, sparse_initializer = 15, input = 11."""
    graph = _Graph()
    for number, wire, start, stop in _fields(buf, pos, end):
        if wire != _LEN:
            continue
        if number == 1:
            graph.nodes.append(_parse_node(buf, start, stop))
        elif number == 5:
            name, external, dims = _parse_tensor(buf, start, stop)
            graph.initializers.add(name)
            graph.initializer_dims[name] = dims
            graph.has_external_data |= external
        elif number == 15:  # SparseTensorProto: values = 1 (its name is the initializer's)
            for n, w, s, e in _fields(buf, start, stop):
                if n == 1 and w == _LEN:
                    name, external, _ = _parse_tensor(buf, s, e)
                    graph.initializers.add(name)
                    graph.has_external_data |= external
        elif number == 11:
            graph.inputs.append(_parse_value_info(buf, start, stop))
    return graph


def _parse_node(buf: bytes | mmap.mmap, pos: int, end: int) -> _Node:
    """NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7."""
    node = _Node()
    for number, wire, start, stop in _fields(buf, pos, end):
        if wire != _LEN:
            continue
        if number == 1:
            node.inputs.append(bytes(buf[start:stop]))
        elif number == 2:
            node.outputs.append(bytes(buf[start:stop]))
        elif number == 3:
            node.name = bytes(buf[start:stop])
        elif number == 4:
            node.op_type = bytes(buf[start:stop])
        elif number == 7:
            node.domain = bytes(buf[start:stop])
        elif number == 5:
            _parse_attribute(buf, start, stop, node)
    return node


def _parse_attribute(buf: bytes | mmap.mmap, pos: int, end: int, node: _Node) -> None:
    """AttributeProto: name = 1, ints = 8, t = 5, tensors = 10, g = 6, graphs = 11."""
    name = b""
    ints: list[int] = []
    for number, wire, start, stop in _fields(buf, pos, end):
        if number == 1 and wire == _LEN:
            name = bytes(buf[start:stop])
        elif number == 8:
            ints.extend(_ints(buf, wire, start, stop))
        elif wire != _LEN:
            continue
        elif number in (6, 11):  # If/Loop/Scan bodies
            node.subgraphs.append(_parse_graph(buf, start, stop))
        elif number in (5, 10) and _parse_tensor(buf, start, stop)[1]:
            # A Constant's value stored outside the file: a weights file is needed too.
            node.subgraphs.append(_Graph(has_external_data=True))
    if name == b"kernel_shape":
        node.kernel_shape = ints


def _ints(buf: bytes | mmap.mmap, wire: int, start: int, stop: int) -> list[int]:
    """A repeated int64 field: one varint, or a packed run of them."""
    if wire == _VARINT:
        return [_signed(start)]
    if wire != _LEN:
        return []
    values = []
    pos = start
    while pos < stop:
        value, pos = _varint(buf, pos, stop)
        values.append(_signed(value))
    return values


def _parse_tensor(buf: bytes | mmap.mmap, pos: int, end: int) -> tuple[bytes, bool, list[int]]:
    """TensorProto: dims = 1, name = 8, data_location = 14 (1 = EXTERNAL); data skipped."""
    name = b""
    external = False
    dims: list[int] = []
    for number, wire, start, stop in _fields(buf, pos, end):
        if number == 8 and wire == _LEN:
            name = bytes(buf[start:stop])
        elif number == 1:
            dims.extend(_ints(buf, wire, start, stop))
        elif number == 14 and wire == _VARINT:
            external = start == 1
    return name, external, dims


def _parse_value_info(buf: bytes | mmap.mmap, pos: int, end: int) -> _Input:
    """ValueInfoProto name = 1, type = 2 → TypeProto.tensor_type = 1 → shape = 2 → dim = 1."""
    item = _Input()
    for number, wire, start, stop in _fields(buf, pos, end):
        if wire != _LEN:
            continue
        if number == 1:
            item.name = bytes(buf[start:stop])
        elif number == 2:
            for n, w, s, e in _fields(buf, start, stop):
                if n == 1 and w == _LEN:  # TypeProto.Tensor
                    for n2, w2, s2, e2 in _fields(buf, s, e):
                        if n2 == 2 and w2 == _LEN:  # TensorShapeProto
                            item.dims = [
                                _parse_dim(buf, s3, e3)
                                for n3, w3, s3, e3 in _fields(buf, s2, e2)
                                if n3 == 1 and w3 == _LEN
                            ]
    return item


def _parse_dim(buf: bytes | mmap.mmap, pos: int, end: int) -> int | None:
    """TensorShapeProto.Dimension: dim_value = 1 (int64), dim_param = 2."""
    value: int | None = None
    for number, wire, start, _stop in _fields(buf, pos, end):
        if number == 1 and wire == _VARINT:
            value = _signed(start)
        elif number == 2:
            value = None
    return value


def _parse_model(buf: bytes | mmap.mmap, size: int) -> _Model:
    """ModelProto: graph = 7, opset_import = 8 (domain = 1, version = 2)."""
    model = _Model()
    for number, wire, start, stop in _fields(buf, 0, size):
        if number == 7 and wire == _LEN:
            model.graph = _parse_graph(buf, start, stop)
        elif number == 8 and wire == _LEN:
            domain, version = b"", 0
            for n, w, s, e in _fields(buf, start, stop):
                if n == 1 and w == _LEN:
                    domain = bytes(buf[s:e])
                elif n == 2 and w == _VARINT:
                    version = _signed(s)
            model.opsets[domain] = version
    return model


# -- the checks ---------------------------------------------------------------------------------


def _text(name: bytes) -> str:
    return name.decode("utf-8", "replace")


def _node_label(node: _Node, index: int) -> str:
    op = _text(node.op_type) or "?"
    return f"node '{_text(node.name)}' ({op})" if node.name else f"node {index} ({op})"


def _outer_names(graph: _Graph) -> set[bytes]:
    """Names a (sub)graph reads but does not define: they come from the enclosing graph."""
    defined = set(graph.initializers) | {i.name for i in graph.inputs}
    for node in graph.nodes:
        defined.update(node.outputs)
    needed: set[bytes] = set()
    for node in graph.nodes:
        needed.update(n for n in node.inputs if n)
        for sub in node.subgraphs:
            needed |= _outer_names(sub)
    return needed - defined


def _node_reads(node: _Node) -> list[bytes]:
    reads = [n for n in node.inputs if n]  # "" marks an omitted optional input
    for sub in node.subgraphs:
        reads.extend(sorted(_outer_names(sub) - set(reads)))
    return reads


def _check_graph(graph: _Graph, model_name: str) -> None:
    """Every input produced somewhere; no cycle. Raises OnnxParseError."""
    available = set(graph.initializers) | {i.name for i in graph.inputs}
    producer: dict[bytes, int] = {}
    for index, node in enumerate(graph.nodes):
        for out in node.outputs:
            if out:
                producer[out] = index
    reads = [_node_reads(node) for node in graph.nodes]
    for index, node in enumerate(graph.nodes):
        for name in reads[index]:
            if name not in available and name not in producer:
                label = _node_label(node, index)
                raise OnnxParseError(
                    f"The model {model_name} is broken: {label} reads tensor '{_text(name)}', "
                    "which no node, input or initializer produces; re-export the model.",
                    errors=[f"{label}: input '{_text(name)}' has no producer"],
                )
    # Kahn's algorithm over node → node edges (inputs and initializers have no producer node).
    waiting = [0] * len(graph.nodes)
    users: list[list[int]] = [[] for _ in graph.nodes]
    for index, names in enumerate(reads):
        for name in set(names):
            source = producer.get(name)
            if source is not None and name not in available:
                waiting[index] += 1
                users[source].append(index)
    ready = deque(i for i, count in enumerate(waiting) if count == 0)
    done = 0
    while ready:
        index = ready.popleft()
        done += 1
        for user in users[index]:
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    if done < len(graph.nodes):
        cycle = _find_cycle(graph, reads, producer, waiting)
        shown = " → ".join(_node_label(graph.nodes[i], i) for i in [*cycle, cycle[0]])
        raise OnnxParseError(
            f"The model {model_name} is broken: the graph has a cycle ({shown}), so no node "
            "order can run it; re-export the model.",
            errors=[f"cycle: {shown}"],
        )


def _find_cycle(
    graph: _Graph, reads: list[list[bytes]], producer: dict[bytes, int], waiting: list[int]
) -> list[int]:
    """One cycle among the nodes Kahn's algorithm could not place (each has a stuck input)."""
    path: list[int] = []
    seen: dict[int, int] = {}
    index = next(i for i, count in enumerate(waiting) if count > 0)
    while index not in seen:
        seen[index] = len(path)
        path.append(index)
        index = next(
            producer[n] for n in reads[index] if n in producer and waiting[producer[n]] > 0
        )
    return path[seen[index] :][::-1]


def _check_convs(graph: _Graph, model_name: str) -> None:
    """Conv/ConvTranspose: kernel_shape must be the weights' spatial dims (TensorRT asserts
    "checkSpatialDims" without naming the node)."""
    static_inputs = {
        i.name: [d for d in i.dims if d is not None]
        for i in graph.inputs
        if i.dims and None not in i.dims
    }
    for index, node in enumerate(graph.nodes):
        if node.kernel_shape is None or node.op_type not in (b"Conv", b"ConvTranspose"):
            continue
        if len(node.inputs) < 2:
            continue
        weights = node.inputs[1]
        dims = graph.initializer_dims.get(weights) or static_inputs.get(weights)
        if not dims or dims[2:] == node.kernel_shape:
            continue
        label = _node_label(node, index)
        kernel = "x".join(map(str, node.kernel_shape))
        shape = "x".join(map(str, dims))
        raise OnnxParseError(
            f"The model {model_name} is broken: {label} has kernel_shape {kernel}, which does "
            f"not match its weights '{_text(weights)}' ({shape}); re-export the model.",
            errors=[f"{label}: kernel_shape {kernel}, weights {shape}"],
        )


def _check_inputs(graph: _Graph, model_name: str) -> None:
    """Graph input dims: -1 is taken as dynamic (some exporters write it), other negative
    values and values above MAX_DIM are refused."""
    for item in graph.inputs:
        if item.name in graph.initializers:
            continue  # an initializer listed as input (old exporters): not a real input
        for axis, dim in enumerate(item.dims):
            if dim is None or 0 <= dim <= MAX_DIM or dim == -1:
                continue
            name = _text(item.name)
            shape = "x".join("?" if d is None else str(d) for d in item.dims)
            problem = "is negative" if dim < 0 else f"is larger than {MAX_DIM}"
            raise ModelLoadError(
                f"Input '{name}' of {model_name} has dimension {axis} = {dim}, which {problem}: "
                "re-export the model with a real size there, or a named (dynamic) dimension.",
                details=f"input '{name}' shape {shape}",
            )


def _check_opset(opsets: dict[bytes, int], model_name: str) -> int | None:
    version = opsets.get(b"", opsets.get(b"ai.onnx"))
    if version is None:
        return None
    if version < 1:
        raise ModelLoadError(
            f"{model_name} imports ONNX opset {version}, which does not exist: re-export the "
            "model with a real opset (e.g. 17).",
            details=f"opset_import ai.onnx version {version}",
        )
    if version > _SURELY_KNOWN_OPSET:
        import onnx  # only for models newer than any old onnx release knows

        known = int(onnx.defs.onnx_opset_version())
        if version > known:
            raise ModelLoadError(
                f"{model_name} needs ONNX opset {version}, but the newest opset known here is "
                f"{known}: re-export the model with opset {known} or lower.",
                details=f"opset_import ai.onnx version {version}; onnx {onnx.__version__} "
                f"knows up to {known}",
            )
    return version


def _count_nodes(graph: _Graph) -> int:
    return sum(1 + sum(_count_nodes(s) for s in n.subgraphs) for n in graph.nodes)


def _any(graph: _Graph, test: str) -> bool:
    if test == "external" and graph.has_external_data:
        return True
    for node in graph.nodes:
        if test == "qdq" and node.op_type in _QDQ_OPS and node.domain in (b"", b"ai.onnx"):
            return True
        if any(_any(sub, test) for sub in node.subgraphs):
            return True
    return False


def _read(path: Path) -> bytes | mmap.mmap:
    """The file's bytes, memory-mapped (nothing is copied; close the map when done)."""
    try:
        with path.open("rb") as handle:
            if path.stat().st_size == 0:
                return b""
            try:
                return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # a file system without mmap: read it
                return handle.read()
    except OSError as exc:
        raise ModelLoadError(
            f"Cannot read {path.name}: {exc.strerror or exc}. Check the file.", details=repr(exc)
        ) from None


def precheck_model(path: str | Path) -> ModelFacts:
    """Refuse, in plain words, ONNX files TensorRT would misreport or wrongly build.

    Raises ModelLoadError (unreadable file, missing weights, impossible opset or input
    dimension) or OnnxParseError (a node input nobody produces, a cycle).
    """
    path = Path(path)
    name = path.name
    buf = _read(path)
    size = len(buf)
    if size == 0:
        raise ModelLoadError(
            f"{name} is empty (0 bytes): export or download the model again.",
            details=f"{path}: 0 bytes",
        )
    try:
        if size > PROTOBUF_LIMIT:
            raise ModelLoadError(
                f"{name} is larger than 2 GB, which ONNX cannot read as one file: save it with "
                "its weights as external data (onnx.save(..., save_as_external_data=True)).",
                details=f"{path}: {size} bytes; protobuf limit {PROTOBUF_LIMIT}",
            )
        try:
            model = _parse_model(buf, size)
        except _Damaged as exc:
            raise ModelLoadError(
                f"{name} is not a valid ONNX model (damaged, truncated or another format): "
                "export or download it again.",
                details=f"{path}: {size} bytes; {exc}",
            ) from None
    finally:
        if isinstance(buf, mmap.mmap):
            buf.close()
    graph = model.graph
    if graph is None:
        raise ModelLoadError(
            f"{name} is not an ONNX model (it holds no graph): choose an exported .onnx model.",
            details=f"{path}: {size} bytes, no ModelProto.graph",
        )
    external = _any(graph, "external")
    if external:
        # The same words and checks (missing or too short) as inspecting the model.
        from trtgui.core.model.onnx_model import inspect_onnx, require_external_data

        require_external_data(inspect_onnx(path))
    opset = _check_opset(model.opsets, name)
    _check_inputs(graph, name)
    _check_graph(graph, name)
    _check_convs(graph, name)
    return ModelFacts(_count_nodes(graph), opset, external, _any(graph, "qdq"))


__all__ = ["MAX_DIM", "ModelFacts", "precheck_model"]
