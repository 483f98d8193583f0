"""Where INT8 Q/DQ nodes go, following NVIDIA's guidance for explicit quantization in TensorRT.

TensorRT runs Conv, ConvTranspose, Gemm and MatMul in INT8 when their inputs come through
DequantizeLinear; everything else it fuses around them or runs in float anyway. So the inputs
of those compute layers are quantized (weights per channel, activations per tensor, both
symmetric), and the skip inputs of residual Adds (below). Graph outputs, Concat/Add of
differently-scaled values, Softmax, Sigmoid and the decoding tail stay float: one Q/DQ scale
on a detector's output Concat of box pixels (0-1024) and class scores (0-1) rounds every
score to 0 (FACTS.md).

Besides the user's patterns, the default placement keeps in float the compute layers that
read probabilities (an input produced by Softmax or Sigmoid, through shape-only ops): YOLOv8's
DFL head is a fixed 1x1 Conv over a Softmax, and a per-tensor scale of 1/127 there moves boxes.

It quantizes the skip input of each residual Add after a quantized Conv (NVIDIA's "quantize
the residual input" rule): TensorRT then fuses the Add into the Conv, and the Conv writes INT8
for the next layer instead of converting to float and back. Measured on the H200 with
TensorRT 8.6 (bench/results/gpu_int8_placement.json), EfficientNet-Lite0 GPU compute at batch
1 / 8: 0.434 / 0.392 ms without it (68 layers), 0.289 / 0.313 ms with it (54 layers, 48 INT8),
FP16 0.296 / 0.409 ms; logits' cosine to FP32 on the shared photos 0.980 at the lowest.

Keeping in float the compute layers that read a depthwise Conv's output (an earlier default)
cost speed (0.932 / 1.074 ms: TensorRT converted between INT8 and float around each of them)
and bought no accuracy with trtgui's own calibration (cosine 0.969 at the lowest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from trtgui.core.errors import SettingsError

if TYPE_CHECKING:
    import onnx

# The layers TensorRT runs in INT8 when their inputs are quantized.
COMPUTE_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
# Ops that only move values: a probability stays a probability through them.
_SHAPE_OPS = frozenset(
    {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Slice", "Split"}
)
_PROBABILITY_OPS = frozenset({"Softmax", "Sigmoid", "LogSoftmax", "HardSigmoid"})


@dataclass(frozen=True)
class Placement:
    """Which compute nodes get Q/DQ inputs and which stay float (node names, graph order)."""

    quantize: tuple[str, ...]
    keep_float: tuple[str, ...]  # compute nodes kept float: the user's patterns and the default
    matched: tuple[str, ...]  # every node the user's patterns matched, any op type
    # (Add node, input position): the skip input of a residual Add after a quantized Conv,
    # quantized too so that TensorRT fuses the Add into that Conv and the Conv writes INT8
    # (NVIDIA's "quantize the residual input" rule).
    residual: tuple[tuple[str, int], ...] = ()

    @property
    def excluded(self) -> tuple[str, ...]:
        """What the quantizer is told to leave alone: the matched nodes, then the kept ones."""
        return tuple(dict.fromkeys((*self.matched, *self.keep_float)))


def node_label(node: onnx.NodeProto, index: int) -> str:
    """A node's name, or a made-up one for an unnamed node (ONNX Runtime names them so too)."""
    return node.name or f"{node.op_type}_{index}"


def check_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    """The user's --int8-exclude patterns, stripped; an empty one is refused."""
    cleaned = tuple(p.strip() for p in patterns)
    if any(not p for p in cleaned):
        raise SettingsError(
            "An INT8 exclude pattern is empty: give node names or op types, e.g. "
            "--int8-exclude Concat or --int8-exclude '/model.22/*'."
        )
    return cleaned


def plan_placement(
    model: onnx.ModelProto,
    patterns: Sequence[str],
    model_name: str,
    residual: bool = True,
) -> Placement:
    """Q/DQ placement for `model` (top graph) with `patterns` (fnmatch on node name or op type)
    kept in float. A pattern that matches no node is refused: a typo would quantize silently."""
    nodes = list(model.graph.node)
    labels = [node_label(n, i) for i, n in enumerate(nodes)]
    matched: list[str] = []
    for pattern in check_patterns(patterns):
        hits = [
            label
            for node, label in zip(nodes, labels, strict=True)
            if fnmatchcase(label, pattern) or fnmatchcase(node.op_type, pattern)
        ]
        if not hits:
            example = next((lb for n, lb in zip(nodes, labels, strict=True) if n.name), "Conv")
            raise SettingsError(
                f"The INT8 exclude pattern {pattern!r} matches no node name or op type of "
                f"{model_name}: check the spelling (node names look like {example!r}; op types "
                "like Conv, Concat)."
            )
        matched += [h for h in hits if h not in matched]
    reads_probability = _reads_probability(nodes)
    quantize: list[str] = []
    keep: list[str] = []
    user = set(matched)
    for node, label in zip(nodes, labels, strict=True):
        if node.op_type not in COMPUTE_OPS:
            continue
        if label in user or label in reads_probability:
            keep.append(label)
        else:
            quantize.append(label)
    adds = _residual_inputs(model, set(quantize), user) if residual else ()
    return Placement(tuple(quantize), tuple(keep), tuple(matched), adds)


_CONV_OPS = frozenset({"Conv", "ConvTranspose"})


