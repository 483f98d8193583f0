"""A cheap structural check of an ONNX file before TensorRT sees it.

TensorRT's ONNX parser reports broken graphs with C++ assertion text ("Assertion failed:
toposort(...)"), and builds some models it should refuse (opset 999, a -5 or 2^40 input
dimension). `precheck_model(path)` finds those cases first and says in plain words what is
wrong and which node, input or tensor it is.

It reads the protobuf wire format directly (`onnx_wire`) and skips every weight's bytes, so it
needs no `import onnx` (which costs 0.15-0.2 s, more than a small engine's whole build) and
loads no weights: a few milliseconds for EfficientNet-Lite0's 456 nodes. Only when the file points
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
from dataclasses import dataclass
from pathlib import Path

from trtgui.core.errors import ModelLoadError, OnnxParseError
from trtgui.core.model import onnx_file
from trtgui.core.model.onnx_wire import Damaged, Graph, Model, Node, parse_model
from trtgui.core.reading import open_regular

# Largest dimension TensorRT networks are built with in practice (int32 volume math in
# many layers); ONNX files from real exporters never come near it.
MAX_DIM = 2**31 - 1
# TensorRT's Weights hold an int64 count of values.
MAX_WEIGHTS = 2**63 - 1
# Every onnx release since 1.16 (2024) knows opsets up to 21: above it, ask onnx itself.
_SURELY_KNOWN_OPSET = 21
_QDQ_OPS = frozenset({b"QuantizeLinear", b"DequantizeLinear"})


@dataclass(frozen=True)
class ModelFacts:
    """What the check learnt about the model (cheap facts the build can reuse)."""

    node_count: int
    opset: int | None  # the default (ai.onnx) domain's opset; None when not imported
    has_external_data: bool
    has_qdq: bool


# -- the checks ---------------------------------------------------------------------------------


def _text(name: bytes) -> str:
    return name.decode("utf-8", "replace")


def _node_label(node: Node, index: int) -> str:
    op = _text(node.op_type) or "?"
    return f"node '{_text(node.name)}' ({op})" if node.name else f"node {index} ({op})"


def _outer_names(graph: Graph) -> set[bytes]:
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


def _node_reads(node: Node) -> list[bytes]:
    reads = [n for n in node.inputs if n]  # "" marks an omitted optional input
    for sub in node.subgraphs:
        reads.extend(sorted(_outer_names(sub) - set(reads)))
    return reads


def _check_graph(graph: Graph, model_name: str) -> None:
    """Every input produced somewhere; no cycle. Raises OnnxParseError."""
    available = set(graph.initializers) | {i.name for i in graph.inputs}
    producer: dict[bytes, int] = {}
    for index, node in enumerate(graph.nodes):
        for out in node.outputs:
            if not out:
                continue
            if out in producer:
                # ONNX is single-assignment; left alone, the second writer makes a read of T
                # look like an edge to the wrong node, which the cycle search then reports.
                first = _node_label(graph.nodes[producer[out]], producer[out])
                label = _node_label(node, index)
                raise OnnxParseError(
                    f"The model {model_name} is broken: {first} and {label} both write tensor "
                    f"'{_text(out)}' (each tensor must have one producer); re-export the model.",
                    errors=[f"{first}, {label}: both write '{_text(out)}'"],
                )
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
    graph: Graph, reads: list[list[bytes]], producer: dict[bytes, int], waiting: list[int]
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


def _check_convs(graph: Graph, model_name: str) -> None:
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


def _check_inputs(graph: Graph, model_name: str) -> None:
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


def _check_initializers(graph: Graph, model_name: str) -> None:
    """Initializer dims: never negative, and a volume TensorRT can hold (its parser reports
    both as "Failed to import initializer: Count of weights exceeds maximum!", no name)."""
    for name, dims in graph.initializer_dims.items():
        volume = 1
        for dim in dims:
            volume *= max(dim, 0)
        bad = next((d for d in dims if d < 0), None)
        if bad is None and volume <= MAX_WEIGHTS:
            continue
        shape = "x".join(map(str, dims))
        problem = (
            f"dimension {bad}, which is negative"
            if bad is not None
            else (f"{volume:,} values, more than TensorRT can hold")
        )
        raise ModelLoadError(
            f"The model {model_name} is broken: initializer '{_text(name)}' has shape {shape} "
            f"({problem}); re-export the model.",
            details=f"initializer '{_text(name)}' dims {dims}",
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


def _count_nodes(graph: Graph) -> int:
    return sum(1 + sum(_count_nodes(s) for s in n.subgraphs) for n in graph.nodes)


def _any(graph: Graph, test: str) -> bool:
    if test == "external" and graph.has_external_data:
        return True
    for node in graph.nodes:
        if test == "qdq" and node.op_type in _QDQ_OPS and node.domain in (b"", b"ai.onnx"):
            return True
        if any(_any(sub, test) for sub in node.subgraphs):
            return True
    return False


def _read(path: Path, size: int) -> bytes | mmap.mmap:
    """The file's bytes, memory-mapped (nothing is copied; close the map when done)."""
    try:
        with open_regular(path, "onnx", onnx_file.PROTOBUF_LIMIT) as handle:
            try:
                return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # a file system without mmap: read it
                return handle.read(size)
    except OSError as exc:
        raise onnx_file.read_error(path, exc) from None


