"""The structural pre-check before TensorRT reads a model, and plain words for parser asserts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests import onnx_factory
from trtgui.core import backends
from trtgui.core.build.builder import build_engine
from trtgui.core.build.failures import explain_parser_error
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import ModelLoadError, OnnxParseError
from trtgui.core.model.graph_check import MAX_DIM, precheck_model
from trtgui.core.model.profiles import InputShape, ShapeProfile

F32 = TensorProto.FLOAT
vi = helper.make_tensor_value_info
needs_rtx = pytest.mark.skipif(
    not backends.probe_backend("rtx").available, reason="TensorRT-RTX is not installed"
)


def save(tmp: Path, name: str, nodes: list, inputs: list, outputs: list, **kw: object) -> Path:  # type: ignore[type-arg]
    opset = int(kw.pop("opset", 17))  # type: ignore[call-overload]
    graph = helper.make_graph(nodes, "g", inputs, outputs, **kw)  # type: ignore[arg-type]
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = onnx_factory.IR_VERSION
    path = tmp / f"{name}.onnx"
    onnx.save(model, path)
    return path


def relu(name: str, src: str, dst: str) -> onnx.NodeProto:
    return helper.make_node("Relu", [src], [dst], name=name)


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and "Assertion failed" not in text and "ctx->" not in text
    assert " :" not in text and "''" not in text
    return text


# -- models that must pass --------------------------------------------------------------------


def test_generated_and_real_models_pass(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name, made in made_models.items():
        if name == "unknown_op":  # structurally fine: TensorRT is the one that refuses it
            precheck_model(made.path)
            continue
        facts = precheck_model(made.path)
        assert facts.node_count == len(onnx.load(made.path, load_external_data=False).graph.node)
    assert precheck_model(made_models["external_data"].path).has_external_data


def test_real_models_match_onnx(shared_models: Path) -> None:
    for path in sorted((shared_models / "onnx").glob("*.onnx")):
        facts = precheck_model(path)
        model = onnx.load(path, load_external_data=False)
        assert facts.node_count == len(model.graph.node), path.name
        assert facts.opset == next(o.version for o in model.opset_import if o.domain == "")
        assert not facts.has_external_data and not facts.has_qdq


@needs_rtx
def test_unsorted_but_acyclic_graph_builds(tmp_path: Path) -> None:
    """ONNX wants nodes in order, but TensorRT sorts them itself: not an error."""
    path = save(
        tmp_path,
        "unsorted",
        [relu("second", "mid", "y"), relu("first", "x", "mid")],
        [vi("x", F32, [1, 4])],
        [vi("y", F32, [1, 4])],
    )
    assert precheck_model(path).node_count == 2
    result = build_engine(
        BuildSettings(onnx_path=str(path), output_path=str(tmp_path / "u.engine"), backend="rtx")
    )
    assert result.engine_path.is_file()


def test_optional_inputs_and_subgraph_outer_names_pass(tmp_path: Path) -> None:
    """ "" marks an omitted optional input; If branches may read the outer graph's tensors."""
    then_g = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["t"], name="then_id")],
        "then",
        [],
        [vi("t", F32, [1, 4])],
    )
    else_g = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e"], name="else_neg")], "else", [], [vi("e", F32, [1, 4])]
    )
    path = save(
        tmp_path,
        "if_outer",
        [
            helper.make_node("Clip", ["x", "", "hi"], ["c"], name="clip"),
            helper.make_node(
                "If", ["cond"], ["y"], name="branch", then_branch=then_g, else_branch=else_g
            ),
        ],
        [vi("x", F32, [1, 4]), vi("cond", TensorProto.BOOL, [])],
        [vi("y", F32, [1, 4])],
        initializer=[numpy_helper.from_array(np.array(6.0, np.float32), "hi")],
    )
    assert precheck_model(path).node_count == 4  # clip, If and one node per branch


def test_minus_one_dim_is_taken_as_dynamic(tmp_path: Path) -> None:
    path = save(
        tmp_path, "m1", [relu("r", "x", "y")], [vi("x", F32, [-1, 4])], [vi("y", F32, [-1, 4])]
    )
    precheck_model(path)