def _residual_inputs(
    model: onnx.ModelProto, quantized: set[str], skip: set[str]
) -> tuple[tuple[str, int], ...]:
    """Residual Adds: an Add of two computed tensors, one of them straight from a quantized
    Conv; the other input (the skip branch) is the one to quantize. When both come from
    quantized Convs, the second is."""
    nodes = list(model.graph.node)
    producer = {out: (node, index) for index, node in enumerate(nodes) for out in node.output}
    computed = set(producer) | {i.name for i in model.graph.input}
    computed -= {t.name for t in model.graph.initializer}
    found: list[tuple[str, int]] = []
    for index, node in enumerate(nodes):
        label = node_label(node, index)
        if node.op_type != "Add" or len(node.input) != 2 or label in skip:
            continue
        if not all(name in computed for name in node.input):
            continue  # a bias or constant offset, not a residual branch
        from_conv = [
            position
            for position, name in enumerate(node.input)
            if name in producer
            and producer[name][0].op_type in _CONV_OPS
            and node_label(*producer[name]) in quantized
        ]
        if from_conv:
            found.append((label, 1 if len(from_conv) == 2 else 1 - from_conv[0]))
    return tuple(found)


def _reads_probability(nodes: Sequence[onnx.NodeProto]) -> set[str]:
    """Compute nodes whose first input is a Softmax/Sigmoid output, through shape-only ops."""
    producer = {out: node for node in nodes for out in node.output}
    found: set[str] = set()
    for index, node in enumerate(nodes):
        if node.op_type not in COMPUTE_OPS or not node.input:
            continue
        source = producer.get(node.input[0])
        while source is not None and source.op_type in _SHAPE_OPS and source.input:
            source = producer.get(source.input[0])
        if source is not None and source.op_type in _PROBABILITY_OPS:
            found.add(node_label(node, index))
    return found


def quantized_nodes(model: onnx.ModelProto) -> tuple[str, ...]:
    """Nodes of a Q/DQ model (top graph) that take an input through DequantizeLinear: what
    TensorRT will run in INT8. Read from the written model, so it says what really happened."""
    from_dq = {o for n in model.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    return tuple(
        node_label(n, i)
        for i, n in enumerate(model.graph.node)
        if n.op_type not in ("QuantizeLinear", "DequantizeLinear")
        and any(name in from_dq for name in n.input)
    )


def unquantize_non_compute(model: onnx.ModelProto) -> bool:
    """Give every non-compute consumer of a quantized activation the float value again, and drop
    the Q/DQ pairs nobody reads any more; True when the model changed. ONNX Runtime shares one
    DequantizeLinear among all readers of a tensor, so the Concat or residual Add beside a Conv
    would read rounded values too: TensorRT's guidance quantizes the compute layers' inputs
    only."""
    nodes = list(model.graph.node)
    producer = {out: node for node in nodes for out in node.output}
    float_of: dict[str, str] = {}  # DQ output -> the float tensor its Q read
    for node in nodes:
        if node.op_type == "DequantizeLinear":
            q = producer.get(node.input[0])
            if q is not None and q.op_type == "QuantizeLinear":
                float_of[node.output[0]] = q.input[0]
    changed = False
    for node in nodes:
        if node.op_type in COMPUTE_OPS or node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            continue
        for i, name in enumerate(node.input):
            if name in float_of:
                node.input[i] = float_of[name]
                changed = True
    if changed:
        _drop_unread_qdq(model)
    return changed


def _drop_unread_qdq(model: onnx.ModelProto) -> None:
    outputs = {o.name for o in model.graph.output}
    while True:
        read = {name for n in model.graph.node for name in n.input} | outputs
        unread = [
            n
            for n in model.graph.node
            if n.op_type in ("QuantizeLinear", "DequantizeLinear")
            and not any(o in read for o in n.output)
        ]
        if not unread:
            return
        for node in unread:
            model.graph.node.remove(node)


# Nodes that only read a tensor's shape, or make constants: not part of a decoding tail.
_NOT_TAIL = frozenset({"Constant", "Shape", "Size"})


@dataclass(frozen=True)
class Tail:
    """A model's decoding tail: the nodes after the last compute layer that feeds each graph
    output (graph order), and those last compute layers."""

    after: tuple[str, ...]
    last_compute: tuple[str, ...]
    last_ops: tuple[str, ...] = ()  # the op type of each last compute layer

    @property
    def last_op(self) -> str:
        """The last compute layers' op type ("Conv") when they share one, in words."""
        ops = set(self.last_ops)
        return ops.pop() if len(ops) == 1 else "compute layer"


def decoder_tail(model: onnx.ModelProto) -> Tail:
    """The nodes after the last compute layer (Conv, ConvTranspose, Gemm, MatMul) that feeds
    each graph output: walking back from every output until a compute layer, not into the
    shape-only branches (Shape, Constant)."""
    nodes = list(model.graph.node)
    producer = {out: index for index, node in enumerate(nodes) for out in node.output}
    stack = [producer[o.name] for o in model.graph.output if o.name in producer]
    seen: set[int] = set()
    after: set[int] = set()
    last: set[int] = set()
    while stack:
        index = stack.pop()
        if index in seen:
            continue
        seen.add(index)
        node = nodes[index]
        if node.op_type in COMPUTE_OPS:
            last.add(index)
        elif node.op_type not in _NOT_TAIL:
            after.add(index)
            stack += [producer[name] for name in node.input if name in producer]
    return Tail(
        after=tuple(node_label(nodes[i], i) for i in sorted(after)),
        last_compute=tuple(node_label(nodes[i], i) for i in sorted(last)),
        last_ops=tuple(nodes[i].op_type for i in sorted(last)),
    )
