"""trtgui's own INT8 calibration and Q/DQ writer, for the placement `qdq_placement` chose.

Why not ONNX Runtime's `quantize_static`: its calibrator records the range of *every* tensor
(a ReduceMin and a ReduceMax on each, all kept in memory, then NumPy over them), which cost
4-12x one FP32 inference per image on EfficientNet-Lite0 (bench/int8_accuracy.py), and it
hides the FP32 outputs it computed. TensorRT needs ranges only at the inputs of the compute
layers it runs in INT8, so:

- `calibrate(...)`: one ONNX Runtime session of the FP32 model with a range probe per
  quantized input (`range_probes`: the cheapest exact way to read max|x|), run once per
  image (the next image is read while it runs): the symmetric range of each input (max
  calibration), and the model's own outputs for each image, which the precision check
  reuses as its reference (the same images, the same preprocessing: no second FP32 run).
- `insert_qdq(...)`: QuantizeLinear/DequantizeLinear pairs on exactly those inputs, as
  TensorRT's explicit quantization wants them: activations per tensor, weights per output
  channel (Conv axis 0, ConvTranspose axis 1, Gemm by its transB), both symmetric INT8 with
  zero point 0; biases stay float (TensorRT rejects INT32 biases, FACTS.md). Only the chosen
  compute layers read the dequantized value; every other reader keeps the float tensor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from trtgui.core.model.qdq_placement import COMPUTE_OPS, node_label
from trtgui.core.model.range_probes import add_range_probes

if TYPE_CHECKING:  # numpy and onnx load with the first INT8 build, not with the CLI
    import numpy as np
    import onnx

INT8_MAX = 127  # symmetric: -127..127, as TensorRT expects


@dataclass(frozen=True)
class CalibrationStats:
    """What one calibration pass measured."""

    amax: Mapping[str, float]  # the largest |value| of each quantized input over the images
    # Per image (its path): a digest of the feed and the FP32 model's outputs for it.
    reference: Mapping[str, tuple[str, dict[str, np.ndarray]]] = field(default_factory=dict)
    images: int = 0


def feed_digest(array: np.ndarray) -> str:
    """A digest of an input array, so a later run can tell it is fed the very same input."""
    import numpy as np

    digest = hashlib.blake2b(digest_size=16)
    digest.update(str((array.dtype.str, array.shape)).encode())
    digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def activation_inputs(
    model: onnx.ModelProto,
    quantize: Sequence[str],
    residual: Sequence[tuple[str, int]] = (),
) -> tuple[str, ...]:
    """The non-constant inputs of the chosen compute layers and residual Adds: the tensors to
    calibrate."""
    constant = {t.name for t in model.graph.initializer}
    names: dict[str, None] = {}
    for _index, node, positions in _positions(model, quantize, residual):
        for position in positions:
            name = node.input[position]
            if name and name not in constant:
                names[name] = None
    return tuple(names)


def _positions(
    model: onnx.ModelProto, quantize: Sequence[str], residual: Sequence[tuple[str, int]]
) -> Iterator[tuple[int, onnx.NodeProto, tuple[int, ...]]]:
    """Each node that gets Q/DQ inputs (its index, the node), with the positions of those
    inputs (graph order)."""
    chosen = set(quantize)
    adds: dict[str, list[int]] = {}
    for label, position in residual:
        adds.setdefault(label, []).append(position)
    for index, node in enumerate(model.graph.node):
        label = node_label(node, index)
        if label in chosen:
            yield index, node, _quantized_positions(node)
        elif label in adds:
            yield index, node, tuple(adds[label])


def calibrate(
    model: onnx.ModelProto,
    tensors: Sequence[str],
    feeds: Iterator[tuple[str, dict[str, np.ndarray]]],
    scratch: Path,
    keep_reference: Callable[[str], bool] = lambda _name: True,
) -> CalibrationStats:
    """Run the FP32 `model` once per (image, feed) of `feeds` with the |max| of `tensors`
    added as outputs. `scratch` is a file path for the augmented model (removed after).
    One image per run: batching them measured no faster on the CPU (EfficientNet-Lite0:
    32 ms per image at batch 1, 32 at batch 8)."""
    import onnx
    import onnxruntime as ort

    from trtgui.core.model.convert_base import companion_files, save_model

    augmented = onnx.ModelProto()
    augmented.CopyFrom(model)
    outputs = [o.name for o in augmented.graph.output]
    probes = add_range_probes(augmented, tensors)
    probe_outputs = [o.name for o in augmented.graph.output[len(outputs) :]]
    save_model(augmented, scratch)
    del augmented
    amax = dict.fromkeys(tensors, 0.0)
    reference: dict[str, tuple[str, dict[str, np.ndarray]]] = {}
    count = 0
    try:
        options = ort.SessionOptions()
        # Its threads wait for the next image without spinning: the build's other work (the
        # next image's preprocessing, TensorRT) gets the cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(
            str(scratch), sess_options=options, providers=["CPUExecutionProvider"]
        )
        for image, feed in _prefetched(feeds):
            values = session.run(None, feed)
            ranges = dict(zip(probe_outputs, values[len(outputs) :], strict=True))
            for probe in probes:
                amax[probe.tensor] = max(amax[probe.tensor], probe.amax(ranges))
            if keep_reference(image):
                (array,) = feed.values()
                results = dict(zip(outputs, values[: len(outputs)], strict=True))
                reference[image] = (feed_digest(array), results)
            count += 1
    finally:
        for path in companion_files(scratch):
            path.unlink(missing_ok=True)
    return CalibrationStats(amax, reference, count)


def _prefetched(
    feeds: Iterator[tuple[str, dict[str, np.ndarray]]],
) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """`feeds`, the next one read and preprocessed in a helper thread while ONNX Runtime
    runs the current one (both release the GIL for most of their work)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="trtgui-calibration") as pool:
        ahead = pool.submit(next, feeds, None)
        while (item := ahead.result()) is not None:
            ahead = pool.submit(next, feeds, None)
            yield item


