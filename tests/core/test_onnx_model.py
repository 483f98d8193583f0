"""inspect_onnx / check_onnx / require_external_data on generated, real and broken files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.onnx_factory import OPSET, MadeModel
from trtgui.core.errors import ModelLoadError
from trtgui.core.model.external_data import ExternalDataFile
from trtgui.core.model.onnx_model import (
    ModelInfo,
    check_onnx,
    inspect_onnx,
    require_external_data,
)
from trtgui.core.tensors import TensorSpec


def _plain_op(key: str) -> str:
    return key.split(":")[-1]


@pytest.mark.parametrize(
    "name",
    [
        "static_conv",
        "dynamic_batch",
        "dynamic_spatial",
        "multi_io",
        "external_data",
        "unknown_op",
    ],
)
def test_factory_models_match_expectations(made_models: dict[str, MadeModel], name: str) -> None:
    made = made_models[name]
    info = inspect_onnx(made.path)
    assert [(t.name, t.dtype, t.shape) for t in info.inputs] == [
        (e.name, e.dtype, e.shape) for e in made.inputs
    ]
    assert [(t.name, t.dtype, t.shape) for t in info.outputs] == [
        (e.name, e.dtype, e.shape) for e in made.outputs
    ]
    assert {_plain_op(k): v for k, v in info.op_histogram.items()} == made.ops
    assert info.node_count == sum(made.ops.values())
    assert info.opsets[""] == OPSET
    assert info.ir_version == 8
    assert info.file_size == made.path.stat().st_size
    assert info.graph_name == name
    assert info.shape_inference_ok, info.shape_inference_error
    assert info.is_dynamic == any(t.is_dynamic for t in info.inputs)
    # the JSON form round-trips through json and keeps the shapes
    data = json.loads(json.dumps(info.to_dict()))
    assert data["inputs"][0]["shape"] == list(made.inputs[0].shape)
    assert check_onnx(made.path) == []


def test_every_factory_model_is_covered(made_models: dict[str, MadeModel]) -> None:
    assert set(made_models) == {
        "static_conv",
        "dynamic_batch",
        "dynamic_spatial",
        "multi_io",
        "external_data",
        "unknown_op",
    }


def test_parameters_counted_from_dims(made_models: dict[str, MadeModel]) -> None:
    info = inspect_onnx(made_models["static_conv"].path)
    assert info.initializer_count == 2
    assert info.parameter_count == 8 * 3 * 3 * 3 + 8
    assert info.parameter_bytes == info.parameter_count * 4
    assert info.custom_ops == ()
    assert info.external_data == ()


def test_dynamic_flags(made_models: dict[str, MadeModel]) -> None:
    assert not inspect_onnx(made_models["static_conv"].path).is_dynamic
    spatial = inspect_onnx(made_models["dynamic_spatial"].path)
    assert spatial.inputs[0].is_dynamic
    assert spatial.inputs[0].shape_text() == "N×3×H×W"  # issue #10: one notation
    assert TensorSpec("t", "float32", (None, 3)).shape_text() == "?×3"
    assert TensorSpec("t", "float32", None).is_dynamic


def test_unknown_custom_op_is_listed(made_models: dict[str, MadeModel]) -> None:
    info = inspect_onnx(made_models["unknown_op"].path)
    assert info.custom_ops == ("com.example:FancyOp",)
    assert info.op_histogram == {"Relu": 1, "com.example:FancyOp": 1}
    assert info.opsets == {"": OPSET, "com.example": 1}


def test_external_data_present(made_models: dict[str, MadeModel]) -> None:
    made = made_models["external_data"]
    info = inspect_onnx(made.path)
    bin_path = made.path.parent / "external_data.bin"
    assert info.external_data == (
        ExternalDataFile(
            "external_data.bin", bin_path, True, (64 * 3 * 3 * 3 + 64) * 4, bin_path.stat().st_size
        ),
    )
    assert info.missing_external_data == ()
    assert info.parameter_count == 64 * 3 * 3 * 3 + 64
    # the graph file is tiny: weights were not read into it
    assert info.file_size < 1000
    require_external_data(info)  # no error


def test_external_data_missing(made_models: dict[str, MadeModel], tmp_path: Path) -> None:
    lonely = tmp_path / "external_data.onnx"
    shutil.copy(made_models["external_data"].path, lonely)
    info = inspect_onnx(lonely)  # inspection still works without the weights
    assert [t.name for t in info.inputs] == ["input"]
    (ext,) = info.external_data
    assert (ext.location, ext.exists, ext.actual_bytes) == ("external_data.bin", False, None)
    assert info.missing_external_data == (ext,)
    with pytest.raises(ModelLoadError) as err:
        require_external_data(info)
    assert str(err.value).startswith(
        "Weights file external_data.bin is missing: put it next to the model"
    )
    assert "\n" not in str(err.value)
    assert str(ext.path) in err.value.details
    # the checker reports the missing file as a finding
    assert any("external_data.bin" in f for f in check_onnx(lonely))


def test_external_data_truncated(made_models: dict[str, MadeModel], tmp_path: Path) -> None:
    src = made_models["external_data"].path
    shutil.copy(src, tmp_path / src.name)
    (tmp_path / "external_data.bin").write_bytes(
        (src.parent / "external_data.bin").read_bytes()[:100]
    )
    info = inspect_onnx(tmp_path / src.name)
    assert info.external_data[0].truncated
    with pytest.raises(ModelLoadError, match="incomplete"):
        require_external_data(info)


def _subgraph_model(path: Path) -> None:
    """An If node with a Constant weight in each branch, and metadata."""

    def branch(name: str, value: float) -> onnx.GraphProto:
        const = helper.make_node(
            "Constant",
            [],
            [f"{name}_out"],
            value=numpy_helper.from_array(np.full((2, 3), value, np.float32)),
        )
        return helper.make_graph(
            [const],
            name,
            [],
            [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, [2, 3])],
        )

    node = helper.make_node(
        "If", ["cond"], ["y"], then_branch=branch("then", 1.0), else_branch=branch("else", 2.0)
    )
    graph = helper.make_graph(
        [node],
        "with_if",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="unit-test"
    )
    model.ir_version = 8
    helper.set_model_props(model, {"author": "tests", "task": "branching"})
    onnx.save(model, str(path))


def test_subgraphs_metadata_and_rank_unknown(tmp_path: Path) -> None:
    path = tmp_path / "with_if.onnx"
    _subgraph_model(path)
    info = inspect_onnx(path)
    assert info.op_histogram == {"Constant": 2, "If": 1}
    assert info.node_count == 3
    assert info.parameter_count == 12  # Constant-node weights count as parameters
    assert info.inputs == (TensorSpec("cond", "bool", ()),)
    assert info.outputs[0].shape is None
    assert info.metadata == {"author": "tests", "task": "branching"}
    assert info.producer_name == "unit-test"


def test_old_ir_initializers_are_not_inputs_and_unknown_dims(tmp_path: Path) -> None:
    """IR 3 models list initializers among graph inputs; -1 and '?' dims mean unknown."""
    w = numpy_helper.from_array(np.ones((4, 2), np.float32), "w")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT16, [-1, "?"])
    x.type.tensor_type.shape.dim[0].ClearField("dim_param")
    x.type.tensor_type.shape.dim[0].dim_value = -1
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "old",
        [x, helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [None, 2])],
        initializer=[w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    model.ir_version = 3
    path = tmp_path / "old.onnx"
    onnx.save(model, str(path))
    info = inspect_onnx(path)
    assert info.inputs == (TensorSpec("x", "float16", (None, None)),)
    assert info.outputs == (TensorSpec("y", "float16", (None, 2), is_input=False),)
    assert info.initializer_count == 1


def test_shape_inference_failure_is_recorded(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["c"])],
        "mismatch",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [4, 5]),
        ],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    path = tmp_path / "mismatch.onnx"
    onnx.save(model, str(path))
    info = inspect_onnx(path)
    assert not info.shape_inference_ok
    assert "Add" in info.shape_inference_error or "broadcast" in info.shape_inference_error.lower()
    assert "\n" not in info.shape_inference_error


def test_checker_findings(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("NoSuchOp", ["a"], ["b"])],
        "bad",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    path = tmp_path / "bad.onnx"
    onnx.save(model, str(path))
    findings = check_onnx(path)
    assert findings and any("NoSuchOp" in f for f in findings)
    assert inspect_onnx(path).op_histogram == {"NoSuchOp": 1}


# ---------------------------------------------------------------------------------------------
# Real models (../shared/models/README.md).

REAL = {
    "efficientnet_lite0_dynbatch.onnx": (
        [("input", "float32", ("batch", 3, 224, 224))],
        [("logits", "float32", ("batch", 1000))],
    ),
    "ch_PP-OCRv4_det_infer.onnx": (
        [
            (
                "x",
                "float32",
                ("p2o.DynamicDimension.0", 3, "p2o.DynamicDimension.1", "p2o.DynamicDimension.2"),
            )
        ],
        [
            (
                "sigmoid_0.tmp_0",
                "float32",
                ("p2o.DynamicDimension.3", 1, "p2o.DynamicDimension.4", "p2o.DynamicDimension.5"),
            )
        ],
    ),
    # exported with -1 and "?" dims: both unknown
    "ch_ppocr_mobile_v2.0_cls_infer.onnx": (
        [("x", "float32", (None, 3, None, None))],
        [("save_infer_model/scale_0.tmp_1", "float32", (None, 2))],
    ),
    "mtcnn_pnet.onnx": (
        [("input", "float32", ("batch", 3, "height", "width"))],
        [
            ("reg", "float32", ("batch", 4, "oh", "ow")),
            ("prob", "float32", ("batch", 2, "oh", "ow")),
        ],
    ),
}


@pytest.mark.parametrize("filename", sorted(REAL))
def test_real_models_match_readme(shared_models: Path, filename: str) -> None:
    info = inspect_onnx(shared_models / "onnx" / filename)
    inputs, outputs = REAL[filename]
    assert [(t.name, t.dtype, t.shape) for t in info.inputs] == inputs
    assert [(t.name, t.dtype, t.shape) for t in info.outputs] == outputs
    assert all(t.is_dynamic for t in info.inputs)
    assert info.shape_inference_ok, info.shape_inference_error
    assert info.custom_ops == ()
    assert info.external_data == ()
    assert info.parameter_count > 0
    assert check_onnx(shared_models / "onnx" / filename) == []


def test_real_efficientnet_details(shared_models: Path) -> None:
    info = inspect_onnx(shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx")
    assert info.opsets == {"": 17}
    assert info.producer_name == "pytorch"
    assert 4_500_000 < info.parameter_count < 4_800_000  # EfficientNet-Lite0: ~4.65 M
    assert "Conv" in info.op_histogram
    counts = list(info.op_histogram.values())
    assert counts == sorted(counts, reverse=True)


# ---------------------------------------------------------------------------------------------
# Bad input: always ModelLoadError, one line, no traceback text.


def _assert_short(err: ModelLoadError, *words: str) -> None:
    message = str(err)
    assert "\n" not in message
    assert len(message) < 200
    assert "Traceback" not in message
    for word in words:
        assert word.lower() in message.lower(), message
    assert err.details


def _load_error(path: Path) -> ModelLoadError:
    with pytest.raises(ModelLoadError) as info:
        inspect_onnx(path)
    with pytest.raises(ModelLoadError):
        check_onnx(path)
    return info.value


def test_missing_path(tmp_path: Path) -> None:
    _assert_short(_load_error(tmp_path / "nope.onnx"), "does not exist", "check the path")


def test_directory(tmp_path: Path) -> None:
    _assert_short(_load_error(tmp_path), "folder")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.onnx").write_bytes(b"")
    _assert_short(_load_error(tmp_path / "empty.onnx"), "empty")


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "random.onnx"
    # Fixed bytes that no protobuf parser accepts (an invalid wire type 7 right away).
    path.write_bytes(bytes([0x0F]) + np.random.default_rng(1).bytes(4096))
    _assert_short(_load_error(path), "not a valid ONNX model")


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_any_seed(tmp_path: Path, seed: int) -> None:
    """Random data either fails to parse or parses into something with no graph."""
    path = tmp_path / "random.onnx"
    path.write_bytes(np.random.default_rng(seed).bytes(2048))
    _assert_short(_load_error(path), "ONNX model")


def test_truncated_protobuf(made_models: dict[str, MadeModel], tmp_path: Path) -> None:
    data = made_models["static_conv"].path.read_bytes()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    _assert_short(_load_error(path), "not a valid ONNX model", "again")


def test_png_renamed(shared_models: Path, tmp_path: Path) -> None:
    path = tmp_path / "photo.onnx"
    shutil.copy(shared_models / "images" / "coffee.png", path)
    _assert_short(_load_error(path), "PNG image", "not an ONNX model")


def test_png_renamed_no_shared(tmp_path: Path) -> None:
    path = tmp_path / "photo.onnx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    _assert_short(_load_error(path), "PNG image")


@pytest.mark.parametrize(
    ("head", "words"),
    [
        (b"PK\x03\x04rest", "ZIP"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\n", "git lfs pull"),
        (b"<!DOCTYPE html><html></html>", "HTML"),
        (b"\x80\x04\x95pickle", "pickle"),
    ],
)
def test_other_formats_named(tmp_path: Path, head: bytes, words: str) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(head)
    _assert_short(_load_error(path), words)


def test_protobuf_that_is_not_a_model(tmp_path: Path) -> None:
    # a well-formed protobuf message with model fields but no graph
    header = onnx.ModelProto(ir_version=8, producer_name="header-only")
    path = tmp_path / "header.onnx"
    path.write_bytes(header.SerializeToString())
    _assert_short(_load_error(path), "no graph")
    # another ONNX message type (a tensor .pb) saved as .onnx
    tensor = numpy_helper.from_array(np.arange(10, dtype=np.float32), "t")
    path = tmp_path / "tensor.onnx"
    path.write_bytes(tensor.SerializeToString())
    _assert_short(_load_error(path), "ONNX model")


def test_unreadable_file(made_models: dict[str, MadeModel], tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions (see the monkeypatched test)")
    path = tmp_path / "locked.onnx"
    shutil.copy(made_models["static_conv"].path, path)
    path.chmod(0)
    try:
        _assert_short(_load_error(path), "permission denied")
    finally:
        path.chmod(0o644)


def test_unreadable_file_simulated(
    made_models: dict[str, MadeModel], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read path raises PermissionError as the OS does for a user without access."""
    import os

    path = tmp_path / "locked.onnx"
    shutil.copy(made_models["static_conv"].path, path)
    real_open = os.open

    def refuse(name: object, *args: object, **kwargs: object) -> int:
        if Path(str(name)) == path:
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)  # type: ignore[arg-type]

    # Files are opened through trtgui.core.reading (os.open with O_NONBLOCK: issue #12).
    monkeypatch.setattr(os, "open", refuse)
    _assert_short(_load_error(path), "permission denied", "read access")


