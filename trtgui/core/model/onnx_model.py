"""Reading an ONNX model's structure without its weights: `inspect_onnx` -> `ModelInfo`.

This module owns everything trtgui learns from an ONNX file before TensorRT sees it: the I/O
tensors (symbolic dimensions kept by name), opsets, operator histogram and custom-domain ops,
parameter counts from initializer dims, the external weight files a model refers to
(`external_data`), and whether ONNX shape inference succeeds; `check_onnx` runs the ONNX
checker. Weights are never read: external data stays on disk, and embedded weights are
dropped before shape inference so it only sees shapes. Parsing the file with plain-language
errors and the proto helpers are `onnx_proto`'s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
from onnx import ModelProto, TensorProto

from trtgui.core.errors import ModelLoadError
from trtgui.core.model.external_data import ExternalDataFile, external_files
from trtgui.core.model.onnx_proto import (
    all_graphs,
    checked_name,
    node_tensors,
    numel,
    proto_text,
    read_model,
    tensor_nbytes,
    tensor_spec,
)
from trtgui.core.tensors import TensorSpec
from trtgui.core.text import clip

# Domains of the ONNX standard; ops from any other domain are "custom" (TensorRT's parser
# only knows them through plugins).
_STANDARD_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training"}
)

# Initializers larger than this are turned into placeholders before shape inference: their
# values never matter for shapes, while small ones (Reshape targets, Slice starts) do.
_SHAPE_ONLY_BYTES = 4096


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
    model, file_size = read_model(path)
    graph = model.graph

    graphs = list(all_graphs(graph))
    initializers: list[TensorProto] = [t for g in graphs for t in g.initializer]
    sparse_values: list[TensorProto] = [s.values for g in graphs for s in g.sparse_initializer]
    all_tensors = initializers + sparse_values + [t for g in graphs for t in node_tensors(g)]

    local_functions = {(proto_text(f.domain), proto_text(f.name)) for f in model.functions}
    ops: Counter[str] = Counter()
    custom: set[str] = set()
    node_count = 0
    for g in graphs:
        for index, node in enumerate(g.node):
            node_count += 1
            if isinstance(node.op_type, bytes) or isinstance(node.domain, bytes):
                where = f"node {index} {proto_text(node.name)!r} of graph {proto_text(g.name)!r}"
                checked_name(node.op_type, "an operator name", path, f"{where} op_type")
                checked_name(node.domain, "an operator domain", path, f"{where} domain")
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
    inputs = tuple(tensor_spec(v, path, "input") for v in graph.input if v.name not in init_names)
    outputs = tuple(tensor_spec(v, path, "output") for v in graph.output)
    # Some exporters (PaddlePaddle, TF converters) keep weights in Constant nodes: count them.
    weights = all_tensors
    parameter_count = sum(numel(t.dims) for t in weights)
    parameter_bytes = sum(tensor_nbytes(t) for t in weights)
    external = external_files(path, all_tensors)

    opsets: dict[str, int] = {}
    for o in model.opset_import:
        domain = checked_name(o.domain, "an opset domain", path, "opset_import domain")
        opsets["" if domain == "ai.onnx" else domain] = int(o.version)

    _drop_weights(all_tensors)
    shape_ok, shape_error = _shape_inference(model)

    return ModelInfo(
        path=path,
        file_size=file_size,
        ir_version=int(model.ir_version),
        opsets=opsets,
        producer_name=proto_text(model.producer_name),
        producer_version=proto_text(model.producer_version),
        graph_name=proto_text(graph.name),
        doc_string=proto_text(model.doc_string or graph.doc_string),
        metadata={proto_text(p.key): proto_text(p.value) for p in model.metadata_props},
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
    read_model(path)  # the same plain-language errors as inspect_onnx for unusable files
    try:
        # Given a path, the checker also verifies external data files and models over 2 GB.
        onnx.checker.check_model(str(path))
    except Exception as exc:  # ValidationError, or the C++ checker's other errors
        lines = [" ".join(line.split()) for line in str(exc).splitlines() if line.strip()]
        return lines or [type(exc).__name__]
    return []
