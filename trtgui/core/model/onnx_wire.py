"""ONNX's protobuf wire format read directly: the nodes, graph inputs, initializer names and
dims, and opsets of a ModelProto, every weight's bytes skipped.

No `import onnx` (0.15-0.2 s, more than a small engine's whole build) and no weights loaded:
a few milliseconds for EfficientNet-Lite0's 456 nodes. The graph pre-check runs on what
`parse_model` returns. Plain classes with __slots__ rather than dataclasses: they are built
thousands of times per check, and a dataclass costs ~1 ms each at import (this runs on every
CLI build).
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator

# Wire types.
_VARINT, _I64, _LEN, _SGROUP, _EGROUP, _I32 = 0, 1, 2, 3, 4, 5


class Damaged(Exception):
    """The bytes are not a well-formed protobuf message."""


class Node:
    __slots__ = ("domain", "inputs", "kernel_shape", "name", "op_type", "outputs", "subgraphs")

    def __init__(self) -> None:
        self.name = b""
        self.op_type = b""
        self.domain = b""
        self.inputs: list[bytes] = []
        self.outputs: list[bytes] = []
        self.subgraphs: list[Graph] = []
        self.kernel_shape: list[int] | None = None


class Input:
    __slots__ = ("dims", "name")

    def __init__(self) -> None:
        self.name = b""
        self.dims: list[int | None] = []  # None: symbolic or unknown


class Graph:
    __slots__ = ("has_external_data", "initializer_dims", "initializers", "inputs", "nodes")

    def __init__(self, has_external_data: bool = False) -> None:
        self.nodes: list[Node] = []
        self.inputs: list[Input] = []
        self.initializers: set[bytes] = set()
        self.initializer_dims: dict[bytes, list[int]] = {}
        self.has_external_data = has_external_data


class Model:
    __slots__ = ("graph", "opsets")

    def __init__(self) -> None:
        self.graph: Graph | None = None
        self.opsets: dict[bytes, int] = {}


# -- the wire format ----------------------------------------------------------------------------


def _varint(buf: bytes | mmap.mmap, pos: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= end or shift > 63:
            raise Damaged(f"bad varint at byte {pos}")
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
            raise Damaged(f"field number 0 at byte {pos}")
        if wire == _LEN:
            length = buf[pos] if pos < end else 0x80
            if length < 0x80:
                pos += 1
            else:
                length, pos = _varint(buf, pos, end)
            stop = pos + length
            if stop > end:
                raise Damaged(f"field {number} runs past its message at byte {pos}")
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
            raise Damaged(f"wire type {wire} at byte {pos}")
    if pos != end:
        raise Damaged("a fixed-size field runs past its message")


def _skip_group(buf: bytes | mmap.mmap, pos: int, end: int, number: int) -> int:
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        wire = tag & 7
        if wire == _EGROUP:
            if tag >> 3 != number:
                raise Damaged("mismatched group end")
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
            raise Damaged(f"wire type {wire} in a group")
    raise Damaged("unterminated group")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# -- ONNX messages (only the fields the checks need) -------------------------------------------


def _parse_graph(buf: bytes | mmap.mmap, pos: int, end: int) -> Graph:
    """GraphProto: node = 1, initializer = 5, sparse_initializer = 15, input = 11."""
    graph = Graph()
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


def _parse_node(buf: bytes | mmap.mmap, pos: int, end: int) -> Node:
    """NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7."""
    node = Node()
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


def _parse_attribute(buf: bytes | mmap.mmap, pos: int, end: int, node: Node) -> None:
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
            node.subgraphs.append(Graph(has_external_data=True))
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


def _parse_value_info(buf: bytes | mmap.mmap, pos: int, end: int) -> Input:
    """ValueInfoProto name = 1, type = 2 → TypeProto.tensor_type = 1 → shape = 2 → dim = 1."""
    item = Input()
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


def parse_model(buf: bytes | mmap.mmap, size: int) -> Model:
    """ModelProto: graph = 7, opset_import = 8 (domain = 1, version = 2)."""
    model = Model()
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
