"""TensorRT's shape-constraint failures in plain words, naming the input dims that vary."""

from __future__ import annotations

from trtgui.core.build.failures import explain_build_failure
from trtgui.core.model.profiles import InputShape, ShapeProfile

PROFILE = (ShapeProfile((InputShape("x", (1, 3, 32, 32), (1, 3, 224, 224), (8, 3, 1024, 1024)),)),)


def test_reshape_fixed_at_export_names_the_dims() -> None:
    # The line issue #14 quotes from a TensorRT build of ch_PP-OCRv3_rec with that profile.
    line = (
        "IShuffleLayer p2o.Reshape.79: reshaping failed for tensor: p2o.Transpose.3 "
        "Reshape would change volume 13440 to 3360"
    )
    err = explain_build_failure([line], (), PROFILE)
    message = str(err.args[0])
    assert message.startswith("TensorRT rejected the shape profile: layer 'p2o.Reshape.79'")
    assert "input 'x' dimension 2 (32/224/1024), dimension 3 (32/224/1024)" in message
    assert "\n" not in message and line in (err.details or "")


def test_without_profiles_still_explained() -> None:
    line = "Error Code 4: kMAX values for profile 0 violate shape constraints: Concat_1: bad."
    message = str(explain_build_failure([line]).args[0])
    assert "layer 'Concat_1' cannot work (bad)" in message and "varies" not in message
