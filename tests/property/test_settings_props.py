"""Properties of `BuildSettings` JSON: random settings round-trip exactly, and random JSON
gives either settings or `SettingsError`, nothing else."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import SettingsError
from trtgui.core.imaging import PreprocessSpec
from trtgui.core.model.profiles import InputShape, Precision, ShapeProfile

text = st.text(max_size=20)
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
small = st.integers(-(1 << 40), 1 << 40)
shape = st.lists(st.integers(0, 1 << 20), max_size=5).map(tuple)

input_shapes = st.builds(InputShape, name=text, min=shape, opt=shape, max=shape)
profiles = st.lists(
    st.builds(ShapeProfile, inputs=st.lists(input_shapes, max_size=3).map(tuple)), max_size=3
).map(tuple)
# The preprocessing schema range-checks sides (1..8192), pad values (0..255) and the multiple
# (1..256): random specs stay inside those ranges so they must round-trip exactly.
side = st.integers(1, 8192)
preprocess = st.builds(
    PreprocessSpec,
    height=side,
    width=side,
    resize=text,
    resize_short=st.one_of(st.none(), side),
    pad_value=st.floats(0, 255),
    channel_order=text,
    layout=text,
    scale=floats,
    mean=st.lists(floats, max_size=4).map(tuple),
    std=st.lists(floats, max_size=4).map(tuple),
    dtype=text,
    preset=text,
    limit_side=st.one_of(st.none(), side),
    multiple=st.integers(1, 256),
)
build_settings = st.builds(
    BuildSettings,
    onnx_path=text,
    output_path=text,
    backend=st.sampled_from(("", "tensorrt", "rtx")),
    precision=st.sampled_from(list(Precision)),
    profiles=profiles,
    workspace_bytes=st.one_of(st.none(), st.integers(1, 1 << 40)),  # the schema caps it at 1 TiB
    optimization_level=st.integers(0, 5),
    timing_cache_path=text,
    profiling_verbosity=st.sampled_from(("layer_names_only", "detailed", "none")),
    version_compatible=st.booleans(),
    hardware_compatibility=text,
    compute_capabilities=st.lists(text, max_size=3).map(tuple),
    calibration_dir=text,
    # the settings schema allows 1 to 100,000 calibration images
    calibration_max_images=st.integers(1, 100_000),
    preprocess=st.one_of(st.none(), preprocess),
    keep_converted_onnx=st.booleans(),
    accept_accuracy_loss=st.booleans(),
)


@settings(max_examples=100)
@given(build_settings)
def test_json_round_trip(s: BuildSettings) -> None:
    again = BuildSettings.from_json(s.to_json())
    assert again == s
    assert again.to_json() == s.to_json()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | floats | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
KEYS = sorted(BuildSettings.__dataclass_fields__)
# Python's own error texts, which must never be what a user reads.
JARGON = ("object is not", "NoneType", "unexpected keyword", "positional argument", "Traceback")


def assert_clear(err: SettingsError) -> None:
    assert err.message and "\n" not in err.message
    for word in JARGON:
        assert word not in err.message, err.message


@settings(max_examples=100)
@given(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5))
def test_random_dicts_give_settings_or_settings_error(data: dict[str, Any]) -> None:
    try:
        result = BuildSettings.from_dict(data)
    except SettingsError as err:
        assert_clear(err)
    else:
        assert isinstance(result, BuildSettings)


@settings(max_examples=60)
@given(st.one_of(st.text(max_size=40), json_values.map(json.dumps)))
def test_random_text_gives_settings_or_settings_error(raw: str) -> None:
    try:
        BuildSettings.from_json(raw)
    except SettingsError as err:
        assert_clear(err)
