"""Records read from files and numbers given on the command line (issue #12, "Python internals
leaking"): every case of the corpus's schema generators gets one line naming the field or the
option and what it must be, from core and from the CLI; none shows Python's own words.

Bad build settings files are in `corpus.BAD_SETTINGS` and run in test_bad_inputs.py; this file
runs the build records, --preprocess values, demo.json files, "names" metadata, tiny pictures
and out-of-range numbers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import onnx_factory
from tests.robustness import corpus
from tests.robustness.test_bad_inputs import (
    JARGON,
    assert_clear,
    assert_cli_clear,
    run_cli,
    snapshot,
)
from trtgui.core.errors import TrtGuiError


def _ids(make: Callable[[Path], list[corpus.BadCase]]) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        return [c.id for c in make(Path(tmp))]


RECORD_IDS = _ids(lambda p: corpus.bad_records(p, b"ftrt" + bytes(100)))
DEMO_IDS = _ids(corpus.bad_demos)
PREPROCESS_IDS = [case[0] for case in corpus.BAD_PREPROCESS]
NUMBER_IDS = [case[0] for case in corpus.BAD_NUMBERS]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("models")
    return {
        "static": onnx_factory.static_conv(tmp).path,
        "dynamic": onnx_factory.dynamic_batch(tmp).path,
        "spatial": onnx_factory.dynamic_spatial(tmp).path,
    }


@pytest.fixture(scope="module")
def engine_bytes(tmp_path_factory: pytest.TempPathFactory, models: dict[str, Path]) -> bytes:
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings

    out = tmp_path_factory.mktemp("engine") / "good.engine"
    build_engine(BuildSettings(onnx_path=str(models["static"]), output_path=str(out)))
    return out.read_bytes()


@pytest.fixture(scope="module")
def records(
    tmp_path_factory: pytest.TempPathFactory, engine_bytes: bytes
) -> dict[str, corpus.BadCase]:
    return {c.id: c for c in corpus.bad_records(tmp_path_factory.mktemp("records"), engine_bytes)}


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, corpus.BadCase]:
    return {c.id: c for c in corpus.bad_demos(tmp_path_factory.mktemp("demos"))}


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trtgui.core.resources import resource_path

    return resource_path("demo", "coffee.jpg")


def _no_jargon(text: str) -> None:
    for word in JARGON:
        assert word not in text, f"Python internals ({word!r}) in: {text!r}"


# -- build records --------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", RECORD_IDS)
def test_record_core(case_id: str, records: dict[str, corpus.BadCase]) -> None:
    from trtgui.core.build.record import onnx_for_engine, read_record

    case = records[case_id]
    with pytest.raises(TrtGuiError) as info:
        read_record(case.path)
    assert_clear(info.value, corpus.expected_errors(case), case.path)
    message = info.value.message
    assert message.startswith(f"The build record {case.path.name}.json "), message
    # One stop, not the doubled "…got null.; rebuild" of before.
    assert "rebuild the engine" in message and ".;" not in message
    # The engine's ONNX is asked of the same record: the same words, no exception.
    assert onnx_for_engine(case.path) == (None, message)


def test_record_messages_name_the_field(records: dict[str, corpus.BadCase]) -> None:
    from trtgui.core.build.record import read_record
    from trtgui.core.errors import BuildRecordError

    # The field by its place in the file, what it must be, and the value found (the issue's
    # examples: io_tensors with shape 5, build_seconds "abc").
    expected = {
        "tensor_shape_5": "io_tensors[0].shape must be a list of integers or null, got 5",
        "build_seconds_text": 'build_seconds must be a number of seconds or null, got "abc"',
        "tensor_name_number": "io_tensors[1].name must be a string, got 5",
        "settings_precision_null": "settings.precision must be one of fp32, fp16, bf16, int8",
        "settings_dim_1e20": "settings.profiles[0].inputs[0].max must be a list of integers, "
        "each of at most 2,147,483,647",
        "deep": "is unreadable (nested more than 64 levels deep)",
    }
    for case_id, words in expected.items():
        with pytest.raises(BuildRecordError) as info:
            read_record(records[case_id].path)
        assert words in info.value.message, info.value.message


@pytest.mark.parametrize("case_id", RECORD_IDS)
def test_record_cli_shows_the_rest_of_the_engine(
    case_id: str, records: dict[str, corpus.BadCase], capsys: pytest.CaptureFixture[str]
) -> None:
    case = records[case_id]
    code, out, err = run_cli(capsys, ["engine", str(case.path)])
    assert code == 0, err
    assert "Build record not read: The build record" in out, out
    assert "Plan header" in out or "TensorRT" in out  # the engine itself is still described
    _no_jargon(out + err)


# -- --preprocess ------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", PREPROCESS_IDS)
def test_preprocess_core(case_id: str) -> None:
    from trtgui.core.errors import PreprocessError
    from trtgui.core.imaging import spec_from_dict
    from trtgui.core.schema import parse_json

    text = next(t for i, t, _ in corpus.BAD_PREPROCESS if i == case_id)
    with pytest.raises(TrtGuiError) as info:
        spec_from_dict(parse_json(text, "--preprocess", PreprocessError))
    assert_clear(info.value, ("PreprocessError",))


def test_preprocess_messages_name_the_field() -> None:
    from trtgui.core.errors import PreprocessError
    from trtgui.core.imaging import spec_from_dict

    # The examples, and the ranges the form's spin boxes have (8192, 256).
    expected = [
        ({"mean": 5}, "mean must be a list of numbers, got 5."),
        ({"height": "224"}, 'height must be an integer, got "224".'),
        ({"pad_value": None}, "pad_value must be a number, got null."),
        ({"height": 99_999_999_999}, "height must be an integer of at most 8,192"),
        ({"resize_short": -5}, "resize_short must be an integer of at least 1, got -5."),
        ({"multiple": 1000}, "multiple must be an integer of at most 256, got 1000."),
        ({"mean": [float("inf"), 0, 0]}, "mean must be a list of numbers, each finite"),
    ]
    for data, words in expected:
        with pytest.raises(PreprocessError) as info:
            spec_from_dict(data)
        assert info.value.message.startswith(words), info.value.message


@pytest.mark.parametrize("case_id", PREPROCESS_IDS)
def test_preprocess_cli(
    case_id: str,
    models: dict[str, Path],
    photo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = next(t for i, t, _ in corpus.BAD_PREPROCESS if i == case_id)
    out = tmp_path / "out"
    out.mkdir()
    args = ["predict", str(models["spatial"]), str(photo), "--preprocess", text]
    code, _, err = run_cli(capsys, [*args, "--save", str(out / "x.png")])
    assert_cli_clear(code, err, out)


# -- demo.json ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", DEMO_IDS)
def test_demo_core(case_id: str, demos: dict[str, corpus.BadCase]) -> None:
    from trtgui.core.predict.demo import load_demo

    case = demos[case_id]
    with pytest.raises(TrtGuiError) as info:
        load_demo(case.path.parent)
    assert_clear(info.value, corpus.expected_errors(case), case.path)
    assert str(case.path) in info.value.message  # which file is wrong
    assert ".;" not in info.value.message


def test_demo_messages_name_the_field(demos: dict[str, corpus.BadCase]) -> None:
    from trtgui.core.errors import InferenceError
    from trtgui.core.predict.demo import load_demo

    expected = {
        "images_number": "images must be a list of file names in the demo's folder, got 5",
        "model_outside": 'model must be a file name in the demo\'s folder, got "/etc/passwd"',
        "model_missing": 'it has no "model"',
        "preset_mean_5": "has an unusable preset: mean must be a list of numbers, got 5",
        "misspelt": 'Unknown key "image"',
    }
    for case_id, words in expected.items():
        with pytest.raises(InferenceError) as info:
            load_demo(demos[case_id].path.parent)
        assert words in info.value.message, info.value.message


# -- "names" metadata and tiny pictures: no error, a note ---------------------------------------


def test_bad_names_metadata_is_ignored_with_a_note(
    tmp_path: Path, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for case in corpus.models_with_bad_names(tmp_path):
        code, out, err = run_cli(capsys, ["predict", str(case.path), str(photo)])
        assert code == 0, (case.id, err)
        assert 'the model\'s "names" metadata is not used' in out, (case.id, out)
        assert "class 0" in out or "(class" not in out  # numbered, not named
        _no_jargon(out + err)


def test_good_names_metadata_still_names_classes() -> None:
    from trtgui.core.predict.labels import metadata_names

    # Ultralytics' dict literal; a missing number is named as numbered classes are.
    assert metadata_names("{0: 'person', 1: 'bicycle'}") == (("person", "bicycle"), "")
    assert metadata_names("{'0': 'a', 2: 'c'}") == (("a", "class 1", "c"), "")
    assert metadata_names("['cat', 'dog']") == (("cat", "dog"), "")


def test_tiny_pictures_are_drawn(
    tmp_path: Path, models: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for case in corpus.tiny_images(tmp_path / "images"):
        saved = tmp_path / f"{case.id}.png"
        args = ["predict", str(models["static"]), str(case.path), "--save", str(saved)]
        code, out, err = run_cli(capsys, args)
        assert code == 0, (case.id, err)
        assert saved.is_file(), case.id
        assert "too small to write the result on" in out, (case.id, out)
        _no_jargon(out + err)


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (5, 300), (300, 5), (31, 31), (32, 32)])
def test_every_kind_draws_on_tiny_pictures(size: tuple[int, int]) -> None:
    import numpy as np
    from PIL import Image

    from trtgui.core.predict.decoders.base import Box, ClassScore, Prediction
    from trtgui.core.predict.drawing import draw_prediction

    w, h = size
    boxes = (
        Box(0, 0, w, h, 0.9, 0, "person"),
        Box(w, h, 0, 0, 0.5, 1, "inverted"),  # x2 < x1, as a model's raw numbers may say
        Box(-5, -5, w + 5, h + 5, 0.4, 2, "beyond the picture"),
    )
    predictions = [
        Prediction("classification", size, classes=(ClassScore(1, "a long class name", 0.9),)),
        Prediction("detection", size, boxes=boxes),
        Prediction(
            "segmentation",
            size,
            boxes=boxes[:1],
            mask=np.full((h, w), 0.5, np.float32),
            region_count=1,
            threshold=0.3,
        ),
        Prediction("segmentation", size, class_map=np.ones((h, w), np.int32)),
    ]
    for prediction in predictions:
        out = draw_prediction(Image.new("RGB", size), prediction)
        assert out.size == size, prediction.kind


# -- numbers out of range, outputs that cannot be written ---------------------------------------


def _argv(template: list[str], values: dict[str, str]) -> list[str]:
    return [part.format(**values) for part in template]


@pytest.mark.parametrize("case_id", NUMBER_IDS)
def test_bad_numbers_cli(
    case_id: str,
    models: dict[str, Path],
    photo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    taken = out / "taken.npy"
    taken.write_bytes(b"the user's own file")
    template = next(t for i, t, _ in corpus.BAD_NUMBERS if i == case_id)
    values = {**{k: str(v) for k, v in models.items()}, "image": str(photo)}
    values.update(out=str(out), file=str(taken))
    before = snapshot(out, models["static"].parent)
    code, stdout, err = run_cli(capsys, _argv(template, values))
    if code == 2:  # argparse refused the value: usage, then one "prog: error: argument …"
        errors = [line for line in err.splitlines() if "error:" in line]
        assert len(errors) == 1 and ": error: argument " in errors[0], err
        _no_jargon(errors[0].split(": error: ", 1)[1])
    else:
        assert_cli_clear(code, err, out, models["static"].parent, before=before)
    assert taken.read_bytes() == b"the user's own file"
    assert "Traceback" not in stdout


def test_memory_is_estimated_before_allocating() -> None:
    from trtgui.core.engine.runners import check_memory, random_feeds
    from trtgui.core.errors import InferenceError
    from trtgui.core.tensors import TensorSpec

    inputs = (TensorSpec("x", "float32", ("n", 3, "h", "w"), True),)
    outputs = (TensorSpec("y", "float16", ("n", 8), False),)
    shape = {"x": (1, 3, 100_000, 100_000)}
    # 1·3·10^5·10^5 float32 = 1.2e11 bytes = 111.8 GiB (by hand); the output 1×8 float16 is
    # 16 bytes, known from the input's "n".
    with pytest.raises(InferenceError) as info:
        check_memory(inputs, shape, outputs, available=23 * 2**30)
    message = info.value.message
    assert "need 111.8 GiB" in message and "23.0 GiB available" in message, message
    assert "use a smaller shape" in message
    assert check_memory(inputs, {"x": (2, 3, 4, 4)}, outputs, available=10**9) == 2 * 48 * 4 + 32
    with pytest.raises(InferenceError, match="available"):
        random_feeds(inputs, shape, outputs=outputs)  # this machine has far less than 112 GiB


def test_corpus_of_schema_cases_is_large_enough() -> None:
    # The issue lists 14 kinds of case in its "Python internals leaking" section.
    assert len(RECORD_IDS) >= 10 and len(DEMO_IDS) >= 10 and len(PREPROCESS_IDS) >= 10
    assert len(NUMBER_IDS) >= 15
    assert len(corpus.BAD_SETTINGS) >= 25


def test_a_model_input_too_large_to_feed_is_said_in_its_terms(
    tmp_path: Path, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = corpus._huge_input_model(tmp_path / "huge_input.onnx")  # 1×3×100000×100000
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, ["predict", str(model), str(photo)])
    assert_cli_clear(code, err, tmp_path, before=before)
    assert "1×3×100000×100000" in err and "at most 8192 pixels a side" in err, err