def _parse_file(path: Path) -> tuple[Model, Graph]:
    """The model's structure (weights skipped), with a graph; ModelLoadError for a file that
    is not one (the same words as `inspect_onnx`, from `onnx_file`)."""
    size = onnx_file.checked_size(path)
    buf = _read(path, size)
    try:
        onnx_file.check_not_foreign(path, bytes(buf[: onnx_file.HEAD_BYTES]))
        try:
            model = parse_model(buf, len(buf))
        except Damaged as exc:
            raise onnx_file.damaged(path, f"{len(buf)} bytes; {exc}") from None
    finally:
        if isinstance(buf, mmap.mmap):
            buf.close()
    if model.graph is None:
        raise onnx_file.no_graph(path, f"{size} bytes, no ModelProto.graph")
    return model, model.graph


def check_is_onnx(path: str | Path) -> None:
    """ModelLoadError unless `path` is a regular file that parses as an ONNX model with a
    graph (its structure only: a few milliseconds, no weights read)."""
    _parse_file(Path(path))


def check_weights_files(path: str | Path) -> None:
    """ModelLoadError when the model names a weights file that is missing, short, not a
    regular file or outside the model's folder: for readers that hand the path to a library
    (ONNX Runtime), which would otherwise open whatever the model names, a FIFO included.
    Cheap: the wire-format parse, and `inspect_onnx` only for models with external data."""
    path = Path(path)
    if _any(_parse_file(path)[1], "external"):
        from trtgui.core.model.onnx_model import inspect_onnx, require_external_data

        require_external_data(inspect_onnx(path))


def has_qdq(path: str | Path) -> bool:
    """Whether the model holds QuantizeLinear/DequantizeLinear nodes (subgraphs included):
    the one Q/DQ detector (`precheck_model` reports the same in `ModelFacts.has_qdq`)."""
    return _any(_parse_file(Path(path))[1], "qdq")


def precheck_model(path: str | Path) -> ModelFacts:
    """Refuse, in plain words, ONNX files TensorRT would misreport or wrongly build.

    Raises ModelLoadError (unreadable file, missing weights, impossible opset or input
    dimension) or OnnxParseError (a node input nobody produces, a cycle).
    """
    path = Path(path)
    name = path.name
    model, graph = _parse_file(path)
    external = _any(graph, "external")
    if external:
        # The same words and checks (missing or too short) as inspecting the model.
        from trtgui.core.model.onnx_model import inspect_onnx, require_external_data

        require_external_data(inspect_onnx(path))
    opset = _check_opset(model.opsets, name)
    _check_inputs(graph, name)
    _check_initializers(graph, name)
    _check_graph(graph, name)
    _check_convs(graph, name)
    return ModelFacts(_count_nodes(graph), opset, external, _any(graph, "qdq"))


__all__ = [
    "MAX_DIM",
    "ModelFacts",
    "check_is_onnx",
    "check_weights_files",
    "has_qdq",
    "precheck_model",
]
