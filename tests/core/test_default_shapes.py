"""default_shapes: the shapes `run` and `bench` choose for dynamic dims nobody gave, and
record_profile: the profile an engine's build record names."""

from __future__ import annotations

import json
from pathlib import Path

from trtgui.core.engine.default_shapes import default_shapes, record_profile
from trtgui.core.model.profiles import SUGGESTED_SPATIAL, InputShape, ShapeProfile
from trtgui.core.tensors import TensorSpec


def _shapes(*inputs: TensorSpec, **kwargs: object) -> dict[str, tuple[int, ...]]:
    return {d.name: d.shape for d in default_shapes(inputs, **kwargs)}  # type: ignore[arg-type]


def test_static_and_given_inputs_need_no_default() -> None:
    static = TensorSpec("x", "float32", (1, 3, 8, 8))
    dynamic = TensorSpec("y", "float32", ("batch", 4))
    assert default_shapes((static,)) == ()
    assert default_shapes((static, dynamic), given={"y": (2, 4)}) == ()


def test_image_inputs_take_the_build_suggestion_other_dims_are_1() -> None:
    # PP-OCRv4 det declares x as [N, 3, H, W] with generated names (models/README.md).
    image = TensorSpec("x", "float32", ("p2o.0", 3, "p2o.1", "p2o.2"))
    ids = TensorSpec("ids", "int64", ("?", "seq"))
    opt = SUGGESTED_SPATIAL[1]  # build's suggested profile: opt height and width
    assert _shapes(image, ids) == {"x": (1, 3, opt, opt), "ids": (1, 1)}  # 1: Polygraphy's rule
    # NHWC: channels last stay as declared, height and width are the spatial dims.
    nhwc = TensorSpec("img", "uint8", ("n", "h", "w", 3))
    assert _shapes(nhwc) == {"img": (1, opt, opt, 3)}
    # Unknown dims (None) are dynamic too; unknown rank cannot be guessed.
    assert _shapes(TensorSpec("v", "float32", (None, 7))) == {"v": (1, 7)}
    assert _shapes(TensorSpec("u", "float32", None)) == {}


def test_symbolic_dims_keep_one_value_across_inputs() -> None:
    mask = TensorSpec("mask", "float32", ("N", "H"))  # listed first on purpose
    image = TensorSpec("image", "float32", ("N", 3, "H", "W"))
    opt = SUGGESTED_SPATIAL[1]
    # The image decides H even though the mask comes first.
    assert _shapes(mask, image) == {"mask": (1, opt), "image": (1, 3, opt, opt)}
    # A given shape decides the dims it names for the others.
    (chosen,) = default_shapes((mask, image), given={"image": (2, 3, 64, 32)})
    assert chosen.shape == (2, 64) and chosen.source == "N, H as for the other inputs"
    # ONNX Runtime's "?" is no name: two "?" dims are unrelated.
    a = TensorSpec("a", "float32", ("?", 3, "?", "?"))
    b = TensorSpec("b", "float32", ("?", 5))
    assert _shapes(a, b) == {"a": (1, 3, opt, opt), "b": (1, 5)}


def test_profile_opt_comes_first_when_it_fits() -> None:
    image = TensorSpec("x", "float32", ("N", 3, "H", "W"))
    other = TensorSpec("y", "float32", ("N", 10))
    profile = ShapeProfile((InputShape("x", (1, 3, 32, 32), (4, 3, 64, 96), (8, 3, 128, 128)),))
    (x, y) = default_shapes((image, other), profiles=[("the engine's build record", profile)])
    assert x.shape == (4, 3, 64, 96) and x.source == "the opt shape of the engine's build record"
    assert y.shape == (4, 10)  # N follows the profile's batch
    # The first source that fits wins; one of another rank or static dims is passed over.
    wrong = ShapeProfile((InputShape("x", (1, 4, 8, 8), (1, 4, 8, 8), (1, 4, 8, 8)),))
    picks = default_shapes((image,), profiles=[("a.json", wrong), ("b.json", profile)])
    assert picks[0].shape == (4, 3, 64, 96) and "b.json" in picks[0].source


def test_record_profile_reads_the_build_record(tmp_path: Path) -> None:
    engine = tmp_path / "m.engine"
    assert record_profile(engine) == (None, "")  # no record: nothing to say
    record = Path(f"{engine}.json")
    profile = {"inputs": [{"name": "x", "min": [1, 3], "opt": [2, 3], "max": [4, 3]}]}
    record.write_text(json.dumps({"profiles": [profile]}))
    got, problem = record_profile(engine)
    assert problem == "" and got is not None and got.inputs[0].opt == (2, 3)
    # Older records hold the profiles only under "settings".
    record.write_text(json.dumps({"settings": {"profiles": [profile]}}))
    assert record_profile(engine)[0] == got
    record.write_text(json.dumps({"profiles": [{"inputs": [{"name": "x", "opt": "big"}]}]}))
    got, problem = record_profile(engine)
    # The build record's reader names the bad field (it was "the build record's profiles are
    # unreadable" when this module read the record itself).
    assert got is None and "bad field" in problem and "profiles[0]" in problem
