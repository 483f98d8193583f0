"""Shape-profile suggestion and validation, and the CLI's shape/size parsers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trtgui.core.build.settings import BuildSettings, parse_size
from trtgui.core.errors import ProfileError, SettingsError
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.model.profiles import (
    InputShape,
    ShapeProfile,
    parse_shape_arg,
    suggest_profiles,
    validate_profiles,
)
from trtgui.core.shapes import shape_arg


@dataclass(frozen=True)
class T:
    name: str
    shape: tuple[int | str | None, ...] | None


@dataclass(frozen=True)
class M:
    inputs: tuple[T, ...]


def profile(*items: InputShape) -> tuple[ShapeProfile, ...]:
    return (ShapeProfile(items),)


def test_suggest_static_model_gives_nothing(made_models) -> None:  # type: ignore[no-untyped-def]
    assert suggest_profiles(inspect_onnx(made_models["static_conv"].path)) == ()


def test_suggest_dynamic_batch(made_models) -> None:  # type: ignore[no-untyped-def]
    model = inspect_onnx(made_models["dynamic_batch"].path)
    (prof,) = suggest_profiles(model)
    item = prof.get("input")
    assert item is not None
    assert (item.min, item.opt, item.max) == ((1, 3, 16, 16), (1, 3, 16, 16), (8, 3, 16, 16))
    validate_profiles(model, (prof,))


def test_suggest_dynamic_spatial_is_valid(made_models) -> None:  # type: ignore[no-untyped-def]
    model = inspect_onnx(made_models["dynamic_spatial"].path)
    profiles = suggest_profiles(model)
    item = profiles[0].get("input")
    assert item is not None and item.min[2] == item.min[3] and item.max[2] % 32 == 0
    validate_profiles(model, profiles)


def test_suggest_shares_values_of_same_named_dims() -> None:
    model = M((T("a", ("n", 3, "s", "s")), T("b", ("n", "k"))))
    (prof,) = suggest_profiles(model)
    a, b = prof.get("a"), prof.get("b")
    assert a is not None and b is not None
    assert a.max[0] == b.max[0]
    validate_profiles(model, (prof,))


def test_suggest_shared_models_are_valid(shared_models) -> None:  # type: ignore[no-untyped-def]
    for path in sorted((shared_models / "onnx").glob("*.onnx")):
        model = inspect_onnx(path)
        validate_profiles(model, suggest_profiles(model))


MODEL = M((T("input", ("batch", 3, 224, 224)),))


@pytest.mark.parametrize(
    ("shapes", "words"),
    [
        (
            InputShape("input", (1, 3, 224), (1, 3, 224), (1, 3, 224)),
            ["'input'", "4 dimensions", "gives 3"],
        ),
        (
            InputShape("input", (1, 3, 224, 224), (1, 3, 224, 224), (4, 3, 224, 200)),
            ["'input'", "dimension 3", "fixed at 224"],
        ),
        (
            InputShape("input", (0, 3, 224, 224), (1, 3, 224, 224), (4, 3, 224, 224)),
            ["'input'", "dimension 0", "'batch'", "1 or more"],
        ),
        (
            InputShape("input", (4, 3, 224, 224), (2, 3, 224, 224), (8, 3, 224, 224)),
            ["'input'", "dimension 0", "min <= opt <= max", "4 / 2 / 8"],
        ),
        (InputShape("image", (1,), (1,), (1,)), ["'image'", "no input"]),
    ],
)
def test_validation_names_input_and_dimension(shapes: InputShape, words: list[str]) -> None:
    with pytest.raises(ProfileError) as info:
        validate_profiles(MODEL, profile(shapes))
    for word in words:
        assert word in str(info.value)


def test_dynamic_input_without_profile_is_rejected() -> None:
    with pytest.raises(ProfileError, match="'input'"):
        validate_profiles(MODEL, ())
    with pytest.raises(ProfileError, match="'b' is dynamic"):
        validate_profiles(
            M((T("a", (1, 2)), T("b", ("n", 2)))),
            profile(InputShape("a", (1, 2), (1, 2), (1, 2))),
        )


def test_shared_name_must_match() -> None:
    model = M((T("x", ("n", 3, "s", "s")),))
    bad = InputShape("x", (1, 3, 32, 32), (1, 3, 64, 32), (1, 3, 64, 64))
    with pytest.raises(ProfileError, match="share the name 's'"):
        validate_profiles(model, profile(bad))


def test_static_model_needs_no_profile() -> None:
    validate_profiles(M((T("a", (1, 4)),)), ())


def test_parse_shape_arg() -> None:
    item = parse_shape_arg("input:1x3x224x224:4x3x224x224:8x3x224x224")
    assert item == InputShape("input", (1, 3, 224, 224), (4, 3, 224, 224), (8, 3, 224, 224))
    assert parse_shape_arg("ns:x:2x3") == InputShape("ns:x", (2, 3), (2, 3), (2, 3))
    assert parse_shape_arg("a:b:1:2:3").name == "a:b"
    assert parse_shape_arg("input:1:2") == InputShape("input:1", (2,), (2,), (2,))
    # Negative and zero dims are read as written; validate_profiles says what is wrong.
    assert parse_shape_arg("input:-1x3:1x3:2x3").min == (-1, 3)
    assert parse_shape_arg("input:0x-3") == InputShape("input", (0, -3), (0, -3), (0, -3))
    for bad in ("input", "input:1x3:2xA:3x3", ":1:1:1", "input:", "input:1x3:2x3:", "in:-x3"):
        with pytest.raises(SettingsError):
            parse_shape_arg(bad)


@given(st.lists(st.integers(1, 4096), min_size=1, max_size=5))
def test_shape_text_round_trip(dims: list[int]) -> None:
    text = shape_arg(dims)
    assert parse_shape_arg(f"t:{text}:{text}:{text}").opt == tuple(dims)


def test_parse_size() -> None:
    assert parse_size("2G") == 2 * 1024**3
    assert parse_size("512M") == 512 * 1024**2
    assert parse_size("1.5GiB") == int(1.5 * 1024**3)
    assert parse_size("4096") == 4096
    assert parse_size("64 kb") == 64 * 1024
    for bad in ("", "G", "-1G", "2X", "two"):
        with pytest.raises(SettingsError):
            parse_size(bad)


def test_settings_round_trip_with_profiles() -> None:
    s = BuildSettings(
        onnx_path="m.onnx",
        profiles=profile(InputShape("input", (1, 3, 8, 8), (2, 3, 8, 8), (4, 3, 8, 8))),
        compute_capabilities=("8.6",),
    )
    assert BuildSettings.from_json(s.to_json()) == s


def test_every_field_has_a_type_reader() -> None:
    # The readers are pydantic schemas now (issue #12): one schema field per record field,
    # each saying in words what it must be.
    from dataclasses import fields

    from trtgui.core.build import settings as mod
    from trtgui.core.imaging import spec

    assert set(mod.SettingsFile.model_fields) == {f.name for f in fields(BuildSettings)}
    assert set(spec.SpecFile.model_fields) == {f.name for f in fields(spec.PreprocessSpec)}
    for schema in (mod.SettingsFile, spec.SpecFile):
        assert all(f.description for f in schema.model_fields.values()), schema


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"profiles": 5}, "profiles must be a list of profiles, got 5."),
        ({"profiles": None}, "profiles must be a list of profiles, got null."),
        # The item is named by its place in the file (issue #12: name the wrong field).
        ({"profiles": [3]}, 'profiles[0] must be an object with an "inputs" list, got 3.'),
        ({"compute_capabilities": 8}, "compute_capabilities must be a list"),
        ({"compute_capabilities": "8.6"}, 'got "8.6"'),
        ({"precision": 16}, "precision must be one of fp32, fp16, bf16, int8, auto, got 16."),
        ({"preprocess": 5}, "preprocess must be an object of preprocessing settings or null"),
        ({"preprocess": {"mean": 0.5}}, "preprocess.mean must be a list of numbers, got 0.5."),
        ({"preprocess": {"mean": ["a"]}}, 'preprocess.mean must be a list of numbers, got ["a"]'),
        ({"preprocess": {"height": "224"}}, 'preprocess.height must be an integer, got "224".'),
        ({"preprocess": {"sise": 3}}, 'Unknown preprocess setting "sise"'),
        ({"version_compatible": "yes"}, 'version_compatible must be true or false, got "yes".'),
        ({"keep_converted_onnx": 1}, "keep_converted_onnx must be true or false, got 1."),
        ({"calibration_max_images": "64"}, "calibration_max_images must be an integer"),
        ({"optimization_level": True}, "optimization_level must be an integer, got true."),
        ({"workspace_bytes": "2G"}, 'workspace_bytes must be an integer or null, got "2G".'),
        ({"profiling_verbosity": 0}, "profiling_verbosity must be a string, got 0."),
        ({"onnx_path": ""}, None),  # an empty path is a valid (unset) value
    ],
)
def test_wrong_types_are_named(data: dict[str, object], message: str | None) -> None:
    if message is None:
        BuildSettings.from_dict(data)
        return
    with pytest.raises(SettingsError) as info:
        BuildSettings.from_dict(data)
    assert message in str(info.value)
    assert "object is not" not in str(info.value) and "argument" not in str(info.value)


def test_types_written_loosely_are_still_accepted() -> None:
    s = BuildSettings.from_dict(
        {
            "precision": "FP16",
            "compute_capabilities": ["8.6", 8.9],
            "preprocess": {"pad_value": 114, "mean": [0, 0.5, 1]},
            "workspace_bytes": None,
        }
    )
    assert s.precision == "fp16"
    assert s.compute_capabilities == ("8.6", "8.9")
    assert s.preprocess is not None
    assert s.preprocess.pad_value == 114.0 and s.preprocess.mean == (0.0, 0.5, 1.0)


def test_unreadable_settings_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "s.json"
    bad.write_bytes(b"\xff\xfe{}")
    with pytest.raises(SettingsError, match="is not UTF-8 text"):
        BuildSettings.load(bad)
    # Read through core/reading.py since issue #12: its words, not the OS error's.
    with pytest.raises(SettingsError, match="does not exist: check the path"):
        BuildSettings.load(tmp_path / "missing.json")