def test_model_info_is_frozen(made_models: dict[str, MadeModel]) -> None:
    info = inspect_onnx(made_models["static_conv"].path)
    assert isinstance(info, ModelInfo)
    with pytest.raises(AttributeError):
        info.node_count = 3  # type: ignore[misc]


# -- invalid UTF-8 in string fields ---------------------------------------------------------------
# ONNX string fields are proto2 `string`s: a damaged file or a faulty exporter can put any bytes
# in them, and protobuf then hands back `bytes`. Placeholders of the same length keep the framing.


def _utf8_model(tmp_path: Path, placeholder: bytes, bad: bytes = b"\xc1\xc1") -> Path:
    """A Relu model whose every occurrence of `placeholder` has its first bytes made invalid."""
    f32 = TensorProto.FLOAT
    graph = helper.make_graph(
        [helper.make_node("Relu", ["TXin"], ["TXout"], name="r", domain="")],
        "g",
        [helper.make_tensor_value_info("TXin", f32, ["DXim", 4])],
        [helper.make_tensor_value_info("TXout", f32, ["DXim", 4])],
        doc_string="DOCX text",
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    model.producer_name = "PRDX"
    helper.set_model_props(model, {"MKEY": "MVAL"})
    data = model.SerializeToString()
    assert placeholder in data
    path = tmp_path / "bad_utf8.onnx"
    path.write_bytes(data.replace(placeholder, bad + placeholder[len(bad) :]))
    return path


@pytest.mark.parametrize(
    ("placeholder", "where"),
    [
        (b"DOCX", "doc_string"),
        (b"PRDX", "producer_name"),
        (b"MKEY", "metadata"),
        (b"MVAL", "metadata"),
        (b"DXim", "inputs"),
    ],
)
def test_invalid_utf8_in_descriptive_text_is_shown_replaced(
    tmp_path: Path, placeholder: bytes, where: str
) -> None:
    info = inspect_onnx(_utf8_model(tmp_path, placeholder))
    text = json.dumps(info.to_dict(), ensure_ascii=False)  # always serializable
    assert "\ufffd" in json.dumps(info.to_dict()[where], ensure_ascii=False)
    assert "\ufffd" in text
    assert info.op_histogram == {"Relu": 1}
    assert [t.name for t in info.inputs] == ["TXin"]


@pytest.mark.parametrize(
    ("placeholder", "bad", "words"),
    [
        (b"TXin", b"\xc1\xc1", ["an input name", r"\xc1\xc1in"]),
        (b"TXout", b"\xff", ["an output name", r"\xffXout"]),
        (b"Relu", b"R\xc1", ["an operator name", r"R\xc1lu"]),
    ],
)
def test_invalid_utf8_in_names_is_refused(
    tmp_path: Path, placeholder: bytes, bad: bytes, words: list[str]
) -> None:
    path = _utf8_model(tmp_path, placeholder, bad)
    with pytest.raises(ModelLoadError) as info:
        inspect_onnx(path)
    message = str(info.value)
    for word in ["bad_utf8.onnx", "not valid UTF-8", "re-export", *words]:
        assert word in message
    assert "\n" not in message
    assert placeholder[len(bad) :].decode() in info.value.details


def test_invalid_utf8_in_a_custom_domain_is_refused(tmp_path: Path) -> None:
    f32 = TensorProto.FLOAT
    graph = helper.make_graph(
        [helper.make_node("MyOp", ["x"], ["y"], name="n", domain="DOMX.custom")],
        "g",
        [helper.make_tensor_value_info("x", f32, [1])],
        [helper.make_tensor_value_info("y", f32, [1])],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("DOMX.custom", 1)],
    )
    model.ir_version = 8
    path = tmp_path / "bad_domain.onnx"
    path.write_bytes(model.SerializeToString().replace(b"DOMX", b"\xc1OMX"))
    with pytest.raises(ModelLoadError, match="not valid UTF-8"):
        inspect_onnx(path)
