"""Cheap probes of a tensor's largest |value| for calibration, added to an ONNX graph.

Calibration needs max|x| of each quantized input, image after image. How it is read decides
what the calibration pass costs against one plain inference (bench/int8_accuracy.py):

- ReduceMax + ReduceMin on the tensor cost EfficientNet-Lite0 2.2x one inference. The cost
  is mostly not the reductions: a tensor that gains a reader leaves ONNX Runtime's blocked
  (NCHWc) layout, which copies it, and a Pad it reads can no longer fold into its Conv.
- So each tensor is probed where it costs least, with the same answer:
  * through a Pad that only adds zeros or repeats values (its max|x| is its input's), so
    the Pad still folds into the Conv;
  * with GlobalMaxPool when a Conv reads it (rank >= 3): ONNX Runtime runs it in the blocked
    layout, no copy; a ReduceMax of its N x C values gives one number;
  * the negative side (Neg, then GlobalMaxPool) only where the tensor can be negative: not
    after Relu, Sigmoid, Softmax, Abs or a Clip whose minimum is a constant >= 0.
  Measured on 2 CPU cores, per image: EfficientNet-Lite0 22 -> 14 ms against 10 ms plain,
  yolov8n-doclaynet 345 -> 308 ms against 281 ms plain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import onnx

_SUFFIX = "__trtgui_range"
# Ops whose output is never negative: the range probe needs no negative side there.
_NON_NEGATIVE_OPS = frozenset({"Relu", "Sigmoid", "Softmax", "Abs"})
# Consumers that guarantee a rank of at least 3 (N, C, spatial...): GlobalMaxPool works.
_SPATIAL_READERS = frozenset({"Conv", "ConvTranspose"})


@dataclass(frozen=True)
class RangeProbe:
    """The graph outputs that give one tensor's max|x|: the largest value of `high`, and of
    `negated_high` (max of -x) when the tensor can be negative, or of -`low` (a min)."""

    tensor: str
    high: str
    negated_high: str | None = None
    low: str | None = None

    def amax(self, values: Mapping[str, np.ndarray]) -> float:
        import numpy as np

        largest = float(np.max(values[self.high]))
        if self.negated_high is not None:
            largest = max(largest, float(np.max(values[self.negated_high])))
        if self.low is not None:
            largest = max(largest, -float(np.min(values[self.low])))
        return largest


def add_range_probes(model: onnx.ModelProto, tensors: Sequence[str]) -> tuple[RangeProbe, ...]:
    """Add to `model` (in place) the nodes and outputs that measure max|x| of each of
    `tensors`. Returns one probe per tensor, in order."""
    from onnx import TensorProto, helper

    graph = model.graph
    producers = {out: node for node in graph.node for out in node.output}
    spatial = {node.input[0] for node in graph.node if node.op_type in _SPATIAL_READERS}
    constants = _constant_values(model)
    by_source: dict[str, RangeProbe] = {}  # two tensors with one source share its probe
    probes = []
    for name in tensors:
        source = _range_source(name, producers, constants)
        if source not in by_source:
            base = f"{source}{_SUFFIX}"
            negative = not _non_negative(source, producers, constants)
            if name in spatial:
                # GlobalMaxPool then a ReduceMax of its N x C values: a scalar output.
                nodes = _pooled_max(source, f"{base}_max")
                if negative:
                    nodes.append(helper.make_node("Neg", [source], [f"{base}_neg"]))
                    nodes += _pooled_max(f"{base}_neg", f"{base}_negmax")
                probe = RangeProbe(name, f"{base}_max", f"{base}_negmax" if negative else None)
            else:
                nodes = [helper.make_node("ReduceMax", [source], [f"{base}_max"], keepdims=0)]
                if negative:
                    nodes.append(
                        helper.make_node("ReduceMin", [source], [f"{base}_min"], keepdims=0)
                    )
                probe = RangeProbe(name, f"{base}_max", low=f"{base}_min" if negative else None)
            graph.node.extend(nodes)
            for output in (probe.high, probe.negated_high, probe.low):
                if output is not None:
                    graph.output.append(
                        helper.make_tensor_value_info(output, TensorProto.FLOAT, [])
                    )
            by_source[source] = probe
        probes.append(replace(by_source[source], tensor=name))
    return tuple(probes)


def _pooled_max(source: str, out: str) -> list[onnx.NodeProto]:
    from onnx import helper

    return [
        helper.make_node("GlobalMaxPool", [source], [f"{out}_pooled"]),
        helper.make_node("ReduceMax", [f"{out}_pooled"], [out], keepdims=0),
    ]


def _range_source(
    name: str, producers: Mapping[str, onnx.NodeProto], constants: Mapping[str, np.ndarray]
) -> str:
    """The earliest tensor with the same max|x| as `name`, through Pads that add only zeros
    or repeat values (edge, reflect, wrap)."""
    node = producers.get(name)
    while node is not None and node.op_type == "Pad" and _pad_keeps_range(node, constants):
        name = node.input[0]
        node = producers.get(name)
    return name


def _pad_keeps_range(node: onnx.NodeProto, constants: Mapping[str, np.ndarray]) -> bool:
    mode = next((a.s.decode() for a in node.attribute if a.name == "mode"), "constant")
    if mode != "constant":
        return True  # the values it adds are copies of the input's
    # The padding value: an attribute before opset 11, the third input after.
    value = next((a.f for a in node.attribute if a.name == "value"), 0.0)
    if len(node.input) > 2 and node.input[2]:
        found = constants.get(node.input[2])
        if found is None:
            return False  # computed at run time: unknown
        value = float(found.reshape(-1)[0]) if found.size else 0.0
    return value == 0.0


def _non_negative(
    name: str, producers: Mapping[str, onnx.NodeProto], constants: Mapping[str, np.ndarray]
) -> bool:
    node = producers.get(name)
    if node is None:
        return False
    if node.op_type in _NON_NEGATIVE_OPS:
        return True
    if node.op_type == "Clip":
        if len(node.input) > 1 and node.input[1]:  # opset 11+: min is an input
            low = constants.get(node.input[1])
            return low is not None and low.size == 1 and float(low.reshape(-1)[0]) >= 0
        low_attr = next((a.f for a in node.attribute if a.name == "min"), None)
        return low_attr is not None and low_attr >= 0
    return False


def _constant_values(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Initializers and Constant-node values of the main graph, by name."""
    from onnx import numpy_helper

    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer if _small(t)}
    for node in model.graph.node:
        if node.op_type == "Constant":
            tensor = next((a.t for a in node.attribute if a.name == "value"), None)
            if tensor is not None and _small(tensor):
                values[node.output[0]] = numpy_helper.to_array(tensor)
    return values


def _small(tensor: onnx.TensorProto) -> bool:
    """Only scalars and short vectors are read (Clip bounds, Pad values): weights stay put."""
    size = 1
    for dim in tensor.dims:
        size *= dim
    return size <= 16