def test_high_known_opset_passes(tmp_path: Path) -> None:
    known = onnx.defs.onnx_opset_version()
    path = save(
        tmp_path,
        "new",
        [relu("r", "x", "y")],
        [vi("x", F32, [1, 4])],
        [vi("y", F32, [1, 4])],
        opset=known,
    )
    assert precheck_model(path).opset == known


def test_qdq_models_are_recognised(tmp_path: Path) -> None:
    scale = numpy_helper.from_array(np.array(0.1, np.float32), "s")
    zero = numpy_helper.from_array(np.array(0, np.int8), "z")
    path = save(
        tmp_path,
        "qdq",
        [
            helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="q"),
            helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="dq"),
        ],
        [vi("x", F32, [1, 4])],
        [vi("y", F32, [1, 4])],
        initializer=[scale, zero],
    )
    assert precheck_model(path).has_qdq


# -- models that must be refused, naming what is wrong ----------------------------------------


def test_cycle_names_the_nodes_in_it_only(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        "cycle3",
        [
            relu("a", "c_out", "a_out"),
            relu("b", "a_out", "b_out"),
            relu("c", "b_out", "c_out"),
            relu("after", "c_out", "y"),  # downstream of the cycle, not part of it
        ],
        [vi("x", F32, [1, 4])],
        [vi("y", F32, [1, 4])],
    )
    with pytest.raises(OnnxParseError) as info:
        precheck_model(path)
    text = one_line(info.value)
    assert "cycle" in text and "'a'" in text and "'b'" in text and "'c'" in text
    assert "after" not in text


def test_dangling_input_names_node_and_tensor(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        "dangling",
        [relu("r", "nowhere", "y")],
        [vi("x", F32, [1, 4])],
        [vi("y", F32, [1, 4])],
    )
    with pytest.raises(OnnxParseError, match="node 'r' \\(Relu\\) reads tensor 'nowhere'") as info:
        precheck_model(path)
    one_line(info.value)


def test_dangling_name_inside_a_subgraph_is_found(tmp_path: Path) -> None:
    then_g = helper.make_graph(
        [helper.make_node("Identity", ["ghost"], ["t"], name="then_id")],
        "then",
        [],
        [vi("t", F32, [1, 4])],
    )
    path = save(
        tmp_path,
        "sub_dangling",
        [
            helper.make_node(
                "If", ["cond"], ["y"], name="branch", then_branch=then_g, else_branch=then_g
            )
        ],
        [vi("cond", TensorProto.BOOL, [])],
        [vi("y", F32, [1, 4])],
    )
    with pytest.raises(OnnxParseError, match="node 'branch' \\(If\\) reads tensor 'ghost'"):
        precheck_model(path)


@pytest.mark.parametrize(
    ("dims", "words"),
    [
        ([-5, 4], "dimension 0 = -5, which is negative"),
        ([1, MAX_DIM + 1], "dimension 1 = 2147483648"),
    ],
)
def test_impossible_input_dims_name_the_input(tmp_path: Path, dims: list[int], words: str) -> None:
    path = save(
        tmp_path, "dims", [relu("r", "img", "y")], [vi("img", F32, dims)], [vi("y", F32, dims)]
    )
    with pytest.raises(ModelLoadError, match="Input 'img'") as info:
        precheck_model(path)
    assert words in one_line(info.value)


def test_unknown_opset_is_refused(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        "o999",
        [relu("r", "x", "y")],
        [vi("x", F32, [1, 4])],
        [vi("y", F32, [1, 4])],
        opset=999,
    )
    with pytest.raises(ModelLoadError, match="opset 999") as info:
        precheck_model(path)
    assert f"opset {onnx.defs.onnx_opset_version()} or lower" in one_line(info.value)


def test_conv_kernel_shape_against_initializer_weights(tmp_path: Path) -> None:
    weights = numpy_helper.from_array(np.zeros((8, 3, 3, 3), np.float32), "w")
    path = save(
        tmp_path,
        "conv",
        [helper.make_node("Conv", ["x", "w"], ["y"], name="stem", kernel_shape=[5, 5])],
        [vi("x", F32, [1, 3, 8, 8])],
        [vi("y", F32, [1, 8, 4, 4])],
        initializer=[weights],
    )
    with pytest.raises(OnnxParseError, match="node 'stem' \\(Conv\\) has kernel_shape 5x5") as info:
        precheck_model(path)
    assert "'w' (8x3x3x3)" in one_line(info.value)