def _quantized_positions(node: onnx.NodeProto) -> tuple[int, ...]:
    """Which inputs of a compute layer get Q/DQ: the data and the weights, never the bias."""
    return (0, 1) if len(node.input) >= 2 else (0,)


def _weight_axis(node: onnx.NodeProto, dims: int) -> int | None:
    """The output-channel axis of a compute layer's weights, None for one scale per tensor."""
    if node.op_type == "Conv":
        return 0
    if node.op_type == "ConvTranspose":
        return 1  # [C_in, C_out/group, k...]
    if node.op_type == "Gemm" and dims == 2:
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    return None  # MatMul: per tensor (TensorRT's per-channel rules for it vary by version)


def insert_qdq(
    model: onnx.ModelProto,
    quantize: Sequence[str],
    amax: Mapping[str, float],
    residual: Sequence[tuple[str, int]] = (),
) -> tuple[str, ...]:
    """Put Q/DQ pairs on the inputs of the `quantize` compute layers and on the `residual`
    (Add, position) inputs, in place; returns the nodes that got them (an input without a
    range, or a non-float weight, stays float). Q/DQ go right before the reader, after any
    Pad: quantizing before zero Pads instead measured no faster in TensorRT 8.6."""
    from onnx import TensorProto, helper

    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    dequantized: dict[str, str] = {}  # float tensor (or weight, axis) -> its DQ output
    added: list[onnx.TensorProto] = []
    done: list[str] = []
    # By graph index: protobuf hands out a new wrapper object at each access.
    wanted = {index: positions for index, _node, positions in _positions(model, quantize, residual)}
    nodes = list(graph.node)
    ordered: list[onnx.NodeProto] = []

    def scalar(name: str, value: float, dtype: int) -> str:
        added.append(helper.make_tensor(name, dtype, [], [value]))
        return name

    def activation_dq(source: str, largest: float) -> list[onnx.NodeProto]:
        step = largest / INT8_MAX if largest > 0 else 1.0
        s_name = scalar(f"{source}_scale", step, TensorProto.FLOAT)
        z_name = scalar(f"{source}_zero_point", 0, TensorProto.INT8)
        q_out, dq_out = f"{source}_quantized", f"{source}_dequantized"
        dequantized[source] = dq_out
        return [
            helper.make_node("QuantizeLinear", [source, s_name, z_name], [q_out]),
            helper.make_node("DequantizeLinear", [q_out, s_name, z_name], [dq_out]),
        ]

    for index, node in enumerate(nodes):
        positions = wanted.get(index, ())
        changed = False
        for position in positions:
            source = node.input[position]
            weight = initializers.get(source)
            if weight is not None:
                if node.op_type not in COMPUTE_OPS or weight.data_type != TensorProto.FLOAT:
                    continue
                node.input[position] = _weight_dq(
                    node, position, weight, dequantized, added, ordered
                )
                changed = True
            elif source in amax:
                if source not in dequantized:
                    ordered += activation_dq(source, amax[source])
                node.input[position] = dequantized[source]
                changed = True
        if changed:
            done.append(node_label(node, index))
        ordered.append(node)
    del graph.node[:]
    graph.node.extend(ordered)
    graph.initializer.extend(added)
    _drop_unread_initializers(model)
    return tuple(done)


def _weight_dq(
    node: onnx.NodeProto,
    position: int,
    weight: onnx.TensorProto,
    dequantized: dict[str, str],
    added: list[onnx.TensorProto],
    ordered: list[onnx.NodeProto],
) -> str:
    """The DQ output for a weight of `node`: INT8 values and per-channel scales, written once
    per (weight, axis)."""
    import numpy as np
    from onnx import helper, numpy_helper

    source = weight.name
    values = numpy_helper.to_array(weight).astype(np.float32)
    axis = _weight_axis(node, values.ndim) if position == 1 else None
    key = f"{source}|{axis}"
    if key in dequantized:
        return dequantized[key]
    base = f"{source}_axis{axis}" if axis is not None else f"{source}_tensor"
    # ONNX Runtime's names, which tools expect.
    q_name, s_name, z_name, dq_out = (
        f"{base}_quantized",
        f"{base}_scale",
        f"{base}_zero_point",
        f"{base}_dequantized",
    )
    if axis is None:
        peak = np.array(np.abs(values).max(), dtype=np.float32)
    else:
        others = tuple(i for i in range(values.ndim) if i != axis)
        peak = np.abs(values).max(axis=others).astype(np.float32)
    scale = np.where(peak > 0, peak / INT8_MAX, 1.0).astype(np.float32)
    shape = [1] * values.ndim
    if axis is not None:
        shape[axis] = -1
    q = np.clip(np.rint(values / scale.reshape(shape)), -INT8_MAX, INT8_MAX)
    added.append(numpy_helper.from_array(q.astype(np.int8), q_name))
    added.append(numpy_helper.from_array(scale, s_name))
    added.append(numpy_helper.from_array(np.zeros(scale.shape, np.int8), z_name))
    dq = helper.make_node("DequantizeLinear", [q_name, s_name, z_name], [dq_out])
    if axis is not None:
        dq.attribute.append(helper.make_attribute("axis", axis))
    ordered.append(dq)
    dequantized[key] = dq_out
    return dq_out


def _drop_unread_initializers(model: onnx.ModelProto) -> None:
    """The float weights now read only through their INT8 copy go (the file stays small)."""
    from trtgui.core.model.convert_base import graphs

    graph = model.graph
    read = {name for g in graphs(graph) for node in g.node for name in node.input}
    read |= {o.name for o in graph.output}
    keep = [t for t in graph.initializer if t.name in read]
    if len(keep) != len(graph.initializer):
        unread = {t.name for t in graph.initializer} - {t.name for t in keep}
        del graph.initializer[:]
        graph.initializer.extend(keep)
        inputs = [i for i in graph.input if i.name not in unread]
        del graph.input[:]
        graph.input.extend(inputs)