@pytest.mark.parametrize("data", [b"", b"\x08\x07\x3a\xff\xff", b"\x0a\x05abc"])
def test_damaged_or_empty_files(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(data)
    with pytest.raises(ModelLoadError) as info:
        precheck_model(path)
    one_line(info.value)


# -- through build_engine ---------------------------------------------------------------------


@needs_rtx
def test_fp32_build_with_missing_weights_file_says_which(tmp_path: Path) -> None:
    """The regression: FP32 builds went straight to TensorRT, whose parser asserts."""
    made = onnx_factory.external_data(tmp_path)
    weights = next(tmp_path.glob("*.bin"))
    weights.unlink()
    out = tmp_path / "out"
    out.mkdir()
    settings = BuildSettings(
        onnx_path=str(made.path), output_path=str(out / "m.engine"), backend="rtx"
    )
    with pytest.raises(ModelLoadError) as info:
        build_engine(settings.with_changes(profiles=_profiles(made.path)))
    assert f"Weights file {weights.name} is missing: put it next to the model" in one_line(
        info.value
    )
    assert not list(out.iterdir())


def _profiles(path: Path) -> tuple[ShapeProfile, ...]:
    model = onnx.load(path, load_external_data=False)
    shapes = []
    for item in model.graph.input:
        dims = [d.dim_value or 1 for d in item.type.tensor_type.shape.dim]
        if any(not d.dim_value for d in item.type.tensor_type.shape.dim):
            shapes.append(InputShape(item.name, tuple(dims), tuple(dims), tuple(dims)))
    return (ShapeProfile(tuple(shapes)),) if shapes else ()


# -- TensorRT's parser texts in plain words ----------------------------------------------------

# Texts seen from TensorRT-RTX 1.7's parser (ParserError.desc()).
PARSER_TEXTS = {
    "cycle": "Assertion failed: toposort(graph.node(), &topoOrder, subgraphOuterDeps): Failed to "
    "sort the model topologically.",
    "dangling": "Assertion failed: (ctx->tensors().count(inputName)): Node input was not "
    "registered.",
    "conv": "Assertion failed: checkSpatialDims(kernelTensor->getDimensions()): The input tensor "
    "shape misaligns with the input kernel shape.",
    "weights": "Failed to import initializer: In node -1 with name:  and operator:  "
    "(importInitializers): UNSUPPORTED_NODE: Assertion failed: ctx->getWeightsContext()."
    "convertOnnxWeights(initializer, &weights): Failed to import initializer: w",
}


def test_parser_asserts_in_plain_words() -> None:
    assert explain_parser_error(PARSER_TEXTS["cycle"], "INVALID_GRAPH").startswith(
        "the graph has a cycle"
    )
    assert explain_parser_error(PARSER_TEXTS["dangling"], "INVALID_GRAPH", "r", "Relu").startswith(
        "node 'r' (Relu) reads a tensor that no node"
    )
    assert explain_parser_error(PARSER_TEXTS["conv"], "UNSUPPORTED_NODE") == (
        "the kernel_shape of a Conv node does not match its weights: re-export the model"
    )
    assert "initializer 'w' could not be read" in explain_parser_error(PARSER_TEXTS["weights"])
    # An empty operator name is no longer reported as "no layer for the operator ".
    for text in PARSER_TEXTS.values():
        words = explain_parser_error(text, "UNSUPPORTED_NODE")
        assert "Assertion failed" not in words and "ctx->" not in words and "operator " not in words
    generic = explain_parser_error("Assertion failed: foo(bar): The thing is odd. Extra.", "X")
    assert generic == "The thing is odd"


def test_facts_are_json_friendly(made_models) -> None:  # type: ignore[no-untyped-def]
    facts = precheck_model(made_models["static_conv"].path)
    json.dumps(facts.__dict__)
